package mapping

import (
	"sort"

	"github.com/karkas/karkas/sla"
)

// BusinessDuration is a span of business time: whole business days plus
// business hours and minutes (sla.Duration, which also parses it).
type BusinessDuration = sla.Duration

// ParseBusinessDuration reads "6h", "30m", "2d", "1d4h" or "1d 4h 30m".
func ParseBusinessDuration(s string) (BusinessDuration, error) { return sla.ParseDuration(s) }

func sortStrings(s []string) { sort.Strings(s) }
