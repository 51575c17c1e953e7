package report_test

import (
	"context"
	"testing"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/report"
)

// A client's out_of_scope_labels replace the default; the request's
// labels (the --out-of-scope-label flag) replace the client's.
func TestClientOutOfScopeLabels(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, "sqlite")
	seed(t, st)
	p, err := report.ParsePeriod("2026-10", berlin, octoberNow)
	if err != nil {
		t.Fatal(err)
	}
	build := func(clientLabels, flag []string) *report.Hours {
		t.Helper()
		cfg := fixtureConfig()
		cfg.Clients[0].OutOfScopeLabels = clientLabels
		r, err := report.BuildHours(context.Background(), st, cfg, report.HoursRequest{ClientID: "acme", Period: p, Now: octoberNow, OutOfScopeLabels: flag})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	def := build(nil, nil)
	if def.OutOfScope.Seconds == 0 || def.OutOfScope.Labels[0] != "out of scope" {
		t.Fatalf("the default label finds nothing: %+v", def.OutOfScope)
	}
	if r := build([]string{"change request"}, nil); r.OutOfScope.Seconds != 0 || r.OutOfScope.Labels[0] != "change request" {
		t.Errorf("the client's label: %+v", r.OutOfScope)
	}
	if r := build([]string{"change request"}, []string{"Out-Of-Scope"}); r.OutOfScope.Seconds != def.OutOfScope.Seconds {
		t.Errorf("the flag over the client's label: %d s, want %d", r.OutOfScope.Seconds, def.OutOfScope.Seconds)
	}
}

// A person's capacity share scales their capacity hours.
func TestCapacityShare(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, "sqlite")
	seed(t, st)
	cfg := fixtureConfig()
	half := 0.5
	cfg.People[1].Capacity = &half
	p, _ := report.ParsePeriod("2026-10", berlin, octoberNow)
	r, err := report.BuildCapacity(context.Background(), st, cfg, report.CapacityRequest{Period: p, Now: octoberNow, Calendars: fixtureCalendars(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r.People[0].CapacityHours != 176 || r.People[1].ID != "boris" || r.People[1].CapacityHours != 88 || r.Totals.CapacityHours != 264 {
		t.Errorf("anna %v h, %s %v h, team %v h; want 176, boris 88, 264", r.People[0].CapacityHours, r.People[1].ID, r.People[1].CapacityHours, r.Totals.CapacityHours)
	}
}
