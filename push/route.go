package push

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
)

// Calendars gives the calendar a client's clocks count in (the agency's
// for "" and for clients without one); evaluate.Rules is one.
type Calendars interface {
	Calendar(clientID string) *sla.Calendar
}

// entering reports whether a clock entering state is news.
func entering(state string) bool { return state == sla.AtRisk || state == sla.Breached }

// router turns a queued transition into delivery rows.
type router struct {
	cfg     *mapping.Config
	cals    Calendars
	kinds   map[string]string // source id -> kind
	people  map[string]mapping.Person
	clients map[string]mapping.Client
}

func newRouter(cfg *mapping.Config, cals Calendars) *router {
	r := &router{cfg: cfg, cals: cals, kinds: map[string]string{}, people: map[string]mapping.Person{}, clients: map[string]mapping.Client{}}
	for _, s := range cfg.Sources {
		r.kinds[s.ID] = s.Kind
	}
	for _, p := range cfg.People {
		r.people[p.ID] = p
	}
	for _, c := range cfg.Clients {
		r.clients[c.ID] = c
	}
	return r
}

func (r *router) calendar(clientID string) *sla.Calendar {
	if r.cals == nil {
		return nil
	}
	return r.cals.Calendar(clientID)
}

// decodeNotice reads a route row's payload.
func decodeNotice(row store.OutboxRow) (evaluate.Notice, error) {
	var n evaluate.Notice
	if err := json.Unmarshal([]byte(row.Payload), &n); err != nil {
		return n, fmt.Errorf("outbox row %d (%s): payload: %w", row.ID, row.IdempotencyKey, err)
	}
	if n.ClockID == "" || n.To == "" {
		return n, fmt.Errorf("outbox row %d (%s): payload names no clock or state", row.ID, row.IdempotencyKey)
	}
	return n, nil
}

// item is the notice as people read it.
func (r *router) item(n evaluate.Notice, task *store.OutboxTask) sinks.Item {
	var detail struct{ Title, URL string }
	_ = json.Unmarshal([]byte(n.Detail), &detail) // an unreadable detail leaves the title empty
	it := sinks.Item{ClockID: n.ClockID, Policy: n.Policy, From: n.From, To: n.To, Client: n.Client,
		ClientName: r.clients[n.Client].Name, StartedAt: n.StartedAt, DueAt: n.DueAt, BreachedAt: n.BreachedAt,
		BusinessSeconds: n.BusinessSeconds,
		Subject:         sinks.Subject{Kind: n.SubjectKind, Source: n.SubjectSource, ExternalID: n.SubjectID, Title: detail.Title, URL: detail.URL}}
	if it.ClientName == "" {
		it.ClientName = n.Client
	}
	if task != nil && it.Subject.URL == "" {
		it.Subject.URL = task.URL
	}
	if cal := r.calendar(n.Client); cal != nil {
		it.Zone = cal.Location().String()
	}
	return it
}

// stateMatches says whether a rule matches a transition into state
// through a sink of kind: its states (at risk and breached by default),
// and for a sink that hears a clock leave them (trello's labels), the
// clock leaving them too.
func stateMatches(rule mapping.RouteRule, kind sinks.Kind, state string) bool {
	states := rule.States
	if len(states) == 0 {
		states = mapping.DefaultRouteStates
	}
	if slices.Contains(states, state) {
		return true
	}
	return kind.HearsLeaving && !entering(state) && (slices.Contains(states, sla.AtRisk) || slices.Contains(states, sla.Breached))
}

// handle picks a person's handle in a tool: the first that is not a
// Trello member id (24 hex digits), which mentions cannot use.
var memberID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func handle(values []string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" && !memberID.MatchString(v) {
			return strings.ToLower(strings.TrimPrefix(v, "@"))
		}
	}
	return ""
}

func (r *router) person(id string) (sinks.Person, bool) {
	p, ok := r.people[id]
	if !ok {
		return sinks.Person{}, false
	}
	out := sinks.Person{ID: p.ID, Name: p.Name, Side: p.Side, Trello: handle(p.Trello)}
	if len(p.Emails) > 0 {
		out.Email = strings.TrimSpace(p.Emails[0])
	}
	if len(p.GitHub) > 0 {
		out.GitHub = strings.TrimPrefix(strings.TrimSpace(p.GitHub[0]), "@")
	}
	return out, true
}

// recipients resolves a rule's to: for a client and task.
func (r *router) recipients(to []string, c mapping.Client, task *store.OutboxTask) []sinks.Person {
	var ids []string
	for _, t := range to {
		switch t {
		case mapping.ToAssignee:
			var assignees []string
			if task != nil {
				_ = json.Unmarshal([]byte(task.AssigneeIDs), &assignees) // a bad list is no assignee
			}
			if len(assignees) == 0 && c.Lead != "" {
				assignees = []string{c.Lead}
			}
			ids = append(ids, assignees...)
		case mapping.ToPM:
			ids = append(ids, c.PM)
		case mapping.ToLead:
			ids = append(ids, c.Lead)
		case mapping.ToContacts:
			ids = append(ids, c.Contacts...)
		default:
			ids = append(ids, t)
		}
	}
	var out []sinks.Person
	for _, id := range ids {
		if id == "" || slices.ContainsFunc(out, func(p sinks.Person) bool { return p.ID == id }) {
			continue
		}
		if p, ok := r.person(id); ok {
			out = append(out, p)
		}
	}
	return out
}

// route turns a queued transition into deliveries; when it makes none, the
// reason says why.
func (r *router) route(row store.OutboxRow, n evaluate.Notice, clock *store.ClockState, task *store.OutboxTask, now time.Time) ([]store.OutboxRow, string) {
	switch {
	case clock != nil && clock.Waived:
		return nil, "the clock is waived"
	case clock != nil && clock.State != n.To:
		return nil, "superseded: the clock is now " + clock.State
	}
	routing := r.cfg.Routing
	client := r.clients[n.Client]
	it := r.item(n, task)
	cal := r.calendar(n.Client)
	type variant struct {
		row    store.OutboxRow
		target sinks.Target
	}
	var order []string
	variants := map[string]*variant{}
	var why []string
	for _, rule := range routing.RulesFor(n.Client) {
		spec, ok := routing.Sinks[rule.Sink]
		kind, known := sinks.Lookup(spec.Kind)
		if !ok || !known || (len(rule.Policies) > 0 && !slices.Contains(rule.Policies, n.Policy)) || !stateMatches(rule, kind, n.To) {
			continue
		}
		t := sinks.Target{ClientFacing: rule.ClientFacing(r.cfg.People)}
		if t.ClientFacing && !entering(n.To) {
			continue // a reminder to the client is news or nothing
		}
		t.People = r.recipients(rule.To, client, task)
		if kind.Bind != nil {
			b := sinks.Binding{SubjectKind: n.SubjectKind, SourceKind: r.kinds[n.SubjectSource], SubjectID: n.SubjectID}
			if task != nil {
				b.Container = task.ContainerName
			}
			if skip := kind.Bind(b, &t); skip != "" {
				why = append(why, rule.Sink+": "+skip)
				continue
			}
		}
		// A reminder to the client and a comment on the client's card,
		// task or issue are read by the client; the rest by the agency.
		t.Language = r.cfg.Agency.Language
		if t.ClientFacing || t.OnClientsTask() {
			t.Language = r.cfg.LanguageOf(&client)
		}
		key := row.IdempotencyKey + ":" + rule.Sink
		if t.ClientFacing {
			key += ".client"
		}
		due := now
		if rule.After != "" {
			d, err := mapping.ParseBusinessDuration(rule.After)
			if err == nil && cal != nil {
				base := now
				if n.To == sla.Breached && n.BreachedAt != nil {
					base = *n.BreachedAt
				}
				if at := d.After(cal, base); at.After(due) {
					due = at
				}
			}
			key += ".after" + strings.ReplaceAll(rule.After, " ", "")
		}
		if len(rule.Digest) > 0 {
			key += ".digest"
			t.Digest = rule.Digest
		}
		if v, ok := variants[key]; ok {
			for _, p := range t.People {
				if !slices.ContainsFunc(v.target.People, func(q sinks.Person) bool { return q.ID == p.ID }) {
					v.target.People = append(v.target.People, p)
				}
			}
			continue
		}
		if t.ClientFacing && cal != nil && !cal.IsBusiness(due) {
			due = cal.NextBusiness(due)
		}
		d := store.OutboxRow{IdempotencyKey: key, Kind: sinks.KindNotice, Sink: rule.Sink, ClientID: n.Client, ClockID: n.ClockID,
			Status: store.OutboxPending, CreatedAt: now}
		if len(rule.Digest) > 0 {
			d.Status = store.OutboxHeld
		}
		if due.After(now) {
			d.NextAttemptAt, t.Due = &due, &due
		}
		variants[key] = &variant{row: d, target: t}
		order = append(order, key)
	}
	msg := sinks.Message{Kind: sinks.KindNotice, Agency: r.cfg.Agency.Name, Items: []sinks.Item{it}}
	payload, _ := json.Marshal(msg) // plain values: cannot fail
	var out []store.OutboxRow
	for _, k := range order {
		v := variants[k]
		target, _ := json.Marshal(v.target)
		v.row.Target, v.row.Payload = string(target), string(payload)
		out = append(out, v.row)
	}
	if len(out) == 0 {
		if len(why) > 0 {
			return nil, strings.Join(why, "; ")
		}
		return nil, "no rule matches"
	}
	return out, ""
}
