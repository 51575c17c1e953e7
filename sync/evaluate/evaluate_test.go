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
	if resp := sla.Rule[*sla.ResponsePolicy](r.Policies("acme")); r.Policies("free") != nil || resp == nil || resp.Target != (sla.Duration{Time: 2 * time.Hour}) {
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

// The task and time facts come out of the store as the policies need them,
// on both databases: moves in order plus one to the current status when
// the source recorded none (an archived card), description length in
// characters, checklist names from the stored record, assignees, time
// logged on the task, and a client's time summed per day.
func TestLoadFacts(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			loc, _ := time.LoadLocation("Europe/Berlin")
			at := func(day, h int) time.Time { return time.Date(2026, 10, day, h, 0, 0, 0, loc).UTC() }
			due := at(9, 17)
			tasks := []store.TaskRow{
				{SourceID: "trello", ExternalID: "c1", ClientID: "acme", Title: "Landing page", Description: "Кратко",
					Status: "archived", Closed: true, Labels: "[]", AssigneeIDs: `["anna","boris"]`, AssigneeRefs: `["m-anna","m-boris"]`, CreatedAt: at(5, 9), DueAt: &due,
					Raw: `{"external_id":"c1","checklists":[{"name":"Brief","items":3,"done":1}],"updated_at":"2026-10-07T10:00:00Z"}`, Hash: "t1"},
				{SourceID: "trello", ExternalID: "c2", Title: "Nobody's", Status: "todo", Labels: "[]", AssigneeIDs: "[]",
					CreatedAt: at(5, 9), Raw: "{}", Hash: "t2"},
			}
			moves := []store.StatusChangeRow{
				{SourceID: "trello", ExternalID: "m2", TaskID: "c1", ClientID: "acme", FromStatus: "in_progress", ToStatus: "review", At: at(6, 10), Raw: "{}", Hash: "m2"},
				{SourceID: "trello", ExternalID: "m1", TaskID: "c1", ClientID: "acme", FromStatus: "todo", ToStatus: "in_progress", At: at(5, 10), Raw: "{}", Hash: "m1"},
				{SourceID: "trello", ExternalID: "m3", TaskID: "c2", FromStatus: "", ToStatus: "todo", At: at(5, 9), Raw: "{}", Hash: "m3"},
			}
			entry := func(id, client, date string, secs int64, billable bool, task string) store.TimeEntryRow {
				e := store.TimeEntryRow{SourceID: "everhour", ExternalID: id, ClientID: client, EntryDate: date, Seconds: secs,
					Category: "production", Billable: billable, Tags: "[]", Raw: "{}", Hash: id}
				if task != "" {
					e.TaskSourceID, e.TaskID = "trello", task
				}
				return e
			}
			entries := []store.TimeEntryRow{
				entry("e1", "acme", "2026-10-05", 3600, true, "c1"),
				entry("e2", "acme", "2026-10-05", 1800, true, "c1"),
				entry("e3", "acme", "2026-10-05", 900, false, ""),
				entry("e4", "acme", "2026-10-06", 7200, true, "c1"),
				entry("e5", "", "2026-10-06", 600, true, ""),
			}
			// The agency's comment on the card is a contact with the
			// client about it; its auto-reply is not.
			msgs := []store.MessageRow{
				{SourceID: "trello", ExternalID: "a1", Channel: "card_comment", ThreadKey: "c1", TaskSourceID: "trello", TaskID: "c1",
					ClientID: "acme", AuthorSide: "agency", Direction: "outbound", Body: "Could you check?", SentAt: at(6, 11), Raw: "{}", Hash: "a1"},
				{SourceID: "mail", ExternalID: "oof", Channel: "email", ThreadKey: "oof", TaskSourceID: "trello", TaskID: "c1",
					ClientID: "acme", AuthorSide: "agency", Direction: "outbound", Automated: true, SentAt: at(6, 12), Raw: "{}", Hash: "a2"},
				{SourceID: "mail", ExternalID: "q@x", Channel: "email", ThreadKey: "q@x", ClientID: "acme", AuthorSide: "agency",
					Direction: "outbound", Body: "Any news?\n\nOn Mon John wrote:\n> ok", SentAt: at(6, 13), Raw: "{}", Hash: "a3"},
			}
			if _, err := st.WriteBatch(ctx, "x", 0, &store.Batch{Tasks: tasks, StatusChanges: moves, TimeEntries: entries, Messages: msgs}, "", false); err != nil {
				t.Fatal(err)
			}
			// An entry deleted upstream no longer counts.
			if _, err := st.Exec(context.Background(), st.Rebind(`UPDATE time_entries SET deleted_at = ? WHERE external_id = 'e4'`), at(8, 9)); err != nil {
				t.Fatal(err)
			}
			f, err := LoadFacts(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tasks) != 1 {
				t.Fatalf("got %d tasks, want only the client's one: %+v", len(f.Tasks), f.Tasks)
			}
			task := f.Tasks[0]
			wantMoves := []sla.Move{
				{At: at(5, 10), From: "todo", To: "in_progress"},
				{At: at(6, 10), From: "in_progress", To: "review"},
				{At: time.Date(2026, 10, 7, 10, 0, 0, 0, time.UTC), From: "review", To: "archived"},
			}
			if len(task.Moves) != len(wantMoves) {
				t.Fatalf("moves = %+v, want %+v", task.Moves, wantMoves)
			}
			for i, m := range wantMoves {
				if !task.Moves[i].At.Equal(m.At) || task.Moves[i].From != m.From || task.Moves[i].To != m.To {
					t.Errorf("move %d = %+v, want %+v", i, task.Moves[i], m)
				}
			}
			if task.Key != "trello/c1" || task.DescriptionLen != 6 || len(task.Checklists) != 1 || task.Checklists[0] != "Brief" ||
				task.Assignees != 2 || task.DueAt == nil || !task.DueAt.Equal(due) || task.LoggedSeconds != 5400 ||
				task.Subject.Title != "Landing page" || !task.CreatedAt.Equal(at(5, 9)) {
				t.Errorf("task = %+v", task)
			}
			if len(task.Contacts) != 1 || !task.Contacts[0].Equal(at(6, 11)) {
				t.Errorf("contacts = %v, want the agency's comment only", task.Contacts)
			}
			// Whether a message asks matters only on threads of no task
			// (a task waits with its status), so only those bodies are read.
			if len(f.Messages) != 3 || f.Messages[0].Asks || !f.Messages[2].Asks {
				t.Errorf("messages = %+v, want only the email thread's message marked as asking", f.Messages)
			}
			want := []sla.TimeEntry{
				{ClientID: "acme", Date: "2026-10-05", Seconds: 900, Billable: false},
				{ClientID: "acme", Date: "2026-10-05", Seconds: 5400, Billable: true},
			}
			if len(f.TimeEntries) != len(want) || f.TimeEntries[0] != want[0] || f.TimeEntries[1] != want[1] {
				t.Errorf("time entries = %+v, want %+v", f.TimeEntries, want)
			}
		})
	}
}

func TestAsks(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]bool{
		"Could you send the logo in SVG?":                                        true,
		"Пришлите, пожалуйста, логотип в SVG?\n\n-- \nАнна":                      true,
		"Done, thanks!\n\nOn Mon, 5 Oct 2026 at 10:00, John wrote:\n> Any news?": false,
		"Готово.\n\n5 окт. 2026 г., в 10:00, Ольга писал(а):\n> Как дела?":       false,
		"Deployed.\n> can you deploy?":                                           false,
		"Sent.\n-----Original Message-----\nFrom: John\nReady?":                  false,
		"": false,
	} {
		if got := Asks(body); got != want {
			t.Errorf("Asks(%q) = %v, want %v", body, got, want)
		}
	}
}
