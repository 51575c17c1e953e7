package github_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
	"github.com/karkas/karkas/sync/evaluate"
)

const storeCfg = `agency: {name: Northwind, domains: [northwind.agency], calendar: berlin}
calendars:
  berlin:
    time_zone: Europe/Berlin
    hours: {mon-fri: ["09:00-13:00", "14:00-18:00"]}
policy_sets:
  standard: {response: {target: 4h, warn: 2h}}
people:
  - {id: anna, name: Anna Petrova, side: agency, github: [anna-northwind]}
  - {id: john, name: John Carter, side: client, client: acme, github: [john-acme]}
clients:
  - {id: acme, name: Acme, policy_set: standard, repos: [%s]}
statuses:
  - {source: github, match: [open, todo], status: todo}
  - {source: github, match: [in progress], status: in_progress}
  - {source: github, match: [review], status: review}
  - {source: github, match: [closed], status: done}
sources:
  - {id: github, kind: github}
`

var ghInfo = mapping.SourceInfo{ID: "github", Kind: github.KindName, Identity: mapping.IdentityGitHub}

// stored reads the live rows of the source back from the raw records the
// engine keeps beside each row.
func stored(t *testing.T, st *store.Store) *memStore {
	t.Helper()
	r := testdb.LiveRecords(t, st, "github")
	m := newMemStore()
	m.containers, m.people, m.tasks, m.changes, m.fields, m.messages = r.Containers, r.People, r.Tasks, r.Changes, r.Fields, r.Messages
	return m
}

// syncer runs a source through a new engine over a store.
func syncer(t *testing.T, st *store.Store, cfg *mapping.Config) func(ctx context.Context, src *github.Source) engine.Result {
	return func(ctx context.Context, src *github.Source) engine.Result {
		t.Helper()
		e, err := engine.New(context.Background(), st, mapping.NewResolver(cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return e.Run(ctx, engine.Job{Info: ghInfo, Source: src})
	}
}

// The issue's first two "done means", through the engine into a real
// store, on SQLite and PostgreSQL: repositories synced, changed (a new
// issue by a client, an agency reply, an edited comment, a label move, a
// closed issue), synced again: the store matches the fake exactly, with
// no duplicate rows; a client's comment starts a response clock that the
// agency's comment on the same issue stops, while bots and a comment
// nobody answered do what they should.
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			f := newFixture(t, githubfake.Limits{})
			a := newAgency(t, f)
			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(storeCfg, a.repo.FullName())), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bots := []string{"ci-runner"}
			src := f.source(t, github.Options{MappingRepos: l.Config.Clients[0].Repos, StatusLabels: statusLabels, Bots: bots}, f.client(t, a.tok))
			sync := syncer(t, st, l.Config)
			check := func(what string) {
				t.Helper()
				want := expected(f.w, statusLabels, bots, a.repo.ID)
				diff(t, what, normalize(stored(t, st)), want)
				live, deleted, err := st.TableCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if live["tasks"] != len(want.tasks) || live["messages"] != len(want.messages) ||
					live["task_status_changes"] != len(want.changes) || live["source_people"] != len(want.people) {
					t.Errorf("%s: live rows %v, want %d tasks, %d messages, %d status changes, %d people", what, live,
						len(want.tasks), len(want.messages), len(want.changes), len(want.people))
				}
				if deleted["tasks"]+deleted["messages"]+deleted["task_status_changes"] != 0 {
					t.Errorf("%s: soft-deleted rows %v", what, deleted)
				}
			}
			if res := sync(ctx, src); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("backfill")

			// Monday 2 March 2026, 13:00 in Berlin: the client opens an
			// issue, the agency answers an hour later (in business time:
			// the lunch hour does not count).
			f.clock.AdvanceTo(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
			w := f.w
			is3 := w.OpenIssue(a.repo.ID, a.john, "New landing page", "Please add a landing page for the spring sale.")
			f.clock.Advance(time.Hour)
			w.Comment(a.repo.ID, is3.Number, a.anna, "On it, draft by Friday.")
			w.EditComment(a.question.ID, "Any news? The sale starts Monday.")
			w.MoveLabel(a.repo.ID, a.issue1.Number, a.anna, "in progress", "review")
			f.clock.Advance(time.Minute)
			w.Close(a.repo.ID, a.issue2.Number, a.anna, "")
			f.clock.Advance(time.Minute)
			unanswered := w.Comment(a.repo.ID, a.issue1.Number, a.john, "Is it live yet?")
			f.clock.Advance(time.Minute)
			w.Comment(a.repo.ID, a.issue1.Number, a.bot, "Deployed preview.")
			if res := sync(ctx, src); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("after changes")
			if res := sync(ctx, src); res.Err != nil || res.Written.Total() != 0 {
				t.Errorf("a sync with nothing new: %v, wrote %v", res.Err, res.Written)
			}
			check("after a sync with nothing new")

			var n int
			if err := st.Get(context.Background(), &n, st.Rebind(`SELECT COUNT(*) FROM tasks WHERE status = ? AND deleted_at IS NULL`), "review"); err != nil || n != 1 {
				t.Errorf("tasks in review: %d (%v), want the moved one", n, err)
			}

			rules, err := evaluate.NewRules(l.Config)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := evaluate.Messages(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC) // 18:00 in Berlin
			byTask := map[string][]sla.Clock{}                  // in order of start
			for _, c := range sla.ResponseClocks(msgs, rules, now) {
				if c.Subject.Kind != "task" || c.ClientID != "acme" {
					t.Errorf("clock not on an acme task: %+v", c)
				}
				byTask[c.Subject.ExternalID] = append(byTask[c.Subject.ExternalID], c)
			}
			// The client's new issue is their first message: its clock
			// starts after the lunch hour and the agency's comment stops
			// it at once.
			if cs := byTask[taskKey(a.repo.ID, is3.Number)]; len(cs) != 1 || cs[0].State != sla.Met ||
				!cs[0].StoppedAt.Equal(is3.CreatedAt.Add(time.Hour)) || cs[0].BusinessElapsed != 0 {
				t.Errorf("the client's new issue, answered an hour later over lunch: %+v", cs)
			}
			// The first issue: answered by the agency's comment; then the
			// client asked again and only a bot answered.
			cs := byTask[taskKey(a.repo.ID, a.issue1.Number)]
			if len(cs) != 2 || cs[0].State != sla.Met || !cs[0].StartedAt.Equal(a.issue1.CreatedAt) ||
				!cs[0].StoppedAt.Equal(a.question.CreatedAt.Add(10*time.Minute)) {
				t.Fatalf("the first issue's clocks: %+v", cs)
			}
			if c := cs[1]; c.State != sla.AtRisk || !c.StartedAt.Equal(unanswered.CreatedAt) {
				t.Errorf("the client's question only a bot answered: %+v", c)
			}
			// The bot's pull request asks nobody anything.
			if cs := byTask[taskKey(a.repo.ID, a.pr.Number)]; len(cs) != 0 {
				t.Errorf("clocks on the bot's pull request: %+v", cs)
			}
		})
	}
}
