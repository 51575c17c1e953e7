package trello_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/record"
)

// onlyBoards keeps the records of the boards the cursor names: what a
// store must hold whole for its cursor not to be ahead of it.
func onlyBoards(m *memStore, boards map[string]bool) *memStore {
	out := newMemStore()
	for id, c := range m.containers {
		if boards[id] {
			out.containers[id] = c
		}
	}
	for id, t := range m.tasks {
		if boards[t.ContainerID] {
			out.tasks[id] = t
		}
	}
	for id, c := range m.changes {
		if boards[m.tasks[c.TaskID].ContainerID] {
			out.changes[id] = c
		}
	}
	for id, msg := range m.messages {
		if boards[msg.ContainerID] {
			out.messages[id] = msg
		}
	}
	return out
}

func cursorBoards(t *testing.T, cursor string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if cursor == "" {
		return out
	}
	var c struct {
		Boards map[string]struct{ Newest string } `json:"boards"`
	}
	if err := jsonUnmarshal(cursor, &c); err != nil {
		t.Fatalf("cursor %q: %v", cursor, err)
	}
	for id := range c.Boards {
		out[id] = true
	}
	return out
}

// Faults during a backfill of two boards of three pages of actions each:
// the pull either retries through them or stops, and in both cases the
// store holds every record of each board its cursor names (never ahead
// of the stored data); a second pull without the fault ends where an
// export of the boards does.
func TestPullFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault trellofake.Fault
		// check is the first pull's error.
		check func(error) bool
	}{
		{"5xx retried", trellofake.Fault{Kind: trellofake.FaultStatus, Status: 502, Route: "/1/boards/*/actions", Times: 2},
			func(err error) bool { return err == nil }},
		{"5xx persistent", trellofake.Fault{Kind: trellofake.FaultStatus, Status: 500, Route: "/1/boards/*/actions", Times: -1},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "500") }},
		{"timeout retried", trellofake.Fault{Kind: trellofake.FaultHang, Route: "/1/boards/*/cards", Times: 1},
			func(err error) bool { return err == nil }},
		{"truncated page retried", trellofake.Fault{Kind: trellofake.FaultTruncate, Route: "/1/boards/*/actions", Times: 2},
			func(err error) bool { return err == nil }},
		{"truncated batch retried", trellofake.Fault{Kind: trellofake.FaultTruncate, Route: "/1/batch", Times: 1},
			func(err error) bool { return err == nil }},
		{"429 storm until the deadline", trellofake.Fault{Kind: trellofake.FaultRateLimited, Route: "/1/boards/*/actions", Times: -1},
			func(err error) bool {
				var rl *connectors.RateLimitError
				var te *connectors.TimeoutError
				return errors.As(err, &rl) && errors.As(err, &te) && te.Limit == connectors.LimitDeadline
			}},
		{"401 mid-board", trellofake.Fault{Kind: trellofake.FaultUnauthorized, Route: "/1/boards/*/actions", Times: 1},
			func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{"404 mid-board", trellofake.Fault{Kind: trellofake.FaultNotFound, Route: "/1/boards/*/actions", Times: 1},
			func(err error) bool {
				var ae *connectors.AttentionError
				return errors.As(err, &ae)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := trellofake.NewVirtualClock(epoch)
			w := trellofake.Generate(trellofake.GenerateOptions{Seed: 11, Boards: 2, CardsPerBoard: 30, ActionsPerBoard: 2500, Clock: clock})
			f := newFixture(t, w, clock)
			src := f.source(t, trello.APIOptions{BoardNames: ".", BatchSize: 400, Concurrency: 1})
			var ids []string
			for _, b := range w.Boards() {
				ids = append(ids, b.ID)
			}
			m := newMemStore()
			f.srv.Arm(tt.fault)
			err := pullInto(t, src, m)
			f.srv.Disarm()
			if !tt.check(err) {
				t.Fatalf("first pull: err = %v", err)
			}
			want := exported(t, w, ids...)
			inCursor := cursorBoards(t, m.cursor)
			diff(t, "boards in the cursor after the fault", onlyBoards(m, inCursor), onlyBoards(want, inCursor))
			if err := pullInto(t, src, m); err != nil {
				t.Fatalf("second pull: %v", err)
			}
			diff(t, "after a clean pull", m, want)
		})
	}
}

// A kill between batches of a board: the pull stops at an emit failure,
// the cursor stays where it was, the next pull fetches the board again.
func TestPullEmitFailureKeepsCursor(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 5, Boards: 1, CardsPerBoard: 40, ActionsPerBoard: 1200, Clock: clock})
	f := newFixture(t, w, clock)
	src := f.source(t, trello.APIOptions{BoardNames: ".", BatchSize: 100})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	first := m.cursor
	clock.Advance(time.Minute)
	b := w.Boards()[0]
	for i, c := range w.Cards(b.ID)[:20] {
		w.CommentCard(w.Me().ID, c.ID, "ping "+string(rune('a'+i)))
	}
	var n atomic.Int32
	failing := func(ctx context.Context, b *record.Batch) error {
		if n.Add(1) == 2 {
			return errors.New("killed")
		}
		return m.emit(ctx, b)
	}
	if err := src.Pull(t.Context(), m.cursor, failing); err == nil {
		t.Fatal("pull survived a failed emit")
	}
	if m.cursor != first {
		t.Errorf("cursor moved past a batch that was not stored")
	}
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "after the retry", m, exported(t, w, b.ID))
}

// Items change between pages of a backfill: a comment and a card arrive
// while the older pages are read. The next pull picks them up.
func TestPullChangesBetweenPages(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 9, Boards: 1, CardsPerBoard: 30, ActionsPerBoard: 2500, Clock: clock})
	f := newFixture(t, w, clock)
	b := w.Boards()[0]
	var once atomic.Bool
	f.srv.SetPageHook(func(e trellofake.PageEvent) {
		if e.Before != "" && once.CompareAndSwap(false, true) {
			c := w.CreateCard(w.Me().ID, w.Lists(b.ID)[0].ID, "created while paging")
			w.CommentCard(w.Me().ID, c.ID, "and commented")
		}
	})
	src := f.source(t, trello.APIOptions{Boards: []string{b.ID}})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	if !once.Load() {
		t.Fatal("the hook never ran: no second page")
	}
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "after the next pull", m, exported(t, w, b.ID))
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestPullStrictestLimits pulls under the strictest reading of what Trello
// leaves undocumented: sliding windows, and a batch counted once per route
// it carries. The budget learns the true count from the remaining headers,
// so the backfill, an incremental pull and a reconcile all finish without
// losing a row and with no more than a handful of 429s.
func TestPullStrictestLimits(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 5, Boards: 24, CardsPerBoard: 20, ActionsPerBoard: 300, Clock: clock})
	f := newFixtureLimits(t, w, clock, trellofake.Limits{Mode: trellofake.SlidingWindow, BatchCountsEachURL: true})
	src := f.source(t, trello.APIOptions{BoardNames: ".", BatchSize: 200, Concurrency: 4, ReconcileEvery: time.Hour})
	var ids []string
	for _, b := range w.Boards() {
		ids = append(ids, b.ID)
	}
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "backfill", m, exported(t, w, ids...))
	for i, b := range w.Boards() {
		cards := w.Cards(b.ID)
		clock.Advance(time.Minute)
		w.CommentCard(w.Me().ID, cards[i%len(cards)].ID, fmt.Sprintf("ещё комментарий %d", i))
	}
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "incremental", m, exported(t, w, ids...))
	clock.Advance(2 * time.Hour) // due for reconcile
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "reconcile", m, exported(t, w, ids...))
	// A handful per window, and few in all: the budget must learn the true
	// cost from the headers rather than keep running into the wall.
	var refused []trellofake.Request
	for _, r := range f.srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			refused = append(refused, r)
		}
	}
	t.Logf("%d requests, %d 429s, %v of virtual time", f.srv.Total(), len(refused), clock.Now().Sub(epoch))
	if n := maxInSpan(refused, 10*time.Second); n > 2 {
		t.Errorf("%d 429s in one 10 s span", n)
	}
	if len(refused) > 4 {
		t.Errorf("%d 429s over three pulls", len(refused))
	}
}

// maxInSpan is the most requests in any span of d.
func maxInSpan(reqs []trellofake.Request, d time.Duration) int {
	best := 0
	for i := range reqs {
		n := 0
		for j := i; j < len(reqs) && reqs[j].At.Sub(reqs[i].At) < d; j++ {
			n++
		}
		best = max(best, n)
	}
	return best
}
