package clockify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sync/engine"
)

const storeCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Smith, side: agency, time_tracker: ["%s"]}
  - {id: boris, name: Борис Иванов, side: agency, time_tracker: ["%s"]}
clients:
  - {id: acme, name: Acme, projects: ["%s"]}
  - {id: romashka, name: Ромашка, projects: ["%s"]}
sources:
  - {id: clockify, kind: clockify}
`

// fakeHours sums the fake's entries dated from..to the same way, naming
// people and clients as the config does.
func fakeHours(w *world, from, to string) map[string]int64 {
	person := map[string]string{w.anna: "anna", w.boris: "boris"}
	client := map[string]string{w.acme: "acme", w.romashka: "romashka"}
	out := map[string]int64{}
	for _, e := range want(w, from, to) {
		task := e.TaskID
		out[person[e.UserID]+"|"+task+"|"+client[e.ProjectID]] += e.Seconds()
	}
	return out
}

// The "done means": February and March synced from the fake
// through the engine into SQLite and PostgreSQL under a limit of two
// requests a second (so the sync meets 429s and waits them out), one
// entry edited, one deleted, one added, synced again: the store's live
// hours per person, task and client equal Clockify's exactly. A revoked token
// is the conformance suite's (credentials).
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			w := newWorld(t, clockifyfake.Options{Limit: 2})
			w.fillDays(2026, 1, 31, 20) // before the backfill: never read
			feb := w.fillDays(2026, 2, 28, 150)
			w.fillDays(2026, 3, 19, 140)
			w.fake.AddEntry(clockifyfake.Entry{UserID: w.boris, ProjectID: w.acme, Start: start.Add(-time.Hour)}) // in progress
			w.clock.Advance(time.Hour)

			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(storeCfg, w.anna, w.boris, w.acme, w.romashka)), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info := mapping.SourceInfo{ID: "clockify", Kind: clockify.KindName, Identity: mapping.IdentityTimeTracker}
			tr := w.tracker(t, w.fake.Key())
			opts := timetrack.NewOptions(w.fake.BaseURL())
			opts.BackfillMonths, opts.ReconcileMonths, opts.BatchSize = 2, 2, 100
			src := timetrack.NewSource(tr, *opts, connectors.Env{Now: w.clock.Now})
			sync := func() engine.Result { t.Helper(); return timetracktest.Sync(t, st, l.Config, info, src) }
			// The window ends a day after today, for members ahead of UTC.
			window := func() map[string]int64 { return fakeHours(w, "2026-02-01", "2026-03-21") }

			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			if w.fake.TooMany() == 0 {
				t.Error("the first sync never met the limit; the test proves nothing about 429")
			}
			timetracktest.SameHours(t, "first sync", "Clockify", timetracktest.LiveHours(t, st, "clockify"), window())

			w.clock.Advance(time.Minute)
			w.fake.Edit(feb[10], func(e *clockifyfake.Entry) { e.End, e.ProjectID = e.Start.Add(5*time.Hour+17*time.Second), w.romashka })
			w.fake.Delete(feb[11])
			w.fake.Lock(feb[12])
			begin := time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)
			w.fake.AddEntry(clockifyfake.Entry{UserID: w.boris, ProjectID: w.acme, TaskID: w.task, Description: "созвон",
				Start: begin, End: begin.Add(2*time.Hour + 45*time.Minute)})
			if res := sync(); res.Err != nil {
				t.Fatal(res.Err)
			}
			timetracktest.SameHours(t, "after edit, delete, add", "Clockify", timetracktest.LiveHours(t, st, "clockify"), window())
			var locked bool
			st.Get(context.Background(), &locked, st.Rebind(`SELECT locked FROM time_entries WHERE source_id = 'clockify' AND external_id = ?`), feb[12])
			if !locked {
				t.Error("the locked entry is not locked in the store")
			}
			if live, _, _ := st.TableCounts(ctx); live["time_entries"] != len(want(w, "2026-02-01", "2026-03-21")) {
				t.Errorf("%d live rows, want %d", live["time_entries"], len(want(w, "2026-02-01", "2026-03-21")))
			}

		})
	}
}
