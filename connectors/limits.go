package connectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The time limits every source that talks over HTTP takes in its options,
// under the same names: deadline bounds one pull, request_timeout one
// request (each attempt of it).
const (
	DefaultDeadline       = 30 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
)

// Names of the limits, as the options spell them.
const (
	LimitDeadline       = "deadline"
	LimitRequestTimeout = "request_timeout"
)

// TimeoutError says which of a source's time limits ended what it was
// doing: Limit is LimitDeadline or LimitRequestTimeout, After its value.
// Err, when set, is what was under way (the last answer waited out).
type TimeoutError struct {
	Limit string
	After time.Duration
	Err   error
}

func (e *TimeoutError) Error() string {
	s := "source deadline " + Short(e.After) + " reached"
	if e.Limit == LimitRequestTimeout {
		s = "no answer within request_timeout " + Short(e.After)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// Short is a duration as a config would write it: 30m, 1h30m, 30s, 1.5s.
func Short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// CheckLimits validates a source's deadline and request_timeout options.
func CheckLimits(deadline, requestTimeout time.Duration) error {
	switch {
	case deadline <= 0:
		return fmt.Errorf("deadline must be positive, got %s", deadline)
	case requestTimeout <= 0:
		return fmt.Errorf("request_timeout must be positive, got %s", requestTimeout)
	case requestTimeout > deadline:
		return fmt.Errorf("request_timeout (%s) exceeds deadline (%s)", Short(requestTimeout), Short(deadline))
	}
	return nil
}

type deadlineKey struct{}

type deadline struct {
	at    time.Time // on the source's clock
	after time.Duration
}

// WithDeadline bounds a pull that starts at start (on the source's clock)
// to d: the context ends after d of wall time, its cause a *TimeoutError
// naming the deadline, and clients that wait on their own clock (which a
// test may run virtually) stop waiting at start+d (WaitPasses). d <= 0
// bounds nothing.
func WithDeadline(ctx context.Context, start time.Time, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	ctx = context.WithValue(ctx, deadlineKey{}, deadline{at: start.Add(d), after: d})
	return context.WithTimeoutCause(ctx, d, &TimeoutError{Limit: LimitDeadline, After: d})
}

// HasDeadline says whether ctx is a pull bounded by WithDeadline. A
// client waiting out throttling answers keeps waiting as long as the
// deadline allows; without one (a push, a check) it gives up after a few.
func HasDeadline(ctx context.Context) bool {
	_, ok := ctx.Value(deadlineKey{}).(deadline)
	return ok
}

// WaitPasses returns a *TimeoutError wrapping why when waiting until t (on
// the source's clock) would pass the pull's deadline, or nil. Better to
// fail now, with what the server said, than to sleep into the deadline
// and report only that it passed.
func WaitPasses(ctx context.Context, t time.Time, why error) error {
	dl, ok := ctx.Value(deadlineKey{}).(deadline)
	if !ok || !t.After(dl.at) {
		return nil
	}
	return &TimeoutError{Limit: LimitDeadline, After: dl.after, Err: why}
}

// WithRequestTimeout bounds one request to d (DefaultRequestTimeout when
// d <= 0); TimedOut then names the limit that ended it.
func WithRequestTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultRequestTimeout
	}
	return context.WithTimeoutCause(ctx, d, &TimeoutError{Limit: LimitRequestTimeout, After: d})
}

// TimedOut returns the *TimeoutError that ended ctx (a request's from
// WithRequestTimeout, or the pull's from WithDeadline) when err is what
// that did to a request; otherwise err.
func TimedOut(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	var te *TimeoutError
	if errors.As(context.Cause(ctx), &te) {
		cp := *te
		return &cp
	}
	return err
}

// DeadlineReached is what a pull bounded by WithDeadline returns: err,
// said as the deadline when that is why the pull ended.
func DeadlineReached(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return err
	}
	if errors.As(context.Cause(ctx), &te) && te.Limit == LimitDeadline {
		return &TimeoutError{Limit: LimitDeadline, After: te.After, Err: err}
	}
	return err
}
