package mapping

import (
	"fmt"
	"github.com/karkas/karkas/sla"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The routing block says who hears of an SLA transition and through what:
// named sinks (a Trello card, mail, a GitHub issue, a chat webhook, a
// folder) and rules matching a transition's policy and new state to a sink
// and the people it addresses. The push package works the outbox by it.

// SinkKind is what the config's checks know of a kind of sink. The kinds
// are declared once, in push/sinks's registry (sinks.Kinds), and handed to
// the loader (LoadOptions.Sinks): this package names no sink kind, so the
// kind list, the options' decoding, the rules' checks and the JSON Schema
// all follow the registry.
type SinkKind struct {
	// Name is the kind: routing.sinks[].kind.
	Name string
	// Doc says what a delivery through it does, for the schema and errors.
	Doc string
	// Options returns a fresh pointer to its options struct, holding the
	// defaults.
	Options func() any
	// Digests: a rule may hold its notices for a digest (a sink writing on
	// each task sends each notice on its own).
	Digests bool
	// ClientReminders: a client's people may be reminded through it.
	ClientReminders bool
	// Addressed: it writes to the people a rule names, so a rule must name
	// some, and deliveries to different people are not folded together.
	Addressed bool
	// Reports: scheduled reports may go through it.
	Reports bool
}

// article puts "a" or "an" before a kind's name.
func article(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// kindList names the kinds that pass a test, for error messages:
// "email, trello or planfix".
func kindList(kinds []SinkKind, ok func(SinkKind) bool) string {
	var names []string
	for _, k := range kinds {
		if ok(k) {
			names = append(names, k.Name)
		}
	}
	switch len(names) {
	case 0:
		return "no"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Who a rule addresses, beside person ids.
const (
	ToAssignee = "assignee" // the task's assignees; the client's lead when it has none
	ToPM       = "pm"       // the client's PM
	ToLead     = "lead"     // the client's lead
	ToContacts = "contacts" // the client's contacts (client side: reminders only)
)

// Policies names the SLA policies a rule can match: the sla package's.
var Policies = sla.PolicyNames()

// RouteStates are the clock states a transition can enter that a rule can
// match: entering at_risk or breached is news; met, resolved, running and
// paused are a clock leaving them (a label to take off).
var RouteStates = []string{"at_risk", "breached", "met", "resolved", "running", "paused"}

// DefaultRouteStates are the states a rule without states: matches.
var DefaultRouteStates = []string{"at_risk", "breached"}

// Routing is the routing block of the config.
type Routing struct {
	Sinks    map[string]SinkSpec      `yaml:"sinks" doc:"where notices go, by name (lowercase letters, digits, - and _; at most 32): a kind and its options"`
	Defaults []RouteRule              `yaml:"defaults" doc:"rules every client follows; every matching rule sends"`
	Clients  map[string]ClientRouting `yaml:"clients" doc:"rules of one client, by client id, added to the defaults (or replacing them)"`
	Reports  []ReportSchedule         `yaml:"reports" doc:"reports delivered on a schedule: the previous month's hours report on the first business day of the month in the client's zone"`
}

// SinkSpec is one named sink.
type SinkSpec struct {
	Kind    string    `yaml:"kind" required:"true" doc:"the kind of sink (the schema lists them)"`
	Rate    *RateCap  `yaml:"rate" doc:"at most max deliveries per period through this sink; a larger backlog goes out as one summary (trello: labels only, no comments)"`
	Options yaml.Node `yaml:"options" doc:"the sink's own options (karkas docs: Routing)"`
}

// RateCap bounds the deliveries of a sink per period.
type RateCap struct {
	Max int           `yaml:"max" required:"true" doc:"deliveries per period"`
	Per time.Duration `yaml:"per" required:"true" doc:"the period, from 1m to 24h, e.g. 1h"`
}

// ClientRouting is a client's own rules.
type ClientRouting struct {
	Rules           []RouteRule `yaml:"rules" doc:"rules for this client"`
	ReplaceDefaults bool        `yaml:"replace_defaults" doc:"follow only these rules, not the defaults"`
}

// RouteRule sends the transitions it matches to a sink.
type RouteRule struct {
	Policies []string `yaml:"policies" doc:"policies matched (all when empty), by name as sla.Policies gives them"`
	States   []string `yaml:"states" doc:"states entered that match (default at_risk and breached): at_risk, breached, met, resolved, running, paused; a trello sink that labels a card also takes the label off when the clock leaves the state"`
	Sink     string   `yaml:"sink" required:"true" doc:"name of a sink under routing.sinks"`
	To       []string `yaml:"to" doc:"who is told: assignee (the lead when the task has none), pm, lead, contacts (the client's; reminders only) or person ids"`
	After    string   `yaml:"after" doc:"business time after the transition (client's calendar) before sending, and only if the clock is still in that state: escalation, e.g. 1d"`
	Digest   []string `yaml:"digest" doc:"times of day (HH:MM, the agency calendar's zone and working days) when the notices this rule matched go out together as one digest"`
}

// ClientFacing reports whether the rule addresses client-side people,
// given the config's people.
func (r RouteRule) ClientFacing(people []Person) bool {
	for _, to := range r.To {
		if to == ToContacts {
			return true
		}
		for _, p := range people {
			if p.ID == to && p.Side == SideClient {
				return true
			}
		}
	}
	return false
}

// RulesFor returns the rules a client follows: its own, then the defaults
// unless its own replace them.
func (r *Routing) RulesFor(clientID string) []RouteRule {
	if r == nil {
		return nil
	}
	c, ok := r.Clients[clientID]
	if !ok {
		return r.Defaults
	}
	if c.ReplaceDefaults {
		return c.Rules
	}
	return append(slices.Clone(c.Rules), r.Defaults...)
}

// ParseClock reads "09:00" as minutes since midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day like 09:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

var sinkName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

var roles = []string{ToAssignee, ToPM, ToLead, ToContacts}

// sinkKind is the registered kind of a sink; false when the loader was
// given no kinds or the kind is unknown (an error reported once, at the
// sink).
func (v *validator) sinkKind(name string) (SinkKind, bool) {
	for _, k := range v.sinks {
		if k.Name == name {
			return k, true
		}
	}
	return SinkKind{}, false
}

// routing checks the routing block against the rest of the config.
func (v *validator) routing() {
	r := v.cfg.Routing
	if r == nil {
		return
	}
	for name, s := range r.Sinks {
		path := fmt.Sprintf("routing.sinks[%q]", name)
		if !sinkName.MatchString(name) {
			v.errorf(path, "%q: sink names use lowercase letters, digits, '-' and '_', at most 32", name)
		}
		if _, ok := v.sinkKind(s.Kind); !ok && v.sinks != nil && s.Kind != "" {
			var names []string
			for _, k := range v.sinks {
				names = append(names, k.Name)
			}
			v.errorf(path+".kind", "%q is not one of: %s", s.Kind, strings.Join(names, ", "))
		}
		if c := s.Rate; c != nil {
			if c.Max < 1 {
				v.errorf(path+".rate.max", "must be at least 1")
			}
			if c.Per < time.Minute || c.Per > 24*time.Hour {
				v.errorf(path+".rate.per", "must be from 1m to 24h, got %s", c.Per)
			}
		}
	}
	for i, rs := range r.Reports {
		v.reportSchedule(fmt.Sprintf("routing.reports[%d]", i), rs)
	}
	for i, rule := range r.Defaults {
		v.routeRule(fmt.Sprintf("routing.defaults[%d]", i), rule, "")
	}
	clients := map[string]bool{}
	for _, c := range v.cfg.Clients {
		clients[c.ID] = true
	}
	for id, cr := range r.Clients {
		path := fmt.Sprintf("routing.clients[%q]", id)
		if !clients[id] {
			v.errorf(path, "no client %q", id)
			continue
		}
		for i, rule := range cr.Rules {
			v.routeRule(fmt.Sprintf("%s.rules[%d]", path, i), rule, id)
		}
	}
}

// routeRule checks one rule; clientID is "" for a default rule.
func (v *validator) routeRule(path string, rule RouteRule, clientID string) {
	r := v.cfg.Routing
	spec, found := r.Sinks[rule.Sink]
	if rule.Sink != "" && !found {
		v.errorf(path+".sink", "no sink %q under routing.sinks (known: %s)", rule.Sink, keys(r.Sinks))
	}
	// ok: the sink's kind is known, and its capabilities checked.
	kind, ok := v.sinkKind(spec.Kind)
	for j, p := range rule.Policies {
		if !slices.Contains(Policies, p) {
			v.errorf(fmt.Sprintf("%s.policies[%d]", path, j), "%q is not one of: %s", p, strings.Join(Policies, ", "))
		}
	}
	for j, s := range rule.States {
		if !slices.Contains(RouteStates, s) {
			v.errorf(fmt.Sprintf("%s.states[%d]", path, j), "%q is not one of: %s", s, strings.Join(RouteStates, ", "))
		}
	}
	people := map[string]Person{}
	for _, p := range v.cfg.People {
		people[p.ID] = p
	}
	client, agency := false, false
	for j, to := range rule.To {
		tp := fmt.Sprintf("%s.to[%d]", path, j)
		if slices.Contains(roles, to) {
			if to == ToContacts {
				client = true
			} else {
				agency = true
			}
			continue
		}
		p, ok := people[to]
		switch {
		case !ok:
			v.errorf(tp, "%q is neither a role (%s) nor a person id", to, strings.Join(roles, ", "))
		case p.Side == SideClient && clientID == "":
			v.errorf(tp, "%q is a client's person: name them in routing.clients[%q], not in defaults", to, p.Client)
		case p.Side == SideClient && p.Client != clientID:
			v.errorf(tp, "%q belongs to client %q", to, p.Client)
		case p.Side == SideClient:
			client = true
		default:
			agency = true
		}
	}
	if client && agency {
		v.errorf(path+".to", "a rule writes either to the client or to the agency, not both: split it in two")
	}
	if client {
		if len(rule.Policies) == 0 || slices.ContainsFunc(rule.Policies, func(p string) bool { return p != "waiting_client" }) {
			v.errorf(path+".policies", "client-side people get reminders only: set policies: [waiting_client]")
		}
		if ok && !kind.ClientReminders {
			v.errorf(path+".sink", "client-side people are reminded through %s sinks, not through a %s sink",
				kindList(v.sinks, func(k SinkKind) bool { return k.ClientReminders }), kind.Name)
		}
		if len(rule.Digest) > 0 {
			v.errorf(path+".digest", "digests are internal: a client gets each reminder on its own")
		}
	}
	if ok && kind.Addressed && len(rule.To) == 0 {
		v.errorf(path, "a rule through %s sink names who gets it (to: pm, lead, assignee, contacts or person ids)", article(kind.Name))
	}
	if ok && !kind.Digests && len(rule.Digest) > 0 {
		v.errorf(path+".digest", "a %s sink sends each notice on its own; digests are for %s sinks", kind.Name,
			kindList(v.sinks, func(k SinkKind) bool { return k.Digests }))
	}
	if rule.After != "" {
		if _, err := ParseBusinessDuration(rule.After); err != nil {
			v.errorf(path+".after", "%v", err)
		}
	}
	for j, at := range rule.Digest {
		if _, err := ParseClock(at); err != nil {
			v.errorf(fmt.Sprintf("%s.digest[%d]", path, j), "%v", err)
		}
	}
}
