package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/store"
)

// threadMsg is what threading knows of one email.
type threadMsg struct {
	ID       string
	SentAt   time.Time
	Parents  []string // References in order, then In-Reply-To
	Subject  string
	ClientID string
}

// subjectJoinWindow bounds how far back a reply that names no parent may
// be joined to a thread by its subject.
const subjectJoinWindow = 30 * 24 * time.Hour

// threadRoots threads msgs as mail programs do (Jamie Zawinski's
// algorithm, the one RFC 5256's REFERENCES threading describes): every
// message id is a node; each message's References link its ancestors in
// order, a link never overriding a parent a node already has nor making a
// loop; and a message's own last parent (In-Reply-To, else the last
// reference) is its parent whatever an earlier link said. The root of a
// message's tree, a message or an id no stored message has, is its thread.
//
// msgs must be sorted by SentAt, then ID: the result is then a function of
// the set of messages alone, the same whatever order they arrived in over
// syncs, and a message that joins two threads moves both into one.
//
// Subject joining is the last resort, only for a message that names no
// parent at all: a reply ("Re: …", "Ответ: …") whose base subject equals
// that of an earlier message of the same client within subjectJoinWindow
// joins that message's thread. Written by hand: no Go library threads
// a stored set of messages incrementally (go-imap's threading is the
// server's).
func threadRoots(msgs []threadMsg) map[string]string {
	parent := map[string]string{}
	// reaches says whether following parents from a arrives at b.
	reaches := func(a, b string) bool {
		for n, steps := a, 0; steps <= len(parent); steps++ {
			if n == b {
				return true
			}
			p, ok := parent[n]
			if !ok {
				return false
			}
			n = p
		}
		return true // a loop already: treat as reaching, link nothing
	}
	for _, m := range msgs {
		refs := m.Parents
		for i := 0; i+1 < len(refs); i++ {
			a, b := refs[i], refs[i+1]
			if a == b || b == m.ID {
				continue
			}
			if _, has := parent[b]; !has && !reaches(a, b) {
				parent[b] = a
			}
		}
		if len(refs) == 0 {
			continue
		}
		last := refs[len(refs)-1]
		if last == m.ID {
			continue
		}
		if old, has := parent[m.ID]; has && old == last {
			continue
		}
		if !reaches(last, m.ID) {
			parent[m.ID] = last
		}
	}
	root := func(id string) string {
		for steps := 0; steps <= len(parent); steps++ {
			p, ok := parent[id]
			if !ok {
				return id
			}
			id = p
		}
		return id
	}

	// The last resort: replies that name no parent, by subject.
	type seen struct {
		at time.Time
		id string
	}
	bySubject := map[string]seen{} // client + base subject -> newest message
	for _, m := range msgs {
		base, reply := baseSubject(m.Subject)
		key := m.ClientID + "\x00" + base
		if m.ClientID == "" || base == "" {
			continue
		}
		if reply && len(m.Parents) == 0 {
			if s, ok := bySubject[key]; ok && m.SentAt.Sub(s.at) <= subjectJoinWindow {
				if r := root(s.id); r != root(m.ID) && !reaches(r, m.ID) {
					if _, has := parent[m.ID]; !has {
						parent[m.ID] = r
					}
				}
			}
		}
		bySubject[key] = seen{at: m.SentAt, id: m.ID}
	}

	out := make(map[string]string, len(msgs))
	for _, m := range msgs {
		out[m.ID] = root(m.ID)
	}
	return out
}

// replyPrefix matches the prefixes mail programs put before a subject they
// answer or forward, in the languages the agencies write in, with the
// counters some add ("Re[2]:", "RE (3):") and a list tag before them.
var replyPrefix = regexp.MustCompile(`(?i)^\s*(\[[^\]]{1,40}\]\s*)?(re|aw|sv|vs|antw|ответ|отв|fw|fwd|wg|tr|пересл)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*`)

// baseSubject strips reply and forward prefixes and list tags, and
// lower-cases the rest; reply says whether a reply prefix was there.
func baseSubject(s string) (base string, reply bool) {
	for {
		m := replyPrefix.FindStringSubmatch(s)
		if m == nil {
			break
		}
		switch strings.ToLower(m[2]) {
		case "re", "aw", "sv", "vs", "antw", "ответ", "отв":
			reply = true
		}
		s = s[len(m[0]):]
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ']'); strings.HasPrefix(s, "[") && i > 0 && i < 42 {
		s = strings.TrimSpace(s[i+1:])
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " ")), reply
}

// Thread recomputes the threads of a source's stored emails (threadRoots)
// and stores each message's thread key where it changed. It returns how
// many messages moved to another thread. A source's emails are threaded
// after every run that wrote or deleted any, so a reply that arrives
// before the message it answers, or in another folder, still lands in the
// right thread, and two threads a later message joins become one; the SLA
// evaluation that follows the sync then sees one conversation.
func (e *Engine) Thread(ctx context.Context, sourceID string) (int, error) {
	rows, err := e.Store.EmailThreading(ctx, sourceID)
	if err != nil {
		return 0, err
	}
	msgs := make([]threadMsg, len(rows))
	for i, r := range rows {
		m := threadMsg{ID: r.ExternalID, SentAt: r.SentAt.UTC(), Subject: r.Subject, ClientID: r.ClientID}
		if err := json.Unmarshal([]byte(r.Parents), &m.Parents); err != nil {
			return 0, fmt.Errorf("message %s/%s: stored parents unreadable: %w", sourceID, r.ExternalID, err)
		}
		msgs[i] = m
	}
	// The store sorts by the instant already; ties and text-sorted
	// timestamps are settled here, so that the order is the same on both
	// databases.
	slices.SortStableFunc(msgs, func(a, b threadMsg) int {
		return cmp.Or(a.SentAt.Compare(b.SentAt), strings.Compare(a.ID, b.ID))
	})
	roots := threadRoots(msgs)
	var updates []store.ThreadUpdate
	for _, r := range rows {
		if key := roots[r.ExternalID]; key != r.ThreadKey {
			updates = append(updates, store.ThreadUpdate{ExternalID: r.ExternalID, ThreadKey: key})
		}
	}
	if err := e.Store.SetThreadKeys(ctx, sourceID, updates, e.DryRun); err != nil {
		return 0, err
	}
	return len(updates), nil
}
