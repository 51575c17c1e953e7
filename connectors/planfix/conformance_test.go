package planfix_test

import (
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

// The planfix source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config: storeCfg,
		Info:   mapping.SourceInfo{ID: "planfix", Kind: planfix.KindName, Identity: planfix.Identity},
		New: func(t *testing.T) conformance.Upstream {
			return &upstream{rig: newRig(t, planfixfake.Sample(epoch), planfixfake.DefaultToken)}
		},
	})
}

type upstream struct {
	*rig
	src *planfix.Source
}

func (u *upstream) Open(t *testing.T) connectors.Source {
	if u.src == nil {
		o := planfix.DefaultOptions()
		o.BatchSize = 1
		u.src = u.open(t, planfixfake.DefaultToken, o)
	}
	u.clock.Advance(time.Minute)
	return u.src
}

func (u *upstream) Change(t *testing.T) func(testdb.Records) bool {
	id := u.fake.Comment("3", planfix.Ref{ID: "contact:12", Name: "Jane Doe"}, "<p>One more thing.</p>", u.clock.Now())
	return func(r testdb.Records) bool { return r.Messages[id].Body == "One more thing." }
}

func (u *upstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.fake.Edit(func(w *planfixfake.World) { w.Tasks = w.Tasks[:2] })
	u.clock.Advance(25 * time.Hour) // the daily reconcile finds it
	return func(r testdb.Records) bool { _, live := r.Tasks["3"]; return !live }
}

func (u *upstream) Fault(t *testing.T) {
	u.fake.Arm(fakeapi.Fault{Kind: fakeapi.ServerError, Status: 502, Path: "/rest/task/list"})
}

func (u *upstream) RateLimit(t *testing.T) {
	u.fake.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited, Path: "/rest/task/1/comments/list"})
}

func (u *upstream) Refused(t *testing.T) connectors.Source {
	return u.open(t, "ffffffffffffffffffffffffffffffff", planfix.DefaultOptions())
}
