package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// Field history in the store, on both dialects: the spans of history the
// reads held join into one start per board, a gap between two exports
// starts it again after the gap, a re-read adds nothing, and a history
// scope (record.ScopeStatusChanges) deletes the field changes a re-read
// no longer holds with the moves.
func TestFieldHistoryStore(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 10, d, 9, 0, 0, 0, time.UTC) }
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			span := func(src, board string, from, to time.Time) store.HistorySpanRow {
				return store.HistorySpanRow{SourceID: src, ContainerID: board, From: from, To: to}
			}
			write := func(b *store.Batch, scopes ...record.Scope) store.Counts {
				t.Helper()
				w, _, err := st.WriteBatchComplete(ctx, b.HistorySpans[0].SourceID, 0, b, scopes, "", false)
				if err != nil {
					t.Fatal(err)
				}
				return w
			}
			// export: [1, 10], then [5, 20] (joins), then [25, 30] after a gap.
			// api: the whole history, up to now. old: [3, 8] and [9, 12] do
			// not join, so only the newest counts.
			write(&store.Batch{HistorySpans: []store.HistorySpanRow{span("export", "b1", day(1), day(10))}})
			write(&store.Batch{HistorySpans: []store.HistorySpanRow{span("export", "b1", day(5), day(20)), span("api", "b2", time.Time{}, time.Time{})}})
			write(&store.Batch{HistorySpans: []store.HistorySpanRow{span("old", "b3", day(3), day(8)), {SourceID: "old", ContainerID: "b3", From: day(9), To: day(12), Fields: "labels,assignees"}}})
			starts, err := st.HistoryStarts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := starts[store.Key{Source: "export", ID: "b1"}].From; !got.Equal(day(1)) {
				t.Errorf("export b1 starts %v, want %v: the two spans join", got, day(1))
			}
			if got, ok := starts[store.Key{Source: "api", ID: "b2"}]; !ok || !got.From.IsZero() || got.Fields != nil {
				t.Errorf("api b2 starts %v (%v), want the beginning", got, ok)
			}
			if got := starts[store.Key{Source: "old", ID: "b3"}]; !got.From.Equal(day(9)) || len(got.Fields) != 2 {
				t.Errorf("old b3 starts %v, want %v: a gap before it", got, day(9))
			}
			if _, ok := starts[store.Key{Source: "mail", ID: "x"}]; ok {
				t.Error("a container with no span has a start")
			}
			if w := write(&store.Batch{HistorySpans: []store.HistorySpanRow{span("export", "b1", day(1), day(10))}}); w["history_spans"] != 0 {
				t.Errorf("a span read again wrote %d rows", w["history_spans"])
			}
			write(&store.Batch{HistorySpans: []store.HistorySpanRow{span("export", "b1", day(25), day(30))}})
			starts, err = st.HistoryStarts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := starts[store.Key{Source: "export", ID: "b1"}].From; !got.Equal(day(25)) {
				t.Errorf("after a gap, export b1 starts %v, want %v", got, day(25))
			}

			fc := func(id string, at time.Time) store.FieldChangeRow {
				r := store.FieldChangeRow{SourceID: "export", ExternalID: id, TaskID: "c1", ClientID: "acme", Field: record.FieldDue,
					NewValue: "2026-10-20T15:00:00Z", At: at, Raw: "{}"}
				r.Hash = store.Hash(r)
				return r
			}
			task := store.TaskRow{SourceID: "export", ExternalID: "c1", ContainerID: "b1", ClientID: "acme", Title: "Landing page",
				Labels: "[]", AssigneeIDs: "[]", CreatedAt: day(1), Raw: "{}"}
			task.Hash = store.Hash(task)
			b := &store.Batch{Tasks: []store.TaskRow{task}, FieldChanges: []store.FieldChangeRow{fc("a1/due", day(2)), fc("a2/due", day(6))},
				HistorySpans: []store.HistorySpanRow{span("export", "b1", day(1), day(30))}}
			if w := write(b); w["task_field_changes"] != 2 {
				t.Errorf("wrote %v, want 2 field changes", w)
			}
			// A re-read of the board's history from the 5th holds only a2:
			// a1 lies before the scope and stays; nothing is written twice.
			b = &store.Batch{FieldChanges: []store.FieldChangeRow{fc("a2/due", day(6))}, HistorySpans: []store.HistorySpanRow{span("export", "b1", day(5), day(30))}}
			w, deleted, err := st.WriteBatchComplete(ctx, "export", 0, b,
				[]record.Scope{{Kind: record.ScopeStatusChanges, ContainerID: "b1", From: day(5)}}, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if w["task_field_changes"] != 0 || deleted["task_field_changes"] != 0 {
				t.Errorf("re-read wrote %v and deleted %v, want nothing", w, deleted)
			}
			// The same scope without a2: it is gone upstream.
			b.FieldChanges = nil
			_, deleted, err = st.WriteBatchComplete(ctx, "export", 0, b,
				[]record.Scope{{Kind: record.ScopeStatusChanges, ContainerID: "b1", From: day(5)}}, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if deleted["task_field_changes"] != 1 {
				t.Errorf("deleted %v, want a2's field change", deleted)
			}
			live, err := st.FactChanges(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(live) != 1 || !live[0].At.Equal(day(2)) {
				t.Errorf("live field changes %+v, want a1 only", live)
			}
			cov, err := st.HistoryCoverage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cov) != 1 || !cov[0].Known || !cov[0].From.Equal(day(1)) || cov[0].Older != 0 || cov[0].Tasks != 1 {
				t.Errorf("coverage %+v, want b1 known from the 1st with its one task", cov)
			}
		})
	}
}
