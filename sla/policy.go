package sla

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy describes one SLA policy: the one place that names it. Every
// list of policies karkas keeps derives from Policies: the config's
// policy_sets keys, their decoding, validation and JSON Schema (mapping
// reads Rule, Check and Doc), routing's policies:, the CLI's and the web
// UI's --policy lists, the catalogs' words (locale reads Words), the
// report's sections (Apart) and the store's withdrawal rule
// (WholeHistory).
type Policy struct {
	// Name is the policy's name, as clocks and routing say it.
	Name string
	// Key is the policy's key in a config's policy set (stage_limits for
	// stage_limit), Doc its description there.
	Key, Doc string
	// WholeHistory says that every evaluation produces the policy's clocks
	// for the whole history of the facts (see WholeHistory).
	WholeHistory bool
	// Apart says that the hour report shows the policy's breaches in a
	// section of their own, not among the broken promises.
	Apart bool
	// Words are the policy's names for people, by language (every
	// language locale.Supported lists).
	Words map[string]Words
	rule  ruleSpec
	// clocks evaluates the policy over the facts as of now, sorted by
	// start, then ID.
	clocks func(f Facts, rules Rules, now time.Time) []Clock
}

// Words are what people read for a policy: Title in reports and the client
// cabinet ("Reply to a message"), Notice in a pushed notice ("client
// waiting for a reply"), Label in the agency's filters ("response").
type Words struct{ Title, Notice, Label string }

// RuleProblem is something wrong with a policy's rule as a config gives
// it: Field is the key under the policy's own (empty for the policy
// itself; a map's entry as [“key”]).
type RuleProblem struct{ Field, Message string }

// ruleSpec is a policy's rule: its Go type, which is also what the config
// decodes, its checks, and its completion by a client's own terms.
type ruleSpec struct {
	typ   reflect.Type
	check func(any) []RuleProblem
	bind  func(any, Terms) any
}

// ruleOf is the rule of type R, checked by check (nil: nothing to check).
func ruleOf[R any](check func(R) []RuleProblem) ruleSpec {
	s := ruleSpec{typ: reflect.TypeFor[R]()}
	if check != nil {
		s.check = func(r any) []RuleProblem { return check(r.(R)) }
	}
	return s
}

// boundBy completes the rule with a client's terms when the client's
// rules are built.
func (s ruleSpec) boundBy(bind func(any, Terms) any) ruleSpec { s.bind = bind; return s }

// Rule is the Go type of the policy's rule, which a config decodes.
func (p *Policy) Rule() reflect.Type { return p.rule.typ }

// Check reports what is wrong with a decoded rule of the policy.
func (p *Policy) Check(rule any) []RuleProblem {
	if p.rule.check == nil || rule == nil {
		return nil
	}
	return p.rule.check(rule)
}

// PolicyNamed is the policy of the name.
func PolicyNamed(name string) (*Policy, bool) {
	for i := range Policies {
		if Policies[i].Name == name {
			return &Policies[i], true
		}
	}
	return nil, false
}

// PolicyNames are the names of Policies, in their order.
func PolicyNames() []string {
	out := make([]string, len(Policies))
	for i, p := range Policies {
		out[i] = p.Name
	}
	return out
}

// Terms are a client's own terms that complete a policy's rule: the
// monthly budget the hour_budget policy watches.
type Terms struct{ Budget BudgetRule }

// PolicySet is the promises that apply to one client: one rule per
// policy, found by its type (Rule). The zero PolicySet has none.
type PolicySet struct{ rules map[reflect.Type]any }

// NewPolicySet holds rules, each of a policy's Rule type.
func NewPolicySet(rules ...any) *PolicySet {
	ps := &PolicySet{}
	for _, r := range rules {
		if err := ps.Add(r); err != nil {
			panic(err)
		}
	}
	return ps
}

// Add sets the rule of its policy, found by the rule's type.
func (ps *PolicySet) Add(rule any) error {
	t := reflect.TypeOf(rule)
	if !slices.ContainsFunc(Policies, func(p Policy) bool { return p.rule.typ == t }) {
		return fmt.Errorf("sla: %v is no policy's rule", t)
	}
	if ps.rules == nil {
		ps.rules = map[reflect.Type]any{}
	}
	ps.rules[t] = rule
	return nil
}

// Len is the number of rules held.
func (ps *PolicySet) Len() int {
	if ps == nil {
		return 0
	}
	return len(ps.rules)
}

// For is the set with each rule completed by a client's terms.
func (ps *PolicySet) For(t Terms) *PolicySet {
	out := &PolicySet{rules: make(map[reflect.Type]any, ps.Len())}
	if ps == nil {
		return out
	}
	for _, p := range Policies {
		if r, ok := ps.rules[p.rule.typ]; ok {
			if p.rule.bind != nil {
				r = p.rule.bind(r, t)
			}
			out.rules[p.rule.typ] = r
		}
	}
	return out
}

// Rule is the set's rule of type R (one policy's Rule type), the zero R
// when it has none: nil for a pointer rule.
func Rule[R any](ps *PolicySet) R {
	var zero R
	if ps == nil {
		return zero
	}
	r, _ := ps.rules[reflect.TypeFor[R]()].(R)
	return r
}

// ResponsePolicy is the first-response promise: every client message gets
// an agency reply in the same conversation within Target business time.
type ResponsePolicy struct {
	Target Duration `yaml:"target" required:"true" doc:"business time, e.g. 6h"`
	Warn   Duration `yaml:"warn" doc:"business time after which the clock is at risk, e.g. 3h"`
}

func checkResponse(r *ResponsePolicy) []RuleProblem {
	if r != nil && !r.Warn.IsZero() && !r.Warn.Less(r.Target) {
		return []RuleProblem{{"warn", fmt.Sprintf("the warning (%s) must come before the target (%s)", r.Warn, r.Target)}}
	}
	return nil
}

// StageLimits is, by normalized status, the longest a task may stay in it.
type StageLimits map[string]Duration

// Statuses are the normalized task statuses, in workflow order.
var Statuses = []string{StatusBacklog, StatusTodo, StatusInProgress, StatusReview, StatusWaitingClient, StatusDone, StatusArchived}

func checkStages(l StageLimits) []RuleProblem {
	var out []RuleProblem
	for status := range l {
		if !slices.Contains(Statuses, status) {
			out = append(out, RuleProblem{fmt.Sprintf("[%q]", status), fmt.Sprintf("%q is not one of: %s", status, strings.Join(Statuses, ", "))})
		}
	}
	slices.SortFunc(out, func(a, b RuleProblem) int { return strings.Compare(a.Field, b.Field) })
	return out
}

// ReminderPolicy reminds the client every RemindEvery while work waits on
// them.
type ReminderPolicy struct {
	RemindEvery Duration `yaml:"remind_every" required:"true" doc:"business time between reminders, e.g. 2d"`
}

// DuePolicy puts a task at risk WarnBefore its due time.
type DuePolicy struct {
	WarnBefore Duration `yaml:"warn_before" doc:"business time before the due time when the task is at risk"`
}

// BriefPolicy defines a brief: a description of at least MinDescription
// characters, or a checklist named Checklist.
type BriefPolicy struct {
	MinDescription int    `yaml:"min_description" doc:"a description at least this many characters long is a brief"`
	Checklist      string `yaml:"checklist" doc:"or a checklist of this name"`
}

// HygienePolicy lists what a task in progress must carry.
type HygienePolicy struct {
	RequireAssignee bool `yaml:"require_assignee" doc:"tasks in progress have an assignee"`
	RequireDue      bool `yaml:"require_due" doc:"tasks in progress have a due date"`
}

// ContactPolicy bounds, in calendar days, the silence towards a client.
type ContactPolicy struct {
	MaxDays int `yaml:"max_days" required:"true" doc:"calendar days without an agency message to the client"`
}

func checkContact(c *ContactPolicy) []RuleProblem {
	if c != nil && c.MaxDays <= 0 {
		return []RuleProblem{{"max_days", "must be at least 1"}}
	}
	return nil
}

// BudgetPolicy watches a client's monthly hours: the client's budget
// (BudgetRule, from the client's budget:, not the policy set) and the
// alarms the policy set gives.
type BudgetPolicy struct {
	BudgetRule
	Thresholds     []float64 `yaml:"thresholds" doc:"fractions of the budget that raise an alert, e.g. [0.8, 1.0]"`
	WarnUnused     float64   `yaml:"warn_unused" doc:"fraction of hours still unused in the month's last week that raises an alert"`
	ProjectOverrun bool      `yaml:"project_overrun" doc:"alert when the burn rate so far projects past the budget"`
}

func checkBudget(b *BudgetPolicy) []RuleProblem {
	var out []RuleProblem
	if b == nil {
		return nil
	}
	for j, t := range b.Thresholds {
		if t <= 0 || t > 5 {
			out = append(out, RuleProblem{fmt.Sprintf("thresholds[%d]", j), "a threshold is a fraction of the budget, e.g. 0.8 or 1.0"})
		}
	}
	return out
}

func bindBudget(r any, t Terms) any {
	p := r.(*BudgetPolicy)
	if p == nil {
		return p
	}
	b := *p
	b.BudgetRule = t.Budget
	return &b
}

// UntrackedWork flags tasks done with no time logged.
type UntrackedWork bool

// ParseDuration reads a business duration: "6h", "30m", "2d", "1d4h" or
// "1d 4h 30m".
func ParseDuration(s string) (Duration, error) {
	var d Duration
	rest := strings.TrimSpace(s)
	if rest == "" {
		return d, fmt.Errorf("empty business duration")
	}
	for _, m := range durationPart.FindAllStringSubmatch(rest, -1) {
		n, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "d":
			d.Days += n
		case "h":
			d.Time += time.Duration(n) * time.Hour
		case "m":
			d.Time += time.Duration(n) * time.Minute
		}
	}
	if strings.TrimSpace(durationPart.ReplaceAllString(rest, "")) != "" || d.IsZero() {
		return d, fmt.Errorf("%q is not a business duration (examples: 30m, 6h, 2d, 1d4h)", s)
	}
	return d, nil
}

var durationPart = regexp.MustCompile(`(\d+)\s*(d|h|m)`)

// DurationPattern is the JSON Schema pattern of a business duration.
const DurationPattern = `^\s*([0-9]+\s*[dhm]\s*)+$`

// UnmarshalText reads a business duration as ParseDuration does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes the duration as ParseDuration reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Less orders durations, taking a business day as longer than any clock
// part.
func (d Duration) Less(o Duration) bool {
	if d.Days != o.Days {
		return d.Days < o.Days
	}
	return d.Time < o.Time
}

// String is the duration as a config writes it: 1d4h30m.
func (d Duration) String() string {
	var b strings.Builder
	if d.Days > 0 {
		fmt.Fprintf(&b, "%dd", d.Days)
	}
	h, m := int(d.Time.Hours()), int(d.Time.Minutes())%60
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	return b.String()
}
