package sla

import (
	"crypto/sha256"
	"encoding/hex"
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
)

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
type Clock struct {
	ID       string  `json:"id"`
	Policy   string  `json:"policy"`
	ClientID string  `json:"client"`
	State    string  `json:"state"`
	Subject  Subject `json:"subject"`
	// StartedAt is when the clock started counting: the first business
	// instant at or after the event that started it.
	StartedAt  time.Time  `json:"started_at"`
	WarnAt     *time.Time `json:"warn_at,omitempty"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	BreachedAt *time.Time `json:"breached_at,omitempty"`
	StoppedAt  *time.Time `json:"stopped_at,omitempty"`
	// BusinessElapsed is the business time counted, up to the stop or to
	// the evaluation instant.
	BusinessElapsed time.Duration `json:"-"`
}

// ClockID names a clock stably across evaluations: the same policy on the
// same subject started by the same event is the same clock.
func ClockID(policy string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(policy))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return policy + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// settle sets a clock's state, deadlines and elapsed time from when it
// started, when it stopped (nil if it has not), the target and warning,
// and the evaluation instant.
func settle(c *Clock, cal *Calendar, stopped *time.Time, target, warn Duration, now time.Time) {
	due := target.After(cal, c.StartedAt)
	c.DueAt = &due
	if !warn.IsZero() {
		w := warn.After(cal, c.StartedAt)
		c.WarnAt = &w
	}
	end := now
	if stopped != nil {
		end = *stopped
		s := *stopped
		c.StoppedAt = &s
	}
	c.BusinessElapsed = cal.Between(c.StartedAt, end)
	late := !end.Before(due)
	switch {
	case late:
		b := due
		c.BreachedAt = &b
		c.State = Breached
		if stopped != nil {
			c.State = Resolved
		}
	case stopped != nil:
		c.State = Met
	case c.WarnAt != nil && !now.Before(*c.WarnAt):
		c.State = AtRisk
	default:
		c.State = Running
	}
}
