package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"time"

	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/store"
)

// Worker defaults.
const (
	DefaultLease       = 10 * time.Minute
	DefaultMaxAttempts = 12
	// backoffBase doubles per attempt up to backoffMax: 1m, 2m, 4m ...
	// 2h; twelve attempts span about half a day.
	backoffBase = time.Minute
	backoffMax  = 2 * time.Hour
	// maxPerRun bounds the deliveries of one Run.
	maxPerRun = 10000
)

// Worker plans and delivers the outbox.
type Worker struct {
	Store   *store.Store
	Planner *Planner
	// Sinks are the config's sinks by name.
	Sinks  map[string]sinks.Sink
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Owner names this worker in leases (host, pid and a random part
	// when empty).
	Owner string
	// Lease is how long a claimed delivery is this worker's
	// (DefaultLease when 0): longer than one delivery takes, retries
	// inside the connectors included.
	Lease time.Duration
	// MaxAttempts bounds the tries of a delivery before it is failed
	// (DefaultMaxAttempts when 0).
	MaxAttempts int
	// Sole says that no other worker delivers from the store while this
	// one runs: the caller holds the lock every deliverer takes (karkas
	// sync and karkas report --deliver deliver holding "evaluate"). A
	// lease another owner holds is then an attempt a killed run started
	// and never recorded, and Run takes the row over at once instead of
	// waiting out the lease: the sink looks for the earlier effect
	// (Trello's and GitHub's markers, the file's name) or repeats it with
	// the same id (the mail's Message-ID, the webhook-id).
	Sole bool
	// CabinetLink makes (or, for a delivery that made one before, finds)
	// the link to a client's cabinet that a report carries
	// (web.ReportLinker); nil sends such reports without one.
	CabinetLink func(ctx context.Context, client string, expires time.Duration, delivery string) (url string, until time.Time, err error)

	// afterSink runs, in tests, between the sink's answer and the record
	// of it; an error ends the run there without recording, as a kill
	// would.
	afterSink func(row store.OutboxRow, res sinks.Result, err error) error
}

// Report counts what a Run did.
type Report struct {
	Plan *Plan
	// Delivered counts deliveries made; Existed those of them an
	// earlier, unrecorded try had made.
	Delivered, Existed int
	// TakenOver counts deliveries a killed run had started and Run took
	// over (Sole).
	TakenOver         int
	Skipped, Retrying int
	Failed            int
	// Waiting counts deliveries put back until the client's business
	// hours.
	Waiting int
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) log() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

func (w *Worker) owner() string {
	if w.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		w.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	return w.Owner
}

// Plan routes and folds, storing the result (see Planner.Run).
func (w *Worker) Plan(ctx context.Context) (*Plan, error) {
	var plan *Plan
	err := w.Store.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
		var err error
		plan, err = w.Planner.Run(ctx, q, w.now(), nil, true)
		return err
	})
	if err != nil {
		if w.Planner.Held != nil {
			w.Planner.Held.set(time.Time{}) // what the plan folded is held still
		}
		return nil, fmt.Errorf("planning deliveries: %w", err)
	}
	if h := w.Planner.Held; h != nil && !plan.heldUntil.IsZero() {
		h.set(plan.heldUntil) // stored: what was due is folded
	}
	return plan, nil
}

// Run plans, then delivers every due delivery, one at a time, until none
// is due. It stops at the first error of the store (a delivery's failure
// is recorded, not returned).
func (w *Worker) Run(ctx context.Context) (Report, error) {
	var rep Report
	plan, err := w.Plan(ctx)
	if err != nil {
		return rep, err
	}
	rep.Plan = plan
	lease := w.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	if w.Sole {
		orphans, err := w.Store.TakeOverLeases(ctx, w.owner(), w.now())
		if err != nil {
			return rep, err
		}
		for _, o := range orphans {
			w.log().Warn("delivery taken over from a run that died during it", "delivery", o.ID, "sink", o.Sink,
				"attempts", o.Attempts, "owner", o.Owner)
		}
		rep.TakenOver = len(orphans)
	}
	for range maxPerRun {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		row, err := w.Store.ClaimDelivery(ctx, w.owner(), w.now(), lease)
		if err != nil {
			return rep, err
		}
		if row == nil {
			return rep, nil
		}
		if err := w.deliver(ctx, *row, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// deliver works one claimed delivery and records how it went.
func (w *Worker) deliver(ctx context.Context, row store.OutboxRow, rep *Report) error {
	log := w.log().With("delivery", row.ID, "sink", row.Sink, "client", row.ClientID)
	finish := func(o store.Outcome) error {
		// A cancelled run still records what the sink answered.
		ok, err := w.Store.FinishDelivery(context.WithoutCancel(ctx), row.ID, w.owner(), w.now(), o)
		if err != nil {
			return err
		}
		if !ok {
			log.Warn("delivery lease lost before its record; the worker that took it over records it")
		}
		return nil
	}
	d, err := decode(row)
	if err != nil {
		rep.Failed++
		return finish(store.Outcome{Status: store.OutboxFailed, Error: err.Error()})
	}
	sink, ok := w.Sinks[row.Sink]
	if !ok {
		rep.Failed++
		return finish(store.Outcome{Status: store.OutboxFailed, Error: fmt.Sprintf("no sink %q in the config's routing.sinks", row.Sink)})
	}
	del := sinks.Delivery{ID: row.IdempotencyKey, Created: row.CreatedAt, Due: row.CreatedAt, Message: d.msg, Target: d.target}
	if d.target.Due != nil {
		del.Due = *d.target.Due
	}
	if d.msg.Kind == sinks.KindNotice && len(d.msg.Items) == 1 {
		it := d.msg.Items[0]
		// News that is no longer true is not sent: the clock moved on
		// (a later delivery tells of that) or was waived.
		c, found, err := w.Store.ClockNow(ctx, it.ClockID)
		if err != nil {
			return err
		}
		if found && (c.Waived || c.State != it.To) {
			rep.Skipped++
			why := "superseded: the clock is now " + c.State
			if c.Waived {
				why = "the clock was waived"
			}
			return finish(store.Outcome{Status: store.OutboxSkipped, Error: why})
		}
		if d.target.ClientFacing && w.Planner != nil && w.Planner.Calendars != nil {
			if cal := w.Planner.Calendars.Calendar(it.Client); cal != nil && !cal.IsBusiness(w.now()) {
				rep.Waiting++
				return finish(store.Outcome{Status: store.OutboxPending, Next: cal.NextBusiness(w.now()),
					Error: "waiting for the client's business hours", NotAttempted: true})
			}
		}
		if d.target.Card != "" {
			if del.CardState, err = w.Store.TaskClockState(ctx, it.Subject.Source, it.Subject.ExternalID); err != nil {
				return err
			}
		}
		if !entering(it.To) {
			if del.FollowUp, err = w.Store.DeliveredRef(ctx, row.Sink, it.ClockID); err != nil {
				return err
			}
		}
	}
	var res sinks.Result
	if d.msg.Kind == sinks.KindReport {
		err = w.makeReport(ctx, &del)
	}
	if err == nil {
		res, err = sink.Deliver(ctx, del)
	}
	if w.afterSink != nil {
		if herr := w.afterSink(row, res, err); herr != nil {
			return herr
		}
	}
	switch {
	case err == nil && res.Skipped != "":
		rep.Skipped++
		log.Info("delivery skipped", "reason", res.Skipped)
		return finish(store.Outcome{Status: store.OutboxSkipped, Error: res.Skipped})
	case err == nil:
		rep.Delivered++
		if res.Existed {
			rep.Existed++
		}
		log.Info("delivered", "ref", res.Ref, "existed", res.Existed)
		return finish(store.Outcome{Status: store.OutboxDelivered, Ref: res.Ref})
	}
	limit := w.MaxAttempts
	if limit <= 0 {
		limit = DefaultMaxAttempts
	}
	switch {
	case sinks.IsPermanent(err):
		rep.Failed++
		log.Error("delivery failed", "error", err.Error())
		return finish(store.Outcome{Status: store.OutboxFailed, Error: err.Error()})
	case row.Attempts >= limit:
		rep.Failed++
		log.Error("delivery failed", "attempts", row.Attempts, "error", err.Error())
		return finish(store.Outcome{Status: store.OutboxFailed, Error: fmt.Sprintf("gave up after %d attempts: %v", row.Attempts, err)})
	}
	rep.Retrying++
	wait := max(backoff(row), sinks.RetryAfter(err))
	if errors.Is(err, context.Canceled) {
		wait = 0 // interrupted, not failed: the next run tries at once
	}
	log.Warn("delivery failed, will retry", "attempts", row.Attempts, "retry_in", wait.String(), "error", err.Error())
	return finish(store.Outcome{Status: store.OutboxPending, Next: w.now().Add(wait), Error: err.Error()})
}

// backoff is the wait after a delivery's attempts-th failure: doubling
// from backoffBase to backoffMax, less up to a fifth by the row's id so
// that failures of one moment spread out.
func backoff(row store.OutboxRow) time.Duration {
	n := max(row.Attempts, 1)
	d := backoffMax
	if n < 8 {
		d = min(backoffBase<<(n-1), backoffMax)
	}
	h := fnv.New32a()
	fmt.Fprint(h, row.ID)
	return d - d/5*time.Duration(h.Sum32()%1000)/1000
}
