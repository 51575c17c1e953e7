package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The reads the hour and capacity reports make. Each returns live rows
// only (deleted_at IS NULL); the report package filters instants by the
// period in the client's zone, because comparing timestamps as SQLite
// stores them (text) is not safe across fractional seconds.

// ReportEntry is a live time entry with what a report shows of its task.
// The task columns are empty when the entry links to no live task.
type ReportEntry struct {
	SourceID     string `db:"source_id"`
	ExternalID   string `db:"external_id"`
	EntryDate    string `db:"entry_date"`
	PersonID     string `db:"person_id"`
	PersonRef    string `db:"person_ref"`
	ClientID     string `db:"client_id"`
	Project      string `db:"project"`
	Category     string `db:"category"`
	Billable     bool   `db:"billable"`
	Seconds      int64  `db:"seconds"`
	Note         string `db:"note"`
	Tags         string `db:"tags"`
	TaskSourceID string `db:"task_source_id"`
	TaskID       string `db:"task_id"`
	TaskTitle    string `db:"task_title"`
	TaskURL      string `db:"task_url"`
	TaskStatus   string `db:"task_status"`
	// TaskSourceStatus is the task's status as its source names it (the
	// Trello list), which is what the client sees on the board.
	TaskSourceStatus string `db:"task_source_status"`
	TaskLabels       string `db:"task_labels"`
}

// ReportEntries lists the live time entries dated from..to (YYYY-MM-DD,
// both included), of the given clients, or of every client and none when
// no client is given, ordered by date, person and entry.
func (s *Store) ReportEntries(ctx context.Context, from, to string, clientIDs ...string) ([]ReportEntry, error) {
	q := `SELECT e.source_id, e.external_id, e.entry_date, e.person_id, e.person_ref, e.client_id, e.project, e.category,
		e.billable, e.seconds, e.note, e.tags, e.task_source_id, e.task_id,
		COALESCE(t.title, '') AS task_title, COALESCE(t.url, '') AS task_url, COALESCE(t.status, '') AS task_status,
		COALESCE(t.source_status, '') AS task_source_status, COALESCE(t.labels, '[]') AS task_labels
		FROM time_entries e
		LEFT JOIN tasks t ON t.source_id = e.task_source_id AND t.external_id = e.task_id AND t.deleted_at IS NULL
		WHERE e.deleted_at IS NULL AND e.entry_date >= ? AND e.entry_date <= ?`
	args := []any{from, to}
	q, args = inClients(q, args, "e.client_id", clientIDs)
	q += ` ORDER BY e.entry_date, e.person_id, e.source_id, e.external_id`
	var out []ReportEntry
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("reading time entries %s..%s: %w", from, to, err)
	}
	return out, nil
}

// LabelChange is a live recorded change of a task's labels: the label
// added (New) or taken off (Old).
type LabelChange struct {
	SourceID string    `db:"source_id"`
	TaskID   string    `db:"task_id"`
	Old      string    `db:"old_value"`
	New      string    `db:"new_value"`
	At       time.Time `db:"at"`
}

// ReportLabelChanges lists the live label changes of a client's tasks
// made at or after since, in task and time order: what undoes a task's
// current labels back to any instant from since on.
func (s *Store) ReportLabelChanges(ctx context.Context, clientID string, since time.Time) ([]LabelChange, error) {
	var out []LabelChange
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT source_id, task_id, old_value, new_value, at FROM task_field_changes
		WHERE client_id = ? AND field = 'labels' AND at >= ? AND deleted_at IS NULL
		ORDER BY source_id, task_id, at, external_id`), clientID, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("reading label changes: %w", err)
	}
	return out, nil
}

// ReportTask is a live task of a client with the time logged on it.
type ReportTask struct {
	SourceID        string    `db:"source_id"`
	ExternalID      string    `db:"external_id"`
	Title           string    `db:"title"`
	URL             string    `db:"url"`
	Status          string    `db:"status"`
	SourceStatus    string    `db:"source_status"`
	Labels          string    `db:"labels"`
	CreatorPersonID string    `db:"creator_person_id"`
	CreatorSide     string    `db:"creator_side"`
	CreatedAt       time.Time `db:"created_at"`
	// Logged tells whether any live time is logged on the task, whatever
	// its date. It is read for the finished tasks (done, archived) only,
	// the ones a report asks it of (done with no time logged), and false
	// for the others.
	Logged bool `db:"logged"`
}

// ReportTasks lists a client's live tasks that a report of the period
// [from, to) can name: those created in it, and those with a move in it
// that ReportMoves returns. Ordered by source and id.
func (s *Store) ReportTasks(ctx context.Context, clientID string, from, to time.Time) ([]ReportTask, error) {
	var out []ReportTask
	// The period's keys drive the join: a busy client has thousands of
	// tasks, a month names a part of them.
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT t.source_id, t.external_id, t.title, t.url, t.status,
		t.source_status, t.labels, t.creator_person_id, t.creator_side, t.created_at,
		CASE WHEN t.status IN ('done', 'archived') THEN EXISTS (SELECT 1 FROM time_entries e
			WHERE e.task_source_id = t.source_id AND e.task_id = t.external_id AND e.deleted_at IS NULL)
			ELSE FALSE END AS logged
		FROM (SELECT source_id, external_id FROM tasks WHERE client_id = ? AND created_at >= ? AND created_at < ?
		    UNION
		    SELECT source_id, task_id FROM task_status_changes WHERE client_id = ? AND at >= ? AND at < ? AND deleted_at IS NULL
		      AND `+reportMove+`) k
		JOIN tasks t ON t.source_id = k.source_id AND t.external_id = k.external_id
		WHERE t.deleted_at IS NULL AND t.client_id = ?
		ORDER BY t.source_id, t.external_id`), clientID, from.UTC(), to.UTC(), clientID, from.UTC(), to.UTC(), clientID)
	if err != nil {
		return nil, fmt.Errorf("reading the tasks of %s: %w", clientID, err)
	}
	return out, nil
}

// reportMove is the condition on a status change that a report reads: a
// task sent back from review (rework) or moved to done.
const reportMove = `(from_status = 'review' OR to_status = 'done')`

// ReportMove is a live status change of a client's task.
type ReportMove struct {
	SourceID      string    `db:"source_id"`
	TaskID        string    `db:"task_id"`
	FromStatus    string    `db:"from_status"`
	ToStatus      string    `db:"to_status"`
	At            time.Time `db:"at"`
	ActorPersonID string    `db:"actor_person_id"`
}

// ReportMoves lists the live status changes of a client's tasks in the
// period [from, to) that a report reads (reportMove: out of review, or to
// done), ordered by task and time.
func (s *Store) ReportMoves(ctx context.Context, clientID string, from, to time.Time) ([]ReportMove, error) {
	var out []ReportMove
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT source_id, task_id, from_status, to_status, at, actor_person_id
		FROM task_status_changes WHERE deleted_at IS NULL AND client_id = ? AND at >= ? AND at < ? AND `+reportMove+`
		ORDER BY source_id, task_id, at, external_id`), clientID, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("reading the status changes of %s: %w", clientID, err)
	}
	return out, nil
}

// ReportClocks lists the stored SLA clocks of a client that a report of
// the period [from, to) reads, ordered by id: the response clocks that
// started in it (its reply times), and the clocks that breached in it (its
// broken promises), but for the withdrawn ones: a clock its facts no
// longer hold is no figure to show a client (store.Withdrawn). Only the
// columns a report reads are filled: id, policy, client, state, the
// started, breached and stopped instants, business seconds, the waiver,
// and the detail of a breached clock (the title and link a breach lists).
// A month of a busy client is thousands of clocks.
func (s *Store) ReportClocks(ctx context.Context, clientID string, from, to time.Time) ([]ClockRow, error) {
	var out []ClockRow
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, policy, client_id, state, started_at, breached_at, stopped_at,
		business_seconds, waived, waiver_reason, CASE WHEN breached_at IS NULL THEN '' ELSE CAST(detail AS TEXT) END AS detail
		FROM sla_clocks WHERE client_id = ? AND state <> 'withdrawn'
		AND (started_at >= ? AND started_at < ? AND policy = 'response' OR breached_at >= ? AND breached_at < ?)
		ORDER BY id`), clientID, from.UTC(), to.UTC(), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("reading the SLA clocks of %s: %w", clientID, err)
	}
	return out, nil
}

// EntrySum is the live time of one person on one client (none: internal
// work), billable or not, in one month.
type EntrySum struct {
	PersonID  string `db:"person_id"`
	PersonRef string `db:"person_ref"`
	ClientID  string `db:"client_id"`
	Billable  bool   `db:"billable"`
	Month     string `db:"month"`
	Seconds   int64  `db:"seconds"`
}

// EntrySums sums the live time entries dated from..to (YYYY-MM-DD, both
// included) by person, client, billable and month: what the capacity
// report counts, without reading every entry of every client.
func (s *Store) EntrySums(ctx context.Context, from, to string) ([]EntrySum, error) {
	var out []EntrySum
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT person_id, person_ref, client_id, billable,
		substr(entry_date, 1, 7) AS month, CAST(SUM(seconds) AS BIGINT) AS seconds
		FROM time_entries WHERE deleted_at IS NULL AND entry_date >= ? AND entry_date <= ?
		GROUP BY person_id, person_ref, client_id, billable, substr(entry_date, 1, 7)
		ORDER BY person_id, person_ref, client_id, billable, month`), from, to)
	if err != nil {
		return nil, fmt.Errorf("summing time entries %s..%s: %w", from, to, err)
	}
	return out, nil
}

// BillableByMonth sums the live billable time dated from..to (YYYY-MM-DD,
// both included) by client and month ("YYYY-MM"), of the given clients or
// of all: what a rollover budget needs of the months before a report's.
func (s *Store) BillableByMonth(ctx context.Context, from, to string, clientIDs ...string) (map[string]map[string]int64, error) {
	q := `SELECT client_id, substr(entry_date, 1, 7) AS month, CAST(SUM(seconds) AS BIGINT) AS seconds FROM time_entries
		WHERE deleted_at IS NULL AND billable AND client_id <> '' AND entry_date >= ? AND entry_date <= ?`
	args := []any{from, to}
	q, args = inClients(q, args, "client_id", clientIDs)
	var rows []struct {
		Client  string `db:"client_id"`
		Month   string `db:"month"`
		Seconds int64  `db:"seconds"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q+` GROUP BY client_id, substr(entry_date, 1, 7)`), args...); err != nil {
		return nil, fmt.Errorf("summing billable time %s..%s: %w", from, to, err)
	}
	out := map[string]map[string]int64{}
	for _, r := range rows {
		if out[r.Client] == nil {
			out[r.Client] = map[string]int64{}
		}
		out[r.Client][r.Month] = r.Seconds
	}
	return out, nil
}

// FirstEntryMonths gives the month ("YYYY-MM") of the first live time
// entry of each of the given clients, or of every client when none is
// given: a budget carries nothing into a client's first month.
func (s *Store) FirstEntryMonths(ctx context.Context, clientIDs ...string) (map[string]string, error) {
	q := `SELECT client_id, substr(MIN(entry_date), 1, 7) AS month FROM time_entries WHERE deleted_at IS NULL AND client_id <> ''`
	var args []any
	q, args = inClients(q, args, "client_id", clientIDs)
	var rows []struct {
		Client string `db:"client_id"`
		Month  string `db:"month"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q+` GROUP BY client_id`), args...); err != nil {
		return nil, fmt.Errorf("reading the clients' first months: %w", err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Client] = r.Month
	}
	return out, nil
}

// inClients narrows q to the given clients (none given: every client),
// appending their ids to args.
func inClients(q string, args []any, column string, clientIDs []string) (string, []any) {
	if len(clientIDs) == 0 {
		return q, args
	}
	q += ` AND ` + column + ` IN (?` + strings.Repeat(`, ?`, len(clientIDs)-1) + `)`
	for _, id := range clientIDs {
		args = append(args, id)
	}
	return q, args
}
