package trello_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

// The trello API source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	s := newSmallWorld() // the fake's ids follow from its clock: every small world has the same
	conformance.Run(t, conformance.Harness{
		Config: fmt.Sprintf(storeCfg, s.w.Me().ID, s.client.ID, s.board.ID),
		Info:   mapping.SourceInfo{ID: "trello", Kind: trello.KindName, Identity: mapping.IdentityTrello},
		New: func(t *testing.T) conformance.Upstream {
			u := &trelloUpstream{s: newSmallWorld()}
			if u.s.board.ID != s.board.ID || u.s.client.ID != s.client.ID {
				t.Fatal("two small worlds have different ids; the harness's config cannot name them")
			}
			u.f = newFixture(t, u.s.w, u.s.clock)
			return u
		},
	})
}

type trelloUpstream struct {
	s *smallWorld
	f *fixture
}

func (u *trelloUpstream) Open(t *testing.T) connectors.Source {
	u.s.clock.Advance(time.Minute)
	return u.f.source(t, trello.APIOptions{Boards: []string{u.s.board.ID}, BatchSize: 2})
}

func (u *trelloUpstream) Change(t *testing.T) func(testdb.Records) bool {
	a := u.s.w.CommentCard(u.s.client.ID, u.s.card1.ID, "Any news?")
	return func(r testdb.Records) bool { return r.Messages[a.ID].Body == "Any news?" }
}

func (u *trelloUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.s.w.DeleteComment(u.s.comment.ID)
	u.s.clock.Advance(trello.DefaultReconcileEvery) // the reconcile finds deletions
	return func(r testdb.Records) bool { _, live := r.Messages[u.s.comment.ID]; return !live }
}

func (u *trelloUpstream) Fault(t *testing.T) {
	u.f.srv.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 503})
}

func (u *trelloUpstream) RateLimit(t *testing.T) {
	u.f.srv.Arm(trellofake.Fault{Kind: trellofake.FaultRateLimited})
}

func (u *trelloUpstream) Refused(t *testing.T) connectors.Source {
	u.s.w.RevokeToken(u.f.srv.Token())
	return u.Open(t)
}
