package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// The demo's routing writes deliveries to a folder: the first sync
// delivers, a second delivers nothing new, and a dry run or a plan sends
// and stores nothing.
func TestDemoDeliveries(t *testing.T) {
	t.Parallel()
	config, data := demoSetup(t, 1, 2000)
	outbox := filepath.Join(t.TempDir(), "outbox")
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": "sqlite:" + filepath.Join(t.TempDir(), "demo.db"), "KARKAS_DEMO_OUTBOX": outbox}
	files := func() int {
		f, _ := filepath.Glob(filepath.Join(outbox, "*.json"))
		return len(f)
	}
	code, out, errOut := runCLI(t, env, "sync", "-c", config)
	if code != exitOK {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	sent := regexp.MustCompile(`deliveries: (\d+) sent`).FindStringSubmatch(out)
	if sent == nil || sent[1] == "0" || files() == 0 {
		t.Fatalf("the first sync delivered nothing (%d files):\n%s", files(), out)
	}
	// The first sync finds a backlog larger than the sink's cap of 40:
	// it goes out as one summary, not as one file per breach.
	if !regexp.MustCompile(`summary\.outbox\.[0-9a-f]{8}\.\d+\.json`).MatchString(strings.Join(globBase(outbox), " ")) {
		t.Errorf("no summary among %v", globBase(outbox))
	}
	before := files()
	code, out, errOut = runCLI(t, env, "sync", "-c", config)
	if code != exitOK || !strings.Contains(out, "deliveries: 0 sent") || files() != before {
		t.Fatalf("second sync: exit %d, %d files (were %d)\n%s\n%s", code, files(), before, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "sync", "-c", config, "--dry-run")
	if code != exitOK || !strings.Contains(out, "plan only: nothing is sent or stored") || files() != before {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	// What waits (the morning digest, escalations) is shown with when,
	// where and to whom.
	code, plan, errOut := runCLI(t, env, "deliveries", "plan", "-c", config)
	if code != exitOK || !regexp.MustCompile(`(?m)^  digest \d{4}-\d\d-\d\d 09:00 CES?T\s+outbox \(file\)\s+Anna Petrova\s+\[`).MatchString(plan) {
		t.Fatalf("deliveries plan: exit %d\n%s\n%s", code, plan, errOut)
	}
	if files() != before {
		t.Errorf("deliveries plan wrote files")
	}
	code, list, _ := runCLI(t, env, "deliveries", "list", "-c", config, "--state", "delivered")
	if code != exitOK || !strings.Contains(list, "SLA summary:") {
		t.Errorf("deliveries list: exit %d\n%s", code, list)
	}
	code, out, _ = runCLI(t, env, "status", "-c", config)
	if code != exitOK || !regexp.MustCompile(`deliveries: [1-9]\d* delivered, \d+ pending, [1-9]\d* held for digests, 0 failed`).MatchString(out) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, env, "deliveries", "list", "-c", config, "--state", "lost"); code != exitUsage {
		t.Errorf("a bad --state exits %d", code)
	}
}

func globBase(dir string) []string {
	f, _ := filepath.Glob(filepath.Join(dir, "*"))
	for i := range f {
		f[i] = filepath.Base(f[i])
	}
	return f
}

// A delivery the target refuses for good fails the sync, shows in status
// with how to retry it, and goes out once retried after the fix.
func TestFailedDeliveryRetried(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	refuse.Store(true)
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, "unknown channel", http.StatusNotFound)
			return
		}
		got.Add(1)
	}))
	defer srv.Close()
	config, data := demoSetup(t, 1, 2000)
	text, _ := os.ReadFile(config)
	withHook := strings.Replace(string(text), "  sinks:\n", "  sinks:\n    chat: {kind: webhook, options: {url: \"${HOOK_URL}\", format: slack}}\n", 1)
	withHook = strings.Replace(withHook, "  defaults:\n", "  defaults:\n    - {policies: [client_contact], sink: chat}\n", 1)
	if err := os.WriteFile(config, []byte(withHook), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": "sqlite:" + filepath.Join(t.TempDir(), "demo.db"),
		"KARKAS_DEMO_OUTBOX": t.TempDir(), "HOOK_URL": srv.URL + "/hooks/T000/B000/XXXX"}
	code, out, errOut := runCLI(t, env, "sync", "-c", config)
	if code != exitFailed || !strings.Contains(errOut, "deliveries failed (karkas deliveries list --state failed)") {
		t.Fatalf("sync with a refusing webhook: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "status", "-c", config)
	m := regexp.MustCompile(`(?m)^! delivery (\d+) through chat failed: webhook to 127\.0\.0\.1:\d+: 404 Not Found: unknown channel \(karkas deliveries retry (\d+)\)$`).FindStringSubmatch(out)
	if code != exitOK || m == nil || m[1] != m[2] {
		t.Fatalf("status does not show the failed delivery: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "XXXX") {
		t.Errorf("status shows the webhook's secret URL:\n%s", out)
	}
	code, out, _ = runCLI(t, env, "deliveries", "list", "-c", config, "--state", "failed")
	if code != exitOK || !strings.Contains(out, "404 Not Found") {
		t.Errorf("deliveries list --state failed: exit %d\n%s", code, out)
	}
	refuse.Store(false)
	if code, out, errOut := runCLI(t, env, "deliveries", "retry", m[1], "-c", config); code != exitOK {
		t.Fatalf("retry: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, env, "deliveries", "retry", m[1], "-c", config); code != exitFailed {
		t.Errorf("retrying a queued delivery exits %d, want %d", code, exitFailed)
	}
	if code, _, _ := runCLI(t, env, "deliveries", "retry", "999999", "-c", config); code != exitUsage {
		t.Errorf("retrying a delivery that does not exist exits %d, want %d", code, exitUsage)
	}
	code, out, errOut = runCLI(t, env, "sync", "-c", config)
	if code != exitOK || !strings.Contains(out, "deliveries: 1 sent") || got.Load() != 1 {
		t.Fatalf("sync after the retry: exit %d, %d webhooks\n%s\n%s", code, got.Load(), out, errOut)
	}
	_, out, _ = runCLI(t, env, "status", "-c", config)
	if strings.Contains(out, "! delivery "+m[1]+" ") {
		t.Errorf("status still shows the retried delivery as failed:\n%s", out)
	}
}
