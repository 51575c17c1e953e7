package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/everhour/everhourfake"
)

// TestEverhourSyncAsNewUser is a new user's path with a time tracker:
// a config naming each client's projects, `karkas validate`, `sync`, and
// `status` showing each client's hours as the tracker has them; then an
// entry edited, one deleted and one added this month, and a sync that
// brings the hours back in line.
func TestEverhourSyncAsNewUser(t *testing.T) {
	t.Parallel()
	w := everhourfake.NewWorld(nil) // the wall clock, as the CLI runs on
	w.Generate(3, 6, 600, 3)
	srv := everhourfake.New(t, everhourfake.Options{World: w})
	env := map[string]string{"EVERHOUR_TOKEN": everhourfake.DefaultAPIKey}
	var clients strings.Builder
	for _, c := range w.Clients() {
		var projects []string
		for _, p := range w.Projects() {
			if p.Client == c.ID {
				projects = append(projects, strconv.Quote(p.Name))
			}
		}
		fmt.Fprintf(&clients, "  - {id: c%d, name: %s, projects: [%s]}\n", c.ID, strconv.Quote(c.Name), strings.Join(projects, ", "))
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "karkas.yaml")
	config := `agency: {name: Northwind, domains: [northwind.agency]}
clients:
` + clients.String() + `sources:
  - id: everhour
    kind: everhour
    options:
      token: ${EVERHOUR_TOKEN}
      base_url: ` + srv.BaseURL() + "\n"
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "--config", cfg, "validate"); code != exitOK {
		t.Fatalf("validate: exit %d\n%s%s\n%s", code, out, errOut, config)
	}
	// hours per client as the fake has them, to one decimal.
	want := func() map[string]string {
		secs := map[string]int64{}
		for _, e := range w.Entries() {
			if c := w.ClientOf(e.TaskID); c.ID != 0 {
				secs[fmt.Sprintf("c%d", c.ID)] += e.Time
			}
		}
		out := map[string]string{}
		for id, s := range secs {
			out[id] = fmt.Sprintf("%.1f", float64(s)/3600)
		}
		return out
	}
	check := func(what string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, "--config", cfg, "sync")
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", what, code, out, errOut)
		}
		_, status, _ := runCLI(t, env, "--config", cfg, "status")
		for id, h := range want() {
			row := regexp.MustCompile(`(?m)^` + id + `\s.*$`).FindString(status)
			if fields := strings.Fields(row); len(fields) < 3 || !strings.Contains(" "+strings.Join(fields, " ")+" ", " "+h+" ") {
				t.Errorf("%s: client %s should show %s hours:\n%s", what, id, h, status)
			}
		}
	}
	// Two entries of today on a client's task, to edit and delete later.
	today := time.Now().UTC().Format(time.DateOnly)
	var task string
	for _, tk := range w.Tasks() {
		if w.ClientOf(tk.ID).ID != 0 {
			task = tk.ID
			break
		}
	}
	user := w.Users()[0].ID
	a := w.AddEntry(user, task, today, 3600, "дизайн главной")
	b := w.AddEntry(user, task, today, 1800, "правки")
	check("first sync")
	if !w.EditEntry(a.ID, a.Time+5400, "исправлено") || !w.DeleteEntry(b.ID) {
		t.Fatal("the fake refused the edit or the deletion")
	}
	w.AddEntry(user, task, today, 7200, "созвон с клиентом")
	check("sync after edits")
}
