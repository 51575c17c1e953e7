package sla

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Task fields whose recorded changes the policies read (FieldChange.Field),
// named as the record package names them.
const (
	FieldDescription = "description"
	FieldDue         = "due"
	FieldDueDone     = "due_done"
	FieldClosed      = "closed"
	FieldAssignees   = "assignees"
	FieldChecklists  = "checklists"
)

// FieldChange is one recorded change of a task's field, as its source
// reported it.
type FieldChange struct {
	At    time.Time
	Field string
	// Old and New are the value before and after: a due date as RFC 3339
	// ("" for none), a description's length in characters (the policies
	// read nothing else of it); for a list (assignees, checklists,
	// labels), the one element the change added (New) or removed (Old).
	Old, New string
}

// History says how far back a task's recorded changes reach.
type History struct {
	// Known is false when the task's source reports no changes of its
	// fields, only their current values: every instant is then judged by
	// the current ones.
	Known bool
	// From is the instant since which every change is recorded (zero:
	// since the beginning). What the task carried before it is the
	// earliest value karkas knows, which may not be what it was.
	From time.Time
	// Fields are the fields whose changes the source reports; nil for
	// all of them. The others have no history: they are judged by their
	// current values.
	Fields []string
}

// knows reports whether the task's source reports changes of field.
func (h History) knows(field string) bool {
	return h.Known && (h.Fields == nil || slices.Contains(h.Fields, field))
}

// fieldState is what a task carried at an instant.
type fieldState struct {
	descLen    int
	checklists []string
	assignees  int
	due        *time.Time
	dueDone    bool
}

// stateAt returns what t carried at the instant at, from its current
// values undone by every recorded change after at, newest first. A change
// the task's record contradicts (a removal of an element it lacks) is
// undone as far as it can be: counts never go below zero.
func (t *Task) stateAt(at time.Time) fieldState {
	s := fieldState{descLen: t.DescriptionLen, checklists: t.Checklists, assignees: t.Assignees, due: t.DueAt, dueDone: t.DueDone}
	copied := false
	for i := len(t.Changes) - 1; i >= 0; i-- {
		c := t.Changes[i]
		if !c.At.After(at) {
			break
		}
		switch c.Field {
		case FieldDescription:
			if n, err := strconv.Atoi(c.Old); err == nil {
				s.descLen = n
			}
		case FieldDue:
			s.due = parseDue(c.Old)
		case FieldDueDone:
			s.dueDone = c.Old == "true"
		case FieldAssignees:
			if c.New != "" {
				s.assignees = max(s.assignees-1, 0)
			}
			if c.Old != "" {
				s.assignees++
			}
		case FieldChecklists:
			if !copied {
				s.checklists, copied = slices.Clone(s.checklists), true
			}
			if c.New != "" {
				if k := slices.IndexFunc(s.checklists, func(n string) bool { return sameName(n, c.New) }); k >= 0 {
					s.checklists = slices.Delete(s.checklists, k, k+1)
				}
			}
			if c.Old != "" {
				s.checklists = append(s.checklists, c.Old)
			}
		}
	}
	return s
}

// lastSet returns the last instant, not after now, at which a recorded
// change set field to value; zero when none did.
func (t *Task) lastSet(field, value string, now time.Time) time.Time {
	var at time.Time
	for _, c := range t.Changes {
		if c.Field == field && c.New == value && !c.At.After(now) {
			at = c.At
		}
	}
	return at
}

// changedAfter returns the instants after from and not after now at which
// a recorded change of one of fields happened, oldest first.
func (t *Task) changedAfter(from, now time.Time, fields ...string) []time.Time {
	var out []time.Time
	for _, c := range t.Changes {
		if c.At.After(from) && !c.At.After(now) && slices.Contains(fields, c.Field) &&
			(len(out) == 0 || !out[len(out)-1].Equal(c.At)) {
			out = append(out, c.At)
		}
	}
	return out
}

// unknownNote says, for a clock that judged t's fields (what names them)
// at the instant at, what karkas could not know there: "" when the history
// covers at, or when the source keeps no history of them but nothing
// changed the task since at.
func (t *Task) unknownNote(what string, at time.Time, fields ...string) string {
	known := t.History.Known
	for _, f := range fields {
		known = known && t.History.knows(f)
	}
	switch {
	case !known && at.Before(t.UpdatedAt):
		return fmt.Sprintf("the task's source reports no history of its %s: judged by the current one", what)
	case !t.History.From.IsZero() && at.Before(t.History.From):
		return fmt.Sprintf("karkas holds the task's changes only from %s: its %s before then is the earliest karkas knows",
			t.History.From.UTC().Format("2006-01-02 15:04 MST"), what)
	}
	return ""
}

// joinNotes joins the notes that say something.
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

func parseDue(s string) *time.Time {
	if s == "" {
		return nil
	}
	d, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	d = d.UTC()
	return &d
}

func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// dueSpell is one due date a task carried: from when it was set to when it
// was changed (nil: it is still the task's due date at now).
type dueSpell struct {
	due      time.Time
	from     time.Time
	replaced *time.Time
}

// dueSpells returns the due dates t carried up to now, oldest first.
func (t *Task) dueSpells(now time.Time) []dueSpell {
	var out []dueSpell
	first := t.stateAt(time.Time{}).due // every change undone
	var cur *dueSpell
	if first != nil {
		out = append(out, dueSpell{due: *first, from: t.CreatedAt})
		cur = &out[len(out)-1]
	}
	for _, c := range t.Changes {
		if c.Field != FieldDue || c.At.After(now) {
			continue
		}
		at := c.At
		if cur != nil {
			cur.replaced = &at
		}
		cur = nil
		if d := parseDue(c.New); d != nil {
			out = append(out, dueSpell{due: *d, from: at})
			cur = &out[len(out)-1]
		}
	}
	return out
}
