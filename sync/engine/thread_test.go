package engine

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func at(h int) time.Time {
	return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
}

func sorted(msgs []threadMsg) []threadMsg {
	msgs = slices.Clone(msgs)
	slices.SortFunc(msgs, func(a, b threadMsg) int { return cmp.Or(a.SentAt.Compare(b.SentAt), strings.Compare(a.ID, b.ID)) })
	return msgs
}

func TestThreadRoots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msgs []threadMsg
		want map[string]string
	}{
		{
			name: "References in full",
			msgs: []threadMsg{
				{ID: "m1", SentAt: at(0)},
				{ID: "m2", SentAt: at(1), Parents: []string{"m1"}},
				{ID: "m3", SentAt: at(2), Parents: []string{"m1", "m2"}},
			},
			want: map[string]string{"m1": "m1", "m2": "m1", "m3": "m1"},
		},
		{
			// A mobile mailer answers the middle of a thread with only
			// In-Reply-To: the answer belongs to the thread's root, not
			// to a thread of its own named after its parent.
			name: "In-Reply-To alone, mid-thread",
			msgs: []threadMsg{
				{ID: "m1", SentAt: at(0)},
				{ID: "m2", SentAt: at(1), Parents: []string{"m1"}},
				{ID: "m3", SentAt: at(2), Parents: []string{"m2"}},
				{ID: "m4", SentAt: at(3), Parents: []string{"m3"}},
			},
			want: map[string]string{"m1": "m1", "m2": "m1", "m3": "m1", "m4": "m1"},
		},
		{
			// The root was never received (or is not stored): the ids the
			// messages name still make one thread, rooted at the oldest.
			name: "missing root",
			msgs: []threadMsg{
				{ID: "m2", SentAt: at(1), Parents: []string{"m1"}},
				{ID: "m3", SentAt: at(2), Parents: []string{"m2"}},
				{ID: "m4", SentAt: at(3), Parents: []string{"m1", "m2", "m3"}},
			},
			want: map[string]string{"m2": "m1", "m3": "m1", "m4": "m1"},
		},
		{
			// b1 started a thread of its own (its mailer dropped the
			// headers); a later message names both chains: one thread.
			name: "a later message joins two threads",
			msgs: []threadMsg{
				{ID: "a1", SentAt: at(0)},
				{ID: "b1", SentAt: at(1)},
				{ID: "b2", SentAt: at(2), Parents: []string{"b1"}},
				{ID: "c", SentAt: at(3), Parents: []string{"a1", "b1", "b2"}},
			},
			want: map[string]string{"a1": "a1", "b1": "a1", "b2": "a1", "c": "a1"},
		},
		{
			name: "a loop of parents ends",
			msgs: []threadMsg{
				{ID: "x", SentAt: at(0), Parents: []string{"y"}},
				{ID: "y", SentAt: at(1), Parents: []string{"x"}},
			},
			want: map[string]string{"x": "y", "y": "y"},
		},
		{
			name: "a message naming itself",
			msgs: []threadMsg{{ID: "x", SentAt: at(0), Parents: []string{"x", "x"}}},
			want: map[string]string{"x": "x"},
		},
		{
			// "<id>#<fingerprint>" is another message that reused the id:
			// replies to the id belong to the message that holds it.
			name: "a reused Message-ID stays apart",
			msgs: []threadMsg{
				{ID: "m1", SentAt: at(0)},
				{ID: "m1#0123456789ab", SentAt: at(1), Parents: []string{"z0"}},
				{ID: "m2", SentAt: at(2), Parents: []string{"m1"}},
			},
			want: map[string]string{"m1": "m1", "m1#0123456789ab": "z0", "m2": "m1"},
		},
		{
			name: "subject joins a reply that names no parent, of the same client",
			msgs: []threadMsg{
				{ID: "q", SentAt: at(0), Subject: "Invoice for October", ClientID: "acme"},
				{ID: "other", SentAt: at(1), Subject: "Re: Invoice for October", ClientID: "betta"},
				{ID: "r", SentAt: at(2), Subject: "RE: [acme-team] AW: Invoice for  october", ClientID: "acme"},
			},
			want: map[string]string{"q": "q", "other": "other", "r": "q"},
		},
		{
			name: "subject never overrides a parent, nor joins a forward or an old thread",
			msgs: []threadMsg{
				{ID: "q", SentAt: at(0), Subject: "Invoice", ClientID: "acme"},
				{ID: "named", SentAt: at(1), Subject: "Re: Invoice", ClientID: "acme", Parents: []string{"elsewhere"}},
				{ID: "fwd", SentAt: at(2), Subject: "Fwd: Invoice", ClientID: "acme"},
				{ID: "late", SentAt: at(2 + 31*24), Subject: "Re: Invoice", ClientID: "acme"},
				{ID: "nosubject", SentAt: at(3), Subject: "Re:", ClientID: "acme"},
			},
			want: map[string]string{"q": "q", "named": "elsewhere", "fwd": "fwd", "late": "late", "nosubject": "nosubject"},
		},
		{
			name: "Ответ joins in Russian",
			msgs: []threadMsg{
				{ID: "q", SentAt: at(0), Subject: "Счёт за ноябрь", ClientID: "betta"},
				{ID: "r", SentAt: at(1), Subject: "Ответ: Счёт за ноябрь", ClientID: "betta"},
			},
			want: map[string]string{"q": "q", "r": "q"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := threadRoots(sorted(tt.msgs))
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("%s: thread %q, want %q (all: %v)", id, got[id], want, got)
				}
			}
			if len(got) != len(tt.msgs) {
				t.Errorf("threaded %d messages, want %d", len(got), len(tt.msgs))
			}
		})
	}
}

// However the messages arrived, the threads are the same: the result is a
// function of the set alone. Messages are added one at a time in random
// orders, and after the last one every thread matches the threads of all
// of them threaded at once.
func TestThreadRootsArrivalOrder(t *testing.T) {
	t.Parallel()
	var all []threadMsg
	// Three threads, each a chain where every third message names only
	// its parent (In-Reply-To) and the others the whole chain.
	for th := range 3 {
		var chain []string
		for i := range 12 {
			id := string(rune('a'+th)) + string(rune('0'+i/10)) + string(rune('0'+i%10))
			m := threadMsg{ID: id, SentAt: at(th*100 + i)}
			switch {
			case i == 0:
			case i%3 == 0:
				m.Parents = []string{chain[len(chain)-1]}
			default:
				m.Parents = slices.Clone(chain)
			}
			chain = append(chain, id)
			all = append(all, m)
		}
	}
	want := threadRoots(sorted(all))
	for id, root := range want {
		if root != id[:1]+"00" {
			t.Fatalf("%s: thread %s, want %s00", id, root, id[:1])
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		order := slices.Clone(all)
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var have []threadMsg
		var got map[string]string
		for _, m := range order {
			have = append(have, m)
			got = threadRoots(sorted(have))
		}
		for id, root := range want {
			if got[id] != root {
				t.Fatalf("arrival order %v: %s in thread %s, want %s", ids(order), id, got[id], root)
			}
		}
	}
}

func ids(msgs []threadMsg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func TestBaseSubject(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, base string
		reply    bool
	}{
		{"Invoice", "invoice", false},
		{"Re: Invoice", "invoice", true},
		{"RE[2]: Re: Invoice", "invoice", true},
		{"Fwd: Invoice", "invoice", false},
		{"[list] Re: Invoice", "invoice", true},
		{"Отв: Ответ: Смета", "смета", true},
		{"Re:", "", true},
		{"Reminder: pay", "reminder: pay", false},
	} {
		base, reply := baseSubject(tt.in)
		if base != tt.base || reply != tt.reply {
			t.Errorf("baseSubject(%q) = %q, %v; want %q, %v", tt.in, base, reply, tt.base, tt.reply)
		}
	}
}
