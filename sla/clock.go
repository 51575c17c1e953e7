package sla

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Clock states.
const (
	Running  = "running"  // counting, before the warning
	AtRisk   = "at_risk"  // past the warning, before the target
	Breached = "breached" // past the target, still open
	Met      = "met"      // stopped in time
	Resolved = "resolved" // stopped after it breached
	Paused   = "paused"   // not counting: the work waits on the client
	// Withdrawn is no policy's answer: the store gives it to a stored
	// clock that an evaluation of all the facts no longer produces, because
	// its message or task is gone, its message moved into another
	// conversation when two threads joined, or what it watched no longer
	// holds. It is no longer a promise, kept or broken.
	Withdrawn = "withdrawn"
)

// WholeHistory reports whether every evaluation produces the policy's
// clocks for the whole history of the facts, so that a stored clock it no
// longer produces is no longer true (and is Withdrawn). Client contact and
// the hour budget evaluate only the current silence and the current month:
// their earlier clocks stay as they last were.
func WholeHistory(policy string) bool {
	for _, p := range Policies {
		if p.Name == policy {
			return p.WholeHistory
		}
	}
	return true // a policy of a newer karkas: its stored clocks are its own to withdraw
}

// Duration is a span of business time: whole business days of the
// calendar it is measured in, plus business hours and minutes.
type Duration struct {
	Days int
	Time time.Duration
}

// IsZero reports whether the duration is empty.
func (d Duration) IsZero() bool { return d.Days == 0 && d.Time == 0 }

// After returns the instant d of business time after t in cal.
func (d Duration) After(cal *Calendar, t time.Time) time.Time {
	if d.Days > 0 {
		t = cal.AddDays(t, d.Days)
	}
	return cal.Add(t, d.Time)
}

// Subject is what a clock is about, as a person finds it.
type Subject struct {
	Kind       string `json:"kind"` // "thread", "task", "client"
	Source     string `json:"source"`
	ExternalID string `json:"external_id"`
	Title      string `json:"title"`
	URL        string `json:"url,omitempty"`
}

// Clock is the state of one promise at one instant.
//
// Its optional instants are values, the zero time meaning "none" (JSON
// leaves them out): a million clocks then cost no allocation per instant,
// nor a pointer to it for the garbage collector to chase.
type Clock struct {
	ID       string  `json:"id"`
	Policy   string  `json:"policy"`
	ClientID string  `json:"client"`
	State    string  `json:"state"`
	Subject  Subject `json:"subject"`
	// StartedAt is when the clock started counting: the first business
	// instant at or after the event that started it.
	StartedAt  time.Time `json:"started_at"`
	WarnAt     time.Time `json:"warn_at,omitzero"`
	DueAt      time.Time `json:"due_at,omitzero"`
	BreachedAt time.Time `json:"breached_at,omitzero"`
	StoppedAt  time.Time `json:"stopped_at,omitzero"`
	// BusinessElapsed is the business time counted, up to the stop or to
	// the evaluation instant.
	BusinessElapsed time.Duration `json:"-"`
	// Note says what karkas could not know when it judged the clock (a
	// description older than the history karkas holds), "" when nothing.
	Note string `json:"note,omitempty"`
}

// ClockID names a clock stably across evaluations: the same policy on the
// same subject started by the same event is the same clock. The ID is the
// policy, a dash and 16 hex digits of the SHA-256 of the policy and the
// parts, each part preceded by a zero byte; IDs are stored, so this must
// not change.
func ClockID(policy string, parts ...string) string {
	return formatID(policy, clockSum(policy, parts...))
}

// clockSum returns the first 8 bytes of the hash in policy's clock ID,
// big endian: comparing sums orders the IDs of one policy as strings do.
// It allocates nothing for the usual short parts.
func clockSum(policy string, parts ...string) uint64 {
	var buf [128]byte
	b := append(buf[:0], policy...)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// formatID returns the ID of a clock of policy whose hash sum is sum.
func formatID(policy string, sum uint64) string {
	var buf [64]byte
	return string(appendID(buf[:0], policy, sum))
}

// appendID appends the ID of a clock of policy whose hash sum is sum.
func appendID(b []byte, policy string, sum uint64) []byte {
	const digits = "0123456789abcdef"
	b = append(b, policy...)
	b = append(b, '-')
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[sum>>shift&0xf])
	}
	return b
}

// settle sets a clock's state, deadlines and elapsed time from when it
// started, when it stopped (zero if it has not), the target and warning,
// and the evaluation instant.
func settle(c *Clock, cal *Calendar, stopped time.Time, target, warn Duration, now time.Time) {
	var warnAt time.Time
	if !warn.IsZero() {
		warnAt = warn.After(cal, c.StartedAt)
	}
	settleAt(c, cal, stopped, target.After(cal, c.StartedAt), warnAt, now)
}

// settleAt is settle for a deadline given as an instant rather than as
// business time after the start; warnAt is zero for no warning.
func settleAt(c *Clock, cal *Calendar, stopped, due, warnAt, now time.Time) {
	c.DueAt, c.WarnAt = due, warnAt
	end := now
	if !stopped.IsZero() {
		end = stopped
		c.StoppedAt = stopped
	}
	if cal != nil {
		c.BusinessElapsed = cal.Between(c.StartedAt, end)
	}
	switch {
	case !end.Before(due):
		c.BreachedAt = due
		c.State = Breached
		if !stopped.IsZero() {
			c.State = Resolved
		}
	case !stopped.IsZero():
		c.State = Met
	case !warnAt.IsZero() && !now.Before(warnAt):
		c.State = AtRisk
	default:
		c.State = Running
	}
}
