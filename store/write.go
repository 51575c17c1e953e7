package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/record"
)

// Batch is a batch of resolved rows, ready to write.
type Batch struct {
	Containers    []ContainerRow
	People        []SourcePersonRow
	Tasks         []TaskRow
	StatusChanges []StatusChangeRow
	FieldChanges  []FieldChangeRow
	Messages      []MessageRow
	TimeEntries   []TimeEntryRow
	// HistorySpans are the spans of containers' past the batch's source
	// read whole (record.Container.History); a span stored already adds
	// nothing.
	HistorySpans []HistorySpanRow
	Problems     []record.Problem
}

// Len is the number of rows in the batch, problems included.
func (b *Batch) Len() int {
	return len(b.Containers) + len(b.People) + len(b.Tasks) + len(b.StatusChanges) + len(b.FieldChanges) + len(b.Messages) +
		len(b.TimeEntries) + len(b.HistorySpans) + len(b.Problems)
}

// Append adds o's rows to b.
func (b *Batch) Append(o *Batch) {
	b.Containers = append(b.Containers, o.Containers...)
	b.People = append(b.People, o.People...)
	b.Tasks = append(b.Tasks, o.Tasks...)
	b.StatusChanges = append(b.StatusChanges, o.StatusChanges...)
	b.FieldChanges = append(b.FieldChanges, o.FieldChanges...)
	b.Messages = append(b.Messages, o.Messages...)
	b.TimeEntries = append(b.TimeEntries, o.TimeEntries...)
	b.HistorySpans = append(b.HistorySpans, o.HistorySpans...)
	b.Problems = append(b.Problems, o.Problems...)
}

// Counts maps a table name to a number of rows.
type Counts map[string]int

// Total adds up the counts.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Add adds o into c.
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// WriteBatch writes a batch for a source and, when cursor is not empty,
// the source's new cursor, in one transaction: either all of it is kept or
// none. Rows whose hash did not change are not rewritten. It returns how
// many rows each table really wrote (or, with dryRun, would write: the
// transaction is then rolled back).
func (s *Store) WriteBatch(ctx context.Context, sourceID string, runID int64, b *Batch, cursor string, dryRun bool) (Counts, error) {
	written, _, err := s.WriteBatchComplete(ctx, sourceID, runID, b, nil, cursor, dryRun)
	return written, err
}

// WriteBatchComplete is WriteBatch for a batch that holds some parts of the
// source whole (see record.Batch.Complete): in the same transaction, the
// source's live rows inside each scope that the batch does not hold are
// soft-deleted. It returns the rows written and the rows so deleted.
func (s *Store) WriteBatchComplete(ctx context.Context, sourceID string, runID int64, b *Batch, scopes []record.Scope,
	cursor string, dryRun bool) (written, deleted Counts, err error) {
	for _, sc := range scopes {
		if err := sc.Validate(); err != nil {
			return nil, nil, err
		}
	}
	written, deleted = Counts{}, Counts{}
	err = s.inTx(ctx, dryRun, func(tx *sqlx.Tx) error {
		now := s.Now()
		for _, rows := range []any{b.Containers, b.People, b.Tasks, b.StatusChanges, b.FieldChanges, b.Messages, b.TimeEntries} {
			n, name, err := s.upsert(ctx, tx, rows, now)
			if err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
			if n > 0 {
				written[name] += n
			}
		}
		for _, h := range b.HistorySpans {
			res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO history_spans (source_id, container_id, from_at, to_at, fields, synced_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, container_id, from_at, to_at) DO NOTHING`),
				h.SourceID, h.ContainerID, h.From.UTC(), h.To.UTC(), h.Fields, now)
			if err != nil {
				return fmt.Errorf("recording a history span: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				written["history_spans"] += int(n)
			}
		}
		for _, p := range b.Problems {
			res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO problems (source_id, location, message, warning, run_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, location, message) DO NOTHING`),
				sourceID, s.scrub(p.Where), s.scrub(p.Message), p.Warning, runID, now)
			if err != nil {
				return fmt.Errorf("recording problem: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				written["problems"] += int(n)
			}
		}
		for _, sc := range scopes {
			for _, table := range scopeTables[sc.Kind] {
				n, err := s.deleteOutside(ctx, tx, sourceID, table, sc, heldBy(b, table), now)
				if err != nil {
					return fmt.Errorf("completing %s scope: %w", sc.Kind, err)
				}
				if n > 0 {
					deleted[table] += n
				}
			}
		}
		if cursor != "" {
			if err := setCursor(ctx, tx, sourceID, cursor, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return written, deleted, nil
}

// scopedRow is a stored row a scope may hold: its id and its own time.
type scopedRow struct {
	ID string `db:"external_id"`
	At string `db:"at"`
}

// scopeTables names the tables each scope kind covers: a task's history
// is its status changes and its field changes, which sources read from one
// stream of actions or events.
var scopeTables = map[string][]string{
	record.ScopeTasks:         {"tasks"},
	record.ScopeStatusChanges: {"task_status_changes", "task_field_changes"},
	record.ScopeMessages:      {"messages"},
	record.ScopeTimeEntries:   {"time_entries"},
}

// heldBy lists the external ids of b's rows in table.
func heldBy(b *Batch, table string) map[string]struct{} {
	held := map[string]struct{}{}
	switch table {
	case "tasks":
		for _, r := range b.Tasks {
			held[r.ExternalID] = struct{}{}
		}
	case "task_status_changes":
		for _, r := range b.StatusChanges {
			held[r.ExternalID] = struct{}{}
		}
	case "task_field_changes":
		for _, r := range b.FieldChanges {
			held[r.ExternalID] = struct{}{}
		}
	case "messages":
		for _, r := range b.Messages {
			held[r.ExternalID] = struct{}{}
		}
	case "time_entries":
		for _, r := range b.TimeEntries {
			held[r.ExternalID] = struct{}{}
		}
	}
	return held
}

// deleteOutside soft-deletes the live rows of sourceID in table (one of
// those sc's kind covers) inside sc whose ids held does not list, and
// returns how many rows it marked.
func (s *Store) deleteOutside(ctx context.Context, tx *sqlx.Tx, sourceID, table string, sc record.Scope, held map[string]struct{}, now time.Time) (int, error) {
	var timeCol, taskCol string
	switch table {
	case "tasks":
		timeCol, taskCol = "created_at", "external_id"
	case "task_status_changes", "task_field_changes":
		timeCol, taskCol = "at", "task_id"
	case "messages":
		timeCol, taskCol = "sent_at", "task_id"
	case "time_entries":
		timeCol = "entry_date"
	}
	// The time is read as text and compared here, not in SQL, so that the
	// comparison is the same whether the driver hands back a timestamp
	// (database/sql formats it as RFC 3339) or SQLite's text.
	q := fmt.Sprintf(`SELECT external_id, %s AS at FROM %s WHERE source_id = ? AND deleted_at IS NULL`, timeCol, table)
	args := []any{sourceID}
	if table == "messages" && (sc.TaskID != "" || sc.ContainerID != "") {
		// A message belongs to a task of its own source (a card comment),
		// not to one it merely links (an email naming a card).
		q += ` AND task_source_id = ?`
		args = append(args, sourceID)
	}
	if sc.TaskID != "" {
		q += fmt.Sprintf(` AND %s = ?`, taskCol)
		args = append(args, sc.TaskID)
	}
	if sc.ContainerID != "" {
		if table == "tasks" {
			q += ` AND container_id = ?`
		} else {
			q += ` AND task_id IN (SELECT external_id FROM tasks WHERE source_id = ? AND container_id = ?)`
			args = append(args, sourceID)
		}
		args = append(args, sc.ContainerID)
	}
	var rows []scopedRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return 0, err
	}
	var gone []string
	for _, r := range rows {
		if _, ok := held[r.ID]; ok {
			continue
		}
		at, err := parseStoredTime(r.At)
		if err != nil {
			return 0, fmt.Errorf("row %s: %w", r.ID, err)
		}
		if (!sc.From.IsZero() && at.Before(sc.From)) || (!sc.To.IsZero() && !at.Before(sc.To)) {
			continue
		}
		gone = append(gone, r.ID)
	}
	return markGone(ctx, tx, table, sourceID, gone, now)
}

// parseStoredTime reads a time column as text: RFC 3339 (a timestamp that
// database/sql formatted), SQLite's "2006-01-02 15:04:05.999999999-07:00",
// or a date (time entries).
func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable stored time %q", s)
}

// markGone soft-deletes rows of a source by id. Their hash changes too, so
// that a row seen again later is written back to life.
func markGone(ctx context.Context, tx *sqlx.Tx, table, sourceID string, ids []string, now time.Time) (int, error) {
	marked := 0
	for _, id := range ids {
		res, err := tx.ExecContext(ctx, tx.Rebind(fmt.Sprintf(
			`UPDATE %s SET deleted_at = ?, hash = 'gone:' || hash, synced_at = ? WHERE source_id = ? AND external_id = ?`, table)),
			now, now, sourceID, id)
		if err != nil {
			return marked, err
		}
		n, _ := res.RowsAffected()
		marked += int(n)
	}
	return marked, nil
}

// inTx runs fn in a transaction; with rollback the transaction is undone
// even when fn succeeds (dry runs).
func (s *Store) inTx(ctx context.Context, rollback bool, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil || rollback {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

func setCursor(ctx context.Context, tx *sqlx.Tx, sourceID, cursor string, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cursors (source_id, cursor, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (source_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
		WHERE cursors.cursor <> excluded.cursor`), sourceID, cursor, now)
	if err != nil {
		return fmt.Errorf("saving cursor: %w", err)
	}
	return nil
}

// Cursor returns a source's saved cursor, "" when it has none.
func (s *Store) Cursor(ctx context.Context, sourceID string) (string, error) {
	var c []string
	if err := s.db.SelectContext(ctx, &c, s.db.Rebind(`SELECT cursor FROM cursors WHERE source_id = ?`), sourceID); err != nil {
		return "", fmt.Errorf("reading cursor of %s: %w", sourceID, err)
	}
	if len(c) == 0 {
		return "", nil
	}
	return c[0], nil
}

// ResetCursor forgets a source's cursor, so its next pull starts over.
func (s *Store) ResetCursor(ctx context.Context, sourceID string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM cursors WHERE source_id = ?`), sourceID)
	return err
}

// copyThreshold is the batch size from which Postgres writes go through
// COPY into a staging table: fewer round trips than multi-row VALUES.
const copyThreshold = 64

// upsert writes rows (a slice of a row type) whose hash changed. Rows with
// the same key within the slice keep the last one: Postgres refuses to
// update one row twice in a statement, and the last is the newest.
func (s *Store) upsert(ctx context.Context, tx *sqlx.Tx, rows any, now time.Time) (int, string, error) {
	rv := reflect.ValueOf(rows)
	tb := tableOf(rv.Type().Elem())
	if rv.Len() == 0 {
		return 0, tb.name, nil
	}
	idx := dedupe(rv)
	for _, i := range idx {
		// synced_at is the only column not taken from the row.
		rv.Index(i).FieldByName("SyncedAt").Set(reflect.ValueOf(now))
		for _, f := range tb.jsonLists {
			// A JSON column: a row built without the list holds none.
			if v := rv.Index(i).Field(f); v.String() == "" {
				v.SetString("[]")
			}
		}
	}
	var n int
	var err error
	if s.Dialect == Postgres && len(idx) >= copyThreshold {
		n, err = s.upsertCopy(ctx, tx, tb, rv, idx)
	} else {
		n, err = s.upsertValues(ctx, tx, tb, rv, idx)
	}
	return n, tb.name, err
}

func dedupe(rv reflect.Value) []int {
	last := make(map[[2]string]int, rv.Len())
	for i := range rv.Len() {
		r := rv.Index(i)
		last[[2]string{r.Field(0).String(), r.Field(1).String()}] = i
	}
	idx := make([]int, 0, len(last))
	for i := range rv.Len() {
		r := rv.Index(i)
		if last[[2]string{r.Field(0).String(), r.Field(1).String()}] == i {
			idx = append(idx, i)
		}
	}
	return idx
}

func (tb *table) conflictClause() string {
	var set []string
	for _, c := range tb.columns {
		switch {
		case c == "source_id" || c == "external_id":
		case tb.name == "messages" && c == "thread_key":
			// An email's thread is the threader's (MessageRow.ThreadKey).
			set = append(set, "thread_key = CASE WHEN messages.channel = 'email' THEN messages.thread_key ELSE excluded.thread_key END")
		default:
			set = append(set, c+" = excluded."+c)
		}
	}
	return fmt.Sprintf(" ON CONFLICT (source_id, external_id) DO UPDATE SET %s WHERE %s.hash <> excluded.hash",
		strings.Join(set, ", "), tb.name)
}

// maxParams keeps a statement under both SQLite's and lib/pq's limits on
// bound parameters.
const maxParams = 30000

func (s *Store) upsertValues(ctx context.Context, tx *sqlx.Tx, tb *table, rv reflect.Value, idx []int) (int, error) {
	per := maxParams / len(tb.columns)
	placeholder := "(" + strings.TrimSuffix(strings.Repeat("?,", len(tb.columns)), ",") + ")"
	total := 0
	args := make([]any, 0, per*len(tb.columns))
	for start := 0; start < len(idx); start += per {
		end := min(start+per, len(idx))
		args = args[:0]
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", tb.name, strings.Join(tb.columns, ", "))
		for k, i := range idx[start:end] {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(placeholder)
			args = tb.values(rv.Index(i), args)
		}
		b.WriteString(tb.conflictClause())
		res, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

func (s *Store) upsertCopy(ctx context.Context, tx *sqlx.Tx, tb *table, rv reflect.Value, idx []int) (int, error) {
	stage := "stage_" + tb.name
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(
		`CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`, stage, tb.name)); err != nil {
		return 0, err
	}
	// The staging table is empty here: ON COMMIT DELETE ROWS clears it at
	// every commit, a rollback discards it, and WriteBatch writes each table
	// once per transaction.
	// lib/pq turns a prepared COPY … FROM STDIN into its copy protocol.
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("COPY %s (%s) FROM STDIN", stage, strings.Join(tb.columns, ", ")))
	if err != nil {
		return 0, err
	}
	vals := make([]any, 0, len(tb.columns))
	for _, i := range idx {
		vals = tb.values(rv.Index(i), vals[:0])
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			stmt.Close()
			return 0, err
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return 0, err
	}
	if err := stmt.Close(); err != nil {
		return 0, err
	}
	cols := strings.Join(tb.columns, ", ")
	res, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s%s",
		tb.name, cols, cols, stage, tb.conflictClause()))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SoftDeleteMissing ends a snapshot of a source: each live row of the
// source whose external id is not in seen[table] is marked deleted (the
// snapshot no longer holds it), and the cursor is saved, all in one
// transaction, so that a crash before the end leaves the cursor behind and
// the snapshot is taken again. With no scopes the snapshot is the whole
// source, every normalized table; with scopes (record.Batch.Snapshot) only
// rows inside one of them can be marked. The row's hash is changed too, so
// that a row seen again later is written back to life.
func (s *Store) SoftDeleteMissing(ctx context.Context, sourceID string, seen map[string]map[string]struct{}, scopes []record.Scope,
	cursor string, dryRun bool) (Counts, error) {
	for _, sc := range scopes {
		if err := sc.Validate(); err != nil {
			return nil, err
		}
	}
	marked := Counts{}
	err := s.inTx(ctx, dryRun, func(tx *sqlx.Tx) error {
		now := s.Now()
		for _, sc := range scopes {
			for _, table := range scopeTables[sc.Kind] {
				n, err := s.deleteOutside(ctx, tx, sourceID, table, sc, seen[table], now)
				if err != nil {
					return fmt.Errorf("ending the snapshot's %s scope: %w", sc.Kind, err)
				}
				if n > 0 {
					marked[table] += n
				}
			}
		}
		for _, tableName := range Tables {
			if len(scopes) > 0 {
				break
			}
			var ids []string
			if err := tx.SelectContext(ctx, &ids, tx.Rebind(fmt.Sprintf(
				`SELECT external_id FROM %s WHERE source_id = ? AND deleted_at IS NULL`, tableName)), sourceID); err != nil {
				return err
			}
			var gone []string
			for _, id := range ids {
				if _, ok := seen[tableName][id]; !ok {
					gone = append(gone, id)
				}
			}
			n, err := markGone(ctx, tx, tableName, sourceID, gone, now)
			if err != nil {
				return err
			}
			if n > 0 {
				marked[tableName] += n
			}
		}
		if cursor != "" {
			return setCursor(ctx, tx, sourceID, cursor, now)
		}
		return nil
	})
	return marked, err
}
