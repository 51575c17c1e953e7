package toggl_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
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
  - {id: toggl, kind: toggl}
`

// fakeHours sums the fake's entries dated from..to the same way, naming
// people and clients as the config does.
func fakeHours(w *world, from, to string) map[string]int64 {
	person := map[int64]string{w.anna: "anna", w.boris: "boris"}
	client := map[int64]string{w.acme: "acme", w.romashka: "romashka"}
	out := map[string]int64{}
	for _, e := range want(w, from, to) {
		task := ""
		if e.TaskID != 0 {
			task = fmt.Sprint(e.TaskID)
		}
		out[person[e.UserID]+"|"+task+"|"+client[e.ProjectID]] += e.Seconds()
	}
	return out
}

// The "done means": February and March synced from the fake
// through the engine into SQLite and PostgreSQL under a quota of four
// requests an hour (so the sync meets 402s and waits for the quota), one
// entry edited, one deleted, one added, synced again: the store's live
// hours per person, task and client equal Toggl's exactly. A revoked token
// is the conformance suite's (credentials).
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			w := newWorld(t, togglfake.Options{Quota: 4})
			w.fillDays(2026, 1, 31, 20) // before the backfill: never read
			feb := w.fillDays(2026, 2, 28, 150)
			w.fillDays(2026, 3, 19, 140)
			w.fake.AddEntry(togglfake.Entry{UserID: w.boris, ProjectID: w.acme, Start: start.Add(-time.Hour)}) // running
			w.clock.Advance(time.Hour)

			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(storeCfg, w.anna, w.boris, w.acme, w.romashka)), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info := mapping.SourceInfo{ID: "toggl", Kind: toggl.KindName, Identity: mapping.IdentityTimeTracker}
			tr := w.tracker(t, w.fake.Token())
			opts := timetrack.NewOptions(w.fake.BaseURL())
			opts.BackfillMonths, opts.ReconcileMonths, opts.BatchSize = 2, 2, 100
			opts.Deadline = 24 * time.Hour // a quota of 4 an hour: hours of waiting, all of it virtual
			src := timetrack.NewSource(tr, *opts, connectors.Env{Now: w.clock.Now})
			sync := func() engine.Result { t.Helper(); return timetracktest.Sync(t, st, l.Config, info, src) }
			// The window ends a day after today, for members ahead of UTC.
			window := func() map[string]int64 { return fakeHours(w, "2026-02-01", "2026-03-21") }

			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			if w.fake.QuotaSpent() == 0 {
				t.Error("the first sync never met the quota; the test proves nothing about 402")
			}
			timetracktest.SameHours(t, "first sync", "Toggl", timetracktest.LiveHours(t, st, "toggl"), window())

			w.clock.Advance(time.Minute)
			w.fake.Edit(feb[10], func(e *togglfake.Entry) { e.Stop, e.ProjectID = e.Start.Add(5*time.Hour+17*time.Second), w.romashka })
			w.fake.Delete(feb[11])
			begin := time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)
			w.fake.AddEntry(togglfake.Entry{UserID: w.boris, ProjectID: w.acme, TaskID: w.task, Description: "созвон",
				Start: begin, Stop: begin.Add(2*time.Hour + 45*time.Minute)})
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			timetracktest.SameHours(t, "after edit, delete, add", "Toggl", timetracktest.LiveHours(t, st, "toggl"), window())
			if live, _, _ := st.TableCounts(ctx); live["time_entries"] != len(want(w, "2026-02-01", "2026-03-21")) {
				t.Errorf("%d live rows, want %d", live["time_entries"], len(want(w, "2026-02-01", "2026-03-21")))
			}

		})
	}
}
