package sla

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// perClient gives every client the same calendar and its own policies
// (none for a client it does not list).
type perClient struct {
	cal *Calendar
	ps  map[string]*PolicySet
}

func (r perClient) Calendar(string) *Calendar         { return r.cal }
func (r perClient) Policies(client string) *PolicySet { return r.ps[client] }

func TestContactClocks(t *testing.T) {
	t.Parallel()
	auto := msg(t, "auto", SideAgency, "2026-10-05 09:00")
	auto.Automated = true
	beta := msg(t, "b", SideClient, "2026-10-01 09:00")
	beta.ClientID = "beta"
	tests := []struct {
		name string
		msgs []Message
		now  string
		want []wantClock
	}{
		{
			// Mon 10-18, Tue, Wed, Thu 9-12: 29 business hours; beta has
			// no policy.
			name: "in touch: running until seven days after the last agency message",
			msgs: []Message{msg(t, "a", SideAgency, "2026-10-05 10:00"), msg(t, "q", SideClient, "2026-10-06 11:00"), beta},
			now:  "2026-10-08 12:00",
			want: []wantClock{{state: Running, start: "2026-10-05 10:00", due: "2026-10-12 10:00", elapsed: 29 * time.Hour}},
		},
		{
			name: "silent for more than seven days: breached; later messages ignored",
			msgs: []Message{msg(t, "a", SideAgency, "2026-10-05 10:00"), msg(t, "q", SideClient, "2026-10-06 11:00"),
				msg(t, "late", SideAgency, "2026-10-14 10:00")},
			now: "2026-10-13 10:00",
			want: []wantClock{{state: Breached, start: "2026-10-05 10:00", due: "2026-10-12 10:00", breach: "2026-10-12 10:00",
				elapsed: 54 * time.Hour}},
		},
		{
			name: "no human agency message: counted from the client's first message",
			msgs: []Message{msg(t, "q", SideClient, "2026-10-06 11:00"), auto},
			now:  "2026-10-13 10:00",
			want: []wantClock{{state: Breached, start: "2026-10-05 09:00", due: "2026-10-12 09:00", breach: "2026-10-12 09:00",
				elapsed: 55 * time.Hour}},
		},
		{
			// 7 days are 168 real hours: across the autumn change (25th)
			// the wall clock shows 09:00, not 10:00.
			name: "calendar days are real time across a clock change",
			msgs: []Message{msg(t, "a", SideAgency, "2026-10-22 10:00")},
			now:  "2026-10-30 10:00",
			want: []wantClock{{state: Breached, start: "2026-10-22 10:00", due: "2026-10-29 09:00", breach: "2026-10-29 09:00",
				elapsed: 54 * time.Hour}},
		},
		{name: "no messages by now, no clock", msgs: []Message{msg(t, "a", SideAgency, "2026-10-22 10:00")}, now: "2026-10-21 10:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := perClient{cal: berlinOffice(t), ps: map[string]*PolicySet{"acme": NewPolicySet(&ContactPolicy{MaxDays: 7})}}
			got := ContactClocks(tc.msgs, rules, at(t, tc.now))
			checkClocks(t, got, tc.want)
			for _, c := range got {
				if c.Subject != (Subject{Kind: "client", ExternalID: "acme", Title: "acme"}) {
					t.Errorf("subject %+v", c.Subject)
				}
			}
		})
	}
}

func TestBudgetClocks(t *testing.T) {
	t.Parallel()
	entry := func(date string, h float64, billable bool) TimeEntry {
		return TimeEntry{ClientID: "acme", Date: date, Seconds: int64(h * 3600), Billable: billable}
	}
	// October 2026 has 22 workdays (1-2, 5-9, 12-16, 19-23, 26-30); the
	// 1st to the 14th hold 10 of them.
	october := []TimeEntry{
		entry("2026-09-30", 6, true), // the previous month
		entry("2026-10-01", 4, true),
		entry("2026-10-02", 5, false),                                          // not billable
		entry("2026-10-05", 4, true),                                           // 8 h: 80 % of 10
		entry("2026-10-12", 3, true),                                           // 11 h: past 100 %
		entry("2026-10-20", 2, true),                                           // after now
		{ClientID: "acme", Date: "20.10.2026", Seconds: 36000, Billable: true}, // unreadable date
	}
	tests := []struct {
		name    string
		policy  BudgetPolicy
		entries []TimeEntry
		now     time.Time
		want    []wantClock
		ids     []string // a word each clock's ID hash was made from, checked by recomputing
	}{
		{
			// Projection: 11 h / 10 workdays * 22 = 24.2 h > 10.
			name:    "thresholds in order of start, projected overrun",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10}, Thresholds: []float64{1, 0.8, 0.8}, ProjectOverrun: true},
			entries: october,
			now:     at(t, "2026-10-14 12:00"),
			want: []wantClock{
				{state: AtRisk, start: "2026-10-01 00:00", due: "2026-11-01 00:00"},
				{state: Breached, start: "2026-10-05 00:00", breach: "2026-10-05 00:00"},
				{state: Breached, start: "2026-10-12 00:00", breach: "2026-10-12 00:00"},
			},
			ids: []string{"projected", "0.8", "1"},
		},
		{
			// September used 6 h of 10: the budget is 14 h, 80 % is 11.2 h.
			name:    "rollover raises the budget",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10, Rollover: true}, Thresholds: []float64{0.8}},
			entries: october,
			now:     at(t, "2026-10-14 12:00"),
		},
		{
			name:   "rollover is never negative",
			policy: BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10, Rollover: true}, Thresholds: []float64{0.8}},
			entries: append([]TimeEntry{entry("2026-09-10", 15, true)},
				october[1:]...),
			now:  at(t, "2026-10-14 12:00"),
			want: []wantClock{{state: Breached, start: "2026-10-05 00:00", breach: "2026-10-05 00:00"}},
			ids:  []string{"0.8"},
		},
		{
			// No time before October: its first month, nothing carries
			// into it, and 80 % of 10 h is reached on the 5th.
			name:    "no rollover into the client's first month",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10, Rollover: true}, Thresholds: []float64{0.8}},
			entries: october[1:],
			now:     at(t, "2026-10-14 12:00"),
			want:    []wantClock{{state: Breached, start: "2026-10-05 00:00", breach: "2026-10-05 00:00"}},
			ids:     []string{"0.8"},
		},
		{
			// Budget from November: October has none, so no clock.
			name:    "no budget before its start",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10, Start: "2026-11"}, Thresholds: []float64{0.8}},
			entries: october,
			now:     at(t, "2026-10-14 12:00"),
		},
		{
			// 3 h / 10 * 22 = 6.6 h.
			name:    "projection under budget",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10}, Thresholds: []float64{0.8}, ProjectOverrun: true},
			entries: []TimeEntry{entry("2026-10-01", 3, true)},
			now:     at(t, "2026-10-14 12:00"),
		},
		{
			// The last 7 days of October start on the 25th; 8 of 10 h unused.
			name:    "hours unused in the last week",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10}, WarnUnused: 0.5},
			entries: []TimeEntry{entry("2026-10-01", 2, true)},
			now:     at(t, "2026-10-27 10:00"),
			want:    []wantClock{{state: AtRisk, start: "2026-10-25 00:00", due: "2026-11-01 00:00"}},
			ids:     []string{"unused"},
		},
		{
			name:    "not yet the last week",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10}, WarnUnused: 0.5},
			entries: []TimeEntry{entry("2026-10-01", 2, true)},
			now:     at(t, "2026-10-24 23:59"),
		},
		{
			// 23:30 UTC on 31 October is 00:30 on 1 November in Berlin: the
			// month is November, where 8 h is 80 %.
			name:    "the month is read in the client's zone",
			policy:  BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 10}, Thresholds: []float64{0.8}},
			entries: []TimeEntry{entry("2026-10-01", 9, true), entry("2026-11-01", 8, true)},
			now:     time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC),
			want:    []wantClock{{state: Breached, start: "2026-11-01 00:00", breach: "2026-11-01 00:00"}},
			ids:     []string{"0.8"},
		},
		{
			name:    "a budget of 0 is off",
			policy:  BudgetPolicy{Thresholds: []float64{0.8}, ProjectOverrun: true, WarnUnused: 0.1},
			entries: october,
			now:     at(t, "2026-10-28 12:00"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&tc.policy)}
			got := BudgetClocks(tc.entries, rules, tc.now)
			checkClocks(t, got, tc.want)
			month := got
			for i, word := range tc.ids {
				m := month[i].StartedAt.Format("2006-01")
				want := ClockID(PolicyHourBudget, "acme", m, "threshold", word)
				if word == "projected" || word == "unused" {
					want = ClockID(PolicyHourBudget, "acme", m, word)
				}
				if got[i].ID != want || got[i].Policy != PolicyHourBudget {
					t.Errorf("clock %d: %s %s, want %s", i, got[i].Policy, got[i].ID, want)
				}
			}
		})
	}
}

// fixture builds a seeded agency: three clients with every policy on,
// their messages, tasks and time entries over September and October 2026.
func fixture(t testing.TB) (Facts, Rules) {
	t.Helper()
	loc := mustLoc(t, "Europe/Berlin")
	cal := mustCalendar(t, CalendarSpec{Name: "berlin", Location: loc, Country: "DE", Week: weekdays("09:00-13:00", "14:00-18:00")})
	ps := NewPolicySet(
		&ResponsePolicy{Target: Duration{Time: 6 * time.Hour}, Warn: Duration{Time: 3 * time.Hour}},
		StageLimits{StatusTodo: {Days: 3}, StatusInProgress: {Days: 2},
			StatusReview: {Days: 1}, StatusWaitingClient: {Days: 10}},
		&ReminderPolicy{RemindEvery: Duration{Days: 2}},
		&DuePolicy{WarnBefore: Duration{Time: 4 * time.Hour}},
		&BriefPolicy{MinDescription: 40, Checklist: "Brief"},
		&HygienePolicy{RequireAssignee: true, RequireDue: true},
		&ContactPolicy{MaxDays: 5},
		&BudgetPolicy{BudgetRule: BudgetRule{MonthlyHours: 40, Rollover: true}, Thresholds: []float64{0.5, 0.8, 1},
			WarnUnused: 0.3, ProjectOverrun: true},
		UntrackedWork(true),
	)
	clients := []string{"acme", "beta", "gamma"}
	rules := perClient{cal: cal, ps: map[string]*PolicySet{"acme": ps, "beta": ps, "gamma": ps}}
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2026, 9, 1, 8, 0, 0, 0, loc)
	span := int64(61 * 24 * time.Hour)
	instant := func(from time.Time, within time.Duration) time.Time {
		return from.Add(time.Duration(rng.Int64N(int64(within)))).Truncate(time.Minute)
	}
	var f Facts
	for i := range 60 {
		client := clients[i%3]
		conv := fmt.Sprintf("conv-%d", i)
		at := start.Add(time.Duration(rng.Int64N(span)))
		for j := range 1 + rng.IntN(6) {
			side := SideClient
			if rng.IntN(2) == 0 {
				side = SideAgency
			}
			f.Messages = append(f.Messages, Message{Key: fmt.Sprintf("%s/%d", conv, j), Conversation: conv, ClientID: client,
				Side: side, Automated: rng.IntN(8) == 0, SentAt: at, Subject: Subject{Kind: "thread", ExternalID: conv}})
			at = instant(at, 40*time.Hour)
		}
	}
	flow := []string{StatusTodo, StatusInProgress, StatusReview, StatusWaitingClient, StatusInProgress, StatusReview, StatusDone, StatusArchived}
	for i := range 90 {
		tk := Task{Key: fmt.Sprintf("trello/%d", i), ClientID: clients[i%3], Subject: Subject{Source: "trello", Title: fmt.Sprint("task ", i)},
			DescriptionLen: rng.IntN(80), Assignees: rng.IntN(2), DueDone: rng.IntN(10) == 0, LoggedSeconds: int64(rng.IntN(3)) * 1800}
		if rng.IntN(3) == 0 {
			tk.Checklists = []string{"BRIEF"}
		}
		at := start.Add(time.Duration(rng.Int64N(span)))
		tk.CreatedAt = at
		if rng.IntN(4) > 0 {
			tk.DueAt = ptr(instant(at, 14*24*time.Hour))
		}
		from := ""
		for _, to := range flow[:1+rng.IntN(len(flow))] {
			if rng.IntN(5) == 0 {
				to = flow[rng.IntN(len(flow))] // sent back or skipped ahead
			}
			tk.Moves = append(tk.Moves, Move{At: at, From: from, To: to})
			from = to
			at = instant(at, 4*24*time.Hour)
		}
		tk.Status = from
		f.Tasks = append(f.Tasks, tk)
	}
	for i := range 500 {
		d := start.AddDate(0, 0, rng.IntN(61))
		f.TimeEntries = append(f.TimeEntries, TimeEntry{ClientID: clients[i%3], Date: d.Format(time.DateOnly),
			Seconds: int64(900 * (1 + rng.IntN(12))), Billable: rng.IntN(5) > 0})
	}
	return f, rules
}

// asOf returns the facts as they stood at now: what a store would have
// held then, apart from the current-state fields (description, assignees,
// due date, logged time) that carry no history.
func asOf(f Facts, now time.Time) Facts {
	var out Facts
	for _, m := range f.Messages {
		if !m.SentAt.After(now) {
			out.Messages = append(out.Messages, m)
		}
	}
	for _, tk := range f.Tasks {
		if tk.CreatedAt.After(now) {
			continue
		}
		var moves []Move
		for _, m := range tk.Moves {
			if !m.At.After(now) {
				moves = append(moves, m)
			}
		}
		tk.Moves = moves
		if len(moves) > 0 {
			tk.Status = moves[len(moves)-1].To
		}
		out.Tasks = append(out.Tasks, tk)
	}
	today := now.In(mustLocNoT("Europe/Berlin")).Format(time.DateOnly)
	for _, e := range f.TimeEntries {
		if e.Date <= today {
			out.TimeEntries = append(out.TimeEntries, e)
		}
	}
	return out
}

func mustLocNoT(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// allPolicies runs every policy one by one, Evaluate included, so that a
// policy that is not deterministic alone is caught too.
func allPolicies(f Facts, rules Rules, now time.Time) [][]Clock {
	return [][]Clock{
		ResponseClocks(f.Messages, rules, now),
		StageClocks(f.Tasks, rules, now),
		WaitingClocks(f.Tasks, rules, now),
		DueClocks(f.Tasks, rules, now),
		BriefClocks(f.Tasks, rules, now),
		HygieneClocks(f.Tasks, rules, now),
		UntrackedClocks(f.Tasks, rules, now),
		ContactClocks(f.Messages, rules, now),
		BudgetClocks(f.TimeEntries, rules, now),
		Evaluate(f, rules, now),
	}
}

var replayNows = []string{"2026-09-08 10:00", "2026-09-29 17:30", "2026-10-14 12:00", "2026-10-27 09:15", "2026-11-03 08:00"}

func TestEvaluateTwiceIsIdentical(t *testing.T) {
	t.Parallel()
	f, rules := fixture(t)
	policies, states := map[string]bool{}, map[string]bool{}
	for _, s := range replayNows {
		now := at(t, s)
		first := allPolicies(f, rules, now)
		// A second evaluation, over the same facts handed over in another
		// order, must give the very same clocks.
		g := Facts{Messages: slices.Clone(f.Messages), Tasks: slices.Clone(f.Tasks), TimeEntries: slices.Clone(f.TimeEntries)}
		slices.Reverse(g.Messages)
		slices.Reverse(g.Tasks)
		slices.Reverse(g.TimeEntries)
		second := allPolicies(g, rules, now)
		for i := range first {
			if !reflect.DeepEqual(first[i], second[i]) {
				t.Errorf("now %s, policy #%d: evaluations differ\n%s", s, i, diffClocks(first[i], second[i]))
			}
		}
		all := first[len(first)-1]
		if !slices.IsSortedFunc(all, func(a, b Clock) int {
			if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		}) {
			t.Errorf("now %s: Evaluate's clocks are not sorted by start and ID", s)
		}
		ids := map[string]bool{}
		for _, c := range all {
			if ids[c.ID] {
				t.Errorf("now %s: clock ID %s twice", s, c.ID)
			}
			ids[c.ID] = true
			policies[c.Policy], states[c.State] = true, true
		}
	}
	// The fixture must exercise everything, or the test proves little.
	for _, p := range []string{PolicyResponse, PolicyStageLimit, PolicyWaitingClient, PolicyDueDate, PolicyBrief,
		PolicyHygiene, PolicyUntracked, PolicyClientContact, PolicyHourBudget} {
		if !policies[p] {
			t.Errorf("the fixture produced no %s clock", p)
		}
	}
	for _, s := range []string{Running, AtRisk, Breached, Met, Resolved, Paused} {
		if !states[s] {
			t.Errorf("the fixture produced no %s clock", s)
		}
	}
}

// TestReplayIgnoresLaterFacts evaluates the whole history at past instants
// and checks that the answer is the one the facts known then would give.
func TestReplayIgnoresLaterFacts(t *testing.T) {
	t.Parallel()
	f, rules := fixture(t)
	for _, s := range replayNows {
		now := at(t, s)
		full := allPolicies(f, rules, now)
		then := allPolicies(asOf(f, now), rules, now)
		for i := range full {
			if !reflect.DeepEqual(full[i], then[i]) {
				t.Errorf("now %s, policy #%d: the full history gives another answer than the facts of then\n%s",
					s, i, diffClocks(full[i], then[i]))
			}
		}
	}
	// And the answer does change with now: a replay that ignored now
	// would pass the comparison above.
	if a, b := Evaluate(f, rules, at(t, replayNows[1])), Evaluate(f, rules, at(t, replayNows[3])); reflect.DeepEqual(a, b) {
		t.Error("evaluations a month apart agree")
	}
}

func diffClocks(a, b []Clock) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d vs %d clocks\n", len(a), len(b))
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			fmt.Fprintf(&sb, "first difference at %d:\n%+v\n%+v\n", i, a[i], b[i])
			break
		}
	}
	return sb.String()
}

// BenchmarkEvaluateResponse evaluates one million response clocks: a
// million client messages over six weeks in a German office calendar with
// a lunch break, two in three answered within three days.
//
// It reports two rates. clocks/s is the steady state, once the heap has
// grown to its working size: one evaluation allocates some 450 MB (272 MB
// of it the clocks themselves), and the first evaluations of a process
// also pay for the kernel mapping that memory in, which on a virtual
// machine can cost as much again as the evaluation. first-clocks/s is the
// benchmark's first evaluation, page faults included: what a one-shot
// `karkas sync` sees.
func BenchmarkEvaluateResponse(b *testing.B) {
	cal := benchCalendar(b)
	ps := NewPolicySet(&ResponsePolicy{Target: Duration{Time: 6 * time.Hour}, Warn: Duration{Time: 3 * time.Hour}})
	rules := setRules{cal: cal, ps: ps}
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(3, 5))
	start := time.Date(2026, 9, 7, 0, 0, 0, 0, cal.Location())
	msgs := make([]Message, 0, 2*n) // one or two messages per conversation
	for i := range n {
		conv := "conv-" + fmt.Sprint(i)
		sent := start.Add(time.Duration(rng.Int64N(int64(42 * 24 * time.Hour))))
		msgs = append(msgs, Message{Key: conv + "/q", Conversation: conv, ClientID: "acme", Side: SideClient, SentAt: sent})
		if rng.IntN(3) > 0 {
			reply := sent.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
			msgs = append(msgs, Message{Key: conv + "/a", Conversation: conv, ClientID: "acme", Side: SideAgency, SentAt: reply})
		}
	}
	f := Facts{Messages: msgs}
	now := start.Add(45 * 24 * time.Hour)
	t0 := time.Now()
	if got := len(Evaluate(f, rules, now)); got != n {
		b.Fatalf("got %d clocks, want %d", got, n)
	}
	first := time.Since(t0)
	for range 2 {
		Evaluate(f, rules, now)
	}
	for b.Loop() {
		Evaluate(f, rules, now)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "clocks/s")
	b.ReportMetric(float64(n)/first.Seconds(), "first-clocks/s")
}

// The budget's carry-over edges, worked by hand: 10 h a month.
func TestMonthBudget(t *testing.T) {
	const h = 3600
	for _, tc := range []struct {
		name            string
		rule            BudgetRule
		month           string
		prevUsed        int64
		first           string
		budget, carried float64
	}{
		{"without rollover", BudgetRule{MonthlyHours: 10}, "2026-10", 4 * h, "2026-01", 10, 0},
		{"6 h unused carry over", BudgetRule{MonthlyHours: 10, Rollover: true}, "2026-10", 4 * h, "2026-01", 16, 6},
		{"an overrun is not taken back", BudgetRule{MonthlyHours: 10, Rollover: true}, "2026-10", 13 * h, "2026-01", 10, 0},
		{"the client's first month with time: nothing before it carries", BudgetRule{MonthlyHours: 10, Rollover: true}, "2026-10", 0, "2026-10", 10, 0},
		{"the month after the first: its unused hours carry", BudgetRule{MonthlyHours: 10, Rollover: true}, "2026-11", 3 * h, "2026-10", 17, 7},
		{"a client with no time yet", BudgetRule{MonthlyHours: 10, Rollover: true}, "2026-10", 0, "", 10, 0},
		{"the start month: nothing carries into it", BudgetRule{MonthlyHours: 10, Rollover: true, Start: "2026-10"}, "2026-10", 0, "2026-08", 10, 0},
		{"after the start: a quiet first month carries whole", BudgetRule{MonthlyHours: 10, Rollover: true, Start: "2026-10"}, "2026-11", 0, "2026-11", 20, 10},
		{"before the start: no budget", BudgetRule{MonthlyHours: 10, Rollover: true, Start: "2026-10"}, "2026-09", 0, "2026-01", 0, 0},
		{"capped at 4 h", BudgetRule{MonthlyHours: 10, Rollover: true, RolloverMax: 4}, "2026-10", 1 * h, "2026-01", 14, 4},
		{"a 3 h overrun taken from the next month", BudgetRule{MonthlyHours: 10, Rollover: true, CarryOverrun: true}, "2026-10", 13 * h, "2026-01", 7, -3},
		{"an overrun taken back, capped at 2 h", BudgetRule{MonthlyHours: 10, Rollover: true, CarryOverrun: true, RolloverMax: 2}, "2026-10", 13 * h, "2026-01", 8, -2},
		{"an overrun of twice the budget leaves none, never less", BudgetRule{MonthlyHours: 10, Rollover: true, CarryOverrun: true}, "2026-10", 35 * h, "2026-01", 0, -10},
	} {
		budget, carried := tc.rule.MonthBudget(tc.month, tc.prevUsed, tc.first)
		if budget != tc.budget || carried != tc.carried {
			t.Errorf("%s: budget %v, carried %v; want %v and %v", tc.name, budget, carried, tc.budget, tc.carried)
		}
	}
}

// Each row of Policies is a policy of its own: its name, its config key
// and its rule's type are no other row's, and it has clocks.
func TestPoliciesTable(t *testing.T) {
	names, keys, rules := map[string]bool{}, map[string]bool{}, map[reflect.Type]bool{}
	for _, p := range Policies {
		if p.Name == "" || p.Key == "" || p.Doc == "" || p.clocks == nil || p.Rule() == nil {
			t.Errorf("policy %+v: give a name, a key, a doc, a rule and clocks", p)
		}
		if names[p.Name] || keys[p.Key] || rules[p.Rule()] {
			t.Errorf("policy %s: its name, key or rule type %v is another policy's", p.Name, p.Rule())
		}
		names[p.Name], keys[p.Key], rules[p.Rule()] = true, true, true
		if got, ok := PolicyNamed(p.Name); !ok || got.Key != p.Key {
			t.Errorf("PolicyNamed(%s) = %v, %v", p.Name, got, ok)
		}
	}
	if _, ok := PolicyNamed("nope"); ok || WholeHistory("nope") != true {
		t.Error("an unknown policy is found, or its clocks are kept")
	}
}

// A set holds one rule per policy, found by type; a value of no policy's
// type is refused; For completes the budget with the client's terms and
// leaves the set itself as it was.
func TestPolicySetRules(t *testing.T) {
	ps := NewPolicySet(&DuePolicy{WarnBefore: Duration{Time: time.Hour}}, StageLimits{StatusTodo: {Days: 1}},
		&BudgetPolicy{Thresholds: []float64{1}}, UntrackedWork(true))
	if Rule[*DuePolicy](ps).WarnBefore.Time != time.Hour || Rule[StageLimits](ps)[StatusTodo].Days != 1 || !Rule[UntrackedWork](ps) {
		t.Errorf("rules not found by type: %+v", ps)
	}
	if Rule[*ResponsePolicy](ps) != nil || Rule[*ResponsePolicy](nil) != nil || Rule[UntrackedWork](NewPolicySet()) {
		t.Error("a rule the set does not hold is found")
	}
	if err := ps.Add(Duration{}); err == nil {
		t.Error("a duration was taken for a rule")
	}
	bound := ps.For(Terms{Budget: BudgetRule{MonthlyHours: 40}})
	if Rule[*BudgetPolicy](bound).MonthlyHours != 40 || Rule[*BudgetPolicy](ps).MonthlyHours != 0 || bound.Len() != ps.Len() {
		t.Errorf("For: bound %+v, set %+v", Rule[*BudgetPolicy](bound), Rule[*BudgetPolicy](ps))
	}
}

// A business duration reads as a config writes it, and writes back the
// same.
func TestParseDuration(t *testing.T) {
	for in, want := range map[string]Duration{"6h": {Time: 6 * time.Hour}, "1d 4h 30m": {Days: 1, Time: 4*time.Hour + 30*time.Minute}, "2d": {Days: 2}} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
		if again, _ := ParseDuration(got.String()); again != got {
			t.Errorf("%q does not read back: %q", in, got.String())
		}
	}
	for _, bad := range []string{"", "6 hours", "0h", "3"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) took it", bad)
		}
	}
}

// The README's policy table names every policy by its key and its name,
// so that a new row of Policies cannot go undocumented.
func TestPoliciesDocumented(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Policies {
		if !regexp.MustCompile("(?m)^  \\| `" + regexp.QuoteMeta(p.Key) + "[:`][^|]*\\| `" + regexp.QuoteMeta(p.Name) + "` \\|").Match(raw) {
			t.Errorf("README.md's policy table has no row for %s (key %s)", p.Name, p.Key)
		}
	}
}
