package trello_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/record"
)

var epoch = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// memStore applies batches the way the engine does (upserts, Deleted,
// Complete scopes) so that a pull's outcome can be compared with an
// export's.
type memStore struct {
	containers map[string]record.Container
	people     map[string]record.Person
	tasks      map[string]record.Task
	changes    map[string]record.StatusChange
	fields     map[string]record.FieldChange
	messages   map[string]record.Message
	cursor     string
	batches    int
	// boardOf is each task's container, kept after the task is deleted
	// as the store keeps the row: a scope by board still holds the moves
	// and comments of a task it deleted.
	boardOf map[string]string
}

func newMemStore() *memStore {
	return &memStore{containers: map[string]record.Container{}, people: map[string]record.Person{},
		tasks: map[string]record.Task{}, changes: map[string]record.StatusChange{}, fields: map[string]record.FieldChange{}, messages: map[string]record.Message{},
		boardOf: map[string]string{}}
}

func (m *memStore) emit(_ context.Context, b *record.Batch) error {
	for _, s := range b.Complete {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	m.batches++
	inTasks, inChanges, inMsgs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range b.Containers {
		m.containers[c.ExternalID] = c
	}
	for _, p := range b.People {
		m.people[p.ExternalID] = p
	}
	for _, t := range b.Tasks {
		inTasks[t.ExternalID] = true
		m.tasks[t.ExternalID] = t
		m.boardOf[t.ExternalID] = t.ContainerID
	}
	for _, sc := range b.StatusChanges {
		inChanges[sc.ExternalID] = true
		m.changes[sc.ExternalID] = sc
	}
	for _, fc := range b.FieldChanges {
		inChanges[fc.ExternalID] = true
		m.fields[fc.ExternalID] = fc
	}
	for _, msg := range b.Messages {
		inMsgs[msg.ExternalID] = true
		m.messages[msg.ExternalID] = msg
	}
	container := func(taskID string) string { return m.boardOf[taskID] }
	inTime := func(s record.Scope, at time.Time) bool {
		return (s.From.IsZero() || !at.Before(s.From)) && (s.To.IsZero() || at.Before(s.To))
	}
	for _, s := range b.Complete {
		switch s.Kind {
		case record.ScopeTasks:
			for id, t := range m.tasks {
				if !inTasks[id] && (s.ContainerID == "" || t.ContainerID == s.ContainerID) && (s.TaskID == "" || id == s.TaskID) && inTime(s, t.CreatedAt) {
					delete(m.tasks, id)
				}
			}
		case record.ScopeStatusChanges:
			for id, c := range m.changes {
				if !inChanges[id] && (s.ContainerID == "" || container(c.TaskID) == s.ContainerID) && (s.TaskID == "" || c.TaskID == s.TaskID) && inTime(s, c.At) {
					delete(m.changes, id)
				}
			}
			for id, c := range m.fields {
				if !inChanges[id] && (s.ContainerID == "" || container(c.TaskID) == s.ContainerID) && (s.TaskID == "" || c.TaskID == s.TaskID) && inTime(s, c.At) {
					delete(m.fields, id)
				}
			}
		case record.ScopeMessages:
			for id, msg := range m.messages {
				if !inMsgs[id] && (s.ContainerID == "" || container(msg.TaskID) == s.ContainerID) && (s.TaskID == "" || msg.TaskID == s.TaskID) && inTime(s, msg.SentAt) {
					delete(m.messages, id)
				}
			}
		}
	}
	if b.Cursor != "" {
		m.cursor = b.Cursor
	}
	return nil
}

// dump renders the live records, sorted, one per line.
func (m *memStore) dump() string {
	var lines []string
	add := func(kind string, v any) {
		b, _ := json.Marshal(v)
		lines = append(lines, kind+" "+string(b))
	}
	for _, c := range m.containers {
		// What span of the past a read holds whole is the read's, not the
		// board's: an export says where its actions start, the API pull
		// holds them all.
		c.History = nil
		add("container", c)
	}
	for _, p := range m.people {
		add("person", p)
	}
	for _, t := range m.tasks {
		add("task", t)
	}
	for _, c := range m.changes {
		add("change", c)
	}
	for _, fc := range m.fields {
		add("field", fc)
	}
	for _, msg := range m.messages {
		add("message", msg)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// exported reads the fake's boards as "Export as JSON" files through the
// trello_export source: what a sync of the same boards must end at.
func exported(t *testing.T, w *trellofake.World, boardIDs ...string) *memStore {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, id := range boardIDs {
		b, err := w.ExportJSON(id)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, id+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	src, err := trello.NewExport(trello.ExportOptions{Files: files, BatchSize: 100000}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	return m
}

// fixture is a fake Trello on a virtual clock and a source pulling it.
type fixture struct {
	clock  *trellofake.VirtualClock
	world  *trellofake.World
	srv    *trellofake.Server
	client *trello.Client
}

func newFixture(t *testing.T, w *trellofake.World, clock *trellofake.VirtualClock) *fixture {
	t.Helper()
	return newFixtureLimits(t, w, clock, trellofake.Limits{})
}

// newFixtureLimits is newFixture with the fake counting by l.
func newFixtureLimits(t *testing.T, w *trellofake.World, clock *trellofake.VirtualClock, l trellofake.Limits) *fixture {
	t.Helper()
	srv := trellofake.New(t, trellofake.Options{World: w, Limits: l})
	// The attempt timeout is real time: under -race on a loaded machine the
	// fake takes well over a second to render a large board, and a timeout
	// near that would fail the pull for no fault of the client's.
	c, err := trello.NewClient(trello.ClientOptions{BaseURL: srv.BaseURL(), HTTPClient: srv.Client(), Key: srv.Key(), Token: srv.Token(),
		Budget: trello.NewBudget(trello.Limits{}, clock), Clock: clock, Timeout: 5 * time.Second, MaxAttempts: 3, BackoffBase: time.Second, BackoffMax: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clock: clock, world: w, srv: srv, client: c}
}

func (f *fixture) source(t *testing.T, opts trello.APIOptions) *trello.Source {
	t.Helper()
	o := trello.DefaultOptions()
	o.Key, o.Token = secret.Inline("unused"), secret.Inline("unused")
	o.Boards = opts.Boards
	o.BoardNames = opts.BoardNames
	if opts.BatchSize != 0 {
		o.BatchSize = opts.BatchSize
	}
	if opts.ReconcileEvery != 0 {
		o.ReconcileEvery = opts.ReconcileEvery
	}
	if opts.Concurrency != 0 {
		o.Concurrency = opts.Concurrency
	}
	s, err := trello.NewSource(*o, connectors.Env{Now: f.clock.Now}, f.client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// smallWorld is one board with lists, a client-side member, two cards
// and a comment.
type smallWorld struct {
	w                 *trellofake.World
	clock             *trellofake.VirtualClock
	board             trellofake.Board
	todo, doing, done trellofake.List
	client            trellofake.Member
	card1, card2      trellofake.Card
	comment           trellofake.Action
}

func newSmallWorld() *smallWorld {
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.NewWorld(clock)
	s := &smallWorld{w: w, clock: clock}
	s.board = w.AddBoard("Acme Website")
	s.todo = w.AddList(s.board.ID, "To Do")
	s.doing = w.AddList(s.board.ID, "Doing")
	s.done = w.AddList(s.board.ID, "Done")
	s.client = w.AddMember(s.board.ID, "johncarter", "John Carter")
	clock.Advance(time.Minute)
	s.card1 = w.CreateCard(s.client.ID, s.todo.ID, "Fix the banner")
	clock.Advance(time.Minute)
	s.card2 = w.CreateCard(w.Me().ID, s.todo.ID, "New pricing page")
	w.AddChecklist(w.Me().ID, s.card2.ID, "Steps", "design", "build")
	clock.Advance(time.Minute)
	s.comment = w.CommentCard(s.client.ID, s.card1.ID, "When can we expect this?")
	w.MoveCard(w.Me().ID, s.card1.ID, s.doing.ID)
	clock.Advance(time.Minute)
	return s
}

func pullInto(t *testing.T, s *trello.Source, m *memStore) error {
	t.Helper()
	return s.Pull(context.Background(), m.cursor, m.emit)
}

func diff(t *testing.T, what string, got, want *memStore) {
	t.Helper()
	g, w := got.dump(), want.dump()
	if g == w {
		return
	}
	gl, wl := strings.Split(g, "\n"), strings.Split(w, "\n")
	in := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	gm, wm := in(gl), in(wl)
	var out []string
	for _, s := range gl {
		if !wm[s] {
			out = append(out, "+ "+s)
		}
	}
	for _, s := range wl {
		if !gm[s] {
			out = append(out, "- "+s)
		}
	}
	t.Errorf("%s: pulled records differ from the export (+ pulled only, - export only):\n%s", what, strings.Join(out, "\n"))
}

// The first "done means": a board synced, changed (new comment,
// edited comment, moved card, archived card, new card by a client-side
// member, a deleted comment and card), synced again: the records match an
// export of the board exactly.
func TestPullMatchesExport(t *testing.T) {
	t.Parallel()
	s := newSmallWorld()
	f := newFixture(t, s.w, s.clock)
	src := f.source(t, trello.APIOptions{Boards: []string{s.board.ShortLink}})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "backfill", m, exported(t, s.w, s.board.ID))

	// Nothing changed: one request, nothing stored.
	f.srv.ResetStats()
	before := m.batches
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Total(); n != 1 {
		t.Errorf("no-change pull made %d requests, want 1: %v", n, f.srv.RouteCounts())
	}
	if m.batches != before {
		t.Errorf("no-change pull emitted %d batches", m.batches-before)
	}

	// Changes a since-cursor sees.
	s.clock.Advance(time.Minute)
	c3 := s.w.CreateCard(s.client.ID, s.todo.ID, "Client asks for a new page")
	s.w.CommentCard(s.w.Me().ID, s.card1.ID, "Tomorrow")
	s.w.MoveCard(s.w.Me().ID, s.card2.ID, s.done.ID)
	s.w.ArchiveCard(s.w.Me().ID, s.card2.ID)
	s.w.CommentCard(s.client.ID, c3.ID, "Please")
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "incremental", m, exported(t, s.w, s.board.ID))

	// An edited and a deleted comment write no action: the pull misses
	// them until a reconcile.
	s.clock.Advance(time.Minute)
	s.w.EditComment(s.comment.ID, "When can we expect this? (edited)")
	gone := s.w.CommentCard(s.client.ID, c3.ID, "typo")
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	s.w.DeleteComment(gone.ID)
	s.clock.Advance(trello.DefaultReconcileEvery)
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "reconcile", m, exported(t, s.w, s.board.ID))

	// A card deleted: its deleteCard action names it, the re-read gets 404.
	s.clock.Advance(time.Minute)
	s.w.DeleteCard(s.w.Me().ID, c3.ID)
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "deleted card", m, exported(t, s.w, s.board.ID))
}

// A generated agency: backfill and changes match the export on every
// board, with boards pulled concurrently and batches small enough to
// split.
func TestPullGeneratedBoards(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 7, Boards: 3, CardsPerBoard: 40, ActionsPerBoard: 1500, Clock: clock})
	f := newFixture(t, w, clock)
	src := f.source(t, trello.APIOptions{BoardNames: ".", BatchSize: 300, Concurrency: 2})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range w.Boards() {
		ids = append(ids, b.ID)
	}
	diff(t, "backfill", m, exported(t, w, ids...))
	// The generator gives every third board Priority and Estimate fields.
	withFields := 0
	for _, tk := range m.tasks {
		if tk.Fields["Priority"] != "" {
			withFields++
		}
	}
	if withFields == 0 {
		t.Error("no pulled card carries its Priority custom field")
	}
	// One request to list the boards, one batch for their actions.
	f.srv.ResetStats()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Total(); n != 2 {
		t.Errorf("no-change pull of 3 boards by name made %d requests, want 2: %v", n, f.srv.RouteCounts())
	}
	for i, b := range w.Boards() {
		lists := w.Lists(b.ID)
		cards := w.Cards(b.ID)
		clock.Advance(time.Minute)
		w.MoveCard(w.Me().ID, cards[i].ID, lists[len(lists)-1].ID)
		w.CommentCard(w.Me().ID, cards[i+1].ID, fmt.Sprintf("comment %d", i))
		w.CreateCard(w.Me().ID, lists[0].ID, "new")
	}
	// A custom field set on a card the actions name: the re-read card
	// carries the new value.
	field := w.AddCustomField(ids[1], "Срочность", "list", "Высокая", "Низкая")
	card := w.Cards(ids[1])[5]
	w.SetCustomField(w.Me().ID, card.ID, field.ID, "Высокая")
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	diff(t, "incremental", m, exported(t, w, ids...))
	if got := m.tasks[card.ID].Fields["Срочность"]; got != "Высокая" {
		t.Errorf("custom field after an incremental pull = %q, want Высокая", got)
	}
}

// A deleted board and a board the token no longer sees: the others are
// pulled, the error names the board, its data stays.
func TestPullBoardGone(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 3, Boards: 2, CardsPerBoard: 5, Clock: clock})
	f := newFixture(t, w, clock)
	bs := w.Boards()
	src := f.source(t, trello.APIOptions{Boards: []string{bs[0].ID, bs[1].ID}})
	m := newMemStore()
	if err := pullInto(t, src, m); err != nil {
		t.Fatal(err)
	}
	tasks := len(m.tasks)
	w.DeleteBoard(bs[0].ID)
	clock.Advance(time.Minute)
	w.CreateCard(w.Me().ID, w.Lists(bs[1].ID)[0].ID, "still pulled")
	err := pullInto(t, src, m)
	var ae *connectors.AttentionError
	if !errors.As(err, &ae) || !strings.Contains(ae.Why, bs[0].ID) || strings.Contains(ae.Why, bs[1].ID) {
		t.Fatalf("err = %v, want an AttentionError naming board %s only", err, bs[0].ID)
	}
	if len(m.tasks) != tasks+1 {
		t.Errorf("%d tasks after the pull, want %d (the gone board's kept, the new card added)", len(m.tasks), tasks+1)
	}
	// The token is revoked: unauthorized, nothing emitted.
	w.RevokeToken(f.srv.Token())
	before := m.batches
	err = pullInto(t, src, m)
	if !errors.Is(err, connectors.ErrUnauthorized) || m.batches != before {
		t.Errorf("revoked token: err %v, %d batches", err, m.batches-before)
	}
}
