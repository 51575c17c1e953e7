package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"everhour", []string{"-kind", "everhour"}, true},
		{"all flags", []string{"-kind", "toggl", "-addr", "127.0.0.1:9000", "-seed", "7", "-entries", "50", "-months", "2", "-activity", "30s", "-quota", "240"}, true},
		{"no kind", nil, false},
		{"unknown kind", []string{"-kind", "jira"}, false},
		{"quota elsewhere", []string{"-kind", "harvest", "-quota", "240"}, false},
		{"no months", []string{"-kind", "clockify", "-months", "0"}, false},
		{"negative entries", []string{"-kind", "clockify", "-entries", "-1"}, false},
		{"stray argument", []string{"-kind", "clockify", "now"}, false},
		{"help", []string{"-h"}, false},
		{"faults", []string{"-kind", "everhour", "-fault", "hang:path=/team/time", "-fault", "rate_limited:times=-1:retry_after=2"}, true},
		{"bad fault", []string{"-kind", "everhour", "-fault", "slow:path=/team/time"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(c.args, io.Discard)
			if c.ok && err != nil {
				t.Errorf("%v: %v", c.args, err)
			}
			if !c.ok && !errors.Is(err, errUsage) {
				t.Errorf("%v: %v, want a usage error", c.args, err)
			}
		})
	}
}

// The agency is the same for a seed, believable (English and Russian
// names, a Russian client, tasks, tags, Trello cards) and never logs time
// that has not happened yet or lies before its first month.
func TestAgency(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 18, 10, 30, 0, 0, time.UTC)
	a, err := newAgency(5, 300, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newAgency(5, 300, 3, now)
	c, _ := newAgency(6, 300, 3, now)
	sameAs := func(x, y *agency) bool {
		return slices.EqualFunc(x.entries, y.entries, func(e, f entry) bool {
			return e.person == f.person && e.project == f.project && e.task == f.task && e.start.Equal(f.start) &&
				e.seconds == f.seconds && e.note == f.note && slices.Equal(e.tags, f.tags) && e.card == f.card
		})
	}
	if !sameAs(a, b) || sameAs(a, c) {
		t.Error("the seed does not decide the agency")
	}
	if len(a.entries) != 300 {
		t.Fatalf("%d entries, want 300", len(a.entries))
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cards, tagged, noProject int
	for _, e := range a.entries {
		end := e.start.Add(time.Duration(e.seconds) * time.Second)
		if end.After(now) || e.start.Before(first.Add(-24*time.Hour)) {
			t.Errorf("entry %v..%v outside %v..%v", e.start, end, first, now)
		}
		if e.card != "" {
			cards++
		}
		if len(e.tags) > 0 {
			tagged++
		}
		if e.project < 0 {
			noProject++
		}
	}
	if cards == 0 || tagged == 0 || noProject == 0 {
		t.Errorf("%d entries from Trello cards, %d tagged, %d of no project: want some of each", cards, tagged, noProject)
	}
	clients := a.clients()
	names := ""
	for _, c := range clients {
		names += c.name + " "
	}
	if len(clients) != 3 || !strings.Contains(names, "Ромашка") {
		t.Errorf("clients %q", names)
	}
}

func TestSlug(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Acme Foods": "acme-foods", "ООО Ромашка": "ooo-romashka", "Бетта Строй": "betta-stroy",
		"  Эко—Ферма 2 ": "eko-ferma-2", "Chloé": "chlo", "Щука & Ёж": "shchuka-ezh", "ЪЬ": "",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// The path a new user takes, for every kind: the printed config (with the
// printed token in the environment) loads with the kind's options checked,
// a sync through the real engine stores every entry the fake holds, with
// its client found; a round of activity and a second sync bring the store
// in line again, the deleted entry soft-deleted.
func TestConfigSyncsEachKind(t *testing.T) {
	t.Parallel()
	kindOf := map[string]connectors.Kind{}
	for _, k := range []connectors.Kind{everhour.Kind(), toggl.Kind(), clockify.Kind(), harvest.Kind()} {
		kindOf[k.Name] = k
	}
	sourceOptions := func(kind string) (any, bool) {
		k, ok := kindOf[kind]
		if !ok {
			return nil, false
		}
		return k.NewOptions(), true
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			// One month for some: backfill_months may not go below
			// reconcile_months.
			months := map[string]int{everhour.KindName: 1, harvest.KindName: 1}[kind]
			o := options{kind: kind, addr: "127.0.0.1:0", seed: 3, entries: 120, months: cmp.Or(months, 2)}
			tr, err := start(o, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(tr.close)
			base := serve(t, tr)

			var out strings.Builder
			intro(&out, tr, base, o)
			if !strings.Contains(out.String(), "export "+tr.env+"="+tr.token+"\n") {
				t.Errorf("no export line in\n%s", out.String())
			}
			yaml := configYAML(tr, base, o)
			if !strings.Contains(out.String(), yaml) {
				t.Errorf("the intro does not hold the config:\n%s", out.String())
			}
			dir := t.TempDir()
			l, err := mapping.Parse(filepath.Join(dir, "karkas.yaml"), []byte(yaml), mapping.LoadOptions{
				LookupEnv: func(k string) (string, bool) {
					if k == tr.env {
						return tr.token, true
					}
					return "", false
				},
				SourceOptions: sourceOptions,
			})
			if err != nil {
				t.Fatalf("the printed config: %v\n%s", err, yaml)
			}
			opts := l.SourceOptions[kind].(*timetrack.Options)
			if kind == harvest.KindName {
				// The printed reconcile_every is seconds of wall time;
				// the test does not wait them out.
				opts.ReconcileEvery = time.Nanosecond
			}
			src, err := kindOf[kind].Open(opts, connectors.Env{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			st := testdb.Open(t, store.SQLite)
			info := mapping.SourceInfo{ID: kind, Kind: kind, Identity: mapping.IdentityTimeTracker}
			check := func(what string) {
				t.Helper()
				res := timetracktest.Sync(t, st, l.Config, info, src)
				if res.Err != nil || res.Problems != 0 {
					t.Fatalf("%s: sync: %v, %d problems", what, res.Err, res.Problems)
				}
				n, secs := holds(t, tr)
				var got struct {
					N       int   `db:"n"`
					Secs    int64 `db:"secs"`
					Clients int   `db:"clients"`
				}
				if err := st.Get(context.Background(), &got, `SELECT COUNT(*) AS n, COALESCE(SUM(seconds), 0) AS secs, COUNT(DISTINCT client_id) AS clients
					FROM time_entries WHERE deleted_at IS NULL`); err != nil {
					t.Fatal(err)
				}
				if got.N != n || got.Secs != secs {
					t.Errorf("%s: the store holds %d entries, %d s; the fake %d, %d s", what, got.N, got.Secs, n, secs)
				}
				// Three clients of the config, and time of none.
				if got.Clients != 4 {
					t.Errorf("%s: entries of %d clients, want the 3 configured and no client", what, got.Clients)
				}
			}
			check("first sync")
			did := step(tr, rand.New(rand.NewPCG(1, 2)), 1, time.Now())
			check("after " + did)
			var gone int
			if err := st.Get(context.Background(), &gone, `SELECT COUNT(*) FROM time_entries WHERE deleted_at IS NOT NULL`); err != nil {
				t.Fatal(err)
			}
			if want := strings.Count(did, "deleted "); gone != want || !strings.Contains(did, "added ") {
				t.Errorf("after %q: %d entries soft-deleted, want %d", did, gone, want)
			}
		})
	}
}

// serve serves the tracker as run does, on a port of its own.
func serve(t *testing.T, tr *tracker) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: tr.handler, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String() + tr.path
}

// holds is what the tracker's fake holds: entries and seconds, as karkas
// reads them (Harvest answers hours to two decimals).
func holds(t *testing.T, tr *tracker) (n int, secs int64) {
	t.Helper()
	switch srv := tr.handler.(type) {
	case *everhourfake.Server:
		for _, e := range srv.World().Entries() {
			n, secs = n+1, secs+e.Time
		}
	case *togglfake.Server:
		for _, e := range srv.Entries() {
			n, secs = n+1, secs+e.Seconds()
		}
	case *clockifyfake.Server:
		for _, e := range srv.Entries() {
			n, secs = n+1, secs+e.Seconds()
		}
	case *harvestfake.Server:
		for _, e := range srv.Entries() {
			n, secs = n+1, secs+harvest.Seconds(math.Round(e.Hours*100)/100)
		}
	default:
		t.Fatalf("no fake %T", srv)
	}
	return n, secs
}

var activityLine = regexp.MustCompile(`^\d\d:\d\d:\d\d activity \d+: .*added \S+ \(`)

// run serves the fake at the base_url it prints, with the key it prints,
// keeps changing it with -activity, and stops when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	sc, stop := started(t, "-kind", "everhour", "-entries", "20", "-months", "1", "-activity", "1ms")
	var base, key string
	rounds := 0
	for rounds < 2 && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "base_url: "); ok {
			base = v
		}
		if v, ok := strings.CutPrefix(line, "export "+everhour.EnvHint+"="); ok {
			key = v
		}
		if activityLine.MatchString(line) {
			rounds++
		}
	}
	if base == "" || key == "" || rounds < 2 {
		t.Fatalf("base_url %q, key %q, %d rounds of activity printed", base, key, rounds)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/team/users", nil)
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name"`) {
		t.Errorf("GET %s/team/users: %d %s", base, resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

// started runs the command with args until the test ends or stop is
// called; stop returns run's error. Output not scanned is discarded
// after stop (activity may print once more before it sees the end).
func started(t *testing.T, args ...string) (sc *bufio.Scanner, stop func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw)
		pw.Close()
	}()
	return bufio.NewScanner(pr), func() error {
		cancel()
		go io.Copy(io.Discard, pr)
		return <-done
	}
}

// -fault arms the fake as the Go API does: here one 429 with the
// Retry-After asked for, then the real answer.
func TestRunWithFault(t *testing.T) {
	t.Parallel()
	sc, stop := started(t, "-kind", "everhour", "-entries", "5", "-months", "1",
		"-fault", "rate_limited:route=/team/*:times=1:retry_after=7", "-fault", "server_error:path=/projects:status=502:times=-1")
	var base, key string
	armed := false
	for !armed && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "base_url: "); ok {
			base = v
		}
		if v, ok := strings.CutPrefix(line, "export "+everhour.EnvHint+"="); ok {
			key = v
		}
		armed = line == "faults armed, in order: rate_limited:route=/team/*:times=1:retry_after=7 server_error:path=/projects:status=502:times=-1"
	}
	if base == "" || key == "" || !armed {
		t.Fatalf("base_url %q, key %q, faults armed printed: %v", base, key, armed)
	}
	get := func(path string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	if code, h := get("/team/users"); code != http.StatusTooManyRequests || h.Get("Retry-After") != "7" {
		t.Errorf("first GET /team/users: %d, Retry-After %q; want 429 and 7", code, h.Get("Retry-After"))
	}
	if code, _ := get("/team/users"); code != http.StatusOK {
		t.Errorf("second GET /team/users: %d, want 200 (times=1)", code)
	}
	for range 2 {
		if code, _ := get("/projects"); code != http.StatusBadGateway {
			t.Errorf("GET /projects: %d, want 502 every time", code)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}
