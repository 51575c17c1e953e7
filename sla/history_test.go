package sla

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// refHistory is a calendar history answered the slow, obvious way: each
// question goes to the versions' plain calendars and is cut at the edits
// by hand, sharing nothing with the history's year tables.
type refHistory struct {
	cals  []*Calendar
	froms []time.Time // froms[0] is unused: the first version is in force since always
}

func (h refHistory) index(t time.Time) int {
	k := 0
	for k+1 < len(h.cals) && !t.Before(h.froms[k+1]) {
		k++
	}
	return k
}

// bounds returns when version k is in force, with zero times for "always".
func (h refHistory) bounds(k int) (from, to time.Time) {
	if k > 0 {
		from = h.froms[k]
	}
	if k+1 < len(h.cals) {
		to = h.froms[k+1]
	}
	return from, to
}

func (h refHistory) between(a, b time.Time) time.Duration {
	var total time.Duration
	for k, c := range h.cals {
		from, to := h.bounds(k)
		lo, hi := a, b
		if !from.IsZero() && lo.Before(from) {
			lo = from
		}
		if !to.IsZero() && hi.After(to) {
			hi = to
		}
		total += c.Between(lo, hi)
	}
	return total
}

func (h refHistory) add(t time.Time, d time.Duration) time.Time {
	loc := t.Location()
	for k := h.index(t); ; k++ {
		_, to := h.bounds(k)
		if to.IsZero() {
			return h.cals[k].Add(t, d).In(loc)
		}
		left := h.cals[k].Between(t, to)
		if d <= left {
			return h.cals[k].Add(t, d).In(loc)
		}
		d -= left
		t = to
	}
}

func (h refHistory) nextBusiness(t time.Time) time.Time {
	loc := t.Location()
	for k := h.index(t); ; k++ {
		u := h.cals[k].NextBusiness(t)
		_, to := h.bounds(k)
		if to.IsZero() || u.Before(to) {
			return u.In(loc)
		}
		t = to
	}
}

// dayStart returns the start of the history's day holding t: the latest
// start, at or before t, of a day of the version in force at that start.
func (h refHistory) dayStart(t time.Time) time.Time {
	for k := h.index(t); k >= 0; k-- {
		from, to := h.bounds(k)
		x := t
		if !to.IsZero() && !x.Before(to) {
			x = to.Add(-time.Nanosecond)
		}
		tab, i := h.cals[k].locate(x)
		s := time.Unix(tab.start[i], 0)
		if from.IsZero() || !s.Before(from) {
			return s
		}
	}
	panic("unreachable: the first version is in force since always")
}

// nextStart returns the start of the history's day after the one holding t.
func (h refHistory) nextStart(t time.Time) time.Time {
	for k := h.index(t); ; k++ {
		from, to := h.bounds(k)
		x := t
		if x.Before(from) {
			x = from.Add(-time.Nanosecond)
		}
		tab, i := h.cals[k].locate(x)
		s := time.Unix(tab.start[i+1], 0)
		if tab.start[i] > x.Unix() { // x before the day locate clamps to
			s = time.Unix(tab.start[i], 0)
		}
		if to.IsZero() || s.Before(to) {
			return s
		}
	}
}

func (h refHistory) addDays(t time.Time, n int) time.Time {
	loc := t.Location()
	t = h.nextBusiness(t)
	day := h.dayStart(t)
	elapsed := h.between(day, t)
	for n > 0 {
		day = h.nextStart(day)
		if h.between(day, h.nextStart(day)) > 0 {
			n--
		}
	}
	for n < 0 {
		day = h.dayStart(day.Add(-time.Nanosecond))
		if h.between(day, h.nextStart(day)) > 0 {
			n++
		}
	}
	e := min(elapsed, h.between(day, h.nextStart(day)))
	if e == 0 {
		return h.nextBusiness(day).In(loc)
	}
	return h.add(day, e).In(loc)
}

type historyFixture struct {
	name  string
	specs []CalendarSpec
}

func historyFixtures(t *testing.T) []historyFixture {
	loc := func(name string) *time.Location { return mustLoc(t, name) }
	return []historyFixture{
		{name: "berlin hours, holidays, then new york", specs: []CalendarSpec{
			{Name: "a", Location: loc("Europe/Berlin"), Week: weekdays("09:00-13:00", "14:00-18:00"), Country: "DE"},
			{Name: "a", Location: loc("Europe/Berlin"), Week: [7][]Interval{hours("10:00-16:00"), hours("10:00-16:00"), hours("10:00-16:00"), hours("10:00-16:00")},
				Holidays: []string{"2026-03-30", "2026-06-15", "2026-10-26", "2026-12-24"}, WorkingDays: []string{"2026-10-24"}},
			{Name: "a", Location: loc("America/New_York"), Week: weekdays("08:30-17:00"), Country: "US"},
		}},
		{name: "santiago 24/7, kolkata saturdays, kiritimati", specs: []CalendarSpec{
			{Name: "b", Location: loc("America/Santiago"), Week: everyDay("00:00-24:00")},
			{Name: "b", Location: loc("Asia/Kolkata"), Week: [7][]Interval{5: hours("10:00-14:00")}},
			{Name: "b", Location: loc("Pacific/Kiritimati"), Week: weekdays("09:00-17:00")},
		}},
		{name: "berlin night shift to lord howe", specs: []CalendarSpec{
			{Name: "c", Location: loc("Europe/Berlin"), Week: everyDay("00:00-01:00", "01:00-04:00", "22:00-24:00")},
			{Name: "c", Location: loc("Australia/Lord_Howe"), Week: everyDay("01:30-02:30", "09:00-17:00")},
		}},
		{name: "honolulu to kiritimati across the date line", specs: []CalendarSpec{
			{Name: "d", Location: loc("Pacific/Honolulu"), Week: weekdays("07:00-19:00")},
			{Name: "d", Location: loc("Pacific/Kiritimati"), Week: everyDay("08:00-12:00")},
			{Name: "d", Location: loc("Etc/GMT+12"), Week: weekdays("00:00-24:00")},
		}},
	}
}

// randomEdits returns n-1 edit instants in 2026, sorted and apart: some at
// a local midnight or a working interval's edge of the version they start,
// where the cut is easiest to get wrong, some anywhere.
func randomEdits(rng *rand.Rand, specs []CalendarSpec) []time.Time {
	froms := make([]time.Time, len(specs))
	lo := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 365 * 24 * time.Hour / time.Duration(len(specs))
	for k := 1; k < len(specs); k++ {
		at := lo.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		switch rng.IntN(3) {
		case 0: // midnight of the new version's zone
			l := at.In(specs[k].Location)
			at = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, specs[k].Location)
		case 1: // on a whole hour of the old version's zone
			l := at.In(specs[k-1].Location)
			at = time.Date(l.Year(), l.Month(), l.Day(), rng.IntN(24), 0, 0, 0, specs[k-1].Location)
		}
		if at.Before(lo) {
			at = lo
		}
		froms[k] = at
		lo = at.Add(span)
	}
	return froms
}

func buildHistory(t *testing.T, specs []CalendarSpec, froms []time.Time) (*Calendar, refHistory) {
	t.Helper()
	vs := make([]CalendarVersion, len(specs))
	ref := refHistory{froms: froms}
	for k, s := range specs {
		vs[k] = CalendarVersion{From: froms[k], Spec: s}
		ref.cals = append(ref.cals, mustCalendar(t, s))
	}
	c, err := NewCalendarHistory(vs)
	if err != nil {
		t.Fatal(err)
	}
	return c, ref
}

// TestHistoryRoundTrip checks, over seeded random histories, instants and
// durations, that every method of a calendar with history agrees with the
// version-by-version reference and that Add and Between invert each other
// across the edits.
func TestHistoryRoundTrip(t *testing.T) {
	t.Parallel()
	for fi, fx := range historyFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(7, uint64(fi)))
			for round := range 4 {
				froms := randomEdits(rng, fx.specs)
				c, ref := buildHistory(t, fx.specs, froms)
				instant := func() time.Time {
					var at time.Time
					if rng.IntN(2) == 0 { // near an edit
						at = froms[1+rng.IntN(len(froms)-1)].Add(time.Duration(rng.Int64N(int64(96*time.Hour))) - 48*time.Hour)
					} else {
						at = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(430 * 24 * time.Hour))))
					}
					if rng.IntN(2) == 0 {
						return at.Truncate(time.Minute)
					}
					return at
				}
				for n := range 250 {
					t0 := instant()
					d := time.Duration(rng.Int64N(int64(60 * time.Hour)))
					if rng.IntN(4) == 0 {
						d = d.Truncate(time.Minute)
					}
					u := c.Add(t0, d)
					if got := c.Between(t0, u); got != d {
						t.Fatalf("round %d: Between(%s, Add(t, %s) = %s) = %s", round, t0, d, u, got)
					}
					if want := ref.add(t0, d); !u.Equal(want) {
						t.Fatalf("round %d: Add(%s, %s) = %s, reference %s (edits %v)", round, t0, d, u, want, froms)
					}
					if u.Location() != t0.Location() {
						t.Fatalf("Add result in %s, want t's location", u.Location())
					}
					u2 := instant()
					if got, want := c.Between(t0, u2), ref.between(t0, u2); got != want {
						t.Fatalf("round %d: Between(%s, %s) = %s, reference %s (edits %v)", round, t0, u2, got, want, froms)
					}
					if got, want := c.NextBusiness(t0), ref.nextBusiness(t0); !got.Equal(want) {
						t.Fatalf("round %d: NextBusiness(%s) = %s, reference %s (edits %v)", round, t0, got, want, froms)
					}
					if got, want := c.IsBusiness(t0), ref.cals[ref.index(t0)].IsBusiness(t0); got != want {
						t.Fatalf("round %d: IsBusiness(%s) = %v, the version in force says %v", round, t0, got, want)
					}
					if got, want := c.IsWorkday(t0), ref.cals[ref.index(t0)].IsWorkday(t0); got != want {
						t.Fatalf("round %d: IsWorkday(%s) = %v, the version in force says %v", round, t0, got, want)
					}
					if n%3 == 0 {
						days := rng.IntN(11) - 5
						if got, want := c.AddDays(t0, days), ref.addDays(t0, days); !got.Equal(want) {
							t.Fatalf("round %d: AddDays(%s, %d) = %s, reference %s (edits %v)", round, t0, days, got, want, froms)
						}
					}
				}
			}
		})
	}
}

// TestHistoryOfOneSpec: a history whose versions are all the same spec is
// that spec's calendar, whatever the edit instants; and a one-version
// history is NewCalendar's calendar.
func TestHistoryOfOneSpec(t *testing.T) {
	t.Parallel()
	for fi, fx := range historyFixtures(t) {
		for si, spec := range fx.specs {
			t.Run(fx.name+"/"+spec.Location.String(), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(11, uint64(fi*10+si)))
				plain := mustCalendar(t, spec)
				one, err := NewCalendarHistory([]CalendarVersion{{From: time.Now(), Spec: spec}})
				if err != nil {
					t.Fatal(err)
				}
				same := []CalendarSpec{spec, spec, spec}
				froms := randomEdits(rng, same)
				three, _ := buildHistory(t, same, froms)
				for range 400 {
					t0 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(430 * 24 * time.Hour))))
					u := t0.Add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour))))
					d := time.Duration(rng.Int64N(int64(60 * time.Hour)))
					n := rng.IntN(11) - 5
					for _, c := range []*Calendar{one, three} {
						if got, want := c.Between(t0, u), plain.Between(t0, u); got != want {
							t.Fatalf("Between(%s, %s) = %s, plain %s (edits %v)", t0, u, got, want, froms)
						}
						if got, want := c.Add(t0, d), plain.Add(t0, d); !got.Equal(want) {
							t.Fatalf("Add(%s, %s) = %s, plain %s (edits %v)", t0, d, got, want, froms)
						}
						if got, want := c.AddDays(t0, n), plain.AddDays(t0, n); !got.Equal(want) {
							t.Fatalf("AddDays(%s, %d) = %s, plain %s (edits %v)", t0, n, got, want, froms)
						}
						if got, want := c.NextBusiness(t0), plain.NextBusiness(t0); !got.Equal(want) {
							t.Fatalf("NextBusiness(%s) = %s, plain %s (edits %v)", t0, got, want, froms)
						}
						if c.IsBusiness(t0) != plain.IsBusiness(t0) || c.IsWorkday(t0) != plain.IsWorkday(t0) {
							t.Fatalf("IsBusiness/IsWorkday(%s) differ from plain (edits %v)", t0, froms)
						}
					}
				}
				if one.versions != nil {
					t.Error("a one-version history carries versions: it must be a plain calendar")
				}
			})
		}
	}
}

// TestHistoryEdit pins the rule on the example of the package doc: Berlin
// 09:00-18:00 edited to 10:00-16:00 on Monday 2026-11-16 at 12:00.
func TestHistoryEdit(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, berlin) }
	edit := at(16, 12, 0)
	c, err := NewCalendarHistory([]CalendarVersion{
		{Spec: CalendarSpec{Name: "office", Location: berlin, Week: weekdays("09:00-18:00")}},
		{From: edit, Spec: CalendarSpec{Name: "office", Location: berlin, Week: weekdays("10:00-16:00")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"between across the edit", c.Between(at(13, 16, 0), at(17, 11, 0)), 10 * time.Hour},
		{"between before the edit keeps the old hours", c.Between(at(9, 0, 0), at(14, 0, 0)), 45 * time.Hour},
		{"add across the edit", c.Add(at(13, 16, 0), 10*time.Hour), at(17, 11, 0)},
		{"add ending at the edit", c.Add(at(13, 16, 0), 5*time.Hour), edit},
		{"the edit instant is business time in the new hours", c.IsBusiness(edit), true},
		{"old hours still hold just before the edit", c.IsBusiness(edit.Add(-time.Nanosecond)), true},
		{"after 16:00 the new hours are closed", c.IsBusiness(at(16, 17, 0)), false},
		{"next business after Monday 16:00 is Tuesday 10:00", c.NextBusiness(at(16, 16, 30)), at(17, 10, 0)},
		{"add days lands in the old hours of the edit day", c.AddDays(at(13, 11, 0), 1), at(16, 11, 0)},
		{"add days lands in the new hours after it", c.AddDays(at(13, 11, 0), 2), at(17, 12, 0)},
		{"add days over the edit day counts its 7 hours", c.AddDays(at(13, 17, 0), 1), at(16, 16, 0)},
		{"add days back from the new hours", c.AddDays(at(17, 12, 0), -2), at(13, 11, 0)},
		{"location is the latest version's", c.Location(), berlin},
		{"name", c.Name(), "office"},
		{"spec is the latest version's", c.Spec().Week[0][0], Interval{From: 600, To: 960}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if g, ok := tt.got.(time.Time); ok {
				if !g.Equal(tt.want.(time.Time)) {
					t.Errorf("got %s, want %s", g, tt.want)
				}
				return
			}
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestHistoryZoneChange: an edit that moves the calendar from Berlin to
// New York keeps the Berlin days before it and the New York days after.
func TestHistoryZoneChange(t *testing.T) {
	t.Parallel()
	berlin, ny := mustLoc(t, "Europe/Berlin"), mustLoc(t, "America/New_York")
	edit := time.Date(2026, 11, 18, 12, 0, 0, 0, berlin) // 06:00 in New York
	c, err := NewCalendarHistory([]CalendarVersion{
		{Spec: CalendarSpec{Name: "z", Location: berlin, Week: weekdays("09:00-18:00")}},
		{From: edit, Spec: CalendarSpec{Name: "z", Location: ny, Week: weekdays("09:00-18:00")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Location() != ny {
		t.Errorf("Location = %s, want the latest version's America/New_York", c.Location())
	}
	// Wednesday: Berlin 09:00-12:00 (3h) then New York 09:00-18:00 (9h),
	// one day of 12 hours that starts at Berlin's midnight and ends at New
	// York's. Tuesday 13:00 Berlin is 4h into Tuesday; 4h into that
	// Wednesday is New York 10:00.
	if got, want := c.AddDays(time.Date(2026, 11, 17, 13, 0, 0, 0, berlin), 1), time.Date(2026, 11, 18, 10, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("AddDays over the zone change = %s, want %s", got, want)
	}
	if got := c.Between(time.Date(2026, 11, 18, 0, 0, 0, 0, berlin), time.Date(2026, 11, 19, 0, 0, 0, 0, ny)); got != 12*time.Hour {
		t.Errorf("business time of the edit day = %s, want 12h", got)
	}
	// After the edit dates are New York's: Saturday 03:00 in Berlin is
	// still Friday there, a workday.
	if !c.IsWorkday(edit.Add(time.Hour)) || !c.IsWorkday(time.Date(2026, 11, 21, 3, 0, 0, 0, berlin)) ||
		c.IsWorkday(time.Date(2026, 11, 21, 12, 0, 0, 0, berlin)) {
		t.Error("IsWorkday on the edit day or the Saturday after is wrong")
	}
}

func TestNewCalendarHistoryErrors(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	ok := CalendarSpec{Name: "x", Location: berlin, Week: weekdays("09:00-18:00")}
	bad := CalendarSpec{Name: "x", Week: weekdays("18:00-09:00")}
	t1 := time.Date(2026, 11, 16, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		versions []CalendarVersion
		want     []string
	}{
		{name: "no versions", want: []string{"no versions"}},
		{name: "not sorted", versions: []CalendarVersion{{From: t1, Spec: ok}, {From: t1.Add(-time.Hour), Spec: ok}},
			want: []string{`calendar history "x"`, "version 2 (from 2026-11-16T10:00:00Z) does not come after version 1"}},
		{name: "same second", versions: []CalendarVersion{{Spec: ok}, {From: t1, Spec: ok}, {From: t1.Add(time.Millisecond), Spec: ok}},
			want: []string{"version 3 (from 2026-11-16T11:00:00Z) does not come after version 2"}},
		{name: "a bad version names itself and every problem", versions: []CalendarVersion{{Spec: ok}, {From: t1, Spec: bad}},
			want: []string{"version 2 (from 2026-11-16T11:00:00Z)", "no location", "Monday interval 1 (18:00-09:00)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewCalendarHistory(tt.versions)
			if err == nil {
				t.Fatalf("NewCalendarHistory = %v, want an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// BenchmarkBetweenHistory is BenchmarkBetween on a calendar edited twice
// in the clocks' year: the history's tables are read by the same code.
func BenchmarkBetweenHistory(b *testing.B) {
	berlin := mustLoc(b, "Europe/Berlin")
	c, err := NewCalendarHistory([]CalendarVersion{
		{Spec: CalendarSpec{Name: "bench", Location: berlin, Country: "DE", Week: weekdays("09:00-13:00", "14:00-18:00")}},
		{From: time.Date(2026, 4, 1, 12, 0, 0, 0, berlin), Spec: CalendarSpec{Name: "bench", Location: berlin, Country: "DE", Week: weekdays("10:00-16:00")}},
		{From: time.Date(2026, 9, 1, 0, 0, 0, 0, berlin), Spec: CalendarSpec{Name: "bench", Location: mustLoc(b, "Europe/London"), Country: "GB", Week: weekdays("09:00-17:30")}},
	})
	if err != nil {
		b.Fatal(err)
	}
	c.Between(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	clocks := benchClocks()
	var sink time.Duration
	i := 0
	for b.Loop() {
		p := &clocks[i%len(clocks)]
		sink += c.Between(p.start, p.end)
		i++
	}
	reportClocks(b)
	_ = sink
}
