package trellofake

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// WindowMode says how the fake counts requests in a rate-limit interval.
type WindowMode int

const (
	// FixedWindow counts requests in back-to-back intervals: a window opens
	// with the first request after the previous one ended and admits Max
	// requests until it ends. Trello's wording ("for the remainder of the
	// 10s window") suggests fixed windows, but how they are aligned is not
	// documented [unverified]; aligning them to the first request is the
	// choice that lets the most requests through at a window's edge, so a
	// client tuned against it is tuned against the harsher neighbour.
	FixedWindow WindowMode = iota
	// SlidingWindow admits a request when fewer than Max were admitted in
	// the Interval before it: the strictest reading, for tests that check a
	// client never exceeds the limit over any span.
	SlidingWindow
)

// Limits are the rate limits the fake enforces. Zero fields take Trello's
// documented values (developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits).
type Limits struct {
	// TokenMax requests per Interval per token (100).
	TokenMax int
	// KeyMax requests per Interval per API key, over all its tokens (300).
	KeyMax int
	// Interval is the window of both (10 s).
	Interval time.Duration
	// MemberMax requests per MemberInterval to /1/members/{id} itself, not
	// to nested routes such as /1/members/me/boards (100 per 900 s).
	MemberMax      int
	MemberInterval time.Duration
	// KeyLockout429s: once a key has had more than this many 429s in a
	// window, every request of that key gets 429 for the rest of the window
	// (200).
	KeyLockout429s int
	// Mode is FixedWindow unless set.
	Mode WindowMode
	// BatchCountsEachURL makes a /1/batch request count as one request per
	// route it carries. Trello's batch documentation says batching helps
	// "stay within your API rate limit", which reads as one request per
	// batch [unverified], so the default counts a batch once.
	BatchCountsEachURL bool
	// Off disables rate limiting (headers are still sent).
	Off bool
}

func (l Limits) withDefaults() Limits {
	if l.TokenMax == 0 {
		l.TokenMax = 100
	}
	if l.KeyMax == 0 {
		l.KeyMax = 300
	}
	if l.Interval == 0 {
		l.Interval = 10 * time.Second
	}
	if l.MemberMax == 0 {
		l.MemberMax = 100
	}
	if l.MemberInterval == 0 {
		l.MemberInterval = 900 * time.Second
	}
	if l.KeyLockout429s == 0 {
		l.KeyLockout429s = 200
	}
	return l
}

// window counts requests for one token, key or member route.
type window struct {
	max      int
	interval time.Duration
	mode     WindowMode
	start    time.Time   // FixedWindow
	count    int         // FixedWindow
	times    []time.Time // SlidingWindow: admitted requests, oldest first
}

func (w *window) roll(now time.Time) {
	switch w.mode {
	case FixedWindow:
		if w.start.IsZero() || !now.Before(w.start.Add(w.interval)) {
			w.start, w.count = now, 0
		}
	case SlidingWindow:
		cut := 0
		for cut < len(w.times) && !w.times[cut].After(now.Add(-w.interval)) {
			cut++
		}
		w.times = w.times[cut:]
	}
}

func (w *window) used(now time.Time) int {
	w.roll(now)
	if w.mode == SlidingWindow {
		return len(w.times)
	}
	return w.count
}

func (w *window) remaining(now time.Time) int {
	return max(0, w.max-w.used(now))
}

func (w *window) take(now time.Time, n int) {
	w.roll(now)
	if w.mode == SlidingWindow {
		for range n {
			w.times = append(w.times, now)
		}
		return
	}
	w.count += n
}

// keyState is a key's window plus its 429 count and lockout.
type keyState struct {
	window
	n429      int
	n429Start time.Time
	lockedTo  time.Time
}

// limiter holds every window the fake keeps.
type limiter struct {
	mu      sync.Mutex
	l       Limits
	keys    map[string]*keyState
	tokens  map[string]*window
	members map[string]*window // by token
}

func newLimiter(l Limits) *limiter {
	return &limiter{l: l.withDefaults(), keys: map[string]*keyState{}, tokens: map[string]*window{}, members: map[string]*window{}}
}

func (lm *limiter) key(k string) *keyState {
	s, ok := lm.keys[k]
	if !ok {
		s = &keyState{window: window{max: lm.l.KeyMax, interval: lm.l.Interval, mode: lm.l.Mode}}
		lm.keys[k] = s
	}
	return s
}

func (lm *limiter) token(t string) *window {
	w, ok := lm.tokens[t]
	if !ok {
		w = &window{max: lm.l.TokenMax, interval: lm.l.Interval, mode: lm.l.Mode}
		lm.tokens[t] = w
	}
	return w
}

func (lm *limiter) member(t string) *window {
	w, ok := lm.members[t]
	if !ok {
		w = &window{max: lm.l.MemberMax, interval: lm.l.MemberInterval, mode: lm.l.Mode}
		lm.members[t] = w
	}
	return w
}

// verdict is what the limiter decided for one request: an empty code
// admits it.
type verdict struct {
	code, message string // the 429 body's error and message
	headers       http.Header
}

// admit counts a request of cost n against key and token (and the member
// window when memberRoute) at now, and returns the headers every response
// carries. A refused request is not counted against the windows
// [unverified: Trello does not say], only against the key's 429 tally.
func (lm *limiter) admit(now time.Time, key, tok string, memberRoute bool, n int) verdict {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	ks, tw := lm.key(key), lm.token(tok)
	var mw *window
	if memberRoute {
		mw = lm.member(tok)
	}
	var v verdict
	switch {
	case lm.l.Off:
	case now.Before(ks.lockedTo):
		v.code, v.message = "API_KEY_LIMIT_EXCEEDED", "Rate limit exceeded"
	case tw.used(now)+n > tw.max:
		v.code, v.message = "API_TOKEN_LIMIT_EXCEEDED", "Rate limit exceeded"
	case ks.used(now)+n > ks.max:
		v.code, v.message = "API_KEY_LIMIT_EXCEEDED", "Rate limit exceeded"
	case mw != nil && mw.used(now)+1 > mw.max:
		// The body of the member-route 429 is taken from a response quoted
		// on laracasts.com ("Exceeded rate limit to /1/member",
		// RATE_LIMIT_EXCEEDED); a Trello engineer's forum post calls it
		// MEMBER_LIMIT_EXCEEDED instead [unverified either way].
		v.code, v.message = "RATE_LIMIT_EXCEEDED", "Exceeded rate limit to /1/members"
	}
	if v.code == "" {
		tw.take(now, n)
		ks.take(now, n)
		if mw != nil {
			mw.take(now, 1)
		}
	} else {
		lm.note429(ks, now)
	}
	v.headers = lm.headers(now, ks, tw, mw)
	return v
}

func (lm *limiter) note429(ks *keyState, now time.Time) {
	if ks.n429Start.IsZero() || !now.Before(ks.n429Start.Add(lm.l.Interval)) {
		ks.n429Start, ks.n429 = now, 0
	}
	ks.n429++
	if ks.n429 > lm.l.KeyLockout429s {
		ks.lockedTo = ks.n429Start.Add(lm.l.Interval)
	}
}

// refuse counts a 429 the fault switches forced, so that it shows in the
// key's tally and the headers say the token is spent.
func (lm *limiter) refuse(now time.Time, key, tok string) http.Header {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	ks, tw := lm.key(key), lm.token(tok)
	lm.note429(ks, now)
	h := lm.headers(now, ks, tw, nil)
	h.Set("X-Rate-Limit-Api-Token-Remaining", "0")
	return h
}

// spend uses n requests of a token's and its key's windows, as another
// process sharing the credentials would.
func (lm *limiter) spend(now time.Time, key, tok string, n int) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	lm.token(tok).take(now, n)
	lm.key(key).take(now, n)
}

// headers are the rate-limit headers Trello sends with every response
// (names and values as captured in a Trello engineer's forum answer,
// community.developer.atlassian.com/t/30353).
func (lm *limiter) headers(now time.Time, ks *keyState, tw, mw *window) http.Header {
	h := http.Header{}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	h.Set("X-Rate-Limit-Api-Key-Interval-Ms", ms(lm.l.Interval))
	h.Set("X-Rate-Limit-Api-Key-Max", strconv.Itoa(ks.max))
	h.Set("X-Rate-Limit-Api-Key-Remaining", strconv.Itoa(ks.remaining(now)))
	h.Set("X-Rate-Limit-Api-Token-Interval-Ms", ms(lm.l.Interval))
	h.Set("X-Rate-Limit-Api-Token-Max", strconv.Itoa(tw.max))
	h.Set("X-Rate-Limit-Api-Token-Remaining", strconv.Itoa(tw.remaining(now)))
	expose := "x-rate-limit-api-key-interval-ms, x-rate-limit-api-key-max, x-rate-limit-api-key-remaining, " +
		"x-rate-limit-api-token-interval-ms, x-rate-limit-api-token-max, x-rate-limit-api-token-remaining"
	if mw != nil {
		h.Set("X-Rate-Limit-Member-Interval-Ms", ms(lm.l.MemberInterval))
		h.Set("X-Rate-Limit-Member-Max", strconv.Itoa(mw.max))
		h.Set("X-Rate-Limit-Member-Remaining", strconv.Itoa(mw.remaining(now)))
		expose += ", x-rate-limit-member-interval-ms, x-rate-limit-member-max, x-rate-limit-member-remaining"
	}
	h.Set("Access-Control-Expose-Headers", expose)
	return h
}
