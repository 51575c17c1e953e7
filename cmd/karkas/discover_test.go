package main

import (
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
}
