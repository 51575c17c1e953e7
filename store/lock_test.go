package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// A lock held by one run turns another away, with who holds it, or makes
// it wait; given back, it is free again; names do not interfere.
func TestLock(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.URL(t, dialect)
			open := func() *store.Store { return migrated(t, url) }
			a, b := open(), open() // two runs on one store
			unlock, err := a.Lock(ctx, "source:mail", 0, "pid 1 on host-a since then")
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Lock(ctx, "source:mail", 0, "pid 2 on host-b")
			var le *store.LockedError
			if !errors.As(err, &le) || le.Name != "source:mail" {
				t.Fatalf("a second run took a held lock: %v", err)
			}
			if dialect == store.Postgres && le.Holder != "pid 1 on host-a since then" {
				t.Errorf("the refusal names %q, want the holder", le.Holder)
			}
			if !strings.Contains(err.Error(), "holds source:mail") {
				t.Errorf("refusal %q", err)
			}
			other, err := b.Lock(ctx, "source:trello", 0, "pid 2")
			if err != nil {
				t.Fatalf("another name is held too: %v", err)
			}
			other()
			// Waiting: the holder gives the lock back within the wait.
			go func() { time.Sleep(300 * time.Millisecond); unlock() }()
			start := time.Now()
			again, err := b.Lock(ctx, "source:mail", 10*time.Second, "pid 2")
			if err != nil {
				t.Fatalf("waiting for the lock: %v", err)
			}
			if waited := time.Since(start); waited < 200*time.Millisecond {
				t.Errorf("took a held lock after %s", waited)
			}
			again()
			// A wait that ends first is a refusal that says how long.
			hold, err := a.Lock(ctx, "evaluate", 0, "pid 1")
			if err != nil {
				t.Fatal(err)
			}
			defer hold()
			_, err = b.Lock(ctx, "evaluate", 1100*time.Millisecond, "pid 2")
			if !errors.As(err, &le) || !strings.Contains(err.Error(), "waited 1s") {
				t.Errorf("after a wait: %v", err)
			}
			ctx2, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := b.Lock(ctx2, "evaluate", time.Minute, "pid 2"); !errors.Is(err, context.Canceled) {
				t.Errorf("a cancelled wait: %v", err)
			}
		})
	}
}

// LockAll takes every lock or none: refused on a held one, it keeps none
// of the others and leaves the holder's record alone; waiting, it gets
// them all once the holder lets go, and gives them all back.
func TestLockAll(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.URL(t, dialect)
			open := func() *store.Store { return migrated(t, url) }
			a, b, c := open(), open(), open()
			names := []string{"source:c", "evaluate", "source:a", "source:b"}
			unlock, err := a.Lock(ctx, "source:b", 0, "pid 1 on host-a")
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.LockAll(ctx, names, 0, "pid 2 on host-b")
			var le *store.LockedError
			if !errors.As(err, &le) || le.Name != "source:b" {
				t.Fatalf("LockAll over a held lock: %v", err)
			}
			if dialect == store.Postgres && le.Holder != "pid 1 on host-a" {
				t.Errorf("the refusal names %q, want the holder", le.Holder)
			}
			// b kept nothing: c takes every other name at once.
			others, err := c.LockAll(ctx, []string{"evaluate", "source:a", "source:c"}, 0, "pid 3")
			if err != nil {
				t.Fatalf("a refused LockAll kept a lock: %v", err)
			}
			others()
			// Still a's: the refusal did not take its record away.
			if _, err := c.Lock(ctx, "source:b", 0, "pid 3"); !errors.As(err, &le) || (dialect == store.Postgres && le.Holder != "pid 1 on host-a") {
				t.Errorf("source:b after the refusal: %v", err)
			}
			go func() { time.Sleep(300 * time.Millisecond); unlock() }()
			all, err := b.LockAll(ctx, names, 10*time.Second, "pid 2 on host-b")
			if err != nil {
				t.Fatalf("waiting for the held one: %v", err)
			}
			for _, n := range names {
				if _, err := c.Lock(ctx, n, 0, "pid 3"); !errors.As(err, &le) {
					t.Errorf("%s is free while LockAll holds it: %v", n, err)
				}
			}
			all()
			free, err := c.LockAll(ctx, names, 0, "pid 3")
			if err != nil {
				t.Fatalf("after the release: %v", err)
			}
			free()
		})
	}
}

// migrated opens the store at url, migrated, closed when the test ends.
func migrated(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
