package fakeapi

import (
	"math"
	"sync"
	"time"
)

// Window is a sliding-log rate limit: it admits a request when fewer than
// Max were admitted in the Interval before it. Refused requests are not
// counted against the window, only in TooMany. Safe for concurrent use.
type Window struct {
	max      int
	interval time.Duration

	mu      sync.Mutex
	sent    []time.Time // admitted requests still in the window, oldest first
	refused int
}

// NewWindow returns a limit of max requests per interval; a max below 1
// admits every request.
func NewWindow(max int, interval time.Duration) *Window {
	return &Window{max: max, interval: interval}
}

// Admit counts a request arriving at now against the window, or refuses it
// and says how many whole seconds (at least 1) until a place frees. A
// request admitted at exactly now-Interval has left the window.
func (w *Window) Admit(now time.Time) (ok bool, retryAfter int) {
	if w.max < 1 {
		return true, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cut := 0
	for cut < len(w.sent) && !w.sent[cut].After(now.Add(-w.interval)) {
		cut++
	}
	w.sent = w.sent[cut:]
	if len(w.sent) < w.max {
		w.sent = append(w.sent, now)
		return true, 0
	}
	w.refused++
	wait := w.sent[0].Add(w.interval).Sub(now)
	return false, max(1, int(math.Ceil(wait.Seconds())))
}

// TooMany is how many requests Admit refused.
func (w *Window) TooMany() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused
}
