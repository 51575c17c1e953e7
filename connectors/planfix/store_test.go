package planfix_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

var epoch = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)

const storeCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: olga, name: Ольга Петрова, side: agency, role: pm, planfix: ["user:1"]}
  - {id: dmitri, name: Dmitri Volkov, side: agency, planfix: ["user:2"]}
  - {id: igor, name: Игорь Смирнов, side: client, client: betta, planfix: ["contact:11"]}
clients:
  - {id: betta, name: Бетта Строй, domains: [betta-stroy.ru], planfix_projects: ["101"]}
  - {id: acme, name: Acme, domains: [acme.example], planfix_projects: ["Acme support"]}
sources:
  - {id: planfix, kind: planfix, options: {account: northwind}}
`

type rig struct {
	clock *vclock.Virtual
	fake  *planfixfake.Server
	src   *planfix.Source
	cfg   *mapping.Loaded
}

func newRig(t *testing.T, w planfixfake.World, token string) *rig {
	t.Helper()
	clock := vclock.NewVirtual(epoch)
	fake := planfixfake.New(t, w, planfixfake.Options{Clock: clock})
	l, err := mapping.Parse("karkas.yaml", []byte(storeCfg), mapping.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{clock: clock, fake: fake, cfg: l}
	r.src = r.open(t, token, planfix.DefaultOptions())
	return r
}

func (r *rig) open(t *testing.T, token string, o *planfix.Options) *planfix.Source {
	t.Helper()
	c, err := planfix.NewClient(planfix.ClientConfig{BaseURL: r.fake.BaseURL(), Token: token, Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	o.Account = "northwind"
	src, err := planfix.Open(o, connectors.Env{Mapped: r.cfg.Mapped()}, c)
	if err != nil {
		t.Fatal(err)
	}
	src.SetClock(r.clock)
	return src
}

func (r *rig) sync(t *testing.T, st *store.Store, src connectors.Source) engine.Result {
	t.Helper()
	return timetracktest.Sync(t, st, r.cfg.Config, mapping.SourceInfo{ID: "planfix", Kind: planfix.KindName, Identity: planfix.Identity}, src)
}

// count is how many requests went to path (a suffix).
func (r *rig) count(method, suffix string) int {
	n := 0
	for _, q := range r.fake.Requests() {
		if q.Method == method && strings.HasSuffix(q.Path, suffix) && q.Status < 300 {
			n++
		}
	}
	return n
}

func liveTexts(recs testdb.Records) map[string]string {
	out := map[string]string{}
	for id, m := range recs.Messages {
		out[id] = m.Body
	}
	return out
}

// The account synced through the engine into SQLite and PostgreSQL: the
// tasks of the projects the mapping names, their comment feeds as
// messages (HTML to text, a reminder automated, the deleted comment
// gone), status changes from the comments that record them, employees and
// contacts under prefixed ids; then a new client comment, a deleted
// comment and a removed task are found by the incremental and the
// reconciling pulls; a second sync of nothing new stores nothing.
func TestSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			r := newRig(t, planfixfake.Sample(epoch), planfixfake.DefaultToken)
			if res := r.sync(t, st, r.src); res.Err != nil {
				t.Fatal(res.Err)
			}
			recs := testdb.LiveRecords(t, st, "planfix")
			if len(recs.Tasks) != 3 || len(recs.Containers) != 2 || len(recs.People) != 4 {
				t.Fatalf("stored %d tasks, %d projects, %d people; want 3, 2, 4", len(recs.Tasks), len(recs.Containers), len(recs.People))
			}
			texts := liveTexts(recs)
			if want := "Добрый день! Форма заявки снова не отправляется.\nПосмотрите, пожалуйста."; texts["501"] != want {
				t.Errorf("comment 501 %q, want %q", texts["501"], want)
			}
			if _, ok := texts["504"]; ok {
				t.Error("the deleted comment 504 is live")
			}
			if _, ok := texts["502"]; ok {
				t.Error("the status change 502, which has no text, is a message")
			}
			if m := recs.Messages["505"]; !m.Automated {
				t.Errorf("the reminder 505 is not automated: %+v", m)
			}
			if m := recs.Messages["507"]; m.Body != "Hi, the login page takes > 10 s to load." || m.AuthorID != "contact:12" {
				t.Errorf("comment 507: %+v", m)
			}
			if c := recs.Changes["c509"]; c.From != "В работе" || c.To != "Завершённая" || c.TaskID != "3" {
				t.Errorf("status change c509: %+v", c)
			}
			if tk := recs.Tasks["3"]; !tk.Closed || tk.Status != "Завершённая" || tk.URL != "https://northwind.planfix.com/task/3" {
				t.Errorf("task 3: %+v", tk)
			}
			if tk := recs.Tasks["1"]; tk.DueAt == nil || len(tk.Assignees) != 1 || tk.Assignees[0] != "user:2" || tk.CreatorID != "user:1" {
				t.Errorf("task 1: %+v", tk)
			}
			if p := recs.People["contact:11"]; p.Email != "igor@betta-stroy.ru" || p.Name != "Игорь Смирнов" {
				t.Errorf("contact 11: %+v", p)
			}
			var client string
			if err := st.Get(context.Background(), &client, st.Rebind(`SELECT client_id FROM messages WHERE source_id = 'planfix' AND external_id = '501'`)); err != nil || client != "betta" {
				t.Errorf("comment 501's client %q (%v), want betta", client, err)
			}
			var dir string
			if err := st.Get(context.Background(), &dir, st.Rebind(`SELECT direction FROM messages WHERE source_id = 'planfix' AND external_id = '503'`)); err != nil || dir != mapping.DirectionOutbound {
				t.Errorf("comment 503's direction %q (%v), want outbound", dir, err)
			}

			// Nothing changed: the pull asks for the changed tasks only
			// and finds none.
			r.clock.Advance(time.Hour)
			r.fake.ResetLog()
			res := r.sync(t, st, r.src)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if n := r.count("POST", "/comments/list"); n != 0 {
				t.Errorf("a sync with nothing changed read %d comment feeds", n)
			}

			// Hours later, before the next reconcile: a new client
			// comment, a comment deleted.
			r.clock.Advance(3 * time.Hour)
			r.fake.Comment("2", planfix.Ref{ID: "contact:11", Name: "Игорь Смирнов"}, "<p>Прайс во вложении.</p>", r.clock.Now())
			r.fake.Edit(func(w *planfixfake.World) {
				w.Tasks[2].Comments[0].IsDeleted = true
				w.Tasks[2].DateOfLastUpdate = planfix.NewTimePoint(r.clock.Now())
			})
			r.clock.Advance(time.Minute)
			r.fake.ResetLog()
			if res := r.sync(t, st, r.src); res.Err != nil {
				t.Fatal(res.Err)
			}
			if n := r.count("POST", "/comments/list"); n != 2 {
				t.Errorf("the incremental pull read %d comment feeds, want the 2 changed tasks'", n)
			}
			texts = liveTexts(testdb.LiveRecords(t, st, "planfix"))
			if !strings.Contains(texts[newest(t, r.fake, "2")], "Прайс во вложении.") {
				t.Errorf("the new comment is not stored: %v", texts)
			}
			if _, ok := texts["507"]; ok {
				t.Error("comment 507, deleted in PlanFix, is live")
			}

			// A day later the reconcile re-reads every task: task 2,
			// removed from PlanFix, goes.
			r.fake.Edit(func(w *planfixfake.World) { w.Tasks = append(w.Tasks[:1], w.Tasks[2:]...) })
			r.clock.Advance(25 * time.Hour)
			if res := r.sync(t, st, r.src); res.Err != nil {
				t.Fatal(res.Err)
			}
			if _, ok := testdb.LiveRecords(t, st, "planfix").Tasks["2"]; ok {
				t.Error("task 2, gone from PlanFix, is live after the reconcile")
			}
		})
	}
}

func newest(t *testing.T, f *planfixfake.Server, task string) string {
	t.Helper()
	for _, tk := range f.World().Tasks {
		if string(tk.ID) == task {
			return string(tk.Comments[len(tk.Comments)-1].ID)
		}
	}
	t.Fatalf("no task %s", task)
	return ""
}

// A spent daily quota (code 22) is a rate limit, in any status. (A wrong
// token, 429s and 5xx are the conformance suite's.)
func TestDailyQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t, planfixfake.Sample(epoch), planfixfake.DefaultToken)
	if err := r.src.Check(ctx); err != nil {
		t.Fatalf("check: %v", err)
	}
	f := planfixfake.FaultDailyLimit
	f.Times = -1
	r.fake.Arm(f)
	err := r.src.Check(ctx)
	if _, ok := errors.AsType[*connectors.RateLimitError](err); !ok {
		t.Errorf("a spent daily quota: %v, want a RateLimitError", err)
	}
}

// The pull keeps to PlanFix's one request a second: the fake's limit
// never answers 429.
func TestPullKeepsToTheLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t, planfixfake.Sample(epoch), planfixfake.DefaultToken)
	if err := r.src.Pull(context.Background(), "", func(context.Context, *record.Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := r.fake.TooMany(); n != 0 {
		t.Errorf("the fake's limit refused %d requests", n)
	}
	if reqs := r.fake.Requests(); len(reqs) < 10 {
		t.Errorf("only %d requests", len(reqs))
	}
	for _, q := range r.fake.Requests() {
		var body map[string]any
		if q.Body != "" && json.Unmarshal([]byte(q.Body), &body) == nil {
			if ps, ok := body["pageSize"].(float64); ok && ps > 100 {
				t.Errorf("%s asked for pageSize %v", q.Path, ps)
			}
		}
	}
}
