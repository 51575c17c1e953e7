package report

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Period kinds.
const (
	PeriodMonth = "month"
	PeriodWeek  = "week"
	PeriodRange = "range"
)

// Period is a span of whole days in one time zone: [Start, End), both at
// midnight in Location.
type Period struct {
	Kind  string
	Label string // as written: 2026-10, 2026-W43, 2026-10-01..2026-10-15
	Start time.Time
	End   time.Time // exclusive: the day after the last day
}

// FirstDay is the period's first date, YYYY-MM-DD.
func (p Period) FirstDay() string { return p.Start.Format(time.DateOnly) }

// LastDay is the period's last date, YYYY-MM-DD.
func (p Period) LastDay() string { return p.End.AddDate(0, 0, -1).Format(time.DateOnly) }

// Days is the number of calendar days in the period.
func (p Period) Days() int { return daysBetween(p.Start, p.End) }

// lastDayAsOf is the period's last date, or now's date in the period's
// zone when that comes first: a report made as of now counts nothing dated
// after it (entries are dated, not timed, so today counts whole).
func (p Period) lastDayAsOf(now time.Time) string {
	return min(p.LastDay(), dateKey(now.In(p.Start.Location())))
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Title names the period for people in English: "October 2026", "week 43
// of 2026 (19–25 Oct)", "1–15 Oct 2026" (periodTitle in another language).
func (p Period) Title() string {
	return periodTitle(en, PeriodRef{Kind: p.Kind, First: p.FirstDay(), Last: p.LastDay()})
}

var (
	monthRe = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	weekRe  = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
	rangeRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$`)
)

// maxRangeDays bounds a custom range: a report is about months, not decades,
// and a typo like 2026..2062 should be an error rather than a huge report.
const maxRangeDays = 3 * 366

// ParsePeriod reads a period in loc: "2026-10" (a month), "2026-W43" (an
// ISO week, Monday to Sunday) or "2026-10-01..2026-10-15" (a range of
// days, both included). An empty spec is the month of now in loc.
func ParsePeriod(spec string, loc *time.Location, now time.Time) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	if spec == "" {
		y, m, _ := now.In(loc).Date()
		spec = fmt.Sprintf("%04d-%02d", y, m)
	}
	if m := monthRe.FindStringSubmatch(spec); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		if mo < 1 || mo > 12 {
			return Period{}, fmt.Errorf("period %q: month %d is not 01..12", spec, mo)
		}
		start := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, loc)
		return Period{Kind: PeriodMonth, Label: spec, Start: start, End: start.AddDate(0, 1, 0)}, nil
	}
	if m := weekRe.FindStringSubmatch(spec); m != nil {
		y, _ := strconv.Atoi(m[1])
		w, _ := strconv.Atoi(m[2])
		// ISO 8601: week 1 holds 4 January; weeks start on Monday.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, loc)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+(w-1)*7)
		if gy, gw := monday.ISOWeek(); w < 1 || gy != y || gw != w {
			return Period{}, fmt.Errorf("period %q: %d has no ISO week %d", spec, y, w)
		}
		return Period{Kind: PeriodWeek, Label: spec, Start: monday, End: monday.AddDate(0, 0, 7)}, nil
	}
	if m := rangeRe.FindStringSubmatch(spec); m != nil {
		a, err := time.ParseInLocation(time.DateOnly, m[1], loc)
		if err != nil {
			return Period{}, fmt.Errorf("period %q: %q is not a date", spec, m[1])
		}
		b, err := time.ParseInLocation(time.DateOnly, m[2], loc)
		if err != nil {
			return Period{}, fmt.Errorf("period %q: %q is not a date", spec, m[2])
		}
		if b.Before(a) {
			return Period{}, fmt.Errorf("period %q: the range ends before it starts", spec)
		}
		end := b.AddDate(0, 0, 1)
		if daysBetween(a, end) > maxRangeDays {
			return Period{}, fmt.Errorf("period %q: longer than %d days", spec, maxRangeDays)
		}
		return Period{Kind: PeriodRange, Label: spec, Start: a, End: end}, nil
	}
	return Period{}, fmt.Errorf("period %q: expected a month (2026-10), an ISO week (2026-W43) or a range of days (2026-10-01..2026-10-15)", spec)
}

// daysBetween counts calendar days from a to b, both midnights of one
// zone; a DST change makes a day 23 or 25 hours long, never a fraction.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// dateKey is t's date in its own zone, YYYY-MM-DD.
func dateKey(t time.Time) string { return t.Format(time.DateOnly) }
