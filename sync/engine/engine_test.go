package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

const cfgText = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna, side: agency, trello: [m-anna]}
  - {id: john, name: John, side: client, client: acme, trello: [m-john]}
clients:
  - {id: acme, name: Acme, boards: [b1], domains: [acme.com]}
statuses:
  - {match: [Doing], status: in_progress}
  - {match: [Done], status: done}
sources:
  - {id: board, kind: fake}
`

func resolver(t *testing.T, text string) *mapping.Resolver {
	t.Helper()
	l, err := mapping.Parse("karkas.yaml", []byte(text), mapping.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return mapping.NewResolver(l.Config)
}

var src = mapping.SourceInfo{ID: "board", Kind: "fake", Identity: mapping.IdentityTrello}

// pageSource serves cards in pages like an API with a cursor: the cursor is
// the number of cards already emitted. failAt makes the pull fail after that
// many batches.
type pageSource struct {
	cards   []record.Task
	per     int
	failAt  int
	pulls   int
	cursors []string
}

func (p *pageSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	p.pulls++
	p.cursors = append(p.cursors, cursor)
	start, _ := strconv.Atoi(cursor)
	batches := 0
	for i := start; i < len(p.cards); i += p.per {
		if p.failAt > 0 && batches == p.failAt {
			return errors.New("connection reset")
		}
		end := min(i+p.per, len(p.cards))
		b := &record.Batch{Tasks: p.cards[i:end], Cursor: strconv.Itoa(end)}
		if i == 0 {
			b.Containers = []record.Container{{ExternalID: "b1", Kind: record.ContainerBoard, Name: "Acme"}}
		}
		if err := emit(ctx, b); err != nil {
			return err
		}
		batches++
	}
	return nil
}

func cards(n int) []record.Task {
	var out []record.Task
	for i := range n {
		out = append(out, record.Task{ExternalID: fmt.Sprintf("c%03d", i), ContainerID: "b1", Title: fmt.Sprintf("Card %d", i),
			Status: "Doing", CreatorID: "m-john", CreatedAt: time.Date(2026, 9, 1, 10, 0, i, 0, time.UTC)})
	}
	return out
}

func newEngine(t *testing.T, st *store.Store, text string) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), st, resolver(t, text), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngine(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			t.Run("resume after failure without loss or duplicates", func(t *testing.T) {
				t.Parallel()
				st := testdb.Open(t, dialect)
				ctx := context.Background()
				s := &pageSource{cards: cards(25), per: 10, failAt: 2}
				res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
				if res.Err == nil || res.Written["tasks"] != 20 {
					t.Fatalf("first run: err %v, written %v; want a failure after 20 tasks", res.Err, res.Written)
				}
				s.failAt = 0
				res = newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
				if res.Err != nil || res.Written["tasks"] != 5 {
					t.Fatalf("second run: err %v, written %v; want the 5 remaining", res.Err, res.Written)
				}
				if s.cursors[1] != "20" {
					t.Errorf("second pull started at cursor %q, want 20", s.cursors[1])
				}
				var n int
				st.Get(context.Background(), &n, "SELECT COUNT(*) FROM tasks WHERE client_id = 'acme' AND status = 'in_progress' AND creator_side = 'client'")
				if n != 25 {
					t.Errorf("%d resolved tasks, want 25", n)
				}
				// Nothing new: no batch, nothing written.
				res = newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
				if res.Err != nil || res.Batches != 0 || res.Written.Total() != 0 {
					t.Errorf("no-change run: %+v", res)
				}
				srcs, _ := st.Sources(ctx)
				if len(srcs) != 1 || srcs[0].RunStatus.String != store.RunOK {
					t.Errorf("last run = %+v", srcs)
				}
			})
			t.Run("re-pull from scratch writes nothing", func(t *testing.T) {
				t.Parallel()
				st := testdb.Open(t, dialect)
				ctx := context.Background()
				s := &pageSource{cards: cards(12), per: 5}
				newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
				if err := st.ResetCursor(ctx, "board"); err != nil {
					t.Fatal(err)
				}
				res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
				if res.Err != nil || res.Received["tasks"] != 12 || res.Written.Total() != 0 {
					t.Errorf("re-pull: received %v written %v err %v; want 12 received, 0 written", res.Received, res.Written, res.Err)
				}
			})
			t.Run("panicking source fails alone", func(t *testing.T) {
				t.Parallel()
				st := testdb.Open(t, dialect)
				res := newEngine(t, st, cfgText).Run(context.Background(), engine.Job{Info: src, Source: panicSource{}})
				if res.Err == nil {
					t.Fatal("no error from a panicking source")
				}
			})
			t.Run("snapshot deletes what vanished", func(t *testing.T) {
				t.Parallel()
				st := testdb.Open(t, dialect)
				ctx := context.Background()
				snap := &snapshotSource{cards: cards(6), fingerprint: "v1"}
				newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: snap})
				snap.cards = append(snap.cards[:2], snap.cards[3:]...)
				snap.fingerprint = "v2"
				res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: snap})
				if res.Deleted["tasks"] != 1 || res.Written.Total() != 0 {
					t.Fatalf("deleted %v written %v; want 1 task soft-deleted and nothing else", res.Deleted, res.Written)
				}
				live, deleted, _ := st.TableCounts(ctx)
				if live["tasks"] != 5 || deleted["tasks"] != 1 {
					t.Errorf("live %v deleted %v", live, deleted)
				}
			})
			t.Run("remap applies a new mapping", func(t *testing.T) {
				t.Parallel()
				st := testdb.Open(t, dialect)
				ctx := context.Background()
				newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: &pageSource{cards: cards(7), per: 3}})
				// The list is renamed in the config's eyes: Doing is now review.
				changed := newEngine(t, st, strings.Replace(cfgText, "{match: [Doing], status: in_progress}", "{match: [Doing], status: review}", 1))
				n, err := changed.Remap(ctx, []mapping.SourceInfo{src})
				if err != nil || n["tasks"] != 7 {
					t.Fatalf("remap wrote %v, %v; want 7 tasks", n, err)
				}
				n, _ = changed.Remap(ctx, []mapping.SourceInfo{src})
				if n.Total() != 0 {
					t.Errorf("second remap wrote %v", n)
				}
				var c int
				st.Get(context.Background(), &c, "SELECT COUNT(*) FROM tasks WHERE status = 'review'")
				if c != 7 {
					t.Errorf("%d tasks in review after remap, want 7", c)
				}
			})
		})
	}
}

type panicSource struct{}

func (panicSource) Pull(context.Context, string, connectors.Emit) error { panic("boom") }

// snapshotSource emits everything each time its fingerprint changed.
type snapshotSource struct {
	cards       []record.Task
	fingerprint string
}

func (s *snapshotSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	if cursor == s.fingerprint {
		return nil
	}
	return emit(ctx, &record.Batch{Tasks: s.cards, Cursor: s.fingerprint, EndOfSnapshot: true,
		Containers: []record.Container{{ExternalID: "b1", Kind: record.ContainerBoard, Name: "Acme"}}})
}

// A batch that cannot be stored stops the source at its next emit, and the
// run reports the store's error, not the source's.
func TestWriteFailureStopsSource(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	e := newEngine(t, st, cfgText)
	if _, err := st.Exec(context.Background(), "DROP TABLE tasks"); err != nil {
		t.Fatal(err)
	}
	// More rows than the writer's queue holds, so the source must block
	// and then see the failure.
	s := &pageSource{cards: cards(60000), per: 1000}
	res := e.Run(context.Background(), engine.Job{Info: src, Source: s})
	if res.Err == nil || !regexp.MustCompile(`storing (batch 1|batches 1-\d+): writing tasks: .*no such table`).MatchString(res.Err.Error()) {
		t.Fatalf("err = %v, want the failed store of the first batches", res.Err)
	}
	if res.Batches >= 60 {
		t.Errorf("the source emitted all %d batches after the store failed", res.Batches)
	}
	if c, _ := st.Cursor(context.Background(), "board"); c != "" {
		t.Errorf("cursor = %q, want none", c)
	}
}

// funcSource pulls by calling a function, so that a test can emit what it
// needs batch by batch.
type funcSource func(ctx context.Context, cursor string, emit connectors.Emit) error

func (f funcSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	return f(ctx, cursor, emit)
}

// A batch that holds a part of the source whole (a card's comments re-read,
// a window of time entries) deletes the stored rows of that part it does
// not hold, and nothing outside the part: not another card's comments, not
// an email that merely links the card, not entries outside the window.
func TestCompleteScopes(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			day := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, time.UTC) }
			comment := func(id, card string, at time.Time) record.Message {
				return record.Message{ExternalID: id, Channel: record.ChannelCardComment, ThreadKey: card, TaskID: card,
					ContainerID: "b1", AuthorID: "m-john", Body: "?", SentAt: at}
			}
			entry := func(id, date string) record.TimeEntry {
				return record.TimeEntry{ExternalID: id, PersonID: "Anna", Date: date, Seconds: 600}
			}
			first := &record.Batch{
				Containers: []record.Container{{ExternalID: "b1", Kind: record.ContainerBoard, Name: "Acme"}},
				Tasks:      cards(2),
				Messages: []record.Message{comment("m1", "c000", day(1, 9)), comment("m2", "c000", day(2, 9)),
					comment("m3", "c000", day(3, 9)), comment("m4", "c001", day(2, 9))},
				TimeEntries: []record.TimeEntry{entry("e1", "2026-09-30"), entry("e2", "2026-10-01"), entry("e3", "2026-10-31"), entry("e4", "2026-11-01")},
			}
			run := func(b *record.Batch) engine.Result {
				t.Helper()
				res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
					return emit(ctx, b)
				})})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				return res
			}
			run(first)
			// The mail source links an email to card c000; it is not the
			// board's to delete.
			mail := mapping.SourceInfo{ID: "mail", Kind: "fake", Identity: mapping.IdentityEmail}
			if _, err := st.Exec(context.Background(), st.Rebind(`INSERT INTO messages (source_id, external_id, channel, thread_key, task_source_id, task_id,
				author_side, direction, sent_at, raw, hash, synced_at) VALUES (?, 'x@y', 'email', 'x@y', 'board', 'c000', 'client', 'inbound', ?, '{}', 'h', ?)`),
				mail.ID, day(2, 10), day(2, 10)); err != nil {
				t.Fatal(err)
			}
			// Card c000's comments re-read from Oct 2 on: m2 is gone, m3
			// stays; m1 is older than the window and so not judged. The
			// October time entries re-pulled: e2 is gone.
			second := &record.Batch{
				Messages:    []record.Message{comment("m3", "c000", day(3, 9))},
				TimeEntries: []record.TimeEntry{entry("e3", "2026-10-31")},
				Complete: []record.Scope{
					{Kind: record.ScopeMessages, TaskID: "c000", From: day(2, 0)},
					{Kind: record.ScopeTimeEntries, From: day(1, 0), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
				},
			}
			res := run(second)
			if res.Deleted["messages"] != 1 || res.Deleted["time_entries"] != 1 {
				t.Errorf("deleted = %v, want one message and one time entry", res.Deleted)
			}
			live := func(table string) string {
				var ids []string
				st.Select(context.Background(), &ids, fmt.Sprintf("SELECT external_id FROM %s WHERE deleted_at IS NULL ORDER BY external_id", table))
				return strings.Join(ids, ",")
			}
			if got := live("messages"); got != "m1,m3,m4,x@y" {
				t.Errorf("live messages = %s, want m1,m3,m4,x@y", got)
			}
			if got := live("time_entries"); got != "e1,e3,e4" {
				t.Errorf("live time entries = %s, want e1,e3,e4", got)
			}
			// A whole board's tasks: c001 is gone, and a comment seen again
			// comes back to life.
			third := &record.Batch{Tasks: cards(1), Messages: []record.Message{comment("m2", "c000", day(2, 9))},
				Complete: []record.Scope{{Kind: record.ScopeTasks, ContainerID: "b1"}}}
			run(third)
			if got := live("tasks"); got != "c000" {
				t.Errorf("live tasks = %s, want c000", got)
			}
			if got := live("messages"); got != "m1,m2,m3,m4,x@y" {
				t.Errorf("live messages = %s, want m1,m2,m3,m4,x@y", got)
			}
			// A bad scope is the source's error, before anything is stored.
			res = newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
				return emit(ctx, &record.Batch{Complete: []record.Scope{{Kind: record.ScopeTimeEntries, TaskID: "c000"}}})
			})})
			if res.Err == nil || !strings.Contains(res.Err.Error(), "only From and To narrow time entries") {
				t.Errorf("bad scope: err = %v", res.Err)
			}
		})
	}
}

// windowSource is a snapshot source whose pull holds only a part of what
// it once did (a board export's newest actions): it emits its cards two to
// a batch and names, on the last batch, the scopes its snapshot covers.
type windowSource struct {
	cards       []record.Task
	people      []record.Person
	containers  []record.Container
	snapshot    []record.Scope
	fingerprint string
}

func (s *windowSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	if cursor == s.fingerprint {
		return nil
	}
	if err := emit(ctx, &record.Batch{Containers: s.containers, People: s.people}); err != nil {
		return err
	}
	for i := 0; i < len(s.cards); i += 2 {
		if err := emit(ctx, &record.Batch{Tasks: s.cards[i:min(i+2, len(s.cards))]}); err != nil {
			return err
		}
	}
	return emit(ctx, &record.Batch{Cursor: s.fingerprint, EndOfSnapshot: true, Snapshot: s.snapshot})
}

// A snapshot narrowed to scopes deletes what it no longer holds inside them
// and keeps the rest of the source: older cards, the board, its people,
// even when the pull emitted none of them, and however its batches were
// grouped into transactions.
func TestSnapshotScopes(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			all := cards(6) // created a second apart from 10:00:00
			s := &windowSource{cards: all, fingerprint: "v1",
				containers: []record.Container{{ExternalID: "b1", Kind: record.ContainerBoard, Name: "Acme"}},
				people:     []record.Person{{ExternalID: "m-john", Username: "john"}}}
			if res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s}); res.Err != nil || res.Written["tasks"] != 6 {
				t.Fatalf("first pull: err %v, written %v", res.Err, res.Written)
			}
			live := func(table string) string {
				t.Helper()
				var ids []string
				if err := st.Select(context.Background(), &ids, fmt.Sprintf("SELECT external_id FROM %s WHERE deleted_at IS NULL ORDER BY external_id", table)); err != nil {
					t.Fatal(err)
				}
				return strings.Join(ids, ",")
			}
			// The next snapshot covers cards created from 10:00:03 on and
			// holds neither the board nor its people: c001 is older than
			// its window and stays, c004 lies inside it and goes.
			s.cards = []record.Task{all[0], all[2], all[3], all[5]}
			s.containers, s.people = nil, nil
			s.snapshot = []record.Scope{{Kind: record.ScopeTasks, ContainerID: "b1", From: all[3].CreatedAt}}
			s.fingerprint = "v2"
			res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
			if res.Err != nil || fmt.Sprint(res.Deleted) != "map[tasks:1]" {
				t.Fatalf("second pull: err %v, deleted %v; want c004 alone", res.Err, res.Deleted)
			}
			if got := live("tasks"); got != "c000,c001,c002,c003,c005" {
				t.Errorf("live tasks = %s, want all but c004", got)
			}
			if live("containers") != "b1" || live("source_people") != "m-john" {
				t.Errorf("the board or its people went: containers %q, people %q", live("containers"), live("source_people"))
			}
			if c, _ := st.Cursor(ctx, "board"); c != "v2" {
				t.Errorf("cursor = %q, want v2 saved with the deletes", c)
			}
			// A dry run of a wider window says what it would delete and
			// deletes nothing.
			s.snapshot[0].From, s.fingerprint = time.Time{}, "v3"
			e := newEngine(t, st, cfgText)
			e.DryRun = true
			if res := e.Run(ctx, engine.Job{Info: src, Source: s}); res.Err != nil || fmt.Sprint(res.Deleted) != "map[tasks:1]" {
				t.Errorf("dry run: err %v, deleted %v; want c001 alone", res.Err, res.Deleted)
			}
			if got := live("tasks"); got != "c000,c001,c002,c003,c005" {
				t.Errorf("a dry run deleted: live tasks = %s", got)
			}
			// A scope the store cannot apply is the source's error: nothing
			// is deleted and the cursor stays.
			s.snapshot = []record.Scope{{Kind: record.ScopeTimeEntries, ContainerID: "b1"}}
			s.cards, s.fingerprint = nil, "v4"
			res = newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: s})
			if res.Err == nil || !strings.Contains(res.Err.Error(), "bad snapshot scope") {
				t.Errorf("bad snapshot scope: err = %v", res.Err)
			}
			if c, _ := st.Cursor(ctx, "board"); c != "v2" || live("tasks") != "c000,c001,c002,c003,c005" {
				t.Errorf("a refused snapshot changed the store: cursor %q, tasks %s", c, live("tasks"))
			}
		})
	}
}

// A source that pulled what it could but found a part only a human can fix
// keeps what it emitted and flags the source; a later good pull clears it.
func TestAttention(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	ctx := context.Background()
	attention := func() string {
		t.Helper()
		srcs, err := st.Sources(ctx)
		if err != nil || len(srcs) != 1 {
			t.Fatalf("sources: %v %v", srcs, err)
		}
		return srcs[0].Attention
	}
	res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
		if err := emit(ctx, &record.Batch{Tasks: cards(3)}); err != nil {
			return err
		}
		return &connectors.AttentionError{Why: "board Old (b9) is gone or no longer shared; its data is kept", Err: errors.New("404 Not Found")}
	})})
	if res.Err == nil || res.Written["tasks"] != 3 {
		t.Fatalf("run: err %v, written %v", res.Err, res.Written)
	}
	if got := attention(); got != "board Old (b9) is gone or no longer shared; its data is kept" {
		t.Errorf("attention = %q", got)
	}
	res = newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
		return emit(ctx, &record.Batch{Tasks: cards(4)})
	})})
	if res.Err != nil || attention() != "" {
		t.Errorf("a good pull left attention %q (err %v)", attention(), res.Err)
	}
	res = newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
		return fmt.Errorf("listing boards: %w", connectors.ErrUnauthorized)
	})})
	if !errors.Is(res.Err, connectors.ErrUnauthorized) || !strings.Contains(attention(), "credentials refused") {
		t.Errorf("a refused token: err %v, attention %q", res.Err, attention())
	}
}

// TestOversizedText: a card with a description far over the cap is
// stored cut (its row and its raw record), with a warning, and the cards
// beside it are stored whole.
func TestOversizedText(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			tasks := cards(3)
			tasks[1].Description = strings.Repeat("описание ", record.MaxTextBytes/17+1000)
			res := newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
				return emit(ctx, &record.Batch{Tasks: tasks})
			})})
			if res.Err != nil || res.Written["tasks"] != 3 || res.Warnings != 1 || res.Problems != 0 {
				t.Fatalf("run: err %v, written %v, %d warnings, %d refused; want 3 tasks stored and one warning", res.Err, res.Written, res.Warnings, res.Problems)
			}
			var desc, raw string
			if err := st.Get(context.Background(), &desc, "SELECT description FROM tasks WHERE external_id = 'c001'"); err != nil {
				t.Fatal(err)
			}
			if err := st.Get(context.Background(), &raw, "SELECT raw FROM tasks WHERE external_id = 'c001'"); err != nil {
				t.Fatal(err)
			}
			if len(desc) > record.MaxTextBytes || !strings.HasSuffix(desc, record.TruncatedNote) || len(raw) > record.MaxTextBytes+4096 {
				t.Errorf("stored description %d bytes, raw %d; want both cut to %d", len(desc), len(raw), record.MaxTextBytes)
			}
			ps, err := st.RecentProblems(ctx, true, 10)
			if err != nil || len(ps) != 1 || ps[0].Location != "task c001" || !strings.Contains(ps[0].Message, "description is 1.0 MiB, over the 1 MiB karkas keeps") {
				t.Errorf("warnings stored: %+v (%v)", ps, err)
			}
			if tasks[1].Description == desc {
				t.Error("the source's record was cut in place")
			}
		})
	}
}

// A partial run (one board of the source, say) neither clears the
// source's attention when clean, since it read nothing of what a full run
// flagged, nor deletes across the whole source: a snapshot or a scope
// naming no container fails it before anything of the batch is stored.
func TestPartialRun(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	ctx := context.Background()
	run := func(partial bool, batches ...*record.Batch) engine.Result {
		t.Helper()
		return newEngine(t, st, cfgText).Run(ctx, engine.Job{Info: src, Partial: partial, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error {
			for _, b := range batches {
				if err := emit(ctx, b); err != nil {
					return err
				}
			}
			return nil
		})})
	}
	if res := run(false, &record.Batch{Tasks: cards(3), Cursor: "full"}); res.Err != nil {
		t.Fatal(res.Err)
	}
	const why = "board Old (b9) is gone or no longer shared; its data is kept"
	if err := st.SetAttention(ctx, src.ID, why); err != nil {
		t.Fatal(err)
	}
	attention := func() string {
		t.Helper()
		srcs, err := st.Sources(ctx)
		if err != nil || len(srcs) != 1 {
			t.Fatalf("sources: %v %v", srcs, err)
		}
		return srcs[0].Attention
	}
	if res := run(true, &record.Batch{Tasks: cards(3)[:1], Cursor: "partial"}); res.Err != nil || attention() != why {
		t.Errorf("a clean partial run: err %v, attention %q; want the full run's kept", res.Err, attention())
	}
	tests := []struct {
		name  string
		batch record.Batch
	}{
		{"snapshot of the whole source", record.Batch{EndOfSnapshot: true}},
		{"snapshot of a time window", record.Batch{EndOfSnapshot: true, Snapshot: []record.Scope{{Kind: record.ScopeTasks, From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}}}},
		{"tasks of the whole source", record.Batch{Complete: []record.Scope{{Kind: record.ScopeTasks}}}},
		{"messages of a window", record.Batch{Complete: []record.Scope{{Kind: record.ScopeMessages, ContainerID: "b1"}, {Kind: record.ScopeMessages, From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.batch
			b.Cursor = "bad"
			res := run(true, &b)
			if res.Err == nil || !strings.Contains(res.Err.Error(), "partial pull") {
				t.Errorf("err = %v, want the partial pull refused", res.Err)
			}
			live, _, err := st.TableCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := st.Cursor(ctx, src.ID); live["tasks"] != 3 || c != "partial" {
				t.Errorf("after the refused batch: %d live tasks, cursor %q; want 3 and partial", live["tasks"], c)
			}
		})
	}
	// The same scopes are a full run's to emit.
	if res := run(false, &record.Batch{Tasks: cards(2), Complete: []record.Scope{{Kind: record.ScopeTasks}}}); res.Err != nil || res.Deleted["tasks"] != 1 || attention() != "" {
		t.Errorf("a full run's scope: err %v, deleted %v, attention %q", res.Err, res.Deleted, attention())
	}
}

// A lazy engine (a webhook's pull) stores what an eager one stores: the
// same first pull into two stores, then the same second batch through an
// eager engine on one and a lazy one on the other, which must find the
// stored card's client, creator and board, link a comment to a stored
// card and to a card of its own batch, and heal a stored comment that
// named a card not stored until now.
func TestLazyEngineAgrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	first := &record.Batch{Containers: []record.Container{{ExternalID: "b1", Kind: record.ContainerBoard, Name: "Acme"}}, Tasks: cards(3),
		Messages: []record.Message{{ExternalID: "m0", Channel: "trello", ThreadKey: "c000", ContainerID: "b1", AuthorID: "m-john",
			Body: "See also https://trello.com/c/zzz", TaskRefs: []string{"zzz"}, SentAt: at}}, Cursor: "1"}
	later := cards(3)[1]
	later.CreatorID, later.Title = "", "Card 1, renamed" // a read that no longer shows who created it
	second := &record.Batch{
		Tasks: []record.Task{later, {ExternalID: "c100", ShortRef: "zzz", ContainerID: "b1", Title: "New card", Status: "Doing", CreatedAt: at}},
		Messages: []record.Message{
			{ExternalID: "m1", Channel: "trello", ThreadKey: "c002", TaskID: "c002", AuthorID: "m-john", Body: "Any news?", SentAt: at.Add(time.Hour)},
			{ExternalID: "m2", Channel: "trello", ThreadKey: "c100", TaskID: "c100", AuthorID: "m-anna", Body: "On it", SentAt: at.Add(2 * time.Hour)},
		},
		StatusChanges: []record.StatusChange{{ExternalID: "s1", TaskID: "c000", From: "Doing", To: "Done", At: at.Add(time.Hour), ActorID: "m-anna"}},
		Cursor:        "2",
	}
	emitting := func(b *record.Batch) engine.Job {
		return engine.Job{Info: src, Partial: true, Source: funcSource(func(ctx context.Context, _ string, emit connectors.Emit) error { return emit(ctx, b) })}
	}
	var results []engine.Result
	var stores []*store.Store
	for _, lazy := range []bool{false, true} {
		st := testdb.Open(t, store.SQLite)
		if res := newEngine(t, st, cfgText).Run(ctx, emitting(first)); res.Err != nil {
			t.Fatal(res.Err)
		}
		e := newEngine(t, st, cfgText)
		if lazy {
			e = engine.NewLazy(ctx, st, resolver(t, cfgText), slog.New(slog.NewTextHandler(io.Discard, nil)))
		}
		res := e.Run(ctx, emitting(second))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		results, stores = append(results, res), append(stores, st)
	}
	if results[0].Linked["messages"] != 1 || results[1].Linked["messages"] != 1 {
		t.Errorf("healed: eager %v, lazy %v; want the stored comment linked to the new card", results[0].Linked, results[1].Linked)
	}
	rows := func(st *store.Store) string {
		var out []string
		for _, q := range []string{
			`SELECT external_id || ' ' || client_id || ' ' || creator_ref || ' ' || CAST(created_at AS TEXT) || ' ' || hash FROM tasks ORDER BY 1`,
			`SELECT external_id || ' ' || task_id || ' ' || client_id || ' ' || author_side || ' ' || hash FROM messages ORDER BY 1`,
			`SELECT external_id || ' ' || client_id || ' ' || hash FROM task_status_changes ORDER BY 1`,
		} {
			var r []string
			if err := st.Select(ctx, &r, q); err != nil {
				t.Fatal(err)
			}
			out = append(out, r...)
		}
		return strings.Join(out, "\n")
	}
	eager, lazy := rows(stores[0]), rows(stores[1])
	if eager != lazy {
		t.Errorf("the stores differ:\neager:\n%s\nlazy:\n%s", eager, lazy)
	}
	for _, want := range []string{"c001 acme m-john", "m0 c100 acme", "m1 c002 acme client", "s1 acme"} {
		if !strings.Contains(lazy, want) {
			t.Errorf("the lazy store lacks %q:\n%s", want, lazy)
		}
	}
}
