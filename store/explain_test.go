package store_test

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// bigTables grow with the agency: a read of one client, one subject or
// one period must reach their rows through an index, never by reading
// the table through.
var bigTables = map[string]bool{"tasks": true, "messages": true, "task_status_changes": true, "task_field_changes": true,
	"time_entries": true, "sla_clocks": true, "sla_transitions": true, "outbox": true}

// The reads of one client, subject or period (the hour report, the web
// pages, a scoped evaluation, the serve loop's scopes) reach the big
// tables through indexes on PostgreSQL: each query such a read runs is
// EXPLAINed with sequential scans disabled, and a plan that still reads a
// big table through is a missing index.
func TestReadsUseIndexes(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t, store.Postgres)
	st := testdb.OpenURL(t, dbURL)
	ctx := context.Background()
	fillAgency(t, st)

	var mu sync.Mutex
	type query struct {
		sql  string
		args []any
	}
	var got []query
	if err := store.TraceQueries(st, func(q string, args []driver.NamedValue) {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a.Value
		}
		mu.Lock()
		got = append(got, query{q, vals})
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	oct := func(d int) time.Time { return time.Date(2026, 10, d, 0, 0, 0, 0, time.UTC) }
	one := &store.Scope{Tasks: []store.Key{{Source: "trello", ID: "c1-t3"}, {Source: "trello", ID: "c1-t7"}},
		Threads: []store.Key{{Source: "mail", ID: "c1-thread-2"}}}
	reads := []struct {
		name string
		read func() error
	}{
		{"ReportEntries", func() error { _, err := st.ReportEntries(ctx, "2026-10-01", "2026-10-31", "c1"); return err }},
		{"ReportLabelChanges", func() error { _, err := st.ReportLabelChanges(ctx, "c1", oct(1)); return err }},
		{"ReportTasks", func() error { _, err := st.ReportTasks(ctx, "c1", oct(1), oct(31)); return err }},
		{"ReportMoves", func() error { _, err := st.ReportMoves(ctx, "c1", oct(1), oct(31)); return err }},
		{"ReportClocks", func() error { _, err := st.ReportClocks(ctx, "c1", oct(1), oct(31)); return err }},
		{"BillableByMonth", func() error { _, err := st.BillableByMonth(ctx, "2026-08-01", "2026-09-30", "c1"); return err }},
		{"FirstEntryMonths", func() error { _, err := st.FirstEntryMonths(ctx, "c1"); return err }},
		{"Clocks of a client", func() error {
			_, err := st.Clocks(ctx, store.ClockFilter{Clients: []string{"c1"}, States: []string{"breached", "at_risk"}, Limit: 200})
			return err
		}},
		{"Clocks of a client's policy, newest", func() error {
			_, err := st.Clocks(ctx, store.ClockFilter{Clients: []string{"c1"}, Policies: []string{"stage_limit"}, Limit: 50, Newest: true})
			return err
		}},
		{"Clocks of the overview", func() error {
			_, err := st.Clocks(ctx, store.ClockFilter{States: []string{"breached", "at_risk"}, Limit: 201})
			return err
		}},
		{"Deliveries that failed", func() error {
			_, err := st.Deliveries(ctx, store.DeliveryFilter{Status: "failed", Limit: 100, Brief: true})
			return err
		}},
		{"Deliveries pending", func() error {
			_, err := st.Deliveries(ctx, store.DeliveryFilter{Status: "pending", Limit: 100})
			return err
		}},
		{"Clock", func() error { _, _, err := st.Clock(ctx, "response:c1-thread-2"); return err }},
		{"OpenTasks", func() error { _, err := st.OpenTasks(ctx, "c1"); return err }},
		{"ClientMonths", func() error { _, err := st.ClientMonths(ctx, "c1"); return err }},
		{"FactTasks of a scope", func() error { _, err := st.FactTasks(ctx, one); return err }},
		{"FactMoves of a scope", func() error { _, err := st.FactMoves(ctx, one); return err }},
		{"FactChanges of a scope", func() error { _, err := st.FactChanges(ctx, one); return err }},
		{"FactMessages of a scope", func() error { _, err := st.FactMessages(ctx, one); return err }},
		{"FactMessages of a client", func() error { _, err := st.FactMessages(ctx, &store.Scope{Clients: []string{"c1"}}); return err }},
		{"FactTimeByDay", func() error { _, err := st.FactTimeByDay(ctx, []string{"c1"}); return err }},
		{"FactContacts", func() error { _, err := st.FactContacts(ctx, []string{"c1"}, oct(20)); return err }},
		{"TaskKeyOf", func() error { _, _, err := st.TaskKeyOf(ctx, "trello", "c1-t3"); return err }},
		{"RawRows", func() error { _, err := st.RawRows(ctx, "tasks", "trello", []string{"c1-t3", "c2-t4"}); return err }},
		{"ChangedScope", func() error { _, err := st.ChangedScope(ctx, time.Now().Add(-time.Minute)); return err }},
		{"DueScope", func() error { _, err := st.DueScope(ctx, oct(20)); return err }},
	}

	admin, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	explained := 0
	for _, r := range reads {
		mu.Lock()
		got = got[:0]
		mu.Unlock()
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		mu.Lock()
		qs := append([]query(nil), got...)
		mu.Unlock()
		if len(qs) == 0 {
			t.Errorf("%s: no query seen: is the trace on?", r.name)
		}
		for _, q := range qs {
			if !regexp.MustCompile(`(?is)^\s*(SELECT|WITH)\b`).MatchString(q.sql) {
				continue
			}
			scans, err := seqScans(ctx, admin, q.sql, q.args)
			if err != nil {
				t.Fatalf("%s: EXPLAIN %s: %v", r.name, q.sql, err)
			}
			explained++
			if len(scans) > 0 {
				t.Errorf("%s reads %s through (no index serves it):\n%s", r.name, strings.Join(scans, ", "), strings.Join(strings.Fields(q.sql), " "))
			}
		}
	}
	if explained < len(reads) {
		t.Errorf("only %d queries explained for %d reads", explained, len(reads))
	}
}

// seqScans are the big tables q's plan reads through when it may not:
// those no index can serve.
func seqScans(ctx context.Context, db *sqlx.DB, q string, args []any) ([]string, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// With no sequential scans and no hash or merge joins (which read a
	// side whole, fine for a small table, not for the agency's), every
	// access left is a lookup, through an index when one serves it.
	for _, set := range []string{"enable_seqscan", "enable_hashjoin", "enable_mergejoin"} {
		if _, err := tx.Exec("SET LOCAL " + set + " = off"); err != nil {
			return nil, err
		}
	}
	var raw string
	if err := tx.QueryRowxContext(ctx, "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&raw); err != nil {
		return nil, err
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &plans); err != nil {
		return nil, err
	}
	var out []string
	// A sequential scan reads the table through; so does an index scan
	// with no condition, which the planner takes instead when sequential
	// scans cost too much, unless a limit stops it early.
	var walk func(n planNode, limited bool)
	walk = func(n planNode, limited bool) {
		whole := n.NodeType == "Seq Scan" ||
			(n.NodeType == "Index Scan" || n.NodeType == "Index Only Scan") && n.IndexCond == "" && !limited
		if whole && bigTables[n.Relation] {
			out = append(out, n.Relation+" ("+n.NodeType+")")
		}
		for _, c := range n.Plans {
			walk(c, limited || n.NodeType == "Limit")
		}
	}
	for _, p := range plans {
		walk(p.Plan, false)
	}
	return out, nil
}

type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexCond string     `json:"Index Cond"`
	Plans     []planNode `json:"Plans"`
}

// fillAgency writes four clients' tasks with their moves, field changes
// and comments, email threads, three months of time entries and clocks:
// enough rows that ANALYZE gives the planner a shape to plan for.
func fillAgency(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)
	var b store.Batch
	var clocks []store.ClockRow
	for c := 1; c <= 4; c++ {
		client := fmt.Sprintf("c%d", c)
		for i := 0; i < 60; i++ {
			id := fmt.Sprintf("%s-t%d", client, i)
			at := base.Add(time.Duration(i) * 7 * time.Hour)
			b.Tasks = append(b.Tasks, store.TaskRow{SourceID: "trello", ExternalID: id, ContainerID: "board-" + client, ClientID: client,
				Title: "Task " + id, Status: []string{"todo", "in_progress", "review", "done"}[i%4], Labels: `["x"]`, AssigneeIDs: "[]",
				AssigneeRefs: "[]", CreatedAt: at, Raw: "{}", Hash: id, URL: "https://trello.com/c/" + id})
			for k, to := range []string{"todo", "in_progress", "review"} {
				b.StatusChanges = append(b.StatusChanges, store.StatusChangeRow{SourceID: "trello", ExternalID: fmt.Sprintf("%s-m%d", id, k),
					TaskID: id, ClientID: client, ToSource: to, ToStatus: to, At: at.Add(time.Duration(k) * time.Hour), Raw: "{}", Hash: "h"})
			}
			b.FieldChanges = append(b.FieldChanges, store.FieldChangeRow{SourceID: "trello", ExternalID: id + "-f", TaskID: id, ClientID: client,
				Field: "labels", NewValue: `["x"]`, At: at, Raw: "{}", Hash: "h"})
			for k := 0; k < 3; k++ {
				b.Messages = append(b.Messages, store.MessageRow{SourceID: "trello", ExternalID: fmt.Sprintf("%s-a%d", id, k), Channel: "card_comment",
					ThreadKey: id, TaskSourceID: "trello", TaskID: id, ClientID: client, AuthorSide: []string{"client", "agency"}[k%2],
					Direction: []string{"inbound", "outbound"}[k%2], SentAt: at.Add(time.Duration(k) * time.Hour), Raw: "{}", Hash: "h"})
			}
			clocks = append(clocks, store.ClockRow{ID: "stage_limit:" + id, Policy: "stage_limit", ClientID: client, SubjectKind: "task",
				SubjectSourceID: "trello", SubjectExternalID: id, State: []string{"met", "breached", "running"}[i%3], StartedAt: at, Detail: "{}"})
		}
		for i := 0; i < 30; i++ {
			thread := fmt.Sprintf("%s-thread-%d", client, i)
			at := base.Add(time.Duration(i) * 13 * time.Hour)
			for k := 0; k < 3; k++ {
				b.Messages = append(b.Messages, store.MessageRow{SourceID: "mail", ExternalID: fmt.Sprintf("%s-%d@x", thread, k), Channel: "email",
					ThreadKey: thread, ClientID: client, AuthorSide: []string{"client", "agency"}[k%2], Direction: []string{"inbound", "outbound"}[k%2],
					SentAt: at.Add(time.Duration(k) * 2 * time.Hour), Subject: "Thread " + thread, Raw: "{}", Hash: "h"})
			}
			clocks = append(clocks, store.ClockRow{ID: "response:" + thread, Policy: "response", ClientID: client, SubjectKind: "thread",
				SubjectSourceID: "mail", SubjectExternalID: thread, State: "met", StartedAt: at, Detail: "{}"})
		}
		for i := 0; i < 400; i++ {
			day := base.AddDate(0, 0, i%90)
			b.TimeEntries = append(b.TimeEntries, store.TimeEntryRow{SourceID: "hours", ExternalID: fmt.Sprintf("%s-e%d", client, i),
				PersonRef: "anna", PersonName: "Anna", ClientID: client, TaskSourceID: "trello", TaskID: fmt.Sprintf("%s-t%d", client, i%60),
				EntryDate: day.Format("2006-01-02"), Seconds: 1800, Category: "production", Billable: i%5 != 0, Tags: "[]", Raw: "{}", Hash: "h"})
		}
	}
	if _, err := st.WriteBatch(ctx, "trello", 0, &b, "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveClocks(ctx, clocks, nil); err != nil {
		t.Fatal(err)
	}
}
