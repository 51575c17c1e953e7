package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/store"
)

// Issue 17, point 7: on an empty store, sync --dry-run plans from the
// rows and clocks the run would create, so it prints the deliveries the
// real sync then makes (by when, sink and recipients), and it stores
// nothing. Before, it evaluated the empty store and said "nothing to
// send".
func TestDryRunPlansWhatTheSyncSends(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			config, data := demoSetup(t, 1, 2000)
			dbURL := testdb.URL(t, dialect)
			env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": dbURL, "KARKAS_DEMO_OUTBOX": t.TempDir()}
			if code, out, errOut := runCLI(t, env, "migrate", "-c", config); code != exitOK {
				t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
			}
			before := tableCounts(t, dbURL)
			code, dry, errOut := runCLI(t, env, "sync", "--dry-run", "-c", config)
			if code != exitOK {
				t.Fatalf("dry run: exit %d\n%s\n%s", code, dry, errOut)
			}
			if after := tableCounts(t, dbURL); !maps.Equal(before, after) {
				t.Errorf("the dry run wrote: tables %v, were %v", after, before)
			}
			planned, kinds := planLines(t, dry)
			if planned["now"] == nil {
				t.Fatalf("the dry run plans nothing to send now:\n%s", dry)
			}

			code, out, errOut := runCLI(t, env, "sync", "-c", config)
			if code != exitOK {
				t.Fatalf("sync: exit %d\n%s\n%s", code, out, errOut)
			}
			m := regexp.MustCompile(`deliveries: (\d+) sent`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the sync says nothing of deliveries:\n%s", out)
			}
			sent, _ := strconv.Atoi(m[1])
			made := storedPlan(t, dbURL, kinds)
			if n := sum(planned["now"]); n != sent {
				t.Errorf("the dry run planned %d deliveries now, the sync sent %d", n, sent)
			}
			for _, when := range []string{"now", "digest", "later"} {
				if !maps.Equal(planned[when], made[when]) {
					t.Errorf("%s: the dry run planned %v, the sync made %v", when, planned[when], made[when])
				}
			}
		})
	}
}

// planLines reads the plan a dry run printed: sink and recipients, counted
// by when (now, at a digest, later), and the kind of each sink.
func planLines(t *testing.T, out string) (map[string]map[string]int, map[string]string) {
	t.Helper()
	_, plan, ok := strings.Cut(out, "\ndeliveries as of ")
	if !ok {
		t.Fatalf("no plan in the dry run's output:\n%s", out)
	}
	lines := map[string]map[string]int{}
	kinds := map[string]string{}
	cols := regexp.MustCompile(`\s{2,}`)
	for _, ln := range strings.Split(plan, "\n")[1:] {
		if !strings.HasPrefix(ln, "  ") || strings.HasPrefix(ln, "  when") || strings.TrimSpace(ln) == "nothing to send" {
			continue
		}
		f := cols.Split(strings.TrimSpace(ln), -1)
		if len(f) < 3 {
			t.Fatalf("plan line %q", ln)
		}
		sink, kind, _ := strings.Cut(f[1], " (")
		kinds[sink] = strings.TrimSuffix(kind, ")")
		when := "later"
		switch {
		case f[0] == "now":
			when = "now"
		case strings.HasPrefix(f[0], "digest"):
			when = "digest"
		}
		add(lines, when, sink+" to "+f[2])
	}
	return lines, kinds
}

// storedPlan counts a store's deliveries as planLines does the plan's:
// delivered (now), held for a digest, pending (later).
func storedPlan(t *testing.T, dbURL string, kinds map[string]string) map[string]map[string]int {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Deliveries(context.Background(), store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, r := range rows {
		when := map[string]string{store.OutboxDelivered: "now", store.OutboxHeld: "digest", store.OutboxPending: "later"}[r.Status]
		if when == "" {
			continue // folded into a digest or summary, which counts
		}
		var target sinks.Target
		if err := json.Unmarshal([]byte(r.Target), &target); err != nil {
			t.Fatal(err)
		}
		add(out, when, r.Sink+" to "+clipRunes(deliveryTo(kinds[r.Sink], target), 60))
	}
	return out
}

func add(m map[string]map[string]int, k1, k2 string) {
	if m[k1] == nil {
		m[k1] = map[string]int{}
	}
	m[k1][k2]++
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// tableCounts counts the rows of every table of a store.
func tableCounts(t *testing.T, dbURL string) map[string]int {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if st.Dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	var tables []string
	if err := st.Select(context.Background(), &tables, q); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		if err := st.Get(context.Background(), &n, fmt.Sprintf(`SELECT COUNT(*) FROM %s`, tb)); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	if st.Dialect == store.Postgres {
		// The dry run's scratch schema is dropped.
		var left []string
		if err := st.Select(context.Background(), &left, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE current_schema() || '_dry_run_%'`); err != nil {
			t.Fatal(err)
		}
		out["scratch schemas left"] = len(left)
	}
	return out
}
