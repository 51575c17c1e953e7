package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

var updateDemoGolden = flag.Bool("update-demo", false, "rewrite testdata/demo-*.md")

// The demo's reports in the clients' languages, against golden files:
// Бетта Строй's October in Russian (its config says language: ru) and, with
// the config changed, in Bulgarian; Cobalt Labs's stays English.
func TestDemoReportLanguages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	config, data := demoSetup(t, 1, 500)
	storeURL := testdb.URL(t, store.SQLite)
	if out, err := syncCmd(bin, config, data, storeURL).CombinedOutput(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": storeURL}
	bg := filepath.Join(filepath.Dir(config), "karkas-bg.yaml")
	text, _ := os.ReadFile(config)
	if !bytes.Contains(text, []byte("language: ru")) {
		t.Fatal("configs/demo.yaml no longer gives Бетта Строй language: ru")
	}
	if err := os.WriteFile(bg, bytes.Replace(text, []byte("language: ru"), []byte("language: bg"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ config, client, golden, says string }{
		{config, "betta", "demo-betta-2026-10.ru.md", "## Отчёт о часах: Бетта Строй, Октябрь 2026"},
		{bg, "betta", "demo-betta-2026-10.bg.md", "## Отчет за часовете: Бетта Строй, Октомври 2026"},
		{config, "cobalt", "demo-cobalt-2026-10.md", "## Hours report: Cobalt Labs, October 2026"},
	} {
		code, out, errOut := runCLI(t, env, "report", "hours", "-c", tc.config, "--client", tc.client, "--period", "2026-10",
			"--at", "2026-11-05T12:00:00Z")
		if code != exitOK || !strings.HasPrefix(out, tc.says) {
			t.Fatalf("%s: exit %d\n%.300s%s", tc.golden, code, out, errOut)
		}
		path := filepath.Join("testdata", tc.golden)
		if *updateDemoGolden {
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./cmd/karkas -run TestDemoReportLanguages -update-demo writes it)", err)
		}
		if string(want) != out {
			t.Errorf("%s differs from the golden file; got:\n%s", path, out)
		}
	}
}
