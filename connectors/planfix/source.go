package planfix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

// Registry names.
const (
	KindName = "planfix"
	// Identity is the people: namespace of PlanFix ids: "user:5" for an
	// employee, "contact:12" for a contact.
	Identity = "planfix"
	EnvHint  = "PLANFIX_TOKEN"
)

// Options are the planfix source's options.
type Options struct {
	Account string       `yaml:"account" doc:"the account's name, as in https://NAME.planfix.com (the API is https://NAME.planfix.com/rest)"`
	Token   secret.Value `yaml:"token" required:"true" env:"PLANFIX_TOKEN" doc:"REST API token (Account management, API access, REST API); write ${PLANFIX_TOKEN} so it comes from the environment (or token_file)"`
	BaseURL string       `yaml:"base_url" doc:"API root instead of the account's (https://NAME.planfix.com/rest, or .planfix.ru); for tests"`

	Projects []string `yaml:"projects" doc:"project ids or names to pull; empty: the projects clients[].planfix_projects names, or every project when none does"`
	Zone     string   `yaml:"zone" doc:"the IANA zone of the token's employee, in which PlanFix writes dates that carry no UTC form (default UTC)"`

	ReconcileEvery time.Duration `yaml:"reconcile_every" doc:"how often every task of the projects is re-read to find deleted ones (default 24h); between, only the tasks changed or commented since the last sync"`
	BatchSize      int           `yaml:"batch_size" doc:"most tasks in one stored batch (default 200; a task's comments always share its batch)"`
	Deadline       time.Duration `yaml:"deadline" doc:"longest one sync of this source may take, rate-limit waits included; what was stored by then stays (default 30m)"`
	RequestTimeout time.Duration `yaml:"request_timeout" doc:"longest wait for one answer; a request without one is tried once more (default 30s)"`
}

// DefaultOptions are the options a config's options: block is decoded
// into.
func DefaultOptions() *Options {
	return &Options{ReconcileEvery: 24 * time.Hour, BatchSize: 200, Deadline: connectors.DefaultDeadline,
		RequestTimeout: connectors.DefaultRequestTimeout}
}

var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (o *Options) check() (*time.Location, error) {
	switch {
	case o.Account == "" && o.BaseURL == "":
		return nil, errors.New("account: name the PlanFix account (NAME in https://NAME.planfix.com)")
	case o.Account != "" && !accountName.MatchString(o.Account):
		return nil, fmt.Errorf("account: %q is not an account name like northwind (lower-case letters, digits, dashes)", o.Account)
	case o.ReconcileEvery <= 0:
		return nil, fmt.Errorf("reconcile_every must be positive, got %s", o.ReconcileEvery)
	case o.BatchSize < 1:
		return nil, fmt.Errorf("batch_size must be positive, got %d", o.BatchSize)
	}
	zone := time.UTC
	if o.Zone != "" {
		z, err := time.LoadLocation(o.Zone)
		if err != nil {
			return nil, fmt.Errorf("zone: %q is not an IANA time zone", o.Zone)
		}
		zone = z
	}
	return zone, connectors.CheckLimits(o.Deadline, o.RequestTimeout)
}

// site is the account's web root, for links.
func (o *Options) site() string {
	if o.Account == "" {
		return ""
	}
	return "https://" + o.Account + ".planfix.com"
}

func (o *Options) baseURL() string {
	if o.BaseURL != "" {
		return o.BaseURL
	}
	return o.site() + "/rest"
}

// Kind is the registry entry of the PlanFix API source.
func Kind() connectors.Kind {
	return connectors.NewKind(KindName, "PlanFix projects, tasks, their comment feeds and status changes, employees and contacts (REST API v2)",
		Identity, DefaultOptions, func(o *Options, env connectors.Env) (connectors.Source, error) { return Open(o, env, nil) })
}

// Source pulls one PlanFix account.
type Source struct {
	opts   Options
	client *Client
	conv   converter
	mapped []string
	log    *slog.Logger
	clock  vclock.Clock
}

// Open checks o and returns the source; a nil client is built from the
// options' token and env's HTTP client (tests pass one on a virtual
// clock).
func Open(o *Options, env connectors.Env, client *Client) (*Source, error) {
	zone, err := o.check()
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", KindName, err)
	}
	if client == nil {
		token, err := env.Secrets.Require(o.Token, "token", EnvHint)
		if err != nil {
			return nil, err
		}
		if client, err = NewClient(ClientConfig{BaseURL: o.baseURL(), Token: token, HTTPClient: env.HTTPClient, Log: env.Logger, Timeout: o.RequestTimeout}); err != nil {
			return nil, fmt.Errorf("opening %s: %w", KindName, err)
		}
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{opts: *o, client: client, conv: converter{site: o.site(), zone: zone}, mapped: env.Mapped[ContainerKind],
		log: log, clock: vclock.Real{}}, nil
}

// SetClock sets the clock the pull reads "now" from (tests).
func (s *Source) SetClock(c vclock.Clock) { s.clock = c }

// Client is the source's client.
func (s *Source) Client() *Client { return s.client }

// Check asks PlanFix GET /ping with the token: one request.
func (s *Source) Check(ctx context.Context) error {
	if err := s.client.Ping(ctx); err != nil {
		return fmt.Errorf("asking PlanFix with the token: %w", err)
	}
	return nil
}

// cursor is the source's position: when the last pull began (the next
// asks for what changed since) and when every task was last re-read.
type cursor struct {
	V          int       `json:"v"`
	Since      time.Time `json:"since,omitzero"`
	Reconciled time.Time `json:"reconciled,omitzero"`
}

// sinceMargin is how much earlier than the last pull's start a pull asks
// for changes: filter 79 compares whole days in the token's employee's
// zone (the help), so two days cover any zone and the day boundary.
const sinceMargin = 48 * time.Hour

// Pull reads the account: employees, contacts and the selected projects
// first, then each project's tasks (every one when reconciling, else
// those changed or commented since the last pull) with every comment of
// each. A task's comments and status changes are read whole, so each
// task's batch completes them (a comment deleted in PlanFix is deleted
// here); a reconcile re-reads a project's every task in one batch, which
// completes its tasks.
func (s *Source) Pull(ctx context.Context, cur string, emit connectors.Emit) error {
	start := s.clock.Now().UTC()
	ctx, cancel := connectors.WithDeadline(ctx, start, s.opts.Deadline)
	defer cancel()
	return connectors.DeadlineReached(ctx, s.pull(ctx, start, cur, emit))
}

func (s *Source) pull(ctx context.Context, start time.Time, cur string, emit connectors.Emit) error {
	var c cursor
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &c); err != nil {
			s.log.Warn("planfix cursor unreadable, reading everything again", "error", err.Error())
			c = cursor{}
		}
	}
	statuses, err := s.client.Statuses(ctx)
	if err != nil {
		return fmt.Errorf("reading task statuses: %w", err)
	}
	s.conv.statuses = statuses
	first := &record.Batch{}
	for _, l := range []struct {
		prefix string
		read   func(context.Context) ([]User, error)
	}{{"user", s.client.Users}, {"contact", s.client.Contacts}} {
		us, err := l.read(ctx)
		if err != nil {
			return fmt.Errorf("reading %ss: %w", l.prefix, err)
		}
		for _, u := range us {
			first.People = append(first.People, s.conv.person(u, l.prefix))
		}
	}
	projects, err := s.client.Projects(ctx)
	if err != nil {
		return fmt.Errorf("reading projects: %w", err)
	}
	selected, missing := s.selectProjects(projects)
	for _, p := range selected {
		first.Containers = append(first.Containers, s.conv.project(p))
	}
	if err := emit(ctx, first); err != nil {
		return err
	}
	reconcile := c.Since.IsZero() || start.Sub(c.Reconciled) >= s.opts.ReconcileEvery
	since := time.Time{}
	if !reconcile {
		since = c.Since.Add(-sinceMargin)
	}
	for _, p := range selected {
		if err := s.pullProject(ctx, p, since, reconcile, emit); err != nil {
			return fmt.Errorf("project %s (%s): %w", idString(p.ID), p.Name, err)
		}
	}
	next := cursor{V: 1, Since: start, Reconciled: c.Reconciled}
	if reconcile {
		next.Reconciled = start
	}
	b, _ := json.Marshal(next)
	if err := emit(ctx, &record.Batch{Cursor: string(b)}); err != nil {
		return err
	}
	if len(missing) > 0 {
		return &connectors.AttentionError{Why: fmt.Sprintf("PlanFix lists no project %s (named by the config)", strings.Join(missing, ", "))}
	}
	return nil
}

// selectProjects is the projects the options (else the mapping) name, by
// id or name; every project when neither names any. missing are the
// names no project has.
func (s *Source) selectProjects(all []Project) (selected []Project, missing []string) {
	want := s.opts.Projects
	if len(want) == 0 {
		want = s.mapped
	}
	if len(want) == 0 {
		for _, p := range all {
			if !p.IsDeleted {
				selected = append(selected, p)
			}
		}
		return selected, nil
	}
	taken := map[string]bool{}
	for _, w := range want {
		found := false
		for _, p := range all {
			if idString(p.ID) == strings.TrimSpace(w) || strings.EqualFold(p.Name, strings.TrimSpace(w)) {
				found = true
				if !taken[idString(p.ID)] {
					taken[idString(p.ID)] = true
					selected = append(selected, p)
				}
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%q", w))
		}
	}
	return selected, missing
}

// pullProject reads one project's tasks and their comments.
func (s *Source) pullProject(ctx context.Context, p Project, since time.Time, whole bool, emit connectors.Emit) error {
	pid := idString(p.ID)
	b := &record.Batch{}
	tasks := 0
	flush := func() error {
		if len(b.Tasks) == 0 && len(b.Problems) == 0 {
			return nil
		}
		err := emit(ctx, b)
		b, tasks = &record.Batch{}, 0
		return err
	}
	err := s.client.Tasks(ctx, pid, since, func(page []Task) error {
		for _, t := range page {
			id := idString(t.ID)
			comments, err := s.client.Comments(ctx, id)
			if err != nil {
				return fmt.Errorf("task %s: %w", id, err)
			}
			rt, msgs, moves, problems := s.conv.task(t, comments)
			b.Problems = append(b.Problems, problems...)
			if rt.ExternalID == "" {
				continue
			}
			if rt.ContainerID == "" {
				rt.ContainerID = pid
			}
			b.Tasks = append(b.Tasks, rt)
			b.Messages = append(b.Messages, msgs...)
			b.StatusChanges = append(b.StatusChanges, moves...)
			b.Complete = append(b.Complete,
				record.Scope{Kind: record.ScopeMessages, TaskID: id},
				record.Scope{Kind: record.ScopeStatusChanges, TaskID: id})
			if tasks++; !whole && tasks >= s.opts.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if whole {
		b.Complete = append(b.Complete, record.Scope{Kind: record.ScopeTasks, ContainerID: pid})
		return emit(ctx, b)
	}
	return flush()
}

// Discover lists the account's projects, employees (the agency's side),
// contacts (a client's) and task statuses: what `karkas discover planfix`
// prints a mapping skeleton of.
func (s *Source) Discover(ctx context.Context) (connectors.Discovery, error) {
	d := connectors.Discovery{ContainerKind: ContainerKind}
	statuses, err := s.client.Statuses(ctx)
	if err != nil {
		return d, fmt.Errorf("reading task statuses: %w", err)
	}
	for _, st := range statuses {
		d.Statuses = append(d.Statuses, st.Name)
	}
	sort.Strings(d.Statuses)
	projects, err := s.client.Projects(ctx)
	if err != nil {
		return d, fmt.Errorf("reading projects: %w", err)
	}
	selected, _ := s.selectProjects(projects)
	for _, p := range selected {
		d.Containers = append(d.Containers, connectors.DiscoveredName{ID: idString(p.ID), Name: p.Name})
	}
	for _, l := range []struct {
		prefix, side string
		read         func(context.Context) ([]User, error)
	}{{"user", "agency", s.client.Users}, {"contact", "client", s.client.Contacts}} {
		us, err := l.read(ctx)
		if err != nil {
			return d, fmt.Errorf("reading %ss: %w", l.prefix, err)
		}
		for _, u := range us {
			if !u.IsDeleted {
				d.People = append(d.People, connectors.DiscoveredPerson{ID: u.Prefixed(l.prefix), Name: u.FullName(), Email: u.Email, Side: l.side})
			}
		}
	}
	return d, nil
}
