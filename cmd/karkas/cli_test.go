package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/karkas/karkas/store"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	return code, out.String(), errOut.String()
}

// Every YAML example the README and configs/ show is a config that
// validates: examples never rot.
func TestExamplesValidate(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README has no yaml example")
	}
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("configs/ has no yaml")
	}
	// Secret files an example names are made, as its reader would.
	// Block style (key_file: x) and flow style ({key_file: x, ...}).
	secretFile := regexp.MustCompile(`(?m)(?:^|[\s{,])(\w+)_file:\s*([^\s,}]+)`)
	for _, b := range blocks {
		dir := t.TempDir()
		path := filepath.Join(dir, "karkas.yaml")
		if err := os.WriteFile(path, []byte(b[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, m := range secretFile.FindAllStringSubmatch(b[1], -1) {
			p := filepath.Join(dir, m[2])
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			secret := "not-a-real-secret\n"
			if m[1] == "url" { // a webhook URL is the secret
				secret = "https://hooks.example.invalid/not-a-real-secret\n"
			}
			if err := os.WriteFile(p, []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		files = append(files, path)
	}
	for _, f := range files {
		code, out, errOut := runCLI(t, nil, "validate", "--config", f)
		if code != exitOK || !strings.Contains(out, ": ok (") {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
}

// The acceptance case through the CLI: three mistakes, three
// positioned errors, exit 1.
func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	text := `agency:
  nmae: Northwind
people:
  - {id: anna, name: Anna, side: agency, role: boss}
clients:
  - {id: acme, name: Acme, policy_set: gold}
sources:
  - {id: t, kind: trello_export, options: {files: [a.json], batchsize: 5}}
`
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	code, out, _ := runCLI(t, nil, "validate", "-c", path)
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	want := []string{
		path + `:2:3: agency.nmae: unknown key; did you mean "name"? (typo, or not supported in this version)`,
		path + `:4:48: people[0].role: "boss" is not one of: pm, lead, specialist, manager, contact, bot`,
		path + `:6:40: clients[0].policy_set: no policy set "gold" (known: none defined)`,
		path + `:8:61: sources[0].options.batchsize: unknown key; did you mean "batch_size"? (typo, or not supported in this version)`,
	}
	if got := strings.TrimSpace(out); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	if code, _, _ := runCLI(t, nil, "sync", "--config", "/nonexistent/karkas.yaml"); code != exitUsage {
		t.Errorf("missing config: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCLI(t, nil, "--log-format", "xml", "version"); code != exitUsage {
		t.Errorf("bad log format: exit %d, want %d", code, exitUsage)
	}
	if code, out, _ := runCLI(t, nil, "version"); code != exitOK || !strings.HasPrefix(out, "karkas ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// The demo, in process: the first sync stores everything, the second
// writes nothing, and status counts rows per client.
func TestDemoSyncTwice(t *testing.T) {
	t.Parallel()
	config, data := demoSetup(t, 1, 2000)
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": "sqlite:" + filepath.Join(t.TempDir(), "demo.db")}
	code, out, errOut := runCLI(t, env, "sync", "-c", config, "--dry-run")
	if code != exitOK || !strings.Contains(out, "would write") || !strings.Contains(out, "rows changed: containers 7") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "status", "-c", config)
	if code != exitOK || strings.Contains(out, "acme ") || strings.Contains(out, "trello_export") {
		t.Fatalf("a dry run left rows or runs behind: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "sync", "-c", config)
	if code != exitOK || !strings.Contains(out, "rows changed: containers 7") {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`SLA: \d+ clocks .*; [1-9]\d* new, \d+ changed, [1-9]\d* transitions, [1-9]\d* notifications queued`).MatchString(out) {
		t.Fatalf("first sync stored no clocks:\n%s", out)
	}
	// The mail's counts add up, in the sync's summary and in status.
	tally := regexp.MustCompile(`(?m)^mail: (\d+) messages read: (\d+) stored(?: \((\d+) with a warning\))?, (\d+) refused, (\d+) merged as copies of one already read`)
	m := tally.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the first sync does not say what the mail source read:\n%s", out)
	}
	n := make([]int, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.Atoi(m[i])
	}
	if read, stored, warned, refused, merged := n[1], n[2], n[3], n[4], n[5]; read == 0 || stored+refused+merged != read || warned > stored {
		t.Errorf("the mail's counts do not add up: %s", m[0])
	}
	if _, st, _ := runCLI(t, env, "status", "-c", config); !strings.Contains(st, strings.TrimPrefix(m[0], "mail: ")) {
		t.Errorf("status does not show what the sync read (%s):\n%s", m[0], st)
	}
	code, out, errOut = runCLI(t, env, "sync", "-c", config)
	if code != exitOK || !strings.Contains(out, "no rows changed") || strings.Count(out, "ok (unchanged)") != 4 {
		t.Fatalf("second sync: exit %d\n%s\n%s", code, out, errOut)
	}
	// Nothing new: no clock, transition or notification is added.
	if !regexp.MustCompile(`; 0 new, \d+ changed, 0 transitions, 0 notifications queued`).MatchString(out) {
		t.Fatalf("second sync added SLA rows:\n%s", out)
	}
	// The time entries, pulled after the boards, link to their cards by
	// card id and by short link, and get the card's client.
	st, err := store.Open(context.Background(), env["KARKAS_STORE"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var linked, byShort, total int
	st.Get(context.Background(), &total, "SELECT COUNT(*) FROM time_entries WHERE task_ref LIKE 'tr:%'")
	st.Get(context.Background(), &linked, "SELECT COUNT(*) FROM time_entries e JOIN tasks t ON t.source_id = e.task_source_id AND t.external_id = e.task_id AND t.client_id = e.client_id")
	st.Get(context.Background(), &byShort, "SELECT COUNT(*) FROM time_entries e JOIN tasks t ON e.task_ref = 'tr:' || t.short_ref AND t.external_id = e.task_id")
	if total == 0 || linked != total || byShort == 0 {
		t.Errorf("%d of %d card-linked time entries link to their card (%d by short link)", linked, total, byShort)
	}
	code, out, _ = runCLI(t, env, "status", "-c", config)
	if code != exitOK || !regexp.MustCompile(`(?m)^acme\s+Acme Foods\s+52\s`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^betta\s+Бетта Строй\s+52\s`).MatchString(out) {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	// Communication hours, apart: the demo's config puts entries tagged
	// communication in that category.
	var comm float64
	st.Get(context.Background(), &comm, "SELECT COALESCE(SUM(seconds), 0) / 3600.0 FROM time_entries WHERE deleted_at IS NULL AND client_id = 'cobalt' AND category = 'communication'")
	if comm == 0 || !regexp.MustCompile(fmt.Sprintf(`(?m)^cobalt\s.*\s%.1f\s*$`, comm)).MatchString(out) {
		t.Errorf("status does not show Cobalt's %.1f communication hours:\n%s", comm, out)
	}
}

// karkas sla on the demo: every clock carries the fields the JSON promises,
// the demo shows clocks in several states, and evaluating twice at the
// same instant gives the same answer.
func TestSLAOnDemo(t *testing.T) {
	t.Parallel()
	config, data := demoSetup(t, 1, 2000)
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": "sqlite:" + filepath.Join(t.TempDir(), "demo.db")}
	if code, out, errOut := runCLI(t, env, "sync", "-c", config); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errOut)
	}
	args := []string{"sla", "-c", config, "--at", "2026-11-20T18:00:00+01:00", "--format", "json"}
	code, out, errOut := runCLI(t, env, args...)
	if code != exitOK {
		t.Fatalf("sla: %d\n%s", code, errOut)
	}
	var clocks []map[string]any
	if err := json.Unmarshal([]byte(out), &clocks); err != nil {
		t.Fatalf("sla json: %v\n%s", err, out)
	}
	states, breachedKinds := map[string]int{}, map[string]int{}
	for _, c := range clocks {
		for _, k := range []string{"id", "policy", "client", "state", "subject", "started_at", "due_at", "breached_at", "business_seconds_elapsed", "waived", "reason"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("clock without %q: %v", k, c)
			}
		}
		subj := c["subject"].(map[string]any)
		for _, k := range []string{"kind", "source", "external_id", "title"} {
			if k == "source" && subj["kind"] == "client" {
				continue // a client-level clock (contact, budget) comes from no source
			}
			if subj[k] == "" || subj[k] == nil {
				t.Fatalf("clock subject without %q: %v", k, c)
			}
		}
		states[c["state"].(string)]++
		if c["state"] == "breached" {
			breachedKinds[c["policy"].(string)]++
		}
		if subj["kind"] == "client" && c["client"] == "betta" && subj["title"] != "Бетта Строй" {
			t.Errorf("a client-level clock is not titled with the client's name: %v", subj)
		}
	}
	for _, s := range []string{"met", "breached", "resolved", "running"} {
		if states[s] == 0 {
			t.Errorf("no %s clock on the demo: %v", s, states)
		}
	}
	if len(breachedKinds) < 5 {
		t.Errorf("the demo shows breaches of %d policy kinds, want at least 5: %v", len(breachedKinds), breachedKinds)
	}
	if _, again, _ := runCLI(t, env, args...); again != out {
		t.Error("a second evaluation at the same instant differs")
	}
	// Waive a breached clock: it stays listed, with the reason.
	var breachedID string
	for _, c := range clocks {
		if c["state"] == "breached" {
			breachedID = c["id"].(string)
			break
		}
	}
	if code, out, errOut := runCLI(t, env, "sla", "waive", breachedID, "-c", config, "--reason", "client on holiday"); code != exitOK {
		t.Fatalf("waive: %d\n%s%s", code, out, errOut)
	}
	_, out, _ = runCLI(t, env, args...)
	if !strings.Contains(out, `"waived": true`) || !strings.Contains(out, `"reason": "client on holiday"`) {
		t.Errorf("the waived clock is not shown as waived")
	}
	if code, _, _ := runCLI(t, env, "sla", "waive", breachedID, "-c", config); code != exitUsage {
		t.Errorf("waive without --reason exits %d", code)
	}
	if code, _, _ := runCLI(t, env, "sla", "-c", config, "--state", "late"); code != exitUsage {
		t.Errorf("a bad --state exits %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCLI(t, env, "sla", "-c", config, "--policy", "stage"); code != exitUsage {
		t.Errorf("a bad --policy exits %d, want %d", code, exitUsage)
	}
	_, out, _ = runCLI(t, env, "sla", "-c", config, "--at", "2026-11-20T18:00:00+01:00", "--format", "json", "--policy", "stage_limit", "--state", "breached")
	var stage []map[string]any
	if err := json.Unmarshal([]byte(out), &stage); err != nil || len(stage) == 0 {
		t.Fatalf("--policy stage_limit --state breached: %v\n%s", err, out)
	}
	for _, c := range stage {
		if c["policy"] != "stage_limit" || c["state"] != "breached" {
			t.Errorf("filters let through %v", c)
		}
	}
}

// An edited calendar: karkas sla previews it from now without recording
// it, the next sync records it once, and a sync after that records
// nothing.
func TestCalendarEdit(t *testing.T) {
	t.Parallel()
	config, data := demoSetup(t, 1, 2000)
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": dbURL}
	if code, out, errOut := runCLI(t, env, "sync", "-c", config); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errOut)
	}
	versions := func() int {
		st, err := store.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var n int
		if err := st.Get(context.Background(), &n, "SELECT COUNT(*) FROM calendar_versions WHERE calendar = 'berlin'"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := versions(); n != 1 {
		t.Fatalf("%d berlin versions after the first sync, want 1", n)
	}
	text, _ := os.ReadFile(config)
	edited := strings.Replace(string(text), `mon-fri: ["09:00-13:00", "14:00-18:00"]`, `mon-fri: ["10:00-16:00"]`, 1)
	if edited == string(text) {
		t.Fatal("the demo config no longer holds the Berlin hours this test edits")
	}
	os.WriteFile(config, []byte(edited), 0o644)
	code, _, errOut := runCLI(t, env, "sla", "-c", config, "--format", "json")
	if code != exitOK || !strings.Contains(errOut, "calendar berlin: the config differs") || versions() != 1 {
		t.Fatalf("sla on an edited calendar: exit %d, %d versions\n%s", code, versions(), errOut)
	}
	for i := range 2 {
		if code, out, errOut := runCLI(t, env, "sync", "-c", config); code != exitOK {
			t.Fatalf("sync %d: %d\n%s%s", i, code, out, errOut)
		}
		if n := versions(); n != 2 {
			t.Fatalf("%d berlin versions after sync %d of the edit, want 2", n, i)
		}
	}
	if _, _, errOut := runCLI(t, env, "sla", "-c", config); strings.Contains(errOut, "differs") {
		t.Errorf("sla still previews a recorded edit:\n%s", errOut)
	}
}
