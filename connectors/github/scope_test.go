package github_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// twoRepos is the agency's repository A (newAgency) and a second
// client's repository B with an issue and a comment.
type twoRepos struct {
	*agency
	b      githubfake.Repo
	hank   string // B's client contact
	bIssue githubfake.Issue
}

func newTwoRepos(t *testing.T, f *fixture) *twoRepos {
	t.Helper()
	tr := &twoRepos{agency: newAgency(t, f), hank: "hank-globex"}
	f.w.AddUser(tr.hank, "Hank Scorpio")
	tr.b = f.w.AddRepo("northwind", "globex-shop", true)
	tr.bIssue = f.w.OpenIssue(tr.b.ID, tr.hank, "Cart loses items", "Since Tuesday.", "todo")
	f.clock.Advance(time.Minute)
	f.w.Comment(tr.b.ID, tr.bIssue.Number, tr.anna, "Reproduced.")
	f.clock.Advance(time.Minute)
	return tr
}

// ofRepo keeps the records of one repository.
func ofRepo(m *memStore, id int64) *memStore {
	rk := strconv.FormatInt(id, 10)
	out := newMemStore()
	for k, c := range m.containers {
		if k == rk {
			out.containers[k] = c
		}
	}
	for k, tk := range m.tasks {
		if tk.ContainerID == rk {
			out.tasks[k] = tk
		}
	}
	for k, c := range m.changes {
		if strings.HasPrefix(c.TaskID, rk+"#") {
			out.changes[k] = c
		}
	}
	for k, msg := range m.messages {
		if msg.ContainerID == rk {
			out.messages[k] = msg
		}
	}
	return out
}

// repoEntries splits a github cursor into its repositories' entries as
// stored.
func repoEntries(t *testing.T, cursor string) map[string]string {
	t.Helper()
	var c struct {
		Repos map[string]json.RawMessage `json:"repos"`
	}
	if err := json.Unmarshal([]byte(cursor), &c); err != nil {
		t.Fatalf("cursor %q: %v", cursor, err)
	}
	out := map[string]string{}
	for id, raw := range c.Repos {
		out[id] = string(raw)
	}
	return out
}

// asking returns the logged requests about repository r: by its name
// (any case, old names too) or its id.
func asking(f *fixture, r githubfake.Repo) []string {
	names := []string{"/repositories/" + strconv.FormatInt(r.ID, 10)}
	for _, n := range append(f.w.Repo(r.ID).OldNames, f.w.Repo(r.ID).FullName()) {
		names = append(names, "/repos/"+strings.ToLower(n))
	}
	var out []string
	for _, q := range f.srv.Requests() {
		line := strings.ToLower(strings.TrimPrefix(q.Path, "/api/v3"))
		if slices.ContainsFunc(names, func(n string) bool { return line == n || strings.HasPrefix(line, n+"/") }) {
			out = append(out, q.Method+" "+q.Path+"?"+q.Query)
		}
	}
	return out
}

// during calls fn once, as src emits its first batch: a change upstream
// while src is pulling.
type during struct {
	src connectors.Source
	fn  func()
}

func (d *during) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	var once sync.Once
	return d.src.Pull(ctx, cursor, func(ctx context.Context, b *record.Batch) error {
		once.Do(d.fn)
		return emit(ctx, b)
	})
}

// A webhook for repository A: the scoped pull stores A's changes with
// requests for A alone, keeps B's cursor entry byte for byte and B's
// records as they were; the next full pull finds nothing new in A and
// gets what changed in B while A was pulled. The webhook's full name
// matches whatever its case, and after a rename the cursor has not seen.
func TestScopedPull(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	tr := newTwoRepos(t, f)
	w, a, b := f.w, tr.repo, tr.b
	src := f.source(t, github.Options{Repos: []string{a.FullName(), "Northwind/Globex-Shop"}, StatusLabels: statusLabels}, f.client(t, tr.tok))
	m := newMemStore()
	if err := src.Pull(t.Context(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	diff(t, "backfill", normalize(m), expected(w, statusLabels, nil, a.ID, b.ID))

	scopedPull := func(what string, names ...string) {
		t.Helper()
		f.clock.Advance(time.Minute)
		is := w.OpenIssue(a.ID, tr.john, "New landing page "+what, "Please.")
		w.Comment(a.ID, tr.issue1.Number, tr.anna, "Update: "+what)
		f.clock.Advance(time.Minute)
		bBefore := ofRepo(m, b.ID)
		before := repoEntries(t, m.cursor)
		scoped, err := src.Scope(names)
		if err != nil {
			t.Fatal(err)
		}
		f.srv.ResetStats()
		var meanwhile githubfake.Comment
		d := &during{src: scoped, fn: func() {
			meanwhile = w.Comment(b.ID, tr.bIssue.Number, tr.hank, "Written in B while A is pulled: "+what)
		}}
		if err := d.Pull(t.Context(), m.cursor, m.emit); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := asking(f, b); len(got) > 0 {
			t.Errorf("%s: the scoped pull of A asked about B:\n%s", what, strings.Join(got, "\n"))
		}
		if len(asking(f, a)) == 0 {
			t.Errorf("%s: the scoped pull made no request for A", what)
		}
		diff(t, what+": A after its scoped pull", normalize(ofRepo(m, a.ID)), ofRepo(expected(w, statusLabels, nil, a.ID), a.ID))
		if _, ok := m.tasks[taskKey(a.ID, is.Number)]; !ok {
			t.Errorf("%s: the new issue in A was not stored", what)
		}
		diff(t, what+": B after the scoped pull of A", ofRepo(m, b.ID), bBefore)
		after := repoEntries(t, m.cursor)
		ak, bk := itoa(a.ID), itoa(b.ID)
		if after[bk] != before[bk] {
			t.Errorf("%s: B's cursor entry moved:\n was %s\n now %s", what, before[bk], after[bk])
		}
		if after[ak] == before[ak] {
			t.Errorf("%s: A's cursor entry did not move", what)
		}

		// The next full pull: nothing new in A (what it reads again of
		// A's newest second is stored already), B's comment picked up.
		err = src.Pull(t.Context(), m.cursor, func(ctx context.Context, bt *record.Batch) error {
			for _, tk := range bt.Tasks {
				if tk.ContainerID == ak && !reflect.DeepEqual(m.tasks[tk.ExternalID], tk) {
					t.Errorf("%s: the full pull after the scoped one brought task %s of A anew", what, tk.ExternalID)
				}
			}
			for _, msg := range bt.Messages {
				if msg.ContainerID == ak && !reflect.DeepEqual(m.messages[msg.ExternalID], msg) {
					t.Errorf("%s: the full pull after the scoped one brought message %s of A anew", what, msg.ExternalID)
				}
			}
			return m.emit(ctx, bt)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.messages[itoa(meanwhile.ID)]; !ok {
			t.Errorf("%s: the comment written in B during the scoped pull of A was lost", what)
		}
		diff(t, what+": after the full pull", normalize(m), expected(w, statusLabels, nil, a.ID, b.ID))
	}
	scopedPull("by full name, in another case", strings.ToUpper(a.FullName()))
	scopedPull("by id", itoa(a.ID))
	// Renamed: the webhook gives the new name, which neither the config nor
	// the cursor knows yet; GitHub says it is A.
	a = w.RenameRepo(a.ID, "acme-website")
	scopedPull("after a rename", a.FullName())
	scopedPull("by the configured name after a rename", tr.repo.FullName())
}

// A webhook for a repository the source does not pull is an error naming
// it, before anything is emitted; only a name the source cannot place
// costs a request, to learn whether it is a pulled repository renamed.
func TestScopeUnknownRepo(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	tr := newTwoRepos(t, f)
	other := f.w.AddRepo("northwind", "internal", false)
	src := f.source(t, github.Options{Repos: []string{tr.repo.FullName(), tr.b.FullName()}, StatusLabels: statusLabels}, f.client(t, tr.tok))
	m := newMemStore()
	if err := src.Pull(t.Context(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		scope    []string
		unknown  []string
		requests int
	}{
		{"a repository not configured", []string{other.FullName()}, []string{other.FullName()}, 1},
		{"its id", []string{itoa(other.ID)}, []string{itoa(other.ID)}, 1},
		{"among configured ones", []string{tr.repo.FullName(), "nobody/nothing", itoa(tr.b.ID)}, []string{"nobody/nothing"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scoped, err := src.Scope(tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			f.srv.ResetStats()
			before := m.batches
			err = scoped.Pull(t.Context(), m.cursor, m.emit)
			var np *connectors.NotPulledError
			if !errors.As(err, &np) || !slices.Equal(np.Containers, tt.unknown) {
				t.Fatalf("err = %v, want a NotPulledError naming %v", err, tt.unknown)
			}
			if m.batches != before || f.srv.Total() != tt.requests {
				t.Errorf("%d batches emitted, %d requests made, want none and %d", m.batches-before, f.srv.Total(), tt.requests)
			}
		})
	}
	t.Run("a name that is no repository", func(t *testing.T) {
		_, err := src.Scope([]string{tr.repo.FullName(), "not a repo", "-1"})
		var np *connectors.NotPulledError
		if !errors.As(err, &np) || !slices.Equal(np.Containers, []string{"not a repo", "-1"}) {
			t.Fatalf("err = %v, want a NotPulledError naming them", err)
		}
		if _, err := src.Scope(nil); err == nil {
			t.Error("a scope of no repository was taken")
		}
	})
	t.Run("an unreadable cursor", func(t *testing.T) {
		scoped, err := src.Scope([]string{tr.repo.FullName()})
		if err != nil {
			t.Fatal(err)
		}
		f.srv.ResetStats()
		emitted := 0
		err = scoped.Pull(t.Context(), "{not json", func(context.Context, *record.Batch) error { emitted++; return nil })
		if err == nil || emitted > 0 || f.srv.Total() > 0 {
			t.Errorf("err %v, %d batches, %d requests: want an error, nothing emitted or asked", err, emitted, f.srv.Total())
		}
	})
}

const scopeCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Petrova, side: agency, github: [anna-northwind]}
  - {id: john, name: John Carter, side: client, client: acme, github: [john-acme]}
  - {id: hank, name: Hank Scorpio, side: client, client: globex, github: [hank-globex]}
clients:
  - {id: acme, name: Acme, repos: [%s]}
  - {id: globex, name: Globex, repos: [%s]}
statuses:
  - {source: github, match: [open, todo], status: todo}
  - {source: github, match: [in progress], status: in_progress}
  - {source: github, match: [review], status: review}
  - {source: github, match: [closed], status: done}
sources:
  - {id: github, kind: github}
`

// clientRows fingerprints every stored row of a client's repository,
// live or deleted, with its hash and when it was last written: a row the
// pull did not touch reads the same.
func clientRows(t *testing.T, st *store.Store, clientID, repoID string) []string {
	t.Helper()
	var out []string
	for _, q := range []struct{ table, where string }{
		{"containers", "external_id"}, {"tasks", "client_id"}, {"task_status_changes", "client_id"}, {"messages", "client_id"},
	} {
		arg := clientID
		if q.table == "containers" {
			arg = repoID
		}
		var rows []string
		err := st.Select(context.Background(), &rows, st.Rebind(fmt.Sprintf(`SELECT external_id || ' ' || hash || ' ' || CAST(synced_at AS TEXT) || ' ' ||
			CASE WHEN deleted_at IS NULL THEN 'live' ELSE 'deleted' END FROM %s WHERE source_id = ? AND %s = ? ORDER BY external_id`, q.table, q.where)),
			"github", arg)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Fatalf("no %s of %s stored: the check would prove nothing", q.table, clientID)
		}
		for _, r := range rows {
			out = append(out, q.table+" "+r)
		}
	}
	return out
}

// The scoped pull through the engine into a real store, on SQLite and
// PostgreSQL: two repositories synced, A changed, B commented on while A
// is pulled; a scoped run of A stores A's changes and leaves every row of
// B as it was and B's cursor entry byte for byte; the next full run ends
// where the fake is.
func TestScopedSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			f := newFixture(t, githubfake.Limits{})
			tr := newTwoRepos(t, f)
			w, a, b := f.w, tr.repo, tr.b
			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(scopeCfg, a.FullName(), b.FullName())), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			src := f.source(t, github.Options{MappingRepos: []string{a.FullName(), b.FullName()}, StatusLabels: statusLabels}, f.client(t, tr.tok))
			sync := syncer(t, st, l.Config)
			check := func(what string, repos ...int64) {
				t.Helper()
				got, want := normalize(stored(t, st)), expected(w, statusLabels, nil, repos...)
				for _, id := range repos {
					diff(t, what, ofRepo(got, id), ofRepo(want, id))
				}
			}
			if res := sync(ctx, src); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("backfill", a.ID, b.ID)

			f.clock.Advance(time.Hour)
			w.OpenIssue(a.ID, tr.john, "New landing page", "Please add a landing page.")
			w.Comment(a.ID, tr.issue1.Number, tr.anna, "Deployed to staging.")
			w.MoveLabel(a.ID, tr.issue1.Number, tr.anna, "in progress", "review")
			f.clock.Advance(time.Minute)
			rowsB := clientRows(t, st, "globex", itoa(b.ID))
			cursor, _ := st.Cursor(ctx, "github")
			before := repoEntries(t, cursor)

			scoped, err := src.Scope([]string{a.FullName()})
			if err != nil {
				t.Fatal(err)
			}
			var meanwhile githubfake.Comment
			e := syncerJob(t, st, l.Config)
			res := e(ctx, &during{src: scoped, fn: func() {
				meanwhile = w.Comment(b.ID, tr.bIssue.Number, tr.hank, "Written in B while A is pulled")
			}}, true)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			check("A after its scoped run", a.ID)
			if got := clientRows(t, st, "globex", itoa(b.ID)); !slices.Equal(got, rowsB) {
				t.Errorf("the scoped run of A touched B's rows:\n was %s\n now %s", strings.Join(rowsB, "\n     "), strings.Join(got, "\n     "))
			}
			cursor, _ = st.Cursor(ctx, "github")
			after := repoEntries(t, cursor)
			if ak, bk := itoa(a.ID), itoa(b.ID); after[bk] != before[bk] || after[ak] == before[ak] {
				t.Errorf("cursor entries: B %s -> %s (want the same), A moved %v (want it moved)", before[bk], after[bk], after[ak] != before[ak])
			}

			if res := sync(ctx, src); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("after the next full run", a.ID, b.ID)
			if got := stored(t, st).messages[itoa(meanwhile.ID)]; got.Body == "" {
				t.Error("the comment written in B during the scoped run of A was lost")
			}
			live, deleted, err := st.TableCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := expected(w, statusLabels, nil, a.ID, b.ID); live["tasks"] != len(want.tasks) || live["messages"] != len(want.messages) ||
				deleted["tasks"]+deleted["messages"]+deleted["task_status_changes"] != 0 {
				t.Errorf("rows: live %v, deleted %v; want %d tasks, %d messages, none deleted", live, deleted, len(want.tasks), len(want.messages))
			}
		})
	}
}

// syncerJob runs any source through a new engine over a store, as a
// partial job when partial.
func syncerJob(t *testing.T, st *store.Store, cfg *mapping.Config) func(ctx context.Context, src connectors.Source, partial bool) engine.Result {
	return func(ctx context.Context, src connectors.Source, partial bool) engine.Result {
		t.Helper()
		e, err := engine.New(context.Background(), st, mapping.NewResolver(cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return e.Run(ctx, engine.Job{Info: ghInfo, Source: src, Partial: partial})
	}
}
