package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"sync"
	"time"
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
	start := time.Now()
	for {
		unlock, held, err := s.tryLock(ctx, name, holder)
		if err != nil {
			return nil, fmt.Errorf("taking lock %s: %w", name, err)
		}
		if unlock != nil {
			return unlock, nil
		}
		waited := time.Since(start)
		if waited >= wait {
			return nil, &LockedError{Name: name, Holder: held, Waited: waited}
		}
		t := time.NewTimer(min(lockPoll, wait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// tryLock takes the lock if it is free; otherwise it returns who holds it.
func (s *Store) tryLock(ctx context.Context, name, holder string) (unlock func(), heldBy string, err error) {
	if s.Dialect == Postgres {
		return s.tryPGLock(ctx, name, holder)
	}
	return s.tryFileLock(name, holder)
}

func lockKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

func (s *Store) tryPGLock(ctx context.Context, name, holder string) (func(), string, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, "", err
	}
	// Advisory locks are per database; two stores in schemas of one
	// database (search_path) are two stores.
	var schema string
	if err := conn.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		conn.Close()
		return nil, "", err
	}
	key := lockKey(schema + "\x00" + name)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockNamespace, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, "", err
	}
	if !ok {
		conn.Close()
		// The holder writes who it is just after it took the lock: a run
		// asking in between looks once more.
		return nil, lockHolder(func() string {
			var held []string
			_ = s.db.SelectContext(ctx, &held, `SELECT holder FROM run_locks WHERE name = $1`, name)
			if len(held) == 0 {
				return ""
			}
			return held[0]
		}), nil
	}
	// Who holds it, for the runs it turns away; informative only: the
	// advisory lock is the lock.
	if _, err := conn.ExecContext(ctx, `INSERT INTO run_locks (name, holder) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder`, name, holder); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, lockNamespace, key)
		conn.Close()
		return nil, "", err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the session would free the lock too; unlocking first
			// lets the connection go back to the pool clean.
			uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn.ExecContext(uctx, `DELETE FROM run_locks WHERE name = $1 AND holder = $2`, name, holder)
			if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1, $2)`, lockNamespace, key); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, "", nil
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
