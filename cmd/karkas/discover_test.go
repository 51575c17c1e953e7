package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello/trellofake"
)

// The "done means": discover against the fake prints a skeleton
// that validate accepts once its TODOs are filled in, and validate
// --online finds every name of it on the boards; a list name that is not
// there is reported at its position.
func TestDiscoverSkeletonValidates(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 4, Boards: 3, CardsPerBoard: 5, Clock: clock})
	w.AddList(w.Boards()[0].ID, "Ждём дизайн")
	env, base := fakeTrelloConfig(t, w)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "karkas.yaml")
	if err := os.WriteFile(cfg, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, env, "--config", cfg, "discover", "trello", "--source", "boards")
	if code != exitOK {
		t.Fatalf("discover: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"status: in_progress", `"Doing"`, `# - {match: ["Ждём дизайн"], status: TODO}`, "side: TODO", "trello: [annapetrova, "} {
		if !strings.Contains(out, want) {
			t.Errorf("skeleton lacks %q:\n%s", want, out)
		}
	}
	for _, b := range w.Boards() {
		if !strings.Contains(out, "boards: ["+b.ID+"]") {
			t.Errorf("skeleton lacks board %s:\n%s", b.ID, out)
		}
	}
	// Filled in mechanically: everyone on the agency side.
	filled := base + regexp.MustCompile(`side: TODO\b`).ReplaceAllString(out, "side: agency")
	if err := os.WriteFile(cfg, []byte(filled), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate"}, {"validate", "--online"}} {
		code, out, errOut = runCLI(t, env, append([]string{"--config", cfg}, args...)...)
		if code != exitOK || !strings.Contains(out, ": ok (3 clients") {
			t.Fatalf("%v of the filled skeleton: exit %d\n%s%s\n--- config:\n%s", args, code, out, errOut, filled)
		}
	}
	// A list name and a member that do not exist.
	broken := strings.Replace(filled, `"Doing"`, `"Doingg"`, 1)
	broken = strings.Replace(broken, "trello: [annapetrova, ", "trello: [annapetrov, ", 1)
	if err := os.WriteFile(cfg, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, env, "--config", cfg, "validate", "--online")
	if code != exitFailed {
		t.Fatalf("validate --online of a wrong list name: exit %d\n%s", code, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`karkas\.yaml:\d+:\d+: statuses\[\d+\]\.match\[0\]: no list named "Doingg"`),
		regexp.MustCompile(`karkas\.yaml:\d+:\d+: people\[\d+\]\.trello\[0\]: no member "annapetrov"`),
	} {
		if !want.MatchString(out) {
			t.Errorf("validate --online output lacks %s:\n%s", want, out)
		}
	}
	// A member the mapping leaves out is named, as a warning: the config
	// still validates.
	person := regexp.MustCompile(`(?m)^  - id: (\S+)\n    name: "([^"]+)"\n.*\n    trello: \[(\S+), ([0-9a-f]{24})\]\n`)
	m := person.FindStringSubmatch(filled)
	if m == nil {
		t.Fatalf("no person in the filled skeleton:\n%s", filled)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(filled, m[0], "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, env, "--config", cfg, "validate", "--online")
	want := regexp.MustCompile(`karkas\.yaml:\d+:\d+: people: .*member ` + regexp.QuoteMeta(m[3]) + ` "` + regexp.QuoteMeta(m[2]) + `" \(` + m[4] +
		`\) of board .* is named by no person: add trello: \[` + regexp.QuoteMeta(m[3]) + `, ` + m[4] + `\]`)
	if code != exitOK || !want.MatchString(out) {
		t.Errorf("validate --online without %s: exit %d, want 0 and a warning naming the member:\n%s", m[2], code, out)
	}
}

// TestTrelloSyncAsNewUser walks a new user's path against the fake:
// discover, fill in the skeleton, sync, sync again with nothing new, sync
// after the team worked, then lose a board. The store follows the fake,
// an unchanged sync changes no row, and the lost board is one line of
// `karkas status` while its data stays and the other boards go on.
func TestTrelloSyncAsNewUser(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 8, Boards: 3, CardsPerBoard: 12, ActionsPerBoard: 120, Clock: clock})
	env, base := fakeTrelloConfig(t, w)
	cfg := filepath.Join(t.TempDir(), "karkas.yaml")
	skel, filled := discoverFilled(t, env, cfg, base)
	if !strings.Contains(skel, "id: betta-stroi") {
		t.Errorf("the Cyrillic board's client id is not transliterated:\n%s", skel)
	}
	if err := os.WriteFile(cfg, []byte(filled), 0o644); err != nil {
		t.Fatal(err)
	}
	sync := func(what string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, "--config", cfg, "sync")
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", what, code, out, errOut)
		}
		return out
	}
	out := sync("first sync")
	cards := 0
	for _, b := range w.Boards() {
		cards += len(w.Cards(b.ID))
	}
	if !strings.Contains(out, fmt.Sprintf("tasks %d", cards)) {
		t.Errorf("first sync did not store the %d cards:\n%s", cards, out)
	}
	if out := sync("unchanged sync"); !strings.Contains(out, "no rows changed") || !strings.Contains(out, "ok (unchanged)") {
		t.Errorf("a sync with nothing new changed rows:\n%s", out)
	}
	b0, b1 := w.Boards()[0], w.Boards()[1]
	clock.Advance(time.Hour)
	w.CommentCard(w.Me().ID, w.Cards(b0.ID)[0].ID, "Готово, проверьте, пожалуйста")
	w.CreateCard(w.Me().ID, w.Lists(b0.ID)[0].ID, "Новая задача")
	if out := sync("sync after work"); !strings.Contains(out, "messages 1") || !strings.Contains(out, "task_status_changes 1") {
		t.Errorf("the sync after a comment and a new card:\n%s", out)
	}
	w.DeleteBoard(b1.ID)
	clock.Advance(time.Hour)
	w.CommentCard(w.Me().ID, w.Cards(b0.ID)[1].ID, "ещё одно")
	code, out, errOut := runCLI(t, env, "--config", cfg, "sync")
	if code == exitOK || !strings.Contains(out, "messages 1") {
		t.Errorf("sync with a deleted board: exit %d (want a failure that still stores the other boards)\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "--config", cfg, "status")
	if code != exitOK {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	attention := regexp.MustCompile(`(?m)^! boards needs attention: .*`+b1.ID+`.*$`).FindAllString(out, -1)
	if len(attention) != 1 {
		t.Errorf("status does not name the lost board in one line:\n%s", out)
	}
	if !strings.Contains(out, "Бетта") {
		t.Errorf("status lost the deleted board's client and its data:\n%s", out)
	}
	// The admin acknowledges the loss: the board is excluded, the next
	// sync succeeds and the line is gone; the data stays.
	acked := strings.Replace(filled, `      board_names: "."`, `      board_names: "."
      exclude_boards: [`+b1.ID+`]`, 1)
	if err := os.WriteFile(cfg, []byte(acked), 0o644); err != nil {
		t.Fatal(err)
	}
	sync("sync with the lost board excluded")
	if _, out, _ = runCLI(t, env, "--config", cfg, "status"); strings.Contains(out, "needs attention") || !strings.Contains(out, "Бетта") {
		t.Errorf("status after excluding the lost board:\n%s", out)
	}
}

// discoverFilled writes base to cfg, runs karkas discover trello on it and
// returns the skeleton, and base with the skeleton filled in mechanically:
// everyone on the agency side.
func discoverFilled(t *testing.T, env map[string]string, cfg, base string) (skel, filled string) {
	t.Helper()
	if err := os.WriteFile(cfg, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	code, skel, errOut := runCLI(t, env, "--config", cfg, "discover", "trello", "--source", "boards")
	if code != exitOK {
		t.Fatalf("discover: exit %d\n%s%s", code, skel, errOut)
	}
	return skel, base + regexp.MustCompile(`side: TODO\b`).ReplaceAllString(skel, "side: agency")
}

// fakeTrelloConfig serves w and returns the environment holding
// its credentials and a config with one trello source on every board.
func fakeTrelloConfig(t *testing.T, w *trellofake.World) (map[string]string, string) {
	t.Helper()
	srv := trellofake.New(t, trellofake.Options{World: w, Limits: trellofake.Limits{Off: true}})
	env := map[string]string{"TRELLO_KEY": srv.Key(), "TRELLO_TOKEN": srv.Token()}
	base := `agency: {name: Northwind, domains: [northwind.agency]}
sources:
  - id: boards
    kind: trello
    options:
      key: ${TRELLO_KEY}
      token: ${TRELLO_TOKEN}
      board_names: "."
      base_url: ` + srv.BaseURL() + "\n"
	return env, base
}
