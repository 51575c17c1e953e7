package sla

import (
	"strings"
	"testing"
	"time"
)

// change is a recorded field change at a Berlin wall time.
func change(t *testing.T, when, field, old, new string) FieldChange {
	return FieldChange{At: at(t, when), Field: field, Old: old, New: new}
}

func dueText(t *testing.T, when string) string { return at(t, when).UTC().Format(time.RFC3339Nano) }

func TestStateAt(t *testing.T) {
	t.Parallel()
	tk := task(t, "c1", "2026-10-05 09:00 todo")
	tk.History = History{Known: true}
	tk.DescriptionLen, tk.Assignees, tk.Checklists = 80, 1, []string{"Brief"}
	tk.DueAt = ptr(at(t, "2026-10-20 17:00"))
	tk.Changes = []FieldChange{
		change(t, "2026-10-05 10:00", FieldAssignees, "", "m1"),
		change(t, "2026-10-05 11:00", FieldDue, "", dueText(t, "2026-10-09 17:00")),
		change(t, "2026-10-06 10:00", FieldDescription, "0", "80"),
		change(t, "2026-10-07 10:00", FieldChecklists, "", "brief "),
		change(t, "2026-10-08 10:00", FieldAssignees, "m2", ""),
		change(t, "2026-10-12 10:00", FieldDue, dueText(t, "2026-10-09 17:00"), dueText(t, "2026-10-20 17:00")),
	}
	for _, tc := range []struct {
		at         string
		desc, asg  int
		checklists string
		due        string
	}{
		{"2026-10-05 09:30", 0, 1, "", ""},                       // m2 was on the card until the 8th
		{"2026-10-05 10:00", 0, 2, "", ""},                       // a change at the instant has happened
		{"2026-10-06 12:00", 80, 2, "", "2026-10-09 17:00"},      // "brief " undone takes "Brief" off
		{"2026-10-07 12:00", 80, 2, "Brief", "2026-10-09 17:00"}, // added as "brief ", named "Brief" now
		{"2026-10-09 12:00", 80, 1, "Brief", "2026-10-09 17:00"},
		{"2026-10-13 12:00", 80, 1, "Brief", "2026-10-20 17:00"}, // now: the current values
	} {
		s := tk.stateAt(at(t, tc.at))
		due := ""
		if s.due != nil {
			due = s.due.In(at(t, tc.at).Location()).Format("2006-01-02 15:04")
		}
		if s.descLen != tc.desc || s.assignees != tc.asg || strings.Join(s.checklists, ",") != tc.checklists || due != tc.due {
			t.Errorf("at %s: desc %d, assignees %d, checklists %q, due %q; want %d, %d, %q, %q",
				tc.at, s.descLen, s.assignees, s.checklists, due, tc.desc, tc.asg, tc.checklists, tc.due)
		}
	}
	if len(tk.Checklists) != 1 || tk.Checklists[0] != "Brief" {
		t.Errorf("stateAt changed the task's own checklists: %q", tk.Checklists)
	}
}

// The brief as it was at the move into work: a description written an
// hour later is a breach resolved then; a checklist named like the policy's
// that came before the move is a brief; a description the night before
// the first business minute is one in time.
func TestBriefClocksHistory(t *testing.T) {
	t.Parallel()
	p := BriefPolicy{MinDescription: 50, Checklist: "Brief"}
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&p)}
	late := task(t, "late", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	late.DescriptionLen, late.History = 120, History{Known: true}
	late.Changes = []FieldChange{change(t, "2026-10-05 11:00", FieldDescription, "0", "120")}
	ahead := task(t, "ahead", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	ahead.Checklists, ahead.History = []string{"brief"}, History{Known: true}
	ahead.Changes = []FieldChange{change(t, "2026-10-05 09:30", FieldChecklists, "", "brief")}
	night := task(t, "night", "2026-10-05 08:00 todo", "2026-10-05 20:00 in_progress")
	night.DescriptionLen, night.History = 60, History{Known: true}
	night.Changes = []FieldChange{change(t, "2026-10-05 22:00", FieldDescription, "10", "60")}

	checkClocks(t, BriefClocks([]Task{late, ahead, night}, rules, at(t, "2026-10-05 10:30")), []wantClock{
		{state: Breached, start: "2026-10-05 10:00", due: "2026-10-05 10:00", breach: "2026-10-05 10:00", elapsed: 30 * time.Minute},
	})
	checkClocks(t, BriefClocks([]Task{late, ahead, night}, rules, at(t, "2026-10-06 12:00")), []wantClock{
		{state: Resolved, start: "2026-10-05 10:00", due: "2026-10-05 10:00", breach: "2026-10-05 10:00", stop: "2026-10-05 11:00", elapsed: time.Hour},
	})
}

// Each due date a task carried: one missed and then moved is Resolved at
// the move; one moved before it passed leaves no clock; the current one
// counts as before.
func TestDueClocksHistory(t *testing.T) {
	t.Parallel()
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&DuePolicy{})}
	tk := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	tk.History = History{Known: true}
	tk.DueAt = ptr(at(t, "2026-10-16 17:00"))
	tk.Changes = []FieldChange{
		change(t, "2026-10-05 09:00", FieldDue, "", dueText(t, "2026-10-07 17:00")),
		change(t, "2026-10-08 10:00", FieldDue, dueText(t, "2026-10-07 17:00"), dueText(t, "2026-10-09 17:00")),
		change(t, "2026-10-09 12:00", FieldDue, dueText(t, "2026-10-09 17:00"), dueText(t, "2026-10-16 17:00")),
	}
	checkClocks(t, DueClocks([]Task{tk}, rules, at(t, "2026-10-06 10:00")), []wantClock{
		{state: Running, start: "2026-10-05 09:00", due: "2026-10-07 17:00", elapsed: 10 * time.Hour},
	})
	// (Clocks come in ID order.)
	checkClocks(t, DueClocks([]Task{tk}, rules, at(t, "2026-10-12 10:00")), []wantClock{
		{state: Running, start: "2026-10-05 09:00", due: "2026-10-16 17:00", elapsed: 46 * time.Hour},
		{state: Resolved, start: "2026-10-05 09:00", due: "2026-10-07 17:00", breach: "2026-10-07 17:00", stop: "2026-10-08 10:00", elapsed: 28 * time.Hour},
	})
}

// Hygiene at each instant of the current stay: the hours without an
// assignee are a clock each, resolved when someone took the card.
func TestHygieneClocksHistory(t *testing.T) {
	t.Parallel()
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&HygienePolicy{RequireAssignee: true})}
	tk := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	tk.History, tk.Assignees = History{Known: true}, 1
	tk.Changes = []FieldChange{
		change(t, "2026-10-05 12:00", FieldAssignees, "", "m1"),
		change(t, "2026-10-06 10:00", FieldAssignees, "m1", ""),
		change(t, "2026-10-06 20:00", FieldAssignees, "", "m1"), // back in the evening, after office hours
		change(t, "2026-10-07 10:00", FieldAssignees, "m1", ""),
		change(t, "2026-10-07 15:00", FieldAssignees, "", "m2"),
	}
	checkClocks(t, HygieneClocks([]Task{tk}, rules, at(t, "2026-10-05 11:00")), []wantClock{
		{state: Breached, start: "2026-10-05 10:00", due: "2026-10-05 10:00", breach: "2026-10-05 10:00", elapsed: time.Hour},
	})
	checkClocks(t, HygieneClocks([]Task{tk}, rules, at(t, "2026-10-08 10:00")), []wantClock{
		{state: Resolved, start: "2026-10-05 10:00", due: "2026-10-05 10:00", breach: "2026-10-05 10:00", stop: "2026-10-05 12:00", elapsed: 2 * time.Hour},
		{state: Resolved, start: "2026-10-06 10:00", due: "2026-10-06 10:00", breach: "2026-10-06 10:00", stop: "2026-10-06 20:00", elapsed: 8 * time.Hour},
		{state: Resolved, start: "2026-10-07 10:00", due: "2026-10-07 10:00", breach: "2026-10-07 10:00", stop: "2026-10-07 15:00", elapsed: 5 * time.Hour},
	})
}

// What karkas could not know goes in the clock's note: a move into work
// before the history karkas holds, or a source with no history at all on
// a task changed since the instant judged.
func TestUnknownHistoryNotes(t *testing.T) {
	t.Parallel()
	p := BriefPolicy{MinDescription: 50}
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&p)}
	cut := task(t, "cut", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	cut.History = History{Known: true, From: at(t, "2026-10-06 09:00")}
	none := task(t, "none", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	none.UpdatedAt = at(t, "2026-10-07 09:00")
	whole := task(t, "whole", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	whole.History = History{Known: true}
	got := BriefClocks([]Task{cut, none, whole}, rules, at(t, "2026-10-08 09:00"))
	notes := map[string]string{}
	for _, c := range got {
		notes[c.Subject.ExternalID] = c.Note
	}
	if n := notes["cut"]; !strings.Contains(n, "only from 2026-10-06 07:00 UTC") || !strings.Contains(n, "earliest karkas knows") {
		t.Errorf("cut history: note %q", n)
	}
	if n := notes["none"]; !strings.Contains(n, "reports no history") {
		t.Errorf("no history: note %q", n)
	}
	if n, ok := notes["whole"]; !ok || n != "" {
		t.Errorf("whole history: note %q (clock %v)", n, ok)
	}
	if len(got) != 3 {
		t.Fatalf("got %d clocks, want 3", len(got))
	}
}

// The due date marked complete stops its clock when it was marked; before
// then the clock counts as if it were not.
func TestDueDoneHistory(t *testing.T) {
	t.Parallel()
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&DuePolicy{})}
	tk := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	tk.History, tk.DueDone = History{Known: true}, true
	tk.DueAt = ptr(at(t, "2026-10-07 17:00"))
	tk.Changes = []FieldChange{change(t, "2026-10-06 10:00", FieldDueDone, "false", "true")}
	checkClocks(t, DueClocks([]Task{tk}, rules, at(t, "2026-10-06 09:00")), []wantClock{
		{state: Running, start: "2026-10-05 09:00", due: "2026-10-07 17:00", elapsed: 9 * time.Hour},
	})
	checkClocks(t, DueClocks([]Task{tk}, rules, at(t, "2026-10-08 09:00")), []wantClock{
		{state: Met, start: "2026-10-05 09:00", due: "2026-10-07 17:00", stop: "2026-10-06 10:00", elapsed: 10 * time.Hour},
	})
	// Marked after the date had passed: the date was missed.
	tk.Changes[0].At = at(t, "2026-10-08 10:00")
	checkClocks(t, DueClocks([]Task{tk}, rules, at(t, "2026-10-09 09:00")), []wantClock{
		{state: Resolved, start: "2026-10-05 09:00", due: "2026-10-07 17:00", breach: "2026-10-07 17:00", stop: "2026-10-08 10:00", elapsed: 28 * time.Hour},
	})
}

// A due date marked complete with no recorded change saying when: known
// from the task's last activity on, not before.
func TestDueDoneWithoutHistory(t *testing.T) {
	t.Parallel()
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&DuePolicy{})}
	tk := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress")
	tk.DueDone, tk.UpdatedAt = true, at(t, "2026-10-08 09:00")
	tk.DueAt = ptr(at(t, "2026-10-07 17:00"))
	got := DueClocks([]Task{tk}, rules, at(t, "2026-10-06 09:00"))
	checkClocks(t, got, []wantClock{{state: Running, start: "2026-10-05 09:00", due: "2026-10-07 17:00", elapsed: 9 * time.Hour}})
	if !strings.Contains(got[0].Note, "does not say when the due date was marked complete") || !strings.Contains(got[0].Note, "no history of its due date") {
		t.Errorf("note %q", got[0].Note)
	}
	got = DueClocks([]Task{tk}, rules, at(t, "2026-10-09 09:00"))
	checkClocks(t, got, []wantClock{{state: Met, start: "2026-10-05 09:00", due: "2026-10-07 17:00", elapsed: 26 * time.Hour}})
	if got[0].Note != "" {
		t.Errorf("note %q after the last activity", got[0].Note)
	}
}

// A due date that passed while the task waited on the client, and was
// moved, was the client's to hold: no breach.
func TestDueMovedWhileWaiting(t *testing.T) {
	t.Parallel()
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&DuePolicy{})}
	tk := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress", "2026-10-06 10:00 waiting_client", "2026-10-09 10:00 in_progress")
	tk.History = History{Known: true}
	tk.DueAt = ptr(at(t, "2026-10-16 17:00"))
	tk.Changes = []FieldChange{
		change(t, "2026-10-05 09:00", FieldDue, "", dueText(t, "2026-10-07 17:00")),
		change(t, "2026-10-09 10:00", FieldDue, dueText(t, "2026-10-07 17:00"), dueText(t, "2026-10-16 17:00")),
	}
	checkClocks(t, DueClocks([]Task{tk}, rules, at(t, "2026-10-12 10:00")), []wantClock{
		{state: Running, start: "2026-10-05 09:00", due: "2026-10-16 17:00", elapsed: 46 * time.Hour},
	})
}
