package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
	"github.com/karkas/karkas/sync/pipeline"
)

// An evaluation of some clients (the daemon's, after a webhook) stores for
// them exactly what an evaluation of every client stores, and leaves the
// other clients' clocks alone: the demo synced into two stores, then
// evaluated three days later whole in one and client by client in the
// other, ends with the same clocks, transitions and notifications.
func TestScopedEvaluationAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	config, data := demoSetup(t, 1, 500)
	lookup := func(k string) (string, bool) {
		if k == "KARKAS_DEMO_DATA" {
			return data, true
		}
		return os.LookupEnv(k)
	}
	l, err := pipeline.Load(config, lookup, secret.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	rules, err := evaluate.NewRules(l.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var sts []*store.Store
			for range 2 {
				url := testdb.URL(t, dialect)
				if out, err := syncCmd(bin, config, data, url).CombinedOutput(); err != nil {
					t.Fatalf("sync: %v\n%s", err, out)
				}
				sts = append(sts, openStore(t, url))
			}
			whole, byClient := sts[0], sts[1]
			later := time.Now().Add(72 * time.Hour).UTC()
			if _, err := rules.UseHistory(ctx, whole, later, false); err != nil {
				t.Fatal(err)
			}
			res, err := evaluate.Run(ctx, whole, rules, later)
			if err != nil {
				t.Fatal(err)
			}
			if res.Changes.Transitions == 0 {
				t.Fatal("three days later nothing turned: the test would prove nothing")
			}
			transitions := 0
			for i, c := range l.Clients {
				others := clocksOf(t, byClient, c.ID, false)
				r, err := evaluate.RunClients(ctx, byClient, rules, later, []string{c.ID})
				if err != nil {
					t.Fatal(err)
				}
				transitions += r.Changes.Transitions
				for _, cl := range r.Clocks {
					if cl.ClientID != c.ID {
						t.Fatalf("an evaluation of %s gave a clock of %s", c.ID, cl.ClientID)
					}
				}
				if got := clocksOf(t, byClient, c.ID, false); got != others {
					t.Errorf("evaluating client %d (%s) changed other clients' clocks", i, c.ID)
				}
			}
			if transitions != res.Changes.Transitions {
				t.Errorf("client by client: %d transitions, whole: %d", transitions, res.Changes.Transitions)
			}
			for _, c := range l.Clients {
				if a, b := clocksOf(t, whole, c.ID, true), clocksOf(t, byClient, c.ID, true); a != b {
					t.Errorf("client %s: clocks differ:\nwhole:     %.300s\nby client: %.300s", c.ID, a, b)
				}
			}
			for _, q := range []string{`SELECT COUNT(*) FROM sla_transitions`, `SELECT COUNT(*) FROM outbox`} {
				var a, b int
				whole.Get(ctx, &a, q)
				byClient.Get(ctx, &b, q)
				if a != b {
					t.Errorf("%s: whole %d, by client %d", q, a, b)
				}
			}
		})
	}
}

// clocksOf renders the stored clocks of a client (or, when !of, of every
// other client) for comparison.
func clocksOf(t *testing.T, st *store.Store, client string, of bool) string {
	t.Helper()
	op := "<>"
	if of {
		op = "="
	}
	var rows []struct {
		ID, State string
		Due       *time.Time `db:"due_at"`
		Breached  *time.Time `db:"breached_at"`
		Stopped   *time.Time `db:"stopped_at"`
		Seconds   int64      `db:"business_seconds"`
		Version   int        `db:"version"`
	}
	if err := st.Select(context.Background(), &rows, `SELECT id, state, due_at, breached_at, stopped_at, business_seconds, version
		FROM sla_clocks WHERE client_id `+op+` ? ORDER BY id`, client); err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, r := range rows {
		out += fmt.Sprintf("%s %s %v %v %v %d %d; ", r.ID, r.State, r.Due, r.Breached, r.Stopped, r.Seconds, r.Version)
	}
	return out
}
