package trellofake

import (
	"context"
	"sync"
	"time"
)

// Clock tells the fake what time it is: action ids and dates, card activity
// and the rate-limit windows all read it.
type Clock interface {
	Now() time.Time
}

// RealClock is the wall clock, the default.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// VirtualClock is a clock that moves only when told to. Tests and the
// benchmark share one between the fake and the client under test, so that
// waiting out a ten-second rate-limit window costs no real time.
//
// It stays honest: Sleep moves the clock forward rather than skipping the
// wait, so every request the fake sees is counted against the windows of
// the virtual moment it arrived at, and a client can only gain by waiting
// the same virtual time it would have waited for real.
//
// It satisfies the trello client's Clock interface (Now and SleepUntil).
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a clock standing at start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

// Now returns the clock's current time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d is ignored: the clock
// never runs backwards, or action ids would stop sorting by time).
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// AdvanceTo moves the clock to t if t is later than now.
func (c *VirtualClock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Sleep is SleepUntil(ctx, Now()+d).
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	return c.SleepUntil(ctx, c.Now().Add(d))
}

// SleepUntil returns at once after moving the clock to t, unless the clock
// already stands at or past t (another sleeper moved it further).
// Concurrent sleepers therefore overlap the way real ones do: two goroutines
// that both wait for the same window to end wake together, the clock having
// moved once. Waiting by deadline rather than by duration matters here: a
// duration computed before another goroutine moved the clock would push the
// clock past the moment the waiter wanted. It returns ctx.Err() if ctx is
// already done.
func (c *VirtualClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.AdvanceTo(t)
	return nil
}
