package trello

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/karkas/karkas/internal/vclock"
)

// Clock is the time source of a Client and its Budget: rate-limit windows,
// backoff between retries. Tests and the benchmark pass a virtual clock
// (trellofake.VirtualClock) so that waiting out a window costs no real
// time; production uses the wall clock (vclock.Real). SleepUntil waits by
// deadline rather than duration, which keeps concurrent waiters on a
// virtual clock from adding their waits up.
type Clock = vclock.Clock

// Limits are the request windows a Budget keeps.
type Limits struct {
	// TokenMax requests per Interval per token.
	TokenMax int
	// KeyMax requests per Interval per API key, over all its tokens.
	KeyMax int
	// Interval is the length of both windows.
	Interval time.Duration
	// Max429 is how many 429s the budget takes within one Interval before
	// requests outside a pull (a push, a check) give up with a
	// *connectors.RateLimitError instead of waiting again (a pull waits
	// until its deadline): Trello locks a key out for the rest of the window
	// after 200, and a client that keeps tripping the limit is wrong about
	// the budget (another process shares it) and should back off whole.
	Max429 int
}

// TrelloLimits are Trello's documented limits: 100 requests per 10 s per
// token and 300 per 10 s per key
// (developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits).
var TrelloLimits = Limits{TokenMax: 100, KeyMax: 300, Interval: 10 * time.Second, Max429: 5}

// Budget is the rate-limit budget of one API key and its tokens, shared by
// every request made with them in the process: boards pulled concurrently,
// pull and push. A request waits until both its token's window and the
// key's window have room.
//
// The windows are sliding logs: a request counts from the moment its
// response arrived until Interval later. Trello counts a request when it
// arrives and does not document whether its windows are fixed or sliding;
// a log of response times never lets more than the limit through in any
// span of Interval as the server sees it, whichever it is, and still
// allows the full rate, so a long backfill runs at the floor
// (requests / limit × Interval) without 429s.
//
// The x-rate-limit-api-{token,key}-remaining headers of each response
// correct the count when someone else (another process with the same
// token) spends the budget too. A 429 closes the window it names for a full
// Interval, which is certain to reach into Trello's next window, since no
// Retry-After comes with it.
//
// Whether a /1/batch request counts once or once per route it carries is
// not documented. The budget counts it once until the remaining headers
// show that a batch of n routes cost n, and from then on reserves n.
type Budget struct {
	clock  Clock
	limits Limits

	mu      sync.Mutex
	key     *window
	tokens  map[[32]byte]*window
	changed chan struct{} // closed and replaced when a request completes
	recent  []time.Time   // 429s in the last Interval
	// batchPerRoute is set once a batch's headers showed it counted per
	// route.
	batchPerRoute bool
}

// window is a sliding log of requests.
type window struct {
	max          int
	interval     time.Duration
	pending      int         // slots of requests sent, no response yet: counted as now
	done         []time.Time // response times, oldest first
	blockedUntil time.Time   // after a 429
}

// NewBudget returns a budget for one API key under limits (zero fields take
// TrelloLimits), on clock (nil is the wall clock).
func NewBudget(l Limits, clock Clock) *Budget {
	if l.TokenMax == 0 {
		l.TokenMax = TrelloLimits.TokenMax
	}
	if l.KeyMax == 0 {
		l.KeyMax = TrelloLimits.KeyMax
	}
	if l.Interval == 0 {
		l.Interval = TrelloLimits.Interval
	}
	if l.Max429 == 0 {
		l.Max429 = TrelloLimits.Max429
	}
	if clock == nil {
		clock = vclock.Real{}
	}
	return &Budget{
		clock:   clock,
		limits:  l,
		key:     &window{max: l.KeyMax, interval: l.Interval},
		tokens:  map[[32]byte]*window{},
		changed: make(chan struct{}),
	}
}

// shared holds the process-wide budgets, by a hash of the key (so that a
// dump of the map shows no key).
var shared struct {
	mu sync.Mutex
	m  map[[32]byte]*Budget
}

// SharedBudget returns the process-wide budget of an API key, on the wall
// clock with TrelloLimits: every Client built without its own Budget uses
// it, so concurrent pulls with the same key share one budget.
func SharedBudget(key string) *Budget {
	h := sha256.Sum256([]byte(key))
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.m == nil {
		shared.m = map[[32]byte]*Budget{}
	}
	b, ok := shared.m[h]
	if !ok {
		b = NewBudget(TrelloLimits, nil)
		shared.m[h] = b
	}
	return b
}

func (b *Budget) token(id [32]byte) *window {
	w, ok := b.tokens[id]
	if !ok {
		w = &window{max: b.limits.TokenMax, interval: b.limits.Interval}
		b.tokens[id] = w
	}
	return w
}

func (w *window) prune(now time.Time) {
	cut := 0
	for cut < len(w.done) && !w.done[cut].After(now.Add(-w.interval)) {
		cut++
	}
	if cut > 0 {
		w.done = append(w.done[:0], w.done[cut:]...)
	}
}

func (w *window) count(now time.Time) int {
	w.prune(now)
	return w.pending + len(w.done)
}

// room reports whether a request costing cost slots may go now; if not,
// wake is when it may (zero when that depends on a pending request
// completing first).
func (w *window) room(now time.Time, cost int) (ok bool, wake time.Time) {
	if now.Before(w.blockedUntil) {
		return false, w.blockedUntil
	}
	cost = min(cost, w.max)
	n := w.count(now)
	if n+cost <= w.max {
		return true, time.Time{}
	}
	// The (n+cost-max)th oldest completed request must leave the window.
	k := n + cost - w.max - 1
	if k >= len(w.done) {
		return false, time.Time{}
	}
	return false, w.done[k].Add(w.interval)
}

// ticket is a request admitted by the budget; finish must be called once
// its response (or failure) is in.
type ticket struct {
	b      *Budget
	token  *window
	cost   int // slots reserved
	routes int // routes in a batch, 0 for any other request
}

// acquire waits until the token's and the key's windows both have room
// and reserves the request's slots in each: one, or one per route of a
// batch (routes > 0) once batches have been seen to count so.
func (b *Budget) acquire(ctx context.Context, tokenID [32]byte, routes int) (*ticket, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.mu.Lock()
		now := b.clock.Now()
		tw := b.token(tokenID)
		cost := 1
		if routes > 1 && b.batchPerRoute {
			cost = routes
		}
		okT, wakeT := tw.room(now, cost)
		okK, wakeK := b.key.room(now, cost)
		if okT && okK {
			tw.pending += cost
			b.key.pending += cost
			b.mu.Unlock()
			return &ticket{b: b, token: tw, cost: cost, routes: routes}, nil
		}
		ch := b.changed
		var wake time.Time
		waitPending, inFlight := false, false
		for _, c := range []struct {
			w    *window
			ok   bool
			wake time.Time
		}{{tw, okT, wakeT}, {b.key, okK, wakeK}} {
			if c.ok {
				continue
			}
			inFlight = inFlight || c.w.pending > 0
			if c.wake.IsZero() {
				waitPending = true
			} else if c.wake.After(wake) {
				wake = c.wake
			}
		}
		b.mu.Unlock()
		if waitPending {
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		if inFlight && b.awaitChange(ctx, ch) {
			continue
		}
		if err := b.clock.SleepUntil(ctx, wake); err != nil {
			return nil, err
		}
	}
}

// inFlightGrace is how long (in real time) a waiter lets requests in
// flight complete before it sleeps until its window opens. Their
// completion times count in the windows, and on a virtual clock a waiter
// that moved the clock first would date them a whole window late and slow
// the run below the floor; on the wall clock a response is usually far
// quicker than a window, and the grace is the most a slow one can add.
const inFlightGrace = 500 * time.Millisecond

// awaitChange waits up to inFlightGrace for a request to complete and
// reports whether one did (false also when ctx ended: the caller's sleep
// then returns ctx's error).
func (b *Budget) awaitChange(ctx context.Context, ch <-chan struct{}) bool {
	timer := time.NewTimer(inFlightGrace)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

// finish records the request as completed now and reads the rate-limit
// headers of its response (h may be nil).
func (t *ticket) finish(h http.Header) {
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	for _, w := range []*window{t.token, b.key} {
		w.pending -= t.cost
		for range t.cost {
			w.done = append(w.done, now)
		}
	}
	if h != nil && t.routes > 1 && !b.batchPerRoute {
		// The server counted the other routes too if it sees at least
		// routes-1 more requests than this process made.
		if rem, ok := headerInt(h, "X-Rate-Limit-Api-Token-Remaining"); ok {
			if used := t.token.max - rem; used-t.token.count(now) >= t.routes-1 {
				b.batchPerRoute = true
			}
		}
	}
	if h != nil {
		t.token.observe(now, h, "Token")
		b.key.observe(now, h, "Key")
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// observe corrects the window from the server's view of it: a lower max or
// a longer interval is adopted, and requests the server counted that this
// process did not make (another process with the same credentials) are
// added as if made now.
func (w *window) observe(now time.Time, h http.Header, which string) {
	num := func(name string) (int, bool) {
		return headerInt(h, "X-Rate-Limit-Api-"+which+"-"+name)
	}
	if m, ok := num("Max"); ok && m > 0 && m < w.max {
		w.max = m
	}
	if ms, ok := num("Interval-Ms"); ok {
		if d := time.Duration(ms) * time.Millisecond; d > w.interval {
			w.interval = d
		}
	}
	rem, ok := num("Remaining")
	if !ok {
		return
	}
	used := w.max - rem
	if local := w.count(now); used > local {
		for range used - local {
			w.done = append(w.done, now)
		}
	}
}

// refused notes a 429 whose body named code: the window it names stays
// closed for a full interval. It returns how long that is and whether the
// budget has seen more 429s in the last interval than it tolerates.
func (b *Budget) refused(tokenID [32]byte, code string) (wait time.Duration, giveUp bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	w := b.token(tokenID)
	if code == "API_KEY_LIMIT_EXCEEDED" {
		w = b.key
	}
	if until := now.Add(w.interval); until.After(w.blockedUntil) {
		w.blockedUntil = until
	}
	cut := 0
	for cut < len(b.recent) && !b.recent[cut].After(now.Add(-b.limits.Interval)) {
		cut++
	}
	b.recent = append(b.recent[cut:], now)
	return w.interval, len(b.recent) > b.limits.Max429
}

// headerInt reads a non-negative integer header.
func headerInt(h http.Header, name string) (int, bool) {
	v := h.Get(name)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}
