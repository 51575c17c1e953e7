package conformance

import (
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/mapping"
)

// TrackerConfig is the config of a tracker's harness: the people and
// projects every tracker's test world holds (Anna Smith and Борис Иванов;
// Acme site for Acme, Сайт Ромашки for Ромашка), the source named
// "tracker".
const TrackerConfig = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Smith, side: agency, time_tracker: [Anna Smith]}
  - {id: boris, name: Борис Иванов, side: agency, time_tracker: [Борис Иванов]}
clients:
  - {id: acme, name: Acme, projects: [Acme site]}
  - {id: romashka, name: Ромашка, projects: [Сайт Ромашки]}
sources:
  - {id: tracker, kind: time_csv, options: {files: [unused.csv]}}
`

// Tracker is the Upstream of a time tracker's API source: the windowed
// pull of timetrack on the tracker's fake. A test fills the fake before
// the first Open.
type Tracker struct {
	Clock *vclock.Virtual
	// BaseURL is the fake's API root.
	BaseURL string
	// Token is what the fake accepts.
	Token string
	// New builds the tracker's client with a token.
	New func(t *testing.T, token string) timetrack.Tracker
	// AddEntry adds one entry of 45 minutes in the window and returns
	// its id; DeleteEntry deletes one the fake held from the start and
	// returns its id.
	AddEntry, DeleteEntry func() string
	// Reconcile is how long after a deletion the pull re-reads its
	// window, for a tracker that lists changes between window re-reads
	// (Harvest); 0 for one that re-reads the window every sync.
	Reconcile time.Duration
	// ArmFault and ArmRateLimit arm a 5xx and a 429 once.
	ArmFault, ArmRateLimit func()
}

func (u *Tracker) source(t *testing.T, token string) connectors.Source {
	u.Clock.Advance(time.Minute)
	opts := timetrack.NewOptions(u.BaseURL)
	opts.BackfillMonths, opts.ReconcileMonths, opts.BatchSize = 2, 2, 7
	return timetrack.NewSource(u.New(t, token), *opts, connectors.Env{Now: u.Clock.Now})
}

// Open is the source with the good token.
func (u *Tracker) Open(t *testing.T) connectors.Source { return u.source(t, u.Token) }

// Change adds an entry.
func (u *Tracker) Change(t *testing.T) func(testdb.Records) bool {
	id := u.AddEntry()
	return func(r testdb.Records) bool { return r.Entries[id].Seconds == 45*60 }
}

// Delete deletes an entry.
func (u *Tracker) Delete(t *testing.T) func(testdb.Records) bool {
	id := u.DeleteEntry()
	u.Clock.Advance(u.Reconcile)
	return func(r testdb.Records) bool { _, live := r.Entries[id]; return !live }
}

// Fault arms a 5xx.
func (u *Tracker) Fault(t *testing.T) { u.ArmFault() }

// RateLimit arms a 429.
func (u *Tracker) RateLimit(t *testing.T) { u.ArmRateLimit() }

// Refused is the source with a token the fake does not know.
func (u *Tracker) Refused(t *testing.T) connectors.Source { return u.source(t, "not-the-token-0000") }

// RunTracker runs the suite on a time tracker's source of kind, each
// subtest on the fake newTracker fills.
func RunTracker(t *testing.T, kind string, newTracker func(t *testing.T) *Tracker) {
	t.Helper()
	Run(t, Harness{
		Config: TrackerConfig,
		Info:   mapping.SourceInfo{ID: "tracker", Kind: kind, Identity: mapping.IdentityTimeTracker},
		New:    func(t *testing.T) Upstream { return newTracker(t) },
	})
}
