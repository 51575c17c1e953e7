package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// The fixture: one client, Acme, in Berlin, with a 10-hour monthly budget
// that rolls over, and October 2026 as the period under test. Every number
// the tests expect is worked out by hand in the comments below.

// hostileTitle is what a client could type as a card title: a script tag,
// a Trello mention of the whole board, a Markdown link to javascript:, a
// spreadsheet formula and a hidden-marker look-alike.
const hostileTitle = `=HYPERLINK("http://evil") <script>alert(1)</script> @board [click](javascript:alert(1)) [karkas:x]: #`

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func fixtureConfig() *mapping.Config {
	return &mapping.Config{
		Agency:    mapping.Agency{Name: "Northwind <Digital>", Calendar: "berlin"},
		Calendars: map[string]mapping.Calendar{"berlin": {TimeZone: "Europe/Berlin", Hours: map[string][]string{"mon-fri": {"09:00-17:00"}}}},
		People: []mapping.Person{
			{ID: "anna", Name: "Anna Petrova", Side: "agency", Role: "pm"},
			{ID: "boris", Name: "Boris Ivanov", Side: "agency", Role: "lead"},
			{ID: "john", Name: "John @board Carter", Side: "client", Role: "contact", Client: "acme"},
		},
		Clients: []mapping.Client{{ID: "acme", Name: "Acme <Foods>", Calendar: "berlin", Budget: mapping.Budget{MonthlyHours: 10, Rollover: true}}},
	}
}

// fixtureCalendars is the config's calendar built the way the CLI builds
// it: Monday to Friday, 09:00-17:00 Berlin, no public holidays.
func fixtureCalendars(t *testing.T) map[string]*sla.Calendar {
	t.Helper()
	spec := sla.CalendarSpec{Name: "berlin", Location: berlin}
	for d := range 5 {
		spec.Week[d] = []sla.Interval{{From: 9 * 60, To: 17 * 60}}
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*sla.Calendar{"berlin": cal}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixtureTask(id, title, url, status, source, labels, creatorSide, creator string, created time.Time) store.TaskRow {
	r := store.TaskRow{SourceID: "trello", ExternalID: id, ContainerID: "b1", ShortRef: "s" + id, ClientID: "acme",
		Title: title, SourceStatus: source, Status: status, Labels: labels, AssigneeIDs: `[]`,
		CreatorPersonID: creator, CreatorSide: creatorSide, CreatedAt: created, URL: url, Raw: fmt.Sprintf(`{"id":%q}`, id)}
	r.Hash = store.Hash(r)
	return r
}

func fixtureMove(n int, task, from, to, when, actor string) store.StatusChangeRow {
	r := store.StatusChangeRow{SourceID: "trello", ExternalID: fmt.Sprintf("m%d", n), TaskID: task, ClientID: "acme",
		FromStatus: from, ToStatus: to, At: at(when), ActorPersonID: actor, ActorSide: "agency", Raw: "{}"}
	r.Hash = store.Hash(r)
	return r
}

func fixtureEntry(id, date, person, ref, client, task, category string, billable bool, seconds int64, tags string) store.TimeEntryRow {
	r := store.TimeEntryRow{SourceID: "tt", ExternalID: id, PersonRef: ref, PersonID: person, ClientID: client,
		EntryDate: date, Seconds: seconds, Category: category, Billable: billable, Tags: tags, Project: "Acme — Web",
		Note: "note " + id, Raw: "{}"}
	if task != "" {
		r.TaskRef, r.TaskSourceID, r.TaskID = "tr:"+task, "trello", task
	}
	r.Hash = store.Hash(r)
	return r
}

// seed writes the fixture into st.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	tasks := []store.TaskRow{
		// t1: the client's own card, with a hostile title and link; 2 h on it.
		fixtureTask("t1", hostileTitle, "javascript:alert(1)", "done", "Done", `["bug"]`, "client", "john", at("2026-10-02T10:00:00Z")),
		// t2: out of scope by label (another spelling of it).
		fixtureTask("t2", "Landing page", "https://trello.com/c/t2", "in_progress", "Doing", `["Out of Scope"]`, "agency", "anna", at("2026-09-01T10:00:00Z")),
		// t3: Cyrillic; one of its entries is tagged out-of-scope.
		fixtureTask("t3", "Шапка сайта", "https://trello.com/c/t3", "review", "Review", `[]`, "agency", "anna", at("2026-09-02T10:00:00Z")),
		// t4: done in October with no time at all.
		fixtureTask("t4", "Untracked thing", "https://trello.com/c/t4", "done", "Done", `[]`, "agency", "boris", at("2026-09-03T10:00:00Z")),
		// t5: done with no time, but in September.
		fixtureTask("t5", "Old done", "https://trello.com/c/t5", "done", "Done", `[]`, "agency", "boris", at("2026-08-03T10:00:00Z")),
		// t6: marked out of scope in October, no time yet.
		fixtureTask("t6", "Extra banner", "https://trello.com/c/t6", "todo", "To Do", `["out of scope"]`, "client", "", at("2026-10-25T10:00:00Z")),
		// t7: created by the client on 1 November, 00:30 Berlin: outside.
		fixtureTask("t7", "Next month", "https://trello.com/c/t7", "todo", "To Do", `[]`, "client", "john", at("2026-10-31T23:30:00Z")),
	}
	moves := []store.StatusChangeRow{
		// t2 back from review at 00:30 Berlin on 1 October: inside.
		fixtureMove(1, "t2", "review", "in_progress", "2026-09-30T22:30:00Z", "anna"),
		fixtureMove(2, "t2", "review", "waiting_client", "2026-10-10T10:00:00Z", "anna"), // a pause, not rework
		fixtureMove(3, "t3", "in_progress", "review", "2026-10-06T10:00:00Z", "anna"),
		fixtureMove(4, "t3", "review", "in_progress", "2026-10-07T10:00:00Z", "boris"),
		fixtureMove(5, "t3", "in_progress", "review", "2026-10-08T10:00:00Z", "anna"),
		fixtureMove(6, "t3", "review", "todo", "2026-10-09T10:00:00Z", "boris"),
		fixtureMove(7, "t3", "review", "backlog", "2026-10-31T23:30:00Z", "boris"), // 1 November in Berlin
		fixtureMove(8, "t4", "review", "done", "2026-10-15T09:00:00Z", "boris"),
		fixtureMove(9, "t5", "review", "done", "2026-09-20T09:00:00Z", "boris"),
		fixtureMove(10, "t1", "review", "done", "2026-10-30T09:00:00Z", "anna"),
	}
	h := int64(3600)
	deleted := fixtureEntry("e8", "2026-10-10", "anna", "Anna", "acme", "t2", "production", true, 5*h, `[]`)
	gone := at("2026-10-11T00:00:00Z")
	deleted.DeletedAt = &gone
	entries := []store.TimeEntryRow{
		fixtureEntry("e1", "2026-09-15", "anna", "Anna", "acme", "", "production", true, 3*h, `[]`),                  // September: 7 h roll over
		fixtureEntry("e2", "2026-10-01", "anna", "Anna", "acme", "t1", "production", true, 2*h, `[]`),                // 2 h
		fixtureEntry("e3", "2026-10-05", "boris", "Boris", "acme", "t2", "communication", true, 1*h, `[]`),           // 1 h, out of scope by label
		fixtureEntry("e4", "2026-10-12", "anna", "Anna", "acme", "", "non_billable", false, h/2, `[]`),               // 0.5 h, not billable
		fixtureEntry("e5", "2026-10-20", "boris", "Boris", "acme", "t3", "meeting", true, 3*h/2, `["out-of-scope"]`), // 1.5 h, out of scope by tag
		fixtureEntry("e6", "2026-11-01", "anna", "Anna", "acme", "t1", "production", true, 4*h, `[]`),                // November: outside
		fixtureEntry("e7", "2026-10-31", "", "Ghost", "acme", "", "production", true, h/4, `[]`),                     // 0.25 h by nobody the config knows
		fixtureEntry("e9", "2026-10-07", "anna", "Anna", "", "", "non_billable", false, 3*h, `[]`),                   // internal: no client
		deleted, // deleted upstream: counts nowhere
	}
	if _, err := st.WriteBatch(ctx, "trello", 1, &store.Batch{Tasks: tasks, StatusChanges: moves}, "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteBatch(ctx, "tt", 1, &store.Batch{TimeEntries: entries}, "", false); err != nil {
		t.Fatal(err)
	}
	ts := func(s string) *time.Time { v := at(s); return &v }
	clock := func(id, policy, state, started string, stopped, breached *time.Time, secs int64, detail string) store.ClockRow {
		return store.ClockRow{ID: id, Policy: policy, ClientID: "acme", SubjectKind: "task", SubjectSourceID: "trello",
			SubjectExternalID: "t1", State: state, StartedAt: at(started), StoppedAt: stopped, BreachedAt: breached,
			BusinessSeconds: secs, Detail: detail}
	}
	plain := `{"title":"A message","url":"https://trello.com/c/t2"}`
	clocks := []store.ClockRow{
		// Replies in October: 600, 3600, 7200 and 36000 business seconds:
		// median 5400, 90th percentile (nearest rank 4 of 4) 36000.
		clock("response-1", "response", "met", "2026-10-02T08:00:00Z", ts("2026-10-02T09:00:00Z"), nil, 3600, plain),
		clock("response-2", "response", "met", "2026-10-03T08:00:00Z", ts("2026-10-03T10:00:00Z"), nil, 7200, plain),
		clock("response-3", "response", "met", "2026-10-04T08:00:00Z", ts("2026-10-04T08:10:00Z"), nil, 600, plain),
		clock("response-4", "response", "resolved", "2026-10-05T08:00:00Z", ts("2026-10-07T08:00:00Z"), ts("2026-10-06T08:00:00Z"), 36000, plain),
		clock("response-5", "response", "running", "2026-10-28T08:00:00Z", nil, nil, 1200, plain),                     // unanswered
		clock("response-6", "response", "met", "2026-09-29T08:00:00Z", ts("2026-09-29T09:00:00Z"), nil, 99999, plain), // September
		clock("stage-1", "stage_limit", "breached", "2026-10-09T08:00:00Z", nil, ts("2026-10-12T08:00:00Z"), 50000,
			`{"title":"<b>bold</b> @board","url":"javascript:void(0)"}`),
		clock("budget-1", "hour_budget", "breached", "2026-10-20T00:00:00Z", nil, ts("2026-10-20T00:00:00Z"), 0, `{"title":"Acme"}`),
		clock("untracked-1", "untracked_work", "breached", "2026-10-15T09:00:00Z", nil, ts("2026-10-15T09:00:00Z"), 0, `{"title":"Untracked thing"}`),
	}
	if _, err := st.SaveClocks(ctx, clocks, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Waive(ctx, "stage-1", "client on holiday <until 20 Oct>", "test"); err != nil {
		t.Fatal(err)
	}
}
