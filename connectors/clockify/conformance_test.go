package clockify_test

import (
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

const conformanceCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Smith, side: agency, time_tracker: [Anna Smith]}
  - {id: boris, name: Борис Иванов, side: agency, time_tracker: [Борис Иванов]}
clients:
  - {id: acme, name: Acme, projects: [Acme site]}
  - {id: romashka, name: Ромашка, projects: [Сайт Ромашки]}
sources:
  - {id: clockify, kind: clockify}
`

// The clockify source, and with it the windowed pull every time
// tracker shares, passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config: conformanceCfg,
		Info:   mapping.SourceInfo{ID: "clockify", Kind: clockify.KindName, Identity: mapping.IdentityTimeTracker},
		New: func(t *testing.T) conformance.Upstream {
			w := newWorld(t, clockifyfake.Options{})
			u := &clockifyUpstream{w: w, ids: w.fillDays(2026, 3, 19, 40)}
			w.clock.Advance(time.Hour)
			return u
		},
	})
}

type clockifyUpstream struct {
	w   *world
	ids []string
}

func (u *clockifyUpstream) source(t *testing.T, key string) connectors.Source {
	u.w.clock.Advance(time.Minute)
	opts := timetrack.NewOptions(u.w.fake.BaseURL())
	opts.BackfillMonths, opts.ReconcileMonths, opts.BatchSize = 2, 2, 7
	return timetrack.NewSource(u.w.tracker(t, key), *opts, connectors.Env{Now: u.w.clock.Now})
}

func (u *clockifyUpstream) Open(t *testing.T) connectors.Source { return u.source(t, u.w.fake.Key()) }

func (u *clockifyUpstream) Change(t *testing.T) func(testdb.Records) bool {
	begin := time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)
	id := u.w.fake.AddEntry(clockifyfake.Entry{UserID: u.w.boris, ProjectID: u.w.acme, Description: "созвон", Start: begin, End: begin.Add(45 * time.Minute)})
	return func(r testdb.Records) bool { return r.Entries[id].Seconds == 45*60 }
}

func (u *clockifyUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.w.fake.Delete(u.ids[3])
	return func(r testdb.Records) bool { _, live := r.Entries[u.ids[3]]; return !live }
}

func (u *clockifyUpstream) Fault(t *testing.T) {
	u.w.fake.Arm(clockifyfake.Fault{Kind: clockifyfake.FaultServerError, Status: 502})
}

func (u *clockifyUpstream) RateLimit(t *testing.T) {
	u.w.fake.Arm(clockifyfake.Fault{Kind: clockifyfake.FaultRateLimited})
}

func (u *clockifyUpstream) Refused(t *testing.T) connectors.Source {
	return u.source(t, "bm90LXRoZS1rZXk")
}
