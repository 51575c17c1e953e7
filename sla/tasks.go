package sla

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy names, as clocks carry them in Clock.Policy.
const (
	PolicyResponse      = "response"
	PolicyStageLimit    = "stage_limit"
	PolicyWaitingClient = "waiting_client"
	PolicyDueDate       = "due_date"
	PolicyBrief         = "brief"
	PolicyHygiene       = "hygiene"
	PolicyUntracked     = "untracked_work"
	PolicyClientContact = "client_contact"
	PolicyHourBudget    = "hour_budget"
)

// maxReminders bounds the reminder clocks of one waiting stay, so that a
// calendar with next to no hours cannot make WaitingClocks run away.
const maxReminders = 10_000

// StageClocks evaluates the stage-limit policy as of now: every stay of a
// task in a status that has a limit in PolicySet.StageLimits is a clock,
// from the move into the status (counted from the next business instant)
// to the move out of it, or to now while the task is still there. Each
// stay is its own clock, so a task sent back to review twice has two
// review clocks.
//
// A stay is Met if the task left in time, Resolved if it left late and
// Breached if it is still there past the limit. A limit of at least two
// business hours warns at half of it (AtRisk); shorter limits do not warn,
// because a warning minutes before the breach helps nobody.
//
// waiting_client has no limit unless StageLimits names it: the client, not
// the agency, holds such work, and WaitingClocks chases it instead. Stays
// that end where they begin (two moves at one instant) are skipped.
func StageClocks(tasks []Task, rules Rules, now time.Time) []Clock {
	rc := newRuleCache(rules)
	var out []Clock
	for i := range tasks {
		t := &tasks[i]
		ps, cal := rc.get(t.ClientID)
		limits := Rule[StageLimits](ps)
		if cal == nil || len(limits) == 0 {
			continue
		}
		for _, s := range taskStays(t, now) {
			limit := limits[s.status]
			if limit.IsZero() || s.empty() {
				continue
			}
			c := taskClock(t, PolicyStageLimit, cal, s.from, s.status, instantKey(s.from))
			due := limit.After(cal, c.StartedAt)
			var warn Duration
			if total := cal.Between(c.StartedAt, due); total >= 2*time.Hour {
				warn = Duration{Time: total / 2}
			}
			settle(&c, cal, clampStop(s.to, c.StartedAt), limit, warn, now)
			out = append(out, c)
		}
	}
	return sortClocks(out)
}

// WaitingClocks evaluates the waiting-client policy as of now: while a task
// waits on the client, the agency owes the client a polite reminder every
// RemindEvery of business time without a word from the agency. Each
// reminder is its own clock, numbered 1, 2, ... within the stay (see
// reminderClocks): reminder 1 starts at the entry into waiting_client (the
// next business instant) and is due RemindEvery later. A human message of
// the agency on the task's conversation during the wait (Task.Contacts: a
// card comment, an email that links the card) is a reminder given: it
// stops the counting clock, Met if in time and Resolved if late, and the
// next reminder counts from it. A reminder not given is Breached ("a
// reminder is owed now") and stays the one open clock of the stay until
// the agency writes or the task leaves waiting_client (then it is
// Resolved; a reminder still counting when the task leaves is Met). Stage
// limits of the task's other statuses are unaffected by the wait; the
// due-date clock pauses (see DueClocks).
func WaitingClocks(tasks []Task, rules Rules, now time.Time) []Clock {
	rc := newRuleCache(rules)
	var out []Clock
	for i := range tasks {
		t := &tasks[i]
		ps, cal := rc.get(t.ClientID)
		p := Rule[*ReminderPolicy](ps)
		if cal == nil || p == nil || p.RemindEvery.IsZero() {
			continue
		}
		for _, s := range taskStays(t, now) {
			if s.status != StatusWaitingClient || s.empty() {
				continue
			}
			out = reminderClocks(out, cal, p.RemindEvery, s.from, s.to, t.Contacts, now,
				func(start time.Time, n int) Clock {
					return taskClock(t, PolicyWaitingClient, cal, start, instantKey(s.from), strconv.Itoa(n))
				})
		}
	}
	return sortClocks(out)
}

// reminderClocks appends the reminder clocks of one wait on the client,
// from `from` to `to` (nil: still waiting at now). contacts are the
// agency's human messages to the client, oldest first; those inside the
// wait (after from, before to, not after now) are reminders given.
// Reminder n is made by mk from its start (a business instant) and due
// every after it. It stops at the first contact after its start, and the
// next reminder starts at the next business instant after that contact;
// contacts up to that instant (a note sent at night and an email before
// office hours) are the same reminder. A reminder that no contact stops ends
// the chain: it is stopped by the end of the wait, or open at now.
func reminderClocks(out []Clock, cal *Calendar, every Duration, from time.Time, to *time.Time, contacts []time.Time,
	now time.Time, mk func(start time.Time, n int) Clock) []Clock {
	start := cal.NextBusiness(from)
	k := 0
	for k < len(contacts) && !contacts[k].After(from) {
		k++
	}
	for n := 1; n <= maxReminders; n++ {
		c := mk(start, n)
		given := k < len(contacts) && !contacts[k].After(now) && (to == nil || contacts[k].Before(*to))
		if !given {
			settle(&c, cal, clampStop(to, c.StartedAt), every, Duration{}, now)
			return append(out, c)
		}
		r := contacts[k]
		settle(&c, cal, clampStop(&r, c.StartedAt), every, Duration{}, now)
		out = append(out, c)
		next := cal.NextBusiness(r)
		for k < len(contacts) && !contacts[k].After(next) {
			k++
		}
		if !next.After(start) || (to != nil && !to.After(next)) {
			return out // the wait ended before the next reminder began counting
		}
		start = next
	}
	return out
}

// DueClocks evaluates the due-date policy as of now for every due date a
// task carried. The clock of a due date starts at the task's creation (the
// next business instant; its first move when CreatedAt is unknown) and is
// due at that date itself. It is AtRisk from the instant at which only
// WarnBefore of business time remains before it (see before) and Breached
// after it.
//
// The due date the task carries at now: its clock stops at the task's first
// move to done, or to archived for a task archived without being done,
// provided the task is done or archived at now; it is then Met if that move
// came before the due date, else Resolved. A task reopened since is still
// open. DueDone (the source's "due date complete" flag) as the task carried
// it at now stops the clock too: at the instant it was set where the
// history says so (Met before the date, Resolved after), else Met without
// a StoppedAt, from the task's last activity on (before it, nothing says
// the flag was set, and the clock carries a note saying so). While the
// task waits on the client at now, the open clock is Paused: the client
// holds the work, which is how agencies read a due date. The deadline does
// not move; once the task comes back, the clock is Breached if the date
// has passed.
//
// A due date changed before now (Task.Changes): a date moved before it
// passed was renegotiated and leaves no clock, and so was one that passed
// while the task waited on the client; a date that passed while the agency
// held the open task and was moved afterwards was missed, and its clock is
// Resolved, breached at the date and stopped when it was moved (or when
// the task closed, if that came first). The clock's ID includes its date,
// so each date a task carried is its own clock.
func DueClocks(tasks []Task, rules Rules, now time.Time) []Clock {
	rc := newRuleCache(rules)
	var out []Clock
	for i := range tasks {
		t := &tasks[i]
		ps, cal := rc.get(t.ClientID)
		p := Rule[*DuePolicy](ps)
		if cal == nil || p == nil {
			continue
		}
		spells := t.dueSpells(now)
		if len(spells) == 0 {
			continue
		}
		ss := taskStays(t, now)
		created := t.CreatedAt
		if created.IsZero() {
			if len(ss) == 0 {
				continue // nothing says when the task began
			}
			created = ss[0].from
		}
		if created.After(now) {
			continue
		}
		status := statusAt(t, ss)
		var closed time.Time // when the task was done (or archived), if it is at now
		if status == StatusDone || status == StatusArchived {
			if s := firstStay(ss, StatusDone); s != nil {
				closed = s.from
			} else if s := firstStay(ss, StatusArchived); s != nil {
				closed = s.from
			}
		}
		for _, sp := range spells {
			due := sp.due
			c := taskClock(t, PolicyDueDate, cal, created, instantKey(due))
			var warnAt time.Time
			if !p.WarnBefore.IsZero() {
				warnAt = before(cal, due, p.WarnBefore)
			}
			if sp.replaced != nil {
				r := *sp.replaced
				if !due.Before(r) || (!closed.IsZero() && !closed.After(due)) || stayAt(ss, due) == StatusWaitingClient {
					continue // moved before it passed, kept by the task's close, or the client's to hold
				}
				stop := r
				if !closed.IsZero() && closed.Before(r) {
					stop = closed
				}
				settleAt(&c, cal, clampStop(&stop, c.StartedAt), due, warnAt, now)
				c.Note = t.unknownNote("due date", sp.from, FieldDue)
				out = append(out, c)
				continue
			}
			var stopped time.Time
			if !closed.IsZero() {
				stopped = clampStop(&closed, c.StartedAt)
			}
			// The due date marked complete by now stops the clock when it
			// was marked, where the history says so.
			markedDone := t.stateAt(now).dueDone
			set := t.lastSet(FieldDueDone, "true", now)
			var doneNote string
			if markedDone && set.IsZero() && now.Before(t.UpdatedAt) && stopped.IsZero() {
				// No recorded change says when it was marked: it is known
				// as of the task's last activity, not before.
				markedDone = false
				doneNote = "the source does not say when the due date was marked complete: before the task's last activity (" +
					t.UpdatedAt.UTC().Format("2006-01-02 15:04 MST") + ") it is judged as not marked"
			}
			if markedDone && stopped.IsZero() && !set.IsZero() {
				stopped = clampStop(&set, c.StartedAt)
			}
			settleAt(&c, cal, stopped, due, warnAt, now)
			switch {
			case stopped.IsZero() && markedDone:
				c.State, c.BreachedAt = Met, time.Time{}
				c.BusinessElapsed = cal.Between(c.StartedAt, minTime(now, due))
			case stopped.IsZero() && status == StatusWaitingClient:
				c.State, c.BreachedAt = Paused, time.Time{}
			}
			c.Note = joinNotes(t.unknownNote("due date", now, FieldDue), doneNote)
			out = append(out, c)
		}
	}
	return sortClocks(out)
}

// BriefClocks evaluates the brief policy as of now: a task whose first
// entry into in_progress came without a brief is flagged. A brief is a
// description of at least MinDescription characters (at least one when
// MinDescription is 0) or a checklist named Checklist, in any case, as the
// task carried them at that move (Task.Changes undone back to it): a brief
// written after work started does not make it one that was there. The
// clock starts at that move (the next business instant) with a target of
// zero, so it is Breached from its start; it is Resolved when the brief is
// written, or at the task's first move to done or archived once the task
// is done or archived, whichever comes first, as the flag then no longer
// asks for anything.
func BriefClocks(tasks []Task, rules Rules, now time.Time) []Clock {
	rc := newRuleCache(rules)
	var out []Clock
	for i := range tasks {
		t := &tasks[i]
		ps, cal := rc.get(t.ClientID)
		p := Rule[*BriefPolicy](ps)
		if cal == nil || p == nil {
			continue
		}
		ss := taskStays(t, now)
		entry := firstStay(ss, StatusInProgress)
		if entry == nil || hasBrief(t.stateAt(entry.from), p) {
			continue
		}
		c := taskClock(t, PolicyBrief, cal, entry.from, instantKey(entry.from))
		stop := closedAt(t, ss, c.StartedAt)
		written := false
		for _, at := range t.changedAfter(entry.from, now, FieldDescription, FieldChecklists) {
			if hasBrief(t.stateAt(at), p) {
				if !at.After(c.StartedAt) {
					written = true // before a business minute of work went by
				} else if stop.IsZero() || at.Before(stop) {
					stop = at
				}
				break
			}
		}
		if written {
			continue
		}
		settleAt(&c, cal, stop, c.StartedAt, time.Time{}, now)
		c.Note = t.unknownNote("description and checklists", entry.from, FieldDescription, FieldChecklists)
		out = append(out, c)
	}
	return sortClocks(out)
}

func hasBrief(s fieldState, p *BriefPolicy) bool {
	if s.descLen >= max(p.MinDescription, 1) {
		return true
	}
	if p.Checklist == "" {
		return false
	}
	for _, name := range s.checklists {
		if sameName(name, p.Checklist) {
			return true
		}
	}
	return false
}

// HygieneClocks evaluates the hygiene policy as of now: while a task is in
// in_progress at now, every span of its current in_progress stay in which
// it lacked an assignee (with RequireAssignee) or a due date (with
// RequireDue), as it carried them then, is a clock per missing item,
// Breached from the span's start: from the entry into the stay, or from
// when the item was taken away. A span that ended (the item was given) is
// Resolved at that instant; the one still open at now is Breached.
func HygieneClocks(tasks []Task, rules Rules, now time.Time) []Clock {
	rc := newRuleCache(rules)
	var out []Clock
	for i := range tasks {
		t := &tasks[i]
		ps, cal := rc.get(t.ClientID)
		p := Rule[*HygienePolicy](ps)
		if cal == nil || p == nil {
			continue
		}
		ss := taskStays(t, now)
		if len(ss) == 0 || ss[len(ss)-1].status != StatusInProgress {
			continue
		}
		entry := ss[len(ss)-1].from
		for _, item := range []struct {
			name    string
			field   string
			require bool
			missing func(fieldState) bool
		}{
			{"assignee", FieldAssignees, p.RequireAssignee, func(s fieldState) bool { return s.assignees == 0 }},
			{"due", FieldDue, p.RequireDue, func(s fieldState) bool { return s.due == nil }},
		} {
			if !item.require {
				continue
			}
			var from *time.Time // start of the current span without the item
			if item.missing(t.stateAt(entry)) {
				e := entry
				from = &e
			}
			emit := func(start time.Time, stop *time.Time) {
				c := taskClock(t, PolicyHygiene, cal, start, item.name, instantKey(start))
				if stop != nil && !stop.After(c.StartedAt) {
					return // given back before a business minute went by
				}
				settleAt(&c, cal, clampStop(stop, c.StartedAt), c.StartedAt, time.Time{}, now)
				c.Note = t.unknownNote(item.name, start, item.field)
				out = append(out, c)
			}
			for _, at := range t.changedAfter(entry, now, item.field) {
				missing := item.missing(t.stateAt(at))
				switch {
				case missing && from == nil:
					a := at
					from = &a
				case !missing && from != nil:
					a := at
					emit(*from, &a)
					from = nil
				}
			}
			if from != nil {
				emit(*from, nil)
			}
		}
	}
	return sortClocks(out)
}

// UntrackedClocks evaluates the untracked-work policy as of now: a task
// that is done (or archived after being done) at now with no time logged
// gets a Breached clock started at its first move to done. LoggedSeconds
// is the current total, so a replay counts time logged later.
func UntrackedClocks(tasks []Task, rules Rules, now time.Time) []Clock {
	rc := newRuleCache(rules)
	var out []Clock
	for i := range tasks {
		t := &tasks[i]
		ps, cal := rc.get(t.ClientID)
		if cal == nil || !Rule[UntrackedWork](ps) || t.LoggedSeconds > 0 {
			continue
		}
		ss := taskStays(t, now)
		if st := statusAt(t, ss); st != StatusDone && st != StatusArchived {
			continue
		}
		done := firstStay(ss, StatusDone)
		if done == nil {
			continue
		}
		c := taskClock(t, PolicyUntracked, cal, done.from, instantKey(done.from))
		settleAt(&c, cal, time.Time{}, c.StartedAt, time.Time{}, now)
		out = append(out, c)
	}
	return sortClocks(out)
}

// stay is a task's time in one status: from the move into it to the move
// out of it, nil while the task is still there at the evaluation instant.
type stay struct {
	status string
	from   time.Time
	to     *time.Time
}

func (s stay) empty() bool { return s.to != nil && !s.to.After(s.from) }

// taskStays returns the stays of t up to now, oldest first. Moves after
// now are ignored; a move into the status the task is already in changes
// nothing. The status before the first move (its From, or Status when the
// task never moved) counts from CreatedAt when that is known.
func taskStays(t *Task, now time.Time) []stay {
	if t.CreatedAt.After(now) {
		return nil
	}
	moves := sortedMoves(t.Moves)
	var out []stay
	enter := func(status string, at time.Time) {
		if n := len(out); n > 0 {
			to := at
			out[n-1].to = &to
		}
		out = append(out, stay{status: status, from: at})
	}
	initial := t.Status
	if len(moves) > 0 {
		initial = moves[0].From
	}
	if initial != "" && !t.CreatedAt.IsZero() && (len(moves) == 0 || moves[0].At.After(t.CreatedAt)) {
		enter(initial, t.CreatedAt)
	}
	for _, m := range moves {
		if m.At.After(now) {
			break
		}
		if m.To == "" || (len(out) > 0 && out[len(out)-1].status == m.To) {
			continue
		}
		enter(m.To, m.At)
	}
	return out
}

// statusAt returns the task's status at the end of its stays.
func statusAt(t *Task, ss []stay) string {
	if len(ss) > 0 {
		return ss[len(ss)-1].status
	}
	if len(t.Moves) == 0 {
		return t.Status
	}
	return sortedMoves(t.Moves)[0].From
}

// sortedMoves returns moves oldest first, sorting a copy only when the
// caller's order is off.
func sortedMoves(moves []Move) []Move {
	if sort.SliceIsSorted(moves, func(i, j int) bool { return moves[i].At.Before(moves[j].At) }) {
		return moves
	}
	s := append([]Move(nil), moves...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].At.Before(s[j].At) })
	return s
}

// stayAt is the status of the stay that holds the instant at ("" before
// the first).
func stayAt(ss []stay, at time.Time) string {
	st := ""
	for _, s := range ss {
		if s.from.After(at) {
			break
		}
		st = s.status
	}
	return st
}

func firstStay(ss []stay, status string) *stay {
	for i := range ss {
		if ss[i].status == status {
			return &ss[i]
		}
	}
	return nil
}

// closedAt returns when the task was closed (its first move to done, else
// to archived), if it is done or archived at the end of ss; never before
// start. It is zero when the task is open.
func closedAt(t *Task, ss []stay, start time.Time) time.Time {
	if st := statusAt(t, ss); st != StatusDone && st != StatusArchived {
		return time.Time{}
	}
	s := firstStay(ss, StatusDone)
	if s == nil {
		s = firstStay(ss, StatusArchived)
	}
	if s == nil {
		return time.Time{}
	}
	return clampStop(&s.from, start)
}

// taskClock returns a clock of policy on t started by the event at from;
// parts name the event in the clock's ID after the task's key.
func taskClock(t *Task, policy string, cal *Calendar, from time.Time, parts ...string) Clock {
	subj := t.Subject
	subj.Kind = "task"
	if subj.ExternalID == "" {
		subj.ExternalID = t.Key
	}
	return Clock{
		ID:        ClockID(policy, append([]string{t.Key}, parts...)...),
		Policy:    policy,
		ClientID:  t.ClientID,
		Subject:   subj,
		StartedAt: cal.NextBusiness(from),
	}
}

// clampStop returns stop moved up to start when it came before it (the
// task left before the clock's first business instant: zero time counted),
// or the zero time for a nil stop (still there).
func clampStop(stop *time.Time, start time.Time) time.Time {
	if stop == nil {
		return time.Time{}
	}
	if stop.Before(start) {
		return start
	}
	return *stop
}

// before returns the earliest instant w with d.After(cal, w) landing on t
// in business terms: whole days are counted back with AddDays(-Days),
// which lands on a business instant, and the time part is then walked back
// exactly, to the earliest w with Between(w, t') == d.Time. Earliest means
// that when the walk ends at the start of a working interval it returns
// the end of the previous one (Friday 18:00 rather than Monday 09:00), so
// a due date is "at risk" from the moment only d of business time remains.
//
// The walk is the inverse of Calendar.Add over the same year tables: it
// finds the target in the cumulative business time by binary search over
// the days, never stepping through minutes.
func before(cal *Calendar, t time.Time, d Duration) time.Time {
	if d.Days > 0 {
		t = cal.AddDays(t, -d.Days)
	}
	if d.Time <= 0 {
		return t
	}
	tab, cum := cal.cumAt(t)
	target := cum - int64(d.Time) // ns since the start of tab's year
	for years := 0; target <= 0; years++ {
		if years > 100 {
			return t // a calendar without hours for a century: nothing to walk
		}
		tab = cal.year(tab.year - 1)
		target += tab.total()
	}
	days := tab.days()
	i := sort.Search(days, func(i int) bool { return tab.cum[i+1] >= target })
	return cal.dayInstant(tab, i, target-tab.cum[i]).In(t.Location())
}

// ruleCache asks Rules once per client.
type ruleCache struct {
	rules Rules
	m     map[string]clientRules
	// The last client asked for, answered without hashing its ID: facts
	// often come grouped by client.
	lastID string
	last   clientRules
	isLast bool
}

type clientRules struct {
	ps  *PolicySet
	cal *Calendar
}

func newRuleCache(rules Rules) *ruleCache {
	return &ruleCache{rules: rules, m: map[string]clientRules{}}
}

func (rc *ruleCache) get(clientID string) (*PolicySet, *Calendar) {
	if rc.isLast && clientID == rc.lastID {
		return rc.last.ps, rc.last.cal
	}
	cr, ok := rc.m[clientID]
	if !ok {
		cr = clientRules{rc.rules.Policies(clientID), rc.rules.Calendar(clientID)}
		rc.m[clientID] = cr
	}
	rc.lastID, rc.last, rc.isLast = clientID, cr, true
	return cr.ps, cr.cal
}

// instantKey writes an instant for a clock ID, independent of the
// location it came in.
func instantKey(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sortClocks orders clocks by start, then ID, and returns them. IDs are
// unique, so the order is total. It sorts indices rather than the clocks
// themselves (a Clock is some 150 bytes) and returns at once when the
// clocks are in order already, as Evaluate's concatenation of one policy's
// sorted clocks often is.
func sortClocks(cs []Clock) []Clock {
	sorted := true
	for i := 1; i < len(cs) && sorted; i++ {
		sorted = compareClocks(&cs[i-1], &cs[i]) <= 0
	}
	if sorted {
		return cs
	}
	idx := make([]int32, len(cs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return compareClocks(&cs[a], &cs[b]) })
	out := make([]Clock, len(cs))
	for i, j := range idx {
		out[i] = cs[j]
	}
	return out
}

func compareClocks(a, b *Clock) int {
	if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}
