package store

import (
	"context"
	"errors"
	"fmt"
)

// serveLock is the run lock a karkas serve holds on a SQLite store.
const serveLock = "serve"

// LockServe takes the store for a karkas serve daemon, described by holder
// (Holder), and returns the function that gives it back; a daemon that
// dies gives it back with it.
//
// On SQLite a store has one daemon: a second one is refused at once, with
// an error of one line that names the first (a *LockedError of Name
// "serve"). SQLite has one writer at a time, so a second daemon on the
// file would add no throughput, only waits at the write lock and River's
// polling twice over; two daemons on one file are a mistake (two units, a
// unit and a run by hand). The lock is a flock(2) beside the file, as
// Lock's are, so `karkas sync` and the other commands still run beside
// the daemon under their own locks.
//
// On PostgreSQL any number of daemons may run, as replicas: River shares
// the jobs between them and elects one leader for its periodic jobs and
// maintenance, and karkas's run locks keep each source to one of them at a
// time. LockServe takes nothing there.
func (s *Store) LockServe(ctx context.Context, holder string) (unlock func(), err error) {
	if s.Dialect == Postgres {
		return func() {}, nil
	}
	unlock, err = s.Lock(ctx, serveLock, 0, holder)
	var le *LockedError
	if errors.As(err, &le) {
		return nil, &serveLockedError{le: le, path: s.path}
	}
	return unlock, err
}

// serveLockedError is LockServe's refusal: a LockedError whose text is
// about the daemon, without Lock's hint of --wait.
type serveLockedError struct {
	le   *LockedError
	path string
}

func (e *serveLockedError) Error() string {
	who := "another karkas serve"
	if e.le.Holder != "" {
		who += " (" + e.le.Holder + ")"
	}
	return fmt.Sprintf("%s already runs on the SQLite store %s: one daemon per SQLite store; stop it first, or use PostgreSQL to run several", who, e.path)
}

func (e *serveLockedError) Unwrap() error { return e.le }
