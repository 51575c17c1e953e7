package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"

	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// The fault suite: real karkas processes against the fakes (Trello and
// Everhour over HTTP, the demo's exports and mail files, a webhook
// receiver and a folder to deliver to), on SQLite and PostgreSQL, under
// kills, concurrent runs, throttling, server errors, cut bodies, echoed
// secrets and hostile input. After each run, and after one clean run that
// follows it, the invariants are checked (see chaosWorld.check):
//
//   - no row and no SLA transition is stored twice;
//   - after the clean run the store holds what one clean run of the same
//     world holds (nothing lost; a cursor ahead of its data would lose
//     rows here);
//   - every delivery ends delivered, with at most one effect per
//     delivery, two for a webhook resent after a kill (the same
//     webhook-id; receivers dedupe on it);
//   - no secret in any form in the output, the log or the store;
//   - a failed source says so on one line naming it.
//
// make test runs one seeded pass of each scenario (KARKAS_CHAOS_RUNS=1;
// the services' faults on SQLite alone); make chaos runs more on both
// stores (KARKAS_CHAOS_RUNS, KARKAS_CHAOS_SEED; KARKAS_CHAOS_ONLY, a
// regexp, picks scenarios) and prints the table of scenarios, runs and
// violations.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary many times")
	}
	t.Parallel()
	runs := envInt("KARKAS_CHAOS_RUNS", 1)
	seed := uint64(envInt("KARKAS_CHAOS_SEED", 1))
	var only *regexp.Regexp
	if o := os.Getenv("KARKAS_CHAOS_ONLY"); o != "" {
		only = regexp.MustCompile(o)
	}
	bin := buildBinary(t)
	type row struct {
		scenario, dialect string
		runs, violations  int
	}
	var (
		mu    sync.Mutex
		table []row
	)
	// The stores run side by side, each on a world of its own.
	t.Run("stores", func(t *testing.T) {
		for d, dialect := range testdb.Dialects {
			t.Run(dialect, func(t *testing.T) {
				t.Parallel()
				chaosOn(t, bin, dialect, d, runs, seed, only, func(scenario string, runs, violations int) {
					mu.Lock()
					defer mu.Unlock()
					table = append(table, row{scenario, dialect, runs, violations})
				})
			})
		}
	})
	slices.SortStableFunc(table, func(a, b row) int {
		return slices.Index(testdb.Dialects, a.dialect) - slices.Index(testdb.Dialects, b.dialect)
	})
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tstore\truns\tinvariant violations")
	for _, r := range table {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", r.scenario, r.dialect, r.runs, r.violations)
	}
	tw.Flush()
	t.Logf("fault suite (seed %d):\n%s", seed, b.String())
	if f := os.Getenv("KARKAS_CHAOS_TABLE"); f != "" {
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// tail is the end of a run's output, for a violation's message.
func tail(out string) string {
	if len(out) > 3000 {
		return "…" + out[len(out)-3000:]
	}
	return out
}

// chaosOn runs the scenarios on one store (the d-th dialect) and reports
// each one's runs and violations. The short pass (one run) gives the
// services' faults to the stores in turn: they do not depend on the store.
func chaosOn(t *testing.T, bin, dialect string, d, runs int, seed uint64, only *regexp.Regexp, report func(scenario string, runs, violations int)) {
	w := newChaosWorld(t, bin, dialect)
	network := 0
	for _, sc := range chaosScenarios {
		if sc.network {
			network++
			if runs == 1 && network%len(testdb.Dialects) != d {
				continue
			}
		}
		if only != nil && !only.MatchString(sc.name) {
			continue
		}
		violations := 0
		for i := range runs {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			vs := w.run(t, sc, rng)
			violations += len(vs)
			for _, v := range vs {
				t.Errorf("%s, run %d (seed %d): %s", sc.name, i, seed, v)
			}
		}
		report(sc.name, runs, violations)
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// chaosScenario is one kind of fault. run does what the scenario does to
// a fresh store at url and returns what it saw go wrong beyond the
// fault itself; the follow-up clean run and the invariants are the
// world's.
type chaosScenario struct {
	name string
	run  func(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string
	// resends is how many times a webhook delivery may reach the
	// receiver (a kill between its send and its record resends it).
	resends int
	// problems: the fault leaves input problems on record, which the
	// comparison with a clean run leaves out.
	problems bool
	// network: the fault is the services' (not the store's), so the
	// short pass runs it on SQLite alone.
	network bool
}

var chaosScenarios = []chaosScenario{
	{name: "kill during sync", run: killDuringSync},
	{name: "kill during delivery", run: killDuringDelivery, resends: 2},
	{name: "two runs at once", run: twoRunsAtOnce},
	{name: "429 storm", run: rateLimitStorm, network: true},
	{name: "5xx", run: serverErrors, network: true},
	{name: "truncated bodies", run: truncatedBodies, network: true},
	{name: "hanging servers", run: hangingServers, network: true},
	{name: "echoing servers", run: echoingServers, network: true},
	{name: "hostile input", run: hostileInput, problems: true},
}

// chaosWorld is what the runs sync from and deliver to, the same for
// every run: a run only adds faults.
type chaosWorld struct {
	bin, dialect string
	config, data string
	env          []string
	trello       *trellofake.Server
	everhour     *everhourfake.Server
	hook         *webhookCounter
	outbox       string
	// secrets are the credentials the config uses: none may show.
	secrets map[string]string
	// want is the store after one clean run.
	want []rowKey
}

func newChaosWorld(t *testing.T, bin, dialect string) *chaosWorld {
	t.Helper()
	config, data := demoSetup(t, 1, 150)
	tw := trellofake.Generate(trellofake.GenerateOptions{Seed: 7, Boards: 2, CardsPerBoard: 25, ActionsPerBoard: 300})
	trello := trellofake.NewServer(trellofake.Options{World: tw})
	t.Cleanup(trello.Close)
	ew := everhourfake.NewWorld(nil)
	ew.Generate(5, 4, 400, 2)
	everhour := everhourfake.New(t, everhourfake.Options{World: ew})
	hook := &webhookCounter{got: map[string]int{}}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	w := &chaosWorld{bin: bin, dialect: dialect, config: config, data: data, trello: trello, everhour: everhour, hook: hook,
		outbox: filepath.Join(t.TempDir(), "outbox")}
	hookPath := "chaosHOOKpath" + strconv.FormatUint(rand.Uint64(), 36)
	w.secrets = map[string]string{
		"TRELLO_KEY": trello.Key(), "TRELLO_TOKEN": trello.Token(), "EVERHOUR_TOKEN": everhourfake.DefaultAPIKey,
		"HOOK_PATH":   hookPath,
		"HOOK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString([]byte("chaosSIGNINGsecret-"+hookPath)),
	}
	w.env = append(os.Environ(), "KARKAS_DEMO_DATA="+data, "KARKAS_DEMO_OUTBOX="+w.outbox)
	for k, v := range w.secrets {
		w.env = append(w.env, k+"="+v)
	}
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(text), "sources:\n", fmt.Sprintf(`sources:
  - {id: trello-api, kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", board_names: ".", base_url: "%s", request_timeout: 2s, deadline: 5m}}
  - {id: everhour-api, kind: everhour, options: {token: "${EVERHOUR_TOKEN}", base_url: "%s", backfill_months: 2, request_timeout: 2s, deadline: 5m}}
`, trello.BaseURL(), everhour.BaseURL()), 1)
	cfg = strings.Replace(cfg, "  sinks:\n", fmt.Sprintf("  sinks:\n    hook: {kind: webhook, options: {url: \"%s/${HOOK_PATH}\", secret: \"${HOOK_SECRET}\"}}\n", hookSrv.URL), 1)
	cfg = strings.Replace(cfg, "  defaults:\n", "  defaults:\n    - {policies: [client_contact, response], sink: hook}\n", 1)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := testdb.URL(t, dialect)
	if out, code := w.sync(ref, "error"); code != exitOK && code != exitFailed {
		t.Fatalf("reference sync: exit %d\n%s", code, out)
	}
	if out, code := w.sync(ref, "error"); code != exitOK {
		t.Fatalf("reference sync, again: exit %d\n%s", code, out)
	}
	w.want = snapshot(t, ref)
	if len(w.want) < 3000 {
		t.Fatalf("the reference run stored %d rows; the world holds more", len(w.want))
	}
	return w
}

// run runs one scenario on a fresh store, then one clean run, and
// returns every invariant violation.
func (w *chaosWorld) run(t *testing.T, sc chaosScenario, rng *rand.Rand) []string {
	t.Helper()
	url := testdb.URL(t, w.dialect)
	w.hook.reset()
	_ = os.RemoveAll(w.outbox)
	var vs []string
	vs = append(vs, sc.run(t, w, url, rng)...)
	w.trello.Disarm()
	w.everhour.Disarm()
	vs = append(vs, w.duplicates(t, url)...)
	out, code := w.sync(url, "error")
	if code != exitOK {
		vs = append(vs, fmt.Sprintf("the clean run after the fault: exit %d\n%s", code, tail(out)))
	}
	want, got := w.want, snapshot(t, url)
	if sc.problems {
		want, got = withoutProblems(want), withoutProblems(got)
	}
	if diff := diffRows(want, got); diff != "" {
		vs = append(vs, "after the fault and a clean run the store differs from one clean run:\n"+diff)
	}
	vs = append(vs, w.duplicates(t, url)...)
	vs = append(vs, w.deliveries(t, url, max(1, sc.resends))...)
	vs = append(vs, w.leaks(url, out)...)
	return vs
}

func withoutProblems(rows []rowKey) []rowKey {
	var out []rowKey
	for _, r := range rows {
		if r.table != "problems" {
			out = append(out, r)
		}
	}
	return out
}

// sync runs karkas sync to its end and returns its output and exit code.
func (w *chaosWorld) sync(url, level string, args ...string) (string, int) {
	cmd := w.command(url, level, args...)
	out, err := cmd.CombinedOutput()
	return string(out), exitCode(err)
}

func (w *chaosWorld) command(url, level string, args ...string) *exec.Cmd {
	cmd := exec.Command(w.bin, append([]string{"--config", w.config, "--log-level", level, "sync"}, args...)...)
	cmd.Env = append(slicesClone(w.env), "KARKAS_STORE="+url)
	return cmd
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.ExitCode() < 0 {
			return -1 // killed
		}
		return ee.ExitCode()
	}
	return -2
}

// killAt runs a sync at debug level and kills it with SIGKILL once the
// log has shown n lines holding mark; it returns the output.
func (w *chaosWorld) killAt(url, mark string, n int) string {
	cmd := w.command(url, "debug")
	var stdout, out bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err.Error()
	}
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	seen := 0
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), mark) {
			if seen++; seen == n {
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	_ = cmd.Wait()
	out.Write(stdout.Bytes())
	return out.String()
}

func killDuringSync(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	var vs []string
	// Several kills per run, each at a seeded count of stored batches;
	// each run resumes what the last left.
	for range 3 {
		out := w.killAt(url, "batch stored", 1+rng.IntN(12))
		vs = append(vs, w.leaks(url, out)...)
	}
	return vs
}

func killDuringDelivery(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	out := w.killAt(url, `msg=delivered`, 1+rng.IntN(8))
	return w.leaks(url, out)
}

func twoRunsAtOnce(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	var vs []string
	var wg sync.WaitGroup
	outs, codes := make([]string, 2), make([]int, 2)
	wait := []string{"0", "2m"}[rng.IntN(2)]
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], codes[i] = w.sync(url, "warn", "--wait", wait)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != exitOK && !(c == exitLocked && wait == "0") {
			vs = append(vs, fmt.Sprintf("run %d of two at once (--wait %s): exit %d\n%s", i, wait, c, tail(outs[i])))
		}
		vs = append(vs, w.leaks(url, outs[i])...)
	}
	return vs
}

// rateLimitStorm answers a run of 429s with a short Retry-After to both
// APIs: the sync is slower, never failed.
func rateLimitStorm(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	// More than either client gave up after before: Trello 3, Everhour 20.
	w.trello.Arm(trellofake.Fault{Kind: fakeapi.RateLimited, Route: "/1/boards/*/actions", Times: 4 + rng.IntN(4), RetryAfter: 1})
	w.everhour.Arm(everhourfake.Fault{Kind: fakeapi.RateLimited, Times: 21 + rng.IntN(5), RetryAfter: 1})
	out, code := w.sync(url, "warn")
	vs := w.leaks(url, out)
	if code != exitOK {
		vs = append(vs, fmt.Sprintf("a sync under a 429 storm failed (exit %d); it must be slower, never failed:\n%s", code, tail(out)))
	}
	return vs
}

// serverErrors answers a few 5xx: retried, the sync succeeds.
func serverErrors(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	status := []int{500, 502, 503, 504}[rng.IntN(4)]
	w.trello.Arm(trellofake.Fault{Kind: fakeapi.ServerError, Status: status, Skip: rng.IntN(5), Times: 1 + rng.IntN(2)})
	w.everhour.Arm(everhourfake.Fault{Kind: fakeapi.ServerError, Status: status, Skip: rng.IntN(3), Times: 1 + rng.IntN(2)})
	out, code := w.sync(url, "warn")
	vs := w.leaks(url, out)
	if code != exitOK {
		vs = append(vs, fmt.Sprintf("a sync meeting %d twice at most failed (exit %d):\n%s", status, code, tail(out)))
	}
	return vs
}

// truncatedBodies cuts answers short: a source may fail, with one line
// naming it, and keeps what it stored.
func truncatedBodies(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	w.trello.Arm(trellofake.Fault{Kind: fakeapi.Truncated, Skip: rng.IntN(6), Times: 1 + rng.IntN(3)})
	w.everhour.Arm(everhourfake.Fault{Kind: fakeapi.Truncated, Skip: rng.IntN(3), Times: 1 + rng.IntN(3)})
	out, code := w.sync(url, "warn")
	vs := w.leaks(url, out)
	if code != exitOK && code != exitFailed {
		vs = append(vs, fmt.Sprintf("cut bodies: exit %d\n%s", code, tail(out)))
	}
	return append(vs, failureLines(out)...)
}

// hangingServers accept requests and never answer some: each costs the
// request timeout; a source that meets two in a row fails, saying which
// limit it hit, and keeps what it stored.
func hangingServers(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	w.trello.Arm(trellofake.Fault{Kind: fakeapi.Hang, Skip: rng.IntN(6), Times: 1 + rng.IntN(2)})
	w.everhour.Arm(everhourfake.Fault{Kind: fakeapi.Hang, Skip: rng.IntN(3), Times: 1 + rng.IntN(2)})
	out, code := w.sync(url, "warn")
	vs := append(w.leaks(url, out), failureLines(out)...)
	switch {
	case code != exitOK && code != exitFailed:
		vs = append(vs, fmt.Sprintf("hanging servers: exit %d\n%s", code, tail(out)))
	case code == exitFailed && !strings.Contains(out, "no answer within request_timeout 2s"):
		vs = append(vs, "a source failed on a hanging server without saying which limit it hit:\n"+tail(out))
	}
	return vs
}

// echoingServers answer with what a debug proxy in front of the API
// would: the request's credentials, as sent and in base64.
func echoingServers(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	key, token, ev := w.secrets["TRELLO_KEY"], w.secrets["TRELLO_TOKEN"], w.secrets["EVERHOUR_TOKEN"]
	w.trello.Arm(trellofake.Fault{Kind: fakeapi.ServerError, Status: 400, Skip: rng.IntN(4),
		Body: "bad request: GET /1/members/me/boards?key=" + key + "&token=" + token + " (" + base64.StdEncoding.EncodeToString([]byte(key+":"+token)) + ")"})
	w.everhour.Arm(everhourfake.Fault{Kind: fakeapi.ServerError, Status: 400,
		Body: `{"code":400,"message":"invalid request, headers: {\"X-Api-Key\":\"` + ev + `\"}"}`})
	out, _ := w.sync(url, "debug")
	return append(w.leaks(url, out), failureLines(out)...)
}

// hostileInput syncs, then breaks the exports (a wrong-typed field in
// Trello cards, a quote left open and a huge note in the time CSV) and
// syncs again: nothing stored before may be deleted on their account.
func hostileInput(t *testing.T, w *chaosWorld, url string, rng *rand.Rand) []string {
	var vs []string
	if out, code := w.sync(url, "error"); code != exitOK {
		return []string{fmt.Sprintf("the first sync: exit %d\n%s", code, tail(out))}
	}
	before := snapshot(t, url)
	restore, err := breakExports(w.data, rng)
	if err != nil {
		return []string{err.Error()}
	}
	defer restore()
	out, code := w.sync(url, "warn")
	after := map[[3]string]string{}
	for _, k := range snapshot(t, url) {
		after[[3]string{k.table, k.source, k.id}] = k.hash
	}
	deleted := 0
	for _, k := range before {
		if h := after[[3]string{k.table, k.source, k.id}]; strings.HasSuffix(k.hash, "live") && strings.HasSuffix(h, "deleted") {
			if deleted++; deleted <= 5 {
				vs = append(vs, fmt.Sprintf("hostile input deleted %s %s %s", k.table, k.source, k.id))
			}
		}
	}
	if !regexp.MustCompile(`new problems [1-9]`).MatchString(out) {
		vs = append(vs, "the hostile input was not noticed:\n"+tail(out))
	}
	if code != exitOK && code != exitFailed {
		vs = append(vs, fmt.Sprintf("hostile input: exit %d\n%s", code, tail(out)))
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "fatal error") {
		vs = append(vs, "hostile input crashed karkas:\n"+out)
	}
	return append(vs, w.leaks(url, out)...)
}

// breakExports damages the demo exports in place and returns how to put
// them back.
func breakExports(data string, rng *rand.Rand) (func(), error) {
	saved := map[string][]byte{}
	edit := func(path string, fn func([]byte) []byte) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		saved[path] = b
		return os.WriteFile(path, fn(b), 0o644)
	}
	restore := func() {
		for p, b := range saved {
			_ = os.WriteFile(p, b, 0o644)
		}
	}
	boards, _ := filepath.Glob(filepath.Join(data, "trello", "*.json"))
	if len(boards) == 0 {
		return restore, errors.New("no demo board export")
	}
	// A string where Trello writes a boolean, in a few cards.
	name := regexp.MustCompile(`"closed":(true|false),"idList"`)
	if err := edit(boards[rng.IntN(len(boards))], func(b []byte) []byte {
		n := 0
		return name.ReplaceAllFunc(b, func(m []byte) []byte {
			if n++; n > 4 {
				return m
			}
			return []byte(`"closed":"nope","idList"`)
		})
	}); err != nil {
		restore()
		return restore, err
	}
	csvPath := filepath.Join(data, "time", "everhour.csv")
	if err := edit(csvPath, func(b []byte) []byte {
		lines := strings.SplitAfter(string(b), "\n")
		at := 2 + rng.IntN(max(1, len(lines)-4))
		// A note with a quote left open, and a note of a megabyte.
		lines[at] = strings.Replace(lines[at], ",", `,"open quote `, 1)
		lines[at+1] = strings.TrimRight(lines[at+1], "\n") + `,"` + strings.Repeat("й", 1<<19) + "\"\n"
		return []byte(strings.Join(lines, ""))
	}); err != nil {
		restore()
		return restore, err
	}
	return restore, nil
}

// failureLines checks that each failed source says so on one line that
// names it: the result column of the sync table.
func failureLines(out string) []string {
	var vs []string
	for _, l := range strings.Split(out, "\n") {
		i := strings.Index(l, "FAILED: ")
		if i < 0 || strings.HasPrefix(l, "time=") {
			continue
		}
		if f := strings.Fields(l); len(f) == 0 || !regexp.MustCompile(`^[\w-]+$`).MatchString(f[0]) {
			vs = append(vs, "a failure line does not start with the source: "+l)
		}
		if n := len([]rune(strings.TrimSpace(l[i:]))); n > maxErrorLine {
			vs = append(vs, fmt.Sprintf("a failure is %d characters long, over %d: %.300s…", n, maxErrorLine, l[i:]))
		}
	}
	return vs
}

// maxErrorLine bounds what a failure shows on its line: "FAILED: " and
// at most 200 characters of the error.
const maxErrorLine = 210

// duplicates finds rows and transitions stored twice.
func (w *chaosWorld) duplicates(t *testing.T, url string) []string {
	t.Helper()
	var vs []string
	seen := map[[3]string]bool{}
	for _, k := range snapshot(t, url) {
		key := [3]string{k.table, k.source, k.id}
		if k.table != "problems" && seen[key] {
			vs = append(vs, fmt.Sprintf("row stored twice: %v", key))
		}
		seen[key] = true
	}
	st, err := store.Open(context.Background(), url)
	if err != nil {
		return append(vs, err.Error())
	}
	defer st.Close()
	var dups []string
	if err := st.Select(context.Background(), &dups, `SELECT clock_id || ' ' || from_state || '>' || to_state FROM sla_transitions
		GROUP BY clock_id, from_state, to_state, at HAVING COUNT(*) > 1`); err != nil {
		return append(vs, err.Error())
	}
	for _, d := range dups {
		vs = append(vs, "transition stored twice: "+d)
	}
	return vs
}

// deliveries checks the outbox after the clean run: every due delivery
// delivered, each webhook delivery received at least once and at most
// resends times.
func (w *chaosWorld) deliveries(t *testing.T, url string, resends int) []string {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		return []string{err.Error()}
	}
	defer st.Close()
	rows, err := st.Deliveries(context.Background(), store.DeliveryFilter{})
	if err != nil {
		return []string{err.Error()}
	}
	var vs []string
	got := w.hook.counts()
	hooks := 0
	for _, r := range rows {
		if r.Status == store.OutboxFailed {
			vs = append(vs, fmt.Sprintf("delivery %d through %s failed: %s", r.ID, r.Sink, r.LastError))
		}
		if r.Sink != "hook" || r.Status != store.OutboxDelivered {
			continue
		}
		hooks++
		switch n := got[r.IdempotencyKey]; {
		case n == 0:
			vs = append(vs, fmt.Sprintf("webhook delivery %s is recorded delivered but never arrived", r.IdempotencyKey))
		case n > resends:
			vs = append(vs, fmt.Sprintf("webhook delivery %s arrived %d times (at most %d)", r.IdempotencyKey, n, resends))
		}
	}
	if hooks == 0 {
		vs = append(vs, "no webhook delivery: the check proved nothing")
	}
	return vs
}

// leaks finds a secret in out or anywhere in the store.
func (w *chaosWorld) leaks(url, out string) []string {
	texts := map[string]string{"the output": out}
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if b, err := os.ReadFile(f); err == nil {
				texts[f] = string(b)
			}
		}
	} else if st, err := store.Open(context.Background(), url); err == nil {
		var rows []string
		_ = st.Select(context.Background(), &rows, `SELECT message FROM problems UNION ALL SELECT error FROM sync_runs
			UNION ALL SELECT last_error FROM outbox UNION ALL SELECT attention FROM sources UNION ALL SELECT payload FROM outbox`)
		st.Close()
		texts["the store"] = strings.Join(rows, "\n")
	}
	var vs []string
	for where, text := range texts {
		for name, how := range leaked(text, w.secrets) {
			vs = append(vs, fmt.Sprintf("%s holds %s (%s)", where, name, how))
		}
	}
	return vs
}

// webhookCounter counts the deliveries it receives by webhook-id.
type webhookCounter struct {
	mu  sync.Mutex
	got map[string]int
}

func (h *webhookCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	h.got[r.Header.Get("webhook-id")]++
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhookCounter) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = map[string]int{}
}

func (h *webhookCounter) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.got {
		out[k] = v
	}
	return out
}
