package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// TestStore is the one store suite; it runs on SQLite always and on
// PostgreSQL wherever TEST_DATABASE_URL is set (always under make test).
func TestStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, testdb.Open(t, dialect))
				})
			}
		})
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, st *store.Store)
}{
	{"migrate twice applies nothing", testMigrateTwice},
	{"unchanged rows are not rewritten", testIdempotentUpsert},
	{"changed rows are rewritten", testChangedRow},
	{"batch and cursor commit together", testCursorAtomic},
	{"duplicate keys in a batch keep the last", testDedupe},
	{"large batches round trip", testLargeBatch},
	{"snapshot soft-deletes and revives", testSoftDelete},
	{"snapshot narrowed to scopes deletes only inside them", testSnapshotScopes},
	{"problems are recorded once", testProblems},
	{"runs are recorded", testRuns},
	{"model sync writes only changes", testSyncModel},
	{"text in any language round trips", testUnicode},
	{"clocks save once, with transitions and notifications", testSaveClocks},
}

var t0 = time.Date(2026, 10, 5, 9, 30, 0, 0, time.UTC)

func task(id, title string) store.TaskRow {
	r := store.TaskRow{SourceID: "trello", ExternalID: id, ContainerID: "b1", ShortRef: "s" + id, ClientID: "acme",
		Title: title, SourceStatus: "Doing", Status: "in_progress", Labels: "[]", AssigneeIDs: `["anna"]`,
		CreatorSide: "agency", CreatedAt: t0, Raw: fmt.Sprintf(`{"external_id":%q,"title":%q}`, id, title)}
	r.Hash = store.Hash(r)
	return r
}

func write(t *testing.T, st *store.Store, b *store.Batch, cursor string) store.Counts {
	t.Helper()
	n, err := st.WriteBatch(context.Background(), "trello", 1, b, cursor, false)
	if err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	return n
}

func count(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Get(context.Background(), &n, st.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func testMigrateTwice(t *testing.T, st *store.Store) {
	applied, err := st.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second migrate applied %v, want nothing", applied)
	}
	v, err := st.SchemaVersion(context.Background())
	if err != nil || v < 1 {
		t.Errorf("schema version = %d, %v; want >= 1", v, err)
	}
}

func testIdempotentUpsert(t *testing.T, st *store.Store) {
	b := &store.Batch{Tasks: []store.TaskRow{task("1", "Logo"), task("2", "Landing page")}}
	if n := write(t, st, b, ""); n["tasks"] != 2 {
		t.Fatalf("first write: %v, want 2 tasks", n)
	}
	b = &store.Batch{Tasks: []store.TaskRow{task("1", "Logo"), task("2", "Landing page")}}
	if n := write(t, st, b, ""); n.Total() != 0 {
		t.Fatalf("second write of the same rows wrote %v, want nothing", n)
	}
	var synced []time.Time
	if err := st.Select(context.Background(), &synced, "SELECT synced_at FROM tasks"); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 2 {
		t.Fatalf("got %d rows, want 2", len(synced))
	}
}

func testChangedRow(t *testing.T, st *store.Store) {
	write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", "Logo"), task("2", "Landing")}}, "")
	n := write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", "Logo v2"), task("2", "Landing")}}, "")
	if n["tasks"] != 1 {
		t.Fatalf("wrote %v, want exactly the changed task", n)
	}
	var title string
	if err := st.Get(context.Background(), &title, st.Rebind("SELECT title FROM tasks WHERE external_id = ?"), "1"); err != nil {
		t.Fatal(err)
	}
	if title != "Logo v2" {
		t.Errorf("title = %q, want the new one", title)
	}
}

func testCursorAtomic(t *testing.T, st *store.Store) {
	ctx := context.Background()
	write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", "a")}}, "c1")
	if c, _ := st.Cursor(ctx, "trello"); c != "c1" {
		t.Fatalf("cursor = %q, want c1", c)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.WriteBatch(canceled, "trello", 1, &store.Batch{Tasks: []store.TaskRow{task("2", "b")}}, "c2", false); err == nil {
		t.Fatal("WriteBatch with a canceled context succeeded")
	}
	if c, _ := st.Cursor(ctx, "trello"); c != "c1" {
		t.Errorf("cursor = %q after a failed batch, want c1", c)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM tasks"); n != 1 {
		t.Errorf("%d tasks after a failed batch, want 1", n)
	}
	// A dry run computes and keeps nothing.
	n, err := st.WriteBatch(ctx, "trello", 1, &store.Batch{Tasks: []store.TaskRow{task("3", "c")}}, "c3", true)
	if err != nil || n["tasks"] != 1 {
		t.Fatalf("dry run = %v, %v; want 1 task would be written", n, err)
	}
	if c, _ := st.Cursor(ctx, "trello"); c != "c1" || count(t, st, "SELECT COUNT(*) FROM tasks") != 1 {
		t.Errorf("dry run kept something: cursor %q", c)
	}
}

func testDedupe(t *testing.T, st *store.Store) {
	n := write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", "old"), task("1", "new")}}, "")
	if n["tasks"] != 1 {
		t.Fatalf("wrote %v, want 1", n)
	}
	var title string
	st.Get(context.Background(), &title, "SELECT title FROM tasks")
	if title != "new" {
		t.Errorf("kept %q, want the last row of the batch", title)
	}
}

func testLargeBatch(t *testing.T, st *store.Store) {
	// Enough rows to cross both the Postgres COPY threshold and the
	// bound-parameter limit of one multi-row INSERT.
	var rows []store.TaskRow
	for i := range 2500 {
		rows = append(rows, task(fmt.Sprintf("%05d", i), fmt.Sprintf("task %d", i)))
	}
	if n := write(t, st, &store.Batch{Tasks: rows}, "big"); n["tasks"] != 2500 {
		t.Fatalf("wrote %v, want 2500", n)
	}
	if n := write(t, st, &store.Batch{Tasks: rows}, "big"); n.Total() != 0 {
		t.Fatalf("rewrite wrote %v, want 0", n)
	}
	rows[1234] = task("01234", "changed")
	if n := write(t, st, &store.Batch{Tasks: rows}, "big"); n["tasks"] != 1 {
		t.Fatalf("one change wrote %v, want 1", n)
	}
}

func testSoftDelete(t *testing.T, st *store.Store) {
	ctx := context.Background()
	write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", "a"), task("2", "b"), task("3", "c")}}, "")
	seen := map[string]map[string]struct{}{"tasks": {"1": {}, "3": {}}}
	marked, err := st.SoftDeleteMissing(ctx, "trello", seen, nil, "snap1", false)
	if err != nil {
		t.Fatal(err)
	}
	if marked["tasks"] != 1 {
		t.Fatalf("marked %v, want task 2", marked)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM tasks WHERE deleted_at IS NOT NULL AND external_id = '2'"); n != 1 {
		t.Errorf("task 2 not soft-deleted")
	}
	if n := count(t, st, "SELECT COUNT(*) FROM tasks"); n != 3 {
		t.Errorf("%d rows, want 3: soft delete must keep the row", n)
	}
	if c, _ := st.Cursor(ctx, "trello"); c != "snap1" {
		t.Errorf("cursor = %q, want snap1 saved with the deletes", c)
	}
	// A second identical snapshot marks nothing more.
	if marked, _ := st.SoftDeleteMissing(ctx, "trello", seen, nil, "snap1", false); marked.Total() != 0 {
		t.Errorf("second snapshot marked %v", marked)
	}
	// Seen again: alive again.
	if n := write(t, st, &store.Batch{Tasks: []store.TaskRow{task("2", "b")}}, ""); n["tasks"] != 1 {
		t.Fatalf("revive wrote %v", n)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL"); n != 3 {
		t.Errorf("%d live tasks after revive, want 3", n)
	}
}

// A snapshot narrowed to scopes (record.Batch.Snapshot) marks only the
// unseen rows inside one of its scopes: by board, by card, by time window
// on each record's own time, with From inclusive and To exclusive. Rows
// outside every scope (another board, older history, containers and people)
// stay live however unseen they are.
func testSnapshotScopes(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	taskIn := func(id, board string, created time.Time) store.TaskRow {
		r := task(id, "task "+id)
		r.ContainerID, r.CreatedAt = board, created
		r.Hash = store.Hash(r)
		return r
	}
	move := func(id, taskID string, when time.Time) store.StatusChangeRow {
		r := store.StatusChangeRow{SourceID: "trello", ExternalID: id, TaskID: taskID, ClientID: "acme", ToSource: "Doing",
			ToStatus: "in_progress", At: when, Raw: "{}"}
		r.Hash = store.Hash(r)
		return r
	}
	comment := func(id, taskID string, when time.Time) store.MessageRow {
		r := store.MessageRow{SourceID: "trello", ExternalID: id, Channel: "card_comment", ThreadKey: taskID, TaskSourceID: "trello",
			TaskID: taskID, ClientID: "acme", AuthorSide: "client", Direction: "inbound", Body: "?", SentAt: when, Raw: "{}"}
		r.Hash = store.Hash(r)
		return r
	}
	write(t, st, &store.Batch{
		Containers: []store.ContainerRow{{SourceID: "trello", ExternalID: "b1", Kind: "board", Name: "Acme", Raw: "{}", Hash: "c1"},
			{SourceID: "trello", ExternalID: "b2", Kind: "board", Name: "Betta", Raw: "{}", Hash: "c2"}},
		People: []store.SourcePersonRow{{SourceID: "trello", ExternalID: "m1", Name: "Anna", Raw: "{}", Hash: "p1"}},
		Tasks: []store.TaskRow{taskIn("old", "b1", at(-48)), taskIn("edge", "b1", at(0)), taskIn("new", "b1", at(2)),
			taskIn("later", "b1", at(10)), taskIn("gone", "b1", at(-72)), taskIn("other", "b2", at(2))},
		StatusChanges: []store.StatusChangeRow{move("s-old", "old", at(-47)), move("s-edge", "edge", at(0)), move("s-in", "new", at(3)),
			move("s-later", "later", at(10)), move("s-gone", "gone", at(-71)), move("s-other", "other", at(3))},
		Messages: []store.MessageRow{comment("m-old", "old", at(-46)), comment("m-edge", "edge", at(0)), comment("m-in", "new", at(4)),
			comment("m-later", "later", at(10)), comment("m-gone", "gone", at(-70)), comment("m-other", "other", at(4))},
	}, "")
	// A link from another source to card "new" is never this source's to
	// judge, inside the window or not.
	if _, err := st.Exec(context.Background(), st.Rebind(`INSERT INTO messages (source_id, external_id, channel, thread_key, task_source_id, task_id,
		author_side, direction, sent_at, raw, hash, synced_at) VALUES ('mail', 'x@y', 'email', 'x@y', 'trello', 'new', 'client', 'inbound', ?, '{}', 'h', ?)`),
		at(5), at(5)); err != nil {
		t.Fatal(err)
	}
	// The pull saw nothing at all: only the scopes limit what goes.
	seen := map[string]map[string]struct{}{"tasks": {"edge": {}}, "task_status_changes": {}, "messages": {"m-in": {}}}
	scopes := []record.Scope{
		{Kind: record.ScopeTasks, ContainerID: "b1", From: at(0), To: at(10)},
		{Kind: record.ScopeStatusChanges, ContainerID: "b1", From: at(0), To: at(10)},
		{Kind: record.ScopeMessages, ContainerID: "b1", From: at(0), To: at(10)},
		// One card the snapshot shows gone, with all of its history.
		{Kind: record.ScopeTasks, ContainerID: "b1", TaskID: "gone"},
		{Kind: record.ScopeStatusChanges, ContainerID: "b1", TaskID: "gone"},
		{Kind: record.ScopeMessages, ContainerID: "b1", TaskID: "gone"},
	}
	live := func(table string) string {
		t.Helper()
		var ids []string
		if err := st.Select(context.Background(), &ids, fmt.Sprintf("SELECT external_id FROM %s WHERE deleted_at IS NULL ORDER BY external_id", table)); err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids, ",")
	}
	before := map[string]string{}
	for _, table := range store.Tables {
		before[table] = live(table)
	}
	// A dry run says what would go and keeps it.
	marked, err := st.SoftDeleteMissing(ctx, "trello", seen, scopes, "snap1", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Counts{"tasks": 2, "task_status_changes": 3, "messages": 2}); fmt.Sprint(marked) != fmt.Sprint(want) {
		t.Fatalf("dry run marked %v, want %v", marked, want)
	}
	for _, table := range store.Tables {
		if got := live(table); got != before[table] {
			t.Errorf("dry run changed %s: %s, was %s", table, got, before[table])
		}
	}
	if marked, err = st.SoftDeleteMissing(ctx, "trello", seen, scopes, "snap1", false); err != nil {
		t.Fatal(err)
	}
	if want := (store.Counts{"tasks": 2, "task_status_changes": 3, "messages": 2}); fmt.Sprint(marked) != fmt.Sprint(want) {
		t.Errorf("marked %v, want %v", marked, want)
	}
	for table, want := range map[string]string{
		"containers":          "b1,b2",
		"source_people":       "m1",
		"tasks":               "edge,later,old,other",
		"task_status_changes": "s-later,s-old,s-other",
		"messages":            "m-in,m-later,m-old,m-other,x@y",
	} {
		if got := live(table); got != want {
			t.Errorf("live %s = %s, want %s", table, got, want)
		}
	}
	if c, _ := st.Cursor(ctx, "trello"); c != "snap1" {
		t.Errorf("cursor = %q, want snap1 saved with the deletes", c)
	}
	// The same snapshot again marks nothing more.
	if marked, err := st.SoftDeleteMissing(ctx, "trello", seen, scopes, "snap1", false); err != nil || marked.Total() != 0 {
		t.Errorf("second snapshot marked %v, %v", marked, err)
	}
	// A bad scope refuses the whole snapshot: nothing marked, no cursor.
	bad := append(scopes, record.Scope{Kind: record.ScopeMessages, From: at(5), To: at(5)})
	if _, err := st.SoftDeleteMissing(ctx, "trello", map[string]map[string]struct{}{}, bad, "snap2", false); err == nil {
		t.Error("a scope with To not after From was accepted")
	}
	if c, _ := st.Cursor(ctx, "trello"); c != "snap1" || live("tasks") != "edge,later,old,other" {
		t.Errorf("a refused snapshot changed something: cursor %q, tasks %s", c, live("tasks"))
	}
}

func testProblems(t *testing.T, st *store.Store) {
	p := []record.Problem{{Where: "inbox.mbox#12", Message: "no From header"}}
	if n := write(t, st, &store.Batch{Problems: p}, ""); n["problems"] != 1 {
		t.Fatalf("wrote %v", n)
	}
	if n := write(t, st, &store.Batch{Problems: p}, ""); n.Total() != 0 {
		t.Fatalf("same problem again wrote %v", n)
	}
}

func testRuns(t *testing.T, st *store.Store) {
	ctx := context.Background()
	if err := st.EnsureSource(ctx, "trello", "trello_export"); err != nil {
		t.Fatal(err)
	}
	id, err := st.StartRun(ctx, "trello", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, store.RunResult{Batches: 2, Written: store.Counts{"tasks": 5}, Err: fmt.Errorf("boom")}); err != nil {
		t.Fatal(err)
	}
	srcs, err := st.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].RunStatus.String != store.RunFailed || srcs[0].RowsWritten.Int64 != 5 || srcs[0].RunError.String != "boom" {
		t.Fatalf("sources = %+v", srcs)
	}
	if err := st.SetAttention(ctx, "trello", "token revoked"); err != nil {
		t.Fatal(err)
	}
	srcs, _ = st.Sources(ctx)
	if srcs[0].Attention != "token revoked" {
		t.Errorf("attention = %q", srcs[0].Attention)
	}
}

func testSyncModel(t *testing.T, st *store.Store) {
	ctx := context.Background()
	clients := []store.ConfigClient{{ID: "acme", Name: "Acme", MonthlyHours: 60}, {ID: "betta", Name: "Бетта"}}
	people := []store.ConfigPerson{{ID: "anna", Name: "Anna", Side: "agency", Identities: []string{"email:anna@x", "trello:anna"}}}
	if n, err := st.SyncModel(ctx, clients, people); err != nil || n != 3 {
		t.Fatalf("first sync = %d, %v; want 3", n, err)
	}
	if n, err := st.SyncModel(ctx, clients, people); err != nil || n != 0 {
		t.Fatalf("unchanged sync = %d, %v; want 0", n, err)
	}
	clients = clients[:1]
	clients[0].MonthlyHours = 80
	if n, err := st.SyncModel(ctx, clients, people); err != nil || n != 2 {
		t.Fatalf("changed sync = %d, %v; want 2 (one update, one delete)", n, err)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM identities WHERE person_id = 'anna'"); n != 2 {
		t.Errorf("%d identities, want 2", n)
	}
}

func testUnicode(t *testing.T, st *store.Store) {
	title := "Баннер для акции «Зима» — 🎄 ß"
	write(t, st, &store.Batch{Tasks: []store.TaskRow{task("1", title)},
		Messages: []store.MessageRow{{SourceID: "trello", ExternalID: "m1", Channel: "card_comment", ThreadKey: "1",
			AuthorSide: "client", Direction: "inbound", Body: strings.Repeat("Привет! ", 1000), SentAt: t0, Raw: "{}", Hash: "h"}}}, "")
	var got string
	if err := st.Get(context.Background(), &got, "SELECT title FROM tasks"); err != nil {
		t.Fatal(err)
	}
	if got != title {
		t.Errorf("title = %q, want %q", got, title)
	}
	var sent time.Time
	if err := st.Get(context.Background(), &sent, "SELECT sent_at FROM messages"); err != nil {
		t.Fatal(err)
	}
	if !sent.Equal(t0) {
		t.Errorf("sent_at = %v, want %v", sent, t0)
	}
}

func testSaveClocks(t *testing.T, st *store.Store) {
	ctx := context.Background()
	due := t0.Add(6 * time.Hour)
	running := store.ClockRow{ID: "response-1", Policy: "response", ClientID: "acme", SubjectKind: "task",
		SubjectSourceID: "trello", SubjectExternalID: "c1", State: "running", StartedAt: t0, DueAt: &due, Detail: "{}"}
	notify := func(old *store.ClockRow, c store.ClockRow) *store.Notification {
		if c.State != "breached" {
			return nil
		}
		return &store.Notification{Kind: "sla_transition", Sink: "route", Payload: map[string]string{"clock": c.ID}}
	}
	ch, err := st.SaveClocks(ctx, []store.ClockRow{running}, notify)
	if err != nil || ch.New != 1 || ch.Transitions != 1 || ch.Outbox != 0 {
		t.Fatalf("first save = %+v, %v", ch, err)
	}
	if ch, _ := st.SaveClocks(ctx, []store.ClockRow{running}, notify); ch != (store.ClockChanges{}) {
		t.Fatalf("same evaluation again wrote %+v", ch)
	}
	if err := st.Waive(ctx, "response-1", "client on holiday", "test"); err != nil {
		t.Fatal(err)
	}
	if err := st.Waive(ctx, "nope", "x", "test"); err == nil {
		t.Error("waiving an unknown clock succeeded")
	}
	breached := running
	breached.State, breached.BreachedAt, breached.BusinessSeconds = "breached", &due, 7*3600
	ch, err = st.SaveClocks(ctx, []store.ClockRow{breached}, notify)
	if err != nil || ch.Updated != 1 || ch.Transitions != 1 || ch.Outbox != 1 {
		t.Fatalf("breach = %+v, %v", ch, err)
	}
	if ch, _ := st.SaveClocks(ctx, []store.ClockRow{breached}, notify); ch != (store.ClockChanges{}) {
		t.Fatalf("same breach again wrote %+v", ch)
	}
	w, _ := st.Waivers(ctx)
	if w["response-1"] != "client on holiday" {
		t.Errorf("waiver lost on update: %v", w)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM sla_transitions WHERE clock_id = 'response-1'"); n != 2 {
		t.Errorf("%d transitions, want 2", n)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'response-1:breached' AND client_id = 'acme'"); n != 1 {
		t.Errorf("%d outbox rows, want 1", n)
	}
}
