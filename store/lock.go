package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	libpq "github.com/lib/pq"
)

// lockNamespace is the first key of karkas's run locks on PostgreSQL
// (pg_advisory_lock(int, int)); 7305 and 7306 serialize migrations and
// delivery planning.
const lockNamespace = 7310

// lockPoll is how often a lock held by another run is asked for again.
const lockPoll = 200 * time.Millisecond

// LockedError says that another run holds a lock past the wait.
type LockedError struct {
	// Name is the lock: "source:<id>", "evaluate".
	Name string
	// Holder says who holds it, as the holder wrote it when it took it
	// ("pid 4242 on host-a since 2026-12-06 21:50:00 UTC"); empty when it
	// could not be read.
	Holder string
	Waited time.Duration
}

func (e *LockedError) Error() string {
	who := "another karkas run"
	if e.Holder != "" {
		who += " (" + e.Holder + ")"
	}
	msg := fmt.Sprintf("%s holds %s", who, e.Name)
	if e.Waited >= time.Second {
		return msg + fmt.Sprintf("; waited %s", e.Waited.Round(time.Second))
	}
	return msg + " (--wait DURATION waits for it)"
}

// Holder describes this process for a lock it takes: its pid, its host
// and when it started, which a run refused the lock is told.
func Holder(started time.Time) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s since %s", os.Getpid(), host, started.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// Lock takes the named lock for this process, waiting up to wait while
// another run (here or on another machine) holds it, and returns the
// function that gives it back. A process that dies gives its locks back
// with it: on PostgreSQL they are session advisory locks, held by a
// connection of their own; on SQLite, flock(2) locks on files beside the
// database. So a cron `karkas sync` that runs into a long one, or two
// replicas, never run the same source or evaluation at once.
func (s *Store) Lock(ctx context.Context, name string, wait time.Duration, holder string) (func(), error) {
	return s.LockAll(ctx, []string{name}, wait, holder)
}

// LockAll takes the named locks in sorted order, which every run keeps so
// that runs waiting for each other cannot deadlock, waiting up to wait in
// all, and returns the function that gives them all back. When one is held
// past wait, those taken are given back and its *LockedError returned. On
// PostgreSQL the locks are held by one connection, asked for together:
// the daemon's evaluation takes one per source and its own, every time.
func (s *Store) LockAll(ctx context.Context, names []string, wait time.Duration, holder string) (func(), error) {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	if s.Dialect == Postgres {
		return s.lockPG(ctx, names, wait, holder)
	}
	var unlocks []func()
	release := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	start := time.Now()
	for _, name := range names {
		for {
			unlock, held, err := s.tryFileLock(name, holder)
			if err != nil {
				release()
				return nil, fmt.Errorf("taking lock %s: %w", name, err)
			}
			if unlock != nil {
				unlocks = append(unlocks, unlock)
				break
			}
			if err := pause(ctx, start, wait); err != nil {
				release()
				if err == errWaited {
					return nil, &LockedError{Name: name, Holder: held, Waited: time.Since(start)}
				}
				return nil, err
			}
		}
	}
	return release, nil
}

var errWaited = errors.New("waited")

// pause waits lockPoll, or what is left of wait since start; errWaited
// when nothing is left.
func pause(ctx context.Context, start time.Time, wait time.Duration) error {
	waited := time.Since(start)
	if waited >= wait {
		return errWaited
	}
	t := time.NewTimer(min(lockPoll, wait-waited))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func lockKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// lockPG takes the advisory locks of names, in order, on one connection
// of their own: those still free are asked for in one statement; on the
// first one held, the ones after it are given back and it is asked for
// again every lockPoll, while the ones before it are kept. Who holds them
// is written to run_locks (informative only, without waiting for the
// disk: the advisory lock is the lock).
func (s *Store) lockPG(ctx context.Context, names []string, wait time.Duration, holder string) (func(), error) {
	schema, err := s.currentSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking locks: %w", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking locks: %w", err)
	}
	// Advisory locks are per database; two stores in schemas of one
	// database (search_path) are two stores.
	keys := make([]int64, len(names))
	for i, n := range names {
		keys[i] = int64(lockKey(schema + "\x00" + n))
	}
	var once sync.Once
	var written []string // the names whose holder it wrote
	release := func() {
		once.Do(func() {
			// Closing the session would free the locks too; unlocking
			// first lets the connection go back to the pool clean. The
			// connection holds no lock but these.
			uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if len(written) > 0 {
				conn.ExecContext(uctx, `DELETE FROM run_locks WHERE name = ANY($1) AND holder = $2`, libpq.Array(written), holder)
			}
			if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock_all(); RESET synchronous_commit`); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}
	if _, err := conn.ExecContext(ctx, `SET synchronous_commit TO off`); err != nil {
		conn.Close()
		return nil, fmt.Errorf("taking locks: %w", err)
	}
	start := time.Now()
	for taken := 0; taken < len(names); {
		var got []bool
		if err := conn.QueryRowContext(ctx, `SELECT array_agg(pg_try_advisory_lock($1, k) ORDER BY i) FROM unnest($2::int[]) WITH ORDINALITY AS u(k, i)`,
			lockNamespace, libpq.Array(keys[taken:])).Scan(libpq.Array(&got)); err != nil {
			release()
			return nil, fmt.Errorf("taking locks: %w", err)
		}
		first := slices.Index(got, false)
		if first < 0 {
			first = len(got)
		}
		var after []int64
		for i := first + 1; i < len(got); i++ {
			if got[i] {
				after = append(after, keys[taken+i])
			}
		}
		if len(after) > 0 {
			if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, k) FROM unnest($2::int[]) AS k`, lockNamespace, libpq.Array(after)); err != nil {
				release()
				return nil, fmt.Errorf("taking locks: %w", err)
			}
		}
		if first > 0 {
			if _, err := conn.ExecContext(ctx, `INSERT INTO run_locks (name, holder) SELECT unnest($1::text[]), $2
				ON CONFLICT (name) DO UPDATE SET holder = excluded.holder`, libpq.Array(names[taken:taken+first]), holder); err != nil {
				release()
				return nil, fmt.Errorf("taking locks: %w", err)
			}
			written = append(written, names[taken:taken+first]...)
		}
		taken += first
		if taken == len(names) {
			break
		}
		if err := pause(ctx, start, wait); err != nil {
			name := names[taken]
			release()
			if err == errWaited {
				return nil, &LockedError{Name: name, Holder: lockHolder(func() string {
					var held []string
					_ = s.db.SelectContext(ctx, &held, `SELECT holder FROM run_locks WHERE name = $1`, name)
					if len(held) == 0 {
						return ""
					}
					return held[0]
				}), Waited: time.Since(start)}
			}
			return nil, err
		}
	}
	return release, nil
}

// currentSchema is the schema the store's connections work in (their
// search_path's), asked once.
func (s *Store) currentSchema(ctx context.Context) (string, error) {
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schema == "" {
		if err := s.db.GetContext(ctx, &s.schema, `SELECT current_schema()`); err != nil {
			return "", err
		}
	}
	return s.schema, nil
}

// lockFiles are the file locks this process holds, by path: flock(2) locks
// belong to the open file, so a second Lock of one name in the process
// must see the first.
var (
	lockFilesMu sync.Mutex
	lockFiles   = map[string]bool{}
)

func (s *Store) tryFileLock(name, holder string) (func(), string, error) {
	if s.path == "" || s.path == ":memory:" {
		return s.tryProcessLock(name)
	}
	path := s.path + ".lock-" + safeName(name)
	lockFilesMu.Lock()
	defer lockFilesMu.Unlock()
	if lockFiles[path] {
		return nil, "this process", nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, "", err
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, lockHolder(func() string {
				held, _ := os.ReadFile(path)
				return strings.TrimSpace(string(held))
			}), nil
		}
		return nil, "", err
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder+"\n"), 0)
	}
	lockFiles[path] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			lockFilesMu.Lock()
			defer lockFilesMu.Unlock()
			f.Truncate(0)
			funlock(f)
			f.Close()
			delete(lockFiles, path)
		})
	}, "", nil
}

// tryProcessLock locks within the process, for an in-memory database that
// no other process can open.
func (s *Store) tryProcessLock(name string) (func(), string, error) {
	lockFilesMu.Lock()
	defer lockFilesMu.Unlock()
	key := fmt.Sprintf("%p:%s", s, name)
	if lockFiles[key] {
		return nil, "this process", nil
	}
	lockFiles[key] = true
	return func() {
		lockFilesMu.Lock()
		delete(lockFiles, key)
		lockFilesMu.Unlock()
	}, "", nil
}

// lockHolder reads who holds a lock, once more after a moment when it reads
// nothing: the holder says who it is just after it takes the lock.
func lockHolder(read func() string) string {
	if h := read(); h != "" {
		return h
	}
	time.Sleep(50 * time.Millisecond)
	return read()
}

// safeName makes a lock name part of a file name.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name) + fmt.Sprintf("-%08x", uint32(lockKey(name)))
}
