package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BusinessDuration is a span of business time: whole business days plus
// business hours and minutes. A business day is one working day of the
// calendar it is measured in, whatever its length; that is why days are
// kept apart from the clock part.
type BusinessDuration struct {
	Days int
	Time time.Duration
}

var bizPart = regexp.MustCompile(`(\d+)\s*(d|h|m)`)

// ParseBusinessDuration reads "6h", "30m", "2d", "1d4h" or "1d 4h 30m".
func ParseBusinessDuration(s string) (BusinessDuration, error) {
	var d BusinessDuration
	rest := strings.TrimSpace(s)
	if rest == "" {
		return d, fmt.Errorf("empty business duration")
	}
	for _, m := range bizPart.FindAllStringSubmatch(rest, -1) {
		n, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "d":
			d.Days += n
		case "h":
			d.Time += time.Duration(n) * time.Hour
		case "m":
			d.Time += time.Duration(n) * time.Minute
		}
	}
	if strings.TrimSpace(bizPart.ReplaceAllString(rest, "")) != "" || (d.Days == 0 && d.Time == 0) {
		return d, fmt.Errorf("%q is not a business duration (examples: 30m, 6h, 2d, 1d4h)", s)
	}
	return d, nil
}

// Less orders durations, taking a business day as longer than any clock part.
func (d BusinessDuration) Less(o BusinessDuration) bool {
	if d.Days != o.Days {
		return d.Days < o.Days
	}
	return d.Time < o.Time
}

func (d BusinessDuration) String() string {
	var b strings.Builder
	if d.Days > 0 {
		fmt.Fprintf(&b, "%dd", d.Days)
	}
	h, m := int(d.Time.Hours()), int(d.Time.Minutes())%60
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	return b.String()
}

func sortStrings(s []string) { sort.Strings(s) }
