package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
	"github.com/karkas/karkas/sync/pipeline"
)

// The daemon's jobs. Their arguments are names and instants, never a
// secret: River keeps them in its table, readable by whoever reads the
// store.

// queued are the states in which a job of the same arguments makes a new
// one a duplicate (River requires the first four). A running job counts:
// a webhook that arrives while its container is being pulled is handled
// by a follow-up (see enqueue).
var queued = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// SyncSourceArgs pulls one source, incrementally, from its cursor.
type SyncSourceArgs struct {
	Source string `json:"source"`
	// FollowUp marks the pull queued because a webhook arrived while the
	// source's pull was running (the running pull may have passed what
	// changed).
	FollowUp bool `json:"follow_up,omitempty"`
}

func (SyncSourceArgs) Kind() string { return "sync_source" }

func (SyncSourceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueSync, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queued}}
}

// SyncContainerArgs pulls one board or repository of a source, as a
// webhook asks.
type SyncContainerArgs struct {
	Source    string `json:"source"`
	Container string `json:"container"`
	FollowUp  bool   `json:"follow_up,omitempty"`
}

func (SyncContainerArgs) Kind() string { return "sync_container" }

func (SyncContainerArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueSync, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queued}}
}

// EvaluateArgs evaluates the SLA policies and delivers what they queue.
// Due is the instant an open clock turns at risk or breached, for the
// evaluation scheduled at it ("" for one after a sync that changed rows).
//
// Scope, when set, is what a webhook's pull wrote (store.ChangedScope: the
// tasks and threads, the contact and budget clocks of their clients): only
// it is evaluated. An evaluation at a Due instant evaluates what turned by
// then (store.DueScope); one with neither evaluates the whole store (after
// a source's full pull, and every few minutes as the safety net of the
// scoped ones).
type EvaluateArgs struct {
	Due      string       `json:"due,omitempty"`
	Scope    *store.Scope `json:"scope,omitempty"`
	FollowUp bool         `json:"follow_up,omitempty"`
}

func (EvaluateArgs) Kind() string { return "evaluate" }

func (EvaluateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueWork, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queued}}
}

// DeliverArgs works the outbox: retries that came due, quiet hours that
// ended, digests and the monthly reports (routing.reports) whose time came.
type DeliverArgs struct{}

func (DeliverArgs) Kind() string { return "deliver" }

func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueWork, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queued}}
}

const (
	queueSync = "sync"
	queueWork = "work"
)

// lockedSnooze is how long a job waits when another run (a cron `karkas
// sync`, another replica's job) holds what it needs.
const lockedSnooze = 5 * time.Second

// syncWorker pulls a source, or one container of it.
type syncWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	s *Service
}

func (w *syncWorker[T]) Timeout(*river.Job[T]) time.Duration { return w.s.opts.JobTimeout }

func (w *syncWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	var id, container string
	switch a := any(job.Args).(type) {
	case SyncSourceArgs:
		id = a.Source
	case SyncContainerArgs:
		id, container = a.Source, a.Container
	}
	return w.s.pull(ctx, id, container, job.Kind)
}

// pull syncs one source (one container of it when container is set) and
// queues an evaluation when rows changed.
func (s *Service) pull(ctx context.Context, id, container, kind string) error {
	src, ok := s.source(id)
	if !ok {
		// The config changed under a queued job: nothing to pull.
		return river.JobCancel(fmt.Errorf("no source %q in the config", id))
	}
	start := time.Now()
	res, err := s.app.Pull(ctx, pipeline.Pull{Sources: []mapping.Source{src}, Holder: s.holder, Container: container})
	if err != nil {
		s.metrics.jobError(kind, "store")
		return err
	}
	r := res[0]
	var le *store.LockedError
	if errors.As(r.Err, &le) {
		s.metrics.lockWaits.WithLabelValues(id).Inc()
		return river.JobSnooze(lockedSnooze)
	}
	changed := r.Written.Total()+r.Deleted.Total() > 0
	if r.Err != nil && ctx.Err() != nil {
		// Cut by the shutdown (or the job's timeout): what it stored is
		// committed with its cursor, and the next pull goes on from there.
		s.log.Info("pull cut short; the next one goes on from its last commit", "source", id, "container", container)
		if changed {
			_ = s.evaluateAfter(context.WithoutCancel(ctx), container, start, r)
		}
		return r.Err
	}
	s.metrics.observeSync(src, r, container != "")
	var np *connectors.NotPulledError
	if errors.As(r.Err, &np) {
		// A webhook about a board or repository the config does not
		// select: retrying cannot help.
		s.log.Warn("webhook for something this source does not pull", "source", id, "container", container)
		return river.JobCancel(r.Err)
	}
	if r.Err != nil {
		s.log.Error("source failed", "source", id, "container", container, "error", pipeline.ErrorLine(r.Err))
		if err := s.noteFailure(ctx, id, r.Err); err != nil {
			return err
		}
		if changed {
			// What it stored before failing is judged now.
			_ = s.evaluateAfter(ctx, container, start, r)
		}
		return r.Err
	}
	s.log.Info("source synced", "source", id, "container", container, "records", r.Received.Total(),
		"rows_written", r.Written.Total(), "deleted", r.Deleted.Total(), "duration_ms", r.Duration.Milliseconds())
	if changed {
		return s.evaluateAfter(ctx, container, start, r)
	}
	return nil
}

// evaluateAfter queues the evaluation a pull that changed rows calls for:
// of what it wrote, after a pull of one container (a webhook's: the cost
// of one event is then that of the cards it changed, not the store's); of
// the whole store after a source's full pull, or a pull that rethreaded
// mail (the thread a message left is not in what it wrote).
func (s *Service) evaluateAfter(ctx context.Context, container string, start time.Time, r engine.Result) error {
	if container == "" || r.Threaded > 0 {
		return s.enqueue(ctx, EvaluateArgs{})
	}
	// A second of margin below the pull's start: synced_at is this
	// process's clock too, but a database may round it.
	sc, err := s.app.Store.ChangedScope(ctx, start.Add(-time.Second))
	if err != nil || sc.Empty() {
		return err
	}
	return s.enqueue(ctx, EvaluateArgs{Scope: &sc})
}

// noteFailure marks the source as needing attention once its last
// AttentionAfter pulls all failed (a success clears it: sync/engine).
func (s *Service) noteFailure(ctx context.Context, id string, cause error) error {
	n, err := s.app.Store.FailedRunsInARow(ctx, id)
	if err != nil || n < s.opts.AttentionAfter {
		return err
	}
	return s.app.Store.SetAttention(ctx, id, fmt.Sprintf("%d pulls failed in a row; the last: %s", n, pipeline.ErrorLine(cause)))
}

type evaluateWorker struct {
	river.WorkerDefaults[EvaluateArgs]
	s *Service
}

func (w *evaluateWorker) Timeout(*river.Job[EvaluateArgs]) time.Duration { return w.s.opts.JobTimeout }

func (w *evaluateWorker) Work(ctx context.Context, job *river.Job[EvaluateArgs]) error {
	return w.s.evaluate(ctx, job.Args)
}

// evaluate evaluates under the evaluation's locks, delivers what it
// queued, and schedules the next evaluation at the earliest instant an
// open clock turns at risk or breached, so that a breach is found at its
// due time with nothing new pulled.
func (s *Service) evaluate(ctx context.Context, args EvaluateArgs) error {
	unlock, err := s.app.LockEvaluation(ctx, lockedSnooze, s.holder)
	var le *store.LockedError
	if errors.As(err, &le) {
		s.metrics.lockWaits.WithLabelValues("evaluate").Inc()
		return river.JobSnooze(lockedSnooze)
	}
	if err != nil {
		return err
	}
	defer unlock()
	sc := args.Scope
	if args.Due != "" {
		// What turned by now.
		due, err := s.app.Store.DueScope(ctx, time.Now())
		if err != nil {
			return err
		}
		if due.Empty() {
			return s.scheduleNext(ctx, time.Now())
		}
		sc = &due
	}
	began := time.Now()
	ev, err := s.app.EvaluateScope(ctx, s.app.Store, sc)
	if err != nil {
		s.metrics.jobError("evaluate", "evaluate")
		return err
	}
	s.metrics.observeEvaluation(time.Since(began))
	s.log.Info("evaluated", "scope", scopeAttr(sc), "clocks", len(ev.Clocks), "new", ev.Changes.New, "changed", ev.Changes.Updated,
		"transitions", ev.Changes.Transitions, "notifications", ev.Changes.Outbox)
	if err := s.deliverHeld(ctx); err != nil {
		return err
	}
	return s.scheduleNext(ctx, ev.At)
}

// scheduleNext queues the evaluation at the next instant an open clock
// turns, if there is one.
func (s *Service) scheduleNext(ctx context.Context, after time.Time) error {
	next, ok, err := s.app.Store.NextClockTurn(ctx, after)
	if err != nil || !ok {
		return err
	}
	// A second late: the clock's state at the instant itself is still
	// the one before it.
	at := next.Add(time.Second).UTC()
	res, err := s.client.Insert(ctx, EvaluateArgs{Due: at.Format(time.RFC3339)}, &river.InsertOpts{ScheduledAt: at})
	if err == nil && !res.UniqueSkippedAsDuplicate {
		s.log.Debug("evaluation scheduled", "at", at.Format(time.RFC3339))
	}
	return err
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.s.opts.JobTimeout }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	// Every deliverer holds the evaluation lock (karkas sync, report
	// --deliver, the evaluate job): a delivery leased to another is then
	// one a killed run left, taken over at once.
	unlock, err := w.s.app.Store.Lock(ctx, "evaluate", lockedSnooze, w.s.holder)
	var le *store.LockedError
	if errors.As(err, &le) {
		// The holder delivers when it is done.
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	return w.s.deliverHeld(ctx)
}

// deliverHeld works the outbox; the caller holds the evaluation lock.
func (s *Service) deliverHeld(ctx context.Context) error {
	d, err := s.app.Deliver(ctx, true)
	if err != nil {
		s.metrics.jobError("deliver", "deliver")
		return err
	}
	s.metrics.observeDelivery(d)
	if d.Routed && d.Delivered+d.Failed+d.Retrying > 0 {
		s.log.Info("delivered", "sent", d.Delivered, "found_done", d.Existed, "retrying", d.Retrying, "failed", d.Failed, "pending", d.Pending)
	}
	return nil
}

// enqueue inserts a job; when one with the same arguments is already
// running, a follow-up is queued behind it (at most one), since the
// running one may have passed what the new event says changed.
func (s *Service) enqueue(ctx context.Context, args river.JobArgs) error {
	res, err := s.client.Insert(ctx, args, nil)
	if err != nil || !res.UniqueSkippedAsDuplicate || res.Job.State != rivertype.JobStateRunning {
		return err
	}
	switch a := args.(type) {
	case SyncSourceArgs:
		a.FollowUp = true
		args = a
	case SyncContainerArgs:
		a.FollowUp = true
		args = a
	case EvaluateArgs:
		a.FollowUp = true
		args = a
	default:
		return nil
	}
	_, err = s.client.Insert(ctx, args, nil)
	return err
}

// scopeAttr says what an evaluation covered, for the log.
func scopeAttr(sc *store.Scope) string {
	if sc == nil {
		return "all"
	}
	var parts []string
	if len(sc.Clients) > 0 {
		parts = append(parts, "clients "+strings.Join(sc.Clients, ","))
	}
	for _, n := range []struct {
		what string
		n    int
	}{{"tasks", len(sc.Tasks)}, {"threads", len(sc.Threads)}, {"contact clocks", len(sc.Contact)}, {"budgets", len(sc.Budget)}} {
		if n.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n.n, n.what))
		}
	}
	return strings.Join(parts, "; ")
}
