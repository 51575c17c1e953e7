package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// A claimed delivery is its worker's until the lease ends; a worker whose
// lease ran out and was taken over records nothing, so only the worker
// holding the row says how it ended.
func TestOutboxLeases(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
			err := st.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
				n, err := q.Insert(ctx, []store.OutboxRow{
					{IdempotencyKey: "a", Kind: "notice", Sink: "mail", Payload: "{}", Status: store.OutboxPending, CreatedAt: now},
					{IdempotencyKey: "a", Kind: "notice", Sink: "mail", Payload: "{}", Status: store.OutboxPending, CreatedAt: now},
					{IdempotencyKey: "later", Kind: "notice", Sink: "mail", Payload: "{}", Status: store.OutboxPending, CreatedAt: now,
						NextAttemptAt: new(now.Add(time.Hour))},
				})
				if n != 2 {
					t.Errorf("inserted %d rows, want 2 (one key twice)", n)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			a, err := st.ClaimDelivery(ctx, "A", now, time.Minute)
			if err != nil || a == nil || a.IdempotencyKey != "a" || a.Attempts != 1 || a.LeaseOwner != "A" {
				t.Fatalf("A's claim: %+v %v", a, err)
			}
			if b, err := st.ClaimDelivery(ctx, "B", now.Add(30*time.Second), time.Minute); err != nil || b != nil {
				t.Fatalf("B claimed under A's lease, or a row not due: %+v %v", b, err)
			}
			b, err := st.ClaimDelivery(ctx, "B", now.Add(2*time.Minute), time.Minute)
			if err != nil || b == nil || b.ID != a.ID || b.Attempts != 2 {
				t.Fatalf("B's claim after the lease: %+v %v", b, err)
			}
			if ok, err := st.FinishDelivery(ctx, a.ID, "A", now, store.Outcome{Status: store.OutboxFailed, Error: "late"}); err != nil || ok {
				t.Fatalf("A recorded after losing its lease: %v %v", ok, err)
			}
			if ok, err := st.FinishDelivery(ctx, b.ID, "B", now.Add(2*time.Minute), store.Outcome{Status: store.OutboxDelivered, Ref: "r1"}); err != nil || !ok {
				t.Fatalf("B's record: %v %v", ok, err)
			}
			got, err := st.Delivery(ctx, a.ID)
			if err != nil || got.Status != store.OutboxDelivered || got.ExternalRef != "r1" || got.LeaseOwner != "" || got.LeaseUntil != nil ||
				got.DeliveredAt == nil || !got.DeliveredAt.Equal(now.Add(2*time.Minute)) {
				t.Errorf("after B's record: %+v %v", got, err)
			}
			// A try given back (outside business hours) does not count.
			c, _ := st.ClaimDelivery(ctx, "C", now.Add(time.Hour), time.Minute)
			if c == nil || c.IdempotencyKey != "later" {
				t.Fatalf("the later row at its time: %+v", c)
			}
			if ok, _ := st.FinishDelivery(ctx, c.ID, "C", now.Add(time.Hour), store.Outcome{Status: store.OutboxPending, Next: now.Add(2 * time.Hour),
				NotAttempted: true}); !ok {
				t.Fatal("C's record")
			}
			if got, _ := st.Delivery(ctx, c.ID); got.Attempts != 0 || got.Status != store.OutboxPending || !got.NextAttemptAt.Equal(now.Add(2*time.Hour)) {
				t.Errorf("given back: %+v", got)
			}
		})
	}
}

// Skip marks pending and held rows skipped with the reason; a row a
// worker holds under a live lease, or one already finished, is left to
// its worker until the lease ends.
func TestOutboxSkip(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
			row := func(key, status string) store.OutboxRow {
				return store.OutboxRow{IdempotencyKey: key, Kind: "notice", Sink: "gone", Payload: "{}", Status: status, CreatedAt: now}
			}
			err := st.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
				_, err := q.Insert(ctx, []store.OutboxRow{row("leased", store.OutboxPending), row("pending", store.OutboxPending),
					row("held", store.OutboxHeld), row("done", store.OutboxDelivered)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			all, err := st.Deliveries(ctx, store.DeliveryFilter{})
			if err != nil || len(all) != 4 {
				t.Fatalf("rows: %+v %v", all, err)
			}
			var ids []int64
			for _, r := range all {
				ids = append(ids, r.ID)
			}
			leased, err := st.ClaimDelivery(ctx, "W", now, time.Minute)
			if err != nil || leased == nil || leased.IdempotencyKey != "leased" {
				t.Fatalf("claim: %+v %v", leased, err)
			}
			skip := func(at time.Time) map[string]store.OutboxRow {
				t.Helper()
				err := st.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
					return q.Skip(ctx, ids, "sink gone is no longer in routing", at)
				})
				if err != nil {
					t.Fatal(err)
				}
				rows, err := st.Deliveries(ctx, store.DeliveryFilter{})
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]store.OutboxRow{}
				for _, r := range rows {
					out[r.IdempotencyKey] = r
				}
				return out
			}
			got := skip(now.Add(30 * time.Second))
			for key, want := range map[string]string{"leased": store.OutboxPending, "pending": store.OutboxSkipped,
				"held": store.OutboxSkipped, "done": store.OutboxDelivered} {
				if r := got[key]; r.Status != want || (want == store.OutboxSkipped) != (r.LastError == "sink gone is no longer in routing") {
					t.Errorf("%s: %s (%q), want %s", key, r.Status, r.LastError, want)
				}
			}
			if r := skip(now.Add(2 * time.Minute))["leased"]; r.Status != store.OutboxSkipped {
				t.Errorf("after its lease the leased row is %s, want skipped", r.Status)
			}
			if err := st.ReadOutbox().Skip(ctx, ids, "x", now); err == nil {
				t.Error("a read-only query skipped rows")
			}
		})
	}
}

// TakeOverLeases ends the live leases of other owners on pending
// deliveries, and no other: not the caller's own, and not a delivered
// row's.
func TestTakeOverLeases(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
			err := st.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
				var rows []store.OutboxRow
				for _, k := range []string{"dead", "mine", "done"} {
					rows = append(rows, store.OutboxRow{IdempotencyKey: k, Kind: "notice", Sink: "mail", Payload: "{}", Status: store.OutboxPending, CreatedAt: now})
				}
				_, err := q.Insert(ctx, rows)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			claim := func(owner string, at time.Time) *store.OutboxRow {
				r, err := st.ClaimDelivery(ctx, owner, at, 10*time.Minute)
				if err != nil || r == nil {
					t.Fatalf("%s's claim: %+v %v", owner, r, err)
				}
				return r
			}
			dead, mine, done := claim("dead run", now), claim("me", now), claim("dead run", now)
			if ok, err := st.FinishDelivery(ctx, done.ID, "dead run", now, store.Outcome{Status: store.OutboxDelivered, Ref: "r"}); !ok || err != nil {
				t.Fatalf("record: %v %v", ok, err)
			}
			later := now.Add(time.Minute)
			orphans, err := st.TakeOverLeases(ctx, "me", later)
			if err != nil || len(orphans) != 1 || orphans[0].ID != dead.ID || orphans[0].Owner != "dead run" || orphans[0].Attempts != 1 {
				t.Fatalf("taken over: %+v %v; want the dead run's pending row alone", orphans, err)
			}
			r := claim("me", later)
			if r.ID != dead.ID || r.Attempts != 2 {
				t.Errorf("the next claim took %+v, want the dead run's row at its second attempt", r)
			}
			if got, _ := st.Delivery(ctx, mine.ID); got.LeaseOwner != "me" || got.LeaseUntil == nil || !got.LeaseUntil.Equal(now.Add(10*time.Minute)) {
				t.Errorf("the caller's own lease changed: %+v", got)
			}
		})
	}
}
