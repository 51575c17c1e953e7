// Package trellofake is a fake of Trello's REST API for tests and
// benchmarks: an httptest server holding an in-memory world of boards,
// lists, cards, labels, members, checklists, custom fields and the actions
// that recorded every change, served under /1/... with Trello's routes,
// field names, default and maximum limits, paging order, plain-text error
// bodies, rate limits and rate-limit headers.
//
// Webhooks are created, listed and deleted through the API (webhooks.go),
// each after a HEAD request to its callback got 200, and every action the
// world records on a watched board, card or list is delivered to them in
// the background, signed in X-Trello-Webhook with the server's
// WebhookSecret and retried when refused; Deliveries and WaitDeliveries
// let a test see and wait for them.
//
// A test builds a World (NewWorld, or Generate for a synthetic agency),
// serves it (New or NewServer), points the client under test at BaseURL,
// changes the world between syncs with the mutators (which write the
// actions Trello writes), and arms faults (5xx, hangs, truncated bodies,
// 401, 404, 429, changes between pages). The request log and counts let
// a test or benchmark compare the requests made with the minimum.
//
// Time comes from a Clock. A VirtualClock lets a benchmark run a long
// backfill under Trello's real limits in milliseconds while staying honest:
// every request is counted against the windows of the virtual moment it
// arrives at, and virtual time moves only when a client waits.
//
// Behaviour the fake had to choose without a source says so where it is
// implemented, marked [unverified].
//
// It imports no karkas package but internal/vclock and internal/fakeapi,
// so that connectors/trello's own tests can import it, and nothing but
// tests and benchmarks should.
package trellofake
