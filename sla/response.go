package sla

import (
	"cmp"
	"math/bits"
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
	// Asks says that the message, in its own words (quoted history
	// aside), asks the other side something: an agency message that asks
	// and gets no answer leaves the thread waiting on the client (see
	// ThreadWaitingClocks).
	Asks bool
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
	return responseClocks(msgs, rules, now, fnv64)
}

// responseClocks is ResponseClocks with the hash that groups conversations
// given, so that a test can make every conversation collide.
//
// It works in three passes over compact, pointer-free records, because at
// a million messages the cost is in memory, not in the calendar: strings
// compared in a sort, clocks copied while sorting, and pointers the
// garbage collector has to follow.
//
//  1. One sort of the eligible messages by (hash of the conversation, sent
//     instant); the strings are compared only when those tie.
//  2. One walk over each conversation pairs a client message with the
//     reply that stops it, and notes the clock's start and ID hash.
//  3. One sort of those pairs by (start, ID hash), which is the order of
//     (start, ID); then the clocks are written in place, in order.
//
// Both sorts are radix sorts on the integers, with a comparison sort only
// for the few records whose integers tie.
func responseClocks(msgs []Message, rules Rules, now time.Time, hashConv func(string) uint64) []Clock {
	keys := make([]msgKey, 0, len(msgs))
	clients := 0
	for i := range msgs {
		m := &msgs[i]
		if m.Automated || m.SentAt.After(now) || m.Conversation == "" {
			continue
		}
		if m.Side == SideClient {
			clients++
		}
		keys = append(keys, msgKey{conv: hashConv(m.Conversation), sec: m.SentAt.Unix(),
			nsec: int32(m.SentAt.Nanosecond()), i: int32(i)})
	}
	keys = groupMessages(msgs, keys)

	rc := newRuleCache(rules)
	// At most one clock per client message: sized once.
	pend := make([]pendingClock, 0, clients)
	add := func(open, reply int32) {
		m := &msgs[open]
		ps, cal := rc.get(m.ClientID)
		if p := Rule[*ResponsePolicy](ps); p == nil || cal == nil || p.Target.IsZero() {
			return
		}
		start := cal.NextBusiness(m.SentAt)
		pend = append(pend, pendingClock{sec: start.Unix(), nsec: int32(start.Nanosecond()), open: open, reply: reply,
			sum: clockSum(PolicyResponse, m.Conversation, m.Key)})
	}
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi].conv == keys[lo].conv {
			hi++
		}
		run := keys[lo:hi]
		lo = hi
		// Conversations whose hashes collide share a run, their messages
		// interleaved by time: sort such a run by the strings themselves.
		mixed := false
		for _, k := range run[1:] {
			if msgs[k.i].Conversation != msgs[run[0].i].Conversation {
				mixed = true
				break
			}
		}
		if mixed {
			slices.SortFunc(run, func(a, b msgKey) int { return compareMessages(&msgs[a.i], &msgs[b.i]) })
		}
		open := int32(-1)
		for k, key := range run {
			m := &msgs[key.i]
			if mixed && k > 0 && msgs[run[k-1].i].Conversation != m.Conversation {
				if open >= 0 {
					add(open, -1)
				}
				open = -1
			}
			switch m.Side {
			case SideClient:
				if open < 0 {
					open = key.i
				}
			case SideAgency:
				if open >= 0 {
					add(open, key.i)
					open = -1
				}
			}
		}
		if open >= 0 {
			add(open, -1)
		}
	}

	pend = sortPending(msgs, pend)
	out := make([]Clock, len(pend))
	// The clocks' messages lie all over msgs. A first, short loop over a
	// batch copies what the clocks need of them, so that the processor
	// fetches the batch's messages from memory at once rather than one
	// after the other as the long loop writing clocks would.
	const batchLen = 32
	var batch [batchLen]struct {
		client        string
		subject       Subject
		sent, replied time.Time
	}
	// The batch's IDs share one string: one allocation instead of 32.
	const idLen = len(PolicyResponse) + 1 + 16
	var idBuf [batchLen * idLen]byte
	for lo := 0; lo < len(pend); lo += batchLen {
		chunk := pend[lo:min(lo+batchLen, len(pend))]
		ids := idBuf[:0]
		for k := range chunk {
			ids = appendID(ids, PolicyResponse, chunk[k].sum)
		}
		batchIDs := string(ids)
		for k := range chunk {
			m, b := &msgs[chunk[k].open], &batch[k]
			b.client, b.subject, b.sent = m.ClientID, m.Subject, m.SentAt
			b.replied = time.Time{}
			if chunk[k].reply >= 0 {
				b.replied = msgs[chunk[k].reply].SentAt
			}
		}
		for k := range chunk {
			p, b, c := &chunk[k], &batch[k], &out[lo+k]
			pol, cal := rc.get(b.client)
			c.ID = batchIDs[k*idLen : (k+1)*idLen]
			c.Policy = PolicyResponse
			c.ClientID = b.client
			c.Subject = b.subject
			// The start NextBusiness gave in pass 2, rebuilt as it built
			// it: the message's own instant when that is business time,
			// else an interval's start in the message's location.
			c.StartedAt = b.sent
			if b.sent.Unix() != p.sec || int32(b.sent.Nanosecond()) != p.nsec {
				c.StartedAt = time.Unix(p.sec, int64(p.nsec)).In(b.sent.Location())
			}
			stopped := b.replied
			if p.reply >= 0 && stopped.Before(c.StartedAt) {
				// A reply before the first business instant stops the
				// clock at zero: the client asked at night and had an
				// answer by morning.
				stopped = c.StartedAt
			}
			rp := Rule[*ResponsePolicy](pol)
			settle(c, cal, stopped, rp.Target, rp.Warn, now)
		}
	}
	return out
}

// groupMessages sorts keys, the eligible messages, by conversation hash,
// then sent instant, then compareMessages. It radix-sorts on the top bits
// of the hash, enough to leave a few messages per value, and then sorts
// each run of equal top bits, mostly one conversation's messages.
func groupMessages(msgs []Message, keys []msgKey) []msgKey {
	if len(keys) < 2 {
		return keys
	}
	shift := 64 - min(64, bits.Len(uint(len(keys)))+2)
	keys, _ = radixSort(keys, make([]msgKey, len(keys)), func(k *msgKey) uint64 { return k.conv >> shift })
	compare := func(a, b msgKey) int {
		if a.conv != b.conv {
			return cmp.Compare(a.conv, b.conv)
		}
		if a.sec != b.sec {
			return cmp.Compare(a.sec, b.sec)
		}
		if a.nsec != b.nsec {
			return cmp.Compare(a.nsec, b.nsec)
		}
		return compareMessages(&msgs[a.i], &msgs[b.i])
	}
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi].conv>>shift == keys[lo].conv>>shift {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(keys[lo:hi], compare)
		}
		lo = hi
	}
	return keys
}

// sortPending sorts pend by start, then ID hash: a radix sort from the
// least significant key up, then a comparison sort of the runs whose keys
// all tie (a message repeated in its conversation gives the same ID twice),
// so that even those come out in an order msgs' order does not change.
func sortPending(msgs []Message, pend []pendingClock) []pendingClock {
	if len(pend) < 2 {
		return pend
	}
	tmp := make([]pendingClock, len(pend))
	pend, tmp = radixSort(pend, tmp, func(p *pendingClock) uint64 { return p.sum })
	pend, tmp = radixSort(pend, tmp, func(p *pendingClock) uint64 { return uint64(p.nsec) })
	pend, _ = radixSort(pend, tmp, func(p *pendingClock) uint64 { return uint64(p.sec) ^ 1<<63 })
	same := func(a, b *pendingClock) bool { return a.sec == b.sec && a.nsec == b.nsec && a.sum == b.sum }
	for lo := 0; lo < len(pend); {
		hi := lo + 1
		for hi < len(pend) && same(&pend[lo], &pend[hi]) {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(pend[lo:hi], func(a, b pendingClock) int {
				if c := compareMessages(&msgs[a.open], &msgs[b.open]); c != 0 {
					return c
				}
				return a.replyAt(msgs).Compare(b.replyAt(msgs))
			})
		}
		lo = hi
	}
	return pend
}

const (
	radixBits    = 11 // 2048 buckets: their counts and write fronts stay in cache
	radixBuckets = 1 << radixBits
	radixDigits  = (64 + radixBits - 1) / radixBits
)

// radixSort sorts s stably by key, an unsigned integer, using tmp (as long
// as s) as scratch. It returns the sorted slice, which is s or tmp, and the
// other one. Digits that are the same in every key cost no pass, so a key
// of few significant bits sorts in few passes.
func radixSort[T any](s, tmp []T, key func(*T) uint64) (sorted, spare []T) {
	if len(s) < 2 {
		return s, tmp
	}
	var counts [radixDigits][radixBuckets]uint32
	for i := range s {
		k := key(&s[i])
		for d := range counts {
			counts[d][k>>(d*radixBits)%radixBuckets]++
		}
	}
	first := key(&s[0])
	for d := range counts {
		shift := d * radixBits
		c := &counts[d]
		if c[first>>shift%radixBuckets] == uint32(len(s)) {
			continue // one digit for all: this pass would change nothing
		}
		var at uint32
		for b, n := range c {
			c[b] = at
			at += n
		}
		for i := range s {
			b := key(&s[i]) >> shift % radixBuckets
			tmp[c[b]] = s[i]
			c[b]++
		}
		s, tmp = tmp, s
	}
	return s, tmp
}

// msgKey is an eligible message as the grouping sort sees it.
type msgKey struct {
	conv uint64 // hash of the conversation
	sec  int64  // sent instant, Unix seconds
	nsec int32
	i    int32 // index in the messages
}

// pendingClock is a response clock before it is written out.
type pendingClock struct {
	sec   int64 // start, Unix seconds
	nsec  int32
	open  int32  // the client message that started it
	reply int32  // the agency message that stopped it, or -1
	sum   uint64 // ID hash, see clockSum
}

// replyAt returns when the reply that stopped p was sent, or the zero
// time.
func (p pendingClock) replyAt(msgs []Message) time.Time {
	if p.reply < 0 {
		return time.Time{}
	}
	return msgs[p.reply].SentAt
}

// compareMessages orders messages by conversation, then sent instant, then
// key, and then, for a message repeated under one key at one instant, by
// what the policy reads of it, so that the copies' places in msgs never
// decide which one opens or stops a clock.
func compareMessages(x, y *Message) int {
	if c := strings.Compare(x.Conversation, y.Conversation); c != 0 {
		return c
	}
	if c := x.SentAt.Compare(y.SentAt); c != 0 {
		return c
	}
	if c := strings.Compare(x.Key, y.Key); c != 0 {
		return c
	}
	a, b := &x.Subject, &y.Subject
	return cmp.Or(strings.Compare(x.Side, y.Side), strings.Compare(x.ClientID, y.ClientID),
		strings.Compare(a.Kind, b.Kind), strings.Compare(a.Source, b.Source), strings.Compare(a.ExternalID, b.ExternalID),
		strings.Compare(a.Title, b.Title), strings.Compare(a.URL, b.URL))
}

// fnv64 is the 64-bit FNV-1a hash of s.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
