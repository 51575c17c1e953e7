package report_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/store"
)

// octoberNow is after October in every zone: the period is complete.
var octoberNow = at("2026-11-05T12:00:00Z")

func buildOctober(t *testing.T, st *store.Store) *report.Hours {
	t.Helper()
	p, err := report.ParsePeriod("2026-10", berlin, octoberNow)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.BuildHours(context.Background(), st, fixtureConfig(), report.HoursRequest{ClientID: "acme", Period: p, Now: octoberNow})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The hour report of the fixture, on every database: each number was
// worked out by hand from the rows in fixture_test.go.
func TestBuildHours(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			seed(t, st)
			r := buildOctober(t, st)
			const h = 3600

			if !r.Complete || r.Period.First != "2026-10-01" || r.Period.Last != "2026-10-31" || r.Client.TimeZone != "Europe/Berlin" {
				t.Errorf("period: %+v complete=%v zone=%s", r.Period, r.Complete, r.Client.TimeZone)
			}
			// e2 2 h + e3 1 h + e4 0.5 h + e5 1.5 h + e7 0.25 h; e4 alone is not billable.
			wantTotals := report.Totals{Entries: 5, Seconds: 21 * h / 4, Hours: 5.25, BillableSeconds: 19 * h / 4, BillableHours: 4.75,
				NonBillableSeconds: h / 2, NonBillableHours: 0.5}
			if !reflect.DeepEqual(wantTotals, r.Totals) {
				t.Errorf("totals:\n got %+v\nwant %+v", r.Totals, wantTotals)
			}
			// 10 h a month, plus September's unused 7 h.
			wantBudget := &report.Budget{MonthlyHours: 10, Rollover: true, CarriedOverHours: 7, BudgetHours: 17,
				UsedSeconds: 19 * h / 4, UsedHours: 4.75, RemainingHours: 12.25, UsedPercent: 27.94}
			if !reflect.DeepEqual(wantBudget, r.Budget) {
				t.Errorf("budget:\n got %+v\nwant %+v", r.Budget, wantBudget)
			}
			wantCats := []report.CategoryHours{
				{Category: "production", Title: "Production", Seconds: 9 * h / 4, Hours: 2.25},
				{Category: "communication", Title: "Communication", Seconds: h, Hours: 1},
				{Category: "meeting", Title: "Meetings", Seconds: 3 * h / 2, Hours: 1.5},
				{Category: "non_billable", Title: "Not billable", Seconds: h / 2, Hours: 0.5, NonBillableSeconds: h / 2, NonBillableHours: 0.5},
			}
			if !reflect.DeepEqual(wantCats, r.Categories) {
				t.Errorf("categories:\n got %+v\nwant %+v", r.Categories, wantCats)
			}
			wantPeople := []report.PersonHours{
				{ID: "anna", Name: "Anna Petrova", Seconds: 5 * h / 2, Hours: 2.5, BillableSeconds: 2 * h, BillableHours: 2},
				{ID: "boris", Name: "Boris Ivanov", Seconds: 5 * h / 2, Hours: 2.5, BillableSeconds: 5 * h / 2, BillableHours: 2.5},
				{ID: "", Name: "Ghost", Seconds: h / 4, Hours: 0.25, BillableSeconds: h / 4, BillableHours: 0.25},
			}
			if !reflect.DeepEqual(wantPeople, r.People) {
				t.Errorf("people:\n got %+v\nwant %+v", r.People, wantPeople)
			}
			type task struct {
				ID, Title, URL, Status string
				OOS                    bool
				Seconds                int64
			}
			var tasks []task
			for _, x := range r.Tasks {
				tasks = append(tasks, task{x.ID, x.Title, x.URL, x.SourceStatus, x.OutOfScope, x.Seconds})
			}
			wantTasks := []task{
				{"t1", hostileTitle, "", "Done", false, 2 * h}, // the javascript: link is dropped
				{"t3", "Шапка сайта", "https://trello.com/c/t3", "Review", false, 3 * h / 2},
				{"t2", "Landing page", "https://trello.com/c/t2", "Doing", true, h},
				{"", "Time not linked to a task", "", "", false, 3 * h / 4},
			}
			if !reflect.DeepEqual(wantTasks, tasks) {
				t.Errorf("tasks:\n got %+v\nwant %+v", tasks, wantTasks)
			}
			// t3's tagged entry (1.5 h), t2's labelled one (1 h), t6 with none yet.
			var oos []task
			for _, x := range r.OutOfScope.Tasks {
				oos = append(oos, task{ID: x.ID, Seconds: x.Seconds})
			}
			if !reflect.DeepEqual([]task{{ID: "t3", Seconds: 3 * h / 2}, {ID: "t2", Seconds: h}, {ID: "t6"}}, oos) || r.OutOfScope.Seconds != 5*h/2 {
				t.Errorf("out of scope %d s:\n got %+v\nwant %+v", r.OutOfScope.Seconds, oos, []task{{ID: "t3", Seconds: 3 * h / 2}, {ID: "t2", Seconds: h}, {ID: "t6"}})
			}
			var created []string
			for _, e := range r.ClientCreated {
				created = append(created, e.ID+" "+e.Person)
			}
			// t7 was created at 00:30 on 1 November in Berlin: not October.
			if !reflect.DeepEqual([]string{"t1 John @board Carter", "t6 unknown"}, created) {
				t.Errorf("client created:\n got %+v\nwant %+v", created, []string{"t1 John @board Carter", "t6 unknown"})
			}
			var rework []string
			for _, rw := range r.Rework {
				rework = append(rework, rw.ID+" "+rw.LastAt.Format(time.RFC3339)+" "+string(rune('0'+rw.Times)))
			}
			wantRework := []string{"t2 2026-09-30T22:30:00Z 1", "t3 2026-10-09T10:00:00Z 2"}
			if !reflect.DeepEqual(wantRework, rework) {
				t.Errorf("rework:\n got %+v\nwant %+v", rework, wantRework)
			}
			if len(r.DoneUntracked) != 1 || r.DoneUntracked[0].ID != "t4" || r.DoneUntracked[0].Person != "Boris Ivanov" {
				t.Errorf("done untracked: %+v", r.DoneUntracked)
			}
			s := r.SLA
			if s.Answered != 4 || s.MedianSeconds != 5400 || s.P90Seconds != 36000 || s.Unanswered != 1 || s.Waived != 1 {
				t.Errorf("sla: %+v", s)
			}
			var breaches []string
			for _, b := range s.Breaches {
				breaches = append(breaches, b.ClockID+" "+b.URL+" "+b.Reason)
			}
			wantBreaches := []string{"response-4 https://trello.com/c/t2 ", "stage-1  client on holiday <until 20 Oct>"}
			if !reflect.DeepEqual(wantBreaches, breaches) {
				t.Errorf("breaches:\n got %+v\nwant %+v", breaches, wantBreaches)
			}
			var chart []int64
			for _, p := range r.Chart.Points {
				chart = append(chart, p.CumulativeSeconds)
			}
			// Weeks from Thu 1 Oct, Mon 5, 12, 19 and 26 Oct; billable 2 h on
			// the 1st, 1 h on the 5th, 1.5 h on the 20th, 0.25 h on the 31st.
			if !reflect.DeepEqual([]int64{2 * h, 3 * h, 3 * h, 9 * h / 2, 19 * h / 4}, chart) || r.Chart.Unit != "week" || r.Chart.BudgetHours != 17 {
				t.Errorf("chart %s, budget %v:\n got %+v\nwant %+v", r.Chart.Unit, r.Chart.BudgetHours, chart, []int64{2 * h, 3 * h, 3 * h, 9 * h / 2, 19 * h / 4})
			}
			if len(r.Entries) != 5 || r.Entries[0].EntryID != "e2" || r.Entries[0].Task.Title != hostileTitle {
				t.Errorf("entries: %+v", r.Entries)
			}
		})
	}
}

// A week's budget is the month's prorated by days: 17 h × 7/31.
func TestBuildHoursWeek(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, "sqlite")
	seed(t, st)
	p, err := report.ParsePeriod("2026-W41", berlin, octoberNow)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.BuildHours(context.Background(), st, fixtureConfig(), report.HoursRequest{ClientID: "acme", Period: p, Now: octoberNow})
	if err != nil {
		t.Fatal(err)
	}
	if r.Budget.BudgetHours != 3.84 || r.Totals.Seconds != 3600 || r.Chart.Unit != "day" || len(r.Chart.Points) != 7 {
		t.Errorf("week: budget %v, %d s, chart %s × %d", r.Budget.BudgetHours, r.Totals.Seconds, r.Chart.Unit, len(r.Chart.Points))
	}
	// Out-of-scope labels are the caller's: with another label, t2's
	// hour is no longer out of scope.
	r, err = report.BuildHours(context.Background(), st, fixtureConfig(), report.HoursRequest{ClientID: "acme", Period: p, Now: octoberNow,
		OutOfScopeLabels: []string{"change request"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.OutOfScope.Seconds != 0 || r.OutOfScope.Labels[0] != "change request" {
		t.Errorf("with another label: %+v", r.OutOfScope)
	}
	if _, err := report.BuildHours(context.Background(), st, fixtureConfig(), report.HoursRequest{ClientID: "nope", Period: p}); err == nil {
		t.Error("an unknown client built a report")
	}
}

// The capacity report of the fixture in October: two people on a
// Monday-to-Friday 8-hour calendar (22 workdays: 176 h each).
func TestBuildCapacity(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			seed(t, st)
			p, err := report.ParsePeriod("2026-10", berlin, octoberNow)
			if err != nil {
				t.Fatal(err)
			}
			r, err := report.BuildCapacity(context.Background(), st, fixtureConfig(), report.CapacityRequest{Period: p, Now: octoberNow,
				Calendars: fixtureCalendars(t)})
			if err != nil {
				t.Fatal(err)
			}
			// Acme: max(17 h budget, 4.75 h logged) + 3 h internal = 20 h of 352 h.
			want := report.CapacityTotals{People: 2, CapacityHours: 352, CommittedHours: 17, ClientHours: 5.25, InternalHours: 3,
				DemandHours: 20, HeadroomHours: 332}
			got := r.Totals
			got.Answer = ""
			if !reflect.DeepEqual(want, got) {
				t.Errorf("totals:\n got %+v\nwant %+v", got, want)
			}
			if r.Elapsed != 1 || !r.Complete {
				t.Errorf("a past month: elapsed %v, complete %v", r.Elapsed, r.Complete)
			}
			type load struct {
				ID     string
				Cap    float64
				Hours  float64
				Status string
			}
			var people []load
			for _, pl := range r.People {
				people = append(people, load{pl.ID, pl.CapacityHours, pl.Hours, pl.Status})
			}
			// Anna: 2.5 h for Acme + 3 h internal; the tracker's "Ghost" has no capacity.
			wantPeople := []load{{"anna", 176, 5.5, "light"}, {"boris", 176, 2.5, "light"}, {"", 0, 0.25, "no_capacity"}}
			if !reflect.DeepEqual(wantPeople, people) {
				t.Errorf("people:\n got %+v\nwant %+v", people, wantPeople)
			}
			if len(r.Clients) != 1 || r.Clients[0].Status != "under_served" || r.Clients[0].BillableHours != 4.75 || r.Clients[0].ExpectedToDateHours != 17 {
				t.Errorf("clients: %+v", r.Clients)
			}
			if want := "Yes: after every client's budget (or more, where they take more) and internal time, 332.0 of 352.0 capacity hours are free in this period. Under-served so far: Acme <Foods>."; r.Totals.Answer != want {
				t.Errorf("answer:\n got %s\nwant %s", r.Totals.Answer, want)
			}
			var matrix []string
			for _, m := range r.Matrix {
				matrix = append(matrix, m.Person+"|"+m.Client+"|"+fmt.Sprintf("%.2f", m.Hours))
			}
			wantMatrix := []string{"Anna Petrova|Acme <Foods>|2.50", "Anna Petrova|internal|3.00", "Boris Ivanov|Acme <Foods>|2.50", "Ghost (not in the config)|Acme <Foods>|0.25"}
			if !reflect.DeepEqual(wantMatrix, matrix) {
				t.Errorf("matrix:\n got %+v\nwant %+v", matrix, wantMatrix)
			}
		})
	}
}

// Halfway through a month the report projects: on Friday 16 October 2026
// at 17:00 Berlin, 12 of 22 workdays are gone.
func TestCapacityInProgress(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, "sqlite")
	seed(t, st)
	now := at("2026-10-16T15:00:00Z")
	p, _ := report.ParsePeriod("", berlin, now)
	r, err := report.BuildCapacity(context.Background(), st, fixtureConfig(), report.CapacityRequest{Period: p, Now: now, Calendars: fixtureCalendars(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || r.Period.Label != "2026-10" || r.Elapsed != 12.0/22 {
		t.Fatalf("period %s complete %v elapsed %v", r.Period.Label, r.Complete, r.Elapsed)
	}
	// Up to the 16th: Anna 2 h (t1) + 0.5 h + 3 h internal = 5.5 h against
	// 96 h so far; Acme's billable 2 + 1 = 3 h against 17 × 12/22 = 9.27 h.
	if a := r.People[0]; a.CapacityToDateHours != 96 || a.Hours != 5.5 || a.Utilization != 0.06 {
		t.Errorf("anna: %+v", a)
	}
	if c := r.Clients[0]; c.BillableHours != 3 || c.ExpectedToDateHours != 9.27 || c.ProjectedHours != 5.5 || c.Status != "under_served" {
		t.Errorf("acme: %+v", c)
	}
	// Internal time is projected too: 3 h × 22/12 = 5.5 h, so demand is
	// 17 + 5.5.
	if r.Totals.DemandHours != 22.5 {
		t.Errorf("demand %v, want 22.5", r.Totals.DemandHours)
	}
}

// Overbooked: a 500-hour client on a two-person team is a "no".
func TestCapacityOverbooked(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, "sqlite")
	seed(t, st)
	cfg := fixtureConfig()
	cfg.Clients[0].Budget = mapping.Budget{MonthlyHours: 500}
	p, _ := report.ParsePeriod("2026-10", berlin, octoberNow)
	r, err := report.BuildCapacity(context.Background(), st, cfg, report.CapacityRequest{Period: p, Now: octoberNow, Calendars: fixtureCalendars(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := "No: the clients and internal time ask 503.0 hours, 151.0 more than the team's 352.0. Under-served so far: Acme <Foods>."
	if r.Totals.HeadroomHours != -151 || r.Totals.Answer != want {
		t.Errorf("headroom %v, answer:\n got %s\nwant %s", r.Totals.HeadroomHours, r.Totals.Answer, want)
	}
	// Without calendars, a person's capacity is 8 hours a weekday.
	r, err = report.BuildCapacity(context.Background(), st, cfg, report.CapacityRequest{Period: p, Now: octoberNow})
	if err != nil {
		t.Fatal(err)
	}
	if r.People[0].Calendar != "default" || r.People[0].CapacityHours != 176 {
		t.Errorf("without a calendar: %+v", r.People[0])
	}
}
