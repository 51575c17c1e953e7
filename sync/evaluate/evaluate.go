// Package evaluate runs the SLA engine over the store: it builds each
// client's calendar and policies from the config, loads the normalized facts
// the pure sla package needs, and evaluates them as of an instant.
//
// It wires mapping, store and sla; nothing below it imports it.
package evaluate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// Rules are the config's calendars and policies, resolved per client.
type Rules struct {
	calendars map[string]*sla.Calendar // by calendar name
	agencyCal string
	clients   map[string]mapping.Client
	sets      map[string]mapping.PolicySet
}

// NewRules builds every calendar of the config. The config must have been
// validated; a calendar that still cannot be built is an error.
func NewRules(cfg *mapping.Config) (*Rules, error) {
	r := &Rules{calendars: map[string]*sla.Calendar{}, agencyCal: cfg.Agency.Calendar,
		clients: map[string]mapping.Client{}, sets: cfg.PolicySets}
	for name, c := range cfg.Calendars {
		spec, err := CalendarSpec(name, c)
		if err != nil {
			return nil, err
		}
		cal, err := sla.NewCalendar(spec)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
		r.calendars[name] = cal
	}
	for _, c := range cfg.Clients {
		r.clients[c.ID] = c
	}
	return r, nil
}

// CalendarSpec turns a config calendar into the sla package's spec.
func CalendarSpec(name string, c mapping.Calendar) (sla.CalendarSpec, error) {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return sla.CalendarSpec{}, fmt.Errorf("calendar %s: %w", name, err)
	}
	spec := sla.CalendarSpec{Name: name, Location: loc, Country: c.Country, Holidays: c.Holidays, WorkingDays: c.WorkingDays}
	for days, intervals := range c.Hours {
		idx, err := mapping.ParseDays(days)
		if err != nil {
			return spec, fmt.Errorf("calendar %s: %w", name, err)
		}
		var ivs []sla.Interval
		for _, iv := range intervals {
			from, to, err := mapping.ParseInterval(iv)
			if err != nil {
				return spec, fmt.Errorf("calendar %s: %w", name, err)
			}
			ivs = append(ivs, sla.Interval{From: from, To: to})
		}
		for _, d := range idx {
			spec.Week[d] = ivs
		}
	}
	return spec, nil
}

// Calendar is the calendar a client's clocks count in: the client's own,
// else the agency's.
func (r *Rules) Calendar(clientID string) *sla.Calendar {
	if c, ok := r.clients[clientID]; ok && c.Calendar != "" {
		return r.calendars[c.Calendar]
	}
	return r.calendars[r.agencyCal]
}

func (r *Rules) set(clientID string) (mapping.PolicySet, bool) {
	c, ok := r.clients[clientID]
	if !ok || c.PolicySet == "" {
		return mapping.PolicySet{}, false
	}
	ps, ok := r.sets[c.PolicySet]
	return ps, ok
}

// Policies are the promises of a client's policy set, completed by the
// client's own terms (its budget), nil when it has none.
func (r *Rules) Policies(clientID string) *sla.PolicySet {
	ps, ok := r.set(clientID)
	if !ok {
		return nil
	}
	return ps.For(sla.Terms{Budget: r.clients[clientID].Budget.Rule()})
}

// Messages loads the live messages of clients as response-policy facts.
// A message linked to a task joins the task's conversation, so a reply by
// email and a reply on the card stop the same clock. Bodies are read only
// for agency messages on threads of no task, to set Asks: a task waits on
// the client by its status, not by what was asked.
func Messages(ctx context.Context, st *store.Store) ([]sla.Message, error) {
	return messagesOf(ctx, st, nil)
}

func messagesOf(ctx context.Context, st *store.Store, sc *store.Scope) ([]sla.Message, error) {
	rows, err := st.FactMessages(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("loading messages: %w", err)
	}
	out := make([]sla.Message, 0, len(rows))
	subjects := map[string]string{} // thread -> first subject
	for _, r := range rows {
		m := sla.Message{Key: r.SourceID + "/" + r.ExternalID, ClientID: r.ClientID, Side: r.Side,
			Automated: r.Automated, SentAt: r.SentAt.UTC(), Asks: Asks(r.Body)}
		if r.TaskID != "" && r.TaskTitle != nil {
			m.Conversation = "task:" + r.TaskSourceID + "/" + r.TaskID
			m.Subject = sla.Subject{Kind: "task", Source: r.TaskSourceID, ExternalID: r.TaskID, Title: *r.TaskTitle}
			if r.TaskURL != nil {
				m.Subject.URL = *r.TaskURL
			}
		} else {
			m.Conversation = "thread:" + r.SourceID + "/" + r.ThreadKey
			if _, ok := subjects[m.Conversation]; !ok {
				subjects[m.Conversation] = r.Subject
			}
			m.Subject = sla.Subject{Kind: "thread", Source: r.SourceID, ExternalID: r.ThreadKey, Title: subjects[m.Conversation]}
		}
		out = append(out, m)
	}
	return out, nil
}

// Evaluate runs every policy over facts as of now (see sla.Evaluate) and
// names client-level clocks (contact, budget) by the client's name.
func Evaluate(facts sla.Facts, rules *Rules, now time.Time) []sla.Clock {
	clocks := sla.Evaluate(facts, rules, now)
	for i := range clocks {
		s := &clocks[i].Subject
		if s.Kind != "client" {
			continue
		}
		if c, ok := rules.clients[s.ExternalID]; ok && c.Name != "" {
			s.Title = c.Name
		}
	}
	return clocks
}

// Result is what an evaluation found and stored.
type Result struct {
	Clocks  []sla.Clock
	Changes store.ClockChanges
}

// Run evaluates every policy over the store as of now and stores the
// clocks, their transitions and the notifications they cause, in one
// transaction. Running it twice at the same instant writes nothing.
func Run(ctx context.Context, st *store.Store, rules *Rules, now time.Time) (Result, error) {
	return RunScope(ctx, st, rules, now, nil)
}

// RunScope is Run for a scope (nil: the whole store): only its facts are
// read, only the clocks it covers produced, compared and stored. Each of
// those depends on facts the scope reads whole, so the clocks it stores
// are the ones Run would; what it cannot see is a subject whose facts
// changed and that it was not given.
func RunScope(ctx context.Context, st *store.Store, rules *Rules, now time.Time, sc *store.Scope) (Result, error) {
	if sc.Empty() {
		return Result{}, nil
	}
	facts, err := LoadFactsOf(ctx, st, sc, now)
	if err != nil {
		return Result{}, err
	}
	clocks := Evaluate(facts, rules, now)
	if sc != nil {
		// Partial facts give clocks of what the scope does not cover (a
		// task's conversation met through one of its thread's
		// messages): those are not this evaluation's.
		clocks = slices.DeleteFunc(clocks, func(c sla.Clock) bool {
			return !sc.Covers(c.Policy, c.ClientID, c.Subject.Kind, c.Subject.Source, c.Subject.ExternalID)
		})
	}
	rows := make([]store.ClockRow, 0, len(clocks))
	for _, c := range clocks {
		rows = append(rows, clockRow(c))
	}
	ch, err := st.SaveEvaluationOf(ctx, sc, rows, notification, sla.WholeHistory)
	if err != nil {
		return Result{}, fmt.Errorf("storing clocks: %w", err)
	}
	return Result{Clocks: clocks, Changes: ch}, nil
}

// Notice is the outbox payload of a clock transition: everything a sink
// needs to tell people, without reading the store again.
type Notice struct {
	ClockID         string     `json:"clock_id"`
	Policy          string     `json:"policy"`
	Client          string     `json:"client"`
	From            string     `json:"from"`
	To              string     `json:"to"`
	SubjectKind     string     `json:"subject_kind"`
	SubjectSource   string     `json:"subject_source"`
	SubjectID       string     `json:"subject_external_id"`
	Detail          string     `json:"detail"`
	StartedAt       time.Time  `json:"started_at"`
	DueAt           *time.Time `json:"due_at,omitempty"`
	BreachedAt      *time.Time `json:"breached_at,omitempty"`
	BusinessSeconds int64      `json:"business_seconds_elapsed"`
}

// notification decides which transitions reach people: entering at_risk or
// breached, and leaving them (a label to remove, a thread to close). A
// clock first seen already over (met, resolved) tells nobody: it is
// history, not news.
func notification(old *store.ClockRow, c store.ClockRow) *store.Notification {
	loud := func(s string) bool { return s == sla.AtRisk || s == sla.Breached }
	from := ""
	if old != nil {
		from = old.State
	}
	if !loud(c.State) && !loud(from) {
		return nil
	}
	return &store.Notification{Kind: "sla_transition", Sink: "route", Payload: Notice{
		ClockID: c.ID, Policy: c.Policy, Client: c.ClientID, From: from, To: c.State,
		SubjectKind: c.SubjectKind, SubjectSource: c.SubjectSourceID, SubjectID: c.SubjectExternalID, Detail: c.Detail,
		StartedAt: c.StartedAt, DueAt: c.DueAt, BreachedAt: c.BreachedAt, BusinessSeconds: c.BusinessSeconds}}
}

// Calendars builds the config's business calendars by name.
func Calendars(cfg *mapping.Config) (map[string]*sla.Calendar, error) {
	out := map[string]*sla.Calendar{}
	for name, c := range cfg.Calendars {
		spec, err := CalendarSpec(name, c)
		if err != nil {
			return nil, err
		}
		cal, err := sla.NewCalendar(spec)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
		out[name] = cal
	}
	return out, nil
}
