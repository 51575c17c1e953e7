package trellofake

import (
	"time"

	"github.com/karkas/karkas/internal/vclock"
)

// Clock tells the fake what time it is: action ids and dates, card activity
// and the rate-limit windows all read it.
type Clock = vclock.Clock

// RealClock is the wall clock, the default.
type RealClock = vclock.Real

// VirtualClock is a clock that moves only when told to (see vclock.Virtual).
// Tests and the benchmark share one between the fake and the client under
// test, so that waiting out a ten-second rate-limit window costs no real
// time. It satisfies the trello client's Clock interface (Now and
// SleepUntil).
type VirtualClock = vclock.Virtual

// NewVirtualClock returns a clock standing at start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return vclock.NewVirtual(start)
}
