package store

import (
	"context"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"
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

// The fact readers take the clients to read (nil: every client), for an
// evaluation of the clients whose rows changed.

// FactTasks reads the live tasks of clients, in key order.
func (s *Store) FactTasks(ctx context.Context, clients []string) ([]FactTask, error) {
	var rows []FactTask
	err := s.selectScoped(ctx, &rows, `
		SELECT t.source_id, t.external_id, t.client_id, t.title, t.url, t.description, t.status, t.assignee_ids,
		       t.created_at, t.due_at, t.due_done, t.raw, COALESCE(l.logged, 0) AS logged
		FROM tasks t
		LEFT JOIN (SELECT task_source_id, task_id, SUM(seconds) AS logged FROM time_entries
		           WHERE deleted_at IS NULL AND task_id <> '' GROUP BY task_source_id, task_id) l
		       ON l.task_source_id = t.source_id AND l.task_id = t.external_id
		WHERE t.deleted_at IS NULL AND t.client_id <> '' {{scope t.client_id}}
		ORDER BY t.source_id, t.external_id`, clients)
	return rows, err
}

// FactMoves reads the live status moves of clients' tasks, in task and
// time order.
func (s *Store) FactMoves(ctx context.Context, clients []string) ([]FactMove, error) {
	var rows []FactMove
	err := s.selectScoped(ctx, &rows, `
		SELECT source_id, task_id, from_status, to_status, at FROM task_status_changes
		WHERE deleted_at IS NULL AND client_id <> '' {{scope client_id}}
		ORDER BY source_id, task_id, at, external_id`, clients)
	return rows, err
}

// FactTimeByDay reads the clients' live time, summed per client, day and
// billability.
func (s *Store) FactTimeByDay(ctx context.Context, clients []string) ([]FactTime, error) {
	var rows []FactTime
	err := s.selectScoped(ctx, &rows, `
		SELECT client_id, entry_date, billable, SUM(seconds) AS seconds FROM time_entries
		WHERE deleted_at IS NULL AND client_id <> '' {{scope client_id}}
		GROUP BY client_id, entry_date, billable
		ORDER BY client_id, entry_date, billable`, clients)
	return rows, err
}

// FactMessages reads the live messages of clients, in time order.
func (s *Store) FactMessages(ctx context.Context, clients []string) ([]FactMessage, error) {
	var rows []FactMessage
	err := s.selectScoped(ctx, &rows, `
		SELECT m.source_id, m.external_id, m.thread_key, m.task_source_id, m.task_id, m.client_id, m.author_side,
		       m.automated, m.sent_at, m.subject, t.title AS task_title, t.url AS task_url,
		       CASE WHEN m.author_side = 'agency' AND t.title IS NULL THEN m.body ELSE '' END AS body
		FROM messages m
		LEFT JOIN tasks t ON t.source_id = m.task_source_id AND t.external_id = m.task_id
		WHERE m.deleted_at IS NULL AND m.client_id <> '' {{scope m.client_id}}
		ORDER BY m.sent_at, m.source_id, m.external_id`, clients)
	return rows, err
}

var scopeMark = regexp.MustCompile(`\{\{scope ([\w.]+)\}\}`)

// selectScoped runs a query whose {{scope COLUMN}} is dropped for every
// client (clients nil) or becomes COLUMN IN (clients...).
func (s *Store) selectScoped(ctx context.Context, dest any, query string, clients []string) error {
	if clients == nil {
		return s.db.SelectContext(ctx, dest, scopeMark.ReplaceAllString(query, ""))
	}
	if len(clients) == 0 {
		clients = []string{""} // no client: matches nothing (client_id <> '')
	}
	q, args, err := sqlx.In(scopeMark.ReplaceAllString(query, "AND $1 IN (?)"), clients)
	if err != nil {
		return err
	}
	return s.db.SelectContext(ctx, dest, s.db.Rebind(q), args...)
}
