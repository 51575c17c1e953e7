package push

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// Deliveries planned for a sink the admin then removes from routing.sinks
// are skipped at the next planning, with the reason, and never sent; the
// other sinks' deliveries go on.
func TestStaleSinkDeliveriesSkipped(t *testing.T) {
	t.Parallel()
	const before = `  sinks:
    cards: {kind: trello, options: {key: k, token: t}}
    mail: {kind: email, options: {host: localhost, from: sla@northwind.agency}}
  defaults:
    - {policies: [response], sink: cards, to: [assignee]}
    - {policies: [response], sink: mail, to: [pm]}
    - {policies: [stage_limit], states: [breached], sink: mail, to: [lead], after: 1d}
    - {policies: [hygiene], sink: mail, to: [pm], digest: ["09:00"]}
`
	const after = `  sinks:
    cards: {kind: trello, options: {key: k, token: t}}
  defaults:
    - {policies: [response], sink: cards, to: [assignee]}
`
	const reason = "sink mail is no longer in routing"
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newWorld(t, dialect, before)
			old := w.stubbed(nil)
			w.queue(w.cardClock(sla.PolicyResponse, sla.Breached), w.cardClock(sla.PolicyStageLimit, sla.Breached),
				w.cardClock(sla.PolicyHygiene, sla.Breached))
			// Planned, not yet sent: the mail to the pm is due, the
			// escalation waits a day, the hygiene notice its digest.
			if _, err := w.worker("one").Plan(ctx); err != nil {
				t.Fatal(err)
			}
			var mailIDs []int64
			var due, later, held int
			for _, r := range w.rows() {
				if r.Sink != "mail" {
					continue
				}
				mailIDs = append(mailIDs, r.ID)
				switch {
				case r.Status == store.OutboxHeld:
					held++
				case r.Status == store.OutboxPending && r.NextAttemptAt != nil:
					later++
				case r.Status == store.OutboxPending:
					due++
				}
			}
			if due != 1 || later != 1 || held != 1 {
				t.Fatalf("mail rows before the edit: %d due, %d later, %d held, want 1 each", due, later, held)
			}

			w.configure(after)
			stubs := w.stubbed(nil)
			// A dry plan shows them dropped and out of the queue, and
			// writes nothing.
			dry, err := w.worker("dry").Planner.Run(ctx, w.st.ReadOutbox(), w.clock.Now(), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(dry.Stale) != 1 || dry.Stale[0].Sink != "mail" || !slices.Equal(dry.Stale[0].IDs, mailIDs) || dry.Stale[0].Reason != reason {
				t.Errorf("dry plan's stale: %+v, want mail's %v", dry.Stale, mailIDs)
			}
			for _, r := range dry.Queue {
				if r.Sink == "mail" {
					t.Errorf("dry plan queues %s for the removed sink", r.IdempotencyKey)
				}
			}
			for _, r := range w.rows() {
				if r.Sink == "mail" && r.Status == store.OutboxSkipped {
					t.Errorf("the dry plan wrote %s skipped", r.IdempotencyKey)
				}
			}

			rep := w.run(w.worker("one"))
			if rep.Delivered != 1 || rep.Failed+rep.Skipped+rep.Retrying != 0 {
				t.Errorf("after the edit: %+v, want the card's delivery only", rep)
			}
			if len(rep.Plan.Stale) != 1 || !slices.Equal(rep.Plan.Stale[0].IDs, mailIDs) {
				t.Errorf("stale: %+v, want mail's %v", rep.Plan.Stale, mailIDs)
			}
			check := func(when string) []store.OutboxRow {
				rows := w.rows()
				for _, r := range rows {
					switch {
					case r.Sink == "mail" && (r.Status != store.OutboxSkipped || r.LastError != reason):
						t.Errorf("%s: %s is %s (%q), want skipped (%q)", when, r.IdempotencyKey, r.Status, r.LastError, reason)
					case r.Sink == "cards" && r.Status != store.OutboxDelivered:
						t.Errorf("%s: %s is %s, want delivered", when, r.IdempotencyKey, r.Status)
					}
				}
				return rows
			}
			rows := check("after the edit")
			if n := len(stubs["cards"].deliveries()); n != 1 {
				t.Errorf("%d card deliveries, want 1", n)
			}

			// The escalation's and the digest's time: nothing goes, and
			// nothing changes.
			w.clock.AdvanceTo(time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC))
			rep = w.run(w.worker("one"))
			if rep.Delivered+rep.Failed+rep.Skipped+rep.Retrying != 0 || len(rep.Plan.Stale) != 0 || len(rep.Plan.Folds) != 0 {
				t.Errorf("second run: %+v, stale %+v", rep, rep.Plan.Stale)
			}
			if got, want := states(check("second run")), states(rows); !slices.Equal(got, want) {
				t.Errorf("the second run changed the outbox:\n%v\nwas\n%v", got, want)
			}
			if n := len(old["mail"].deliveries()); n != 0 {
				t.Errorf("%d deliveries reached the removed sink", n)
			}
		})
	}
}

// states sums rows up for comparing: key, status, attempts and reason.
func states(rows []store.OutboxRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %d %q", r.IdempotencyKey, r.Status, r.Attempts, r.LastError))
	}
	return out
}
