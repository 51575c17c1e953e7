package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// A scratch store holds the store's rows, takes new ones after them (its
// ids go on from the copied ones), and writes nothing back; drop removes
// it.
func TestScratch(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
			insert := func(s *store.Store, key string) {
				t.Helper()
				err := s.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
					_, err := q.Insert(ctx, []store.OutboxRow{{IdempotencyKey: key, Kind: "notice", Sink: "mail", Payload: "{}", Status: store.OutboxPending, CreatedAt: now}})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			insert(st, "a")
			sc, drop, err := st.Scratch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			insert(sc, "b")
			rows, err := sc.Deliveries(ctx, store.DeliveryFilter{})
			if err != nil || len(rows) != 2 || rows[0].IdempotencyKey != "b" || rows[1].IdempotencyKey != "a" || rows[0].ID <= rows[1].ID {
				t.Fatalf("scratch rows: %+v %v; want a copied, b after it", rows, err)
			}
			if rows, err := st.Deliveries(ctx, store.DeliveryFilter{}); err != nil || len(rows) != 1 {
				t.Errorf("the store holds %d rows (%v), want its 1", len(rows), err)
			}
			scratches := func() int {
				var n int
				if dialect == store.Postgres {
					if err := st.Get(context.Background(), &n, `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE current_schema() || '_dry_run_%'`); err != nil {
						t.Fatal(err)
					}
				}
				return n
			}
			if dialect == store.Postgres && scratches() != 1 {
				t.Errorf("%d scratch schemas named after the store's, want 1", scratches())
			}
			drop()
			if n := scratches(); n != 0 {
				t.Errorf("%d scratch schemas left after drop", n)
			}
		})
	}
}
