// Package github is the GitHub connector (kind github): it pulls the issues
// and pull requests of repositories, their conversation comments (with
// edits), labels, assignees, milestones (a milestone's due date is the
// task's), and status moves from labels and closing, through
// github.com/google/go-github/v60 with golang.org/x/oauth2 tokens, on
// github.com or a GitHub Enterprise Server.
//
// The pull is incremental per repository, keyed by the repository's id so
// that a rename keeps its history, and every request is conditional where
// GitHub allows it: a sync where nothing changed is answered 304 Not
// Modified throughout and costs no quota. Rate limits are GitHub's
// documented ones: the hourly limit of each token (waited out, or spread
// over several tokens), the secondary limits (Retry-After, else a minute,
// doubling), 429 (which go-github v60 does not treat as a rate limit);
// a 403 that is no rate limit is a permission error that marks the
// repository for attention and is not retried. See transport.go, pull.go
// and convert.go. webhook.go is the connector side of webhooks in for
// karkas serve: it ensures repository hooks and verifies and reads their
// deliveries with go-github's helpers.
//
// githubfake is a faithful fake of the API for tests and benchmarks.
//
// This package imports connectors, record and internal/vclock, and no
// other karkas package.
package github
