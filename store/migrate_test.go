package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// A store of version 3 keeps its rows through version 4, and the columns
// version 4 adds are filled from each row's stored record, as the engine
// fills them for new rows.
func TestMigrateFillsFromRecords(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, exec := storeAt(t, dialect, 3)
			at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
			mail := record.Message{ExternalID: "r@acme.com", Channel: record.ChannelEmail, AuthorEmail: "john@acme.com",
				Subject: "Re: logo", Body: "ok", SentAt: at, InReplyTo: "q2@x", References: []string{"q1@x", "q2@x"},
				TaskRefs: []string{"AbCd1234"}}
			comment := record.Message{ExternalID: "a1", Channel: record.ChannelCardComment, AuthorID: "5f1a01", TaskID: "c1", SentAt: at}
			move := record.StatusChange{ExternalID: "a2", TaskID: "c1", To: "Doing", At: at, ActorID: "5f1a02"}
			task := record.Task{ExternalID: "c1", Title: "Logo", CreatorID: "5f1a03", Assignees: []string{"5f1a04", "5f1a05"}, CreatedAt: at}
			entry := record.TimeEntry{ExternalID: "e1", PersonID: "u1", PersonName: "Елена", Date: "2026-10-01", Seconds: 60}
			raw := func(v any) string {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			for _, m := range []record.Message{mail, comment} {
				exec(`INSERT INTO messages (source_id, external_id, channel, thread_key, author_side, direction, sent_at, raw, hash, synced_at)
					VALUES ('s', ?, ?, ?, 'unknown', 'unknown', ?, ?, 'h', ?)`, m.ExternalID, m.Channel, m.ExternalID, at, raw(m), at)
			}
			exec(`INSERT INTO task_status_changes (source_id, external_id, task_id, at, raw, hash, synced_at) VALUES ('s', 'a2', 'c1', ?, ?, 'h', ?)`,
				at, raw(move), at)
			exec(`INSERT INTO tasks (source_id, external_id, title, created_at, raw, hash, synced_at) VALUES ('s', 'c1', 'Logo', ?, ?, 'h', ?)`,
				at, raw(task), at)
			exec(`INSERT INTO time_entries (source_id, external_id, entry_date, seconds, category, billable, raw, hash, synced_at)
				VALUES ('s', 'e1', '2026-10-01', 60, 'production', TRUE, ?, 'h', ?)`, raw(entry), at)

			if applied, err := st.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != 4 {
				t.Fatalf("migrate from 3: applied %v, %v", applied, err)
			}
			get := func(q string) string {
				t.Helper()
				var v string
				if err := st.Get(context.Background(), &v, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return v
			}
			var parents []string
			if err := json.Unmarshal([]byte(get(`SELECT CAST(parents AS TEXT) FROM messages WHERE external_id = 'r@acme.com'`)), &parents); err != nil {
				t.Fatal(err)
			}
			var refs []string
			if err := json.Unmarshal([]byte(get(`SELECT CAST(assignee_refs AS TEXT) FROM tasks WHERE external_id = 'c1'`)), &refs); err != nil {
				t.Fatal(err)
			}
			for name, c := range map[string][2]any{
				"email fingerprint": {get(`SELECT fingerprint FROM messages WHERE external_id = 'r@acme.com'`), mail.Fingerprint()},
				"email parents":     {len(parents) == 2 && parents[0] == "q1@x" && parents[1] == "q2@x", true},
				"email author":      {get(`SELECT author_ref FROM messages WHERE external_id = 'r@acme.com'`), "john@acme.com"},
				"comment author":    {get(`SELECT author_ref FROM messages WHERE external_id = 'a1'`), "5f1a01"},
				"email card links":  {get(`SELECT CAST(task_refs AS TEXT) FROM messages WHERE external_id = 'r@acme.com'`), `["AbCd1234"]`},
				"comment no print":  {get(`SELECT fingerprint FROM messages WHERE external_id = 'a1'`), ""},
				"move actor":        {get(`SELECT actor_ref FROM task_status_changes`), "5f1a02"},
				"task creator":      {get(`SELECT creator_ref FROM tasks`), "5f1a03"},
				"task assignees":    {len(refs) == 2 && refs[1] == "5f1a05", true},
				"entry person name": {get(`SELECT person_name FROM time_entries`), "Елена"},
			} {
				if c[0] != c[1] {
					t.Errorf("%s: %v, want %v", name, c[0], c[1])
				}
			}
		})
	}
}

// Version 5 numbers every clock's transitions and removes the ones two
// evaluations at once stored twice, so that its unique index can hold.
func TestMigrateNumbersTransitions(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, exec := storeAt(t, dialect, 4)
			at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
			exec(`INSERT INTO sla_clocks (id, policy, subject_kind, state, started_at, updated_at) VALUES ('c1', 'response', 'thread', 'met', ?, ?)`, at, at)
			for _, tr := range [][2]string{{"", "running"}, {"", "running"}, {"running", "met"}, {"running", "met"}} {
				exec(`INSERT INTO sla_transitions (clock_id, from_state, to_state, at) VALUES ('c1', ?, ?, ?)`, tr[0], tr[1], at)
			}
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var seqs []string
			if err := st.Select(context.Background(), &seqs, `SELECT from_state || '>' || to_state || ':' || CAST(seq AS TEXT) FROM sla_transitions ORDER BY seq`); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(seqs) != "[>running:1 running>met:2]" {
				t.Errorf("transitions %v; want each once, numbered", seqs)
			}
			var version int
			if err := st.Get(context.Background(), &version, `SELECT version FROM sla_clocks WHERE id = 'c1'`); err != nil || version != 2 {
				t.Errorf("clock version %d, %v; want 2", version, err)
			}
			if _, err := st.Exec(context.Background(), st.Rebind(`INSERT INTO sla_transitions (clock_id, from_state, to_state, at, seq) VALUES ('c1', 'met', 'running', ?, 2)`), at); err == nil {
				t.Error("a second transition number 2 of one clock was stored")
			}
		})
	}
}

// storeAt is a new store of the dialect migrated up to version, and a
// function that runs a statement on it or fails the test.
func storeAt(t *testing.T, dialect string, version int) (*store.Store, func(q string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.URL(t, dialect))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	return st, func(q string, args ...any) {
		t.Helper()
		if _, err := st.Exec(context.Background(), st.Rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// Version 17 records field history; a store made before it has none, so the
// sources that hold tasks lose their cursors and read everything again (a
// mail source keeps its own).
func TestMigrateRereadsTaskSources(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, exec := storeAt(t, dialect, 16)
			at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
			exec(`INSERT INTO tasks (source_id, external_id, title, created_at, raw, hash, synced_at) VALUES ('boards', 'c1', 'Logo', ?, '{}', 'h', ?)`, at, at)
			for _, src := range []string{"boards", "mail"} {
				exec(`INSERT INTO cursors (source_id, cursor, updated_at) VALUES (?, 'pos', ?)`, src, at)
			}
			if applied, err := st.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != 17 {
				t.Fatalf("migrate from 16: applied %v, %v", applied, err)
			}
			for src, want := range map[string]string{"boards": "", "mail": "pos"} {
				if got, err := st.Cursor(ctx, src); err != nil || got != want {
					t.Errorf("cursor of %s after the migration: %q, %v; want %q", src, got, err, want)
				}
			}
		})
	}
}
