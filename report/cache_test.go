package report_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/store"
)

// The cache gives what BuildHours gives, on every database: a report is
// served again only while no commit came and no event of its period came
// due; then it is built anew (counted on SQLite, whose version is the
// database's own).
func TestHoursCache(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			seed(t, st)
			cfg := fixtureConfig()
			c := &report.HoursCache{Store: st, Config: cfg}
			october := func(now time.Time) report.HoursRequest {
				p, err := report.ParsePeriod("2026-10", berlin, now)
				if err != nil {
					t.Fatal(err)
				}
				return report.HoursRequest{ClientID: "acme", Period: p, Now: now}
			}
			// same asks the cache and BuildHours at now: equal reports,
			// and the cache's hits and misses grown as wanted.
			hits, misses := 0, 0
			same := func(what string, now time.Time, hit bool) *report.Hours {
				t.Helper()
				got, err := c.Hours(ctx, october(now))
				if err != nil {
					t.Fatal(err)
				}
				want, err := report.BuildHours(ctx, st, cfg, october(now))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: the cache's report differs from BuildHours':\n got %+v\nwant %+v", what, got.Totals, want.Totals)
				}
				if hit {
					hits++
				} else {
					misses++
				}
				// PostgreSQL's data version is the server's: other tests'
				// commits elsewhere on it turn hits into misses, never the
				// reverse; the reports are compared all the same.
				if h, m := c.Stats(); dialect == store.SQLite && (h != hits || m != misses) {
					t.Errorf("%s: %d hits, %d misses; want %d and %d", what, h, m, hits, misses)
				}
				return got
			}

			// A complete month: kept until a commit.
			same("October, first", octoberNow, false)
			r := same("October, again", octoberNow.Add(time.Hour), true)
			if r.GeneratedAt != octoberNow.Add(time.Hour) {
				t.Errorf("a kept report made at %s, want now", r.GeneratedAt)
			}
			more := fixtureEntry("e10", "2026-10-21", "anna", "Anna", "acme", "t3", "production", true, 3600, `[]`)
			if _, err := st.WriteBatch(ctx, "tt", 1, &store.Batch{TimeEntries: []store.TimeEntryRow{more}}, "", false); err != nil {
				t.Fatal(err)
			}
			r = same("October after a new entry", octoberNow.Add(2*time.Hour), false)
			if r.Totals.BillableHours != 5.75 {
				t.Errorf("billable after the new entry: %v h, want 5.75", r.Totals.BillableHours)
			}
			same("October after a new entry, again", octoberNow.Add(3*time.Hour), true)
			// As of an earlier instant: made anew.
			same("October as of before the kept report", octoberNow.Add(-time.Hour), false)

			// The month still running: kept until the next event in it
			// comes due. response-5 starts at 08:00 UTC on the 28th.
			before := at("2026-10-28T07:00:00Z")
			r = same("the 28th at 07:00", before, false)
			if r.SLA.Unanswered != 0 {
				t.Errorf("at 07:00, %d unanswered, want 0", r.SLA.Unanswered)
			}
			same("the 28th at 07:59", at("2026-10-28T07:59:59Z"), true)
			r = same("the 28th at 08:00", at("2026-10-28T08:00:00Z"), false)
			if r.SLA.Unanswered != 1 {
				t.Errorf("at 08:00, %d unanswered, want 1", r.SLA.Unanswered)
			}
			// And until midnight, when the next day's entries count.
			same("the 28th at 23:59 Berlin", at("2026-10-28T22:59:00Z"), true)
			same("the 29th at 00:00 Berlin", at("2026-10-28T23:00:00Z"), false)
		})
	}
}
