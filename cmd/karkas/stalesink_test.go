package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// After the demo's sink is renamed in routing.sinks, what was planned for
// the old name (the digest, the escalations) is dropped with the reason:
// sync says how many, plan no longer lists them, list shows why.
func TestDemoRenamedSinkDropsItsDeliveries(t *testing.T) {
	t.Parallel()
	config, data := demoSetup(t, 1, 2000)
	outbox := filepath.Join(t.TempDir(), "outbox")
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": "sqlite:" + filepath.Join(t.TempDir(), "demo.db"), "KARKAS_DEMO_OUTBOX": outbox}
	if code, out, errOut := runCLI(t, env, "sync", "-c", config); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.ReplaceAll(string(text), "sink: outbox", "sink: files")
	renamed = strings.Replace(renamed, "    outbox:\n      kind: file", "    files:\n      kind: file", 1)
	if renamed == string(text) || strings.Contains(renamed, "sink: outbox") {
		t.Fatal("the demo config no longer has the sink this test renames")
	}
	edited := filepath.Join(filepath.Dir(config), "renamed.yaml")
	if err := os.WriteFile(edited, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, plan, errOut := runCLI(t, env, "deliveries", "plan", "-c", edited)
	if code != exitOK || strings.Contains(plan, "outbox (") || !regexp.MustCompile(`would drop [1-9]\d* deliveries of sinks no longer in routing.sinks, never to be sent \(outbox: [1-9]\d*\)`).MatchString(plan) {
		t.Fatalf("deliveries plan: exit %d\n%s\n%s", code, plan, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*"))
	code, out, errOut := runCLI(t, env, "sync", "-c", edited)
	m := regexp.MustCompile(`dropped ([1-9]\d*) deliveries of sinks no longer in routing.sinks, never to be sent \(outbox: ([1-9]\d*)\): karkas deliveries list --state skipped`).FindStringSubmatch(out)
	if code != exitOK || m == nil || m[1] != m[2] || !strings.Contains(out, "0 failed") {
		t.Fatalf("sync after the rename: exit %d\n%s\n%s", code, out, errOut)
	}
	if after, _ := filepath.Glob(filepath.Join(outbox, "*")); len(after) != len(files) {
		t.Errorf("%d files after the rename, were %d", len(after), len(files))
	}
	code, list, _ := runCLI(t, env, "deliveries", "list", "-c", edited, "--state", "skipped", "--limit", "0")
	if code != exitOK || strings.Count(list, "sink outbox is no longer in routing") != mustAtoi(m[1]) {
		t.Errorf("deliveries list --state skipped: want %s rows with the reason\n%s", m[1], list)
	}
	code, out, _ = runCLI(t, env, "sync", "-c", edited)
	if code != exitOK || strings.Contains(out, "dropped") {
		t.Errorf("a second sync: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, env, "status", "-c", edited)
	if code != exitOK || !regexp.MustCompile(`deliveries: [1-9]\d* delivered, \d+ pending, \d+ held for digests, 0 failed, \d+ folded into digests or summaries, [1-9]\d* skipped`).MatchString(out) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}
