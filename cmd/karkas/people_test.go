package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// memberIDs matches a person's Trello identities as configs/demo.yaml and
// karkas discover write them: username, then member id.
var memberIDs = regexp.MustCompile(`trello: \[([A-Za-z0-9_]+), [0-9a-f]{24}\]`)

// resolved lists the stored messages and status moves of a source with
// the person and side each resolved to.
func resolved(t *testing.T, url, source string) []string {
	t.Helper()
	return storedLines(t, url, `SELECT external_id || ' ' || author_person_id || ' ' || author_side FROM messages
		WHERE source_id = ? AND deleted_at IS NULL UNION ALL
		SELECT external_id || ' ' || actor_person_id || ' ' || actor_side FROM task_status_changes WHERE source_id = ? AND deleted_at IS NULL
		ORDER BY 1`, source, source)
}

// storedLines runs a query of one text column on the store at url.
func storedLines(t *testing.T, url, query string, args ...any) []string {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows []string
	if err := st.Select(context.Background(), &rows, st.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return rows
}

// People mapped by their Trello usernames only, as the schema allows
// ("member ids or usernames"), are the authors of their comments and
// moves in a board export exactly as when mapped by member id: the same
// people, sides and reply clocks. Someone missing from the mapping is
// named by status with the lines to add, and once they are added and
// remapped, their records count for them.
func TestPeopleByUsernameFromExport(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			peopleByUsernameFromExport(t, dialect)
		})
	}
}

func peopleByUsernameFromExport(t *testing.T, dialect string) {
	config, data := demoSetup(t, 1, 2000)
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(config)
	byName := memberIDs.ReplaceAllString(string(text), "trello: [$1]")
	if byName == string(text) {
		t.Fatal("the demo config maps nobody by member id: the test would prove nothing")
	}
	// Maya, Cobalt's contact, missing altogether.
	missing := regexp.MustCompile(`(?m)^  - \{id: maya,.*\n.*\n`).ReplaceAllString(byName, "")
	missing = strings.Replace(missing, "contacts: [maya]", "contacts: []", 1)
	configs := map[string]string{"ids": config, "names": filepath.Join(dir, "names.yaml"), "missing": filepath.Join(dir, "missing.yaml")}
	for name, body := range map[string]string{"names": byName, "missing": missing} {
		if err := os.WriteFile(configs[name], []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stores := map[string]string{}
	for name, cfg := range configs {
		stores[name] = testdb.URL(t, dialect)
		env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": stores[name]}
		if code, out, errOut := runCLI(t, env, "sync", "-c", cfg, "--source", "trello"); code != exitOK {
			t.Fatalf("sync with %s: exit %d\n%s\n%s", name, code, out, errOut)
		}
	}
	ids, names := resolved(t, stores["ids"], "trello"), resolved(t, stores["names"], "trello")
	if !slices.Equal(ids, names) {
		t.Errorf("mapped by usernames, %d records resolve otherwise than by member ids", countDiff(ids, names))
	}
	for _, r := range names {
		if f := strings.Fields(r); len(f) < 3 || f[2] == "unknown" {
			t.Errorf("an author or mover resolves to nobody: %s", r)
			break
		}
	}
	slaAt := func(name string) string {
		env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": stores[name]}
		code, out, errOut := runCLI(t, env, "sla", "-c", configs[name], "--policy", "response", "--format", "json", "--at", "2026-11-20T18:00:00+01:00")
		if code != exitOK {
			t.Fatalf("sla with %s: exit %d\n%s", name, code, errOut)
		}
		return out
	}
	if a, b := slaAt("ids"), slaAt("names"); a != b || !strings.Contains(a, `"state": "met"`) {
		t.Errorf("reply clocks differ when people are mapped by username (or none met):\nby id: %.300s\nby name: %.300s", a, b)
	}

	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": stores["missing"]}
	code, out, errOut := runCLI(t, env, "status", "-c", configs["missing"])
	if code != exitOK {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	line := regexp.MustCompile(`(?m)^  trello: "Maya Chen" \(mayachen, 5f1a00000000000000000008\): (\d+) records \(.*messages.*\); counted for nobody.*$`)
	if !line.MatchString(out) {
		t.Fatalf("status does not name Maya with her records:\n%s", out)
	}
	skeleton := regexp.MustCompile(`(?m)^    - id: mayachen\n      name: "Maya Chen"\n      side: TODO.*\n      trello: \[mayachen, 5f1a00000000000000000008\]\n`).FindString(out)
	if skeleton == "" {
		t.Fatalf("status gives no people: entry to paste for Maya:\n%s", out)
	}
	// The admin pastes it, says which side she is on, and remaps.
	entry := strings.ReplaceAll(strings.TrimRight(skeleton, "\n"), "\n    ", "\n  ")
	entry = strings.TrimPrefix(entry, "  ")
	entry = regexp.MustCompile(`side: TODO.*`).ReplaceAllString(entry, "side: client\n    client: cobalt")
	fixed := strings.Replace(missing, "people:\n", "people:\n"+entry+"\n", 1)
	if err := os.WriteFile(configs["missing"], []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "remap", "-c", configs["missing"]); code != exitOK {
		t.Fatalf("remap after adding Maya: exit %d\n%s\n%s\n%s", code, out, errOut, fixed)
	}
	if _, out, _ := runCLI(t, env, "status", "-c", configs["missing"]); strings.Contains(out, "Maya Chen") {
		t.Errorf("Maya is still unnamed after the remap:\n%s", out)
	}
	// Her records now resolve as with the full mapping, but to the new id.
	after := resolved(t, stores["missing"], "trello")
	for i := range after {
		after[i] = strings.Replace(after[i], " mayachen ", " maya ", 1)
	}
	if !slices.Equal(ids, after) {
		t.Errorf("after adding Maya, %d records resolve otherwise than with the full mapping", countDiff(ids, after))
	}
}

func countDiff(a, b []string) int {
	n := 0
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			n++
		}
	}
	return n
}

// The same through the Trello API: the members the boards list let a
// mapping by username alone resolve every comment's author and every
// move's actor, as a mapping by member id does.
func TestPeopleByUsernameFromAPI(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 11, Boards: 2, CardsPerBoard: 10, ActionsPerBoard: 80, Clock: clock})
	env, base := fakeTrelloConfig(t, w)
	dir := t.TempDir()
	skel, filled := discoverFilled(t, env, filepath.Join(dir, "karkas.yaml"), base)
	byName := memberIDs.ReplaceAllString(filled, "trello: [$1]")
	if byName == filled {
		t.Fatalf("discover wrote no member ids:\n%s", skel)
	}
	urls := map[string]string{}
	for name, body := range map[string]string{"ids": filled, "names": byName} {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		urls[name] = "sqlite:" + filepath.Join(dir, name+".db")
		e := map[string]string{"KARKAS_STORE": urls[name]}
		for k, v := range env {
			e[k] = v
		}
		text := strings.Replace(body, "agency: {", "store: {url: \"${KARKAS_STORE}\"}\nagency: {", 1)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := runCLI(t, e, "--config", path, "sync"); code != exitOK {
			t.Fatalf("sync with %s: exit %d\n%s%s", name, code, out, errOut)
		}
		if _, out, _ := runCLI(t, e, "--config", path, "status"); strings.Contains(out, "people the records name") {
			t.Errorf("with %s, status says people are unnamed:\n%s", name, out)
		}
	}
	ids, names := resolved(t, urls["ids"], "boards"), resolved(t, urls["names"], "boards")
	if len(ids) == 0 || !slices.Equal(ids, names) {
		t.Errorf("mapped by usernames, %d of %d records resolve otherwise than by member ids", countDiff(ids, names), len(ids))
	}
	for _, r := range names {
		if f := strings.Fields(r); len(f) < 3 || f[1] == "unknown" || f[2] == "unknown" {
			t.Errorf("an author or mover resolves to nobody: %s", r)
			break
		}
	}
}
