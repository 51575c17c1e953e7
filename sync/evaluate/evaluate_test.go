package evaluate

import (
	"context"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

const cfgText = `agency: {name: Northwind, calendar: berlin}
calendars:
  berlin:
    time_zone: Europe/Berlin
    hours: {mon-fri: ["09:00-13:00", "14:00-18:00"], sat: ["10:00-12:00"]}
policy_sets:
  standard: {response: {target: 2h, warn: 1h}}
clients:
  - {id: acme, name: Acme, policy_set: standard}
  - {id: free, name: No promise}
`

func rules(t *testing.T) *Rules {
	t.Helper()
	l, err := mapping.Parse("karkas.yaml", []byte(cfgText), mapping.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRules(l.Config)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCalendarSpec(t *testing.T) {
	t.Parallel()
	l, _ := mapping.Parse("karkas.yaml", []byte(cfgText), mapping.LoadOptions{})
	spec, err := CalendarSpec("berlin", l.Calendars["berlin"])
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Week[0]) != 2 || spec.Week[0][1] != (sla.Interval{From: 14 * 60, To: 18 * 60}) {
		t.Errorf("monday = %v", spec.Week[0])
	}
	if len(spec.Week[5]) != 1 || len(spec.Week[6]) != 0 {
		t.Errorf("weekend = %v %v", spec.Week[5], spec.Week[6])
	}
	r := rules(t)
	if r.Policies("free") != nil || r.Policies("acme").Response == nil || r.Policies("acme").Response.Target != (sla.Duration{Time: 2 * time.Hour}) {
		t.Errorf("policies wrong: free %v, acme %v", r.Policies("free"), r.Policies("acme"))
	}
}

// A client's card comment starts a clock that the agency's email reply,
// linked to the same card, stops: one conversation across channels.
func TestReplyOnAnotherChannel(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Berlin")
	mon := func(h, m int) time.Time { return time.Date(2026, 10, 5, h, m, 0, 0, loc).UTC() }
	task := store.TaskRow{SourceID: "trello", ExternalID: "c1", ClientID: "acme", Title: "Landing page", Labels: "[]",
		AssigneeIDs: "[]", CreatedAt: mon(8, 0), Raw: "{}", Hash: "t"}
	comment := store.MessageRow{SourceID: "trello", ExternalID: "a1", Channel: "card_comment", ThreadKey: "c1",
		TaskSourceID: "trello", TaskID: "c1", ClientID: "acme", AuthorSide: "client", Direction: "inbound",
		SentAt: mon(10, 0), Raw: "{}", Hash: "m1"}
	reply := store.MessageRow{SourceID: "mail", ExternalID: "r@x", Channel: "email", ThreadKey: "r@x",
		TaskSourceID: "trello", TaskID: "c1", ClientID: "acme", AuthorSide: "agency", Direction: "outbound",
		SentAt: mon(11, 30), Raw: "{}", Hash: "m2"}
	oof := store.MessageRow{SourceID: "mail", ExternalID: "oof@x", Channel: "email", ThreadKey: "q@x",
		ClientID: "acme", AuthorSide: "agency", Direction: "outbound", Automated: true, SentAt: mon(10, 1), Raw: "{}", Hash: "m3"}
	if _, err := st.WriteBatch(ctx, "x", 0, &store.Batch{Tasks: []store.TaskRow{task},
		Messages: []store.MessageRow{comment, reply, oof}}, "", false); err != nil {
		t.Fatal(err)
	}
	msgs, err := Messages(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	clocks := sla.ResponseClocks(msgs, rules(t), mon(17, 0))
	if len(clocks) != 1 {
		t.Fatalf("got %d clocks, want 1: %+v", len(clocks), clocks)
	}
	c := clocks[0]
	if c.State != sla.Met || c.BusinessElapsed != 90*time.Minute || c.Subject.Kind != "task" || c.Subject.Title != "Landing page" {
		t.Errorf("clock = %+v", c)
	}
}
