package connectors

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// FanOut keeps to its limit, goes on past soft errors, and stops at the
// first other one, which it returns once every running part has ended.
func TestFanOut(t *testing.T) {
	t.Parallel()
	var running, most, ran atomic.Int32
	soft := errors.New("gone")
	var flagged atomic.Int32
	err := FanOut(context.Background(), 3, 20, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		ran.Add(1)
		if i%4 == 0 {
			return soft
		}
		return nil
	}, func(i int, err error) bool {
		flagged.Add(1)
		return errors.Is(err, soft)
	})
	if err != nil || ran.Load() != 20 || flagged.Load() != 5 || most.Load() > 3 {
		t.Errorf("err %v, ran %d, flagged %d, at most %d at once", err, ran.Load(), flagged.Load(), most.Load())
	}

	fatal := errors.New("unauthorized")
	ran.Store(0)
	var cancelled atomic.Bool
	beside := make(chan struct{})
	err = FanOut(context.Background(), 2, 50, func(ctx context.Context, i int) error {
		ran.Add(1)
		switch i {
		case 3:
			<-beside
			return fatal
		case 4:
			close(beside)
			<-ctx.Done() // the part running beside the fatal one sees it
			cancelled.Store(true)
		}
		return nil
	}, nil)
	if !errors.Is(err, fatal) || ran.Load() >= 50 || !cancelled.Load() {
		t.Errorf("err %v after %d parts (cancelled %v), want the fatal error early", err, ran.Load(), cancelled.Load())
	}
}
