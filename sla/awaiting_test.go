package sla

import (
	"testing"
	"time"
)

// A thread waits on the client from an agency message that asks something
// until the client's next human message; the agency's further messages are
// reminders given. Threads where the agency asked nothing, task
// conversations and automated messages start or end nothing.
func TestThreadWaitingClocks(t *testing.T) {
	t.Parallel()
	msg := func(conv, key, side, when string, asks, automated bool) Message {
		kind := "thread"
		if conv == "task:c1" {
			kind = "task"
		}
		return Message{Key: key, Conversation: conv, ClientID: "acme", Side: side, SentAt: at(t, when), Asks: asks,
			Automated: automated, Subject: Subject{Kind: kind, Source: "mail", ExternalID: conv, Title: "Logo"}}
	}
	msgs := []Message{
		// Waiting since Mon 11:00 (2 business days: due Wed 11:00); the
		// client's auto-reply does not answer; owed at Thu 11:00.
		msg("t1", "t1/q", SideClient, "2026-10-05 10:00", true, false),
		msg("t1", "t1/a", SideAgency, "2026-10-05 11:00", true, false),
		msg("t1", "t1/oof", SideClient, "2026-10-05 11:01", false, true),
		// The agency answered and asked nothing: no wait.
		msg("t2", "t2/q", SideClient, "2026-10-05 10:00", true, false),
		msg("t2", "t2/a", SideAgency, "2026-10-05 11:00", false, false),
		// Asked Mon 11:00, reminded Wed 10:00 (in time), answered Wed
		// 15:00 by the client; then the client asks and nobody waits.
		msg("t3", "t3/a", SideAgency, "2026-10-05 11:00", true, false),
		msg("t3", "t3/r", SideAgency, "2026-10-07 10:00", true, false),
		msg("t3", "t3/c", SideClient, "2026-10-07 15:00", true, false),
		// A task's conversation waits with the task, not here.
		msg("task:c1", "k/a", SideAgency, "2026-10-05 11:00", true, false),
	}
	rules := setRules{cal: berlinOffice(t), ps: NewPolicySet(&ReminderPolicy{RemindEvery: Duration{Days: 2}})}
	got := ThreadWaitingClocks(msgs, rules, at(t, "2026-10-08 11:00"))
	byThread := map[string][]Clock{}
	for _, c := range got {
		if c.Policy != PolicyWaitingClient || c.Subject.Kind != "thread" {
			t.Errorf("clock %+v", c)
		}
		byThread[c.Subject.ExternalID] = append(byThread[c.Subject.ExternalID], c)
	}
	if len(byThread) != 2 {
		t.Errorf("clocks on threads %v, want t1 and t3 only", byThread)
	}
	checkClocks(t, byThread["t1"], []wantClock{
		{state: Breached, start: "2026-10-05 11:00", due: "2026-10-07 11:00", breach: "2026-10-07 11:00", elapsed: 27 * time.Hour},
	})
	checkClocks(t, byThread["t3"], []wantClock{
		{state: Met, start: "2026-10-05 11:00", due: "2026-10-07 11:00", stop: "2026-10-07 10:00", elapsed: 17 * time.Hour},
		{state: Met, start: "2026-10-07 10:00", due: "2026-10-09 10:00", stop: "2026-10-07 15:00", elapsed: 5 * time.Hour},
	})
	if ThreadWaitingClocks(msgs, setRules{cal: berlinOffice(t), ps: NewPolicySet()}, at(t, "2026-10-08 11:00")) != nil {
		t.Error("clocks without a waiting policy")
	}
}
