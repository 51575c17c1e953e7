package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello/trellofake"
)

// A board export that holds 1000 actions, Trello's most, through the CLI:
// sync stores it and counts a warning, and status shows it under "input
// stored with a warning" with the date its actions start. Re-syncing a
// newer export that lost the oldest comment keeps that comment.
func TestExportCutWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := trellofake.NewVirtualClock(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	w := trellofake.NewWorld(clock)
	board := w.AddBoard("Acme Website")
	todo := w.AddList(board.ID, "To Do")
	john := w.AddMember(board.ID, "johncarter", "John Carter")
	card := w.CreateCard(john.ID, todo.ID, "Landing page")
	clock.Advance(time.Minute)
	first := w.CommentCard(john.ID, card.ID, "The oldest question")
	for i := range 998 {
		clock.Advance(time.Minute)
		w.CommentCard(w.Me().ID, card.ID, fmt.Sprintf("answer %d", i))
	}
	path := filepath.Join(dir, "acme.json")
	writeExport := func(keep int) {
		t.Helper()
		b, err := w.ExportJSON(board.ID)
		if err != nil {
			t.Fatal(err)
		}
		// ExportJSON holds every action; Trello's export keeps the newest
		// 1000. The fake writes actions newest first, so the first keep of
		// them are the ones Trello would export.
		b = cutActions(t, b, keep)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeExport(1000) // exactly 1000: the creation and 999 comments
	config := filepath.Join(dir, "karkas.yaml")
	cfg := fmt.Sprintf(`agency: {name: Northwind, domains: [northwind.agency]}
store: {url: "sqlite:%s"}
people:
  - {id: john, name: John Carter, side: client, client: acme, trello: [johncarter]}
clients:
  - {id: acme, name: Acme, boards: [%s]}
statuses:
  - {match: [To Do], status: todo}
sources:
  - {id: boards, kind: trello_export, options: {files: [acme.json]}}
`, filepath.Join(dir, "k.db"), board.ID)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "sync", "-c", config)
	if code != exitOK || !regexp.MustCompile(`(?m)^boards\s+trello_export\s+\d+\s+\d+\s+0\s+0\s+1\s+\S+\s+ok`).MatchString(out) {
		t.Fatalf("sync: exit %d, want one warning on the boards line\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, nil, "status", "-c", config)
	if code != exitOK {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	start := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC).Format("2006-01-02 15:04:05 UTC")
	_, warned, ok := strings.Cut(out, "input stored with a warning (newest first):\n")
	if !ok || !strings.Contains(warned, "  boards: acme.json: board \"Acme Website\"") ||
		!strings.Contains(warned, "its actions start at "+start) || !strings.Contains(warned, "kind: trello") {
		t.Fatalf("status does not show the cut export under the warnings:\n%s", out)
	}
	if strings.Contains(out, "input skipped as unreadable") {
		t.Errorf("the cut export is shown as refused:\n%s", out)
	}

	// A newer export: two more comments, so the card's creation and the
	// oldest comment fall out of its 1000 actions. Nothing is deleted.
	for _, text := range []string{"A newer question", "And another"} {
		clock.Advance(time.Minute)
		w.CommentCard(john.ID, card.ID, text)
	}
	writeExport(1000)
	code, out, errOut = runCLI(t, nil, "sync", "-c", config)
	if code != exitOK || !regexp.MustCompile(`(?m)^boards\s+trello_export\s+\d+\s+\d+\s+0\s+0\s+1\s+\S+\s+ok`).MatchString(out) {
		t.Fatalf("second sync: exit %d, want nothing deleted and one warning\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, nil, "status", "-c", config)
	if code != exitOK || !regexp.MustCompile(`(?m)^acme\s+Acme\s+1\s+1\s+1001\s`).MatchString(out) {
		t.Errorf("status after the newer export: want the task, its creation and all 1001 comments live (the oldest, %s, kept)\n%s", first.ID, out)
	}
}

// cutActions keeps the first keep actions of an export (the newest).
func cutActions(t *testing.T, export []byte, keep int) []byte {
	t.Helper()
	var board map[string]json.RawMessage
	var actions []json.RawMessage
	if err := json.Unmarshal(export, &board); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(board["actions"], &actions); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(actions[:min(keep, len(actions))])
	if err != nil {
		t.Fatal(err)
	}
	board["actions"] = b
	if export, err = json.Marshal(board); err != nil {
		t.Fatal(err)
	}
	return export
}

// A board whose first export is already cut: its cards are older than the
// actions it holds, and status says what karkas could not know of them.
func TestStatusNamesHistoryGaps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := trellofake.NewVirtualClock(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	w := trellofake.NewWorld(clock)
	board := w.AddBoard("Acme Website")
	todo := w.AddList(board.ID, "To Do")
	card := w.CreateCard(w.Me().ID, todo.ID, "Landing page")
	for i := range 1000 {
		clock.Advance(time.Minute)
		w.CommentCard(w.Me().ID, card.ID, fmt.Sprintf("note %d", i))
	}
	b, err := w.ExportJSON(board.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme.json"), cutActions(t, b, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "karkas.yaml")
	cfg := fmt.Sprintf(`agency: {name: Northwind, domains: [northwind.agency]}
store: {url: "sqlite:%s"}
clients:
  - {id: acme, name: Acme, boards: [%s]}
statuses:
  - {match: [To Do], status: todo}
sources:
  - {id: boards, kind: trello_export, options: {files: [acme.json]}}
`, filepath.Join(dir, "k.db"), board.ID)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, nil, "sync", "-c", config); code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, nil, "status", "-c", config)
	if code != exitOK {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	want := `  boards: "Acme Website" (` + board.ID + `): changes held from 2026-09-01 09:01 UTC; 1 of its 1 tasks are older`
	if !strings.Contains(out, "field history karkas does not hold") || !strings.Contains(out, want) {
		t.Errorf("status does not name the history gap, want %q:\n%s", want, out)
	}
}
