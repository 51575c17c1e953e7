package sla

import (
	"slices"
	"time"
)

// Facts is everything the policies read: the normalized messages, tasks
// and time entries of every client.
type Facts struct {
	Messages    []Message
	Tasks       []Task
	TimeEntries []TimeEntry
	// Contacts, when not nil, is what the client-contact policy reads
	// instead of Messages: for an evaluation of part of the store, a
	// summary of each client's messages that gives the same clock (its
	// first message, and the agency's last human one, up to now).
	Contacts []Message
}

// Evaluate runs every policy over f as of now and returns all clocks
// sorted by start, then ID. Facts after now are ignored, so evaluating a
// past now replays history; evaluating twice at one now gives identical
// clocks.
func Evaluate(f Facts, rules Rules, now time.Time) []Clock {
	lists := make([][]Clock, 0, len(Policies))
	for _, p := range Policies {
		lists = append(lists, p.clocks(f, rules, now))
	}
	return mergeClocks(lists)
}

// mergeClocks merges lists, each sorted by start and ID, into one list so
// sorted (nil when all are empty). Every policy returns its clocks sorted
// already, so a merge is all that is left to do: a list that is alone is
// returned as it is, and otherwise the smaller lists are merged first and
// the largest, typically the response clocks, is copied once.
func mergeClocks(lists [][]Clock) []Clock {
	lists = slices.DeleteFunc(lists, func(l []Clock) bool { return len(l) == 0 })
	if len(lists) == 0 {
		return nil
	}
	slices.SortStableFunc(lists, func(a, b []Clock) int { return len(a) - len(b) })
	out := lists[0]
	for _, l := range lists[1:] {
		out = merge2(out, l)
	}
	return out
}

// merge2 merges two sorted lists into a new one; of equal clocks, a's come
// first.
func merge2(a, b []Clock) []Clock {
	out := make([]Clock, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compareClocks(&b[0], &a[0]) < 0 {
			out = append(out, b[0])
			b = b[1:]
		} else {
			out = append(out, a[0])
			a = a[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}
