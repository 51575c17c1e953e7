package github_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/fakeapi"
)

const (
	routeIssues   = "GET /repos/{owner}/{repo}/issues"
	routeComments = "GET /repos/{owner}/{repo}/issues/comments"
	routeEvents   = "GET /repos/{owner}/{repo}/issues/events"
)

// Rate-limit storms slow a pull, never fail it: secondary refusals with
// and without Retry-After, 429s (which go-github v60 does not know), and
// the hour's limit spent by another process, waited out on the virtual
// clock; no request goes out while a refusal's wait runs.
func TestRateLimitStormsSlowNotFail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c := f.client(t, a.tok)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, StatusLabels: statusLabels}, c)
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultSecondary, Route: "/api/v3/repos/*/*/issues/comments", Times: 2})
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited, Route: "/api/v3/repos/*/*/issues", Times: 2, RetryAfter: 30})
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultSecondaryNoRetryAfter, Route: "/api/v3/repos/*/*/issues/events"})
	start := f.clock.Now()
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	diff(t, "after a storm", normalize(m), expected(f.w, statusLabels, nil, a.repo.ID))
	// 60 + 60 (Retry-After) + 30 + 30 (429s) + 60 (no Retry-After: a minute).
	if waited := f.clock.Now().Sub(start); waited < 4*time.Minute {
		t.Errorf("the storm cost %v of waiting, want at least 4 minutes", waited)
	}
	reqs := f.srv.Requests()
	for i := 1; i < len(reqs); i++ {
		if (reqs[i-1].Status == 403 || reqs[i-1].Status == 429) && reqs[i].At.Sub(reqs[i-1].At) < 30*time.Second {
			t.Errorf("request %d went out %v after a refusal", i, reqs[i].At.Sub(reqs[i-1].At))
		}
	}
	if c.RateLimited() != 5 {
		t.Errorf("refusals waited out: %d, want 5", c.RateLimited())
	}

	// The hour spent: the pull waits for the reset and goes on.
	f.clock.Advance(time.Minute)
	f.w.Comment(a.repo.ID, a.issue1.Number, a.john, "Hello?")
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultPrimary, Route: "/api/v3/repos/*/*/issues/comments"})
	start = f.clock.Now()
	if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	diff(t, "after the hour's limit", normalize(m), expected(f.w, statusLabels, nil, a.repo.ID))
	if waited := f.clock.Now().Sub(start); waited < 55*time.Minute {
		t.Errorf("waited %v for the hour's reset", waited)
	}

	// Refused again and again: the pull waits until its deadline, then
	// gives up with a RateLimitError and stores nothing half-done.
	f.clock.Advance(time.Minute)
	f.w.Comment(a.repo.ID, a.issue1.Number, a.john, "Hello again?")
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited, Route: "/api/v3/repos/*/*/issues", Times: -1})
	before := m.cursor
	err := src.Pull(context.Background(), m.cursor, m.emit)
	f.srv.Disarm()
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("endless 429s: %v", err)
	}
	if m.cursor != before {
		t.Errorf("the cursor moved although the repository was not read")
	}
}

// Several tokens of different accounts: when one account's hour is spent
// the pull goes on with the other at once.
func TestTokensSpreadTheQuota(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	f.w.AddUser("northwind-bot", "")
	f.w.AddToken("ghp_bottoken0002", "northwind-bot")
	c := f.client(t, a.tok, "ghp_bottoken0002")
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, StatusLabels: statusLabels}, c)
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultPrimary})
	start := f.clock.Now()
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	diff(t, "two tokens", normalize(m), expected(f.w, statusLabels, nil, a.repo.ID))
	if waited := f.clock.Now().Sub(start); waited > time.Minute {
		t.Errorf("waited %v although the other token had its hour", waited)
	}
	spent := 0
	for _, login := range []string{a.anna, "northwind-bot"} {
		if f.srv.Remaining(login) == 0 {
			spent++
		}
	}
	if spent != 1 {
		t.Errorf("%d accounts spent, want the one the fault hit", spent)
	}
}

// A repository the token may not read (403 without a rate limit) or that
// is gone (404) is named for attention, not retried, and the others are
// pulled; a refused token stops the source, naming which token without
// printing it.
func TestPermissionGoneAndRefusedToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	other := f.w.AddRepo("northwind", "internal-ops", false)
	gone := f.w.AddRepo("northwind", "old-site", false)
	f.w.OpenIssue(other.ID, a.anna, "Rotate keys", "")
	c := f.client(t, a.tok)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName(), other.FullName(), gone.FullName()}}, c)
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	f.w.DeleteRepo(gone.ID)
	f.w.DenyIssues(a.tok, a.repo.ID)
	m = newMemStore()
	err := src.Pull(context.Background(), "", m.emit)
	var ae *connectors.AttentionError
	if !errors.As(err, &ae) || !strings.Contains(ae.Why, "northwind/acme-site") || !strings.Contains(ae.Why, "refuses the token") ||
		!strings.Contains(ae.Why, "northwind/old-site") || !strings.Contains(ae.Why, "gone") {
		t.Fatalf("err = %v", err)
	}
	if len(m.tasks) != 1 || m.tasks[taskKey(other.ID, 1)].Title != "Rotate keys" {
		t.Errorf("the readable repository was not pulled: %v", m.tasks)
	}
	if n := f.srv.Count(routeComments, 403); n != 1 {
		t.Errorf("the refused listing was asked %d times, want once (no retries)", n)
	}

	f.w.RevokeToken(a.tok)
	err = src.Pull(context.Background(), m.cursor, m.emit)
	var ue *github.UnauthorizedError
	if !errors.Is(err, connectors.ErrUnauthorized) || !errors.As(err, &ue) || ue.Token != 0 || strings.Contains(err.Error(), a.tok) {
		t.Errorf("revoked token: %v", err)
	}
}

// 5xx answers, a truncated body and a hung request are retried; the pull
// ends the same as without them.
func TestFlakyReadsAreRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c, err := github.NewClient(github.ClientOptions{BaseURL: f.srv.URL(), HTTPClient: f.srv.Client(), Tokens: []string{a.tok},
		Clock: f.clock, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, StatusLabels: statusLabels}, c)
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.ServerError, Status: 502, Route: "/api/v3/repos/*/*/issues"})
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.ServerError, Route: "/api/v3/repos/*/*/issues/comments"})
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.Truncated, Route: "/api/v3/repos/*/*/issues/events"})
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.Hang, Route: "/api/v3/repos/*/*/issues"})
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	diff(t, "after flaky reads", normalize(m), expected(f.w, statusLabels, nil, a.repo.ID))
	if n := c.Requests(); n != 4+4 {
		t.Errorf("%d requests, want the 4 of a backfill and 4 retries", n)
	}
}

// Events that happen after the listing read their issue wait for the next
// pull, which places them: a move is never computed from a state that
// does not hold it.
func TestEventsAfterTheListingWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c := f.client(t, a.tok)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, StatusLabels: statusLabels}, c)
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.w.Comment(a.repo.ID, a.issue2.Number, a.john, "bump")
	f.clock.Advance(time.Minute)
	var once atomic.Bool
	f.srv.SetAfter(func(route string) {
		if route == routeIssues && once.CompareAndSwap(false, true) {
			f.clock.Advance(time.Minute)
			f.w.MoveLabel(a.repo.ID, a.issue1.Number, a.anna, "in progress", "review")
		}
	})
	first := newMemStore()
	if err := src.Pull(context.Background(), m.cursor, first.emit); err != nil {
		t.Fatal(err)
	}
	f.srv.SetAfter(nil)
	if !once.Load() {
		t.Fatal("the hook never ran")
	}
	want := expected(f.w, statusLabels, nil, a.repo.ID)
	evs := f.w.Events(a.repo.ID)
	move := strconv.FormatInt(evs[len(evs)-1].ID, 10)
	if _, ok := want.changes[move]; !ok {
		t.Fatalf("the move is not a status change: %+v", evs[len(evs)-1])
	}
	if _, ok := first.changes[move]; ok {
		t.Errorf("the move was emitted from a listing that did not hold it")
	}
	for id, c := range first.changes {
		if c != want.changes[id] {
			t.Errorf("emitted %+v, want %+v", c, want.changes[id])
		}
	}
	var cur struct {
		Repos map[string]struct {
			Events struct {
				After int64  `json:"after"`
				ETag  string `json:"etag"`
			} `json:"events"`
		} `json:"repos"`
	}
	if err := json.Unmarshal([]byte(first.cursor), &cur); err != nil {
		t.Fatal(err)
	}
	if ec := cur.Repos[strconv.FormatInt(a.repo.ID, 10)].Events; ec.After >= evs[len(evs)-2].ID || ec.ETag != "" {
		t.Errorf("events cursor %+v passed the waiting events %d and %d", ec, evs[len(evs)-2].ID, evs[len(evs)-1].ID)
	}

	second := newMemStore()
	if err := src.Pull(context.Background(), first.cursor, second.emit); err != nil {
		t.Fatal(err)
	}
	if second.changes[move] != want.changes[move] {
		t.Errorf("the next pull emitted %+v for the move, want %+v", second.changes[move], want.changes[move])
	}
	for id, c := range second.changes {
		if c != want.changes[id] {
			t.Errorf("emitted %+v, want %+v", c, want.changes[id])
		}
	}
	for _, b := range []*memStore{first, second} {
		for k, v := range b.tasks {
			m.tasks[k] = v
		}
		for k, v := range b.changes {
			m.changes[k] = v
		}
		for k, v := range b.fields {
			m.fields[k] = v
		}
		for k, v := range b.messages {
			m.messages[k] = v
		}
		for k, v := range b.people {
			m.people[k] = v
		}
	}
	diff(t, "after the waiting move", normalize(m), want)
}

// Pages whose items all share one second (a bulk edit) are read by page
// number within that second; nothing is skipped.
func TestPagesInOneSecond(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	for i := range 230 {
		is := f.w.OpenIssue(a.repo.ID, a.john, "Bulk "+strconv.Itoa(i), "")
		f.w.Comment(a.repo.ID, is.Number, a.anna, "ack")
	}
	f.clock.Advance(time.Minute)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, StatusLabels: statusLabels, BatchSize: 100}, f.client(t, a.tok))
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	diff(t, "bulk", normalize(m), expected(f.w, statusLabels, nil, a.repo.ID))
	if n := f.srv.Count(routeIssues, 200); n > 5 {
		t.Errorf("%d requests for 234 issues", n)
	}
}

// A 429 without Retry-After (which go-github v60 sees as a plain error)
// is a secondary limit: wait a minute, then two.
func TestBare429IsWaitedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{RetryAfter: -1})
	a := newAgency(t, f)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}}, f.client(t, a.tok))
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited, Route: "/api/v3/repos/*/*/issues", Times: 2})
	start := f.clock.Now()
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	if waited := f.clock.Now().Sub(start); waited < 3*time.Minute {
		t.Errorf("two bare 429s cost %v of waiting, want 1 + 2 minutes", waited)
	}
	if len(m.tasks) != 3 {
		t.Errorf("%d tasks after the 429s, want 3", len(m.tasks))
	}
}

// go-github v60 refuses calls locally, by the wall clock, once an answer
// said Remaining 0; with a virtual clock far ahead of the wall clock and
// two accounts of four requests an hour each, three pulls must go through,
// the second moving to the other token and the third waiting for the
// reset, so the transport must not let go-github see a spent budget.
func TestGoGitHubNeverRefusesLocally(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{PerHour: 4, PointsPerMinute: -1})
	f.clock.AdvanceTo(time.Date(2099, 1, 5, 9, 0, 0, 0, time.UTC))
	a := newAgency(t, f)
	f.w.AddUser("northwind-bot", "")
	f.w.AddToken("ghp_bottoken0002", "northwind-bot")
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}}, f.client(t, a.tok, "ghp_bottoken0002"))
	start := f.clock.Now()
	m := newMemStore()
	for i := range 3 {
		f.clock.Advance(time.Second)
		f.w.Comment(a.repo.ID, a.issue1.Number, a.john, "ping "+strconv.Itoa(i))
		if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
		// The first pull spends the first account's hour, the second
		// moves to the other account, the third waits for the reset.
		if i == 1 && (f.srv.Remaining(a.anna) != 0 || f.srv.Remaining("northwind-bot") == 4) {
			t.Errorf("after two pulls the accounts have %d and %d requests left, want the first spent and the second used",
				f.srv.Remaining(a.anna), f.srv.Remaining("northwind-bot"))
		}
	}
	if len(m.messages) != 3+3+3 {
		t.Errorf("%d messages, want 9", len(m.messages))
	}
	if waited := f.clock.Now().Sub(start); waited < time.Hour || waited > time.Hour+time.Minute {
		t.Errorf("waited %v, want the hour until the first reset", waited)
	}
}

// A pull killed after any of its batches (they are stored, the rest is
// not) loses nothing: the next pull from the stored cursor ends with the
// records equal to the world, both on a backfill and on an incremental
// pull after changes.
func TestKilledPullResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	repos := []int64{a.repo.ID}
	names := []string{a.repo.FullName()}
	for r := range 3 {
		repo := f.w.AddRepo("northwind", "client-"+strconv.Itoa(r), false)
		repos, names = append(repos, repo.ID), append(names, repo.FullName())
		for i := range 40 {
			f.clock.Advance(time.Second)
			is := f.w.OpenIssue(repo.ID, a.john, "Issue "+strconv.Itoa(i), "text", "todo")
			f.w.Comment(repo.ID, is.Number, a.anna, "ack")
			if i%3 == 0 {
				f.w.MoveLabel(repo.ID, is.Number, a.anna, "todo", "review")
			}
		}
	}
	f.clock.Advance(time.Minute)
	src := f.source(t, github.Options{Repos: names, StatusLabels: statusLabels, BatchSize: 30, Concurrency: 2}, f.client(t, a.tok))
	ctx := context.Background()
	resume := func(what string, base *memStore) {
		t.Helper()
		clean := base.clone()
		if err := src.Pull(ctx, clean.cursor, clean.emit); err != nil {
			t.Fatal(err)
		}
		want := expected(f.w, statusLabels, nil, repos...)
		diff(t, what+", whole", normalize(clean.clone()), want)
		for kill := 1; kill <= clean.batches; kill++ {
			m := base.clone()
			m.failAt = kill
			if err := src.Pull(ctx, m.cursor, m.emit); !errors.Is(err, errKilled) {
				t.Fatalf("%s, killed at batch %d: %v", what, kill, err)
			}
			m.failAt, m.killed = 0, false
			if err := src.Pull(ctx, m.cursor, m.emit); err != nil {
				t.Fatal(err)
			}
			diff(t, what+", killed at batch "+strconv.Itoa(kill), normalize(m), want)
		}
	}
	resume("backfill", newMemStore())

	base := newMemStore()
	if err := src.Pull(ctx, "", base.emit); err != nil {
		t.Fatal(err)
	}
	for _, id := range repos[1:] {
		for n := 1; n <= 40; n += 4 {
			f.clock.Advance(time.Second)
			f.w.Comment(id, n, a.john, "Any news?")
			f.w.MoveLabel(id, n, a.anna, "todo", "in progress")
		}
	}
	f.clock.Advance(time.Minute)
	resume("changes", base)
}

// A storm of 429s that outlasts the pull's deadline is waited out until
// then (not six refusals and out), and the error says the deadline ended
// it, in one line without the listing's query (which sync cuts to
// connectors.MaxLine).
func TestStormUntilTheDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c := f.client(t, a.tok)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, Deadline: 20 * time.Minute}, c)
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited, Route: "/api/v3/repos/*/*/issues/comments", Times: -1, RetryAfter: 30})
	start := f.clock.Now()
	err := src.Pull(context.Background(), "", newMemStore().emit)
	var te *connectors.TimeoutError
	var rl *connectors.RateLimitError
	if !errors.As(err, &te) || te.Limit != connectors.LimitDeadline || !errors.As(err, &rl) {
		t.Fatalf("err %v, want the deadline wrapping the rate limit", err)
	}
	if want := "reading comments of " + a.repo.FullName() + ": source deadline 20m reached: rate limited, retry after 30s: GET /api/v3/repos/" + a.repo.FullName() + "/issues/comments: 429 Too Many Requests: You have exceeded"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err %q\nwant %q…", err, want)
	}
	if strings.Contains(err.Error(), "per_page") || strings.Contains(err.Error(), "\n") {
		t.Errorf("not one short line: %q", err)
	}
	if n := c.RateLimited(); n < 30 {
		t.Errorf("%d refusals waited out in 20 minutes of 30 s waits, want about 40", n)
	}
	if waited := f.clock.Now().Sub(start); waited > 20*time.Minute || waited < 19*time.Minute {
		t.Errorf("waited %v, want nearly the deadline and not past it", waited)
	}
}

// A server that takes a read and never answers costs two attempts, and
// the error names the request_timeout.
func TestHangIsTriedTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c, err := github.NewClient(github.ClientOptions{BaseURL: f.srv.URL(), HTTPClient: f.srv.Client(), Tokens: []string{a.tok},
		Clock: f.clock, BackoffBase: time.Millisecond, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}}, c)
	f.srv.Arm(fakeapi.Fault{Kind: fakeapi.Hang, Route: "/api/v3/repos/*/*/issues/comments", Times: -1})
	before := len(f.srv.Requests())
	err = src.Pull(context.Background(), "", newMemStore().emit)
	var te *connectors.TimeoutError
	if !errors.As(err, &te) || te.Limit != connectors.LimitRequestTimeout {
		t.Fatalf("err %v, want the request timeout", err)
	}
	if want := "reading comments of " + a.repo.FullName() + ": GET /api/v3/repos/" + a.repo.FullName() + "/issues/comments: giving up after 2 attempts: no answer within request_timeout 50ms"; err.Error() != want {
		t.Errorf("err %q\nwant %q", err, want)
	}
	// The fake logs a request when its handler starts, which on a busy
	// machine may be after the client gave up on it: the second attempt
	// is waited for (a second of real time), and a third must not come.
	hung := func() int {
		n := 0
		for _, r := range f.srv.Requests()[before:] {
			if strings.HasSuffix(r.Path, "/issues/comments") {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(time.Second); hung() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := hung(); n != 2 {
		t.Errorf("%d requests to the hanging listing, want 2", n)
	}
}

// A spent hour that resets after the pull's deadline ends the pull at
// once, saying so, rather than sleeping past the deadline: refused by
// GitHub, or known spent from the headers before asking.
func TestSpentHourPastTheDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limits githubfake.Limits
		fault  bool
	}{
		{"refused", githubfake.Limits{}, true},
		{"spent by the pull's own requests", githubfake.Limits{PerHour: 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.limits)
			a := newAgency(t, f)
			src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, Deadline: 30 * time.Minute}, f.client(t, a.tok))
			if tc.fault {
				f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultPrimary, Route: "/api/v3/repos/*/*/issues/comments"})
			}
			start := f.clock.Now()
			err := src.Pull(context.Background(), "", newMemStore().emit)
			var te *connectors.TimeoutError
			if !errors.As(err, &te) || te.Limit != connectors.LimitDeadline || !strings.Contains(err.Error(), "source deadline 30m reached") {
				t.Fatalf("err %v, want the deadline", err)
			}
			if waited := f.clock.Now().Sub(start); waited >= 30*time.Minute {
				t.Errorf("waited %v, past the deadline", waited)
			}
		})
	}
}
