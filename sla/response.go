package sla

import (
	"slices"
	"strings"
	"time"
)

// Sides of a message's author.
const (
	SideAgency  = "agency"
	SideClient  = "client"
	SideUnknown = "unknown"
)

// Message is what the response policy needs to know of a message.
type Message struct {
	// Key identifies the message: "source/external id".
	Key string
	// Conversation groups the messages one reply answers: a task's key
	// when the message is linked to a task (so an email reply and a card
	// comment stop the same clock), else its thread key.
	Conversation string
	ClientID     string
	Side         string
	// Automated messages (auto-replies, bounces, bulk mail, bots) neither
	// start nor stop a clock.
	Automated bool
	SentAt    time.Time
	// Subject names the conversation for people: the task or the thread.
	Subject Subject
}

// ResponsePolicy is the first-response promise: every client message gets
// an agency reply in the same conversation within Target business time.
type ResponsePolicy struct {
	Target Duration
	Warn   Duration
}

// Rules gives, per client, the calendar its clocks count in and the
// promises that apply (nil: the client has none).
type Rules interface {
	Calendar(clientID string) *Calendar
	Policies(clientID string) *PolicySet
}

// ResponseClocks evaluates the response policy over messages as of now
// (messages sent after now are ignored, so history can be replayed). The
// clock of a conversation starts at its oldest unanswered human client
// message, counted from the next business instant in the client's
// calendar; the next human agency message stops it. Clocks come back in
// a stable order (by start, then id).
func ResponseClocks(msgs []Message, rules Rules, now time.Time) []Clock {
	// One sort of the eligible messages by (conversation, time, key), then
	// one walk: no map of per-conversation slices, which at a million
	// messages costs more in allocation than the evaluation itself.
	idx := make([]int32, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.Automated || m.SentAt.After(now) || m.Conversation == "" {
			continue
		}
		idx = append(idx, int32(i))
	}
	slices.SortFunc(idx, func(a, b int32) int {
		x, y := &msgs[a], &msgs[b]
		if c := strings.Compare(x.Conversation, y.Conversation); c != 0 {
			return c
		}
		if c := x.SentAt.Compare(y.SentAt); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	// At most one clock per client message: sized once, because growing a
	// slice of a million clocks copies pointers under the GC's barriers.
	clients := 0
	for _, i := range idx {
		if msgs[i].Side == SideClient {
			clients++
		}
	}
	out := make([]Clock, 0, clients)
	var open *Message
	for k, i := range idx {
		m := &msgs[i]
		if k > 0 && msgs[idx[k-1]].Conversation != m.Conversation {
			if open != nil {
				if c, ok := responseClock(open, rules, nil, now); ok {
					out = append(out, c)
				}
			}
			open = nil
		}
		switch m.Side {
		case SideClient:
			if open == nil {
				open = m
			}
		case SideAgency:
			if open != nil {
				if c, ok := responseClock(open, rules, &m.SentAt, now); ok {
					out = append(out, c)
				}
				open = nil
			}
		}
	}
	if open != nil {
		if c, ok := responseClock(open, rules, nil, now); ok {
			out = append(out, c)
		}
	}
	return sortClocks(out)
}

func responseClock(start *Message, rules Rules, reply *time.Time, now time.Time) (Clock, bool) {
	ps := rules.Policies(start.ClientID)
	cal := rules.Calendar(start.ClientID)
	if ps == nil || ps.Response == nil || cal == nil || ps.Response.Target.IsZero() {
		return Clock{}, false
	}
	c := Clock{
		ID:        ClockID("response", start.Conversation, start.Key),
		Policy:    "response",
		ClientID:  start.ClientID,
		Subject:   start.Subject,
		StartedAt: cal.NextBusiness(start.SentAt),
	}
	var stopped *time.Time
	if reply != nil {
		// A reply before the first business instant stops the clock at
		// zero: the client asked at night and had an answer by morning.
		s := *reply
		if s.Before(c.StartedAt) {
			s = c.StartedAt
		}
		stopped = &s
	}
	settle(&c, cal, stopped, ps.Response.Target, ps.Response.Warn, now)
	return c, true
}
