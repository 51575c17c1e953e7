package sla

import (
	"sort"
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
	byConv := map[string][]Message{}
	var convs []string
	for _, m := range msgs {
		if m.Automated || m.SentAt.After(now) || m.Conversation == "" {
			continue
		}
		if _, ok := byConv[m.Conversation]; !ok {
			convs = append(convs, m.Conversation)
		}
		byConv[m.Conversation] = append(byConv[m.Conversation], m)
	}
	var out []Clock
	for _, conv := range convs {
		ms := byConv[conv]
		sort.SliceStable(ms, func(i, j int) bool {
			if !ms[i].SentAt.Equal(ms[j].SentAt) {
				return ms[i].SentAt.Before(ms[j].SentAt)
			}
			return ms[i].Key < ms[j].Key
		})
		var open *Message
		for i := range ms {
			m := &ms[i]
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
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
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
