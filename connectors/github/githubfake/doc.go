// Package githubfake is a fake of GitHub's REST API (v3) for tests and
// benchmarks: an httptest server holding an in-memory world of users
// (bots among them), repositories, labels, milestones, issues and pull
// requests, issue comments and issue events, served under /api/v3/ as a
// GitHub Enterprise Server is (a client built with WithEnterpriseURLs on
// the server's URL lands there).
//
// What it is faithful in, because the github source depends on it:
//
//   - routes and JSON field names of repositories (also by id, under
//     /repositories/{id}), issue listings (state, sort, direction, since on
//     updated_at, per_page at most 100, page), single issues, repository
//     and issue comments (since, sort, direction), repository issue events
//     (newest first), and the writes the push side makes (create an issue,
//     comment, add labels as a bare array or {"labels": [...]}, edit an
//     issue);
//   - pull requests listed among issues with a pull_request object;
//   - Link headers with rel="next", "last", "first" and "prev";
//   - a renamed repository: requests naming the old name answer 301 (GET)
//     or 307 (other methods) to the same route under /repositories/{id};
//   - X-RateLimit-Limit, -Remaining, -Used, -Reset and -Resource on every
//     authenticated answer; the primary limit (5000 an hour per token, a
//     window that starts with the token's first request and resets an hour
//     later), answered 403 with Remaining 0; the secondary limit (points
//     per minute per user, a GET costing 1 and a write 5; content created
//     per minute), answered 403 with a documentation_url ending in
//     secondary-rate-limits and Retry-After;
//   - a weak ETag on every 200 GET (a hash of the body, the same for every
//     token [unverified: whether GitHub's varies with the token]), and 304
//     Not Modified, without a body and without spending the primary limit,
//     to a matching If-None-Match. The repository's event listing embeds
//     each event's issue as it is now, so its ETag changes when any of
//     those issues does;
//   - 401 "Bad credentials", 404 "Not Found" (also for a private
//     repository the token cannot see), 403 "Resource not accessible by
//     personal access token" (with the rate headers, Remaining above 0) for
//     a repository the token may see but not read issues of;
//   - repository hooks (hooks.go): created, listed, changed and deleted by
//     the repository's admins, pinged on creation, and posted every
//     issues, issue_comment and label event their subscription names, in
//     the background, with GitHub's headers and signatures; deliveries
//     can be listed and redelivered with the same X-GitHub-Delivery
//     (Server.Redeliver), and Deliveries and WaitDeliveries let a test
//     see and wait for them.
//
// A test builds a World (NewWorld and the mutators, or Generate for a
// synthetic agency), serves it (New or NewServer), points the client
// under test at URL with a token from AddToken, changes the world between
// syncs with the mutators (each writes the issue events GitHub writes and
// moves updated_at as GitHub does), and arms faults through the shared
// fakeapi kit (5xx, hangs, truncated bodies, 401, 404, 429) and this API's
// own (primary and secondary limits, permission errors, a lost reply after
// a write). The request log lets a test or benchmark count requests, 304s
// and quota spent.
//
// Time comes from a Clock; with a vclock.Virtual shared with the client,
// waiting out an hour's limit costs no real time. Timestamps are whole
// seconds, as GitHub's are.
//
// Behaviour chosen without a source is marked [unverified] where it is
// implemented. It imports no karkas package but internal/fakeapi, and
// nothing but tests, benchmarks and cmd/githubfake should import it.
package githubfake
