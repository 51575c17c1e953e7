package sla

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// ThreadWaitingClocks evaluates the waiting-client policy on conversations
// that belong to no task (email threads; a task's conversation waits with
// the task, see WaitingClocks). A thread waits on the client from a human
// agency message that asks the client something (Message.Asks) while no
// client answer has come since: the ball is in the client's court. The
// wait ends at the client's next human message. During the wait the
// agency owes a reminder every RemindEvery of business time, counted as
// for tasks (see reminderClocks): each further human agency message in
// the thread is a reminder given. Automated messages (an auto-reply, a
// bounce) neither start, end nor answer a wait.
//
// An agency message that asks nothing ("Thanks, done!") starts no wait,
// so a conversation that simply ended does not nag anyone.
func ThreadWaitingClocks(msgs []Message, rules Rules, now time.Time) []Clock {
	// Only the messages of clients that have the policy are sorted, so
	// that clients without it (and the response benchmark) pay one pass.
	rc := newRuleCache(rules)
	var idx []int32
	for i := range msgs {
		m := &msgs[i]
		if m.Automated || m.SentAt.After(now) || m.Conversation == "" || m.Subject.Kind == "task" ||
			(m.Side != SideAgency && m.Side != SideClient) {
			continue
		}
		if ps, cal := rc.get(m.ClientID); cal == nil || Rule[*ReminderPolicy](ps) == nil || Rule[*ReminderPolicy](ps).RemindEvery.IsZero() {
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
	var out []Clock
	var asked *Message // the agency message that started the current wait
	var contacts []time.Time
	end := func(to *time.Time) {
		if asked == nil {
			return
		}
		if ps, cal := rc.get(asked.ClientID); ps != nil && cal != nil { // the policy is there: see the filter above
			start := asked
			out = reminderClocks(out, cal, Rule[*ReminderPolicy](ps).RemindEvery, start.SentAt, to, contacts, now,
				func(at time.Time, n int) Clock {
					return Clock{
						ID:        ClockID(PolicyWaitingClient, start.Conversation, start.Key, strconv.Itoa(n)),
						Policy:    PolicyWaitingClient,
						ClientID:  start.ClientID,
						Subject:   start.Subject,
						StartedAt: cal.NextBusiness(at),
					}
				})
		}
		asked, contacts = nil, contacts[:0]
	}
	for k, i := range idx {
		m := &msgs[i]
		if k > 0 && msgs[idx[k-1]].Conversation != m.Conversation {
			end(nil)
		}
		switch {
		case m.Side == SideClient:
			at := m.SentAt
			end(&at)
		case asked != nil:
			contacts = append(contacts, m.SentAt)
		case m.Asks:
			asked = m
		}
	}
	end(nil)
	return sortClocks(out)
}
