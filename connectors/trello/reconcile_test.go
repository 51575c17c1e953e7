package trello_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/record"
)

// scopesOf records the Complete scopes of every batch a pull emits, for
// a test to see what a reconcile claimed to hold whole.
type scopesOf struct {
	*memStore
	scopes []record.Scope
}

func (s *scopesOf) pull(t *testing.T, src *trello.Source) error {
	t.Helper()
	return src.Pull(t.Context(), s.cursor, func(ctx context.Context, b *record.Batch) error {
		s.scopes = append(s.scopes, b.Complete...)
		return s.emit(ctx, b)
	})
}

// A reconcile deletes only comments inside what it really listed: the
// comments since its window's start, which Trello's since= excludes, so a
// comment written at that very instant is not judged; every page of a
// window holding more than one page of comments; and nothing at all when
// a page fails.
func TestReconcileWindow(t *testing.T) {
	t.Parallel()
	t.Run("a comment at the window's first instant is kept", func(t *testing.T) {
		t.Parallel()
		s := newSmallWorld()
		f := newFixture(t, s.w, s.clock)
		src := f.source(t, trello.APIOptions{Boards: []string{s.board.ID}})
		m := &scopesOf{memStore: newMemStore()}
		if err := m.pull(t, src); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Minute)
		edge := s.w.CommentCard(s.client.ID, s.card1.ID, "Exactly fourteen days before the reconcile")
		if err := m.pull(t, src); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.messages[edge.ID]; !ok {
			t.Fatal("the comment was not stored")
		}
		// The reconcile's window starts at the comment's very millisecond.
		s.clock.AdvanceTo(edge.Date.Add(trello.DefaultReconcileWindow))
		m.scopes = nil
		if err := m.pull(t, src); err != nil {
			t.Fatal(err)
		}
		var window *record.Scope
		for i, sc := range m.scopes {
			if sc.Kind == record.ScopeMessages {
				window = &m.scopes[i]
			}
		}
		if window == nil {
			t.Fatalf("no reconcile happened: scopes %v", m.scopes)
		}
		if !window.From.After(edge.Date) {
			t.Errorf("the messages scope starts at %s, not after %s, which since= excludes", window.From, edge.Date)
		}
		if _, ok := m.messages[edge.ID]; !ok {
			t.Error("the reconcile deleted a comment Trello still holds, at the window's first instant")
		}
		diff(t, "reconcile", m.memStore, exported(t, s.w, s.board.ID))
	})
	t.Run("a window of more than one page", func(t *testing.T) {
		t.Parallel()
		s := newSmallWorld()
		f := newFixture(t, s.w, s.clock)
		src := f.source(t, trello.APIOptions{Boards: []string{s.board.ID}})
		m := newMemStore()
		var gone trellofake.Action
		for i := range trello.MaxPage + 200 {
			a := s.w.CommentCard(s.client.ID, s.card1.ID, fmt.Sprintf("comment %d", i))
			if i == 10 {
				gone = a // among the oldest: on the second page
			}
			if i%50 == 0 {
				s.clock.Advance(time.Second)
			}
		}
		if err := pullInto(t, src, m); err != nil {
			t.Fatal(err)
		}
		s.w.DeleteComment(gone.ID)
		s.clock.Advance(trello.DefaultReconcileEvery)
		f.srv.ResetStats()
		if err := pullInto(t, src, m); err != nil {
			t.Fatal(err)
		}
		if n := f.srv.RouteCount("GET /1/boards/{id}/actions"); n != 1 {
			t.Errorf("the reconcile asked for %d further pages of comments, want 1", n)
		}
		if _, ok := m.messages[gone.ID]; ok {
			t.Error("the comment deleted on the second page is still stored")
		}
		diff(t, "reconcile", m, exported(t, s.w, s.board.ID))
	})
	t.Run("a card deleted before a reconcile goes with its moves and comments", func(t *testing.T) {
		t.Parallel()
		s := newSmallWorld()
		f := newFixture(t, s.w, s.clock)
		src := f.source(t, trello.APIOptions{Boards: []string{s.board.ID}})
		m := newMemStore()
		if err := pullInto(t, src, m); err != nil {
			t.Fatal(err)
		}
		// The comment is older than the window: only the card's own scope
		// can take it.
		s.clock.Advance(trello.DefaultReconcileWindow + time.Hour)
		s.w.DeleteCard(s.w.Me().ID, s.card1.ID)
		if err := pullInto(t, src, m); err != nil {
			t.Fatal(err)
		}
		for _, c := range m.changes {
			if c.TaskID == s.card1.ID {
				t.Errorf("a move of the deleted card is still stored: %+v", c)
			}
		}
		if _, ok := m.messages[s.comment.ID]; ok {
			t.Error("the deleted card's comment is still stored")
		}
		diff(t, "reconcile", m, exported(t, s.w, s.board.ID))
	})
	t.Run("a failed page deletes nothing", func(t *testing.T) {
		t.Parallel()
		s := newSmallWorld()
		f := newFixture(t, s.w, s.clock)
		src := f.source(t, trello.APIOptions{Boards: []string{s.board.ID}})
		m := newMemStore()
		var gone trellofake.Action
		for i := range trello.MaxPage + 10 {
			a := s.w.CommentCard(s.client.ID, s.card1.ID, fmt.Sprintf("comment %d", i))
			if i == 0 {
				gone = a
			}
		}
		if err := pullInto(t, src, m); err != nil {
			t.Fatal(err)
		}
		stored, cursor := len(m.messages), m.cursor
		s.w.DeleteComment(gone.ID)
		s.w.DeleteCard(s.w.Me().ID, s.card2.ID)
		s.clock.Advance(trello.DefaultReconcileEvery)
		// The first page comes in the board's batch; the second fails.
		f.srv.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 500, Route: "/1/boards/*/actions", Times: -1})
		err := pullInto(t, src, m)
		f.srv.Disarm()
		var apiErr *trello.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("pull with a failing page: err = %v", err)
		}
		if len(m.messages) != stored || m.cursor != cursor || len(m.tasks) != 2 {
			t.Errorf("a failed reconcile changed the store: %d comments (had %d), %d tasks, cursor moved %v",
				len(m.messages), stored, len(m.tasks), m.cursor != cursor)
		}
		if err := pullInto(t, src, m); err != nil {
			t.Fatal(err)
		}
		diff(t, "reconcile after the failure", m, exported(t, s.w, s.board.ID))
	})
}
