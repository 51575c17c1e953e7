package report_test

import (
	"context"
	"testing"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/store"
)

// October's budget of the fixture (10 h a month; September used 3 h)
// under each carry-over rule, worked by hand, on every database.
func TestBudgetEdges(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			seed(t, st)
			october := func(b mapping.Budget) *report.Budget {
				t.Helper()
				cfg := fixtureConfig()
				cfg.Clients[0].Budget = b
				p, _ := report.ParsePeriod("2026-10", berlin, octoberNow)
				r, err := report.BuildHours(ctx, st, cfg, report.HoursRequest{ClientID: "acme", Period: p, Now: octoberNow})
				if err != nil {
					t.Fatal(err)
				}
				return r.Budget
			}
			for _, tc := range []struct {
				name         string
				budget       mapping.Budget
				hours, carry float64
			}{
				{"rollover: September's 7 unused hours", mapping.Budget{MonthlyHours: 10, Rollover: true}, 17, 7},
				{"capped at 2 h", mapping.Budget{MonthlyHours: 10, Rollover: true, RolloverMax: 2}, 12, 2},
				{"starting in October: nothing carried into it", mapping.Budget{MonthlyHours: 10, Rollover: true, Start: "2026-10"}, 10, 0},
			} {
				b := october(tc.budget)
				if b == nil || b.BudgetHours != tc.hours || b.CarriedOverHours != tc.carry {
					t.Errorf("%s: %+v, want %v h with %v carried", tc.name, b, tc.hours, tc.carry)
				}
			}
			if b := october(mapping.Budget{MonthlyHours: 10, Rollover: true, Start: "2026-11"}); b != nil {
				t.Errorf("a budget starting in November shows in October: %+v", b)
			}

			// An overrun in September (13 h) is taken from October's budget.
			more := fixtureEntry("e11", "2026-09-16", "anna", "Anna", "acme", "", "production", true, 10*3600, `[]`)
			if _, err := st.WriteBatch(ctx, "tt", 1, &store.Batch{TimeEntries: []store.TimeEntryRow{more}}, "", false); err != nil {
				t.Fatal(err)
			}
			if b := october(mapping.Budget{MonthlyHours: 10, Rollover: true, CarryOverrun: true}); b == nil || b.BudgetHours != 7 || b.CarriedOverHours != -3 {
				t.Errorf("a 3 h overrun carried: %+v, want 7 h with -3 carried", b)
			}
			if b := october(mapping.Budget{MonthlyHours: 10, Rollover: true}); b == nil || b.BudgetHours != 10 || b.CarriedOverHours != 0 {
				t.Errorf("an overrun not carried: %+v, want 10 h", b)
			}

			// September's entries gone: October is the first month with
			// time, and nothing carries into it.
			if _, err := st.Exec(ctx, `UPDATE time_entries SET deleted_at = ? WHERE external_id IN ('e1', 'e11')`, at("2026-11-01T00:00:00Z")); err != nil {
				t.Fatal(err)
			}
			if first, err := st.FirstEntryMonths(ctx, "acme"); err != nil || first["acme"] != "2026-10" {
				t.Fatalf("the first month with time: %v %v", first, err)
			}
			// September used nothing: before, its 10 h carried whole.
			if b := october(mapping.Budget{MonthlyHours: 10, Rollover: true}); b == nil || b.BudgetHours != 10 || b.CarriedOverHours != 0 {
				t.Errorf("the client's first month: %+v, want 10 h and nothing carried", b)
			}
			// With a start before it, the quiet September counts.
			if b := october(mapping.Budget{MonthlyHours: 10, Rollover: true, Start: "2026-09"}); b == nil || b.BudgetHours != 20 || b.CarriedOverHours != 10 {
				t.Errorf("a budget from September: %+v, want 20 h with 10 carried", b)
			}
		})
	}
}
