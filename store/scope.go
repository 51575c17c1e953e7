package store

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Key names a task or a thread: its source and its id (a task's external
// id, a thread's thread_key).
type Key struct {
	Source string `json:"source"`
	ID     string `json:"id"`
}

// Scope is what an evaluation of part of the store covers; a nil *Scope
// is the whole store. The daemon evaluates, after a webhook's pull, the
// subjects whose rows the pull wrote, and at a due instant the subjects
// whose clocks turned: each subject's clocks depend on its own facts alone
// (a task's row, moves, logged time and conversation; a thread's
// messages), and the client-level clocks on a summary of the client's
// messages (contact) or its time (budget), so a scoped evaluation stores
// for what it covers exactly what a whole one would.
type Scope struct {
	// Clients are evaluated whole: every subject and client-level clock
	// of theirs.
	Clients []string `json:"clients,omitempty"`
	// Tasks and Threads are subjects evaluated whole, whoever's client
	// they are now or were (a card moved to another client's board).
	Tasks   []Key `json:"tasks,omitempty"`
	Threads []Key `json:"threads,omitempty"`
	// Contact and Budget are clients whose client_contact or hour_budget
	// clocks are evaluated.
	Contact []string `json:"contact,omitempty"`
	Budget  []string `json:"budget,omitempty"`
}

// The client-level policies, as sla names them (sla.PolicyClientContact,
// sla.PolicyHourBudget): the store does not import sla.
const (
	policyContact = "client_contact"
	policyBudget  = "hour_budget"
)

// MaxScopeKeys bounds the subjects a scope names one by one: a pull that
// wrote more is evaluated by whole clients (a board's first pull after
// its webhook was registered, a bulk move of cards).
const MaxScopeKeys = 500

// Empty says the scope covers nothing (a nil scope covers everything).
func (sc *Scope) Empty() bool {
	return sc != nil && len(sc.Clients)+len(sc.Tasks)+len(sc.Threads)+len(sc.Contact)+len(sc.Budget) == 0
}

// Size is how many clients and subjects the scope names.
func (sc *Scope) Size() int {
	if sc == nil {
		return 0
	}
	return len(sc.Clients) + len(sc.Tasks) + len(sc.Threads) + len(sc.Contact) + len(sc.Budget)
}

// Add adds what o covers to sc, keeping each list sorted and without
// duplicates.
func (sc *Scope) Add(o Scope) {
	sc.Clients = union(sc.Clients, o.Clients, strings.Compare)
	sc.Tasks = union(sc.Tasks, o.Tasks, compareKeys)
	sc.Threads = union(sc.Threads, o.Threads, compareKeys)
	sc.Contact = union(sc.Contact, o.Contact, strings.Compare)
	sc.Budget = union(sc.Budget, o.Budget, strings.Compare)
}

func compareKeys(a, b Key) int {
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func union[T comparable](a, b []T, cmp func(T, T) int) []T {
	out := append(slices.Clip(a), b...)
	slices.SortFunc(out, cmp)
	return slices.Compact(out)
}

// ContactClients are the clients whose contact clock the scope covers.
func (sc *Scope) ContactClients() []string { return union(sc.Clients, sc.Contact, strings.Compare) }

// BudgetClients are the clients whose budget clocks the scope covers.
func (sc *Scope) BudgetClients() []string { return union(sc.Clients, sc.Budget, strings.Compare) }

// Covers says whether a clock is the scope's: one of a client it covers
// whole, of a task or thread it names, or a client-level clock of a client
// it names for that policy. The stored clocks an evaluation compares and
// withdraws are those it covers, and so are the clocks it may store.
func (sc *Scope) Covers(policy, client, kind, source, id string) bool {
	if sc == nil {
		return true
	}
	if slices.Contains(sc.Clients, client) {
		return true
	}
	switch kind {
	case "task":
		return slices.Contains(sc.Tasks, Key{source, id})
	case "thread":
		return slices.Contains(sc.Threads, Key{source, id})
	case "client":
		switch policy {
		case policyContact:
			return slices.Contains(sc.Contact, client)
		case policyBudget:
			return slices.Contains(sc.Budget, client)
		}
	}
	return false
}

// scopeCols are the columns a table's rows are matched on: the client's,
// and the pairs naming the row's task and its thread ("" for none); for
// sla_clocks, the subject's kind and pair.
type scopeCols struct {
	client                      string
	taskSource, task            string
	threadSource, threadKey     string
	kindCol, subjSrc, subjExtID string
}

// where is the SQL condition, with its arguments, that selects the rows of
// a table the scope covers ("1 = 0" for none).
func (sc *Scope) where(c scopeCols) (string, []any) {
	var parts []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		parts = append(parts, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	pairs := func(a, b, kind string, keys []Key) {
		if a == "" || len(keys) == 0 {
			return
		}
		var ors []string
		for _, k := range keys {
			ors = append(ors, "("+a+" = ? AND "+b+" = ?)")
			args = append(args, k.Source, k.ID)
		}
		cond := "(" + strings.Join(ors, " OR ") + ")"
		if kind != "" {
			cond = "(" + c.kindCol + " = '" + kind + "' AND " + cond + ")"
		}
		parts = append(parts, cond)
	}
	in(c.client, sc.Clients)
	if c.kindCol != "" {
		// sla_clocks: subjects by kind, client-level clocks by policy.
		pairs(c.subjSrc, c.subjExtID, "task", sc.Tasks)
		pairs(c.subjSrc, c.subjExtID, "thread", sc.Threads)
		for _, p := range []struct {
			policy  string
			clients []string
		}{{policyContact, sc.Contact}, {policyBudget, sc.Budget}} {
			if len(p.clients) == 0 {
				continue
			}
			parts = append(parts, "(policy = '"+p.policy+"' AND client_id IN (?"+strings.Repeat(", ?", len(p.clients)-1)+"))")
			for _, v := range p.clients {
				args = append(args, v)
			}
		}
	} else {
		pairs(c.taskSource, c.task, "", sc.Tasks)
		pairs(c.threadSource, c.threadKey, "", sc.Threads)
	}
	if len(parts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

var clockCols = scopeCols{client: "client_id", kindCol: "subject_kind", subjSrc: "subject_source_id", subjExtID: "subject_external_id"}

// ChangedScope is the scope of the rows written or deleted since since:
// the tasks, status moves, messages and time entries a webhook's pull
// wrote, and the rows linked to its tasks after it. A message names its
// thread and its task (linking moves a message from one conversation to
// the other) and its client's contact clock; a time entry its task and its
// client's budget. Past MaxScopeKeys subjects it is the clients whose rows
// were written, whole.
//
// What it cannot see is the task a time entry or message left, and the
// thread a message was threaded out of (threading does not touch
// synced_at): the caller evaluates whole after a pull that rethreaded, and
// the periodic whole evaluation covers the rest.
func (s *Store) ChangedScope(ctx context.Context, since time.Time) (Scope, error) {
	var sc Scope
	at := since.UTC()
	var rows []struct {
		Tbl          string `db:"tbl"`
		SourceID     string `db:"source_id"`
		ID           string `db:"id"`
		TaskSourceID string `db:"task_source_id"`
		TaskID       string `db:"task_id"`
		ClientID     string `db:"client_id"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`
		SELECT 'tasks' AS tbl, source_id, external_id AS id, source_id AS task_source_id, external_id AS task_id, client_id
		FROM tasks WHERE synced_at >= ?
		UNION ALL SELECT 'moves', source_id, task_id, source_id, task_id, client_id FROM task_status_changes WHERE synced_at >= ?
		UNION ALL SELECT 'fields', source_id, task_id, source_id, task_id, client_id FROM task_field_changes WHERE synced_at >= ?
		UNION ALL SELECT 'messages', source_id, thread_key, task_source_id, task_id, client_id FROM messages WHERE synced_at >= ?
		UNION ALL SELECT 'time', source_id, external_id, task_source_id, task_id, client_id FROM time_entries WHERE synced_at >= ?`),
		at, at, at, at, at)
	if err != nil {
		return sc, err
	}
	var clients []string
	for _, r := range rows {
		if r.ClientID != "" {
			clients = append(clients, r.ClientID)
		}
		if r.TaskID != "" {
			sc.Tasks = append(sc.Tasks, Key{r.TaskSourceID, r.TaskID})
		}
		switch r.Tbl {
		case "messages":
			sc.Threads = append(sc.Threads, Key{r.SourceID, r.ID})
			if r.ClientID != "" {
				sc.Contact = append(sc.Contact, r.ClientID)
			}
		case "time":
			if r.ClientID != "" {
				sc.Budget = append(sc.Budget, r.ClientID)
			}
		}
	}
	sc.Add(Scope{}) // sorts and compacts
	if len(sc.Tasks)+len(sc.Threads) > MaxScopeKeys {
		return Scope{Clients: union(nil, clients, strings.Compare)}, nil
	}
	return sc, nil
}

// DueScope is the scope of the open clocks whose warning or target has
// passed by now: an evaluation of it turns them.
func (s *Store) DueScope(ctx context.Context, now time.Time) (Scope, error) {
	var sc Scope
	var rows []struct {
		Policy   string `db:"policy"`
		ClientID string `db:"client_id"`
		Kind     string `db:"subject_kind"`
		Source   string `db:"subject_source_id"`
		ID       string `db:"subject_external_id"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT DISTINCT policy, client_id, subject_kind, subject_source_id, subject_external_id
		FROM sla_clocks WHERE NOT waived AND ((state = 'running' AND warn_at <= ?) OR (state IN ('running', 'at_risk') AND due_at <= ?))`),
		now.UTC(), now.UTC())
	if err != nil {
		return sc, err
	}
	for _, r := range rows {
		switch {
		case r.Kind == "task":
			sc.Tasks = append(sc.Tasks, Key{r.Source, r.ID})
		case r.Kind == "thread":
			sc.Threads = append(sc.Threads, Key{r.Source, r.ID})
		case r.Kind == "client" && r.Policy == policyContact:
			sc.Contact = append(sc.Contact, r.ClientID)
		case r.Kind == "client" && r.Policy == policyBudget:
			sc.Budget = append(sc.Budget, r.ClientID)
		default:
			sc.Clients = append(sc.Clients, r.ClientID)
		}
	}
	sc.Add(Scope{})
	if len(sc.Tasks)+len(sc.Threads) > MaxScopeKeys {
		var clients []string
		for _, r := range rows {
			clients = append(clients, r.ClientID)
		}
		return Scope{Clients: union(nil, clients, strings.Compare)}, nil
	}
	return sc, nil
}
