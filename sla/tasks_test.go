package sla

import (
	"strings"
	"testing"
	"time"
)

// setRules gives every client the same calendar and policy set.
type setRules struct {
	cal *Calendar
	ps  *PolicySet
}

func (r setRules) Calendar(string) *Calendar  { return r.cal }
func (r setRules) Policies(string) *PolicySet { return r.ps }

// wantClock is a clock as a test writes it: instants are Berlin wall times
// ("2006-01-02 15:04"), "" where the field must be zero.
type wantClock struct {
	state                          string
	start, warn, due, breach, stop string
	elapsed                        time.Duration
}

func checkClocks(t *testing.T, got []Clock, want []wantClock) {
	t.Helper()
	if len(got) != len(want) {
		for _, c := range got {
			t.Logf("got %s %s from %s due %v", c.Policy, c.State, c.StartedAt, c.DueAt)
		}
		t.Fatalf("got %d clocks, want %d", len(got), len(want))
	}
	ids := map[string]bool{}
	for i, w := range want {
		g := got[i]
		if ids[g.ID] {
			t.Errorf("clock %d: ID %s repeats", i, g.ID)
		}
		ids[g.ID] = true
		if g.State != w.state {
			t.Errorf("clock %d: state %s, want %s", i, g.State, w.state)
		}
		if !g.StartedAt.Equal(at(t, w.start)) {
			t.Errorf("clock %d: started %s, want %s", i, g.StartedAt, w.start)
		}
		for _, f := range []struct {
			name string
			got  time.Time
			want string
		}{{"warn", g.WarnAt, w.warn}, {"due", g.DueAt, w.due}, {"breached", g.BreachedAt, w.breach}, {"stopped", g.StoppedAt, w.stop}} {
			switch {
			case f.want == "" && !f.got.IsZero():
				t.Errorf("clock %d: %s at %s, want none", i, f.name, f.got)
			case f.want != "" && f.got.IsZero():
				t.Errorf("clock %d: no %s, want %s", i, f.name, f.want)
			case f.want != "" && !f.got.Equal(at(t, f.want)):
				t.Errorf("clock %d: %s at %s, want %s", i, f.name, f.got.In(g.StartedAt.Location()), f.want)
			}
		}
		if g.BusinessElapsed != w.elapsed {
			t.Errorf("clock %d: elapsed %s, want %s", i, g.BusinessElapsed, w.elapsed)
		}
	}
}

// task builds a task created by its first move; moves are written
// "2026-10-05 10:00 review" (the status moved into).
func task(t *testing.T, key string, moves ...string) Task {
	t.Helper()
	tk := Task{Key: key, ClientID: "acme", Subject: Subject{Source: "trello", ExternalID: key, Title: "Landing page"}}
	from := ""
	for _, m := range moves {
		when, to := m[:16], strings.TrimSpace(m[16:])
		tk.Moves = append(tk.Moves, Move{At: at(t, when), From: from, To: to})
		from = to
	}
	tk.Status = from
	if len(tk.Moves) > 0 {
		tk.CreatedAt = tk.Moves[0].At
	}
	return tk
}

func ptr[T any](v T) *T { return &v }

// October 2026: Mon 5 .. Fri 9, Mon 12 .. Fri 16; Sat 3, Sat 10 are weekends.

func TestStageClocks(t *testing.T) {
	t.Parallel()
	limits := map[string]Duration{
		StatusReview:     {Days: 1},
		StatusInProgress: {Time: 4 * time.Hour},
		StatusTodo:       {Time: time.Hour},
	}
	tests := []struct {
		name  string
		tasks []Task
		now   string
		want  []wantClock
	}{
		{
			// One day from Mon 10:00 is Tue 10:00; warn at half of its 9 h.
			name:  "left review in time is met",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 review", "2026-10-06 09:30 done")},
			now:   "2026-10-07 12:00",
			want: []wantClock{{state: Met, start: "2026-10-05 10:00", warn: "2026-10-05 14:30", due: "2026-10-06 10:00",
				stop: "2026-10-06 09:30", elapsed: 8*time.Hour + 30*time.Minute}},
		},
		{
			// Mon 10-18 (8 h) + Tue 9 h + Wed 9-12 (3 h) = 20 h.
			name:  "left review late is resolved",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 review", "2026-10-07 12:00 done")},
			now:   "2026-10-08 12:00",
			want: []wantClock{{state: Resolved, start: "2026-10-05 10:00", warn: "2026-10-05 14:30", due: "2026-10-06 10:00",
				breach: "2026-10-06 10:00", stop: "2026-10-07 12:00", elapsed: 20 * time.Hour}},
		},
		{
			name: "sent back from review: each stay its own clock",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 review", "2026-10-05 12:00 waiting_client",
				"2026-10-06 10:00 review")},
			now: "2026-10-07 11:00",
			want: []wantClock{
				{state: Met, start: "2026-10-05 10:00", warn: "2026-10-05 14:30", due: "2026-10-06 10:00",
					stop: "2026-10-05 12:00", elapsed: 2 * time.Hour},
				{state: Breached, start: "2026-10-06 10:00", warn: "2026-10-06 14:30", due: "2026-10-07 10:00",
					breach: "2026-10-07 10:00", elapsed: 10 * time.Hour},
			},
		},
		{
			// 4 h from Fri 17:00: 1 h Friday, 3 h Monday. Warn after 2 h.
			name:  "a Friday evening start runs over the weekend",
			tasks: []Task{task(t, "c1", "2026-10-02 17:00 in_progress")},
			now:   "2026-10-05 11:00",
			want: []wantClock{{state: AtRisk, start: "2026-10-02 17:00", warn: "2026-10-05 10:00", due: "2026-10-05 12:00",
				elapsed: 3 * time.Hour}},
		},
		{
			name:  "a one-hour limit does not warn; a Saturday move starts Monday",
			tasks: []Task{task(t, "c1", "2026-10-03 11:00 todo")},
			now:   "2026-10-05 09:50",
			want:  []wantClock{{state: Running, start: "2026-10-05 09:00", due: "2026-10-05 10:00", elapsed: 50 * time.Minute}},
		},
		{
			name:  "moves after now are ignored",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 review", "2026-10-06 09:30 done")},
			now:   "2026-10-05 17:00",
			want:  []wantClock{{state: AtRisk, start: "2026-10-05 10:00", warn: "2026-10-05 14:30", due: "2026-10-06 10:00", elapsed: 7 * time.Hour}},
		},
		{
			name:  "waiting_client and unlimited statuses start nothing",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 backlog", "2026-10-05 11:00 waiting_client")},
			now:   "2026-10-09 17:00",
		},
		{
			name:  "a stay that ends where it begins is skipped",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 backlog", "2026-10-05 11:00 todo", "2026-10-05 11:00 backlog")},
			now:   "2026-10-09 17:00",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(StageLimits(limits))}
			checkClocks(t, StageClocks(tc.tasks, rules, at(t, tc.now)), tc.want)
		})
	}
}

func TestStageClocksWaitingLimitWhenConfigured(t *testing.T) {
	t.Parallel()
	// Mon 5th 10:00 to Tue 13th 10:00: 8 + 4*9 + 9 + 1 = 54 h; five days
	// (45 h) end Mon 12th 10:00, warning after 22.5 h on Wed 14:30.
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(StageLimits{StatusWaitingClient: {Days: 5}})}
	got := StageClocks([]Task{task(t, "c1", "2026-10-05 10:00 waiting_client")}, rules, at(t, "2026-10-13 10:00"))
	checkClocks(t, got, []wantClock{{state: Breached, start: "2026-10-05 10:00", warn: "2026-10-07 14:30",
		due: "2026-10-12 10:00", breach: "2026-10-12 10:00", elapsed: 54 * time.Hour}})
}

func TestWaitingClocks(t *testing.T) {
	t.Parallel()
	twoDays := &ReminderPolicy{RemindEvery: Duration{Days: 2}}
	tests := []struct {
		name  string
		every *ReminderPolicy
		tasks []Task
		now   string
		want  []wantClock
	}{
		{
			// Reminder 1 fell due Wed 10:00 and was never given: it is
			// the one open clock, Mon 10-18 + Tue + Wed + Thu + Fri 9-11.
			name:  "still waiting, no word from the agency: one reminder owed",
			every: twoDays,
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 waiting_client")},
			now:   "2026-10-09 11:00",
			want: []wantClock{
				{state: Breached, start: "2026-10-05 10:00", due: "2026-10-07 10:00", breach: "2026-10-07 10:00", elapsed: 37 * time.Hour},
			},
		},
		{
			// A comment Tue 22:00 gives reminder 1 (Mon 10-18 + Tue 9-18
			// = 17 h); the email Wed 08:00 comes before the next business
			// instant and is the same reminder. Reminder 2 counts from
			// Wed 09:00, is due Fri 09:00 and is owed at Fri 11:00.
			name:  "reminders given by the agency restart the count",
			every: twoDays,
			tasks: []Task{withContacts(t, task(t, "c1", "2026-10-05 10:00 waiting_client"), "2026-10-06 22:00", "2026-10-07 08:00")},
			now:   "2026-10-09 11:00",
			want: []wantClock{
				{state: Met, start: "2026-10-05 10:00", due: "2026-10-07 10:00", stop: "2026-10-06 22:00", elapsed: 17 * time.Hour},
				{state: Breached, start: "2026-10-07 09:00", due: "2026-10-09 09:00", breach: "2026-10-09 09:00", elapsed: 20 * time.Hour},
			},
		},
		{
			// A late reminder (Wed 10:30, due Wed 10:00) is Resolved;
			// the next counts from it. Agency words before the wait
			// (Mon 09:00) are not reminders.
			name:  "a late reminder",
			every: twoDays,
			tasks: []Task{withContacts(t, task(t, "c1", "2026-10-05 10:00 waiting_client"), "2026-10-05 09:00", "2026-10-07 10:30")},
			now:   "2026-10-07 11:00",
			want: []wantClock{
				{state: Resolved, start: "2026-10-05 10:00", due: "2026-10-07 10:00", breach: "2026-10-07 10:00", stop: "2026-10-07 10:30", elapsed: 18*time.Hour + 30*time.Minute},
				{state: Running, start: "2026-10-07 10:30", due: "2026-10-09 10:30", elapsed: 30 * time.Minute},
			},
		},
		{
			name:  "the client answered before the first reminder",
			every: twoDays,
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 waiting_client", "2026-10-06 10:00 in_progress")},
			now:   "2026-10-09 11:00",
			want:  []wantClock{{state: Met, start: "2026-10-05 10:00", due: "2026-10-07 10:00", stop: "2026-10-06 10:00", elapsed: 9 * time.Hour}},
		},
		{
			// Mon 10-18 + Tue + Wed + Thu 9-12 = 29 h.
			name:  "left after the reminder fell due",
			every: twoDays,
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 waiting_client", "2026-10-08 12:00 todo")},
			now:   "2026-10-09 11:00",
			want: []wantClock{
				{state: Resolved, start: "2026-10-05 10:00", due: "2026-10-07 10:00", breach: "2026-10-07 10:00", stop: "2026-10-08 12:00", elapsed: 29 * time.Hour},
			},
		},
		{
			// 9 h from Mon 09:00 ends at Mon 18:00 (Add's earliest instant).
			name:  "a reminder due at the end of a day",
			every: &ReminderPolicy{RemindEvery: Duration{Time: 9 * time.Hour}},
			tasks: []Task{task(t, "c1", "2026-10-03 12:00 waiting_client")},
			now:   "2026-10-06 10:00",
			want: []wantClock{
				{state: Breached, start: "2026-10-05 09:00", due: "2026-10-05 18:00", breach: "2026-10-05 18:00", elapsed: 10 * time.Hour},
			},
		},
		{
			name:  "no policy, no clocks",
			tasks: []Task{task(t, "c1", "2026-10-05 10:00 waiting_client")},
			now:   "2026-10-09 11:00",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(tc.every)}
			checkClocks(t, WaitingClocks(tc.tasks, rules, at(t, tc.now)), tc.want)
		})
	}
}

// withContacts sets when the agency wrote to the client about tk.
func withContacts(t *testing.T, tk Task, times ...string) Task {
	for _, s := range times {
		tk.Contacts = append(tk.Contacts, at(t, s))
	}
	return tk
}

func TestDueClocks(t *testing.T) {
	t.Parallel()
	withDue := func(tk Task, due string) Task {
		tk.DueAt = ptr(at(t, due))
		return tk
	}
	open := withDue(task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 in_progress"), "2026-10-09 18:00")
	dueDone := open
	dueDone.DueDone = true
	tests := []struct {
		name  string
		tasks []Task
		now   string
		want  []wantClock
	}{
		{
			// Mon 9 h + Tue 09-12: 12 h. Warn 4 h before Fri 18:00 is 14:00.
			name:  "open before the warning is running",
			tasks: []Task{open},
			now:   "2026-10-06 12:00",
			want:  []wantClock{{state: Running, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00", elapsed: 12 * time.Hour}},
		},
		{
			name:  "inside the last 4 business hours it is at risk",
			tasks: []Task{open},
			now:   "2026-10-09 15:00",
			want:  []wantClock{{state: AtRisk, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00", elapsed: 42 * time.Hour}},
		},
		{
			name:  "past the due time it is breached",
			tasks: []Task{open},
			now:   "2026-10-12 10:00",
			want: []wantClock{{state: Breached, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00",
				breach: "2026-10-09 18:00", elapsed: 46 * time.Hour}},
		},
		{
			// Due Mon 11:00: 2 h of Monday and 2 h of Friday remain.
			name:  "the warning walks back over the weekend",
			tasks: []Task{withDue(task(t, "c1", "2026-10-05 09:00 todo"), "2026-10-12 11:00")},
			now:   "2026-10-09 17:00",
			want:  []wantClock{{state: AtRisk, start: "2026-10-05 09:00", warn: "2026-10-09 16:00", due: "2026-10-12 11:00", elapsed: 44 * time.Hour}},
		},
		{
			name:  "done before the due time is met",
			tasks: []Task{withDue(task(t, "c1", "2026-10-05 09:00 todo", "2026-10-08 10:00 done"), "2026-10-09 18:00")},
			now:   "2026-10-12 10:00",
			want: []wantClock{{state: Met, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00",
				stop: "2026-10-08 10:00", elapsed: 28 * time.Hour}},
		},
		{
			name: "done late is resolved, at the first move to done",
			tasks: []Task{withDue(task(t, "c1", "2026-10-05 09:00 todo", "2026-10-12 10:00 done", "2026-10-12 11:00 archived"),
				"2026-10-09 18:00")},
			now: "2026-10-13 10:00",
			want: []wantClock{{state: Resolved, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00",
				breach: "2026-10-09 18:00", stop: "2026-10-12 10:00", elapsed: 46 * time.Hour}},
		},
		{
			name:  "due marked complete is met without a stop",
			tasks: []Task{dueDone},
			now:   "2026-10-12 10:00",
			want:  []wantClock{{state: Met, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00", elapsed: 45 * time.Hour}},
		},
		{
			name: "waiting on the client at now pauses it, even past due",
			tasks: []Task{withDue(task(t, "c1", "2026-10-05 09:00 todo", "2026-10-08 10:00 waiting_client"),
				"2026-10-09 18:00")},
			now:  "2026-10-12 10:00",
			want: []wantClock{{state: Paused, start: "2026-10-05 09:00", warn: "2026-10-09 14:00", due: "2026-10-09 18:00", elapsed: 46 * time.Hour}},
		},
		{
			name:  "no due date, no clock",
			tasks: []Task{task(t, "c1", "2026-10-05 09:00 todo")},
			now:   "2026-10-12 10:00",
		},
		{
			name:  "a task created after now is not there yet",
			tasks: []Task{open},
			now:   "2026-10-04 10:00",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&DuePolicy{WarnBefore: Duration{Time: 4 * time.Hour}})}
			checkClocks(t, DueClocks(tc.tasks, rules, at(t, tc.now)), tc.want)
		})
	}
}

func TestBefore(t *testing.T) {
	t.Parallel()
	cal := berlinOffice(t, "2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01")
	tests := []struct {
		name string
		t    string
		d    Duration
		want string
	}{
		{name: "inside one day", t: "2026-10-07 15:00", d: Duration{Time: 2 * time.Hour}, want: "2026-10-07 13:00"},
		{name: "to the start of the day is the end of the day before", t: "2026-10-12 10:00", d: Duration{Time: time.Hour}, want: "2026-10-09 18:00"},
		{name: "over a weekend", t: "2026-10-12 09:00", d: Duration{Time: time.Hour}, want: "2026-10-09 17:00"},
		{name: "from outside hours", t: "2026-10-10 12:00", d: Duration{Time: 30 * time.Minute}, want: "2026-10-09 17:30"},
		{name: "zero is t", t: "2026-10-10 12:00", d: Duration{}, want: "2026-10-10 12:00"},
		{name: "whole days", t: "2026-10-13 11:00", d: Duration{Days: 2}, want: "2026-10-09 11:00"},
		{name: "days and time", t: "2026-10-13 11:00", d: Duration{Days: 1, Time: 3 * time.Hour}, want: "2026-10-09 17:00"},
		{name: "over holidays and a year end", t: "2027-01-04 10:00", d: Duration{Time: 3 * time.Hour}, want: "2026-12-30 16:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := before(cal, at(t, tc.t), tc.d)
			if !got.Equal(at(t, tc.want)) {
				t.Fatalf("before(%s, %+v) = %s, want %s", tc.t, tc.d, got, tc.want)
			}
			if back := tc.d.After(cal, got); cal.Between(back, at(t, tc.t)) != 0 || cal.Between(at(t, tc.t), back) != 0 {
				t.Errorf("d.After(before(t, d)) = %s, not t in business terms", back)
			}
		})
	}
}

func TestBriefClocks(t *testing.T) {
	t.Parallel()
	bare := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-06 10:00 in_progress", "2026-10-06 12:00 review",
		"2026-10-07 10:00 in_progress")
	withChecklist := bare
	withChecklist.Checklists = []string{"QA", "brief "}
	described := bare
	described.DescriptionLen = 50
	short := bare
	short.DescriptionLen = 49
	tests := []struct {
		name   string
		policy BriefPolicy
		tasks  []Task
		now    string
		want   []wantClock
	}{
		{
			name:  "no brief: breached at the first entry, not the second",
			tasks: []Task{bare},
			now:   "2026-10-08 10:00",
			want: []wantClock{{state: Breached, start: "2026-10-06 10:00", due: "2026-10-06 10:00", breach: "2026-10-06 10:00",
				elapsed: 18 * time.Hour}},
		},
		{
			name:  "a description one character short is no brief",
			tasks: []Task{short},
			now:   "2026-10-06 11:00",
			want:  []wantClock{{state: Breached, start: "2026-10-06 10:00", due: "2026-10-06 10:00", breach: "2026-10-06 10:00", elapsed: time.Hour}},
		},
		{name: "a long enough description is a brief", tasks: []Task{described}, now: "2026-10-08 10:00"},
		{name: "a checklist named Brief in any case is a brief", tasks: []Task{withChecklist}, now: "2026-10-08 10:00"},
		{name: "never in progress, nothing to flag", tasks: []Task{task(t, "c1", "2026-10-05 09:00 todo")}, now: "2026-10-08 10:00"},
		{name: "in progress only after now", tasks: []Task{bare}, now: "2026-10-06 09:59"},
		{
			name:  "started on Saturday: flagged Monday morning",
			tasks: []Task{task(t, "c1", "2026-10-02 09:00 todo", "2026-10-03 10:00 in_progress")},
			now:   "2026-10-05 10:00",
			want:  []wantClock{{state: Breached, start: "2026-10-05 09:00", due: "2026-10-05 09:00", breach: "2026-10-05 09:00", elapsed: time.Hour}},
		},
		{
			name:  "done: resolved at the move to done",
			tasks: []Task{task(t, "c1", "2026-10-05 09:00 in_progress", "2026-10-05 15:00 done")},
			now:   "2026-10-08 10:00",
			want: []wantClock{{state: Resolved, start: "2026-10-05 09:00", due: "2026-10-05 09:00", breach: "2026-10-05 09:00",
				stop: "2026-10-05 15:00", elapsed: 6 * time.Hour}},
		},
		{
			name:   "MinDescription 0 still wants some description",
			policy: BriefPolicy{},
			tasks:  []Task{task(t, "c1", "2026-10-05 09:00 in_progress")},
			now:    "2026-10-05 10:00",
			want:   []wantClock{{state: Breached, start: "2026-10-05 09:00", due: "2026-10-05 09:00", breach: "2026-10-05 09:00", elapsed: time.Hour}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := BriefPolicy{MinDescription: 50, Checklist: "Brief"}
			if tc.name == "MinDescription 0 still wants some description" {
				p = tc.policy
			}
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&p)}
			checkClocks(t, BriefClocks(tc.tasks, rules, at(t, tc.now)), tc.want)
		})
	}
}

func TestHygieneClocks(t *testing.T) {
	t.Parallel()
	working := task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 11:00 in_progress", "2026-10-06 10:00 review",
		"2026-10-07 10:00 in_progress")
	complete := working
	complete.Assignees, complete.DueAt = 1, ptr(at(t, "2026-10-20 18:00"))
	noDue := working
	noDue.Assignees = 2
	flag := wantClock{state: Breached, start: "2026-10-07 10:00", due: "2026-10-07 10:00", breach: "2026-10-07 10:00", elapsed: 2 * time.Hour}
	tests := []struct {
		name   string
		policy HygienePolicy
		tasks  []Task
		now    string
		want   []wantClock
	}{
		{name: "missing both: two clocks from the current stay", policy: HygienePolicy{true, true}, tasks: []Task{working},
			now: "2026-10-07 12:00", want: []wantClock{flag, flag}},
		{name: "only what is required", policy: HygienePolicy{RequireDue: true}, tasks: []Task{working},
			now: "2026-10-07 12:00", want: []wantClock{flag}},
		{name: "missing the due date only", policy: HygienePolicy{true, true}, tasks: []Task{noDue},
			now: "2026-10-07 12:00", want: []wantClock{flag}},
		{name: "complete task", policy: HygienePolicy{true, true}, tasks: []Task{complete}, now: "2026-10-07 12:00"},
		{name: "not in progress at now", policy: HygienePolicy{true, true}, tasks: []Task{working}, now: "2026-10-06 12:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&tc.policy)}
			got := HygieneClocks(tc.tasks, rules, at(t, tc.now))
			checkClocks(t, got, tc.want)
			if len(tc.want) == 2 && got[0].ID == got[1].ID {
				t.Errorf("the assignee and due clocks share an ID")
			}
		})
	}
}

func TestUntrackedClocks(t *testing.T) {
	t.Parallel()
	done := task(t, "c1", "2026-10-05 09:00 in_progress", "2026-10-06 16:00 done", "2026-10-07 10:00 archived")
	logged := done
	logged.LoggedSeconds = 1800
	tests := []struct {
		name  string
		tasks []Task
		now   string
		want  []wantClock
	}{
		{name: "done with nothing logged", tasks: []Task{done}, now: "2026-10-08 09:00",
			want: []wantClock{{state: Breached, start: "2026-10-06 16:00", due: "2026-10-06 16:00", breach: "2026-10-06 16:00", elapsed: 11 * time.Hour}}},
		{name: "time logged", tasks: []Task{logged}, now: "2026-10-08 09:00"},
		{name: "not done yet at now", tasks: []Task{done}, now: "2026-10-06 15:00"},
		{name: "archived without being done", tasks: []Task{task(t, "c1", "2026-10-05 09:00 todo", "2026-10-05 10:00 archived")}, now: "2026-10-08 09:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(UntrackedWork(true))}
			checkClocks(t, UntrackedClocks(tc.tasks, rules, at(t, tc.now)), tc.want)
		})
	}
}
