package sinks

import (
	"fmt"
	"slices"
	"sync"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
)

// Kind is a kind of sink, declared once in its own file and listed in
// Kinds: the config's view of it (name, doc, options, what rules may ask
// of it), how it is built, and how the router places a notice or a
// report through it. Routing, the config's checks, the JSON Schema and
// `karkas deliveries` derive from these declarations; nothing else names a
// sink kind.
type Kind struct {
	mapping.SinkKind
	// Open builds a sink from its decoded options (what Options returned).
	Open func(options any, env connectors.Env) (Sink, error)
	// Bind places a notice: it sets in t where the delivery goes (a card,
	// a task, an issue), t.People already resolved, or says why this
	// sink has nothing to do with it ("not a Trello card"). Nil: every
	// notice goes through as addressed.
	Bind func(b Binding, t *Target) (skip string)
	// BindReport places a scheduled report: where it goes on the client's
	// side (a board's card, a cabinet link). Nil: nothing to place.
	BindReport func(c mapping.Client, rs mapping.ReportSchedule, r *Report)
	// HearsLeaving: the sink is told when a clock leaves the states a
	// rule matches, not only when it enters them (trello takes its label
	// off).
	HearsLeaving bool
	// Handle is how the sink names a person ("@ann", an address), "" when
	// it cannot; nil: by name.
	Handle func(p Person) string
}

// Binding is what a Kind's Bind sees of a notice's subject.
type Binding struct {
	// SubjectKind is task, thread or client.
	SubjectKind string
	// SourceKind is the kind of the source the subject was pulled from
	// (trello, planfix_export, ...).
	SourceKind string
	// SubjectID is the subject's id in its source: a card id, owner/name#N.
	SubjectID string
	// Container is the name of the task's container (a GitHub
	// repository), "" when unknown.
	Container string
}

// Task reports whether the subject is a task pulled from one of the
// source kinds.
func (b Binding) Task(sourceKinds ...string) bool {
	if b.SubjectKind != "task" {
		return false
	}
	for _, k := range sourceKinds {
		if b.SourceKind == k {
			return true
		}
	}
	return false
}

// Kinds lists the sink kinds this binary supports, in the order the
// schema and the config's errors name them. Registration is explicit,
// here, rather than by init side effects.
func Kinds() []Kind { return slices.Clone(registry().list) }

// registry is built once: routing looks kinds up for every rule of every
// notice.
var registry = sync.OnceValue(func() (r struct {
	list   []Kind
	byName map[string]Kind
}) {
	r.list = []Kind{TrelloKind(), EmailKind(), GitHubKind(), WebhookKind(), FileKind(), PlanFixKind()}
	r.byName = map[string]Kind{}
	for _, k := range r.list {
		r.byName[k.Name] = k
	}
	return r
})

// Lookup returns the registered kind of that name.
func Lookup(name string) (Kind, bool) {
	k, ok := registry().byName[name]
	return k, ok
}

// ConfigKinds are the kinds as the config's loader sees them
// (mapping.LoadOptions.Sinks, mapping.Schema).
func ConfigKinds() []mapping.SinkKind {
	var out []mapping.SinkKind
	for _, k := range registry().list {
		out = append(out, k.SinkKind)
	}
	return out
}

// newKind declares a kind whose options are an O (defaults builds them)
// and whose sink open builds from them: the one place that asserts the
// options' type.
func newKind[O any, S Sink](name, doc string, defaults func() *O, open func(O, connectors.Env) (S, error)) Kind {
	return Kind{
		SinkKind: mapping.SinkKind{Name: name, Doc: doc, Options: func() any { return defaults() }},
		Open: func(options any, env connectors.Env) (Sink, error) {
			o, ok := options.(*O)
			if !ok {
				return nil, fmt.Errorf("a %s sink's options are a %T, not a %T", name, options, (*O)(nil))
			}
			s, err := open(*o, env)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}
}

// at is a handle written with an @, "" for none.
func at(handle string) string {
	if handle == "" {
		return ""
	}
	return "@" + handle
}
