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

// Policy describes one SLA policy: the one place that names it. Every list
// of policies karkas keeps (routing's policies:, the CLI's --policy, the
// catalogs' titles, the store's withdrawal rule) derives from Policies.
type Policy struct {
	// Name is the policy's name, as clocks, the config and routing say it.
	Name string
	// WholeHistory says that every evaluation produces the policy's clocks
	// for the whole history of the facts (see WholeHistory).
	WholeHistory bool
	// clocks evaluates the policy over the facts as of now, sorted by
	// start, then ID.
	clocks func(f Facts, rules Rules, now time.Time) []Clock
}

// Policies are the SLA policies, in the order people read them.
var Policies = []Policy{
	{Name: PolicyResponse, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock { return ResponseClocks(f.Messages, r, now) }},
	{Name: PolicyStageLimit, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock { return StageClocks(f.Tasks, r, now) }},
	{Name: PolicyWaitingClient, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock {
		return mergeClocks([][]Clock{WaitingClocks(f.Tasks, r, now), ThreadWaitingClocks(f.Messages, r, now)})
	}},
	{Name: PolicyDueDate, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock { return DueClocks(f.Tasks, r, now) }},
	{Name: PolicyBrief, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock { return BriefClocks(f.Tasks, r, now) }},
	{Name: PolicyHygiene, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock { return HygieneClocks(f.Tasks, r, now) }},
	// Client contact evaluates the current silence only, and keeps earlier
	// silences' clocks as they were.
	{Name: PolicyClientContact, clocks: func(f Facts, r Rules, now time.Time) []Clock {
		contacts := f.Messages
		if f.Contacts != nil {
			contacts = f.Contacts
		}
		return ContactClocks(contacts, r, now)
	}},
	// The hour budget evaluates the current month only.
	{Name: PolicyHourBudget, clocks: func(f Facts, r Rules, now time.Time) []Clock { return BudgetClocks(f.TimeEntries, r, now) }},
	{Name: PolicyUntracked, WholeHistory: true, clocks: func(f Facts, r Rules, now time.Time) []Clock { return UntrackedClocks(f.Tasks, r, now) }},
}

// PolicyNames are the names of Policies, in their order.
func PolicyNames() []string {
	out := make([]string, len(Policies))
	for i, p := range Policies {
		out[i] = p.Name
	}
	return out
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
