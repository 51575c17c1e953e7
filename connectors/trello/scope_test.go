package trello_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// twoBoards is two clients' boards, A and B, each with lists, a client
// member, cards and a comment, and a third board C that no config names.
type twoBoards struct {
	w      *trellofake.World
	clock  *trellofake.VirtualClock
	a, b   board
	c      trellofake.Board
	client trellofake.Member // on A
	guest  trellofake.Member // on B
}

type board struct {
	trellofake.Board
	todo, done   trellofake.List
	card1, card2 trellofake.Card
	comment      trellofake.Action
}

func newTwoBoards() *twoBoards {
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.NewWorld(clock)
	tb := &twoBoards{w: w, clock: clock}
	mk := func(name string, author *trellofake.Member, username, fullName string) board {
		b := board{Board: w.AddBoard(name)}
		b.todo = w.AddList(b.ID, "To Do")
		w.AddList(b.ID, "Doing")
		b.done = w.AddList(b.ID, "Done")
		*author = w.AddMember(b.ID, username, fullName)
		clock.Advance(time.Minute)
		b.card1 = w.CreateCard(author.ID, b.todo.ID, name+": fix the banner")
		clock.Advance(time.Minute)
		b.card2 = w.CreateCard(w.Me().ID, b.todo.ID, name+": new pricing page")
		b.comment = w.CommentCard(author.ID, b.card1.ID, "When can we expect this?")
		w.MoveCard(w.Me().ID, b.card1.ID, b.done.ID)
		clock.Advance(time.Minute)
		return b
	}
	tb.a = mk("Acme Website", &tb.client, "johncarter", "John Carter")
	tb.b = mk("Globex Shop", &tb.guest, "hankscorpio", "Hank Scorpio")
	tb.c = w.AddBoard("Internal")
	clock.Advance(time.Minute)
	return tb
}

// names are every id a request could name board b by: the board's, its
// short link, its lists' and cards'.
func (tb *twoBoards) names(id string) []string {
	out := []string{id}
	for _, b := range tb.w.Boards() {
		if b.ID == id {
			out = append(out, b.ShortLink)
		}
	}
	for _, l := range tb.w.Lists(id) {
		out = append(out, l.ID)
	}
	for _, c := range tb.w.Cards(id) {
		out = append(out, c.ID, c.ShortLink)
	}
	return out
}

// mentioning returns the logged requests that name any of names.
func mentioning(reqs []trellofake.Request, names []string) []string {
	var out []string
	for _, r := range reqs {
		line := r.Method + " " + r.Path + "?" + r.Query
		if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(line, n) }) {
			out = append(out, line)
		}
	}
	return out
}

// entries splits a trello cursor into its boards' entries as stored.
func entries(t *testing.T, cursor string) map[string]string {
	t.Helper()
	var c struct {
		Boards map[string]json.RawMessage `json:"boards"`
	}
	if err := json.Unmarshal([]byte(cursor), &c); err != nil {
		t.Fatalf("cursor %q: %v", cursor, err)
	}
	out := map[string]string{}
	for id, raw := range c.Boards {
		out[id] = string(raw)
	}
	return out
}

// recorder keeps what a pull emitted that decides deletions: every
// batch's scopes and snapshot flags (the batches themselves the source
// may reuse).
type recorder struct {
	*memStore
	scopes   []record.Scope
	snapshot bool
	during   func() // called once, at the first batch
	once     sync.Once
}

func (r *recorder) emit(ctx context.Context, b *record.Batch) error {
	if r.during != nil {
		r.once.Do(r.during)
	}
	r.scopes = append(r.scopes, b.Complete...)
	r.snapshot = r.snapshot || b.EndOfSnapshot || len(b.Snapshot) > 0
	return r.memStore.emit(ctx, b)
}

// A webhook for board A: the scoped pull stores A's changes with requests
// for A alone, keeps B's cursor entry byte for byte and deletes nothing of
// B; the next full pull finds nothing new on A and gets what changed on B
// while A was pulled.
func TestScopedPull(t *testing.T) {
	t.Parallel()
	tb := newTwoBoards()
	w, a, b := tb.w, tb.a, tb.b
	f := newFixture(t, w, tb.clock)
	// A is configured by short link, as a config may name it; its webhook
	// names it by id.
	src := f.source(t, trello.APIOptions{Boards: []string{a.ShortLink, b.ID}})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "backfill", m, exported(t, w, a.ID, b.ID))

	tb.clock.Advance(time.Minute)
	fresh := w.CreateCard(tb.client.ID, a.todo.ID, "Client asks for a new page")
	w.CommentCard(w.Me().ID, a.card2.ID, "Tomorrow")
	w.DeleteCard(w.Me().ID, a.card1.ID) // a deletion on A, which the scoped pull must apply
	onlyB := map[string]bool{b.ID: true}
	bBefore := onlyBoards(m, onlyB)
	before := entries(t, m.cursor)

	scoped, err := src.Scope([]string{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.ResetStats()
	var meanwhile trellofake.Action
	r := &recorder{memStore: m, during: func() {
		meanwhile = w.CommentCard(tb.guest.ID, b.card2.ID, "Written on B while A is pulled")
	}}
	if err := scoped.Pull(t.Context(), m.cursor, r.emit); err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.Requests()
	if got := mentioning(reqs, tb.names(b.ID)); len(got) > 0 {
		t.Errorf("the scoped pull of A asked about B:\n%s", strings.Join(got, "\n"))
	}
	if len(mentioning(reqs, []string{a.ID})) == 0 {
		t.Errorf("the scoped pull made no request for A: %v", f.srv.RouteCounts())
	}
	onlyA := map[string]bool{a.ID: true}
	diff(t, "board A after its scoped pull", onlyBoards(m, onlyA), onlyBoards(exported(t, w, a.ID), onlyA))
	if _, ok := m.tasks[fresh.ID]; !ok {
		t.Errorf("the new card on A was not stored")
	}
	diff(t, "board B after the scoped pull of A", onlyBoards(m, onlyB), bBefore)
	if r.snapshot {
		t.Error("the scoped pull emitted a snapshot")
	}
	for _, s := range r.scopes {
		if s.ContainerID != a.ID && s.TaskID != a.card1.ID {
			t.Errorf("the scoped pull of A emitted a scope beyond A: %+v", s)
		}
	}
	after := entries(t, m.cursor)
	if after[b.ID] != before[b.ID] {
		t.Errorf("B's cursor entry moved:\n was %s\n now %s", before[b.ID], after[b.ID])
	}
	if after[a.ID] == before[a.ID] {
		t.Errorf("A's cursor entry did not move: %s", after[a.ID])
	}

	// The next full pull: nothing new on A, B's comment picked up.
	var fromA []string
	err = src.Pull(t.Context(), m.cursor, func(ctx context.Context, bt *record.Batch) error {
		for _, tk := range bt.Tasks {
			if tk.ContainerID == a.ID {
				fromA = append(fromA, tk.ExternalID)
			}
		}
		for _, msg := range bt.Messages {
			if msg.ContainerID == a.ID {
				fromA = append(fromA, msg.ExternalID)
			}
		}
		return m.emit(ctx, bt)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fromA) > 0 {
		t.Errorf("the full pull after the scoped one emitted records of A again: %v", fromA)
	}
	if final := entries(t, m.cursor); final[a.ID] != after[a.ID] {
		t.Errorf("the full pull moved A's cursor entry:\n was %s\n now %s", after[a.ID], final[a.ID])
	}
	if _, ok := m.messages[meanwhile.ID]; !ok {
		t.Errorf("the comment written on B during the scoped pull of A was lost")
	}
	diff(t, "after the full pull", m, exported(t, w, a.ID, b.ID))
}

// A webhook for a board the source does not pull is an error naming it,
// before any request is spent or anything emitted.
func TestScopeUnknownBoard(t *testing.T) {
	t.Parallel()
	tb := newTwoBoards()
	f := newFixture(t, tb.w, tb.clock)
	src := f.source(t, trello.APIOptions{Boards: []string{tb.a.ShortLink, tb.b.ID}})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		scope []string
		// requests the scoped pull may make to tell the board is not one
		// of the source's
		requests int
	}{
		{"a board not configured", []string{tb.c.ID}, 0},
		// B's short link is not in the config nor the cursor: Trello
		// says whose it is.
		{"a board not configured among configured ones", []string{tb.a.ID, tb.c.ID, tb.b.ShortLink}, 1},
		{"the short link of a board not configured", []string{tb.c.ShortLink}, 1},
		{"no such board", []string{"0123456789abcdef01234567"}, 0},
		{"no such short link", []string{"Zz9Zz9Zz"}, 1},
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
			if !errors.As(err, &np) || !strings.Contains(err.Error(), tt.scope[len(tt.scope)/2]) {
				t.Fatalf("err = %v, want a NotPulledError naming %s", err, tt.scope[len(tt.scope)/2])
			}
			if m.batches != before || f.srv.Total() != tt.requests {
				t.Errorf("%d batches emitted, %d requests made, want none and %d", m.batches-before, f.srv.Total(), tt.requests)
			}
		})
	}
	t.Run("a name that is no board", func(t *testing.T) {
		_, err := src.Scope([]string{tb.a.ID, "not-a-board"})
		var np *connectors.NotPulledError
		if !errors.As(err, &np) || !slices.Equal(np.Containers, []string{"not-a-board"}) {
			t.Fatalf("err = %v, want a NotPulledError naming not-a-board", err)
		}
		if _, err := src.Scope(nil); err == nil {
			t.Error("a scope of no board was taken")
		}
	})
	t.Run("an unreadable cursor", func(t *testing.T) {
		scoped, err := src.Scope([]string{tb.a.ID})
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

// The first pull of a source is a scoped one: the board the config names
// by short link is found by the id the webhook gives (one read of that
// board), backfilled alone, and the next full pull backfills the other.
func TestScopedPullBeforeAnyFullPull(t *testing.T) {
	t.Parallel()
	tb := newTwoBoards()
	f := newFixture(t, tb.w, tb.clock)
	src := f.source(t, trello.APIOptions{Boards: []string{tb.a.ShortLink, tb.b.ShortLink}})
	scoped, err := src.Scope([]string{tb.a.ID})
	if err != nil {
		t.Fatal(err)
	}
	m := newMemStore()
	if err := scoped.Pull(t.Context(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	if got := mentioning(f.srv.Requests(), tb.names(tb.b.ID)); len(got) > 0 {
		t.Errorf("the scoped pull of A asked about B:\n%s", strings.Join(got, "\n"))
	}
	if n := f.srv.RouteCount("GET /1/boards/{id}"); n != 1 {
		t.Errorf("A was read %d times alone, want once (to learn its short link): %v", n, f.srv.RouteCounts())
	}
	diff(t, "A backfilled alone", m, exported(t, tb.w, tb.a.ID))
	if e := entries(t, m.cursor); len(e) != 1 || !strings.Contains(e[tb.a.ID], tb.a.ShortLink) {
		t.Errorf("cursor after the scoped backfill of A: %v", e)
	}
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "after the full pull", m, exported(t, tb.w, tb.a.ID, tb.b.ID))
}

// A scoped board is reconciled when its reconcile is due, as a full pull
// would reconcile it; the other board keeps waiting for its own pull.
func TestScopedPullReconcilesItsBoardOnly(t *testing.T) {
	t.Parallel()
	tb := newTwoBoards()
	w, a, b := tb.w, tb.a, tb.b
	f := newFixture(t, w, tb.clock)
	src := f.source(t, trello.APIOptions{Boards: []string{a.ID, b.ID}})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	tb.clock.Advance(trello.DefaultReconcileEvery)
	// Edits write no action: only a reconcile finds them.
	w.EditComment(a.comment.ID, "Edited on A")
	w.EditComment(b.comment.ID, "Edited on B")
	w.DeleteComment(b.comment.ID)
	before := entries(t, m.cursor)
	scoped, err := src.Scope([]string{a.ShortLink})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{memStore: m}
	if err := scoped.Pull(t.Context(), m.cursor, r.emit); err != nil {
		t.Fatal(err)
	}
	if got := m.messages[a.comment.ID].Body; got != "Edited on A" {
		t.Errorf("A's edited comment after the scoped pull: %q", got)
	}
	if got, ok := m.messages[b.comment.ID]; !ok || got.Body != "When can we expect this?" {
		t.Errorf("B's comment after the scoped pull of A: %q, %v; want it as stored before", got.Body, ok)
	}
	kinds := map[string]bool{}
	for _, s := range r.scopes {
		kinds[s.Kind] = true
		if s.ContainerID != a.ID {
			t.Errorf("the scoped reconcile of A emitted a scope beyond A: %+v", s)
		}
	}
	if !kinds[record.ScopeTasks] || !kinds[record.ScopeMessages] {
		t.Errorf("the scoped pull did not reconcile A: scopes %+v", r.scopes)
	}
	after := entries(t, m.cursor)
	if after[b.ID] != before[b.ID] || after[a.ID] == before[a.ID] {
		t.Errorf("cursor entries: B %s -> %s (want the same), A %s -> %s (want it reconciled)", before[b.ID], after[b.ID], before[a.ID], after[a.ID])
	}
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.messages[b.comment.ID]; ok {
		t.Error("the full pull did not reconcile B")
	}
	diff(t, "after the full pull", m, exported(t, w, a.ID, b.ID))
}

const scopeCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: me, name: Karkas, side: agency, trello: [karkas, %s]}
  - {id: john, name: John Carter, side: client, client: acme, trello: [johncarter, %s]}
  - {id: hank, name: Hank Scorpio, side: client, client: globex, trello: [hankscorpio, %s]}
clients:
  - {id: acme, name: Acme, boards: [%s]}
  - {id: globex, name: Globex, boards: [%s]}
statuses:
  - {match: [To Do], status: todo}
  - {match: [Doing], status: in_progress}
  - {match: [Done], status: done}
sources:
  - {id: trello, kind: trello}
`

// clientRows fingerprints every stored row of a client's board, live or
// deleted, with its hash and when it was last written: a row the pull did
// not touch reads the same.
func clientRows(t *testing.T, st *store.Store, clientID, boardID string) []string {
	t.Helper()
	var out []string
	for _, q := range []struct{ table, where string }{
		{"containers", "external_id"}, {"tasks", "client_id"}, {"task_status_changes", "client_id"}, {"messages", "client_id"},
	} {
		arg := clientID
		if q.table == "containers" {
			arg = boardID
		}
		var rows []string
		err := st.Select(context.Background(), &rows, st.Rebind(fmt.Sprintf(`SELECT external_id || ' ' || hash || ' ' || CAST(synced_at AS TEXT) || ' ' ||
			CASE WHEN deleted_at IS NULL THEN 'live' ELSE 'deleted' END FROM %s WHERE source_id = ? AND %s = ? ORDER BY external_id`, q.table, q.where)),
			"trello", arg)
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
// PostgreSQL: two boards synced; A changed (a card deleted among others),
// B changed in ways only B's reconcile sees, B commented on while A is
// pulled; a scoped run of A stores A's changes, leaves every row of B as
// it was and B's cursor entry byte for byte, and the source's attention
// as a full pull left it; the next full run ends where the fake is.
func TestScopedSyncIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			tb := newTwoBoards()
			w, a, b := tb.w, tb.a, tb.b
			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(scopeCfg, w.Me().ID, tb.client.ID, tb.guest.ID, a.ID, b.ID)), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info := mapping.SourceInfo{ID: "trello", Kind: trello.KindName, Identity: mapping.IdentityTrello}
			f := newFixture(t, w, tb.clock)
			src := f.source(t, trello.APIOptions{Boards: []string{a.ShortLink, b.ID}})
			run := func(job engine.Job) engine.Result {
				t.Helper()
				e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					t.Fatal(err)
				}
				job.Info = info
				return e.Run(ctx, job)
			}
			check := func(what string, boards ...string) {
				t.Helper()
				ids := map[string]bool{}
				for _, id := range boards {
					ids[id] = true
				}
				diff(t, what, onlyBoards(stored(t, st), ids), onlyBoards(exported(t, w, boards...), ids))
			}
			if res := run(engine.Job{Source: src}); res.Err != nil {
				t.Fatal(res.Err)
			}
			check("backfill", a.ID, b.ID)

			// B's new comment is pulled by a full run; its edit and its
			// deletion, which write no action, only by B's reconcile.
			tb.clock.Advance(time.Minute)
			gone := w.CommentCard(w.Me().ID, b.card2.ID, "typo")
			if res := run(engine.Job{Source: src}); res.Err != nil {
				t.Fatal(res.Err)
			}
			w.DeleteComment(gone.ID)
			w.EditComment(b.comment.ID, "Edited on B")
			tb.clock.Advance(trello.DefaultReconcileEvery)
			w.CreateCard(tb.client.ID, a.todo.ID, "Client asks for a new page")
			w.CommentCard(w.Me().ID, a.card2.ID, "Tomorrow")
			w.DeleteCard(w.Me().ID, a.card1.ID)
			if err := st.SetAttention(ctx, "trello", "board Old (5f0000000000000000000000) is gone"); err != nil {
				t.Fatal(err)
			}
			rowsB := clientRows(t, st, "globex", b.ID)
			cursor, _ := st.Cursor(ctx, "trello")
			before := entries(t, cursor)

			scoped, err := src.Scope([]string{a.ID})
			if err != nil {
				t.Fatal(err)
			}
			var meanwhile trellofake.Action
			res := run(engine.Job{Partial: true, Source: &during{src: scoped, fn: func() {
				meanwhile = w.CommentCard(tb.guest.ID, b.card1.ID, "Written on B while A is pulled")
			}}})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			check("A after its scoped run", a.ID)
			if res.Deleted["tasks"] != 1 {
				t.Errorf("the scoped run deleted %v, want A's deleted card", res.Deleted)
			}
			if got := clientRows(t, st, "globex", b.ID); !slices.Equal(got, rowsB) {
				t.Errorf("the scoped run of A touched B's rows:\n was %s\n now %s", strings.Join(rowsB, "\n     "), strings.Join(got, "\n     "))
			}
			cursor, _ = st.Cursor(ctx, "trello")
			after := entries(t, cursor)
			if after[b.ID] != before[b.ID] || after[a.ID] == before[a.ID] {
				t.Errorf("cursor entries: B %s -> %s (want the same), A %s -> %s (want it moved)", before[b.ID], after[b.ID], before[a.ID], after[a.ID])
			}
			srcs, _ := st.Sources(ctx)
			if len(srcs) != 1 || srcs[0].Attention == "" {
				t.Errorf("the clean scoped run cleared what a full run flagged: %+v", srcs)
			}

			res = run(engine.Job{Source: src})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			check("after the next full run", a.ID, b.ID)
			if got := stored(t, st).messages[meanwhile.ID]; got.Body == "" {
				t.Error("the comment written on B during the scoped run of A was lost")
			}
			if final, _ := st.Cursor(ctx, "trello"); entries(t, final)[a.ID] != after[a.ID] {
				t.Errorf("the full run found something new on A")
			}
			if srcs, _ := st.Sources(ctx); len(srcs) != 1 || srcs[0].Attention != "" {
				t.Errorf("the clean full run kept the attention: %+v", srcs)
			}
		})
	}
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

// With board_names the scoped pull selects as the full pull does, from
// the listing of the token's boards: a board the pattern does not match
// is not pulled, and a matched one is found by its short link too.
func TestScopedPullByBoardNames(t *testing.T) {
	t.Parallel()
	tb := newTwoBoards()
	f := newFixture(t, tb.w, tb.clock)
	src := f.source(t, trello.APIOptions{BoardNames: "^Acme"})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	scoped, err := src.Scope([]string{tb.b.ID})
	if err != nil {
		t.Fatal(err)
	}
	var np *connectors.NotPulledError
	if err := scoped.Pull(t.Context(), m.cursor, m.emit); !errors.As(err, &np) {
		t.Fatalf("a board the pattern does not match: err = %v, want a NotPulledError", err)
	}
	tb.clock.Advance(time.Minute)
	c := tb.w.CommentCard(tb.client.ID, tb.a.card2.ID, "Any news?")
	if scoped, err = src.Scope([]string{tb.a.ShortLink}); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetStats()
	if err := scoped.Pull(t.Context(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.messages[c.ID]; !ok {
		t.Error("the new comment on A was not stored")
	}
	if got := mentioning(f.srv.Requests(), tb.names(tb.b.ID)); len(got) > 0 {
		t.Errorf("the scoped pull of A asked about B:\n%s", strings.Join(got, "\n"))
	}
	if n := f.srv.RouteCount("GET /1/members/{id}/boards"); n != 1 {
		t.Errorf("the boards were listed %d times, want once (to select as the full pull does)", n)
	}
}
