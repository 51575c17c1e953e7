package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// Two `karkas sync` runs started at once on one store, as a slow cron run
// and the next one, or two replicas: each source is synced by one of them,
// the SLA is evaluated by one at a time, and nothing is stored twice. Without
// --wait the second leaves what the first holds and says so (exit 4); with
// it, it waits and finds nothing new. Either way the store ends as one run
// leaves it, and each clock's transitions are recorded once.
func TestTwoSyncsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	config, data := demoSetup(t, 1, 200)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			refURL := testdb.URL(t, dialect)
			if out, err := syncCmd(bin, config, data, refURL).CombinedOutput(); err != nil {
				t.Fatalf("reference sync: %v\n%s", err, out)
			}
			want := snapshot(t, refURL)
			for _, wait := range []string{"0", "2m"} {
				t.Run("wait "+wait, func(t *testing.T) {
					url := testdb.URL(t, dialect) // new: both runs also migrate it at once
					codes, outs := make([]int, 2), make([]string, 2)
					var wg sync.WaitGroup
					for i := range 2 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							cmd := exec.Command(bin, "--config", config, "--log-level", "error", "sync", "--wait", wait)
							cmd.Env = syncCmd(bin, config, data, url).Env
							var out bytes.Buffer
							cmd.Stdout, cmd.Stderr = &out, &out
							err := cmd.Run()
							var ee *exec.ExitError
							if errors.As(err, &ee) {
								codes[i] = ee.ExitCode()
							} else if err != nil {
								codes[i] = -1
							}
							outs[i] = out.String()
						}()
					}
					wg.Wait()
					ok := 0
					for i, c := range codes {
						switch {
						case c == exitOK:
							ok++
						case c == exitLocked && wait == "0":
							// It names the run it left the work to.
							if !regexp.MustCompile(`another karkas run \(pid \d+ on .+ since .+\) holds (source:\w+|evaluate)`).MatchString(outs[i]) {
								t.Errorf("run %d left work to another without naming it:\n%s", i, outs[i])
							}
						default:
							t.Errorf("run %d: exit %d\n%s", i, c, outs[i])
						}
					}
					if wait != "0" && ok != 2 {
						t.Errorf("with --wait both runs should succeed: exits %v", codes)
					}
					// Each source was pulled by one run: the other left it
					// (no --wait) or found it unchanged once it had waited.
					for _, src := range []string{"trello", "everhour", "mail"} {
						line := regexp.MustCompile(`(?m)^` + src + `\s.*\s(ok|ok \(unchanged\)|skipped: .*)\s*$`)
						var results []string
						for _, out := range outs {
							if m := line.FindStringSubmatch(out); m != nil {
								results = append(results, strings.Fields(m[1])[0]+map[bool]string{true: " unchanged"}[strings.Contains(m[1], "unchanged")])
							}
						}
						slices.Sort(results)
						want := "[ok skipped:]"
						if wait != "0" {
							want = "[ok ok unchanged]"
						}
						if fmt.Sprint(results) != want {
							t.Errorf("source %s: %v across the two runs, want %s:\n%s\n---\n%s", src, results, want, outs[0], outs[1])
						}
					}
					// Without --wait, a run that left every source to the other
					// may evaluate before the other has stored anything, and the
					// other then leaves evaluation to it: no transitions yet is
					// a true outcome. The follow-up run evaluates.
					checkTransitionsOnce(t, url, wait != "0")
					// One more run completes whatever a skipped part left.
					if out, err := syncCmd(bin, config, data, url).CombinedOutput(); err != nil {
						t.Fatalf("the follow-up sync: %v\n%s", err, out)
					}
					if diff := diffRows(want, snapshot(t, url)); diff != "" {
						t.Errorf("after two runs at once and one more, the store differs from one run:\n%s", diff)
					}
					checkTransitionsOnce(t, url, true)
				})
			}
		})
	}
}

// checkTransitionsOnce fails when a clock's transition is stored twice, and,
// when wantSome, when none is stored at all.
func checkTransitionsOnce(t *testing.T, url string, wantSome bool) {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var dups []string
	if err := st.Select(context.Background(), &dups, `SELECT clock_id || ' ' || from_state || '>' || to_state FROM sla_transitions
		GROUP BY clock_id, from_state, to_state, at HAVING COUNT(*) > 1`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.Get(context.Background(), &n, `SELECT COUNT(*) FROM sla_transitions`); err != nil {
		t.Fatal(err)
	}
	if len(dups) > 0 || (wantSome && n == 0) {
		t.Errorf("%d transitions, %d stored twice: %s", n, len(dups), strings.Join(dups[:min(len(dups), 5)], ", "))
	}
}
