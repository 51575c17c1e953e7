package sla

import (
	"sort"
	"time"
)

// ContactClocks evaluates the client-contact policy as of now: no client
// goes more than MaxDays without a human message from the agency. The
// bound is in calendar days of real time (MaxDays*24h), not business time,
// because that is how a client feels silence.
//
// There is one clock per client seen in msgs (messages after now are
// ignored). It starts at the client's last human agency message (Side
// agency, not Automated) at or before now, or, when there is none, at the
// client's first message of any kind; it is due MaxDays*24h later. It is
// Running before then and Breached after, with BreachedAt at the due
// instant. StartedAt is the message's own instant, not the next business
// one, since the bound is not counted in business time; BusinessElapsed is
// still measured in the client's calendar. The ID names the client and the
// start, so every new contact starts a new clock.
func ContactClocks(msgs []Message, rules Rules, now time.Time) []Clock {
	type contact struct {
		first, last time.Time
		hasLast     bool
	}
	byClient := map[string]*contact{}
	var c *contact // the last message's client's, found without a map lookup
	lastID := ""
	for i := range msgs {
		m := &msgs[i]
		if m.ClientID == "" || m.SentAt.After(now) {
			continue
		}
		if c == nil || m.ClientID != lastID {
			c = byClient[m.ClientID]
			if c == nil {
				c = &contact{first: m.SentAt}
				byClient[m.ClientID] = c
			}
			lastID = m.ClientID
		}
		if m.SentAt.Before(c.first) {
			c.first = m.SentAt
		}
		if m.Side == SideAgency && !m.Automated && (!c.hasLast || m.SentAt.After(c.last)) {
			c.last, c.hasLast = m.SentAt, true
		}
	}
	clients := make([]string, 0, len(byClient))
	for id := range byClient {
		clients = append(clients, id)
	}
	sort.Strings(clients) // map order must not reach the output
	rc := newRuleCache(rules)
	var out []Clock
	for _, id := range clients {
		ps, cal := rc.get(id)
		p := Rule[*ContactPolicy](ps)
		if p == nil || p.MaxDays <= 0 {
			continue
		}
		ct := byClient[id]
		start := ct.first
		if ct.hasLast {
			start = ct.last
		}
		c := Clock{
			ID:        ClockID(PolicyClientContact, id, instantKey(start)),
			Policy:    PolicyClientContact,
			ClientID:  id,
			Subject:   clientSubject(id),
			StartedAt: start,
		}
		due := start.Add(time.Duration(p.MaxDays) * 24 * time.Hour)
		settleAt(&c, cal, time.Time{}, due, time.Time{}, now)
		out = append(out, c)
	}
	return sortClocks(out)
}

// clientSubject is the subject of a client-level clock.
func clientSubject(clientID string) Subject {
	return Subject{Kind: "client", ExternalID: clientID, Title: clientID}
}
