package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"
)

// The facts the SLA policies read, as rows: sync/evaluate turns them into
// the sla package's types.

// FactTask is a live task of a client, with the time logged on it.
type FactTask struct {
	SourceID    string `db:"source_id"`
	ExternalID  string `db:"external_id"`
	ContainerID string `db:"container_id"`
	ClientID    string `db:"client_id"`
	Title       string `db:"title"`
	URL         string `db:"url"`
	Description string `db:"description"`
	Status      string `db:"status"`
	// AssigneeRefs are the source's references of everyone the task is
	// assigned to, mapped or not, as its field changes name them.
	AssigneeRefs string     `db:"assignee_refs"`
	CreatedAt    time.Time  `db:"created_at"`
	DueAt        *time.Time `db:"due_at"`
	DueDone      bool       `db:"due_done"`
	Raw          string     `db:"raw"`
	Logged       int64      `db:"logged"`
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
		SELECT t.source_id, t.external_id, t.container_id, t.client_id, t.title, t.url, t.description, t.status,
		       t.assignee_refs, t.created_at, t.due_at, t.due_done, t.raw, `+logged+`
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

// FactChange is a live recorded change of a field of a client's task that
// the task policies read: a description (its lengths in characters
// before and after, not its text), a due date, an assignee, a checklist.
type FactChange struct {
	SourceID string    `db:"source_id"`
	TaskID   string    `db:"task_id"`
	Field    string    `db:"field"`
	Old      string    `db:"old_value"`
	New      string    `db:"new_value"`
	At       time.Time `db:"at"`
}

// FactChanges reads the live field changes of a scope's tasks that the
// policies read, in task and time order.
func (s *Store) FactChanges(ctx context.Context, sc *Scope) ([]FactChange, error) {
	var rows []FactChange
	// LENGTH counts characters on both dialects (SQLite's of TEXT,
	// PostgreSQL's of a UTF-8 database), as the task's own description
	// is counted in runes.
	err := s.selectScoped(ctx, &rows, `
		SELECT source_id, task_id, field, at,
		       CASE WHEN field = 'description' THEN CAST(LENGTH(old_value) AS TEXT) ELSE old_value END AS old_value,
		       CASE WHEN field = 'description' THEN CAST(LENGTH(new_value) AS TEXT) ELSE new_value END AS new_value
		FROM task_field_changes
		WHERE deleted_at IS NULL AND client_id <> '' AND field IN ('description', 'due', 'due_done', 'closed', 'assignees', 'checklists') {{scope}}
		ORDER BY source_id, task_id, at, external_id`, sc, scopeCols{client: "client_id", taskSource: "source_id", task: "task_id"})
	return rows, err
}

// HistoryStart is since when karkas holds every change of a container's
// tasks, and of which fields.
type HistoryStart struct {
	// From is the zero time for "from the beginning".
	From time.Time
	// Fields are the fields whose changes the newest read held; nil for
	// all of them.
	Fields []string
}

// HistoryStarts returns, for every container of which a source read a
// span of history whole (history_spans), the instant since which karkas
// holds every change of its tasks: the start of the newest read's span,
// moved back over every earlier span that joins it without a gap. The
// zero time means from the beginning; a container missing from the map
// comes from a source that reports no field history.
func (s *Store) HistoryStarts(ctx context.Context) (map[Key]HistoryStart, error) {
	var spans []HistorySpanRow
	if err := s.db.SelectContext(ctx, &spans, `SELECT source_id, container_id, from_at, to_at, fields FROM history_spans`); err != nil {
		return nil, err
	}
	return historyStarts(spans), nil
}

// ContainerHistory is how far back karkas holds the changes of one live
// container's live tasks (see HistoryStarts).
type ContainerHistory struct {
	SourceID    string
	ContainerID string
	Name        string
	Tasks       int
	// Known is false for a container whose source reports no field
	// history; From is then zero.
	Known bool
	From  time.Time
	// Fields are the fields whose changes the source reports; nil for
	// all of them.
	Fields []string
	// Older counts the tasks created before From: what they carried
	// before it is the earliest value karkas knows.
	Older int
}

// HistoryCoverage lists, per live container that holds live tasks, whether
// its source reports field history and since when karkas holds it, in
// source and container order.
func (s *Store) HistoryCoverage(ctx context.Context) ([]ContainerHistory, error) {
	starts, err := s.HistoryStarts(ctx)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		SourceID    string `db:"source_id"`
		ContainerID string `db:"container_id"`
		Name        string `db:"name"`
		Tasks       int    `db:"tasks"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT t.source_id, t.container_id, COALESCE(MAX(c.name), '') AS name, COUNT(*) AS tasks
		FROM tasks t LEFT JOIN containers c ON c.source_id = t.source_id AND c.external_id = t.container_id AND c.deleted_at IS NULL
		WHERE t.deleted_at IS NULL GROUP BY t.source_id, t.container_id ORDER BY t.source_id, t.container_id`); err != nil {
		return nil, err
	}
	out := make([]ContainerHistory, 0, len(rows))
	for _, r := range rows {
		h := ContainerHistory{SourceID: r.SourceID, ContainerID: r.ContainerID, Name: r.Name, Tasks: r.Tasks}
		var st HistoryStart
		st, h.Known = starts[Key{r.SourceID, r.ContainerID}]
		h.From, h.Fields = st.From, st.Fields
		if h.Known && !h.From.IsZero() {
			if err := s.db.GetContext(ctx, &h.Older, s.db.Rebind(`SELECT COUNT(*) FROM tasks
				WHERE source_id = ? AND container_id = ? AND deleted_at IS NULL AND created_at < ?`), r.SourceID, r.ContainerID, h.From.UTC()); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, nil
}

func historyStarts(spans []HistorySpanRow) map[Key]HistoryStart {
	by := map[Key][]HistorySpanRow{}
	for _, h := range spans {
		// The zero time comes back from a driver as itself or as year 1
		// in the session's zone.
		if h.From.Year() <= 1 {
			h.From = time.Time{}
		}
		if h.To.Year() <= 1 {
			h.To = time.Time{}
		}
		k := Key{h.SourceID, h.ContainerID}
		by[k] = append(by[k], h)
	}
	out := make(map[Key]HistoryStart, len(by))
	// The zero To is "up to now": later than any other.
	later := func(a, b time.Time) bool { return (a.IsZero() && !b.IsZero()) || (!b.IsZero() && a.After(b)) }
	for k, hs := range by {
		sort.Slice(hs, func(i, j int) bool { return later(hs[i].To, hs[j].To) })
		from := hs[0].From
		for _, h := range hs[1:] {
			if !h.To.IsZero() && h.To.Before(from) {
				break // a gap: what came before it is not known to join
			}
			if h.From.Before(from) {
				from = h.From
			}
		}
		hs0 := HistoryStart{From: from}
		if hs[0].Fields != "" {
			hs0.Fields = strings.Split(hs[0].Fields, ",")
		}
		out[k] = hs0
	}
	return out
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
