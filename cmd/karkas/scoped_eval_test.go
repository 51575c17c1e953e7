package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
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
	bin, config, data, l, _ := demoRules(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			// Rules of its own: UseHistory sets their calendars, and the
			// other dialect's subtest runs at the same time.
			rules, err := evaluate.NewRules(l.Config)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			sts := syncedTwice(t, bin, config, data, dialect)
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
				r, err := evaluate.RunScope(ctx, byClient, rules, later, &store.Scope{Clients: []string{c.ID}})
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

// The daemon's evaluations of part of the store (what a webhook's pull
// wrote, what came due) store what a whole evaluation stores: the demo
// synced into two stores; the same changes written to both (a client's
// new comment on a card, the agency's reply on a card and in a mail
// thread that waited, a due date set, a card deleted), as a webhook's
// pull writes them; then one store evaluated whole and the other by the
// scope the changes wrote (store.ChangedScope), and three days later
// whole and by what came due (store.DueScope). The clocks, transitions
// and notifications agree at both instants.
func TestDaemonScopesAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin, config, data, l, _ := demoRules(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			// Rules of its own: UseHistory sets their calendars, and the
			// other dialect's subtest runs at the same time.
			rules, err := evaluate.NewRules(l.Config)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			sts := syncedTwice(t, bin, config, data, dialect)
			whole, scoped := sts[0], sts[1]
			now := time.Now().UTC()
			changes := daemonChanges(t, whole, now)
			since := time.Now()
			for _, st := range sts {
				app := &pipeline.App{Loaded: l, Store: st, Logger: slog.New(slog.DiscardHandler), Secrets: secret.NewSet()}
				for _, c := range changes {
					eng, err := app.NewLazyEngine(ctx, st, nil)
					if err != nil {
						t.Fatal(err)
					}
					r := eng.Run(ctx, engine.Job{Info: pipeline.SourceInfo(sourceOf(t, l, c.source)), Source: c, Partial: true})
					if r.Err != nil || r.Written.Total() == 0 {
						t.Fatalf("writing the change to %s: %v, %d rows", c.source, r.Err, r.Written.Total())
					}
					if r.Threaded > 0 {
						t.Fatalf("the mail change rethreaded %d messages: the daemon would evaluate whole", r.Threaded)
					}
				}
			}
			sc, err := scoped.ChangedScope(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Clients) > 0 || len(sc.Tasks) < 4 || len(sc.Threads) == 0 || len(sc.Contact) == 0 {
				t.Fatalf("the changes' scope %+v: the test would not try the subjects' scope", sc)
			}
			compare := func(at time.Time, sc *store.Scope, what string) {
				t.Helper()
				w, err := evaluate.Run(ctx, whole, rules, at)
				if err != nil {
					t.Fatal(err)
				}
				s, err := evaluate.RunScope(ctx, scoped, rules, at, sc)
				if err != nil {
					t.Fatal(err)
				}
				if w.Changes.Transitions == 0 {
					t.Fatalf("%s: nothing turned: the test would prove nothing", what)
				}
				if w.Changes.Transitions != s.Changes.Transitions || w.Changes.Outbox != s.Changes.Outbox {
					t.Errorf("%s: whole %d transitions, %d notifications; scoped %d, %d", what,
						w.Changes.Transitions, w.Changes.Outbox, s.Changes.Transitions, s.Changes.Outbox)
				}
				if a, b := storedHistory(t, whole), storedHistory(t, scoped); a != b {
					t.Errorf("%s: the stores differ:\n%s", what, firstDiff(a, b))
				}
			}
			compare(now, &sc, "after the changes")
			later := now.Add(72 * time.Hour)
			for _, st := range sts {
				if _, err := rules.UseHistory(ctx, st, later, false); err != nil {
					t.Fatal(err)
				}
			}
			due, err := scoped.DueScope(ctx, later)
			if err != nil {
				t.Fatal(err)
			}
			compare(later, &due, "three days later")
		})
	}
}

// batchSource emits one batch, as a webhook's pull of a card would.
type batchSource struct {
	source string
	batch  record.Batch
}

func (b batchSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	batch := b.batch
	batch.Cursor = cursor
	return emit(ctx, &batch)
}

func sourceOf(t *testing.T, l *mapping.Loaded, id string) mapping.Source {
	t.Helper()
	for _, s := range l.Sources {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no source %s", id)
	return mapping.Source{}
}

// daemonChanges are records that change what policies see, made from
// stored ones.
func daemonChanges(t *testing.T, st *store.Store, now time.Time) []batchSource {
	t.Helper()
	ctx := context.Background()
	one := func(q string, dest any) {
		t.Helper()
		var raw string
		if err := st.Get(ctx, &raw, st.Rebind(q)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := json.Unmarshal([]byte(raw), dest); err != nil {
			t.Fatal(err)
		}
	}
	open := `c.policy = 'response' AND c.state IN ('running', 'at_risk', 'breached')`
	var ask, reply, mail record.Message
	// A client's new question on a card.
	one(`SELECT m.raw FROM messages m WHERE m.source_id = 'trello' AND m.author_side = 'client' AND m.task_id <> ''
		ORDER BY m.external_id LIMIT 1`, &ask)
	ask.ExternalID, ask.SentAt, ask.Body = ask.ExternalID+"-again", now.Add(-time.Minute), "Any news on this?"
	// The agency's reply on a card whose client waits.
	one(`SELECT m.raw FROM messages m JOIN sla_clocks c ON c.subject_kind = 'task' AND c.subject_source_id = m.source_id
		AND c.subject_external_id = m.task_id WHERE `+open+` AND m.source_id = 'trello' AND m.author_side = 'agency'
		ORDER BY m.external_id LIMIT 1`, &reply)
	reply.ExternalID, reply.SentAt, reply.Body = reply.ExternalID+"-reply", now.Add(-30*time.Second), "Done, see the staging link."
	// The agency's reply in a mail thread whose client waits.
	one(`SELECT m.raw FROM messages m JOIN sla_clocks c ON c.subject_kind = 'thread' AND c.subject_source_id = m.source_id
		AND c.subject_external_id = m.thread_key WHERE `+open+` AND m.author_side = 'agency'
		ORDER BY m.external_id LIMIT 1`, &mail)
	mail.ExternalID, mail.SentAt, mail.Body = mail.ExternalID+"-reply", now.Add(-10*time.Second), "Sent you the figures."
	var due, gone record.Task
	one(`SELECT raw FROM tasks WHERE source_id = 'trello' AND due_at IS NULL AND NOT closed AND deleted_at IS NULL
		AND status IN ('todo', 'in_progress', 'review') ORDER BY external_id LIMIT 1`, &due)
	d := now.Add(time.Hour)
	due.DueAt, due.UpdatedAt = &d, now
	one(`SELECT t.raw FROM tasks t JOIN sla_clocks c ON c.subject_kind = 'task' AND c.subject_source_id = t.source_id
		AND c.subject_external_id = t.external_id WHERE c.state IN ('running', 'at_risk', 'breached') AND t.source_id = 'trello'
		AND t.external_id <> '`+reply.TaskID+`' ORDER BY t.external_id LIMIT 1`, &gone)
	gone.Deleted = true
	return []batchSource{
		{source: "trello", batch: record.Batch{Tasks: []record.Task{due, gone}, Messages: []record.Message{ask, reply}}},
		{source: "mail", batch: record.Batch{Messages: []record.Message{mail}}},
	}
}

// storedHistory renders what an evaluation stores and tells, for
// comparison: every clock's state and instants (not the business time a
// running clock has counted, which only its own evaluation refreshes),
// every transition and every notification. Budget clocks are left out:
// those the calendar alone starts (the month's last week, a new month)
// come with the daemon's periodic whole evaluation, not with a due
// instant.
func storedHistory(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id || ' ' || state || ' ' || COALESCE(CAST(due_at AS TEXT), '-') || ' ' || COALESCE(CAST(breached_at AS TEXT), '-') || ' ' ||
			COALESCE(CAST(stopped_at AS TEXT), '-') || ' v' || CAST(version AS TEXT) FROM sla_clocks WHERE policy <> 'hour_budget' ORDER BY id`,
		`SELECT r.clock_id || ' ' || r.from_state || '>' || r.to_state || ' ' || CAST(r.seq AS TEXT) FROM sla_transitions r
			JOIN sla_clocks c ON c.id = r.clock_id WHERE c.policy <> 'hour_budget' ORDER BY r.clock_id, r.seq`,
		`SELECT o.idempotency_key FROM outbox o LEFT JOIN sla_clocks c ON c.id = o.clock_id
			WHERE COALESCE(c.policy, '') <> 'hour_budget' ORDER BY o.idempotency_key`,
	} {
		var rows []string
		if err := st.Select(ctx, &rows, q); err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(rows, "\n"))
		b.WriteString("\n--\n")
	}
	return b.String()
}

// firstDiff shows the first lines where a and b part.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		x, y := "", ""
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\nwhole:  %s\nscoped: %s", i+1, x, y)
		}
	}
	return ""
}

// demoRules builds karkas and the demo data, and loads the demo config
// and its rules.
func demoRules(t *testing.T) (bin, config, data string, l *mapping.Loaded, rules *evaluate.Rules) {
	t.Helper()
	bin = buildBinary(t)
	config, data = demoSetup(t, 1, 500)
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
	if rules, err = evaluate.NewRules(l.Config); err != nil {
		t.Fatal(err)
	}
	return bin, config, data, l, rules
}

// syncedTwice is two stores the demo was synced into by the binary.
func syncedTwice(t *testing.T, bin, config, data, dialect string) []*store.Store {
	t.Helper()
	var sts []*store.Store
	for range 2 {
		url := testdb.URL(t, dialect)
		if out, err := syncCmd(bin, config, data, url).CombinedOutput(); err != nil {
			t.Fatalf("sync: %v\n%s", err, out)
		}
		sts = append(sts, openStore(t, url))
	}
	return sts
}
