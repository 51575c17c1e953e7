package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/karkas/karkas/internal/demogen"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// buildBinary compiles karkas once for the tests that run it as a process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "karkas")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("building karkas: %v\n%s", err, out)
	}
	return bin
}

// demoSetup writes the demo data at a scale and a copy of configs/demo.yaml
// whose sources use small batches, so that a run commits many times.
func demoSetup(t *testing.T, scale, batch int) (config, data string) {
	t.Helper()
	dir := t.TempDir()
	data = filepath.Join(dir, "data")
	if _, err := demogen.Generate(demogen.Options{Dir: data, Scale: scale, Seed: demogen.DefaultSeed}); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withBatch := regexp.MustCompile(`(?m)^    options:\n`).ReplaceAllString(string(text),
		fmt.Sprintf("    options:\n      batch_size: %d\n", batch))
	config = filepath.Join(dir, "karkas.yaml")
	if err := os.WriteFile(config, []byte(withBatch), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, data
}

type rowKey struct{ table, source, id, hash string }

// snapshot lists every row of every normalized table with its hash and
// whether it is live: two stores with equal snapshots hold the same data.
func snapshot(t *testing.T, storeURL string) []rowKey {
	t.Helper()
	st, err := store.Open(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A kill may land before the schema was made.
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []rowKey
	for _, table := range append(store.Tables, "problems") {
		q := fmt.Sprintf("SELECT source_id, external_id, hash, CASE WHEN deleted_at IS NULL THEN 'live' ELSE 'deleted' END FROM %s", table)
		if table == "problems" {
			q = "SELECT source_id, location, message, '' FROM problems"
		}
		rows, err := st.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k rowKey
			var live string
			if err := rows.Scan(&k.source, &k.id, &k.hash, &live); err != nil {
				t.Fatal(err)
			}
			k.table = table
			k.hash += live
			out = append(out, k)
		}
		rows.Close()
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.table+a.source+a.id < b.table+b.source+b.id
	})
	return out
}

func syncCmd(bin, config, data, storeURL string) *exec.Cmd {
	return syncCmdLevel(bin, config, data, storeURL, "error")
}

func syncCmdLevel(bin, config, data, storeURL, level string) *exec.Cmd {
	cmd := exec.Command(bin, "--config", config, "--log-level", level, "sync")
	cmd.Env = append(os.Environ(), "KARKAS_DEMO_DATA="+data, "KARKAS_STORE="+storeURL)
	return cmd
}

// TestKillAnywhere is the crash-safety promise: a demo sync killed with
// SIGKILL at several points and run again ends with exactly the rows of an
// uninterrupted run, on both stores.
func TestKillAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary many times")
	}
	bin := buildBinary(t)
	config, data := demoSetup(t, 2, 100)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			refURL := testdb.URL(t, dialect)
			if out, err := syncCmd(bin, config, data, refURL).CombinedOutput(); err != nil {
				t.Fatalf("reference sync: %v\n%s", err, out)
			}
			want := snapshot(t, refURL)
			if len(want) < 5000 {
				t.Fatalf("reference run stored %d rows; the demo at scale 2 has more", len(want))
			}

			killURL := testdb.URL(t, dialect)
			partial := 0
			// Kill points are counted in stored batches, not in time, so
			// that they land mid-run however loaded the machine is. The
			// kill comes while the process goes on, so it lands somewhere
			// in or after the next batch. Each run resumes the last.
			for _, after := range []int{1, 2, 3, 5, 8} {
				cmd := syncCmdLevel(bin, config, data, killURL, "debug")
				stderr, err := cmd.StderrPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				sc := bufio.NewScanner(stderr)
				stored := 0
				for sc.Scan() {
					if strings.Contains(sc.Text(), "batch stored") {
						if stored++; stored == after {
							cmd.Process.Signal(syscall.SIGKILL)
						}
					}
				}
				err = cmd.Wait()
				got := snapshot(t, killURL)
				if err != nil && len(got) > 0 && len(got) < len(want) {
					partial++
				}
				t.Logf("killed after %d stored batches: %d of %d rows stored (%v)", after, len(got), len(want), err)
			}
			if partial == 0 {
				t.Fatalf("no kill landed in the middle of a run: the test proved nothing")
			}
			if out, err := syncCmd(bin, config, data, killURL).CombinedOutput(); err != nil {
				t.Fatalf("sync after kills: %v\n%s", err, out)
			}
			got := snapshot(t, killURL)
			if diff := diffRows(want, got); diff != "" {
				t.Fatalf("store after kills differs from an uninterrupted run:\n%s", diff)
			}
		})
	}
}

func diffRows(want, got []rowKey) string {
	w := map[rowKey]bool{}
	for _, k := range want {
		w[k] = true
	}
	g := map[rowKey]bool{}
	for _, k := range got {
		g[k] = true
	}
	var b strings.Builder
	n := 0
	for _, k := range want {
		if !g[k] && n < 10 {
			fmt.Fprintf(&b, "  missing: %v\n", k)
			n++
		}
	}
	for _, k := range got {
		if !w[k] && n < 20 {
			fmt.Fprintf(&b, "  extra:   %v\n", k)
			n++
		}
	}
	if len(want) != len(got) {
		fmt.Fprintf(&b, "  %d rows, want %d\n", len(got), len(want))
	}
	return b.String()
}
