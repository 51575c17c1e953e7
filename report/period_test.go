package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/report"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	moscow := mustZone("Europe/Moscow")
	now := at("2026-10-31T22:30:00Z") // 1 November 01:30 in Moscow
	for _, tc := range []struct {
		name, spec  string
		loc         *time.Location
		kind, first string
		last, title string
		days        int
	}{
		{"month", "2026-10", berlin, "month", "2026-10-01", "2026-10-31", "October 2026", 31},
		{"february", "2028-02", berlin, "month", "2028-02-01", "2028-02-29", "February 2028", 29},
		{"default is now's month in the zone", "", moscow, "month", "2026-11-01", "2026-11-30", "November 2026", 30},
		{"default in another zone", "", berlin, "month", "2026-10-01", "2026-10-31", "October 2026", 31},
		{"iso week", "2026-W43", berlin, "week", "2026-10-19", "2026-10-25", "week 43 of 2026 (19–25 Oct)", 7},
		{"week 1 starts in the old year", "2026-W01", berlin, "week", "2025-12-29", "2026-01-04", "week 1 of 2026 (29 Dec – 4 Jan)", 7},
		{"a 53-week year", "2026-W53", berlin, "week", "2026-12-28", "2027-01-03", "week 53 of 2026 (28 Dec – 3 Jan)", 7},
		{"range", "2026-10-01..2026-10-15", berlin, "range", "2026-10-01", "2026-10-15", "1–15 Oct 2026", 15},
		{"range over DST", "2026-10-24..2026-10-26", berlin, "range", "2026-10-24", "2026-10-26", "24–26 Oct 2026", 3},
		{"one day", "2026-10-05..2026-10-05", berlin, "range", "2026-10-05", "2026-10-05", "5 Oct 2026", 1},
		{"across years", "2026-12-20..2027-01-10", berlin, "range", "2026-12-20", "2027-01-10", "20 Dec 2026 – 10 Jan 2027", 22},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := report.ParsePeriod(tc.spec, tc.loc, now)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tc.kind || p.FirstDay() != tc.first || p.LastDay() != tc.last || p.Title() != tc.title || p.Days() != tc.days {
				t.Errorf("got %s %s..%s %q %d days", p.Kind, p.FirstDay(), p.LastDay(), p.Title(), p.Days())
			}
			if p.Start.Location() != tc.loc || p.Start.Hour() != 0 || p.End.Hour() != 0 {
				t.Errorf("bounds %v .. %v are not midnights in %v", p.Start, p.End, tc.loc)
			}
		})
	}
	for _, tc := range []struct{ spec, want string }{
		{"2026-13", "month 13"},
		{"2026-00", "month 0"},
		{"2027-W53", "no ISO week 53"},
		{"2026-W00", "no ISO week 0"},
		{"2026-10-15..2026-10-01", "ends before it starts"},
		{"2026-02-30..2026-03-01", "is not a date"},
		{"2020-01-01..2026-01-01", "longer than"},
		{"October", "expected a month"},
		{"2026-10-01", "expected a month"},
	} {
		if _, err := report.ParsePeriod(tc.spec, berlin, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.spec, err, tc.want)
		}
	}
}
