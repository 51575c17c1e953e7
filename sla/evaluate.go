package sla

import "time"

// Facts is everything the policies read: the normalized messages, tasks
// and time entries of every client.
type Facts struct {
	Messages    []Message
	Tasks       []Task
	TimeEntries []TimeEntry
}

// Evaluate runs every policy over f as of now and returns all clocks
// sorted by start, then ID. Facts after now are ignored, so evaluating a
// past now replays history; evaluating twice at one now gives identical
// clocks.
func Evaluate(f Facts, rules Rules, now time.Time) []Clock {
	var out []Clock
	out = append(out, ResponseClocks(f.Messages, rules, now)...)
	out = append(out, ContactClocks(f.Messages, rules, now)...)
	for _, policy := range []func([]Task, Rules, time.Time) []Clock{
		StageClocks, WaitingClocks, DueClocks, BriefClocks, HygieneClocks, UntrackedClocks,
	} {
		out = append(out, policy(f.Tasks, rules, now)...)
	}
	out = append(out, BudgetClocks(f.TimeEntries, rules, now)...)
	return sortClocks(out)
}
