package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/record"
)

// Run statuses.
const (
	RunRunning = "running"
	RunOK      = "ok"
	RunFailed  = "failed"
)

// EnsureSource records a configured source, keeping its attention flag.
func (s *Store) EnsureSource(ctx context.Context, id, kind string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO sources (id, kind, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind WHERE sources.kind <> excluded.kind`), id, kind, s.Now())
	if err != nil {
		return fmt.Errorf("recording source %s: %w", id, err)
	}
	return nil
}

// SetAttention says why a source needs a human ("" clears it): a revoked
// token, a deleted board. `karkas status` shows it.
func (s *Store) SetAttention(ctx context.Context, sourceID, why string) error {
	var at any
	if why != "" {
		at = s.Now()
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sources SET attention = ?, attention_at = ? WHERE id = ? AND attention <> ?`),
		s.scrub(why), at, sourceID, s.scrub(why))
	return err
}

// RunDied is the error a run is given that was still running when the
// next run of its source started.
const RunDied = "the run ended without finishing (killed, or its machine stopped); what it committed is kept, and this run went on from there"

// StartRun records the start of a sync run and returns its id. The caller
// holds the source's lock (store.Lock), so a run of the source still
// recorded as running died before it could finish: it is recorded as
// failed, with RunDied (a cron `karkas sync` killed, a replica lost with
// its pull).
//
// A partial run reads part of the source (a webhook's pull of one board
// or repository): karkas status does not take it for the source's last
// run (see Sources).
func (s *Store) StartRun(ctx context.Context, sourceID string, dryRun, partial bool) (int64, error) {
	var id int64
	err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		now := s.Now()
		if !dryRun {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sync_runs SET status = ?, finished_at = ?, error = ?
				WHERE source_id = ? AND status = ? AND NOT dry_run`), RunFailed, now, RunDied, sourceID, RunRunning); err != nil {
				return err
			}
		}
		return tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO sync_runs (source_id, started_at, status, dry_run, partial)
			VALUES (?, ?, ?, ?, ?) RETURNING id`), sourceID, now, RunRunning, dryRun, partial)
	})
	if err != nil {
		return 0, fmt.Errorf("recording run start: %w", err)
	}
	return id, nil
}

// RunResult is what a finished run reports.
type RunResult struct {
	Batches  int
	Received Counts
	Written  Counts
	Problems int
	// Input is what the source counted of its own input (record.Tally);
	// zero for sources that do not count.
	Input record.Tally
	Err   error
}

// FinishRun records the end of a run.
func (s *Store) FinishRun(ctx context.Context, runID int64, r RunResult) error {
	status, msg := RunOK, ""
	if r.Err != nil {
		status, msg = RunFailed, s.scrub(r.Err.Error())
	}
	received, _ := json.Marshal(nonNil(r.Received))
	written, _ := json.Marshal(nonNil(r.Written))
	input, _ := json.Marshal(tallyJSON(r.Input))
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sync_runs SET finished_at = ?, status = ?, batches = ?,
		received = ?, written = ?, rows_written = ?, problems = ?, error = ?, input = ? WHERE id = ?`),
		s.Now(), status, r.Batches, string(received), string(written), r.Written.Total()-r.Written["problems"], r.Problems, msg,
		string(input), runID)
	if err != nil {
		return fmt.Errorf("recording run end: %w", err)
	}
	return nil
}

// Input is a run's record.Tally as sync_runs.input keeps it.
type Input struct {
	Unit    string `json:"unit,omitempty"`
	Read    int    `json:"read"`
	Stored  int    `json:"stored"`
	Refused int    `json:"refused"`
	Merged  int    `json:"merged"`
	Warned  int    `json:"warned"`
}

func tallyJSON(t record.Tally) any {
	if t == (record.Tally{}) {
		return struct{}{}
	}
	return Input{Unit: t.Unit, Read: t.Read, Stored: t.Stored, Refused: t.Refused, Merged: t.Merged, Warned: t.Warned}
}

// Tally is the stored input as a record.Tally.
func (in Input) Tally() record.Tally {
	return record.Tally{Unit: in.Unit, Read: in.Read, Stored: in.Stored, Refused: in.Refused, Merged: in.Merged, Warned: in.Warned}
}

// LastInput is, per source, what its newest run that read anything
// counted of its input, and when that run started.
func (s *Store) LastInput(ctx context.Context) (map[string]InputRun, error) {
	var rows []struct {
		SourceID  string    `db:"source_id"`
		StartedAt time.Time `db:"started_at"`
		Input     string    `db:"input"`
	}
	// The newest run per source whose input is not empty: a run that
	// found nothing new reads nothing, and says nothing of the input.
	err := s.db.SelectContext(ctx, &rows, `SELECT r.source_id, r.started_at, r.input FROM sync_runs r
		WHERE r.id = (SELECT MAX(r2.id) FROM sync_runs r2 WHERE r2.source_id = r.source_id AND r2.finished_at IS NOT NULL
		              AND NOT r2.dry_run AND CAST(r2.input AS TEXT) NOT IN ('{}', ''))`)
	if err != nil {
		return nil, fmt.Errorf("reading runs' input counts: %w", err)
	}
	out := map[string]InputRun{}
	for _, r := range rows {
		var in Input
		if err := json.Unmarshal([]byte(r.Input), &in); err != nil {
			return nil, fmt.Errorf("run of %s: input counts: %w", r.SourceID, err)
		}
		out[r.SourceID] = InputRun{At: r.StartedAt, Input: in}
	}
	return out, nil
}

// InputRun is a run's input counts and when the run started.
type InputRun struct {
	At    time.Time
	Input Input
}

func nonNil(c Counts) Counts {
	if c == nil {
		return Counts{}
	}
	return c
}

// RunRow is a row of sync_runs.
type RunRow struct {
	ID          int64        `db:"id"`
	SourceID    string       `db:"source_id"`
	StartedAt   time.Time    `db:"started_at"`
	FinishedAt  sql.NullTime `db:"finished_at"`
	Status      string       `db:"status"`
	DryRun      bool         `db:"dry_run"`
	Batches     int          `db:"batches"`
	Received    string       `db:"received"`
	Written     string       `db:"written"`
	RowsWritten int64        `db:"rows_written"`
	Problems    int          `db:"problems"`
	Error       string       `db:"error"`
}

// SourceStatus is a source with its last run, for `karkas status`.
type SourceStatus struct {
	ID          string         `db:"id"`
	Kind        string         `db:"kind"`
	Attention   string         `db:"attention"`
	LastRun     sql.NullInt64  `db:"last_run"`
	StartedAt   sql.NullTime   `db:"started_at"`
	FinishedAt  sql.NullTime   `db:"finished_at"`
	RunStatus   sql.NullString `db:"status"`
	RowsWritten sql.NullInt64  `db:"rows_written"`
	RunError    sql.NullString `db:"error"`
	// Problems counts the source's input refused; Warnings the notes on
	// input stored anyway.
	Problems int `db:"problems_total"`
	Warnings int `db:"warnings_total"`
	// Partials counts the partial runs (webhooks' pulls of one board or
	// repository) since the last full one, PartialAt is when the newest
	// started and PartialStatus how it ended.
	Partials      int            `db:"partials"`
	PartialAt     sql.NullTime   `db:"partial_at"`
	PartialStatus sql.NullString `db:"partial_status"`
}

// Sources lists the sources with their last full run (a partial one reads
// only part of the source) and the partial runs since.
func (s *Store) Sources(ctx context.Context) ([]SourceStatus, error) {
	var out []SourceStatus
	err := s.db.SelectContext(ctx, &out, `
		SELECT s.id, s.kind, s.attention, r.id AS last_run, r.started_at, r.finished_at, r.status, r.rows_written, r.error,
		       (SELECT COUNT(*) FROM problems p WHERE p.source_id = s.id AND NOT p.warning) AS problems_total,
		       (SELECT COUNT(*) FROM problems p WHERE p.source_id = s.id AND p.warning) AS warnings_total,
		       (SELECT COUNT(*) FROM sync_runs x WHERE x.source_id = s.id AND x.partial AND x.id > COALESCE(r.id, 0)) AS partials,
		       w.started_at AS partial_at, w.status AS partial_status
		FROM sources s
		LEFT JOIN sync_runs r ON r.id = (SELECT MAX(id) FROM sync_runs WHERE source_id = s.id AND NOT partial)
		LEFT JOIN sync_runs w ON w.id = (SELECT MAX(id) FROM sync_runs WHERE source_id = s.id AND partial)
		ORDER BY s.id`)
	return out, err
}

// Runs lists the newest runs, newest first.
func (s *Store) Runs(ctx context.Context, limit int) ([]RunRow, error) {
	var out []RunRow
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, source_id, started_at, finished_at, status, dry_run, batches,
		received, written, rows_written, problems, error FROM sync_runs ORDER BY id DESC LIMIT ?`), limit)
	return out, err
}

// ClientCounts is the live row count of each table for one client.
type ClientCounts struct {
	ClientID      string `db:"client_id"`
	Tasks         int    `db:"tasks"`
	StatusChanges int    `db:"status_changes"`
	Messages      int    `db:"messages"`
	TimeEntries   int    `db:"time_entries"`
	Seconds       int64  `db:"seconds"`
	// CommSeconds is the part of Seconds in the communication category:
	// billable, and shown apart.
	CommSeconds int64 `db:"comm_seconds"`
}

// CountsByClient counts live rows per client ("" for rows no client claims).
func (s *Store) CountsByClient(ctx context.Context) ([]ClientCounts, error) {
	var out []ClientCounts
	err := s.db.SelectContext(ctx, &out, `
		SELECT client_id, SUM(tasks) AS tasks, SUM(status_changes) AS status_changes, SUM(messages) AS messages,
		       SUM(time_entries) AS time_entries, SUM(seconds) AS seconds, SUM(comm_seconds) AS comm_seconds FROM (
			SELECT client_id, COUNT(*) AS tasks, 0 AS status_changes, 0 AS messages, 0 AS time_entries, 0 AS seconds, 0 AS comm_seconds
			  FROM tasks WHERE deleted_at IS NULL GROUP BY client_id
			UNION ALL SELECT client_id, 0, COUNT(*), 0, 0, 0, 0 FROM task_status_changes WHERE deleted_at IS NULL GROUP BY client_id
			UNION ALL SELECT client_id, 0, 0, COUNT(*), 0, 0, 0 FROM messages WHERE deleted_at IS NULL GROUP BY client_id
			UNION ALL SELECT client_id, 0, 0, 0, COUNT(*), SUM(seconds), SUM(CASE WHEN category = 'communication' THEN seconds ELSE 0 END)
			  FROM time_entries WHERE deleted_at IS NULL GROUP BY client_id
		) t GROUP BY client_id ORDER BY client_id`)
	return out, err
}

// TableCounts counts rows of every normalized table: live and deleted.
func (s *Store) TableCounts(ctx context.Context) (live, deleted Counts, err error) {
	live, deleted = Counts{}, Counts{}
	for _, t := range Tables {
		var l, d int
		if err := s.db.QueryRowxContext(ctx, fmt.Sprintf(
			`SELECT COALESCE(SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END), 0) FROM %s`, t)).Scan(&l, &d); err != nil {
			return nil, nil, fmt.Errorf("counting %s: %w", t, err)
		}
		live[t], deleted[t] = l, d
	}
	return live, deleted, nil
}

// ConfigClient is a client as the config says.
type ConfigClient struct {
	ID           string  `db:"id" json:"-"`
	Name         string  `db:"name"`
	Calendar     string  `db:"calendar"`
	PolicySet    string  `db:"policy_set"`
	MonthlyHours float64 `db:"monthly_hours"`
	Rollover     bool    `db:"rollover"`
	RolloverMax  float64 `db:"rollover_max"`
	CarryOverrun bool    `db:"carry_overrun"`
	BudgetStart  string  `db:"budget_start"`
	Hash         string  `db:"hash" json:"-"`
}

// ConfigPerson is a person as the config says.
type ConfigPerson struct {
	ID       string `db:"id" json:"-"`
	Name     string `db:"name"`
	Side     string `db:"side"`
	Role     string `db:"role"`
	ClientID string `db:"client_id"`
	Hash     string `db:"hash" json:"-"`
	// Identities are "namespace:value" pairs.
	Identities []string `db:"-"`
}

// SyncModel copies the config's clients and people into the store so that
// SQL over the store can join on them. Only what changed is written; rows
// the config no longer has are removed (they hold no history of their own).
func (s *Store) SyncModel(ctx context.Context, clients []ConfigClient, people []ConfigPerson) (int, error) {
	written := 0
	err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		cur := map[string]string{}
		if err := hashes(ctx, tx, "clients", cur); err != nil {
			return err
		}
		for _, c := range clients {
			c.Hash = Hash(c)
			if cur[c.ID] == c.Hash {
				delete(cur, c.ID)
				continue
			}
			delete(cur, c.ID)
			if _, err := tx.NamedExecContext(ctx, `INSERT INTO clients (id, name, calendar, policy_set, monthly_hours, rollover,
				rollover_max, carry_overrun, budget_start, hash)
				VALUES (:id, :name, :calendar, :policy_set, :monthly_hours, :rollover, :rollover_max, :carry_overrun, :budget_start, :hash)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, calendar = excluded.calendar, policy_set = excluded.policy_set,
				monthly_hours = excluded.monthly_hours, rollover = excluded.rollover, rollover_max = excluded.rollover_max,
				carry_overrun = excluded.carry_overrun, budget_start = excluded.budget_start, hash = excluded.hash`, c); err != nil {
				return fmt.Errorf("writing client %s: %w", c.ID, err)
			}
			written++
		}
		for id := range cur {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM clients WHERE id = ?`), id); err != nil {
				return err
			}
			written++
		}
		cur = map[string]string{}
		if err := hashes(ctx, tx, "people", cur); err != nil {
			return err
		}
		for _, p := range people {
			p.Hash = Hash(p) // Identities included: only json:"-" fields are left out
			if cur[p.ID] == p.Hash {
				delete(cur, p.ID)
				continue
			}
			delete(cur, p.ID)
			if _, err := tx.NamedExecContext(ctx, `INSERT INTO people (id, name, side, role, client_id, hash)
				VALUES (:id, :name, :side, :role, :client_id, :hash)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, side = excluded.side, role = excluded.role,
				client_id = excluded.client_id, hash = excluded.hash`, p); err != nil {
				return fmt.Errorf("writing person %s: %w", p.ID, err)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM identities WHERE person_id = ?`), p.ID); err != nil {
				return err
			}
			for _, ident := range p.Identities {
				ns, val := splitIdentity(ident)
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO identities (namespace, value, person_id) VALUES (?, ?, ?)
					ON CONFLICT (namespace, value) DO UPDATE SET person_id = excluded.person_id`), ns, val, p.ID); err != nil {
					return err
				}
			}
			written++
		}
		for id := range cur {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM people WHERE id = ?`), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM identities WHERE person_id = ?`), id); err != nil {
				return err
			}
			written++
		}
		return nil
	})
	return written, err
}

func splitIdentity(s string) (string, string) {
	for i := range len(s) {
		if s[i] == ':' {
			return s[:i], s[i+1:]
		}
	}
	return "", s
}

func hashes(ctx context.Context, tx *sqlx.Tx, table string, into map[string]string) error {
	rows, err := tx.QueryxContext(ctx, "SELECT id, hash FROM "+table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return err
		}
		into[id] = h
	}
	return rows.Err()
}

// Unmapped is a source status no status rule maps.
type Unmapped struct {
	SourceID     string `db:"source_id"`
	SourceStatus string `db:"source_status"`
	Tasks        int    `db:"tasks"`
}

// UnmappedStatuses lists the source statuses of live, open tasks that the
// config's status rules do not map.
func (s *Store) UnmappedStatuses(ctx context.Context) ([]Unmapped, error) {
	var out []Unmapped
	err := s.db.SelectContext(ctx, &out, `SELECT source_id, source_status, COUNT(*) AS tasks FROM tasks
		WHERE deleted_at IS NULL AND status = '' GROUP BY source_id, source_status ORDER BY source_id, source_status`)
	return out, err
}

// ClientNames maps client ids to names as the store holds them.
func (s *Store) ClientNames(ctx context.Context) (map[string]string, error) {
	return s.stringMap(ctx, `SELECT id, name FROM clients`)
}

// stringMap runs a query of two text columns into a map of the first to
// the second.
func (s *Store) stringMap(ctx context.Context, query string, args ...any) (map[string]string, error) {
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// ProblemRow is a recorded problem with a piece of input.
type ProblemRow struct {
	SourceID  string    `db:"source_id"`
	Location  string    `db:"location"`
	Message   string    `db:"message"`
	Warning   bool      `db:"warning"`
	CreatedAt time.Time `db:"created_at"`
}

// RecentProblems lists the newest recorded problems of one kind: input
// refused (warnings false) or notes on input stored anyway (true).
func (s *Store) RecentProblems(ctx context.Context, warnings bool, limit int) ([]ProblemRow, error) {
	var out []ProblemRow
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT source_id, location, message, warning, created_at FROM problems
		WHERE warning = ? ORDER BY created_at DESC, source_id, location LIMIT ?`), warnings, limit)
	return out, err
}
