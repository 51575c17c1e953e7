package sla

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rickar/cal/v2"
	calar "github.com/rickar/cal/v2/ar"
	calat "github.com/rickar/cal/v2/at"
	calbe "github.com/rickar/cal/v2/be"
	calbg "github.com/rickar/cal/v2/bg"
	calbr "github.com/rickar/cal/v2/br"
	calcz "github.com/rickar/cal/v2/cz"
	calde "github.com/rickar/cal/v2/de"
	caldk "github.com/rickar/cal/v2/dk"
	cales "github.com/rickar/cal/v2/es"
	calfr "github.com/rickar/cal/v2/fr"
	calgb "github.com/rickar/cal/v2/gb"
	calgr "github.com/rickar/cal/v2/gr"
	calhr "github.com/rickar/cal/v2/hr"
	calie "github.com/rickar/cal/v2/ie"
	calit "github.com/rickar/cal/v2/it"
	caljp "github.com/rickar/cal/v2/jp"
	callt "github.com/rickar/cal/v2/lt"
	callv "github.com/rickar/cal/v2/lv"
	calmw "github.com/rickar/cal/v2/mw"
	calnc "github.com/rickar/cal/v2/nc"
	calnl "github.com/rickar/cal/v2/nl"
	calno "github.com/rickar/cal/v2/no"
	calnz "github.com/rickar/cal/v2/nz"
	calpl "github.com/rickar/cal/v2/pl"
	calro "github.com/rickar/cal/v2/ro"
	calru "github.com/rickar/cal/v2/ru"
	calse "github.com/rickar/cal/v2/se"
	calsi "github.com/rickar/cal/v2/si"
	calsk "github.com/rickar/cal/v2/sk"
	calua "github.com/rickar/cal/v2/ua"
	calus "github.com/rickar/cal/v2/us"
	calza "github.com/rickar/cal/v2/za"
)

// Interval is a span of a day in minutes since local midnight, [From, To).
// To may be 24*60, the next midnight.
type Interval struct{ From, To int }

// String renders the interval as "09:00-18:00".
func (iv Interval) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", iv.From/60, iv.From%60, iv.To/60, iv.To%60)
}

// CalendarSpec describes a calendar; the config loader fills it from YAML.
type CalendarSpec struct {
	Name string
	// Location is the IANA zone all of the calendar's dates and hours are
	// read in; karkas embeds tzdata, so any zone name works everywhere.
	Location *time.Location
	// Week holds the working hours of each weekday, index 0 = Monday ...
	// 6 = Sunday; each day's intervals sorted and non-overlapping.
	Week [7][]Interval
	// Country is an ISO 3166 alpha-2 code whose national public holidays
	// are non-working ("" = none); see [Countries].
	Country string
	// Holidays are extra non-working dates, "YYYY-MM-DD" in Location.
	Holidays []string
	// WorkingDays are dates that work although they fall on a weekend or a
	// holiday, "YYYY-MM-DD" in Location. Such a date keeps its own
	// weekday's hours when that weekday has any, and otherwise uses the
	// hours of the first weekday, in Monday..Friday order (then Saturday,
	// Sunday), that has hours: a working Saturday in a Monday-to-Friday
	// office works Monday's hours.
	WorkingDays []string
}

// Calendar answers business-time questions for one CalendarSpec, or for a
// calendar's versions over time (see [NewCalendarHistory]). It is immutable
// after NewCalendar or NewCalendarHistory and safe for concurrent use.
//
// Internally it builds, lazily and once per calendar year, a table over
// the days of the year: each day's start instant, its working intervals as
// Unix seconds and the business time accumulated before it. Between and Add
// then cost a lookup of the day plus a scan of that day's few intervals;
// they never step through minutes.
type Calendar struct {
	name     string
	loc      *time.Location
	week     [7][]Interval
	extra    []Interval // the hours of a WorkingDays date whose weekday has none
	country  []*cal.Holiday
	holidays map[int]bool // civil dates, see civil
	working  map[int]bool

	spec CalendarSpec // as given, for Spec
	// versions is set on a calendar NewCalendarHistory built from two or
	// more versions: its year tables are then built from theirs (see
	// buildHistoryYear). Its name, loc and spec are the latest version's;
	// week, extra, country, holidays and working are left empty.
	versions []version

	mu    sync.Mutex // serialises building year tables
	years atomic.Pointer[yearSet]
}

// yearSet is an immutable snapshot of the year tables built so far; a new
// one replaces it whenever a year is added, so readers never lock.
type yearSet struct {
	first int
	tabs  []*yearTable // tabs[y-first], nil when not built yet
}

// yearTable holds the business intervals of one calendar year. Day i of the
// year runs over [start[i], start[i+1]) in Unix seconds; it may be empty on
// a date the zone skipped entirely.
type yearTable struct {
	year  int
	start []int64 // len days+1
	ivIdx []int32 // day i's intervals are ivs[ivIdx[i]:ivIdx[i+1]]
	ivs   []span
	cum   []int64 // ns of business time before day i, len days+1
	work  []bool  // the date is a working day by the calendar's rules
}

// span is a working interval in Unix seconds, [from, to); to >= from.
type span struct{ from, to int64 }

const nsPerSec = int64(time.Second)

// countries maps the supported ISO codes to rickar/cal's national holiday
// lists. Left out on purpose: AU (only state lists), CA (provincial
// holidays mixed into the national list), CH (the union of cantonal
// holidays), and ECB, which is not a country.
var countries = map[string][]*cal.Holiday{
	"AR": calar.Holidays, "AT": calat.Holidays, "BE": calbe.Holidays, "BG": calbg.Holidays,
	"BR": calbr.Holidays, "CZ": calcz.Holidays, "DE": calde.Holidays, "DK": caldk.Holidays,
	"ES": cales.Holidays, "FR": calfr.Holidays, "GB": calgb.Holidays, "GR": calgr.Holidays,
	"HR": calhr.Holidays, "IE": calie.Holidays, "IT": calit.Holidays, "JP": caljp.Holidays,
	"LT": callt.Holidays, "LV": callv.Holidays, "MW": calmw.Holidays, "NC": calnc.Holidays,
	"NL": calnl.Holidays, "NO": calno.Holidays, "NZ": calnz.Holidays, "PL": calpl.Holidays,
	"RO": calro.Holidays, "RU": ruHolidays, "SE": calse.Holidays, "SI": calsi.Holidays,
	"SK": calsk.Holidays, "UA": calua.Holidays, "US": calus.Holidays, "ZA": calza.Holidays,
}

// ruHolidays completes rickar/cal's Russian list, which lacks the New Year
// holidays of Labour Code art. 112 (2-6 and 8 January). The yearly
// government decree that moves days off around still has to come from the
// calendar's Holidays and WorkingDays.
var ruHolidays = append(slices.Clip(calru.Holidays),
	ruJanuary(2), ruJanuary(3), ruJanuary(4), ruJanuary(5), ruJanuary(6), ruJanuary(8))

func ruJanuary(day int) *cal.Holiday {
	return &cal.Holiday{Name: "Новогодние каникулы", Type: cal.ObservancePublic,
		Month: time.January, Day: day, Func: cal.CalcDayOfMonth}
}

// Countries returns the country codes NewCalendar supports, sorted.
func Countries() []string {
	codes := make([]string, 0, len(countries))
	for code := range countries {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	return codes
}

// NewCalendar checks spec and returns its calendar. It reports every
// problem it finds in one error.
func NewCalendar(spec CalendarSpec) (*Calendar, error) {
	var errs []error
	c := &Calendar{name: spec.Name, loc: spec.Location, spec: cloneSpec(spec), holidays: map[int]bool{}, working: map[int]bool{}}
	if spec.Location == nil {
		errs = append(errs, errors.New("no location (an IANA zone such as Europe/Berlin)"))
	}
	hasHours := false
	for wd, ivs := range spec.Week {
		for i, iv := range ivs {
			where := fmt.Sprintf("%s interval %d (%s)", weekdayName(wd), i+1, iv)
			switch {
			case iv.From < 0 || iv.To > 24*60:
				errs = append(errs, fmt.Errorf("%s: outside 00:00-24:00", where))
			case iv.From >= iv.To:
				errs = append(errs, fmt.Errorf("%s: must end after it starts", where))
			case i > 0 && iv.From < ivs[i-1].To:
				errs = append(errs, fmt.Errorf("%s: overlaps or precedes %s", where, ivs[i-1]))
			}
		}
		c.week[wd] = slices.Clone(ivs)
		hasHours = hasHours || len(ivs) > 0
	}
	if !hasHours {
		errs = append(errs, errors.New("no working hours on any weekday"))
	}
	for _, hours := range c.week { // Monday first
		if len(hours) > 0 {
			c.extra = hours
			break
		}
	}
	if spec.Country != "" {
		list, ok := countries[strings.ToUpper(spec.Country)]
		if !ok {
			errs = append(errs, fmt.Errorf("country %q: no public holidays known (supported: %s)",
				spec.Country, strings.Join(Countries(), ", ")))
		}
		c.country = list
	}
	for _, s := range spec.Holidays {
		d, err := parseDate(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("holidays: %w", err))
			continue
		}
		c.holidays[d] = true
	}
	for _, s := range spec.WorkingDays {
		d, err := parseDate(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("working days: %w", err))
			continue
		}
		if c.holidays[d] {
			errs = append(errs, fmt.Errorf("working days: %s is also listed as a holiday", s))
		}
		c.working[d] = true
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("calendar %q: %w", spec.Name, errors.Join(errs...))
	}
	return c, nil
}

// Name returns the calendar's name from its spec.
func (c *Calendar) Name() string { return c.name }

// Location returns the zone the calendar reads its dates and hours in.
// For a calendar with history it is the zone of the latest version; each
// version still reads its own hours and dates in its own zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Spec returns a copy of the spec the calendar was built from; for a
// calendar with history, the latest version's.
func (c *Calendar) Spec() CalendarSpec { return cloneSpec(c.spec) }

func cloneSpec(s CalendarSpec) CalendarSpec {
	for wd := range s.Week {
		s.Week[wd] = slices.Clone(s.Week[wd])
	}
	s.Holidays = slices.Clone(s.Holidays)
	s.WorkingDays = slices.Clone(s.WorkingDays)
	return s
}

// Between returns the business time in [a, b); 0 if b <= a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	ta, ca := c.cumAt(a)
	tb, cb := c.cumAt(b)
	if ta == tb {
		return time.Duration(cb - ca)
	}
	total := ta.total() - ca + cb
	for y := ta.year + 1; y < tb.year; y++ {
		total += c.year(y).total()
	}
	return time.Duration(total)
}

// Add returns the instant d of business time after t, in t's location, so
// that Between(t, Add(t, d)) == d for every t and d >= 0.
//
// It returns the earliest such instant: when d runs out exactly at the end
// of a working interval, Add returns that end, not the start of the next
// interval. Add(t, 0) is t itself, even outside business hours (use
// NextBusiness for the next working instant); a negative d also returns t.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	tab, cum := c.cumAt(t)
	target := cum + int64(d) // ns since the start of tab's year
	for target > tab.total() {
		target -= tab.total()
		tab = c.year(tab.year + 1)
	}
	// The first day whose end reaches target; its start lies before target
	// because target > 0 and cum is non-decreasing.
	days := tab.days()
	i := sort.Search(days, func(i int) bool { return tab.cum[i+1] >= target })
	return c.dayInstant(tab, i, target-tab.cum[i]).In(t.Location())
}

// AddDays returns the instant n business days after t, in t's location.
//
// It first moves t to NextBusiness(t) and notes how much business time of
// that day has elapsed by then. It then goes to the n-th next day with
// business time (skipping weekends, holidays and days a clock change left
// without hours) and returns the instant at which the same amount of that
// day's business time has elapsed, clamped to the end of the day's last
// interval when the day is shorter. Like Add, an amount that runs out at the
// end of an interval gives that end. A negative n counts days backwards;
// n == 0 gives NextBusiness(t).
//
// For a calendar with history (see [NewCalendarHistory]) a day is a local
// date of the version in force when the day starts: it begins at that
// version's midnight and lasts until the next day begins. The day on which
// an edit takes effect therefore starts at the old version's midnight and
// runs to the first midnight of the new version after the edit (not 24
// hours when the edit changes the zone). A day counts, and its elapsed
// business time is measured, as Between counts it: the old hours before
// the edit, the new hours after. So with 09:00-18:00 edited to 10:00-16:00
// at Monday 12:00, Monday holds 09:00-12:00 and 12:00-16:00, 7 hours, and
// AddDays(Friday 11:00, 1) is Monday 11:00 (2 hours into the day) while
// AddDays(Friday 11:00, 2) is Tuesday 12:00.
func (c *Calendar) AddDays(t time.Time, n int) time.Time {
	t = c.NextBusiness(t)
	tab, i := c.locate(t)
	elapsed := c.cumIn(tab, i, t) - tab.cum[i]
	for n > 0 {
		tab, i = c.nextDay(tab, i)
		if tab.dayTotal(i) > 0 {
			n--
		}
	}
	for n < 0 {
		tab, i = c.prevDay(tab, i)
		if tab.dayTotal(i) > 0 {
			n++
		}
	}
	return c.dayInstant(tab, i, elapsed).In(t.Location())
}

// NextBusiness returns t if t is business time, else the next instant that
// is (the start of the next working interval), in t's location.
func (c *Calendar) NextBusiness(t time.Time) time.Time {
	tab, i := c.locate(t)
	sec := t.Unix()
	for _, s := range tab.dayIvs(i) {
		if s.to > sec && s.to > s.from {
			if s.from <= sec {
				return t
			}
			return time.Unix(s.from, 0).In(t.Location())
		}
	}
	for {
		tab, i = c.nextDay(tab, i)
		for _, s := range tab.dayIvs(i) {
			if s.to > s.from {
				return time.Unix(s.from, 0).In(t.Location())
			}
		}
	}
}

// IsBusiness reports whether t lies inside a working interval.
func (c *Calendar) IsBusiness(t time.Time) bool {
	tab, i := c.locate(t)
	sec := t.Unix()
	for _, s := range tab.dayIvs(i) {
		if s.from <= sec && sec < s.to {
			return true
		}
	}
	return false
}

// IsWorkday reports whether the local date of date, read in the calendar's
// zone, is a working day: a WorkingDays date, or a weekday with hours that
// is not a public or extra holiday. A clock change can still leave such a
// day without business time (an 02:00-03:00 shift on the spring change).
//
// For a calendar with history the version in force at the instant date
// answers, reading the date in its own zone: on the day of an edit, asking
// before and after the edit can give different answers.
func (c *Calendar) IsWorkday(date time.Time) bool {
	if c.versions != nil {
		return c.versionAt(date.Unix()).IsWorkday(date)
	}
	tab, i := c.locate(date)
	return tab.work[i]
}

// cumAt returns the year table holding t and the business time in ns from
// the start of that year to t.
func (c *Calendar) cumAt(t time.Time) (*yearTable, int64) {
	tab, i := c.locate(t)
	return tab, c.cumIn(tab, i, t)
}

// cumIn returns the business time in ns from the start of tab's year to t,
// which lies in day i.
func (c *Calendar) cumIn(tab *yearTable, i int, t time.Time) int64 {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	cum := tab.cum[i]
	for _, s := range tab.dayIvs(i) {
		if sec >= s.to {
			cum += (s.to - s.from) * nsPerSec
			continue
		}
		if sec >= s.from {
			cum += (sec-s.from)*nsPerSec + nsec
		}
		break
	}
	return cum
}

// dayInstant returns the earliest instant of day i at which elapsed ns of
// the day's business time have passed: the start of the first interval
// when elapsed is 0, the end of the last one when the day is shorter.
func (c *Calendar) dayInstant(tab *yearTable, i int, elapsed int64) time.Time {
	ivs := tab.dayIvs(i)
	var last span
	for _, s := range ivs {
		if s.to == s.from {
			continue
		}
		n := (s.to - s.from) * nsPerSec
		if elapsed <= n {
			return time.Unix(s.from, elapsed)
		}
		elapsed -= n
		last = s
	}
	return time.Unix(last.to, 0)
}

// locate returns the year table and day index holding t.
func (c *Calendar) locate(t time.Time) (*yearTable, int) {
	sec := t.Unix()
	// The local year is the UTC year or a neighbour: zone offsets are
	// under a day.
	tab := c.year(t.UTC().Year())
	if sec < tab.start[0] {
		tab = c.year(tab.year - 1)
	} else if sec >= tab.start[tab.days()] {
		tab = c.year(tab.year + 1)
	}
	days := tab.days()
	i := int((sec - tab.start[0]) / 86400)
	i = min(max(i, 0), days-1)
	for i > 0 && tab.start[i] > sec {
		i--
	}
	for i < days-1 && tab.start[i+1] <= sec {
		i++
	}
	return tab, i
}

func (c *Calendar) nextDay(tab *yearTable, i int) (*yearTable, int) {
	if i+1 < tab.days() {
		return tab, i + 1
	}
	return c.year(tab.year + 1), 0
}

func (c *Calendar) prevDay(tab *yearTable, i int) (*yearTable, int) {
	if i > 0 {
		return tab, i - 1
	}
	prev := c.year(tab.year - 1)
	return prev, prev.days() - 1
}

// year returns the table of calendar year y, building it on first use.
func (c *Calendar) year(y int) *yearTable {
	if s := c.years.Load(); s != nil && y >= s.first && y < s.first+len(s.tabs) {
		if tab := s.tabs[y-s.first]; tab != nil {
			return tab
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.years.Load()
	if old != nil && y >= old.first && y < old.first+len(old.tabs) && old.tabs[y-old.first] != nil {
		return old.tabs[y-old.first]
	}
	tab := c.buildYear(y)
	next := &yearSet{first: y, tabs: []*yearTable{tab}}
	if old != nil {
		first, last := min(old.first, y), max(old.first+len(old.tabs)-1, y)
		next = &yearSet{first: first, tabs: make([]*yearTable, last-first+1)}
		copy(next.tabs[old.first-first:], old.tabs)
		next.tabs[y-first] = tab
	}
	c.years.Store(next)
	return tab
}

// buildYear computes the table of calendar year y.
func (c *Calendar) buildYear(y int) *yearTable {
	if c.versions != nil {
		return c.buildHistoryYear(y)
	}
	jan1 := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
	days := time.Date(y, time.December, 31, 0, 0, 0, 0, time.UTC).YearDay()
	tab := &yearTable{
		year:  y,
		start: make([]int64, days+1),
		ivIdx: make([]int32, days+1),
		cum:   make([]int64, days+1),
		work:  make([]bool, days),
	}
	public := c.publicHolidays(y)
	// wall is a local wall-clock time as seconds since 1970-01-01 00:00 of
	// the same wall clock; resolve turns it into an instant.
	wall0 := jan1.Unix()
	for i := range days {
		wall := wall0 + int64(i)*86400
		date := jan1.AddDate(0, 0, i)
		key := civil(date.Date())
		wd := (int(date.Weekday()) + 6) % 7 // Monday = 0
		hours := c.week[wd]
		switch {
		case c.working[key]:
			if len(hours) == 0 {
				hours = c.extra
			}
		case c.holidays[key] || public[key]:
			hours = nil
		}
		tab.work[i] = len(hours) > 0
		tab.start[i] = c.resolve(wall)
		var dayTotal int64
		for _, iv := range hours {
			s := span{c.resolve(wall + int64(iv.From)*60), c.resolve(wall + int64(iv.To)*60)}
			tab.ivs = append(tab.ivs, s)
			dayTotal += (s.to - s.from) * nsPerSec
		}
		tab.ivIdx[i+1] = int32(len(tab.ivs))
		tab.cum[i+1] = tab.cum[i] + dayTotal
	}
	tab.start[days] = c.resolve(wall0 + int64(days)*86400)
	return tab
}

// publicHolidays returns the country's non-working dates in year y: both
// the date a holiday falls on and the date it is observed on, which may
// move into y from a neighbouring year (1 January on a Saturday observed on
// 31 December).
func (c *Calendar) publicHolidays(y int) map[int]bool {
	dates := map[int]bool{}
	for _, h := range c.country {
		for _, hy := range []int{y - 1, y, y + 1} {
			// Calc builds its dates in rickar/cal's DefaultLoc; only the
			// year, month and day are read, which any zone keeps.
			actual, observed := h.Calc(hy)
			for _, d := range []time.Time{actual, observed} {
				if !d.IsZero() && d.Year() == y {
					dates[civil(d.Date())] = true
				}
			}
		}
	}
	return dates
}

// resolve returns the instant at which the calendar's zone shows the wall
// time wall (seconds since 1970-01-01 00:00 on that wall clock). A wall time
// inside a spring-forward gap gives the first instant after the gap; one
// that occurs twice gives its first occurrence. This is computed from the
// zone's transitions because time.Date leaves the choice unspecified.
func (c *Calendar) resolve(wall int64) int64 {
	// Offsets stay within ±16 h, so every instant showing wall lies in
	// [wall-16h, wall+16h]; walk the zone periods over that window in order.
	const window = 16 * 3600
	x := wall - window
	for x <= wall+window {
		at := time.Unix(x, 0).In(c.loc)
		_, off := at.Zone()
		start, end := at.ZoneBounds()
		u := wall - int64(off)
		inStart := start.IsZero() || u >= start.Unix()
		if end.IsZero() {
			if inStart {
				return u
			}
			break
		}
		e := end.Unix()
		if inStart && u < e {
			return u // the first period showing wall holds its first occurrence
		}
		_, nextOff := time.Unix(e, 0).In(c.loc).Zone()
		if e+int64(off) <= wall && wall < e+int64(nextOff) {
			return e // wall was skipped: the change at e jumped over it
		}
		x = e
	}
	// Unreachable for real zones; fall back to the offset one day earlier.
	_, off := time.Unix(wall-86400, 0).In(c.loc).Zone()
	return wall - int64(off)
}

func (t *yearTable) days() int { return len(t.start) - 1 }

// total returns the year's business time in ns.
func (t *yearTable) total() int64 { return t.cum[len(t.cum)-1] }

func (t *yearTable) dayTotal(i int) int64 { return t.cum[i+1] - t.cum[i] }

func (t *yearTable) dayIvs(i int) []span { return t.ivs[t.ivIdx[i]:t.ivIdx[i+1]] }

// civil packs a date into a map key, 20261225 for 2026-12-25.
func civil(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

func parseDate(s string) (int, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return civil(d.Date()), nil
}

func weekdayName(wd int) string {
	return [7]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}[wd]
}
