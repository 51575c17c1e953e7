package everhour_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// loadConfig parses a config whose everhour source options are checked
// against the kind's, and returns it with the everhour options.
func loadConfig(t *testing.T, dir, yaml string) (*mapping.Loaded, *timetrack.Options) {
	t.Helper()
	path := filepath.Join(dir, "karkas.yaml")
	l, err := mapping.Parse(path, []byte(yaml), mapping.LoadOptions{
		SourceOptions: func(kind string) (any, bool) {
			switch kind {
			case everhour.KindName:
				return everhour.Kind().NewOptions(), true
			case trello.ExportKindName:
				return trello.ExportKind().NewOptions(), true
			}
			return nil, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := l.SourceOptions["everhour"].(*timetrack.Options)
	if !ok {
		t.Fatalf("everhour options are %T", l.SourceOptions["everhour"])
	}
	return l, o
}

// everhourSource opens the source the way the kind does, but with the
// test's virtual clock in the client.
func everhourSource(t *testing.T, o *timetrack.Options, srv *everhourfake.Server, clock *vclock.Virtual) connectors.Source {
	t.Helper()
	tr, err := everhour.New(everhour.Config{BaseURL: o.BaseURL, Token: o.Token.Reveal(), HTTPClient: srv.Client(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return timetrack.NewSource(tr, *o, connectors.Env{Now: clock.Now})
}

var everhourInfo = mapping.SourceInfo{ID: "everhour", Kind: everhour.KindName, Identity: mapping.IdentityTimeTracker}

func run(t *testing.T, st *store.Store, l *mapping.Loaded, jobs ...engine.Job) {
	t.Helper()
	ctx := context.Background()
	e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range e.RunAll(ctx, jobs) {
		if res.Err != nil {
			t.Fatalf("sync of %s: %v", res.SourceID, res.Err)
		}
	}
}

// storeHours sums the live seconds of the source's entries by column.
func storeHours(t *testing.T, st *store.Store, col string) map[string]int64 {
	t.Helper()
	var rows []struct {
		K string `db:"k"`
		S int64  `db:"s"`
	}
	q := st.Rebind(fmt.Sprintf(`SELECT %s AS k, SUM(seconds) AS s FROM time_entries
		WHERE source_id = ? AND deleted_at IS NULL GROUP BY %s`, col, col))
	if err := st.Select(context.Background(), &rows, q, "everhour"); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.K] = r.S
	}
	return out
}

// The "done means" for Everhour, on SQLite and PostgreSQL: a
// month (and its backfill) synced from the fake through the real engine
// into a real store; one entry edited, one deleted, one added; synced
// again: the live hours per person, per task and per client in the store
// equal the fake's exactly.
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			clock := vclock.NewVirtual(start)
			w := everhourfake.NewWorld(clock)
			w.Generate(5, 6, 600, 3)
			srv := everhourfake.New(t, everhourfake.Options{World: w})

			var cfg strings.Builder
			cfg.WriteString("agency: {name: Northwind, domains: [northwind.agency]}\nclients:\n")
			clientID := map[string]string{"": ""}
			for i, c := range w.Clients() {
				id := fmt.Sprintf("c%d", i+1)
				clientID[c.Name] = id
				fmt.Fprintf(&cfg, "  - {id: %s, name: %q}\n", id, c.Name)
			}
			fmt.Fprintf(&cfg, "sources:\n  - {id: everhour, kind: everhour, options: {base_url: %q, token: %q, backfill_months: 3}}\n",
				srv.BaseURL(), srv.APIKey())
			l, o := loadConfig(t, t.TempDir(), cfg.String())
			src := everhourSource(t, o, srv, clock)
			job := engine.Job{Info: everhourInfo, Source: src}

			check := func(what string) {
				t.Helper()
				person, task, client := map[string]int64{}, map[string]int64{}, map[string]int64{}
				n := 0
				for _, e := range w.Entries() {
					n++
					person[strconv.FormatInt(e.User, 10)] += e.Time
					task[e.TaskID] += e.Time
					client[clientID[w.ClientOf(e.TaskID).Name]] += e.Time
				}
				timetracktest.SameHours(t, what+": person", "Everhour", storeHours(t, st, "person_ref"), person)
				timetracktest.SameHours(t, what+": task", "Everhour", storeHours(t, st, "task_ref"), task)
				timetracktest.SameHours(t, what+": client", "Everhour", storeHours(t, st, "client_id"), client)
				live, _, err := st.TableCounts(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if live["time_entries"] != n {
					t.Errorf("%s: %d live entries, fake has %d", what, live["time_entries"], n)
				}
			}
			run(t, st, l, job)
			check("first sync")
			if n := len(storeHours(t, st, "client_id")); n < 3 {
				t.Errorf("entries of %d clients, want several", n)
			}

			// Edit, delete and add in the current month.
			var edited, deleted everhourfake.Entry
			for _, e := range w.Entries() {
				if strings.HasPrefix(e.Date, "2026-03") {
					if edited.ID == 0 {
						edited = e
					} else if deleted.ID == 0 && e.User != edited.User {
						deleted = e
					}
				}
			}
			clock.Advance(time.Hour)
			w.EditEntry(edited.ID, edited.Time+45*60, "правка")
			w.DeleteEntry(deleted.ID)
			added := w.AddEntry(w.Users()[1].ID, w.Tasks()[2].ID, "2026-03-18", 2700, "новая запись")
			run(t, st, l, job)
			check("after an edit, a delete and an add")

			var gone int
			if err := st.Get(context.Background(), &gone, st.Rebind(`SELECT COUNT(*) FROM time_entries WHERE source_id = ? AND deleted_at IS NOT NULL`), "everhour"); err != nil {
				t.Fatal(err)
			}
			if gone != 1 {
				t.Errorf("%d soft-deleted entries, want the 1 deleted", gone)
			}
			var note string
			if err := st.Get(context.Background(), &note, st.Rebind(`SELECT note FROM time_entries WHERE source_id = ? AND external_id = ?`), "everhour", strconv.FormatInt(added.ID, 10)); err != nil || note != "новая запись" {
				t.Errorf("added entry: note %q, err %v", note, err)
			}
		})
	}
}

// An Everhour entry on a Trello-linked task, by card id or by short link,
// lands on the same task row as the card's comments.
func TestTrelloLinkedTask(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			dir := t.TempDir()
			clock := vclock.NewVirtual(start)

			tw := trellofake.NewWorld(clock)
			board := tw.AddBoard("Acme")
			list := tw.AddList(board.ID, "To Do")
			byID := tw.CreateCard(tw.Me().ID, list.ID, "Landing page")
			byLink := tw.CreateCard(tw.Me().ID, list.ID, "Логотип")
			tw.CommentCard(tw.Me().ID, byID.ID, "Draft is up")
			tw.CommentCard(tw.Me().ID, byLink.ID, "Версия 2")
			export, err := tw.ExportJSON(board.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "acme.json"), export, 0o644); err != nil {
				t.Fatal(err)
			}

			w := everhourfake.NewWorld(clock)
			u := w.AddUser("Anna Petrova", "anna@northwind.agency")
			acme := w.AddClient("Acme Foods Inc")
			proj := w.AddProject("tr", "Acme", acme.ID)
			t1 := w.AddTask(proj.ID, "tr:"+byID.ID, byID.Name)
			t2 := w.AddTask(proj.ID, "tr:"+byLink.ShortLink, byLink.Name)
			other := w.AddTask(w.AddProject("ev", "Internal", 0).ID, "", "Admin")
			e1 := w.AddEntry(u.ID, t1.ID, "2026-03-10", 3600, "")
			e2 := w.AddEntry(u.ID, t2.ID, "2026-03-11", 1800, "")
			e3 := w.AddEntry(u.ID, other.ID, "2026-03-11", 900, "")
			srv := everhourfake.New(t, everhourfake.Options{World: w})

			l, o := loadConfig(t, dir, fmt.Sprintf(`agency: {name: Northwind, domains: [northwind.agency]}
clients:
  - {id: acme, name: Acme, boards: [%s]}
sources:
  - {id: trello, kind: trello_export, options: {files: [acme.json]}}
  - {id: everhour, kind: everhour, options: {base_url: %q, token: %q, backfill_months: 1, reconcile_months: 1}}
`, board.ID, srv.BaseURL(), srv.APIKey()))
			exp, err := trello.ExportKind().Open(l.SourceOptions["trello"], connectors.Env{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			run(t, st, l,
				engine.Job{Info: mapping.SourceInfo{ID: "trello", Kind: trello.ExportKindName, Identity: mapping.IdentityTrello}, Source: exp},
				engine.Job{Info: everhourInfo, Source: everhourSource(t, o, srv, clock)})

			type link struct {
				Source string `db:"task_source_id"`
				Task   string `db:"task_id"`
				Client string `db:"client_id"`
			}
			entryLink := func(id int64) link {
				var l link
				if err := st.Get(context.Background(), &l, st.Rebind(`SELECT task_source_id, task_id, client_id FROM time_entries WHERE source_id = ? AND external_id = ?`),
					"everhour", strconv.FormatInt(id, 10)); err != nil {
					t.Fatal(err)
				}
				return l
			}
			commentLink := func(cardID string) link {
				var ls []link
				if err := st.Select(context.Background(), &ls, st.Rebind(`SELECT m.task_source_id, m.task_id, m.client_id FROM messages m
					JOIN tasks t ON t.source_id = m.task_source_id AND t.external_id = m.task_id
					WHERE t.external_id = ? AND m.deleted_at IS NULL`), cardID); err != nil {
					t.Fatal(err)
				}
				if len(ls) != 1 {
					t.Fatalf("card %s: %d comments linked, want 1", cardID, len(ls))
				}
				return ls[0]
			}
			var shortRow string
			if err := st.Get(context.Background(), &shortRow, st.Rebind(`SELECT external_id FROM tasks WHERE source_id = 'trello' AND short_ref = ?`), byLink.ShortLink); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name  string
				entry int64
				card  string
			}{{"card id", e1.ID, byID.ID}, {"short link", e2.ID, shortRow}} {
				got, want := entryLink(c.entry), commentLink(c.card)
				if got != want || got.Source != "trello" || got.Client != "acme" {
					t.Errorf("%s: entry linked to %+v, the card's comments to %+v", c.name, got, want)
				}
			}
			if got := entryLink(e3.ID); got.Task != "" {
				t.Errorf("native task linked to %+v", got)
			}
		})
	}
}

// A time_categories rule by tag classifies Everhour entries by their
// task's labels, as it does the same entries in the CSV export (whose Tags
// column shows them), and a task relabelled upstream is classified anew at
// the next sync: the window re-read brings the new labels with every
// record of the task.
func TestTaskLabelsClassify(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	clock := vclock.NewVirtual(start)
	w := everhourfake.NewWorld(clock)
	u := w.AddUser("Борис Иванов", "boris@northwind.agency")
	proj := w.AddProject("ev", "Сайт Ромашки", w.AddClient("ООО Ромашка").ID)
	call := w.AddTask(proj.ID, "", "Еженедельная встреча")
	design := w.AddTask(proj.ID, "", "Главная страница")
	w.SetLabels(call.ID, "созвон", "клиент")
	w.SetLabels(design.ID, "дизайн")
	e1 := w.AddEntry(u.ID, call.ID, "2026-03-10", 3600, "")
	e2 := w.AddEntry(u.ID, design.ID, "2026-03-11", 5400, "макет")
	srv := everhourfake.New(t, everhourfake.Options{World: w})

	l, o := loadConfig(t, t.TempDir(), fmt.Sprintf(`agency: {name: Northwind, domains: [northwind.agency]}
clients:
  - {id: romashka, name: ООО Ромашка, projects: [Сайт Ромашки]}
time_categories:
  - {category: communication, tags: [созвон]}
sources:
  - {id: everhour, kind: everhour, options: {base_url: %q, token: %q, backfill_months: 1, reconcile_months: 1}}
`, srv.BaseURL(), srv.APIKey()))
	job := engine.Job{Info: everhourInfo, Source: everhourSource(t, o, srv, clock)}

	type row struct {
		Category string `db:"category"`
		Tags     string `db:"tags"`
	}
	check := func(what string, want map[int64]row) {
		t.Helper()
		for id, w := range want {
			var got row
			if err := st.Get(context.Background(), &got, st.Rebind(`SELECT category, tags FROM time_entries WHERE source_id = ? AND external_id = ?`),
				"everhour", strconv.FormatInt(id, 10)); err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("%s: entry %d is %+v, want %+v", what, id, got, w)
			}
		}
	}
	run(t, st, l, job)
	check("first sync", map[int64]row{
		e1.ID: {"communication", `["созвон","клиент"]`},
		e2.ID: {"production", `["дизайн"]`},
	})

	clock.Advance(time.Hour)
	w.SetLabels(call.ID)
	w.SetLabels(design.ID, "дизайн", "созвон")
	run(t, st, l, job)
	check("after relabelling", map[int64]row{
		e1.ID: {"production", `[]`},
		e2.ID: {"communication", `["дизайн","созвон"]`},
	})
}

// A 429 storm that outlasts the source's deadline fails the sync with the
// deadline named, after waiting out every Retry-After until then (never a
// fixed count of 429s), and keeps what was stored: the backfill's first
// month stays, the cursor covers only it, and the next sync, the storm
// over, brings the rest.
func TestRateLimitStormEndsAtTheDeadlineKeepingWhatWasStored(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	clock := vclock.NewVirtual(start)
	w := everhourfake.NewWorld(clock)
	w.Generate(3, 4, 300, 3)
	srv := everhourfake.New(t, everhourfake.Options{World: w})
	cfg := fmt.Sprintf("agency: {name: Northwind, domains: [northwind.agency]}\nsources:\n  - {id: everhour, kind: everhour, options: {base_url: %q, token: %q, backfill_months: 3, reconcile_months: 1, deadline: 20m}}\n",
		srv.BaseURL(), srv.APIKey())
	l, o := loadConfig(t, t.TempDir(), cfg)
	if o.Deadline != 20*time.Minute || o.RequestTimeout != connectors.DefaultRequestTimeout {
		t.Fatalf("deadline %s, request_timeout %s", o.Deadline, o.RequestTimeout)
	}
	job := engine.Job{Info: everhourInfo, Source: everhourSource(t, o, srv, clock)}
	// January's page passes; from February on, 429 with Retry-After 2.
	srv.Arm(everhourfake.Fault{Kind: everhourfake.FaultRateLimited, Route: "/team/time", Skip: 1, Times: -1, RetryAfter: 2})
	e, err := engine.New(context.Background(), st, mapping.NewResolver(l.Config), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run(context.Background(), job)
	var te *connectors.TimeoutError
	if !errors.As(res.Err, &te) || te.Limit != connectors.LimitDeadline || !strings.Contains(res.Err.Error(), "source deadline 20m reached") {
		t.Fatalf("sync error %v, want the deadline", res.Err)
	}
	if waited := clock.Now().Sub(start); waited < 19*time.Minute {
		t.Errorf("gave up after %s of waiting, want close to the 20m deadline", waited)
	}
	january := 0
	for _, en := range w.Entries() {
		if strings.HasPrefix(en.Date, "2026-01") {
			january++
		}
	}
	live, _, err := st.TableCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if january == 0 || live["time_entries"] != january {
		t.Errorf("%d entries stored, want January's %d", live["time_entries"], january)
	}
	if c, _ := st.Cursor(context.Background(), "everhour"); !strings.Contains(c, `"backfill":"2026-02-01"`) {
		t.Errorf("cursor %s, want the backfill at February", c)
	}
	var runErr string
	if err := st.Get(context.Background(), &runErr, `SELECT error FROM sync_runs ORDER BY id DESC LIMIT 1`); err != nil || !strings.Contains(runErr, "source deadline 20m reached") || len([]rune(runErr)) > connectors.MaxLine {
		t.Errorf("sync_runs.error %q (%v)", runErr, err)
	}

	srv.Disarm()
	run(t, st, l, job)
	if live, _, _ := st.TableCounts(context.Background()); live["time_entries"] != len(w.Entries()) {
		t.Errorf("after the storm: %d entries stored, fake has %d", live["time_entries"], len(w.Entries()))
	}
}
