package sla

import (
	"cmp"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

type testRules struct {
	cal *Calendar
	pol *ResponsePolicy
}

func (r testRules) Calendar(string) *Calendar  { return r.cal }
func (r testRules) Policies(string) *PolicySet { return NewPolicySet(r.pol) }

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

// TestClockIDIsStable pins IDs computed by the first implementation:
// clock IDs are stored (clocks, waivers), so a change here orphans them.
func TestClockIDIsStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy string
		parts  []string
		want   string
	}{
		{"response", PolicyResponse, []string{"thread:imap/abc@example.com", "imap/42"}, "response-c7771d2d331f0b52"},
		{"stage limit", PolicyStageLimit, []string{"trello/c1", "2026-10-05T08:00:00Z", "review"}, "stage_limit-9cb2e72999390b32"},
		{"hour budget", PolicyHourBudget, []string{"acme", "2026-10"}, "hour_budget-ca44307f12084a75"},
		{"parts longer than the stack buffer", PolicyResponse, []string{strings.Repeat("x", 300), "k"}, "response-baa3fd73877995fe"},
		{"no parts", "p", nil, "p-148de9c5a7a44d19"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ClockID(tc.policy, tc.parts...); got != tc.want {
				t.Errorf("ClockID = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestClockJSONOmitsAbsentInstants(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	c := Clock{ID: "response-1", Policy: PolicyResponse, State: Running, StartedAt: start, DueAt: start.Add(6 * time.Hour)}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["due_at"] != "2026-10-05T15:00:00Z" || got["started_at"] != "2026-10-05T09:00:00Z" {
		t.Errorf("instants: %s", b)
	}
	for _, k := range []string{"warn_at", "breached_at", "stopped_at"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s present though absent: %s", k, b)
		}
	}
}

// TestResponseClocksHashCollisions runs the response policy with hashes
// that put several or all conversations in one group: the answer must be
// the one the real hash gives.
func TestResponseClocksHashCollisions(t *testing.T) {
	t.Parallel()
	f, rules := fixture(t)
	// Repeated instants inside conversations, so that ties are broken by key.
	for i := 0; i+1 < len(f.Messages); i += 7 {
		if f.Messages[i].Conversation == f.Messages[i+1].Conversation {
			f.Messages[i+1].SentAt = f.Messages[i].SentAt
		}
	}
	hashes := map[string]func(string) uint64{
		"all collide": func(string) uint64 { return 42 },
		"two groups":  func(s string) uint64 { return uint64(len(s) % 2) },
		"top bits only": func(s string) uint64 {
			return fnv64(s) & (0xff << 56)
		},
	}
	for _, s := range replayNows {
		now := at(t, s)
		want := ResponseClocks(f.Messages, rules, now)
		if len(want) == 0 {
			t.Fatalf("now %s: no clocks, the test proves nothing", s)
		}
		for name, h := range hashes {
			if got := responseClocks(f.Messages, rules, now, h); !reflect.DeepEqual(got, want) {
				t.Errorf("now %s, %s: clocks differ\n%s", s, name, diffClocks(want, got))
			}
		}
	}
}

func TestRadixSort(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 100, 5000} {
		s := make([]pendingClock, n)
		for i := range s {
			// Few distinct values per field, so that ties are common, and
			// seconds of both signs.
			s[i] = pendingClock{sec: rng.Int64N(7) - 3 + rng.Int64N(2)*(1<<40), nsec: int32(rng.IntN(3)) * 1e8,
				sum: rng.Uint64() >> (rng.IntN(2) * 62), open: int32(i)}
		}
		want := slices.Clone(s)
		slices.SortStableFunc(want, func(a, b pendingClock) int {
			if c := cmp.Compare(a.sec, b.sec); c != 0 {
				return c
			}
			if c := cmp.Compare(a.nsec, b.nsec); c != 0 {
				return c
			}
			return cmp.Compare(a.sum, b.sum)
		})
		tmp := make([]pendingClock, n)
		got, tmp := radixSort(s, tmp, func(p *pendingClock) uint64 { return p.sum })
		got, tmp = radixSort(got, tmp, func(p *pendingClock) uint64 { return uint64(p.nsec) })
		got, _ = radixSort(got, tmp, func(p *pendingClock) uint64 { return uint64(p.sec) ^ 1<<63 })
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: radix order differs from a stable comparison sort", n)
		}
	}
}
