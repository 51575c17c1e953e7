package evaluate

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// LoadFacts reads everything the policies need from the store: the
// messages, the tasks with their status history and logged time, and the
// clients' time per day.
func LoadFacts(ctx context.Context, st *store.Store) (sla.Facts, error) {
	return LoadFactsOf(ctx, st, nil, time.Time{})
}

// LoadFactsOf is LoadFacts for a scope (nil: the whole store) as of now:
// the facts of its clients, tasks and threads, its budget clients' time,
// and, for the contact clocks of its clients, a summary of their messages
// (sla.Facts.Contacts). The facts give the scope's clocks (store.Scope
// Covers) exactly; clocks of what it does not cover may come out of them
// too, from partial facts, and are not the evaluation's.
func LoadFactsOf(ctx context.Context, st *store.Store, sc *store.Scope, now time.Time) (sla.Facts, error) {
	var f sla.Facts
	var err error
	if f.Messages, err = messagesOf(ctx, st, sc); err != nil {
		return f, err
	}
	if f.Tasks, err = tasksOf(ctx, st, sc); err != nil {
		return f, err
	}
	budget := []string(nil)
	if sc != nil {
		budget = sc.BudgetClients()
	}
	if sc == nil || len(budget) > 0 {
		if f.TimeEntries, err = timeEntriesOf(ctx, st, budget); err != nil {
			return f, err
		}
	}
	if sc != nil {
		if f.Contacts, err = contactsOf(ctx, st, sc.ContactClients(), now); err != nil {
			return f, err
		}
	}
	// The agency's human messages on a task's conversation are its
	// contacts with the client about it (reminders while it waits).
	byKey := make(map[string]int, len(f.Tasks))
	for i := range f.Tasks {
		byKey["task:"+f.Tasks[i].Key] = i
	}
	for _, m := range f.Messages { // sorted by time
		if i, ok := byKey[m.Conversation]; ok && m.Side == sla.SideAgency && !m.Automated {
			f.Tasks[i].Contacts = append(f.Tasks[i].Contacts, m.SentAt)
		}
	}
	return f, nil
}

// quoteStart matches the line where a reply's quoted history begins: a
// quoted line, an attribution ("On Mon, ... wrote:", "… писал(а):"), or
// an Outlook separator.
var quoteStart = regexp.MustCompile(`(?im)^(>|.*\b(wrote|написал|писал|пишет)\b.*:\s*$|-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение)|_{5,})`)

// Asks says whether a message, in its own words (what precedes its quoted
// history), asks something: it holds a question mark. A heuristic, but one
// that works in every language the agencies write in, and the cost of a
// miss is a reminder not owed rather than a false alarm.
func Asks(body string) bool {
	if loc := quoteStart.FindStringIndex(body); loc != nil {
		body = body[:loc[0]]
	}
	return strings.ContainsAny(body, "?？")
}

// rawTask is the part of a stored task's neutral record that has no column
// of its own.
type rawTask struct {
	Checklists []struct {
		Name string `json:"name"`
	} `json:"checklists"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Tasks loads the live tasks of clients as task-policy facts: normalized
// status and its history, description length, checklist names, assignees,
// due date and the time logged on each.
//
// Sources do not always say when a task reached its current status: an
// archived card carries no move to "archived", and a board export holds
// only its newest actions. When the current status differs from where the
// recorded moves leave the task, a move to the current status is added at
// the task's last activity (the source's updated time), or at its last
// recorded move when the source gives none, so that a card archived while
// in progress stops its clocks instead of breaching forever.
func Tasks(ctx context.Context, st *store.Store) ([]sla.Task, error) { return tasksOf(ctx, st, nil) }

func tasksOf(ctx context.Context, st *store.Store, sc *store.Scope) ([]sla.Task, error) {
	rows, err := st.FactTasks(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("loading tasks: %w", err)
	}
	moves, err := st.FactMoves(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("loading status changes: %w", err)
	}
	changes, err := st.FactChanges(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("loading field changes: %w", err)
	}
	starts, err := st.HistoryStarts(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading history spans: %w", err)
	}
	out := make([]sla.Task, 0, len(rows))
	updated := make([]time.Time, 0, len(rows)) // the source's last activity, per task
	index := make(map[[2]string]int, len(rows))
	for _, r := range rows {
		t := sla.Task{
			Key:            r.SourceID + "/" + r.ExternalID,
			ClientID:       r.ClientID,
			Subject:        sla.Subject{Kind: "task", Source: r.SourceID, ExternalID: r.ExternalID, Title: r.Title, URL: r.URL},
			Status:         r.Status,
			CreatedAt:      r.CreatedAt.UTC(),
			DescriptionLen: utf8.RuneCountInString(r.Description),
			DueDone:        r.DueDone,
			LoggedSeconds:  r.Logged,
		}
		if r.DueAt != nil {
			d := r.DueAt.UTC()
			t.DueAt = &d
		}
		// Anyone the task is assigned to counts, mapped or not: what the
		// hygiene policy asks is that someone holds it, and the field
		// changes that say who held it when name the source's people.
		var assignees []string
		if err := json.Unmarshal([]byte(r.AssigneeRefs), &assignees); err != nil {
			return nil, fmt.Errorf("task %s: assignees: %w", t.Key, err)
		}
		t.Assignees = len(assignees)
		if h, ok := starts[store.Key{Source: r.SourceID, ID: r.ContainerID}]; ok {
			t.History = sla.History{Known: true, From: h.From.UTC(), Fields: h.Fields}
		}
		var raw rawTask
		if err := json.Unmarshal([]byte(r.Raw), &raw); err != nil {
			return nil, fmt.Errorf("task %s: stored record: %w", t.Key, err)
		}
		for _, c := range raw.Checklists {
			t.Checklists = append(t.Checklists, c.Name)
		}
		t.UpdatedAt = raw.UpdatedAt.UTC()
		index[[2]string{r.SourceID, r.ExternalID}] = len(out)
		out = append(out, t)
		updated = append(updated, raw.UpdatedAt.UTC())
	}
	for _, c := range changes {
		i, ok := index[[2]string{c.SourceID, c.TaskID}]
		if !ok {
			continue
		}
		out[i].Changes = append(out[i].Changes, sla.FieldChange{At: c.At.UTC(), Field: c.Field, Old: c.Old, New: c.New})
	}
	for _, m := range moves {
		i, ok := index[[2]string{m.SourceID, m.TaskID}]
		if !ok {
			continue // a move of a deleted task, or of one without a client
		}
		out[i].Moves = append(out[i].Moves, sla.Move{At: m.At.UTC(), From: m.From, To: m.To})
	}
	for i := range out {
		// A card's archiving is a recorded change of its closed flag:
		// its time, where the history has it, is when the card reached
		// "archived", better than its last activity.
		at := updated[i]
		if out[i].Status == sla.StatusArchived {
			for _, c := range out[i].Changes {
				if c.Field == sla.FieldClosed && c.New == "true" {
					at = c.At
				}
			}
		}
		alignCurrent(&out[i], at)
	}
	return out, nil
}

// alignCurrent adds a move to t's current status when its recorded moves
// leave it elsewhere (see Tasks).
func alignCurrent(t *sla.Task, updated time.Time) {
	if len(t.Moves) == 0 || t.Status == "" {
		return
	}
	last := ""
	lastAt := t.Moves[len(t.Moves)-1].At
	for _, m := range t.Moves {
		if m.To != "" {
			last = m.To
		}
	}
	if last == t.Status {
		return
	}
	at := lastAt
	if updated.After(at) {
		at = updated
	}
	// (A closed flag's change just after the last move is at or after it;
	// one before it belongs to an earlier archiving, and the last move
	// stands.)
	t.Moves = append(t.Moves, sla.Move{At: at, From: last, To: t.Status})
}

// TimeEntries loads the clients' live time, summed per client, day and
// billability: the hour budget reads nothing finer.
func TimeEntries(ctx context.Context, st *store.Store) ([]sla.TimeEntry, error) {
	return timeEntriesOf(ctx, st, nil)
}

func timeEntriesOf(ctx context.Context, st *store.Store, clients []string) ([]sla.TimeEntry, error) {
	rows, err := st.FactTimeByDay(ctx, clients)
	if err != nil {
		return nil, fmt.Errorf("loading time entries: %w", err)
	}
	out := make([]sla.TimeEntry, len(rows))
	for i, r := range rows {
		out[i] = sla.TimeEntry{ClientID: r.ClientID, Date: r.Date, Seconds: r.Seconds, Billable: r.Billable}
	}
	return out, nil
}

// contactsOf summarizes the clients' messages up to now as the contact
// policy reads them: per client its first message, and the agency's last
// human one (sla.ContactClocks keeps nothing else). Never nil.
func contactsOf(ctx context.Context, st *store.Store, clients []string, now time.Time) ([]sla.Message, error) {
	out := []sla.Message{}
	if len(clients) == 0 {
		return out, nil
	}
	rows, err := st.FactContacts(ctx, clients, now)
	if err != nil {
		return nil, fmt.Errorf("loading the clients' last contacts: %w", err)
	}
	for _, r := range rows {
		out = append(out, sla.Message{ClientID: r.ClientID, SentAt: r.First.UTC()})
		if r.LastAgency != nil {
			out = append(out, sla.Message{ClientID: r.ClientID, Side: sla.SideAgency, SentAt: r.LastAgency.UTC()})
		}
	}
	return out, nil
}
