package service_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"

	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
	"github.com/karkas/karkas/sync/service"
)

// The secrets of the config: the Trello app's (the fake signs with its
// default) and the GitHub hooks' (karkas gives it to the hooks it makes).
const (
	ghToken  = "ghp_service0000000000000000000000000000"
	ghSecret = "karkas-service-test-hook-secret"
	ghOwner  = "northwind"
	ghRepo   = "northwind/site"
)

// env is a daemon on a fresh store of one dialect, with a trello source
// and a github source pointing at their fakes, and the daemon's handler
// served at serve.public_url.
type env struct {
	dialect string
	trello  *trellofake.Server
	tw      *trellofake.World
	board   trellofake.Board
	card    trellofake.Card
	john    trellofake.Member // the client's contact on the board
	github  *githubfake.Server
	gw      *githubfake.World
	repo    githubfake.Repo
	issue   githubfake.Issue
	// public serves svc.Handler(true); its URL is serve.public_url.
	public *httptest.Server
	app    *pipeline.App
	svc    *service.Service
}

// envOptions vary the environment.
type envOptions struct {
	// trelloClock is the Trello world's clock (the wall clock when nil).
	trelloClock trellofake.Clock
	// extraSources is YAML appended to sources:, given the env (its
	// fakes and board).
	extraSources func(e *env) string
	// routing is the config's routing: block, given the env ("" for
	// none: notifications wait unrouted).
	routing func(e *env) string
	// tune changes the daemon's options before New.
	tune func(*service.Options)
}

func newEnv(t *testing.T, dialect string, eo envOptions) *env {
	t.Helper()
	e := &env{dialect: dialect}

	// Trello: one board with a card a client asked about.
	e.tw = trellofake.NewWorld(eo.trelloClock)
	e.board = e.tw.AddBoard("Acme Website")
	todo := e.tw.AddList(e.board.ID, "To Do")
	e.john = e.tw.AddMember(e.board.ID, "johncarter", "John Carter")
	e.card = e.tw.CreateCard(e.john.ID, todo.ID, "Checkout is broken")
	e.tw.CommentCard(e.john.ID, e.card.ID, "Customers cannot pay by card since this morning.")
	// No retries of a refused delivery: every request the daemon gets
	// is one the test caused and counts.
	e.trello = trellofake.New(t, trellofake.Options{World: e.tw, Limits: trellofake.Limits{Off: true}, WebhookRetries: -1})

	// GitHub: one repository with an issue of the client's.
	e.gw = githubfake.NewWorld(nil)
	e.gw.AddUser(ghOwner, "Northwind")
	e.gw.AddUser("johnc", "John Carter")
	e.gw.AddToken(ghToken, ghOwner)
	e.repo = e.gw.AddRepo(ghOwner, "site", true)
	e.issue = e.gw.OpenIssue(e.repo.ID, "johnc", "Broken link on the home page", "The pricing link leads nowhere.")
	e.github = githubfake.New(t, githubfake.Options{World: e.gw})

	// The handler is set once the service exists, which needs the URL.
	var handler atomic.Pointer[http.Handler]
	e.public = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not yet", http.StatusServiceUnavailable)
	}))
	t.Cleanup(e.public.Close)

	extra := ""
	if eo.extraSources != nil {
		extra = eo.extraSources(e)
	}
	if eo.routing != nil {
		extra += eo.routing(e)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`agency: {name: Northwind Digital, domains: [northwind.agency], calendar: always}
store: {url: %q}
calendars:
  always: {time_zone: UTC, hours: {mon-sun: ["00:00-24:00"]}}
policy_sets:
  standard:
    response: {target: 1h, warn: 30m}
people:
  - {id: anna, name: Anna Petrova, side: agency, trello: [karkas], github: [%[2]s]}
  - {id: john, name: John Carter, side: client, client: acme, trello: [johncarter], github: [johnc]}
clients:
  - {id: acme, name: Acme Foods, pm: anna, policy_set: standard, boards: [%[3]s], repos: [%[4]s]}
statuses:
  - {match: [To Do, open], status: todo}
  - {match: [closed], status: done}
sources:
  - id: trello
    kind: trello
    options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", webhook_secret: "${TRELLO_WEBHOOK_SECRET}", boards: [%[3]s], base_url: %[5]q}
  - id: github
    kind: github
    options: {token: "${GITHUB_TOKEN}", webhook_secret: "${GITHUB_WEBHOOK_SECRET}", repos: [%[4]s], base_url: %[6]q}
%[8]s
serve:
  public_url: %[7]s
`, testdb.URL(t, dialect), ghOwner, e.board.ID, ghRepo, e.trello.BaseURL(), e.github.URL(), e.public.URL, extra)
	path := filepath.Join(dir, "karkas.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"TRELLO_KEY": e.trello.Key(), "TRELLO_TOKEN": e.trello.Token(), "TRELLO_WEBHOOK_SECRET": e.trello.WebhookSecret(),
		"GITHUB_TOKEN": ghToken, "GITHUB_WEBHOOK_SECRET": ghSecret,
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	secrets := secret.NewSet()
	loaded, err := pipeline.Load(path, lookup, secrets)
	if err != nil {
		t.Fatalf("loading the config: %v\n%s", err, cfg)
	}
	ctx := context.Background()
	st, _, err := pipeline.OpenStore(ctx, loaded.Config, secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.app = &pipeline.App{Loaded: loaded, Store: st, Logger: testLogger(t), Secrets: secrets, LookupEnv: lookup}
	for _, w := range loaded.Warnings {
		t.Logf("config: %s", w)
	}
	opts := service.FromConfig(loaded.Config)
	opts.Listen = "127.0.0.1:0"
	opts.ID = "test-" + dialect
	if eo.tune != nil {
		eo.tune(&opts)
	}
	if e.svc, err = service.New(e.app, opts); err != nil {
		t.Fatal(err)
	}
	h := e.svc.Handler(true)
	handler.Store(&h)
	return e
}

// eachDialect runs fn on SQLite and on PostgreSQL (skipped without
// TEST_DATABASE_URL, failed without it under CI=true).
func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// callback is the URL Trello or GitHub posts source's deliveries to.
func (e *env) callback(kind, source string) string {
	return service.CallbackURL(e.public.URL, kind, source)
}

// job is a row of River's table, as a test reads it.
type job struct {
	ID    int64  `db:"id"`
	Kind  string `db:"kind"`
	State string `db:"state"`
	Args  string `db:"args"`
}

// jobs lists River's jobs of kind (every kind when ""), oldest first.
func (e *env) jobs(t *testing.T, kind string) []job {
	t.Helper()
	args := "CAST(args AS TEXT)"
	if e.dialect == store.SQLite {
		args = "json(args)" // River keeps JSONB on SQLite
	}
	var out []job
	q := `SELECT id, kind, CAST(state AS TEXT) AS state, ` + args + ` AS args FROM river_job`
	var qargs []any
	if kind != "" {
		q += ` WHERE kind = ?`
		qargs = append(qargs, kind)
	}
	if err := e.app.Store.Select(context.Background(), &out, q+` ORDER BY id`, qargs...); err != nil {
		t.Fatalf("reading river_job: %v", err)
	}
	return out
}

// containerJobs lists the sync_container jobs as their state and
// arguments.
func (e *env) containerJobs(t *testing.T) []containerJob {
	t.Helper()
	var out []containerJob
	for _, j := range e.jobs(t, service.SyncContainerArgs{}.Kind()) {
		cj := containerJob{State: j.State}
		if err := json.Unmarshal([]byte(j.Args), &cj.Args); err != nil {
			t.Fatalf("job %d: args %s: %v", j.ID, j.Args, err)
		}
		out = append(out, cj)
	}
	return out
}

type containerJob struct {
	State string
	Args  service.SyncContainerArgs
}

// post sends a webhook request to the daemon at public_url and returns
// the status and body.
func (e *env) post(t *testing.T, path string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.public.URL+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// githubSign is X-Hub-Signature-256 as GitHub makes it.
func githubSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// waitDeliveries waits until the fakes have no delivery under way.
func (e *env) waitDeliveries(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.trello.WaitDeliveries(ctx); err != nil {
		t.Fatalf("trello deliveries still under way: %v", err)
	}
	if err := e.github.WaitDeliveries(ctx); err != nil {
		t.Fatalf("github deliveries still under way: %v", err)
	}
}

// delivery is an attempt of a fake to deliver a webhook.
type delivery struct {
	Event, ID, URL string
	Status         int
	Header         http.Header
	Body           []byte
}

// String leaves the body out, to keep failures readable.
func (d delivery) String() string {
	return fmt.Sprintf("%s %s → %d (%s)", d.Event, d.ID, d.Status, d.URL)
}

func (e *env) trelloDeliveries() []delivery {
	var out []delivery
	for _, a := range e.trello.Deliveries() {
		out = append(out, delivery{Event: a.Event, ID: a.ID, URL: a.URL, Status: a.Status, Header: a.Header, Body: a.Body})
	}
	return out
}

func (e *env) githubDeliveries() []delivery {
	var out []delivery
	for _, a := range e.github.Deliveries() {
		out = append(out, delivery{Event: a.Event, ID: a.ID, URL: a.URL, Status: a.Status, Header: a.Header, Body: a.Body})
	}
	return out
}

// resetAPILogs clears the fakes' request logs, so that what follows
// counts only the requests made after.
func (e *env) resetAPILogs() {
	e.trello.ResetStats()
	e.github.ResetStats()
}

// apiCalls lists the requests the fakes' APIs received since the last
// resetAPILogs.
func (e *env) apiCalls() []string {
	var out []string
	for _, r := range e.trello.Requests() {
		out = append(out, "trello "+r.Method+" "+r.Path)
	}
	for _, r := range e.github.Requests() {
		out = append(out, "github "+r.Method+" "+r.Path)
	}
	return out
}

// scrape reads the daemon's /metrics through h and parses it as
// Prometheus does, with the legacy (strictest) name rules.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value is the value of the family's sample whose labels are exactly
// labels (name=value pairs); ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		var got []string
		for _, lp := range m.Label {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		want := slices.Clone(labels)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// testLogger keeps the daemon's log and shows it when the test fails or
// SERVICE_TEST_LOG is set
// (River's goroutines may still log after the test is over, when t.Log
// would panic).
func testLogger(t *testing.T) *slog.Logger {
	lw := &logWriter{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("SERVICE_TEST_LOG") != "" {
			t.Logf("the daemon's log:\n%s", lw.String())
		}
	})
	return slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
