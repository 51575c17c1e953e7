package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// stub is a sink that records what it is asked to deliver.
type stub struct {
	mu        sync.Mutex
	summarize bool
	got       []sinks.Delivery
	calls     map[string]int
	// fail, when set, decides the answer to the n-th call (from 1) for a
	// delivery id.
	fail func(d sinks.Delivery, n int) error
}

func newStub(summarize bool) *stub { return &stub{summarize: summarize, calls: map[string]int{}} }

func (s *stub) Summarizes() bool { return s.summarize }

func (s *stub) Deliver(_ context.Context, d sinks.Delivery) (sinks.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[d.ID]++
	if s.fail != nil {
		if err := s.fail(d, s.calls[d.ID]); err != nil {
			return sinks.Result{}, err
		}
	}
	s.got = append(s.got, d)
	return sinks.Result{Ref: fmt.Sprintf("stub %d", len(s.got))}, nil
}

func (s *stub) deliveries() []sinks.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// stubbed replaces every sink of the world with a stub.
func (w *world) stubbed(summarize map[string]bool) map[string]*stub {
	out := map[string]*stub{}
	for name := range w.sinks {
		out[name] = newStub(summarize[name])
		w.sinks[name] = out[name]
	}
	return out
}

func thread(n int) sla.Subject {
	return sla.Subject{Kind: "thread", Source: "mail", ExternalID: fmt.Sprintf("thread-%d@acme.example", n), Title: fmt.Sprintf("Question %d", n)}
}

func card(n int) sla.Subject {
	return sla.Subject{Kind: "task", Source: "trello", ExternalID: fmt.Sprintf("card-%d", n), Title: fmt.Sprintf("Card %d", n)}
}

func people(d sinks.Delivery) []string {
	var ids []string
	for _, p := range d.Target.People {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return ids
}

const rulesRouting = `  sinks:
    cards: {kind: trello, options: {key: k, token: t}}
    mail: {kind: email, options: {host: localhost, from: sla@northwind.agency}}
    folder: {kind: file, options: {dir: "${FOLDER}"}}
  defaults:
    - {policies: [response], sink: cards, to: [assignee]}
    - {policies: [response], sink: mail, to: [pm]}
    - {policies: [response, stage_limit], sink: mail, to: [lead]}
    - {policies: [stage_limit], states: [breached], sink: mail, to: [lead], after: 1d}
    - {policies: [hygiene], sink: folder, to: [pm], digest: ["09:00"]}
`

// Rules send a transition to every sink they match, merged per sink and
// way of sending; what is no longer true is not sent; a card's labels
// show its worst clock; digests and escalations wait for their time.
func TestRouting(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, dialect, rulesRouting)
			stubs := w.stubbed(map[string]bool{"mail": true, "folder": true})
			respCard := w.cardClock(sla.PolicyResponse, sla.Breached)
			stage := w.cardClock(sla.PolicyStageLimit, sla.Breached)
			respThread := w.clockOn(sla.PolicyResponse, sla.Breached, thread(1))
			hygiene := w.cardClock(sla.PolicyHygiene, sla.Breached)
			due := w.cardClock(sla.PolicyDueDate, sla.AtRisk)
			w.queue(respCard, stage, respThread, hygiene, due)
			// The due date breaches before anyone was told it was at
			// risk: only the breach is news (and no rule sends due_date).
			due.State = sla.Breached
			w.queue(due)

			rep := w.run(w.worker("one"))
			if rep.Delivered != 4 || rep.Failed+rep.Skipped+rep.Retrying != 0 {
				t.Fatalf("first run: %+v", rep)
			}
			reasons := map[string]string{}
			for _, r := range rep.Plan.Routed {
				reasons[r.Row.IdempotencyKey] = r.Reason
			}
			if r := reasons[due.ID+":at_risk"]; r != "superseded: the clock is now breached" {
				t.Errorf("the stale at-risk notice: %q", r)
			}
			if r := reasons[due.ID+":breached"]; r != "no rule matches" {
				t.Errorf("an unrouted notice: %q", r)
			}
			cards := stubs["cards"].deliveries()
			if len(cards) != 1 || cards[0].Target.Card != respCard.Subject.ExternalID || !slices.Equal(people(cards[0]), []string{"chloe"}) ||
				cards[0].CardState != sla.Breached || cards[0].Target.People[0].Trello != "chloemartin" {
				t.Errorf("cards: %+v", cards)
			}
			mails := stubs["mail"].deliveries()
			byClock := map[string]sinks.Delivery{}
			for _, d := range mails {
				byClock[d.Message.Items[0].ClockID] = d
			}
			if len(mails) != 3 || !slices.Equal(people(byClock[respCard.ID]), []string{"anna", "boris"}) ||
				!slices.Equal(people(byClock[respThread.ID]), []string{"anna", "boris"}) ||
				!slices.Equal(people(byClock[stage.ID]), []string{"boris"}) {
				t.Errorf("mails: one per clock, the pm and lead rules merged: %+v", mails)
			}
			if a := people(byClock[respCard.ID]); len(a) > 0 && byClock[respCard.ID].Target.People[0].Email != "anna@northwind.agency" {
				t.Errorf("mail recipients carry no address: %+v", byClock[respCard.ID].Target.People)
			}
			var held, later int
			for _, r := range w.rows() {
				switch {
				case r.Status == store.OutboxHeld:
					held++
				case r.Status == store.OutboxPending && r.NextAttemptAt != nil:
					later++
					// Breached 07:00 Tuesday in Berlin, before hours: one
					// business day after is Wednesday 09:00 (sla.AddDays).
					if want := time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC); !r.NextAttemptAt.Equal(want) || r.IdempotencyKey != stage.ID+":breached:mail.after1d" {
						t.Errorf("the escalation %s waits until %v, want %v", r.IdempotencyKey, r.NextAttemptAt, want)
					}
				}
			}
			if held != 1 || later != 1 {
				t.Errorf("%d held for the digest and %d escalations waiting, want 1 and 1", held, later)
			}

			// The reply comes: the response clock is met. The card keeps
			// the breached label of its stage clock; no mail says so.
			respCard.State, respCard.StoppedAt = sla.Met, epoch
			w.clock.Advance(time.Hour)
			w.queue(respCard)
			if rep := w.run(w.worker("one")); rep.Delivered != 1 {
				t.Fatalf("after the reply: %+v", rep)
			}
			cards = stubs["cards"].deliveries()
			if last := cards[len(cards)-1]; len(cards) != 2 || last.Message.Items[0].To != sla.Met || last.CardState != sla.Breached {
				t.Errorf("the met notice on the card: %+v", cards)
			}

			// Wednesday 09:00 in Berlin: the digest goes, and the stage
			// is still over its limit, so the lead hears of it again (had
			// it recovered, nothing would go).
			w.clock.AdvanceTo(time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC))
			if rep := w.run(w.worker("one")); rep.Delivered != 2 {
				t.Fatalf("digest and escalation time: %+v", rep)
			}
			folder := stubs["folder"].deliveries()
			if len(folder) != 1 || folder[0].Message.Kind != sinks.KindDigest || len(folder[0].Message.Items) != 1 ||
				folder[0].ID != "digest.folder."+short("folder\x00\x0009:00")+".20260304T0800" {
				t.Errorf("digest: %+v", folder)
			}
			if mails := stubs["mail"].deliveries(); len(mails) != 4 || mails[3].ID != stage.ID+":breached:mail.after1d" {
				t.Errorf("escalation: %+v", mails)
			}
			if rep := w.run(w.worker("one")); rep.Delivered+rep.Skipped+rep.Failed+rep.Retrying != 0 {
				t.Errorf("nothing new, yet %+v", rep)
			}
		})
	}
}

// An escalation whose clock recovered before its time is not sent.
func TestEscalationOfARecoveredClock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, rulesRouting)
	stubs := w.stubbed(map[string]bool{"mail": true})
	stage := w.cardClock(sla.PolicyStageLimit, sla.Breached)
	w.queue(stage)
	w.run(w.worker("one"))
	stage.State, stage.StoppedAt = sla.Resolved, epoch
	w.clock.Advance(time.Hour)
	w.queue(stage)
	w.clock.AdvanceTo(time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC))
	rep := w.run(w.worker("one"))
	if rep.Skipped != 1 || rep.Delivered != 0 {
		t.Fatalf("%+v", rep)
	}
	if n := len(stubs["mail"].deliveries()); n != 1 {
		t.Errorf("%d mails, want only the breach's", n)
	}
	skipped, _ := w.st.Deliveries(context.Background(), store.DeliveryFilter{Status: store.OutboxSkipped})
	if len(skipped) != 1 || skipped[0].LastError != "superseded: the clock is now resolved" {
		t.Errorf("skipped: %+v", skipped)
	}
}

// A backlog over a sink's rate cap goes out as one summary (trello:
// labels without comments); when the period's allowance is spent, the
// rest waits until a slot frees.
func TestRateCap(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, dialect, `  sinks:
    cards: {kind: trello, rate: {max: 2, per: 1h}, options: {key: k, token: t}}
    folder: {kind: file, rate: {max: 3, per: 1h}, options: {dir: "${FOLDER}"}}
  defaults:
    - {sink: cards, to: [lead]}
    - {sink: folder, to: [pm]}
`)
			stubs := w.stubbed(map[string]bool{"folder": true})
			var clocks []sla.Clock
			for i := range 5 {
				clocks = append(clocks, w.clockOn(sla.PolicyResponse, sla.Breached, card(i)))
			}
			w.queue(clocks...)
			if rep := w.run(w.worker("one")); rep.Delivered != 6 {
				t.Fatalf("the backlog: %+v, want 5 label-only card deliveries and 1 summary", rep)
			}
			folder := stubs["folder"].deliveries()
			if len(folder) != 1 || folder[0].Message.Kind != sinks.KindSummary || len(folder[0].Message.Items) != 5 {
				t.Fatalf("folder: %+v", folder)
			}
			for _, d := range stubs["cards"].deliveries() {
				if !d.Target.LabelsOnly {
					t.Errorf("a card delivery over the cap would comment: %+v", d)
				}
			}
			// Within what is left (2 of 3): sent one by one.
			w.clock.Advance(time.Minute)
			w.queue(w.clockOn(sla.PolicyResponse, sla.Breached, thread(1)), w.clockOn(sla.PolicyResponse, sla.Breached, thread(2)))
			if rep := w.run(w.worker("one")); rep.Delivered != 2 || len(stubs["folder"].deliveries()) != 3 {
				t.Fatalf("within the cap: %+v", rep)
			}
			// Spent: the next waits for the first slot to free, an hour
			// after the summary.
			w.clock.Advance(time.Minute)
			w.queue(w.clockOn(sla.PolicyResponse, sla.Breached, thread(3)))
			if rep := w.run(w.worker("one")); rep.Delivered != 0 || len(rep.Plan.Deferred) != 1 {
				t.Fatalf("over a spent cap: %+v", rep)
			}
			if until := rep0(w).NextAttemptAt; until == nil || !until.Equal(epoch.Add(time.Hour)) {
				t.Errorf("the deferred delivery waits until %v, want %v", until, epoch.Add(time.Hour))
			}
			w.clock.AdvanceTo(epoch.Add(time.Hour + time.Second))
			if rep := w.run(w.worker("one")); rep.Delivered != 1 {
				t.Fatalf("after the slot freed: %+v", rep)
			}
			if f := stubs["folder"].deliveries(); len(f) != 4 || f[3].Message.Kind != sinks.KindNotice {
				t.Errorf("folder: %+v", f)
			}
		})
	}
}

// rep0 is the newest delivery.
func rep0(w *world) store.OutboxRow {
	rows := w.rows()
	return rows[len(rows)-1]
}

// Temporary failures are retried with a doubling wait; a permanent one,
// or running out of attempts, fails the delivery, which retry queues
// again.
func TestRetries(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, dialect, `  sinks:
    folder: {kind: file, options: {dir: "${FOLDER}"}}
  defaults:
    - {sink: folder}
`)
			s := w.stubbed(nil)["folder"]
			refused := true
			s.fail = func(d sinks.Delivery, n int) error {
				switch {
				case d.Message.Items[0].Subject.ExternalID == "thread-1@acme.example" && n <= 2:
					return sinks.Temporary(errors.New("503 busy"), 0)
				case d.Message.Items[0].Subject.ExternalID == "thread-2@acme.example" && refused:
					return sinks.Permanent(errors.New("410 gone"))
				case d.Message.Items[0].Subject.ExternalID == "thread-3@acme.example":
					return sinks.Temporary(errors.New("timeout"), 0)
				}
				return nil
			}
			wk := w.worker("one")
			wk.MaxAttempts = 3
			w.queue(w.clockOn(sla.PolicyResponse, sla.Breached, thread(1)), w.clockOn(sla.PolicyResponse, sla.Breached, thread(2)),
				w.clockOn(sla.PolicyResponse, sla.Breached, thread(3)))
			rep := w.run(wk)
			if rep.Retrying != 2 || rep.Failed != 1 || rep.Delivered != 0 {
				t.Fatalf("first run: %+v", rep)
			}
			rows := w.rows()
			if r := rows[0]; r.Status != store.OutboxPending || r.NextAttemptAt == nil || r.NextAttemptAt.Sub(epoch) > time.Minute ||
				r.NextAttemptAt.Sub(epoch) < 48*time.Second || r.LastError == "" {
				t.Errorf("after one failure: %+v, want a retry within a minute", r)
			}
			if r := rows[1]; r.Status != store.OutboxFailed || r.LastError == "" {
				t.Errorf("a permanent failure: %+v", r)
			}
			// Nothing is retried before its time.
			if rep := w.run(wk); rep.Delivered+rep.Retrying != 0 {
				t.Errorf("retried early: %+v", rep)
			}
			w.clock.Advance(time.Minute)
			if rep := w.run(wk); rep.Retrying != 2 {
				t.Errorf("second tries: %+v", rep)
			}
			if r := w.rows()[0]; r.NextAttemptAt.Sub(w.clock.Now()) < 96*time.Second || r.NextAttemptAt.Sub(w.clock.Now()) > 2*time.Minute {
				t.Errorf("the second wait is %v, want about 2m", r.NextAttemptAt.Sub(w.clock.Now()))
			}
			w.clock.Advance(2 * time.Minute)
			if rep := w.run(wk); rep.Delivered != 1 || rep.Failed != 1 {
				t.Errorf("third tries: %+v (thread 1 goes through, thread 3 is out of attempts)", rep)
			}
			if r := w.rows()[2]; r.Status != store.OutboxFailed || r.Attempts != 3 {
				t.Errorf("out of attempts: %+v", r)
			}
			// Fixed at the target: retry queues it, the next run sends it.
			refused = false
			failed := w.rows()[1]
			if err := w.st.RetryDelivery(context.Background(), failed.ID, w.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if err := w.st.RetryDelivery(context.Background(), w.rows()[0].ID, w.clock.Now()); err == nil {
				t.Error("a delivered delivery was queued again")
			}
			if rep := w.run(wk); rep.Delivered != 1 {
				t.Errorf("after retry: %+v", rep)
			}
		})
	}
}

// Workers running at once (replicas) deliver each delivery once.
func TestConcurrentWorkers(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, dialect, `  sinks:
    folder: {kind: file, options: {dir: "${FOLDER}"}}
  defaults:
    - {sink: folder}
`)
			s := w.stubbed(nil)["folder"]
			var clocks []sla.Clock
			for i := range 40 {
				clocks = append(clocks, w.clockOn(sla.PolicyResponse, sla.Breached, thread(i)))
			}
			w.queue(clocks...)
			var wg sync.WaitGroup
			reps := make([]Report, 3)
			for i := range reps {
				wg.Go(func() {
					rep, err := w.worker(fmt.Sprint("worker-", i)).Run(context.Background())
					if err != nil {
						t.Error(err)
					}
					reps[i] = rep
				})
			}
			wg.Wait()
			total := 0
			for _, r := range reps {
				total += r.Delivered
			}
			if total != 40 || len(s.calls) != 40 {
				t.Errorf("%d delivered, %d ids called, want 40 and 40", total, len(s.calls))
			}
			for id, n := range s.calls {
				if n != 1 {
					t.Errorf("%s delivered %d times", id, n)
				}
			}
		})
	}
}

// A plan without write reads the outbox and adds what it is given, and
// writes nothing.
func TestDryPlanWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, rulesRouting)
	w.stubbed(map[string]bool{"mail": true, "folder": true})
	w.queue(w.cardClock(sla.PolicyResponse, sla.Breached))
	before, _ := w.st.OutboxCounts(context.Background())
	n := notice(w.cardClock(sla.PolicyStageLimit, sla.Breached), "")
	extra := []store.OutboxRow{{IdempotencyKey: n.ClockID + ":breached", Sink: store.OutboxRoute, ClientID: "acme", Status: store.OutboxPending,
		Payload: mustJSON(t, n), CreatedAt: epoch}}
	p := &Planner{Config: w.cfg.Config, Calendars: w.rules, Sinks: w.sinks}
	plan, err := p.Run(context.Background(), w.st.ReadOutbox(), epoch, extra, false)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := w.st.OutboxCounts(context.Background())
	if !slices.Equal(before, after) {
		t.Errorf("a dry plan wrote: %v -> %v", before, after)
	}
	// response: a comment and a mail to pm+lead; stage: a mail to the
	// lead now and one escalation.
	if len(plan.Queue) != 4 || len(plan.Routed) != 2 {
		t.Errorf("queue %d, routed %d: %+v", len(plan.Queue), len(plan.Routed), plan.Queue)
	}
	for _, r := range plan.Queue {
		if r.ID >= 0 {
			t.Errorf("a planned delivery has a stored id: %+v", r)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A long-lived deliverer's passes leave the deliveries held for a digest
// unread until the digest's next slot, and the digest still goes at it.
func TestHeldWatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, `  sinks:
    folder: {kind: file, options: {dir: "${FOLDER}"}}
  defaults:
    - {policies: [hygiene], sink: folder, to: [pm], digest: ["09:00"]}
`)
	stubs := w.stubbed(map[string]bool{"folder": true})
	watch := &HeldWatch{}
	worker := func() *Worker {
		wk := w.worker("serve")
		wk.Planner.Held = watch
		return wk
	}
	heldIn := func(rep Report) int {
		n := 0
		for _, r := range rep.Plan.Queue {
			if r.Status == store.OutboxHeld {
				n++
			}
		}
		return n
	}
	w.queue(w.cardClock(sla.PolicyHygiene, sla.Breached))
	// Tuesday 10:00 in Berlin: routed and held, read by the pass.
	if rep := w.run(worker()); heldIn(rep) != 1 || rep.Delivered != 0 {
		t.Fatalf("first pass: %d held in its queue, %d delivered", heldIn(rep), rep.Delivered)
	}
	// Until Wednesday 09:00 nothing held can come due: not read, for an
	// hour at most.
	for _, at := range []time.Time{epoch.Add(time.Minute), epoch.Add(50 * time.Minute)} {
		w.clock.AdvanceTo(at)
		if rep := w.run(worker()); heldIn(rep) != 0 || rep.Delivered != 0 {
			t.Errorf("at %s: %d held read, %d delivered", at, heldIn(rep), rep.Delivered)
		}
	}
	w.clock.AdvanceTo(time.Date(2026, 3, 4, 7, 30, 0, 0, time.UTC)) // 08:30 in Berlin
	if rep := w.run(worker()); heldIn(rep) != 1 || rep.Delivered != 0 {
		t.Errorf("an hour on: %d held read, %d delivered", heldIn(rep), rep.Delivered)
	}
	// A pass without the watch still reads them.
	if rep := w.run(w.worker("sync")); heldIn(rep) != 1 {
		t.Errorf("without the watch: %d held in the queue", heldIn(rep))
	}
	// Wednesday 09:00 in Berlin: the digest goes.
	w.clock.AdvanceTo(time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC))
	if rep := w.run(worker()); rep.Delivered != 1 {
		t.Fatalf("at the digest's slot: %+v", rep)
	}
	if got := stubs["folder"].deliveries(); len(got) != 1 || got[0].Message.Kind != sinks.KindDigest {
		t.Errorf("the digest: %+v", got)
	}
}

// A notice is written for whoever reads it: the comment on the client's
// card in the client's language, the agency's mail in the agency's.
func TestDeliveryLanguageByReader(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, rulesRouting)
	w.cfg.Agency.Language = "de"
	w.cfg.Clients[0].Language = "ru"
	stubs := w.stubbed(map[string]bool{"mail": true, "folder": true})
	w.queue(w.cardClock(sla.PolicyResponse, sla.Breached))
	if rep := w.run(w.worker("one")); rep.Delivered != 2 {
		t.Fatalf("run: %+v", rep)
	}
	cards, mails := stubs["cards"].deliveries(), stubs["mail"].deliveries()
	if len(cards) != 1 || cards[0].Target.Language != "ru" || !strings.Contains(cards[0].Message.Markdown(cards[0].Target, nil), "клиент ждёт ответа") {
		t.Errorf("card comment: %+v", cards)
	}
	if len(mails) != 1 || mails[0].Target.Language != "de" || !strings.Contains(mails[0].Message.Title(mails[0].Target), "SLA verletzt: Kunde wartet auf Antwort") {
		t.Errorf("agency mail: %+v", mails)
	}
}
