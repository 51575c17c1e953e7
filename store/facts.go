package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// The facts the SLA policies read, as rows: sync/evaluate turns them into
// the sla package's types.

// FactTask is a live task of a client, with the time logged on it.
type FactTask struct {
	SourceID    string     `db:"source_id"`
	ExternalID  string     `db:"external_id"`
	ClientID    string     `db:"client_id"`
	Title       string     `db:"title"`
	URL         string     `db:"url"`
	Description string     `db:"description"`
	Status      string     `db:"status"`
	Assignees   string     `db:"assignee_ids"`
	CreatedAt   time.Time  `db:"created_at"`
	DueAt       *time.Time `db:"due_at"`
	DueDone     bool       `db:"due_done"`
	Raw         string     `db:"raw"`
	Logged      int64      `db:"logged"`
}

// FactMove is a live status move of a client's task.
type FactMove struct {
	SourceID string    `db:"source_id"`
	TaskID   string    `db:"task_id"`
	From     string    `db:"from_status"`
	To       string    `db:"to_status"`
	At       time.Time `db:"at"`
}

// FactTime is a client's live time of one day and billability.
type FactTime struct {
	ClientID string `db:"client_id"`
	Date     string `db:"entry_date"`
	Billable bool   `db:"billable"`
	Seconds  int64  `db:"seconds"`
}

// FactMessage is a live message of a client, with the title and URL of the
// task it is linked to, if any. Body is read only for agency messages on
// threads of no task (see sync/evaluate Messages).
type FactMessage struct {
	SourceID     string    `db:"source_id"`
	ExternalID   string    `db:"external_id"`
	ThreadKey    string    `db:"thread_key"`
	TaskSourceID string    `db:"task_source_id"`
	TaskID       string    `db:"task_id"`
	ClientID     string    `db:"client_id"`
	Side         string    `db:"author_side"`
	Automated    bool      `db:"automated"`
	SentAt       time.Time `db:"sent_at"`
	Subject      string    `db:"subject"`
	TaskTitle    *string   `db:"task_title"`
	TaskURL      *string   `db:"task_url"`
	Body         string    `db:"body"`
}

// The fact readers take the scope to read (nil: the whole store), for the
// daemon's evaluation of what a webhook's pull wrote.

// FactTasks reads the live tasks of a scope, in key order.
func (s *Store) FactTasks(ctx context.Context, sc *Scope) ([]FactTask, error) {
	var rows []FactTask
	// The whole store sums every task's time at once; part of it, each
	// task's own (time_entries_task).
	logged := `COALESCE(l.logged, 0) AS logged
		FROM tasks t
		LEFT JOIN (SELECT task_source_id, task_id, SUM(seconds) AS logged FROM time_entries
		           WHERE deleted_at IS NULL AND task_id <> '' GROUP BY task_source_id, task_id) l
		       ON l.task_source_id = t.source_id AND l.task_id = t.external_id`
	if sc != nil {
		logged = `COALESCE((SELECT SUM(e.seconds) FROM time_entries e WHERE e.task_source_id = t.source_id
		       AND e.task_id = t.external_id AND e.deleted_at IS NULL), 0) AS logged
		FROM tasks t`
	}
	err := s.selectScoped(ctx, &rows, `
		SELECT t.source_id, t.external_id, t.client_id, t.title, t.url, t.description, t.status, t.assignee_ids,
		       t.created_at, t.due_at, t.due_done, t.raw, `+logged+`
		WHERE t.deleted_at IS NULL AND t.client_id <> '' {{scope}}
		ORDER BY t.source_id, t.external_id`, sc, scopeCols{client: "t.client_id", taskSource: "t.source_id", task: "t.external_id"})
	return rows, err
}

// FactMoves reads the live status moves of a scope's tasks, in task and
// time order.
func (s *Store) FactMoves(ctx context.Context, sc *Scope) ([]FactMove, error) {
	var rows []FactMove
	err := s.selectScoped(ctx, &rows, `
		SELECT source_id, task_id, from_status, to_status, at FROM task_status_changes
		WHERE deleted_at IS NULL AND client_id <> '' {{scope}}
		ORDER BY source_id, task_id, at, external_id`, sc, scopeCols{client: "client_id", taskSource: "source_id", task: "task_id"})
	return rows, err
}

// FactTimeByDay reads the clients' live time, summed per client, day and
// billability (clients nil: every client).
func (s *Store) FactTimeByDay(ctx context.Context, clients []string) ([]FactTime, error) {
	var rows []FactTime
	var sc *Scope
	if clients != nil {
		sc = &Scope{Clients: clients}
	}
	err := s.selectScoped(ctx, &rows, `
		SELECT client_id, entry_date, billable, SUM(seconds) AS seconds FROM time_entries
		WHERE deleted_at IS NULL AND client_id <> '' {{scope}}
		GROUP BY client_id, entry_date, billable
		ORDER BY client_id, entry_date, billable`, sc, scopeCols{client: "client_id"})
	return rows, err
}

// FactMessages reads the live messages of a scope, in time order: of its
// clients, of its tasks' conversations and of its threads.
func (s *Store) FactMessages(ctx context.Context, sc *Scope) ([]FactMessage, error) {
	var rows []FactMessage
	err := s.selectScoped(ctx, &rows, `
		SELECT m.source_id, m.external_id, m.thread_key, m.task_source_id, m.task_id, m.client_id, m.author_side,
		       m.automated, m.sent_at, m.subject, t.title AS task_title, t.url AS task_url,
		       CASE WHEN m.author_side = 'agency' AND t.title IS NULL THEN m.body ELSE '' END AS body
		FROM messages m
		LEFT JOIN tasks t ON t.source_id = m.task_source_id AND t.external_id = m.task_id
		WHERE m.deleted_at IS NULL AND m.client_id <> '' {{scope}}
		ORDER BY m.sent_at, m.source_id, m.external_id`, sc,
		scopeCols{client: "m.client_id", taskSource: "m.task_source_id", task: "m.task_id", threadSource: "m.source_id", threadKey: "m.thread_key"})
	return rows, err
}

// FactContact is what the client-contact policy reads of a client's live
// messages sent by an instant: the first one's time, and the last human
// message of the agency's (nil when none).
type FactContact struct {
	ClientID   string
	First      time.Time
	LastAgency *time.Time
}

// FactContacts reads the contact facts of clients as of now, two index
// look-ups each (messages_client), for an evaluation of their contact
// clocks without reading their messages. A client without a message by
// now has none.
func (s *Store) FactContacts(ctx context.Context, clients []string, now time.Time) ([]FactContact, error) {
	var out []FactContact
	for _, c := range clients {
		var first time.Time
		err := s.db.GetContext(ctx, &first, s.db.Rebind(`SELECT sent_at FROM messages
			WHERE client_id = ? AND sent_at <= ? AND deleted_at IS NULL ORDER BY sent_at LIMIT 1`), c, now.UTC())
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		f := FactContact{ClientID: c, First: first}
		var last time.Time
		err = s.db.GetContext(ctx, &last, s.db.Rebind(`SELECT sent_at FROM messages
			WHERE client_id = ? AND sent_at <= ? AND deleted_at IS NULL AND author_side = 'agency' AND NOT automated
			ORDER BY sent_at DESC LIMIT 1`), c, now.UTC())
		switch {
		case err == nil:
			f.LastAgency = &last
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// selectScoped runs a query whose {{scope}} is dropped for the whole store
// (sc nil) or becomes the condition on cols that selects the scope's rows.
func (s *Store) selectScoped(ctx context.Context, dest any, query string, sc *Scope, cols scopeCols) error {
	if sc == nil {
		return s.db.SelectContext(ctx, dest, strings.Replace(query, "{{scope}}", "", 1))
	}
	cond, args := sc.where(cols)
	return s.db.SelectContext(ctx, dest, s.db.Rebind(strings.Replace(query, "{{scope}}", "AND "+cond, 1)), args...)
}
