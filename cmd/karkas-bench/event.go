package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
	"github.com/karkas/karkas/sync/pipeline"
)

// eventFigures are the costs of the daemon's work on one store of the
// 100x dataset: one event (a card that changed) and one periodic
// evaluation with nothing new.
type eventFigures struct {
	store  string
	clocks int
	// queued counts the events whose evaluation queued a notification
	// and whose delivery pass routed it.
	queued int
	// Per event, in the order the daemon does them.
	total, lockSource, engineSetup, write, afterWrite, lockEval, scope, evaluate, deliver, nextTurn []time.Duration
	// scoped counts the clients and subjects each event's evaluation
	// covered.
	scoped []int
	// Nothing changed, nothing due: the daemon's evaluate job at a due
	// instant with nothing due (its locks, DueScope, the delivery pass,
	// the next turn), the full evaluation of the periodic safety net, and
	// NextClockTurn alone.
	idleJob, idleEvaluate, idleNext []time.Duration
	// Of those full evaluations: the clocks rewritten (their business
	// time counted on, in business hours) and the transitions and
	// notifications (none: nothing changed).
	idleUpdated, idleTurned int
}

// openApp loads the demo config on storeURL and the dataset at data, as
// `karkas serve` would: one App for the whole run.
func openApp(ctx context.Context, config, storeURL, data, outbox string, log *slog.Logger) (*pipeline.App, error) {
	env := map[string]string{"KARKAS_STORE": storeURL, "KARKAS_DEMO_DATA": data, "KARKAS_DEMO_OUTBOX": outbox}
	lookup := func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	secrets := secret.NewSet()
	l, err := pipeline.Load(config, lookup, secrets)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", config, err)
	}
	st, _, err := pipeline.OpenStore(ctx, l.Config, secrets)
	if err != nil {
		return nil, err
	}
	// As service.New makes it: its delivery passes remember when the
	// deliveries held for digests can next come due.
	return &pipeline.App{Loaded: l, Store: st, Logger: log, Secrets: secrets, LookupEnv: lookup, HeldWatch: &push.HeldWatch{}}, nil
}

// cardEvent is what the trello API source emits when a webhook names a
// board on which someone set a card's due date: the card, as its pull
// reads it. It is emitted as the source's pull would, through the engine,
// without the network.
type cardEvent struct {
	batch record.Batch
}

func (e *cardEvent) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	b := e.batch
	b.Cursor = cursor // the API source moves it; the export source's stays as it was
	return emit(ctx, &b)
}

// eventCards picks n open cards without a due date of clients whose
// policy set watches due dates: a due date an hour away puts the card's
// due_date clock at risk at once, which tells the assignee and the PM
// (the demo's routing: due_date, to assignee and pm), so each event stores
// a new clock and queues a delivery.
func eventCards(ctx context.Context, app *pipeline.App, sourceID string, n int) ([]record.Task, error) {
	cfg := app.Loaded.Config
	var clients []any
	for _, c := range cfg.Clients {
		if ps, ok := cfg.PolicySets[c.PolicySet]; ok && sla.Rule[*sla.DuePolicy](&ps) != nil {
			clients = append(clients, c.ID)
		}
	}
	if len(clients) == 0 {
		return nil, fmt.Errorf("no client's policy set has due_date")
	}
	st := app.Store
	q := `SELECT raw FROM tasks WHERE source_id = ? AND deleted_at IS NULL AND NOT closed AND due_at IS NULL
		AND status IN ('todo', 'in_progress', 'review') AND client_id IN (?` + strings.Repeat(", ?", len(clients)-1) + `)
		ORDER BY external_id LIMIT ?`
	var raws []string
	if err := st.Select(ctx, &raws, st.Rebind(q), append(append([]any{sourceID}, clients...), n)...); err != nil {
		return nil, fmt.Errorf("choosing cards: %w", err)
	}
	if len(raws) < n {
		return nil, fmt.Errorf("only %d open cards without a due date, want %d", len(raws), n)
	}
	tasks := make([]record.Task, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal([]byte(raw), &tasks[i]); err != nil {
			return nil, fmt.Errorf("reading a card: %w", err)
		}
	}
	return tasks, nil
}

func p50(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

// quantile is the nearest-rank quantile q of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func since(t *time.Time) time.Duration {
	now := time.Now()
	d := now.Sub(*t)
	*t = now
	return d
}

// measureEvents runs n events on app's store, one after another, each
// as the daemon does it: the webhook's pull of the card's board under the
// source's lock (the engine on the store: its lookups and the config's
// model loaded, the rows written, mail threading and linking), then the
// evaluation job: the evaluation's locks, the evaluation, a delivery pass,
// the next clock turn. River's own work between the jobs is not counted.
// Then the periodic evaluation with nothing changed, idle times.
func measureEvents(ctx context.Context, app *pipeline.App, n int, budget time.Duration, idle int) (eventFigures, error) {
	st := app.Store
	f := eventFigures{store: st.Dialect}
	var src mapping.Source
	for _, s := range app.Loaded.Sources {
		if s.Kind == "trello_export" {
			src = s
		}
	}
	if src.ID == "" {
		return f, fmt.Errorf("the config has no trello_export source")
	}
	holder := store.Holder(time.Now()) + " karkas-bench"
	// A first evaluation and delivery pass: the store's clocks were
	// evaluated at the ingest; time has moved since.
	if _, err := evaluateJob(ctx, app, holder, nil); err != nil {
		return f, err
	}
	cards, err := eventCards(ctx, app, src.ID, n)
	if err != nil {
		return f, err
	}
	began := time.Now()
	for i, card := range cards {
		if i >= minEvents && time.Since(began) > budget {
			break
		}
		now := time.Now().UTC()
		due := now.Add(time.Hour)
		card.DueAt, card.UpdatedAt = &due, now
		ev := &cardEvent{batch: record.Batch{Tasks: []record.Task{card}}}

		start := time.Now()
		t := start
		unlock, err := st.Lock(ctx, "source:"+src.ID, 5*time.Second, holder)
		if err != nil {
			return f, err
		}
		f.lockSource = append(f.lockSource, since(&t))
		eng, err := app.NewLazyEngine(ctx, st, nil)
		if err != nil {
			unlock()
			return f, err
		}
		f.engineSetup = append(f.engineSetup, since(&t))
		res := eng.RunAll(ctx, []engine.Job{{Info: pipeline.SourceInfo(src), Source: ev, Partial: true}})[0]
		unlock()
		if res.Err != nil {
			return f, fmt.Errorf("event %d: %w", i, res.Err)
		}
		if w := res.Written.Total(); w != 1 {
			return f, fmt.Errorf("event %d: %d rows written, want the card", i, w)
		}
		all := since(&t)
		f.write = append(f.write, res.Duration)
		f.afterWrite = append(f.afterWrite, all-res.Duration)
		// As the daemon after a webhook's pull: what the pull wrote
		// (service.evaluateAfter).
		job, err := evaluateJob(ctx, app, holder, func() (store.Scope, error) { return st.ChangedScope(ctx, start.Add(-time.Second)) })
		if err != nil {
			return f, err
		}
		f.lockEval = append(f.lockEval, job.lock)
		f.scope = append(f.scope, job.scope)
		f.scoped = append(f.scoped, job.subjects)
		f.evaluate = append(f.evaluate, job.evaluate)
		f.deliver = append(f.deliver, job.deliver)
		f.nextTurn = append(f.nextTurn, job.next)
		f.total = append(f.total, time.Since(start))

		// The card's due_date clock, at risk, and its delivery to the
		// outbox sink (sent, or held by the sink's rate cap).
		var delivered int
		if err := st.Get(ctx, &delivered, st.Rebind(`SELECT COUNT(*) FROM outbox o JOIN sla_clocks c ON c.id = o.clock_id
			WHERE c.policy = 'due_date' AND c.subject_source_id = ? AND c.subject_external_id = ? AND c.state = 'at_risk'
			AND o.sink <> 'route'`), src.ID, card.ExternalID); err != nil {
			return f, err
		}
		if job.ev.Changes.Outbox > 0 && delivered > 0 {
			f.queued++
		}
	}
	for range idle {
		// The evaluation scheduled at a due instant, with nothing due.
		job, err := evaluateJob(ctx, app, holder, func() (store.Scope, error) { return st.DueScope(ctx, time.Now()) })
		if err != nil {
			return f, err
		}
		if job.subjects > 0 {
			return f, fmt.Errorf("%d subjects due with nothing changed: the idle figure would measure work", job.subjects)
		}
		f.idleJob = append(f.idleJob, job.lock+job.scope+job.evaluate+job.deliver+job.next)
		full, err := evaluateJob(ctx, app, holder, nil)
		if err != nil {
			return f, err
		}
		f.idleEvaluate = append(f.idleEvaluate, full.evaluate)
		f.idleUpdated += full.ev.Changes.Updated
		f.idleTurned += full.ev.Changes.New + full.ev.Changes.Transitions + full.ev.Changes.Outbox
		f.clocks = len(full.ev.Clocks)
	}
	for range 100 {
		t := time.Now()
		if _, _, err := st.NextClockTurn(ctx, time.Now()); err != nil {
			return f, err
		}
		f.idleNext = append(f.idleNext, since(&t))
	}
	return f, nil
}

// jobTimes are the steps of one evaluate job.
type jobTimes struct {
	ev                                   *pipeline.Evaluation
	subjects                             int
	lock, scope, evaluate, deliver, next time.Duration
}

// evaluateJob does the evaluate job's work (service.evaluate): the
// evaluation's locks, what to evaluate (scope; nil: the whole store), the
// evaluation (none when the scope is empty), a delivery pass and the next
// clock turn, which the job hands River to schedule.
func evaluateJob(ctx context.Context, app *pipeline.App, holder string, scope func() (store.Scope, error)) (jobTimes, error) {
	j := jobTimes{ev: &pipeline.Evaluation{}}
	t := time.Now()
	unlock, err := app.LockEvaluation(ctx, 5*time.Second, holder)
	if err != nil {
		return j, err
	}
	defer unlock()
	j.lock = since(&t)
	var sc *store.Scope
	if scope != nil {
		s, err := scope()
		if err != nil {
			return j, err
		}
		sc, j.subjects = &s, s.Size()
	}
	j.scope = since(&t)
	if !sc.Empty() {
		if j.ev, err = app.EvaluateScope(ctx, app.Store, sc); err != nil {
			return j, err
		}
	}
	j.evaluate = since(&t)
	if _, err := app.Deliver(ctx, true); err != nil {
		return j, err
	}
	j.deliver = since(&t)
	if _, _, err := app.Store.NextClockTurn(ctx, time.Now()); err != nil {
		return j, err
	}
	j.next = since(&t)
	return j, nil
}
