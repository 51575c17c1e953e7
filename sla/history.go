package sla

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// CalendarVersion is a calendar as it was from an instant on: an admin's
// edit of the calendar takes effect at From.
type CalendarVersion struct {
	// From is the instant the version took effect, truncated to the whole
	// second. The first version's From is not a limit: that version has
	// been in force since always.
	From time.Time
	Spec CalendarSpec
}

// version is a CalendarVersion built: in force from from (Unix seconds,
// math.MinInt64 for the first) until the next version's from.
type version struct {
	from int64
	cal  *Calendar
}

// NewCalendarHistory returns the calendar whose hours, holidays and zone
// are, at each instant, those of the version in force then, so that an
// edit of a calendar does not rewrite the business time counted before it.
// versions must be sorted by From, strictly increasing at whole seconds.
// It reports every problem of every version in one error.
//
// Each method composes the versions:
//
//   - Between(a, b) is the sum, over the versions, of each version's
//     Between clipped to the time it was in force;
//   - Add(t, d) consumes d version by version: the business time left in
//     t's version, then the next version's from the instant it took
//     effect, and so on; Between(t, Add(t, d)) == d still holds;
//   - NextBusiness(t) looks in the version in force at t and, when its
//     answer falls at or after the next edit, continues from the edit in
//     the next version: the instant of an edit is business time only if
//     the new version says so;
//   - IsBusiness(t) and IsWorkday(t) ask the version in force at t;
//   - AddDays counts days as the version in force at each day's start
//     cuts them (see [Calendar.AddDays]);
//   - Location and Name are those of the latest version.
//
// A single version gives exactly NewCalendar(versions[0].Spec). A history
// costs its methods nothing more than a plain calendar: its year tables
// are built, once per year and lazily, from the versions' own tables, and
// then read by the same code.
func NewCalendarHistory(versions []CalendarVersion) (*Calendar, error) {
	switch len(versions) {
	case 0:
		return nil, errors.New("calendar history: no versions")
	case 1:
		return NewCalendar(versions[0].Spec)
	}
	var errs []error
	vs := make([]version, len(versions))
	for i, v := range versions {
		cal, err := NewCalendar(v.Spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("version %d (from %s): %w", i+1, v.From.UTC().Format(time.RFC3339), err))
		}
		from := int64(math.MinInt64)
		if i > 0 {
			from = v.From.Unix() // whole seconds: the tables count in seconds
			if prev := versions[i-1].From; from <= prev.Unix() {
				errs = append(errs, fmt.Errorf("version %d (from %s) does not come after version %d (from %s): "+
					"versions must be sorted by From, at least a second apart", i+1, v.From.UTC().Format(time.RFC3339),
					i, prev.UTC().Format(time.RFC3339)))
			}
		}
		vs[i] = version{from: from, cal: cal}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("calendar history %q: %w", versions[len(versions)-1].Spec.Name, errors.Join(errs...))
	}
	last := vs[len(vs)-1].cal
	return &Calendar{name: last.name, loc: last.loc, spec: last.spec, versions: vs}, nil
}

// versionIndex returns the index of the version in force at sec.
func (c *Calendar) versionIndex(sec int64) int {
	// The first version whose start is after sec, minus one; the first
	// version's from is MinInt64, so the answer is never negative.
	return sort.Search(len(c.versions), func(k int) bool { return c.versions[k].from > sec }) - 1
}

// versionAt returns the calendar of the version in force at sec.
func (c *Calendar) versionAt(sec int64) *Calendar { return c.versions[c.versionIndex(sec)].cal }

// until returns the end of version k's time in force, MaxInt64 for the
// latest.
func (c *Calendar) until(k int) int64 {
	if k+1 < len(c.versions) {
		return c.versions[k+1].from
	}
	return math.MaxInt64
}

// dayStartFrom returns the first start of one of c's days at or after sec
// (c being a plain calendar).
func (c *Calendar) dayStartFrom(sec int64) int64 {
	tab, i := c.locate(time.Unix(sec, 0))
	if tab.start[i] >= sec {
		return tab.start[i]
	}
	return tab.start[i+1] // the last day's end is the next year's first start
}

// historyDayStart returns the first day start of the history at or after
// sec, and the version whose day it is. The history's days are those of
// the version in force at each day's start: version k's days that start
// while k is in force.
func (c *Calendar) historyDayStart(sec int64) (int64, int) {
	for k := c.versionIndex(sec); ; k++ {
		s := c.versions[k].cal.dayStartFrom(max(sec, c.versions[k].from))
		if s < c.until(k) {
			return s, k
		}
	}
}

// historySpans returns the working intervals of the history in [a, b),
// sorted: each version's intervals clipped to the time it is in force.
func (c *Calendar) historySpans(a, b int64) []span {
	var out []span
	for k, v := range c.versions {
		lo, hi := max(a, v.from), min(b, c.until(k))
		if lo >= hi {
			continue
		}
		tab, i := v.cal.locate(time.Unix(lo, 0))
		for {
			for _, s := range tab.dayIvs(i) {
				if from, to := max(s.from, lo), min(s.to, hi); to > from {
					out = append(out, span{from, to})
				}
			}
			// A day's intervals end by the next day's start.
			if tab.start[i+1] >= hi {
				break
			}
			tab, i = v.cal.nextDay(tab, i)
		}
	}
	return out
}

// buildHistoryYear computes the year table of a calendar with history for
// the days that start in UTC year y. Grouping by UTC year rather than by
// local year keeps the tables in order when an edit moves the zone across
// the date line; nothing reads a table's year as a local year.
func (c *Calendar) buildHistoryYear(y int) *yearTable {
	lo := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(y+1, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()
	tab := &yearTable{year: y}
	var owners []int
	s, k := c.historyDayStart(lo)
	for s < hi {
		tab.start = append(tab.start, s)
		owners = append(owners, k)
		s, k = c.historyDayStart(s + 1)
	}
	days := len(owners) // days last at most about two days, so never 0
	tab.start = append(tab.start, s)
	tab.ivIdx = make([]int32, days+1)
	tab.cum = make([]int64, days+1)
	tab.work = make([]bool, days)
	spans := c.historySpans(tab.start[0], tab.start[days])
	j := 0
	for i := range days {
		end := tab.start[i+1]
		var dayTotal int64
		for j < len(spans) && spans[j].from < end {
			sp := spans[j]
			if sp.to > end { // runs into the next day: split it there
				sp.to = end
				spans[j].from = end
			} else {
				j++
			}
			tab.ivs = append(tab.ivs, sp)
			dayTotal += (sp.to - sp.from) * nsPerSec
		}
		tab.ivIdx[i+1] = int32(len(tab.ivs))
		tab.cum[i+1] = tab.cum[i] + dayTotal
		tab.work[i] = c.versions[owners[i]].cal.IsWorkday(time.Unix(tab.start[i], 0))
	}
	return tab
}
