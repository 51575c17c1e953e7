package sla

import (
	"testing"
	"time"
)

type testRules struct {
	cal *Calendar
	pol *ResponsePolicy
}

func (r testRules) Calendar(string) *Calendar  { return r.cal }
func (r testRules) Policies(string) *PolicySet { return &PolicySet{Response: r.pol} }

func berlinOffice(t *testing.T, holidays ...string) *Calendar {
	t.Helper()
	day := []Interval{{From: 9 * 60, To: 18 * 60}}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := NewCalendar(CalendarSpec{Name: "berlin", Location: loc, Week: [7][]Interval{day, day, day, day, day}, Holidays: holidays})
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

// at reads a Berlin wall-clock time.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func msg(t *testing.T, key, side, sent string) Message {
	return Message{Key: key, Conversation: "card-1", ClientID: "acme", Side: side, SentAt: at(t, sent),
		Subject: Subject{Kind: "task", Source: "trello", ExternalID: "card-1", Title: "Landing page"}}
}

func TestResponseClocks(t *testing.T) {
	t.Parallel()
	sixHours := &ResponsePolicy{Target: Duration{Time: 6 * time.Hour}, Warn: Duration{Time: 3 * time.Hour}}
	auto := msg(t, "oof", SideAgency, "2026-10-05 10:00")
	auto.Automated = true
	tests := []struct {
		name     string
		holidays []string
		msgs     []Message
		now      string
		want     []Clock // only the fields checked: State, StartedAt, StoppedAt, BusinessElapsed
	}{
		{
			// Fri 17:30 -> 18:00 is 30 min, Mon 09:00 -> 10:00 is 1 h.
			name: "Friday 17:30 answered Monday 10:00 is 1.5 business hours",
			msgs: []Message{msg(t, "q", SideClient, "2026-10-02 17:30"), msg(t, "a", SideAgency, "2026-10-05 10:00")},
			now:  "2026-10-06 12:00",
			want: []Clock{{State: Met, StartedAt: at(t, "2026-10-02 17:30"), BusinessElapsed: 90 * time.Minute}},
		},
		{
			// Tue 2026-12-22 16:00 -> 18:00 is 2 h; 23rd 9 h; 24th-25th are
			// holidays here; Mon 28th 09:00 -> 10:00 is 1 h: 12 h, breached
			// at the 6th hour, on the 23rd at 13:00.
			name:     "a holiday in between",
			holidays: []string{"2026-12-24", "2026-12-25"},
			msgs:     []Message{msg(t, "q", SideClient, "2026-12-22 16:00"), msg(t, "a", SideAgency, "2026-12-28 10:00")},
			now:      "2026-12-29 12:00",
			want:     []Clock{{State: Resolved, StartedAt: at(t, "2026-12-22 16:00"), BusinessElapsed: 12 * time.Hour}},
		},
		{
			name: "a message outside hours starts at the next business minute",
			msgs: []Message{msg(t, "q", SideClient, "2026-10-03 11:00"), msg(t, "a", SideAgency, "2026-10-05 09:45")},
			now:  "2026-10-05 12:00",
			want: []Clock{{State: Met, StartedAt: at(t, "2026-10-05 09:00"), BusinessElapsed: 45 * time.Minute}},
		},
		{
			name: "two client messages then one reply: one clock from the first",
			msgs: []Message{msg(t, "q1", SideClient, "2026-10-05 09:00"), msg(t, "q2", SideClient, "2026-10-05 11:00"),
				msg(t, "a", SideAgency, "2026-10-05 12:00")},
			now:  "2026-10-05 17:00",
			want: []Clock{{State: Met, StartedAt: at(t, "2026-10-05 09:00"), BusinessElapsed: 3 * time.Hour}},
		},
		{
			name: "an auto-reply does not stop the clock",
			msgs: []Message{msg(t, "q", SideClient, "2026-10-05 09:00"), auto},
			now:  "2026-10-05 13:00",
			want: []Clock{{State: AtRisk, StartedAt: at(t, "2026-10-05 09:00"), BusinessElapsed: 4 * time.Hour}},
		},
		{
			name: "unanswered past the target is breached",
			msgs: []Message{msg(t, "q", SideClient, "2026-10-05 09:00")},
			now:  "2026-10-06 09:30",
			want: []Clock{{State: Breached, StartedAt: at(t, "2026-10-05 09:00"), BusinessElapsed: 9*time.Hour + 30*time.Minute}},
		},
		{
			name: "evaluated before the reply, the clock still runs",
			msgs: []Message{msg(t, "q", SideClient, "2026-10-05 09:00"), msg(t, "a", SideAgency, "2026-10-05 16:00")},
			now:  "2026-10-05 10:00",
			want: []Clock{{State: Running, StartedAt: at(t, "2026-10-05 09:00"), BusinessElapsed: time.Hour}},
		},
		{
			name: "an agency message with nothing to answer starts nothing",
			msgs: []Message{msg(t, "a", SideAgency, "2026-10-05 09:00")},
			now:  "2026-10-06 10:00",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := testRules{cal: berlinOffice(t, tc.holidays...), pol: sixHours}
			got := ResponseClocks(tc.msgs, rules, at(t, tc.now))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d clocks, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.State != w.State || !g.StartedAt.Equal(w.StartedAt) || g.BusinessElapsed != w.BusinessElapsed {
					t.Errorf("clock %d = %s from %s, %s elapsed; want %s from %s, %s", i, g.State, g.StartedAt, g.BusinessElapsed,
						w.State, w.StartedAt, w.BusinessElapsed)
				}
			}
			// Evaluating twice gives the same answer.
			again := ResponseClocks(tc.msgs, rules, at(t, tc.now))
			for i := range got {
				if got[i].ID != again[i].ID || got[i].State != again[i].State {
					t.Errorf("second evaluation differs: %+v vs %+v", got[i], again[i])
				}
			}
		})
	}
}
