package sla

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// calendarCase is one golden question in testdata/calendar/<case>/case.json.
type calendarCase struct {
	Why string `json:"why"`
	// Calendar is the calendar asked; or Versions, a calendar edited over
	// time, each version with the instant it took effect (the first
	// version's "from" may be left out: it holds since always).
	Calendar calendarJSON  `json:"calendar"`
	Versions []versionJSON `json:"versions,omitempty"`
	// Op is between, add, add_days, next_business, is_business or is_workday.
	Op       string          `json:"op"`
	From     string          `json:"from"`
	To       string          `json:"to,omitempty"`
	Duration string          `json:"duration,omitempty"`
	Days     int             `json:"days,omitempty"`
	Want     json.RawMessage `json:"want"`
}

// calendarJSON is a CalendarSpec as the golden cases write it: week keys are
// "mon".."sun" or ranges such as "mon-fri", intervals "09:00-18:00".
type calendarJSON struct {
	Zone        string              `json:"zone"`
	Week        map[string][]string `json:"week"`
	Country     string              `json:"country,omitempty"`
	Holidays    []string            `json:"holidays,omitempty"`
	WorkingDays []string            `json:"working_days,omitempty"`
}

// versionJSON is one version of a calendar in a golden case.
type versionJSON struct {
	From     string       `json:"from,omitempty"`
	Calendar calendarJSON `json:"calendar"`
}

var dayKeys = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// calendar builds the case's calendar: a plain one, or one with history.
func (tc calendarCase) calendar(t *testing.T, name string) *Calendar {
	t.Helper()
	if len(tc.Versions) == 0 {
		spec, err := tc.Calendar.spec(name)
		if err != nil {
			t.Fatal(err)
		}
		return mustCalendar(t, spec)
	}
	if tc.Calendar.Zone != "" || len(tc.Calendar.Week) > 0 {
		t.Fatal(`a case has "calendar" or "versions", not both`)
	}
	var vs []CalendarVersion
	for i, v := range tc.Versions {
		spec, err := v.Calendar.spec(name)
		if err != nil {
			t.Fatalf("version %d: %v", i+1, err)
		}
		cv := CalendarVersion{Spec: spec}
		switch {
		case v.From != "":
			cv.From = parseInstant(t, v.From)
		case i > 0:
			t.Fatalf(`version %d: no "from": when did the edit take effect?`, i+1)
		}
		vs = append(vs, cv)
	}
	c, err := NewCalendarHistory(vs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (cj calendarJSON) spec(name string) (CalendarSpec, error) {
	loc, err := time.LoadLocation(cj.Zone)
	if err != nil {
		return CalendarSpec{}, fmt.Errorf("loading zone: %w", err)
	}
	spec := CalendarSpec{Name: name, Location: loc, Country: cj.Country, Holidays: cj.Holidays, WorkingDays: cj.WorkingDays}
	for key, ivs := range cj.Week {
		from, to, ok := strings.Cut(key, "-")
		if !ok {
			to = from
		}
		lo, hi := slices.Index(dayKeys, from), slices.Index(dayKeys, to)
		if lo < 0 || hi < lo {
			return CalendarSpec{}, fmt.Errorf("week key %q: want mon..sun or a range like mon-fri", key)
		}
		for _, s := range ivs {
			iv, err := parseInterval(s)
			if err != nil {
				return CalendarSpec{}, err
			}
			for wd := lo; wd <= hi; wd++ {
				spec.Week[wd] = append(spec.Week[wd], iv)
			}
		}
	}
	return spec, nil
}

func parseInterval(s string) (Interval, error) {
	var h1, m1, h2, m2 int
	if _, err := fmt.Sscanf(s, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil {
		return Interval{}, fmt.Errorf("interval %q: want HH:MM-HH:MM: %w", s, err)
	}
	return Interval{From: h1*60 + m1, To: h2*60 + m2}, nil
}

// TestCalendarGolden answers every question in testdata/calendar; adding a
// case is adding a folder.
func TestCalendarGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "calendar", "*", "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 20 {
		t.Fatalf("found %d golden cases, want the full set", len(dirs))
	}
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc := readCase(t, path)
			c := tc.calendar(t, name)
			from := parseInstant(t, tc.From)
			switch tc.Op {
			case "between":
				to := parseInstant(t, tc.To)
				want := parseDur(t, wantString(t, tc.Want))
				got := c.Between(from, to)
				if got != want {
					t.Fatalf("Between(%s, %s) = %s, want %s\nwhy: %s", tc.From, tc.To, got, want, tc.Why)
				}
				// The zone the instants are written in must not matter.
				for _, zone := range []string{"UTC", "Pacific/Kiritimati", "America/Los_Angeles"} {
					loc, _ := time.LoadLocation(zone)
					if got := c.Between(from.In(loc), to.In(loc)); got != want {
						t.Errorf("Between in %s = %s, want %s", zone, got, want)
					}
				}
			case "add":
				d := parseDur(t, tc.Duration)
				want := parseInstant(t, wantString(t, tc.Want))
				got := c.Add(from, d)
				if !got.Equal(want) {
					t.Fatalf("Add(%s, %s) = %s, want %s\nwhy: %s", tc.From, d, got, want.In(c.Location()), tc.Why)
				}
				if back := c.Between(from, got); back != d {
					t.Errorf("Between(from, Add(from, %s)) = %s", d, back)
				}
			case "add_days":
				want := parseInstant(t, wantString(t, tc.Want))
				if got := c.AddDays(from, tc.Days); !got.Equal(want) {
					t.Fatalf("AddDays(%s, %d) = %s, want %s\nwhy: %s", tc.From, tc.Days, got, want.In(c.Location()), tc.Why)
				}
			case "next_business":
				want := parseInstant(t, wantString(t, tc.Want))
				if got := c.NextBusiness(from); !got.Equal(want) {
					t.Fatalf("NextBusiness(%s) = %s, want %s\nwhy: %s", tc.From, got, want.In(c.Location()), tc.Why)
				}
			case "is_business", "is_workday":
				var want bool
				if err := json.Unmarshal(tc.Want, &want); err != nil {
					t.Fatalf("want: %v", err)
				}
				got := c.IsBusiness(from)
				if tc.Op == "is_workday" {
					got = c.IsWorkday(from)
				}
				if got != want {
					t.Fatalf("%s(%s) = %v, want %v\nwhy: %s", tc.Op, tc.From, got, want, tc.Why)
				}
			default:
				t.Fatalf("unknown op %q", tc.Op)
			}
		})
	}
}

func readCase(t *testing.T, path string) calendarCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields() // a misspelt field would silently drop a check
	var tc calendarCase
	if err := dec.Decode(&tc); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if strings.TrimSpace(tc.Why) == "" {
		t.Fatalf("%s: no why: every answer needs its arithmetic", path)
	}
	return tc
}

func wantString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("want: %v", err)
	}
	return s
}

func parseInstant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func parseDur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustCalendar(t testing.TB, spec CalendarSpec) *Calendar {
	t.Helper()
	c, err := NewCalendar(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hours(ivs ...string) []Interval {
	out := make([]Interval, 0, len(ivs))
	for _, s := range ivs {
		iv, err := parseInterval(s)
		if err != nil {
			panic(err)
		}
		out = append(out, iv)
	}
	return out
}

func weekdays(ivs ...string) [7][]Interval {
	d := hours(ivs...)
	return [7][]Interval{d, d, d, d, d}
}

func everyDay(ivs ...string) [7][]Interval {
	d := hours(ivs...)
	return [7][]Interval{d, d, d, d, d, d, d}
}

func TestNewCalendarErrors(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	tests := []struct {
		name string
		spec CalendarSpec
		want []string // every one must appear in the single error
	}{
		{
			name: "no location",
			spec: CalendarSpec{Name: "x", Week: weekdays("09:00-18:00")},
			want: []string{`calendar "x"`, "no location"},
		},
		{
			name: "empty week",
			spec: CalendarSpec{Name: "x", Location: berlin},
			want: []string{"no working hours"},
		},
		{
			name: "bad intervals",
			spec: CalendarSpec{Name: "x", Location: berlin, Week: [7][]Interval{
				{{From: 18 * 60, To: 9 * 60}},
				{{From: 9 * 60, To: 13 * 60}, {From: 12 * 60, To: 18 * 60}},
				{{From: 9 * 60, To: 25 * 60}},
			}},
			want: []string{"Monday interval 1 (18:00-09:00): must end after it starts",
				"Tuesday interval 2 (12:00-18:00): overlaps or precedes 09:00-13:00",
				"Wednesday interval 1 (09:00-25:00): outside 00:00-24:00"},
		},
		{
			name: "unknown country lists the known ones",
			spec: CalendarSpec{Name: "x", Location: berlin, Week: weekdays("09:00-18:00"), Country: "XX"},
			want: []string{`country "XX"`, "supported: AR, AT", "DE", "US"},
		},
		{
			name: "every problem at once",
			spec: CalendarSpec{Name: "x", Week: weekdays("09:00-18:00"), Country: "ZZ",
				Holidays: []string{"2026-13-01", "2026-12-24"}, WorkingDays: []string{"26-12-24", "2026-12-24"}},
			want: []string{"no location", `country "ZZ"`, `holidays: date "2026-13-01": want YYYY-MM-DD`,
				`working days: date "26-12-24"`, "working days: 2026-12-24 is also listed as a holiday"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewCalendar(tt.spec)
			if err == nil {
				t.Fatalf("NewCalendar = %v, want an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestCountries(t *testing.T) {
	t.Parallel()
	codes := Countries()
	if !slices.IsSorted(codes) {
		t.Errorf("Countries() = %v, not sorted", codes)
	}
	for _, want := range []string{"DE", "RU", "US", "GB", "FR", "NL", "ES", "IT", "PL"} {
		if !slices.Contains(codes, want) {
			t.Errorf("Countries() lacks %s", want)
		}
	}
	// Every wired country must really close the office on a few weekdays.
	utc := time.UTC
	for _, code := range codes {
		c := mustCalendar(t, CalendarSpec{Name: code, Location: utc, Week: weekdays("09:00-18:00"), Country: code})
		closed := 0
		for d := time.Date(2026, 1, 1, 12, 0, 0, 0, utc); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
			if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && !c.IsWorkday(d) {
				closed++
			}
		}
		if closed < 4 {
			t.Errorf("%s: %d weekday holidays in 2026, want several", code, closed)
		}
	}
}

func TestPublicHolidays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		country string
		zone    string
		date    string
		workday bool
	}{
		{name: "DE Whit Monday", country: "DE", zone: "Europe/Berlin", date: "2026-05-25"},
		{name: "DE Christmas Day", country: "DE", zone: "Europe/Berlin", date: "2026-12-25"},
		{name: "DE Christmas Eve works", country: "DE", zone: "Europe/Berlin", date: "2026-12-24", workday: true},
		{name: "DE Corpus Christi is regional only", country: "de", zone: "Europe/Berlin", date: "2026-06-04", workday: true},
		{name: "US Independence Day observed Friday", country: "US", zone: "America/New_York", date: "2026-07-03"},
		{name: "US Thanksgiving", country: "US", zone: "America/New_York", date: "2026-11-26"},
		{name: "US New Year 2022 observed the year before", country: "US", zone: "America/New_York", date: "2021-12-31"},
		{name: "GB Boxing Day observed Monday", country: "GB", zone: "Europe/London", date: "2026-12-28"},
		{name: "FR Bastille Day", country: "FR", zone: "Europe/Paris", date: "2026-07-14"},
		{name: "NL King's Day", country: "NL", zone: "Europe/Amsterdam", date: "2026-04-27"},
		{name: "ES National Day", country: "ES", zone: "Europe/Madrid", date: "2026-10-12"},
		{name: "IT Republic Day", country: "IT", zone: "Europe/Rome", date: "2026-06-02"},
		{name: "PL Independence Day", country: "PL", zone: "Europe/Warsaw", date: "2026-11-11"},
		{name: "RU New Year holidays added to the library's list", country: "RU", zone: "Europe/Moscow", date: "2026-01-05"},
		{name: "RU Women's Day on Sunday observed Monday", country: "RU", zone: "Europe/Moscow", date: "2026-03-09"},
		{name: "RU decree transfers are not known", country: "RU", zone: "Europe/Moscow", date: "2026-01-09", workday: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc := mustLoc(t, tt.zone)
			c := mustCalendar(t, CalendarSpec{Name: tt.name, Location: loc, Week: weekdays("09:00-18:00"), Country: tt.country})
			d, err := time.ParseInLocation(time.DateOnly, tt.date, loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.IsWorkday(d.Add(12 * time.Hour)); got != tt.workday {
				t.Errorf("IsWorkday(%s) = %v, want %v", tt.date, got, tt.workday)
			}
		})
	}
}

// TestWallClockRule pins where the boundaries of a 00:00-24:00 day land
// when the zone changes its clock, including at midnight itself and on a
// date the zone skipped.
func TestWallClockRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		zone     string
		ivs      []string
		from, to string // RFC 3339
		want     time.Duration
	}{
		{name: "Berlin spring day is 23h", zone: "Europe/Berlin", ivs: []string{"00:00-24:00"},
			from: "2026-03-29T00:00:00+01:00", to: "2026-03-30T00:00:00+02:00", want: 23 * time.Hour},
		{name: "Berlin autumn day is 25h", zone: "Europe/Berlin", ivs: []string{"00:00-24:00"},
			from: "2026-10-25T00:00:00+02:00", to: "2026-10-26T00:00:00+01:00", want: 25 * time.Hour},
		{name: "boundary in the gap moves to 03:00", zone: "Europe/Berlin", ivs: []string{"02:30-05:00"},
			from: "2026-03-29T00:00:00+01:00", to: "2026-03-30T00:00:00+02:00", want: 2 * time.Hour},
		{name: "repeated boundary takes the first 02:30", zone: "Europe/Berlin", ivs: []string{"02:30-05:00"},
			from: "2026-10-25T00:00:00+02:00", to: "2026-10-26T00:00:00+01:00", want: 3*time.Hour + 30*time.Minute},
		{name: "interval wholly in the gap is empty", zone: "Europe/Berlin", ivs: []string{"02:00-03:00"},
			from: "2026-03-29T00:00:00+01:00", to: "2026-03-30T00:00:00+02:00", want: 0},
		{name: "Santiago day without midnight starts at 01:00", zone: "America/Santiago", ivs: []string{"00:00-24:00"},
			from: "2026-09-05T12:00:00-04:00", to: "2026-09-06T12:00:00-03:00", want: 23 * time.Hour},
		{name: "Santiago 00:00-02:00 on that day is 1h", zone: "America/Santiago", ivs: []string{"00:00-02:00"},
			from: "2026-09-06T00:30:00-03:00", to: "2026-09-07T00:00:00-03:00", want: 1 * time.Hour},
		{name: "Santiago autumn repeats 23:00-24:00", zone: "America/Santiago", ivs: []string{"00:00-24:00"},
			from: "2026-04-04T00:00:00-03:00", to: "2026-04-05T00:00:00-04:00", want: 25 * time.Hour},
		{name: "Samoa skipped 2011-12-30 entirely", zone: "Pacific/Apia", ivs: []string{"00:00-24:00"},
			from: "2011-12-29T12:00:00-10:00", to: "2011-12-31T12:00:00+14:00", want: 24 * time.Hour},
		{name: "Lord Howe half-hour change", zone: "Australia/Lord_Howe", ivs: []string{"00:00-24:00"},
			from: "2026-10-04T00:00:00+10:30", to: "2026-10-05T00:00:00+11:00", want: 23*time.Hour + 30*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustCalendar(t, CalendarSpec{Name: tt.name, Location: mustLoc(t, tt.zone), Week: everyDay(tt.ivs...)})
			from, to := parseInstant(t, tt.from), parseInstant(t, tt.to)
			if got := c.Between(from, to); got != tt.want {
				t.Errorf("Between = %s, want %s", got, tt.want)
			}
			if got := c.Between(from, to); got != oracleBetween(c, from, to) {
				t.Errorf("Between = %s, oracle says %s", got, oracleBetween(c, from, to))
			}
		})
	}
}

func TestSantiagoMidnight(t *testing.T) {
	t.Parallel()
	// Sunday-only early shift; on 2026-09-06 Santiago jumps from Saturday
	// 24:00 (-04) to Sunday 01:00 (-03), so the day, and the shift, start
	// at 01:00.
	c := mustCalendar(t, CalendarSpec{Name: "scl", Location: mustLoc(t, "America/Santiago"),
		Week: [7][]Interval{6: hours("00:00-10:00")}})
	sat := parseInstant(t, "2026-09-05T23:30:00-04:00")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "next business is 01:00 -03", got: c.NextBusiness(sat).In(c.Location()).Format(time.RFC3339), want: "2026-09-06T01:00:00-03:00"},
		{name: "Sunday is a workday", got: c.IsWorkday(parseInstant(t, "2026-09-06T05:00:00-03:00")), want: true},
		{name: "Saturday is not", got: c.IsWorkday(sat), want: false},
		{name: "the shift is 9h", got: c.Between(sat, sat.Add(48*time.Hour)), want: 9 * time.Hour},
		{name: "Add across the jump", got: c.Add(sat, time.Hour).In(c.Location()).Format(time.RFC3339), want: "2026-09-06T02:00:00-03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestAddEdges(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	c := mustCalendar(t, CalendarSpec{Name: "lunch", Location: berlin, Week: weekdays("09:00-13:00", "14:00-18:00")})
	sat := time.Date(2026, 3, 21, 10, 0, 0, 0, berlin)
	mon := func(h, m int) time.Time { return time.Date(2026, 3, 23, h, m, 0, 0, berlin) }
	tests := []struct {
		name string
		t    time.Time
		d    time.Duration
		want time.Time
	}{
		{name: "zero returns t even outside hours", t: sat, d: 0, want: sat},
		{name: "negative returns t", t: mon(10, 0), d: -time.Hour, want: mon(10, 0)},
		{name: "ends exactly at lunch: 13:00, not 14:00", t: mon(12, 30), d: 30 * time.Minute, want: mon(13, 0)},
		{name: "a nanosecond more crosses lunch", t: mon(12, 30), d: 30*time.Minute + 1, want: mon(14, 0).Add(1)},
		{name: "from Saturday starts Monday 09:00", t: sat, d: time.Second, want: mon(9, 0).Add(time.Second)},
		{name: "sub-second start kept", t: mon(10, 0).Add(123), d: time.Hour, want: mon(11, 0).Add(123)},
		{name: "across a year end", t: time.Date(2026, 12, 31, 17, 0, 0, 0, berlin), d: 2 * time.Hour,
			want: time.Date(2027, 1, 1, 10, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.Add(tt.t, tt.d); !got.Equal(tt.want) {
				t.Errorf("Add(%s, %s) = %s, want %s", tt.t, tt.d, got, tt.want)
			}
		})
	}
	if got := c.Between(mon(12, 0), mon(11, 0)); got != 0 {
		t.Errorf("Between backwards = %s, want 0", got)
	}
	if got := c.Add(sat, time.Hour).Location(); got != berlin {
		t.Errorf("Add result in %s, want t's location", got)
	}
}

func TestAddDays(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	short := hours("09:00-15:00")
	c := mustCalendar(t, CalendarSpec{Name: "office", Location: berlin, Country: "DE",
		Week: [7][]Interval{hours("09:00-18:00"), hours("09:00-18:00"), hours("09:00-18:00"), hours("09:00-13:00", "14:00-18:00"), short}})
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, berlin) }
	tests := []struct {
		name string
		t    time.Time
		n    int
		want time.Time
	}{
		{name: "two days keeps the offset", t: at(3, 23, 15, 0), n: 2, want: at(3, 25, 15, 0)},
		{name: "skips Whit Monday", t: at(5, 22, 10, 0), n: 1, want: at(5, 26, 10, 0)},
		{name: "from Saturday starts Monday 09:00", t: at(3, 21, 10, 0), n: 1, want: at(3, 24, 9, 0)},
		{name: "clamped to a short Friday", t: at(3, 25, 17, 0), n: 2, want: at(3, 27, 15, 0)},
		{name: "offset 4h ends at Thursday's lunch", t: at(3, 25, 13, 0), n: 1, want: at(3, 26, 13, 0)},
		{name: "offset 5h on Thursday is 15:00", t: at(3, 25, 14, 0), n: 1, want: at(3, 26, 15, 0)},
		{name: "zero is NextBusiness", t: at(3, 21, 10, 0), n: 0, want: at(3, 23, 9, 0)},
		{name: "backwards over a weekend", t: at(3, 23, 11, 0), n: -1, want: at(3, 20, 11, 0)},
		{name: "over the spring change keeps wall time", t: at(3, 27, 11, 0), n: 1, want: at(3, 30, 11, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.AddDays(tt.t, tt.n); !got.Equal(tt.want) {
				t.Errorf("AddDays(%s, %d) = %s, want %s", tt.t, tt.n, got, tt.want)
			}
		})
	}
}

func TestWorkingDayOverride(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	week := weekdays("09:00-18:00")
	week[0] = hours("10:00-18:00")
	week[4] = hours("09:00-15:00")
	c := mustCalendar(t, CalendarSpec{Name: "o", Location: berlin, Week: week, Country: "DE",
		WorkingDays: []string{"2026-03-21", "2026-05-25"}})
	tests := []struct {
		name string
		from time.Time
		want time.Duration
	}{
		{name: "Saturday takes Monday's hours", from: time.Date(2026, 3, 21, 0, 0, 0, 0, berlin), want: 8 * time.Hour},
		{name: "a working holiday keeps its own weekday's hours", from: time.Date(2026, 5, 25, 0, 0, 0, 0, berlin), want: 8 * time.Hour},
		{name: "plain Sunday stays closed", from: time.Date(2026, 3, 22, 0, 0, 0, 0, berlin), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.Between(tt.from, tt.from.AddDate(0, 0, 1)); got != tt.want {
				t.Errorf("business time that day = %s, want %s", got, tt.want)
			}
			if !c.IsWorkday(tt.from) != (tt.want == 0) {
				t.Errorf("IsWorkday = %v", c.IsWorkday(tt.from))
			}
		})
	}
}

// TestRoundTrip checks, over seeded random instants and durations in
// several zones, that Add and Between invert each other and agree with a
// slow oracle that walks wall-clock minutes.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	specs := []struct {
		name string
		zone string
		week [7][]Interval
		hol  []string
		work []string
	}{
		{name: "berlin lunch", zone: "Europe/Berlin", week: weekdays("09:00-13:00", "14:00-18:00"),
			hol: []string{"2026-03-30", "2026-10-26"}, work: []string{"2026-10-24"}},
		{name: "new york", zone: "America/New_York", week: weekdays("08:30-17:00")},
		{name: "santiago 24/7", zone: "America/Santiago", week: everyDay("00:00-24:00")},
		{name: "berlin night shift", zone: "Europe/Berlin", week: everyDay("00:00-01:00", "01:00-04:00", "22:00-24:00")},
		{name: "lord howe", zone: "Australia/Lord_Howe", week: everyDay("01:30-02:30", "09:00-17:00")},
		{name: "beirut midnight", zone: "Asia/Beirut", week: everyDay("00:00-00:30", "23:00-24:00")},
		{name: "havana", zone: "America/Havana", week: weekdays("00:00-09:00")},
		{name: "kolkata", zone: "Asia/Kolkata", week: [7][]Interval{5: hours("10:00-14:00")}},
	}
	for i, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			c := mustCalendar(t, CalendarSpec{Name: s.name, Location: mustLoc(t, s.zone), Week: s.week, Holidays: s.hol, WorkingDays: s.work})
			rng := rand.New(rand.NewPCG(42, uint64(i)))
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			// Half of the instants fall within two days of a clock change,
			// where the wall-clock rule matters.
			var changes []int64
			for at := time.Unix(base, 0).In(c.loc); at.Year() <= 2026; {
				_, end := at.ZoneBounds()
				if end.IsZero() {
					break
				}
				changes = append(changes, end.Unix())
				at = end
			}
			instant := func() time.Time {
				sec := base + rng.Int64N(365*86400)
				if len(changes) > 0 && rng.IntN(2) == 0 {
					sec = changes[rng.IntN(len(changes))] - 2*86400 + rng.Int64N(4*86400)
				}
				// Whole minutes half the time, so boundaries are hit exactly.
				if rng.IntN(2) == 0 {
					return time.Unix(sec-sec%60, 0).UTC()
				}
				return time.Unix(sec, rng.Int64N(1e9)).UTC()
			}
			for n := range 300 {
				t0 := instant()
				d := time.Duration(rng.Int64N(int64(60 * time.Hour)))
				if rng.IntN(4) == 0 {
					d = d.Truncate(time.Minute)
				}
				u := c.Add(t0, d)
				if got := c.Between(t0, u); got != d {
					t.Fatalf("Between(%s, Add(t, %s)=%s) = %s", t0, d, u, got)
				}
				if d > 0 && !c.IsBusiness(u.Add(-1)) {
					t.Fatalf("Add(%s, %s) = %s: the nanosecond before is not business time", t0, d, u)
				}

				u2 := t0.Add(time.Duration(rng.Int64N(int64(4 * 24 * time.Hour))))
				e := c.Between(t0, u2)
				// The oracle is slow; every fifth pair is plenty.
				if n%5 == 0 {
					if want := oracleBetween(c, t0, u2); e != want {
						t.Fatalf("Between(%s, %s) = %s, oracle %s", t0.In(c.loc), u2.In(c.loc), e, want)
					}
				}
				v := c.Add(t0, e)
				if e > 0 {
					if !c.NextBusiness(v).Equal(c.NextBusiness(u2)) {
						t.Fatalf("NextBusiness(Add(t, Between(t, u))) = %s, want NextBusiness(u) = %s", c.NextBusiness(v), c.NextBusiness(u2))
					}
					if c.IsBusiness(u2) && !v.Equal(u2) {
						t.Fatalf("Add(t, Between(t, u)) = %s, want u = %s (business time)", v, u2)
					}
				}
				nb := c.NextBusiness(t0)
				if !c.IsBusiness(nb) || c.Between(t0, nb) != 0 {
					t.Fatalf("NextBusiness(%s) = %s: not business, or business time skipped", t0, nb)
				}
			}
		})
	}
}

// oracleBetween recomputes Between the slow way: for each local date it
// finds every boundary by scanning minutes for the first instant whose wall
// clock reads at or after the boundary, which is the package's rule stated
// differently (a gap boundary then lands on the change, a repeated one on
// its first occurrence). It shares no code with the year tables.
func oracleBetween(c *Calendar, a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	loc := c.loc
	wallOf := func(u int64) int64 {
		_, off := time.Unix(u, 0).In(loc).Zone()
		return u + int64(off)
	}
	first := func(wall int64) int64 {
		for u := wall - 16*3600; ; u += 60 {
			if wallOf(u) >= wall {
				// Zones here change on whole minutes; walk back to the second.
				for wallOf(u-1) >= wall && u-1 >= wall-16*3600 {
					u--
				}
				return u
			}
		}
	}
	var total time.Duration
	d0 := a.In(loc).AddDate(0, 0, -1)
	for d := time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, time.UTC); ; d = d.AddDate(0, 0, 1) {
		wall := d.Unix()
		if first(wall) > b.Unix()+86400 {
			break
		}
		key := civil(d.Date())
		ivs := c.week[(int(d.Weekday())+6)%7]
		if c.working[key] && len(ivs) == 0 {
			ivs = c.extra
		} else if !c.working[key] && c.holidays[key] {
			ivs = nil
		}
		for _, iv := range ivs {
			from := time.Unix(first(wall+int64(iv.From)*60), 0)
			to := time.Unix(first(wall+int64(iv.To)*60), 0)
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
	}
	return total
}

func TestConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	// Many goroutines asking a fresh calendar about different years must
	// agree with one another; -race checks the lazy tables.
	c := mustCalendar(t, CalendarSpec{Name: "c", Location: mustLoc(t, "Europe/Berlin"), Week: weekdays("09:00-18:00"), Country: "DE"})
	var wg sync.WaitGroup
	results := make([]time.Duration, 16)
	for g := range results {
		wg.Go(func() {
			for y := 2020 + g%8; y < 2036; y++ {
				a := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
				results[g] += c.Between(a, a.AddDate(1, 0, 0))
				c.Add(a, 100*time.Hour)
			}
		})
	}
	wg.Wait()
	for g := 8; g < 16; g++ {
		if results[g] != results[g-8] {
			t.Errorf("goroutine %d got %s, goroutine %d got %s", g, results[g], g-8, results[g-8])
		}
	}
}
