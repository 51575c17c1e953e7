package trello_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

const storeCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: me, name: Karkas, side: agency, trello: [karkas, %s]}
  - {id: john, name: John Carter, side: client, client: acme, trello: [johncarter, %s]}
clients:
  - {id: acme, name: Acme, boards: [%s]}
statuses:
  - {match: [To Do], status: todo}
  - {match: [Doing], status: in_progress}
  - {match: [Done], status: done}
sources:
  - {id: trello, kind: trello}
`

// stored reads the live rows of the source back into a memStore, from the
// raw record JSON the engine keeps beside each row.
func stored(t *testing.T, st *store.Store) *memStore {
	t.Helper()
	r := testdb.LiveRecords(t, st, "trello")
	m := newMemStore()
	m.containers, m.people, m.tasks, m.changes, m.fields, m.messages = r.Containers, r.People, r.Tasks, r.Changes, r.Fields, r.Messages
	return m
}

// rowCounts counts rows live and soft-deleted, to catch duplicates.
func rowCounts(t *testing.T, st *store.Store) (live, deleted store.Counts) {
	t.Helper()
	live, deleted, err := st.TableCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return live, deleted
}

// The "done means" through the engine into a real store, on
// SQLite and PostgreSQL: a board synced, changed (new comment, edited
// comment, moved card, archived card, new card by a client-side member,
// deleted comment and card), synced again: the store matches the fake
// exactly, with no duplicates; a 429 storm and a 404 leave it consistent.
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			s := newSmallWorld()
			cfg := fmt.Sprintf(storeCfg, s.w.Me().ID, s.client.ID, s.board.ID)
			l, err := mapping.Parse("karkas.yaml", []byte(cfg), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info := mapping.SourceInfo{ID: "trello", Kind: trello.KindName, Identity: mapping.IdentityTrello}
			f := newFixture(t, s.w, s.clock)
			src := f.source(t, trello.APIOptions{Boards: []string{s.board.ID}})
			sync := func() engine.Result {
				t.Helper()
				e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					t.Fatal(err)
				}
				return e.Run(ctx, engine.Job{Info: info, Source: src})
			}
			check := func(what string) {
				t.Helper()
				want := exported(t, s.w, s.board.ID)
				diff(t, what, stored(t, st), want)
				live, _ := rowCounts(t, st)
				if live["tasks"] != len(want.tasks) || live["messages"] != len(want.messages) || live["task_status_changes"] != len(want.changes) {
					t.Errorf("%s: live rows %v, want %d tasks, %d messages, %d status changes", what, live,
						len(want.tasks), len(want.messages), len(want.changes))
				}
			}
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("backfill")
			var n int
			st.Get(context.Background(), &n, "SELECT COUNT(*) FROM tasks WHERE creator_side = 'client' AND deleted_at IS NULL")
			if n != 1 {
				t.Errorf("%d tasks created by the client side, want 1", n)
			}

			s.clock.Advance(time.Minute)
			c3 := s.w.CreateCard(s.client.ID, s.todo.ID, "Client asks for a new page")
			s.w.CommentCard(s.w.Me().ID, s.card1.ID, "Tomorrow")
			s.w.MoveCard(s.w.Me().ID, s.card2.ID, s.done.ID)
			s.w.ArchiveCard(s.w.Me().ID, s.card2.ID)
			s.w.EditComment(s.comment.ID, "When can we expect this? (edited)")
			gone := s.w.CommentCard(s.client.ID, c3.ID, "typo")
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			s.w.DeleteComment(gone.ID)
			s.clock.Advance(trello.DefaultReconcileEvery)
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("changes and a reconcile")

			// A 429 storm on the next change: nothing half-stored, the
			// cursor where it was.
			cursor, _ := st.Cursor(ctx, "trello")
			s.clock.Advance(time.Minute)
			s.w.CommentCard(s.client.ID, s.card1.ID, "Any news?")
			f.srv.Arm(trellofake.Fault{Kind: trellofake.FaultRateLimited, Route: "/1/batch", Times: -1})
			res := sync()
			f.srv.Disarm()
			var rl *connectors.RateLimitError
			if !errors.As(res.Err, &rl) {
				t.Fatalf("429 storm: err = %v", res.Err)
			}
			if after, _ := st.Cursor(ctx, "trello"); after != cursor {
				t.Errorf("429 storm moved the cursor")
			}
			s.clock.Advance(time.Minute)
			s.w.DeleteCard(s.w.Me().ID, c3.ID)
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("after the storm and a deleted card")

			// The board deleted: attention, its data kept.
			s.w.DeleteBoard(s.board.ID)
			res = sync()
			var ae *connectors.AttentionError
			if !errors.As(res.Err, &ae) {
				t.Fatalf("deleted board: err = %v", res.Err)
			}
			srcs, _ := st.Sources(ctx)
			if len(srcs) != 1 || srcs[0].Attention == "" {
				t.Errorf("sources after a deleted board: %+v", srcs)
			}
			if live, _ := rowCounts(t, st); live["tasks"] != 2 {
				t.Errorf("live tasks after the board went: %d, want the 2 kept", live["tasks"])
			}
		})
	}
}
