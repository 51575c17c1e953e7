package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// FailedRunsInARow counts the source's latest runs that failed, up to its
// last run that did not (dry runs and runs still going are not counted).
func (s *Store) FailedRunsInARow(ctx context.Context, sourceID string) (int, error) {
	var statuses []string
	err := s.db.SelectContext(ctx, &statuses, s.db.Rebind(`SELECT status FROM sync_runs
		WHERE source_id = ? AND NOT dry_run AND status <> ? ORDER BY id DESC LIMIT 100`), sourceID, RunRunning)
	n := 0
	for _, st := range statuses {
		if st != RunFailed {
			break
		}
		n++
	}
	return n, err
}

// NextClockTurn is the earliest instant after after at which an open
// clock (running or at risk) turns: its warning for a running one, its
// target for either. ok is false when no open clock will turn.
func (s *Store) NextClockTurn(ctx context.Context, after time.Time) (next time.Time, ok bool, err error) {
	// Two plain queries rather than MIN over a union: SQLite gives an
	// expression's value no column type, and the driver would hand back
	// text instead of a time.
	for _, q := range []string{
		`SELECT warn_at FROM sla_clocks WHERE state = 'running' AND NOT waived AND warn_at > ? ORDER BY warn_at LIMIT 1`,
		`SELECT due_at FROM sla_clocks WHERE state IN ('running', 'at_risk') AND NOT waived AND due_at > ? ORDER BY due_at LIMIT 1`,
	} {
		var at time.Time
		err := s.db.GetContext(ctx, &at, s.db.Rebind(q), after.UTC())
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return time.Time{}, false, err
		}
		if !ok || at.Before(next) {
			next, ok = at.UTC(), true
		}
	}
	return next, ok, nil
}

// JobCount is the number of the daemon's River jobs of a kind in a state.
type JobCount struct {
	Kind  string `db:"kind"`
	State string `db:"state"`
	Rows  int    `db:"n"`
}

// JobCounts counts River's jobs (the daemon's queue, in the store) by
// kind and state.
func (s *Store) JobCounts(ctx context.Context) ([]JobCount, error) {
	var out []JobCount
	err := s.db.SelectContext(ctx, &out, `SELECT kind, state, COUNT(*) AS n FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	return out, err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// PendingMigrations lists the versions of this binary's schema not yet
// applied to the store (a replica of an older binary migrated it, or
// nobody has).
func (s *Store) PendingMigrations(ctx context.Context) ([]int, error) {
	migs, err := s.Migrations()
	if err != nil {
		return nil, err
	}
	var done []int
	if err := s.db.SelectContext(ctx, &done, `SELECT version FROM schema_migrations`); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	var pending []int
	for _, m := range migs {
		if !slices.Contains(done, m.Version) {
			pending = append(pending, m.Version)
		}
	}
	return pending, nil
}

// RememberDelivery records a webhook delivery by its id and says whether
// it is new: false for one recorded before (a redelivery), on any replica.
// Deliveries older than a week are forgotten on the way.
func (s *Store) RememberDelivery(ctx context.Context, id, sourceID string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO webhook_deliveries (id, source_id, received_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`), id, sourceID, at.UTC())
	if err != nil {
		return false, fmt.Errorf("recording webhook delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 1 {
		_, err = s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM webhook_deliveries WHERE received_at < ?`), at.Add(-7*24*time.Hour).UTC())
	}
	return n == 1, err
}

// DeliverySeen says whether a webhook delivery of this id was recorded.
func (s *Store) DeliverySeen(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM webhook_deliveries WHERE id = ?`), id)
	return n > 0, err
}

// DiscardedJob is a job of the daemon that kept failing until River gave
// it up, with its last error.
type DiscardedJob struct {
	ID          int64     `db:"id"`
	Kind        string    `db:"kind"`
	Args        string    `db:"args"`
	Attempts    int       `db:"attempt"`
	FinalizedAt time.Time `db:"finalized_at"`
	LastError   string    `db:"last_error"`
}

// DiscardedJobs lists the daemon's discarded jobs, newest first (River
// keeps them a week).
func (s *Store) DiscardedJobs(ctx context.Context, limit int) ([]DiscardedJob, error) {
	lastError := `COALESCE(errors[array_length(errors, 1)]->>'error', '')`
	args := `CAST(args AS TEXT)`
	if s.Dialect == SQLite {
		lastError = `COALESCE(json_extract(errors, '$[#-1].error'), '')`
		args = `args`
	}
	var out []DiscardedJob
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, kind, `+args+` AS args, attempt, finalized_at, `+lastError+` AS last_error
		FROM river_job WHERE state = 'discarded' ORDER BY finalized_at DESC, id DESC LIMIT ?`), limit)
	return out, err
}
