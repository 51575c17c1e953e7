package harvest_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sync/engine"
)

const storeCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Smith, side: agency, time_tracker: ["%d"]}
  - {id: boris, name: Борис Иванов, side: agency, time_tracker: ["%d"]}
clients:
  - {id: acme, name: Acme, projects: ["%d"]}
  - {id: romashka, name: Ромашка, projects: ["%d"]}
sources:
  - {id: harvest, kind: harvest}
`

// fakeHours sums the fake's entries dated from..to the same way, naming
// people and clients as the config does.
func fakeHours(w *world, from, to string) map[string]int64 {
	person := map[int64]string{w.anna: "anna", w.boris: "boris"}
	client := map[int64]string{w.acme: "acme", w.romashka: "romashka"}
	out := map[string]int64{}
	for _, e := range want(w, from, to) {
		task := fmt.Sprint(e.TaskID)
		if e.External != nil {
			task = "tr:" + e.External.ID
		}
		out[person[e.UserID]+"|"+task+"|"+client[e.ProjectID]] += harvest.Seconds(math.Round(e.Hours*100) / 100)
	}
	return out
}

// The "done means": a month and a half synced from the fake
// through the engine into SQLite and PostgreSQL, one entry edited, one
// deleted, one added, synced again: the store's live hours per person,
// task and client equal Harvest's exactly. A burst of 429s during the
// first sync slows it down. A revoked token
// is the conformance suite's (credentials).
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			w := newWorld(t, harvestfake.Options{})
			w.fill(2026, 1, 40) // before the backfill: never read
			feb := w.fill(2026, 2, 1500)
			w.fillDays(2026, 3, 20, 1300)
			w.fake.AddEntry(harvestfake.Entry{SpentDate: "2026-03-20", UserID: w.boris, ProjectID: w.acme, TaskID: w.development,
				Hours: 1, IsRunning: true})
			w.fake.AddEntry(harvestfake.Entry{SpentDate: "2026-03-18", UserID: w.anna, ProjectID: w.acme, TaskID: w.design, Hours: 1.5,
				External: &harvestfake.ExternalReference{ID: "AbCd1234", Service: "trello", Permalink: "https://trello.com/c/AbCd1234/12-header"}})

			// The data is older than the first sync (a change list read
			// with an overlap would otherwise list it all again).
			w.clock.Advance(time.Hour)

			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(storeCfg, w.anna, w.boris, w.acme, w.romashka)), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info := mapping.SourceInfo{ID: "harvest", Kind: harvest.KindName, Identity: mapping.IdentityTimeTracker}
			tr := w.tracker(t, w.fake.Token())
			opts := timetrack.NewOptions(w.fake.BaseURL())
			opts.BackfillMonths, opts.ReconcileMonths, opts.BatchSize = 2, 2, 500
			src := timetrack.NewSource(tr, *opts, connectors.Env{Now: w.clock.Now})
			sync := func() engine.Result { t.Helper(); return timetracktest.Sync(t, st, l.Config, info, src) }

			w.fake.Arm(harvestfake.Fault{Kind: harvestfake.FaultRateLimited, Path: "/v2/time_entries", Skip: 1, Times: 2, RetryAfter: 15})
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			if n := tr.HTTP().Stats().Throttled; n != 2 {
				t.Errorf("%d throttling answers seen, want the 2 armed", n)
			}
			timetracktest.SameHours(t, "first sync", "Harvest", timetracktest.LiveHours(t, st, "harvest"), fakeHours(w, "2026-02-01", "2026-03-21"))
			if h := fakeHours(w, "2026-02-01", "2026-03-21"); h["anna|tr:AbCd1234|acme"] != 5400 {
				t.Errorf("the Trello-linked entry is not where expected: %v", h)
			}

			// Edit one (more hours, another client), delete one, add one,
			// lock one.
			w.clock.Advance(time.Minute)
			w.fake.Edit(feb[10], func(e *harvestfake.Entry) { e.Hours, e.ProjectID = 6.5, w.romashka })
			w.fake.Delete(feb[11])
			w.fake.AddEntry(harvestfake.Entry{SpentDate: "2026-03-19", UserID: w.boris, ProjectID: w.acme, TaskID: w.design, Hours: 2.75, Notes: "созвон"})
			w.fake.Lock(feb[12], "Item Approved and Locked for this Time Period")

			// Within reconcile_every: only the changes are read, so the
			// deleted entry is still live...
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			var live int
			st.Get(context.Background(), &live, st.Rebind(`SELECT COUNT(*) FROM time_entries WHERE source_id = 'harvest' AND external_id = ? AND deleted_at IS NULL`), fmt.Sprint(feb[11]))
			if live != 1 {
				t.Errorf("a change list cannot report deletions, yet the deleted entry is gone before the window re-read")
			}
			var locked bool
			st.Get(context.Background(), &locked, st.Rebind(`SELECT locked FROM time_entries WHERE source_id = 'harvest' AND external_id = ?`), fmt.Sprint(feb[12]))
			if !locked {
				t.Error("the locked entry is not locked in the store")
			}
			// ...and the window re-read removes it: the hours match exactly.
			w.clock.Advance(timetrack.DefaultReconcileEvery)
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			timetracktest.SameHours(t, "after edit, delete, add", "Harvest", timetracktest.LiveHours(t, st, "harvest"), fakeHours(w, "2026-02-01", "2026-03-21"))
			if live, _, _ := st.TableCounts(ctx); live["time_entries"] != len(want(w, "2026-02-01", "2026-03-21")) {
				t.Errorf("%d live rows, want %d", live["time_entries"], len(want(w, "2026-02-01", "2026-03-21")))
			}

		})
	}
}
