// Package pipeline is karkas's work on one config and one store, as both
// `karkas sync` and the `karkas serve` daemon's jobs do it: load the
// config, open the store, pull sources (one run of a source at a time
// across processes), evaluate the SLA policies (one evaluation at a time,
// with every source whole), and work the outbox. It prints nothing: the
// callers render what it returns.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
	"github.com/karkas/karkas/sync/evaluate"
	"github.com/karkas/karkas/web"
)

// ConfigError is a failure the config causes (a policy that does not
// compile, a sink whose options are wrong): the CLI exits 2 on it, where a
// store's failure exits 3.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configError(err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{Err: err}
}

var registry = sync.OnceValue(Registry)

// Load loads and validates the config at path. Errors come back as a
// mapping.Problems; warnings are in the result's Warnings. Every secret
// the config gives (its secret.Values, the store URL's password) is added
// to secrets.
func Load(path string, lookupEnv func(string) (string, bool), secrets *secret.Set) (*mapping.Loaded, error) {
	reg := registry()
	return mapping.Load(path, mapping.LoadOptions{
		LookupEnv: lookupEnv,
		Secrets:   secrets,
		Kinds:     reg.Names(),
		Countries: sla.Countries(),
		SourceOptions: func(kind string) (any, bool) {
			k, ok := reg.Lookup(kind)
			if !ok {
				return nil, false
			}
			return k.NewOptions(), true
		},
		Sinks: sinks.ConfigKinds(),
	})
}

// OpenStore opens the config's store and brings its schema up to date,
// returning the versions it applied. The store's error texts are scrubbed
// of secrets.
func OpenStore(ctx context.Context, cfg *mapping.Config, secrets *secret.Set) (*store.Store, []int, error) {
	secrets.AddURL(cfg.StoreURL())
	st, err := store.Open(ctx, cfg.StoreURL())
	if err != nil {
		return nil, nil, err
	}
	st.Scrub = secrets.Redact
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, applied, nil
}

// App is the work on one loaded config and its store.
type App struct {
	Loaded  *mapping.Loaded
	Store   *store.Store
	Logger  *slog.Logger
	Secrets *secret.Set
	// LookupEnv expands ${VAR} in sink options.
	LookupEnv func(string) (string, bool)
	// ArmSinks, when set, may wrap the sinks before they deliver (the
	// kill hook of the tests that kill the binary).
	ArmSinks func(map[string]sinks.Sink) error
	// Now is the clock of evaluations and deliveries; time.Now when nil.
	Now func() time.Time
	// HeldWatch, when set, lets the delivery passes of a long-lived App
	// (karkas serve's) skip the deliveries held for digests while none can
	// have come due (push.Planner.Held).
	HeldWatch *push.HeldWatch
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// SourceInfo describes a configured source for the mapping.
func SourceInfo(s mapping.Source) mapping.SourceInfo {
	k, _ := registry().Lookup(s.Kind)
	return mapping.SourceInfo{ID: s.ID, Kind: s.Kind, Identity: k.Identity}
}

// OpenSource builds a configured source, reading its secrets.
func (a *App) OpenSource(s mapping.Source) (connectors.Source, error) {
	k, ok := registry().Lookup(s.Kind)
	if !ok {
		return nil, fmt.Errorf("unknown source kind %q", s.Kind)
	}
	return k.Open(a.Loaded.SourceOptions[s.ID], connectors.Env{
		Secrets: a.Secrets,
		BaseDir: a.Loaded.BaseDir,
		Logger:  a.Logger.With("source", s.ID),
		Mapped:  a.Loaded.Mapped(),
	})
}

// NewEngine builds the engine sync and remap share on st (the store, or a
// dry run's copy of it): linking loaded from the store, and the config's
// clients and people copied into the store first.
func (a *App) NewEngine(ctx context.Context, st *store.Store, dryRun bool, prog engine.Progress) (*engine.Engine, error) {
	eng, err := engine.New(ctx, st, mapping.NewResolver(a.Loaded.Config), a.Logger)
	if err != nil {
		return nil, err
	}
	return a.setUp(ctx, eng, dryRun, prog)
}

// NewLazyEngine is NewEngine for a pull of one container (a webhook's):
// its linking reads from the store only the keys the records name
// (engine.NewLazy).
func (a *App) NewLazyEngine(ctx context.Context, st *store.Store, prog engine.Progress) (*engine.Engine, error) {
	return a.setUp(ctx, engine.NewLazy(ctx, st, mapping.NewResolver(a.Loaded.Config), a.Logger), false, prog)
}

func (a *App) setUp(ctx context.Context, eng *engine.Engine, dryRun bool, prog engine.Progress) (*engine.Engine, error) {
	eng.DryRun = dryRun
	for _, s := range a.Loaded.Sources {
		eng.Sources = append(eng.Sources, SourceInfo(s))
	}
	if prog != nil {
		eng.Progress = prog
	}
	if _, err := eng.SyncModel(ctx, a.Loaded.Config); err != nil {
		return nil, err
	}
	return eng, nil
}

// Pull is what a pull is asked to do.
type Pull struct {
	Sources []mapping.Source
	// Into is the store the rows go to: the App's store, or a dry run's
	// copy (which takes no locks: it writes nothing shared).
	Into *store.Store
	// Wait is how long to wait for another run that holds a source; a
	// source still held is left to it (its result's Err is a
	// *store.LockedError).
	Wait   time.Duration
	Holder string
	// Progress hears about the run as it goes; may be nil.
	Progress engine.Progress
	// Container, when set, pulls only that board or repository of the
	// sources (a webhook's): the sources must be able to scope their pull
	// (connectors.Scoper).
	Container string
}

// Pull syncs the sources, each under its lock, and gives the locks back
// when all are done. A source that cannot be opened or locked fails alone;
// the results are in the order of p.Sources. The error is the store's.
func (a *App) Pull(ctx context.Context, p Pull) ([]engine.Result, error) {
	into := p.Into
	if into == nil {
		into = a.Store
	}
	locking := into == a.Store
	failed := map[string]error{}
	var unlocks []func()
	defer func() {
		for _, u := range unlocks {
			u()
		}
	}()
	if locking {
		// In id order, as every run takes them (LockAll).
		byID := slices.Clone(p.Sources)
		slices.SortFunc(byID, func(a, b mapping.Source) int { return strings.Compare(a.ID, b.ID) })
		for _, s := range byID {
			unlock, err := a.Store.Lock(ctx, "source:"+s.ID, p.Wait, p.Holder)
			var le *store.LockedError
			switch {
			case errors.As(err, &le):
				failed[s.ID] = err
				continue
			case err != nil:
				return nil, err
			}
			unlocks = append(unlocks, unlock)
		}
	}
	var eng *engine.Engine
	var err error
	if p.Container != "" {
		eng, err = a.NewLazyEngine(ctx, into, p.Progress)
	} else {
		eng, err = a.NewEngine(ctx, into, false, p.Progress)
	}
	if err != nil {
		return nil, err
	}
	var jobs []engine.Job
	for _, s := range p.Sources {
		if failed[s.ID] != nil {
			continue
		}
		src, err := a.OpenSource(s)
		if err == nil && p.Container != "" {
			src, err = scope(src, p.Container)
		}
		if err != nil {
			failed[s.ID] = err
			continue
		}
		jobs = append(jobs, engine.Job{Info: SourceInfo(s), Source: src, Partial: p.Container != ""})
	}
	ran := eng.RunAll(ctx, jobs)
	out := make([]engine.Result, 0, len(p.Sources))
	for _, s := range p.Sources {
		res := engine.Result{SourceID: s.ID, Err: failed[s.ID]}
		for _, r := range ran {
			if r.SourceID == s.ID {
				res = r
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// scope narrows src's pull to one container.
func scope(src connectors.Source, container string) (connectors.Source, error) {
	sc, ok := src.(connectors.Scoper)
	if !ok {
		return nil, fmt.Errorf("this kind of source cannot pull one container (%s) alone", container)
	}
	return sc.Scope([]string{container})
}

// ErrorLine is err as a failure is printed and logged: its first line (a
// panic's, without the stack), at most connectors.MaxLine characters. The
// debug log has the whole error.
func ErrorLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return connectors.Line(line)
}

// LockEvaluation takes what an evaluation holds: every source of the
// config (none is half synced while it judges: a client's question whose
// answer is in the next batch would breach falsely) and the evaluation
// itself (two at once would record each transition twice). A run that
// cannot have them within wait gets the holder's *store.LockedError.
func (a *App) LockEvaluation(ctx context.Context, wait time.Duration, holder string) (func(), error) {
	var names []string
	for _, s := range a.Loaded.Sources {
		names = append(names, "source:"+s.ID)
	}
	return a.Store.LockAll(ctx, append(names, "evaluate"), wait, holder)
}

// Evaluation is what one evaluation did.
type Evaluation struct {
	At time.Time
	// Edited names the calendars whose edit in the config was recorded
	// as a new version, effective from At.
	Edited []string
	evaluate.Result
}

// Evaluate runs the SLA policies over st as of now and stores the clocks
// with their transitions and notifications. The caller holds
// LockEvaluation (or st is a dry run's copy).
func (a *App) Evaluate(ctx context.Context, st *store.Store) (*Evaluation, error) {
	return a.EvaluateScope(ctx, st, nil)
}

// EvaluateScope is Evaluate for a scope (nil: the whole store): only its
// facts are read and its clocks stored (evaluate.RunScope).
func (a *App) EvaluateScope(ctx context.Context, st *store.Store, sc *store.Scope) (*Evaluation, error) {
	rules, err := evaluate.NewRules(a.Loaded.Config)
	if err != nil {
		return nil, configError(err)
	}
	ev := &Evaluation{At: a.now()}
	// A calendar edited in the config counts from now on; the business
	// time before the edit stays counted in the hours then in force.
	if ev.Edited, err = rules.UseHistory(ctx, st, ev.At, true); err != nil {
		return nil, err
	}
	if ev.Result, err = evaluate.RunScope(ctx, st, rules, ev.At, sc); err != nil {
		return nil, err
	}
	return ev, nil
}

// OpenSinks decodes the options of the config's sinks and builds them,
// reading their secrets; the problems are placed in the config file.
func (a *App) OpenSinks() (map[string]sinks.Sink, mapping.Problems) {
	l := a.Loaded
	if err := push.DecodeSinkOptions(l, a.LookupEnv); err != nil {
		var ps mapping.Problems
		if errors.As(err, &ps) {
			return nil, ps
		}
		return nil, mapping.Problems{{File: l.File, Line: 1, Col: 1, Path: "routing", Message: err.Error()}}
	}
	sk, err := push.Open(l, connectors.Env{BaseDir: l.BaseDir, Logger: a.Logger, Secrets: a.Secrets})
	var se push.SinkErrors
	switch {
	case errors.As(err, &se):
		return nil, sinkProblems(l, se)
	case err != nil:
		return nil, mapping.Problems{{File: l.File, Line: 1, Col: 1, Path: "routing", Message: err.Error()}}
	}
	return sk, nil
}

// sinkProblems places sink errors at their options in the config file.
func sinkProblems(l *mapping.Loaded, errs push.SinkErrors) mapping.Problems {
	var ps mapping.Problems
	for _, e := range errs {
		line, col := l.Position(fmt.Sprintf("routing.sinks[%q].options", e.Sink))
		if line == 0 {
			line, col = l.Position(fmt.Sprintf("routing.sinks[%q]", e.Sink))
		}
		ps = append(ps, mapping.Problem{File: l.File, Line: line, Col: col,
			Path: fmt.Sprintf("routing.sinks[%q].options", e.Sink), Message: e.Err.Error()})
	}
	return ps
}

// Pusher builds what delivering needs: the config's sinks and a planner.
// It returns a nil planner without routing: in the config.
func (a *App) Pusher() (*push.Planner, map[string]sinks.Sink, error) {
	l := a.Loaded
	if l.Routing == nil {
		return nil, nil, nil
	}
	sk, ps := a.OpenSinks()
	if len(ps) > 0 {
		return nil, nil, configError(fmt.Errorf("the config has errors (run karkas validate):\n%s", ps.Error()))
	}
	if a.ArmSinks != nil {
		if err := a.ArmSinks(sk); err != nil {
			return nil, nil, configError(err)
		}
	}
	rules, err := evaluate.NewRules(l.Config)
	if err != nil {
		return nil, nil, configError(err)
	}
	return &push.Planner{Config: l.Config, Calendars: rules, Sinks: sk, Held: a.HeldWatch}, sk, nil
}

// Delivery is what one pass over the outbox did.
type Delivery struct {
	// Routed is false without routing: in the config; Unrouted then
	// counts the notifications waiting for it.
	Routed   bool
	Unrouted int
	push.Report
	// Pending counts the deliveries still due after the pass (retries,
	// waits for business hours).
	Pending int
}

// Deliver works the outbox once: routes the notifications queued, sends
// what is due. Sole says the caller holds the evaluation's lock, which
// every deliverer takes, so a delivery leased to another is one a killed
// run left: it is taken over at once instead of after its lease.
func (a *App) Deliver(ctx context.Context, sole bool) (*Delivery, error) {
	planner, sk, err := a.Pusher()
	if err != nil {
		return nil, err
	}
	d := &Delivery{}
	if planner == nil {
		d.Unrouted, err = a.unrouted(ctx)
		return d, err
	}
	d.Routed = true
	w := &push.Worker{Store: a.Store, Planner: planner, Sinks: sk, Logger: a.Logger, Sole: sole, Now: a.Now,
		CabinetLink: web.ReportLinker(a.Store, a.Loaded.Config)}
	d.Report, err = w.Run(ctx)
	if err != nil {
		return d, err
	}
	if rows, err := a.Store.Deliveries(ctx, store.DeliveryFilter{Status: store.OutboxPending}); err == nil {
		d.Pending = len(rows)
	}
	return d, nil
}

// unrouted counts the notifications queued and not routed.
func (a *App) unrouted(ctx context.Context) (int, error) {
	counts, err := a.Store.OutboxCounts(ctx)
	n := 0
	for _, c := range counts {
		if c.Sink == store.OutboxRoute && c.Status == store.OutboxPending {
			n += c.Rows
		}
	}
	return n, err
}

// PlanDeliveries is what delivering would do now on st, writing nothing:
// the evaluation as of now (not stored) and the outbox, routed. The
// planner is nil without routing: in the config.
func (a *App) PlanDeliveries(ctx context.Context, st *store.Store) (*push.Planner, *push.Plan, error) {
	planner, _, err := a.Pusher()
	if err != nil || planner == nil {
		return nil, nil, err
	}
	now := a.now()
	rules, err := evaluate.NewRules(a.Loaded.Config)
	if err != nil {
		return nil, nil, configError(err)
	}
	extra, err := push.Preview(ctx, st, rules, now)
	if err != nil {
		return nil, nil, err
	}
	plan, err := planner.Run(ctx, st.ReadOutbox(), now, extra, false)
	if err != nil {
		return nil, nil, err
	}
	return planner, plan, nil
}
