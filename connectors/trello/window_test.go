package trello_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/sync/engine"
)

// boardHistory builds a board's history action by action and writes it as
// Trello's "Export as JSON" does: the board's fields, lists, members,
// every card (archived ones too), and the newest actions only, newest
// first, each with its data and memberCreator as types.go reads them.
// Ids are Trello's: 24 hex digits whose first 8 are the creation second.
type boardHistory struct {
	t       testing.TB
	id      string
	name    string
	now     time.Time
	seq     int
	lists   []trello.List
	members []trello.Member
	cards   []*histCard
	actions []histAction // oldest first
}

type histCard struct {
	card    trello.Card
	created time.Time
	gone    bool
}

type histAction struct {
	id, typ, by string
	at          time.Time
	data        map[string]any
	cardID      string
}

func newBoardHistory(t testing.TB, name string, start time.Time) *boardHistory {
	h := &boardHistory{t: t, name: name, now: start}
	h.id = h.newID()
	for _, l := range []string{"To Do", "Doing", "Review", "Done"} {
		h.lists = append(h.lists, trello.List{ID: h.newID(), Name: l, Pos: float64(len(h.lists)+1) * 1024, IDBoard: h.id})
	}
	h.members = []trello.Member{
		{ID: h.newID(), Username: "annapetrova", FullName: "Anna Petrova", Initials: "AP"},
		{ID: h.newID(), Username: "johncarter", FullName: "John Carter", Initials: "JC"},
	}
	return h
}

// tick moves the board's clock on by a minute and returns it.
func (h *boardHistory) tick() time.Time {
	h.now = h.now.Add(time.Minute)
	return h.now
}

func (h *boardHistory) newID() string {
	h.seq++
	return fmt.Sprintf("%08x%016x", h.now.Unix(), h.seq)
}

func (h *boardHistory) list(name string) trello.List {
	for _, l := range h.lists {
		if l.Name == name {
			return l
		}
	}
	h.t.Fatalf("no list %q", name)
	return trello.List{}
}

func (h *boardHistory) member(username string) trello.Member {
	for _, m := range h.members {
		if m.Username == username {
			return m
		}
	}
	h.t.Fatalf("no member %q", username)
	return trello.Member{}
}

func (h *boardHistory) card(id string) *histCard {
	for _, c := range h.cards {
		if c.card.ID == id {
			return c
		}
	}
	h.t.Fatalf("no card %s", id)
	return nil
}

func (h *boardHistory) ref() map[string]any {
	return map[string]any{"id": h.id, "name": h.name, "shortLink": h.id[16:]}
}

func cardRef(c trello.Card) map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "idShort": c.IDShort, "shortLink": c.ShortLink}
}

func listRef(l trello.List) map[string]any { return map[string]any{"id": l.ID, "name": l.Name} }

func (h *boardHistory) act(by, typ, cardID string, data map[string]any) string {
	at := h.tick()
	data["board"] = h.ref()
	a := histAction{id: h.newID(), typ: typ, by: by, at: at, data: data, cardID: cardID}
	h.actions = append(h.actions, a)
	return a.id
}

// create adds a card to a list by a member (username) and returns its id.
func (h *boardHistory) create(by, list, name string) string {
	h.tick()
	l := h.list(list)
	c := trello.Card{ID: h.newID(), Name: name, IDList: l.ID, IDBoard: h.id, IDShort: len(h.cards) + 1, Pos: float64(len(h.cards)+1) * 1024}
	c.ShortLink = fmt.Sprintf("Cd%06d", c.IDShort)
	c.URL = "https://trello.com/c/" + c.ShortLink
	h.cards = append(h.cards, &histCard{card: c, created: h.now})
	h.act(h.member(by).ID, "createCard", c.ID, map[string]any{"card": cardRef(c), "list": listRef(l)})
	return c.ID
}

// move moves a card to a list.
func (h *boardHistory) move(by, cardID, list string) string {
	c := h.card(cardID)
	from, to := h.listByID(c.card.IDList), h.list(list)
	c.card.IDList = to.ID
	ref := cardRef(c.card)
	ref["idList"] = to.ID
	return h.act(h.member(by).ID, "updateCard", cardID, map[string]any{
		"card": ref, "listBefore": listRef(from), "listAfter": listRef(to), "old": map[string]any{"idList": from.ID}})
}

func (h *boardHistory) listByID(id string) trello.List {
	for _, l := range h.lists {
		if l.ID == id {
			return l
		}
	}
	h.t.Fatalf("no list %s", id)
	return trello.List{}
}

// comment writes a comment and returns its action id.
func (h *boardHistory) comment(by, cardID, text string) string {
	c := h.card(cardID)
	return h.act(h.member(by).ID, "commentCard", cardID, map[string]any{
		"text": text, "card": cardRef(c.card), "list": listRef(h.listByID(c.card.IDList))})
}

// noise writes an action karkas does not map (a due date set): it counts
// toward the export's 1000 like any other.
func (h *boardHistory) noise(by, cardID string) {
	c := h.card(cardID)
	ref := cardRef(c.card)
	ref["due"] = h.now.Add(72 * time.Hour).Format("2006-01-02T15:04:05.000Z")
	h.act(h.member(by).ID, "updateCard", cardID, map[string]any{"card": ref, "old": map[string]any{"due": nil}})
}

// deleteComment removes a comment, which Trello records nowhere.
func (h *boardHistory) deleteComment(id string) {
	h.actions = slices.DeleteFunc(h.actions, func(a histAction) bool { return a.id == id })
}

// deleteCard deletes a card for good and records a deleteCard action.
func (h *boardHistory) deleteCard(by, cardID string) {
	c := h.card(cardID)
	c.gone = true
	h.act(h.member(by).ID, "deleteCard", cardID, map[string]any{
		"card": map[string]any{"id": c.card.ID, "idShort": c.card.IDShort, "shortLink": c.card.ShortLink},
		"list": listRef(h.listByID(c.card.IDList))})
}

// purgeCard removes a card and every action naming it, leaving no trace
// in the export: the case where only the card's creation time, as the
// store keeps it, tells whether the export covers it.
func (h *boardHistory) purgeCard(cardID string) {
	h.card(cardID).gone = true
	h.actions = slices.DeleteFunc(h.actions, func(a histAction) bool { return a.cardID == cardID })
}

// oldestKept is the date of the oldest action an export keeps of limit.
func (h *boardHistory) oldestKept(limit int) time.Time {
	return h.actions[max(0, len(h.actions)-limit)].at
}

// write writes the export to path with at most limit actions, the newest.
func (h *boardHistory) write(path string, limit int) {
	h.t.Helper()
	date := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	acts := h.actions[max(0, len(h.actions)-limit):]
	actions := make([]map[string]any, 0, len(acts))
	for i := len(acts) - 1; i >= 0; i-- {
		a := acts[i]
		var mc trello.Member
		for _, m := range h.members {
			if m.ID == a.by {
				mc = m
			}
		}
		actions = append(actions, map[string]any{"id": a.id, "idMemberCreator": a.by, "type": a.typ, "date": date(a.at),
			"data": a.data, "appCreator": nil, "limits": map[string]any{}, "memberCreator": mc})
	}
	var cards []trello.Card
	for i := len(h.cards) - 1; i >= 0; i-- {
		if c := h.cards[i]; !c.gone {
			c.card.DateLastActivity = date(h.now)
			cards = append(cards, c.card)
		}
	}
	board := map[string]any{
		"id": h.id, "name": h.name, "desc": "", "closed": false, "idOrganization": nil,
		"url": "https://trello.com/b/" + h.id[16:], "shortLink": h.id[16:], "shortUrl": "https://trello.com/b/" + h.id[16:],
		"dateLastActivity": date(h.now), "prefs": map[string]any{"permissionLevel": "private"},
		"actions": actions, "cards": cards, "labels": []any{}, "lists": h.lists, "members": h.members,
		"checklists": []any{}, "customFields": []any{}, "pluginData": []any{},
	}
	b, err := json.MarshalIndent(board, "", " ")
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// pullFiles reads export files whole and returns the pull merged.
func pullFiles(t *testing.T, dir string, cursor string, files ...string) record.Batch {
	t.Helper()
	return merged(pull(t, open(t, trello.ExportOptions{Files: files}, dir), cursor))
}

func warnings(b record.Batch) []record.Problem {
	var out []record.Problem
	for _, p := range b.Problems {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// The window an export's actions cover, as the last batch names it: from
// the oldest action of a file holding 1000 (over every action, mapped or
// not) or the whole history below that, to just after the newest action;
// and each card the file's actions name that it no longer holds.
func TestExportWindow(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		actions int // in the history
		keep    int // in the file, the newest: 1000 as Trello's export when 0
		cut     bool
		says    string
	}{
		{name: "999 actions: the whole history", actions: 999},
		{name: "exactly 1000: cut", actions: 1000, cut: true, says: "1000 actions, as many as"},
		{name: "1500, of which the export keeps 1000: cut", actions: 1500, cut: true, says: "older history is cut"},
		{name: "a file of 1500, not Trello's export: taken as cut", actions: 1500, keep: 1500, cut: true, says: "cannot tell whether older history is cut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newBoardHistory(t, "Acme", start)
			card := h.create("johncarter", "To Do", "Landing page")
			gone := h.create("annapetrova", "To Do", "Banner")
			h.comment("johncarter", gone, "typo")
			h.deleteCard("annapetrova", gone)
			for len(h.actions) < tt.actions-1 {
				h.noise("annapetrova", card) // unmapped, yet the oldest of them opens the window
			}
			h.comment("johncarter", card, "Any news?")
			dir := t.TempDir()
			keep := cmp.Or(tt.keep, trello.ExportActionLimit)
			h.write(filepath.Join(dir, "acme.json"), keep)
			b := pullFiles(t, dir, "", "acme.json")
			if !b.EndOfSnapshot {
				t.Fatal("no end of snapshot")
			}
			var from time.Time
			if tt.cut {
				from = h.oldestKept(keep)
			}
			to := h.now.Add(time.Millisecond)
			want := []record.Scope{
				{Kind: record.ScopeTasks, ContainerID: h.id, From: from, To: to},
				{Kind: record.ScopeStatusChanges, ContainerID: h.id, From: from, To: to},
				{Kind: record.ScopeMessages, ContainerID: h.id, From: from, To: to},
			}
			if tt.actions <= keep {
				// The deleteCard action is still in the file.
				for _, k := range []string{record.ScopeTasks, record.ScopeStatusChanges, record.ScopeMessages} {
					want = append(want, record.Scope{Kind: k, ContainerID: h.id, TaskID: gone})
				}
			}
			if got := fmt.Sprint(b.Snapshot); got != fmt.Sprint(want) {
				t.Errorf("snapshot\n got %v\nwant %v", got, want)
			}
			// Read again after that snapshot was stored, the file still
			// shows the card gone, but its rows are gone already: no second
			// pass over them.
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "acme.json"), later, later); err != nil {
				t.Fatal(err)
			}
			if again := pullFiles(t, dir, b.Cursor, "acme.json"); fmt.Sprint(again.Snapshot) != fmt.Sprint(want[:3]) {
				t.Errorf("snapshot read again\n got %v\nwant %v", again.Snapshot, want[:3])
			}
			w := warnings(b)
			if !tt.cut {
				if len(w) != 0 {
					t.Errorf("warnings on an uncut export: %+v", w)
				}
				return
			}
			if len(w) != 1 || w[0].Where != "acme.json" {
				t.Fatalf("warnings %+v, want one at acme.json", w)
			}
			for _, s := range []string{tt.says, "start at " + from.Format("2006-01-02 15:04:05 UTC"),
				"is kept, not deleted", "kind: trello", h.id} {
				if !strings.Contains(w[0].Message, s) {
					t.Errorf("warning %q does not say %q", w[0].Message, s)
				}
			}
		})
	}
}

// Two exports of one board in a pull: the second file read is skipped and
// adds nothing to the snapshot; a board whose file is gone is kept, and
// said so once; the cursor of an older version (the bare fingerprint)
// still matches unchanged files.
func TestExportWindowFiles(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	acme := newBoardHistory(t, "Acme", start)
	acme.create("johncarter", "To Do", "Landing page")
	betta := newBoardHistory(t, "Betta", start.Add(time.Hour))
	betta.create("johncarter", "To Do", "Logo")
	acme.write(filepath.Join(dir, "acme.json"), 1000)
	acme.create("annapetrova", "To Do", "Newer card")
	acme.write(filepath.Join(dir, "acme-new.json"), 1000)
	betta.write(filepath.Join(dir, "betta.json"), 1000)

	b := pullFiles(t, dir, "", "*.json")
	// acme-new.json sorts first, so acme.json is the one skipped.
	var boards []string
	for _, s := range b.Snapshot {
		boards = append(boards, s.ContainerID)
	}
	if want := []string{acme.id, acme.id, acme.id, betta.id, betta.id, betta.id}; !slices.Equal(boards, want) {
		t.Errorf("snapshot boards %v, want acme's and betta's scopes once each", boards)
	}
	if !b.EndOfSnapshot || len(b.Tasks) != 3 {
		t.Errorf("end %v, %d tasks; want the end and 3 tasks", b.EndOfSnapshot, len(b.Tasks))
	}

	// Betta's file goes: its data stays (no scope names it) and a warning
	// says so, once.
	if err := os.Remove(filepath.Join(dir, "betta.json")); err != nil {
		t.Fatal(err)
	}
	next := pullFiles(t, dir, b.Cursor, "*.json")
	for _, s := range next.Snapshot {
		if s.ContainerID == betta.id {
			t.Errorf("scope %v on a board no file holds", s)
		}
	}
	w := warnings(next)
	if len(w) != 1 || w[0].Where != "betta.json" || !strings.Contains(w[0].Message, betta.id) || !strings.Contains(w[0].Message, "kept") {
		t.Errorf("warnings %+v, want one for betta.json", w)
	}
	if err := os.Chtimes(filepath.Join(dir, "acme.json"), time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again := warnings(pullFiles(t, dir, next.Cursor, "*.json")); len(again) != 0 {
		t.Errorf("the gone board is warned about again: %+v", again)
	}

	// A cursor from before it was JSON is the bare fingerprint: unchanged
	// files still cost nothing.
	var c struct{ Files string }
	if err := json.Unmarshal([]byte(next.Cursor), &c); err != nil || len(c.Files) != 64 {
		t.Fatalf("cursor %q: %v", next.Cursor, err)
	}
	src := open(t, trello.ExportOptions{Files: []string{"*.json"}}, dir)
	if bs := pull(t, src, c.Files); len(bs) == 0 {
		t.Fatal("acme.json was touched, yet nothing was read")
	}
	fresh := pullFiles(t, dir, "", "*.json")
	var fp struct{ Files string }
	json.Unmarshal([]byte(fresh.Cursor), &fp)
	if bs := pull(t, src, fp.Files); len(bs) != 0 {
		t.Errorf("an old-style cursor of unchanged files: %d batches, want none", len(bs))
	}
}

const exportCfg = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Petrova, side: agency, trello: [annapetrova]}
  - {id: john, name: John Carter, side: client, client: acme, trello: [johncarter]}
clients:
  - {id: acme, name: Acme, boards: [%s]}
statuses:
  - {match: [To Do], status: todo}
  - {match: [Doing], status: in_progress}
  - {match: [Review], status: review}
  - {match: [Done], status: done}
sources:
  - {id: trello, kind: trello_export, options: {files: [board.json]}}
`

// The "done means", through the engine into a real store on SQLite
// and PostgreSQL: a board imported whole, then a newer export that lost its
// oldest actions to Trello's limit of 1000 and gained newer ones. Nothing
// older than the new file's window is deleted (the rework from review of
// the oldest card, its comments, the card whose creation fell out); inside
// the window a deleted comment goes, a card deleted in Trello goes with its
// comment and moves, and so does a card that left no trace in the file but
// was created inside the window. The file is warned about. A third export,
// whose window starts after a card was deleted, keeps that card: its time
// is not covered any more.
func TestExportWindowIntoStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "board.json")
			h := newBoardHistory(t, "Acme Website", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(exportCfg, h.id)), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			src := open(t, trello.ExportOptions{Files: []string{"board.json"}}, dir)
			info := mapping.SourceInfo{ID: "trello", Kind: trello.ExportKindName, Identity: mapping.IdentityTrello}
			written := 0
			export := func(limit int) {
				t.Helper()
				h.write(path, limit)
				written++ // the fingerprint must change even if the size did not
				mtime := time.Date(2026, 1, 1, 0, 0, written, 0, time.UTC)
				if err := os.Chtimes(path, mtime, mtime); err != nil {
					t.Fatal(err)
				}
			}
			sync := func() engine.Result {
				t.Helper()
				e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				res := e.Run(ctx, engine.Job{Info: info, Source: src})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				return res
			}
			ids := func(table string, live bool) []string {
				t.Helper()
				q := "SELECT external_id FROM " + table + " WHERE deleted_at IS NOT NULL ORDER BY external_id"
				if live {
					q = "SELECT external_id FROM " + table + " WHERE deleted_at IS NULL ORDER BY external_id"
				}
				var out []string
				if err := st.Select(context.Background(), &out, q); err != nil {
					t.Fatal(err)
				}
				return out
			}
			// liveBefore lists the live moves and comments dated before w.
			liveBefore := func(w time.Time) map[string]bool {
				t.Helper()
				r := testdb.LiveRecords(t, st, "trello")
				out := map[string]bool{}
				for id, c := range r.Changes {
					if c.At.Before(w) {
						out[id] = true
					}
				}
				for id, m := range r.Messages {
					if m.SentAt.Before(w) {
						out[id] = true
					}
				}
				return out
			}
			cutWarnings := func() []string {
				t.Helper()
				var out []string
				if err := st.Select(context.Background(), &out, st.Rebind(`SELECT location || ': ' || message FROM problems
					WHERE source_id = 'trello' AND warning = ? ORDER BY created_at, message`), true); err != nil {
					t.Fatal(err)
				}
				return out
			}

			// The oldest history: a card reworked from review, a client's
			// comment on it, another card with a question.
			old := h.create("johncarter", "To Do", "Old landing")
			h.move("annapetrova", old, "Doing")
			h.move("annapetrova", old, "Review")
			h.comment("johncarter", old, "The hero image is off")
			h.move("annapetrova", old, "Doing") // rework
			h.move("annapetrova", old, "Review")
			h.move("annapetrova", old, "Done")
			z := h.create("johncarter", "To Do", "Old banner")
			h.comment("johncarter", z, "Old question")
			for range 400 {
				h.noise("annapetrova", old)
			}
			mid := h.create("johncarter", "To Do", "Pricing page")
			deleted := h.comment("johncarter", mid, "Delete me")
			kept := h.comment("annapetrova", mid, "Working on it")
			x := h.create("johncarter", "To Do", "Promo")
			h.comment("johncarter", x, "Promo question")
			y := h.create("johncarter", "To Do", "Teaser")
			h.comment("johncarter", y, "Teaser question")
			h.move("annapetrova", y, "Doing")
			for range 500 {
				h.noise("annapetrova", mid)
			}
			if len(h.actions) >= trello.ExportActionLimit {
				t.Fatalf("the first export holds %d actions; it should hold the whole history", len(h.actions))
			}
			export(trello.ExportActionLimit)
			if res := sync(); res.Deleted.Total() != 0 || res.Warnings != 0 {
				t.Fatalf("first import: deleted %v, %d warnings", res.Deleted, res.Warnings)
			}
			first := testdb.LiveRecords(t, st, "trello")
			if len(first.Tasks) != 5 || len(first.Messages) != 6 || len(first.Changes) != 11 {
				t.Fatalf("first import: %d tasks, %d comments, %d moves; want 5, 6, 11", len(first.Tasks), len(first.Messages), len(first.Changes))
			}

			// A month on: a comment deleted, a card deleted, a card gone
			// without a trace, a new card, many more actions.
			h.deleteComment(deleted)
			h.deleteCard("annapetrova", x)
			h.purgeCard(y)
			fresh := h.create("johncarter", "To Do", "New request")
			please := h.comment("johncarter", fresh, "Please")
			h.move("annapetrova", mid, "Doing")
			for range 400 {
				h.noise("annapetrova", mid)
			}
			window := h.oldestKept(trello.ExportActionLimit)
			if !window.After(h.card(z).created) || !window.Before(h.card(mid).created) || !window.Before(h.card(y).created) {
				t.Fatalf("the window starts at %s: the test's history no longer puts it between the old cards and the newer ones", window)
			}
			before := liveBefore(window)
			export(trello.ExportActionLimit)
			res := sync()
			if got := fmt.Sprint(res.Deleted); got != "map[messages:3 task_status_changes:3 tasks:2]" {
				t.Errorf("deleted %s, want the deleted comment, and the two deleted cards with a comment each and their three moves", got)
			}
			for id := range before {
				if !slices.Contains(ids("task_status_changes", true), id) && !slices.Contains(ids("messages", true), id) {
					t.Errorf("%s, older than the window, was deleted", id)
				}
			}
			if got, want := ids("tasks", false), sorted(x, y); !slices.Equal(got, want) {
				t.Errorf("deleted tasks %v, want %v (the deleted card and the one created in the window)", got, want)
			}
			if got := ids("tasks", true); !slices.Equal(got, sorted(old, z, mid, fresh)) {
				t.Errorf("live tasks %v", got)
			}
			live := testdb.LiveRecords(t, st, "trello")
			if _, ok := live.Messages[deleted]; ok {
				t.Error("the comment deleted inside the window is still live")
			}
			if _, ok := live.Messages[kept]; !ok {
				t.Error("a comment inside the window the file holds is gone")
			}
			if _, ok := live.Messages[please]; !ok {
				t.Error("the newer comment was not stored")
			}
			rework := 0
			for _, c := range live.Changes {
				if c.TaskID == old && c.From == "Review" && c.To == "Doing" {
					rework++
				}
			}
			if rework != 1 {
				t.Errorf("the old card's rework from review: %d moves live, want 1", rework)
			}
			w := cutWarnings()
			if len(w) != 1 || !strings.HasPrefix(w[0], "board.json: ") ||
				!strings.Contains(w[0], "start at "+window.Format("2006-01-02 15:04:05 UTC")) || !strings.Contains(w[0], "kept, not deleted") {
				t.Errorf("warnings %q, want one on board.json saying where its actions start", w)
			}
			if res.Warnings != 1 {
				t.Errorf("the run counted %d warnings, want 1", res.Warnings)
			}

			// Later still: the old banner is deleted, and over a thousand
			// actions on, its deleteCard action has left the export. Created
			// before the window and named by no action the file holds, it is
			// kept: the file no longer covers its time.
			h.deleteCard("annapetrova", z)
			for range trello.ExportActionLimit {
				h.noise("annapetrova", mid)
			}
			later := h.oldestKept(trello.ExportActionLimit)
			liveNow := liveBefore(later)
			export(trello.ExportActionLimit)
			if res := sync(); res.Deleted.Total() != 0 {
				t.Errorf("third export deleted %v; its window holds no change of what was stored", res.Deleted)
			}
			if got := ids("tasks", true); !slices.Equal(got, sorted(old, z, mid, fresh)) {
				t.Errorf("live tasks after the third export %v, want the old banner kept", got)
			}
			if got := liveBefore(later); fmt.Sprint(got) != fmt.Sprint(liveNow) {
				t.Errorf("moves and comments older than the third window changed:\n got %v\nwant %v", got, liveNow)
			}
			if w := cutWarnings(); len(w) != 2 || !strings.Contains(w[1], "start at "+later.Format("2006-01-02 15:04:05 UTC")) {
				t.Errorf("warnings after the third export: %q", w)
			}
			// The cards whose creation left the window keep who created
			// them and when: who created a task never changes.
			now := testdb.LiveRecords(t, st, "trello")
			for _, id := range []string{old, mid} {
				was, is := first.Tasks[id], now.Tasks[id]
				if was.CreatorID == "" || is.CreatorID != was.CreatorID || !is.CreatedAt.Equal(was.CreatedAt) {
					t.Errorf("card %s: created by %q at %s, first imported as by %q at %s", id, is.CreatorID, is.CreatedAt, was.CreatorID, was.CreatedAt)
				}
			}
			var creators int
			if err := st.Get(context.Background(), &creators, `SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL AND creator_person_id = 'john'`); err != nil {
				t.Fatal(err)
			}
			if creators != 4 {
				t.Errorf("%d live cards resolve to their creator John, want all 4", creators)
			}
		})
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
