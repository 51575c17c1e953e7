// Package vclock is time for code that waits: the wall clock in
// production, and a virtual clock that tests, fakes and benchmarks share
// with the client under test, so that waiting out a rate-limit window
// costs no real time.
package vclock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits for it.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when the clock reaches t, or with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// SleepUntil waits on a timer.
func (Real) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Virtual is a clock that moves only when told to or slept on.
//
// It stays honest: SleepUntil moves the clock forward rather than skipping
// the wait, so every request a fake sees is counted against the windows of
// the virtual moment it arrived at, and a client can only gain by waiting
// the same virtual time it would have waited for real.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtual returns a clock standing at start.
func NewVirtual(start time.Time) *Virtual {
	return &Virtual{now: start}
}

// Now returns the clock's current time.
func (c *Virtual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d is ignored: the clock
// never runs backwards, or ids minted from it would stop sorting by time).
func (c *Virtual) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// AdvanceTo moves the clock to t if t is later than now.
func (c *Virtual) AdvanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Sleep is SleepUntil(ctx, Now()+d).
func (c *Virtual) Sleep(ctx context.Context, d time.Duration) error {
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
func (c *Virtual) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.AdvanceTo(t)
	return nil
}
