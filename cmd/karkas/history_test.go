package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/store"
)

// A card's history replayed through the CLI, from a board export: the
// description was written after the card moved into work, the due date
// moved twice, the assignee left for a day, and labels came and went.
// `sla --at` at three instants judges each as it was then, and October's
// hour report marks out of scope the work on the task labelled "out of
// scope" in October, not the work on the one labelled in November. Judged
// by today's values (what karkas did before it kept field history), the
// brief would never have been missing, only the last due date would
// exist, and the labels would swap.
func TestFieldHistoryReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	day := func(d, h, m int) time.Time { return time.Date(2026, 10, d, h, m, 0, 0, time.UTC) }
	clock := trellofake.NewVirtualClock(day(1, 9, 0))
	to := func(at time.Time) {
		t.Helper()
		if d := at.Sub(clock.Now()); d < 0 {
			t.Fatalf("the story goes back in time to %s", at)
		} else {
			clock.Advance(d)
		}
	}
	w := trellofake.NewWorld(clock)
	board := w.AddBoard("Acme Website")
	todo := w.AddList(board.ID, "To Do")
	doing := w.AddList(board.ID, "Doing")
	w.AddList(board.ID, "Done")
	anna := w.AddMember(board.ID, "annapetrova", "Anna Petrova")
	oos := w.AddLabel(board.ID, "out of scope", "red")

	to(day(1, 10, 0))
	landing := w.CreateCard(anna.ID, todo.ID, "Landing page")
	w.AddMemberToCard(anna.ID, landing.ID, anna.ID)
	w.SetDue(anna.ID, landing.ID, day(9, 17, 0))
	to(day(1, 11, 0))
	banner := w.CreateCard(anna.ID, todo.ID, "Banner")
	w.AddLabelToCard(anna.ID, banner.ID, oos.ID)

	to(day(5, 10, 0)) // Monday: into work, without a brief
	w.MoveCard(anna.ID, landing.ID, doing.ID)
	to(day(5, 14, 0))
	w.SetDesc(anna.ID, landing.ID, "A landing page for the autumn campaign, two sections and a form.")
	to(day(6, 10, 0))
	w.RemoveMemberFromCard(anna.ID, landing.ID, anna.ID)
	to(day(7, 10, 0))
	w.AddMemberToCard(anna.ID, landing.ID, anna.ID)
	to(day(12, 10, 0)) // the first due date passed on Friday; moved
	w.SetDue(anna.ID, landing.ID, day(14, 17, 0))
	to(day(13, 10, 0)) // moved again before it passed
	w.SetDue(anna.ID, landing.ID, day(20, 17, 0))
	to(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	w.AddLabelToCard(anna.ID, landing.ID, oos.ID)
	to(time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC))
	w.RemoveLabelFromCard(anna.ID, banner.ID, oos.ID)

	export, err := w.ExportJSON(board.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme.json"), export, 0o644); err != nil {
		t.Fatal(err)
	}
	csv := "Date,Member,Email,Client,Project,Task,Task ID,Tags,Comment,Time,Billable\n" +
		"2026-10-06,Anna Petrova,,Acme,Acme Website,Landing page,tr:" + landing.ID + ",,layout,2:00,yes\n" +
		"2026-10-06,Anna Petrova,,Acme,Acme Website,Banner,tr:" + banner.ID + ",,banner,1:30,yes\n"
	if err := os.WriteFile(filepath.Join(dir, "time.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "karkas.yaml")
	cfg := fmt.Sprintf(`agency: {name: Northwind, domains: [northwind.agency], calendar: office}
store: {url: "sqlite:%s"}
calendars:
  office:
    time_zone: UTC
    hours: {mon-fri: ["09:00-17:00"]}
policy_sets:
  standard:
    due_date: {warn_before: 1d}
    brief: {min_description: 40}
    hygiene: {require_assignee: true, require_due: true}
people:
  - {id: anna, name: Anna Petrova, side: agency, trello: [annapetrova], time_tracker: [Anna Petrova]}
clients:
  - {id: acme, name: Acme, calendar: office, policy_set: standard, boards: [%s], projects: [Acme Website]}
statuses:
  - {match: [To Do], status: todo}
  - {match: [Doing], status: in_progress}
  - {match: [Done], status: done}
sources:
  - {id: boards, kind: trello_export, options: {files: [acme.json]}}
  - {id: time, kind: time_csv, options: {files: [time.csv]}}
`, filepath.Join(dir, "k.db"), board.ID)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, nil, "sync", "-c", config); code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}

	type slaOut struct {
		Policy     string     `json:"policy"`
		State      string     `json:"state"`
		StartedAt  time.Time  `json:"started_at"`
		DueAt      *time.Time `json:"due_at"`
		BreachedAt *time.Time `json:"breached_at"`
		StoppedAt  *time.Time `json:"stopped_at"`
		Note       string     `json:"note"`
		Subject    struct {
			Title string `json:"title"`
		} `json:"subject"`
	}
	clocksAt := func(at time.Time) map[string]slaOut {
		t.Helper()
		code, out, errOut := runCLI(t, nil, "sla", "-c", config, "--at", at.Format(time.RFC3339), "--format", "json")
		if code != exitOK {
			t.Fatalf("sla --at %s: exit %d\n%s%s", at, code, out, errOut)
		}
		var cs []slaOut
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			t.Fatalf("sla --at %s: %v\n%s", at, err, out)
		}
		got := map[string]slaOut{}
		for _, c := range cs {
			if c.Subject.Title != "Landing page" {
				continue
			}
			key := c.Policy
			if c.DueAt != nil && c.Policy == "due_date" {
				key += " " + c.DueAt.UTC().Format("01-02")
			}
			if _, dup := got[key]; dup {
				t.Errorf("sla --at %s: two %s clocks", at, key)
			}
			if c.Note != "" {
				t.Errorf("sla --at %s: %s: note %q on a board whose whole history the export holds", at, key, c.Note)
			}
			got[key] = c
		}
		return got
	}
	check := func(at time.Time, want map[string]string) {
		t.Helper()
		got := clocksAt(at)
		for k, c := range got {
			if want[k] == "" {
				t.Errorf("at %s: unexpected %s clock, %s", at.Format("01-02 15:04"), k, c.State)
			}
		}
		for k, state := range want {
			if c, ok := got[k]; !ok || c.State != state {
				t.Errorf("at %s: %s clock is %q, want %s", at.Format("01-02 15:04"), k, c.State, state)
			}
		}
	}

	// Monday noon: in work for two hours without a description; the
	// first due date counts.
	check(day(5, 12, 0), map[string]string{"brief": "breached", "due_date 10-09": "running"})
	// A week later: the brief came at 14:00 that Monday; the first due
	// date passed on Friday and was moved this morning, the second counts;
	// the assignee was away from Tuesday to Wednesday.
	check(day(12, 12, 0), map[string]string{"brief": "resolved", "due_date 10-09": "resolved", "due_date 10-14": "running",
		"hygiene": "resolved"})
	// Wednesday: the second due date was moved before it passed, so it
	// was renegotiated, not missed; the third counts.
	check(day(14, 12, 0), map[string]string{"brief": "resolved", "due_date 10-09": "resolved", "due_date 10-20": "running",
		"hygiene": "resolved"})

	got := clocksAt(day(14, 12, 0))
	if b := got["brief"]; !b.StartedAt.Equal(day(5, 10, 0)) || b.StoppedAt == nil || !b.StoppedAt.Equal(day(5, 14, 0)) {
		t.Errorf("brief clock %+v, want started at the move into work and stopped when the description was written", b)
	}
	if d := got["due_date 10-09"]; d.BreachedAt == nil || !d.BreachedAt.Equal(day(9, 17, 0)) || d.StoppedAt == nil || !d.StoppedAt.Equal(day(12, 10, 0)) {
		t.Errorf("first due date's clock %+v, want breached at the date and stopped when it was moved", d)
	}
	if h := got["hygiene"]; !h.StartedAt.Equal(day(6, 10, 0)) || h.StoppedAt == nil || !h.StoppedAt.Equal(day(7, 10, 0)) {
		t.Errorf("hygiene clock %+v, want the day without an assignee", h)
	}

	// A second sync of the same export and a remap keep the history as
	// it was: nothing is recorded twice, and the clocks come out the same.
	countChanges := func() int {
		t.Helper()
		st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "k.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var n int
		if err := st.Get(context.Background(), &n, `SELECT COUNT(*) FROM task_field_changes WHERE deleted_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := countChanges()
	// desc, 3 due dates, 2 member adds and 1 removal, 3 label changes
	if before != 10 {
		t.Errorf("%d field changes stored, want 10", before)
	}
	if code, out, errOut := runCLI(t, nil, "sync", "-c", config); code != exitOK {
		t.Fatalf("second sync: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, nil, "remap", "-c", config); code != exitOK {
		t.Fatalf("remap: exit %d\n%s%s", code, out, errOut)
	}
	if after := countChanges(); after != before {
		t.Errorf("after a second sync and a remap: %d field changes, want %d", after, before)
	}
	check(day(14, 12, 0), map[string]string{"brief": "resolved", "due_date 10-09": "resolved", "due_date 10-20": "running",
		"hygiene": "resolved"})

	// October's report: the banner was out of scope then, the landing
	// page became so only in November.
	code, out, errOut := runCLI(t, nil, "report", "hours", "-c", config, "--client", "acme", "--period", "2026-10", "--format", "json")
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s%s", code, out, errOut)
	}
	var r report.Hours
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if r.OutOfScope.Seconds != 5400 || len(r.OutOfScope.Tasks) != 1 || r.OutOfScope.Tasks[0].Title != "Banner" {
		t.Errorf("out of scope: %+v, want the banner's 1.5 h", r.OutOfScope)
	}
	for _, e := range r.Entries {
		if want := e.Task.Title == "Banner"; e.OutOfScope != want {
			t.Errorf("entry on %q: out of scope %v, want %v", e.Task.Title, e.OutOfScope, want)
		}
	}
	// November's view of the same tasks: the landing page is out of scope
	// now, the banner no longer is.
	code, out, _ = runCLI(t, nil, "report", "hours", "-c", config, "--client", "acme", "--period", "2026-10", "--format", "md")
	if code != exitOK || !strings.Contains(out, "Banner") {
		t.Errorf("report md: exit %d\n%s", code, out)
	}
}
