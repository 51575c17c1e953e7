package trello

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello/trellofake"
)

// maxInSpan is the most requests the fake logged (for token tok, or all
// when tok is empty) in any span of d.
func maxInSpan(reqs []trellofake.Request, d time.Duration) int {
	best := 0
	for i := range reqs {
		n := 0
		for j := i; j < len(reqs); j++ {
			if reqs[j].At.Sub(reqs[i].At) < d {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// TestBudgetConcurrentPulls runs four goroutines through one budget against
// a fake counting with sliding windows, the strictest reading: no 429, never
// more than 100 requests in any 10 s of virtual time, and the whole run
// close to the floor of 100 requests per 10 s.
func TestBudgetConcurrentPulls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Mode: trellofake.SlidingWindow}})
	var boards []string
	for i := range 4 {
		b := e.world.AddBoard(fmt.Sprintf("Board %d", i))
		e.world.AddList(b.ID, "To Do")
		boards = append(boards, b.ID)
	}
	const perWorker = 150
	start := e.clock.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(boards))
	for _, id := range boards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				if _, err := e.client.Lists(context.Background(), id); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 4*perWorker || e.fake.TooMany() != 0 {
		t.Fatalf("%d requests, %d 429s; want %d and none", len(reqs), e.fake.TooMany(), 4*perWorker)
	}
	if n := maxInSpan(reqs, 10*time.Second); n > 100 {
		t.Errorf("%d requests in one 10 s span", n)
	}
	// 600 requests at 100 per 10 s: the last goes out at 50 s.
	elapsed := e.clock.Now().Sub(start)
	if floor := 50 * time.Second; elapsed < floor || elapsed > floor*12/10 {
		t.Errorf("600 requests took %v of virtual time, want within 1.2x of %v", elapsed, floor)
	}
}

// TestBudgetKeySpansTokens has two tokens of one key pull at once under a
// key limit lower than the sum of the token limits.
func TestBudgetKeySpansTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{TokenMax: 10, KeyMax: 15, Mode: trellofake.SlidingWindow}})
	e.budget = NewBudget(Limits{TokenMax: 10, KeyMax: 15}, e.clock)
	b := e.world.AddBoard("Board")
	e.world.AddToken(e.fake.Key(), "second-token", e.world.Me().ID)
	clients := []*Client{e.newClient(t, e.fake.Key(), e.fake.Token(), 0), e.newClient(t, e.fake.Key(), "second-token", 0)}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 45 {
				if _, err := c.Board(context.Background(), b.ID); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e.fake.TooMany() != 0 {
		t.Errorf("%d 429s", e.fake.TooMany())
	}
	if n := maxInSpan(e.fake.Requests(), 10*time.Second); n > 15 {
		t.Errorf("%d requests of the key in one 10 s span, want at most 15", n)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	now := testEpoch
	w := &window{max: 3, interval: 10 * time.Second}
	for i := range 3 {
		if ok, _ := w.room(now, 1); !ok {
			t.Fatalf("no room for request %d", i+1)
		}
		w.done = append(w.done, now.Add(time.Duration(i)*time.Second))
	}
	now = now.Add(2 * time.Second)
	if ok, wake := w.room(now, 1); ok || !wake.Equal(testEpoch.Add(10*time.Second)) {
		t.Errorf("full window: ok=%v wake=%v, want the first request's expiry", ok, wake)
	}
	if ok, _ := w.room(testEpoch.Add(10*time.Second), 1); !ok {
		t.Error("no room once the first request left the window")
	}
	// A pending request frees nothing by itself: wake is unknown.
	p := &window{max: 1, interval: 10 * time.Second, pending: 1}
	if ok, wake := p.room(now, 1); ok || !wake.IsZero() {
		t.Errorf("pending: ok=%v wake=%v", ok, wake)
	}

	// The server saying fewer remain than counted adds what others spent.
	o := &window{max: 100, interval: 10 * time.Second, done: []time.Time{now}}
	h := http.Header{}
	h.Set("X-Rate-Limit-Api-Token-Remaining", "40")
	h.Set("X-Rate-Limit-Api-Token-Max", "100")
	h.Set("X-Rate-Limit-Api-Token-Interval-Ms", "10000")
	o.observe(now, h, "Token")
	if n := o.count(now); n != 60 {
		t.Errorf("after remaining=40: %d counted, want 60", n)
	}
	h.Set("X-Rate-Limit-Api-Token-Remaining", "90")
	o.observe(now, h, "Token")
	if n := o.count(now); n != 60 {
		t.Errorf("a higher remaining lowered the count to %d", n)
	}
}

func TestBudgetRefused(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(testEpoch)
	b := NewBudget(Limits{Max429: 2}, clock)
	var tok [32]byte
	wait, giveUp := b.refused(tok, "API_KEY_LIMIT_EXCEEDED")
	if wait != 10*time.Second || giveUp {
		t.Errorf("first 429: wait %v giveUp %v", wait, giveUp)
	}
	if ok, wake := b.key.room(clock.Now(), 1); ok || !wake.Equal(testEpoch.Add(10*time.Second)) {
		t.Errorf("key window after API_KEY_LIMIT_EXCEEDED: ok=%v wake=%v", ok, wake)
	}
	if ok, _ := b.token(tok).room(clock.Now(), 1); !ok {
		t.Error("the token window closed for a key 429")
	}
	b.refused(tok, "API_TOKEN_LIMIT_EXCEEDED")
	if _, giveUp := b.refused(tok, "API_TOKEN_LIMIT_EXCEEDED"); !giveUp {
		t.Error("a third 429 in the window did not give up")
	}
	clock.Advance(11 * time.Second)
	if _, giveUp := b.refused(tok, "API_TOKEN_LIMIT_EXCEEDED"); giveUp {
		t.Error("429s of an earlier window still counted")
	}
	// acquire waits out the block on the virtual clock.
	start := clock.Now()
	tk, err := b.acquire(context.Background(), tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	tk.finish(nil)
	if got := clock.Now().Sub(start); got != 10*time.Second {
		t.Errorf("acquire after a 429 waited %v, want 10s", got)
	}
}
