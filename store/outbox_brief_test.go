package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// A brief list leaves out the payloads over BriefPayload, and only them.
func TestDeliveriesBrief(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			small := `{"kind":"transition","title":"Reply to John"}`
			// Random-looking text: PostgreSQL compresses what repeats.
			var b strings.Builder
			for i := 0; b.Len() < 3*store.BriefPayload; i++ {
				b.WriteString(store.Hash(i))
			}
			large := `{"kind":"summary","note":"` + b.String() + `"}`
			now := time.Now().UTC()
			rows := []store.OutboxRow{
				{IdempotencyKey: "small", Kind: "transition", Sink: "mail", Payload: small, Target: "{}", Status: store.OutboxPending, CreatedAt: now},
				{IdempotencyKey: "large", Kind: "summary", Sink: "mail", Payload: large, Target: "{}", Status: store.OutboxPending, CreatedAt: now},
			}
			if err := st.PlanOutbox(ctx, func(q *store.OutboxQuery) error { _, err := q.Insert(ctx, rows); return err }); err != nil {
				t.Fatal(err)
			}
			for _, brief := range []bool{false, true} {
				got, err := st.Deliveries(ctx, store.DeliveryFilter{Brief: brief})
				if err != nil || len(got) != 2 {
					t.Fatalf("brief %v: %d rows, %v", brief, len(got), err)
				}
				payloads := map[string]string{}
				for _, r := range got {
					payloads[r.IdempotencyKey] = r.Payload
				}
				// PostgreSQL gives JSON back in its own spacing.
				if !strings.Contains(payloads["small"], "Reply to John") {
					t.Errorf("brief %v: the small payload is %q", brief, payloads["small"])
				}
				if full := strings.Contains(payloads["large"], b.String()); full == brief || !brief && payloads["large"] == "" {
					t.Errorf("brief %v: the large payload has %d bytes", brief, len(payloads["large"]))
				}
			}
		})
	}
}
