package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/service"
)

// checkNames holds /metrics to Prometheus's naming rules: everything of
// karkas's is karkas_, counters end in _total, durations in _seconds.
func checkNames(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	ours := 0
	for name, f := range fams {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		ours++
		if !strings.HasPrefix(name, "karkas_") {
			t.Errorf("metric %s is not named karkas_*", name)
		}
		if f.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if (strings.Contains(name, "duration") || f.GetType() == dto.MetricType_HISTOGRAM) && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("duration %s does not end in _seconds", name)
		}
		if f.GetHelp() == "" {
			t.Errorf("metric %s has no help", name)
		}
	}
	if ours < 3 {
		t.Errorf("only %d metrics of karkas's", ours)
	}
}

// The daemon's life: /healthz always; /readyz 503 until River runs; Run
// pulls both sources at its start (the board's client question, asked
// ten days ago on the Trello world's clock, is breached at once),
// evaluates, delivers the breach's notification to the file sink,
// schedules the evaluation at the instant the GitHub issue's clock turns
// at risk, works the pull a webhook queued before it started, and
// returns nil on a clean cancel. /metrics follows it, named as
// Prometheus wants, its store gauges the store's own counts.
func TestRunHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		outbox := t.TempDir()
		e := newEnv(t, dialect, envOptions{
			trelloClock: vclock.NewVirtual(time.Now().Add(-10 * 24 * time.Hour)),
			routing: func(*env) string {
				return fmt.Sprintf(`routing:
  sinks:
    files: {kind: file, options: {dir: %q}}
  defaults:
    - {policies: [response], sink: files, to: [pm]}
`, outbox)
			},
			tune: func(o *service.Options) {
				o.PollInterval = 200 * time.Millisecond
				o.ShutdownTimeout = 10 * time.Second
			},
		})
		h := e.svc.Handler(true)
		call := func(path string) (int, map[string]any) {
			t.Helper()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s: %d %s: %v", path, rec.Code, rec.Body, err)
			}
			return rec.Code, v
		}
		if code, v := call("/healthz"); code != http.StatusOK || v["status"] != "ok" {
			t.Errorf("/healthz before Run: %d %v", code, v)
		}
		code, v := call("/readyz")
		checks, _ := v["checks"].(map[string]any)
		if code != http.StatusServiceUnavailable || v["ready"] != false || checks["river"] != "not started" || checks["store"] != "ok" || checks["schema"] != "ok" {
			t.Errorf("/readyz before Run: %d %v", code, v)
		}

		// From the start, before any pull: every source's last success
		// (0, never), and the naming rules.
		fams := scrape(t, h)
		checkNames(t, fams)
		for _, src := range []string{"trello", "github"} {
			if v, ok := value(fams, "karkas_source_last_success_timestamp_seconds", "source="+src, "kind="+src); !ok || v != 0 {
				t.Errorf("karkas_source_last_success_timestamp_seconds{source=%q} before Run: %v (present %v)", src, v, ok)
			}
		}
		if v, ok := value(fams, "karkas_store_scrape_errors"); !ok || v != 0 {
			t.Errorf("karkas_store_scrape_errors: %v (present %v)", v, ok)
		}

		// A webhook before River runs: its job waits in the queue, and
		// the queue's gauge shows it.
		body := e.trelloBody("5f00000000000000000000c1")
		cb := e.callback("trello", "trello")
		if status, resp := e.postTrello(t, "trello", body, trello.SignWebhook([]byte(e.trello.WebhookSecret()), body, cb)); status != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", status, resp)
		}
		fams = scrape(t, h)
		if v, ok := value(fams, "karkas_jobs", "state=available", "kind=sync_container"); !ok || v != 1 {
			t.Errorf("karkas_jobs{state=available,kind=sync_container} = %v (present %v), want 1", v, ok)
		}
		if v, _ := value(fams, "karkas_webhook_events_total", "service=trello", "result=accepted"); v != 1 {
			t.Errorf("karkas_webhook_events_total{trello,accepted} = %v, want 1", v)
		}

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- e.svc.Run(ctx, func(addr string) { ready <- addr }) }()
		var addr string
		select {
		case addr = <-ready:
		case err := <-done:
			t.Fatalf("Run returned before it was ready: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("Run not ready after 30s")
		}
		base := "http://" + addr
		if code, body := get(t, base+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
			t.Errorf("/readyz once running: %d %s", code, body)
		}
		if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz once running: %d", code)
		}

		// Wait for the work: both sources pulled, the webhook's pull
		// done, the breach evaluated and delivered, the next evaluation
		// scheduled.
		deadline := time.Now().Add(60 * time.Second)
		for {
			fams = scrape(t, h)
			trelloOK, _ := value(fams, "karkas_source_last_success_timestamp_seconds", "source=trello", "kind=trello")
			githubOK, _ := value(fams, "karkas_source_last_success_timestamp_seconds", "source=github", "kind=github")
			doneJob, _ := value(fams, "karkas_jobs", "state=completed", "kind=sync_container")
			breached, _ := value(fams, "karkas_sla_clocks", "state=breached", "policy=response")
			sent, _ := value(fams, "karkas_deliveries_total", "outcome=sent")
			scheduled, _ := value(fams, "karkas_jobs", "state=scheduled", "kind=evaluate")
			if trelloOK > 0 && githubOK > 0 && doneJob == 1 && breached >= 1 && sent >= 1 && scheduled >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the daemon's work not seen after 60s: trello last success %v, github %v, webhook jobs completed %v, "+
					"breached clocks %v, deliveries sent %v, evaluations scheduled %v\njobs: %+v",
					trelloOK, githubOK, doneJob, breached, sent, scheduled, e.jobs(t, ""))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if files, err := os.ReadDir(outbox); err != nil || len(files) == 0 {
			t.Errorf("the file sink's folder holds %d files (%v)", len(files), err)
		}
		// The scheduled evaluation is at the next instant a clock turns
		// (the GitHub issue's, at risk), a second late.
		next, ok, err := e.app.Store.NextClockTurn(context.Background(), time.Now())
		if err != nil || !ok {
			t.Fatalf("no clock turns next: %v", err)
		}
		var dues []string
		for _, j := range e.jobs(t, service.EvaluateArgs{}.Kind()) {
			var a service.EvaluateArgs
			if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
				t.Fatal(err)
			}
			if j.State == "scheduled" {
				dues = append(dues, a.Due)
			}
		}
		if want := next.Add(time.Second).UTC().Format(time.RFC3339); len(dues) != 1 || dues[0] != want {
			t.Errorf("evaluations scheduled at %v, want one at %s", dues, want)
		}
		for _, src := range []string{"trello", "github"} {
			v, _ := value(fams, "karkas_source_last_success_timestamp_seconds", "source="+src, "kind="+src)
			if at := time.Unix(int64(v), 0); time.Since(at) > time.Minute || time.Until(at) > time.Second {
				t.Errorf("source %s last succeeded at %s, not just now", src, at)
			}
			if n, ok := value(fams, "karkas_sync_duration_seconds", "source="+src, "kind="+src); !ok || n < 1 {
				t.Errorf("karkas_sync_duration_seconds{source=%q} counts %v pulls", src, n)
			}
		}
		checkNames(t, scrape(t, h))
		// Scraped through the listener as Prometheus does, too.
		if code, body := get(t, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "karkas_sla_clocks{") {
			t.Errorf("GET /metrics on the listener: %d", code)
		}

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after a clean cancel: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run still running 30s after its context ended")
		}
		if code, _ := call("/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("/readyz after Run returned: %d, want 503", code)
		}

		// Stopped, the store holds still: the gauges are its counts.
		ctx = context.Background()
		fams = scrape(t, h)
		clocks, err := e.app.Store.ClockCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantClocks := map[[2]string]int{}
		for _, c := range clocks {
			wantClocks[[2]string{c.State, c.Policy}] += c.Clocks
		}
		checkGauge(t, fams, "karkas_sla_clocks", "state", "policy", wantClocks)
		rows, err := e.app.Store.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantOutbox := map[[2]string]int{}
		for _, r := range rows {
			wantOutbox[[2]string{r.Status, r.Sink}] += r.Rows
		}
		if wantOutbox[[2]string{store.OutboxDelivered, "files"}] < 1 {
			t.Errorf("no delivery through the file sink: %v", wantOutbox)
		}
		checkGauge(t, fams, "karkas_outbox_deliveries", "state", "sink", wantOutbox)
		jobs, err := e.app.Store.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantJobs := map[[2]string]int{}
		for _, j := range jobs {
			wantJobs[[2]string{j.State, j.Kind}] += j.Rows
		}
		checkGauge(t, fams, "karkas_jobs", "state", "kind", wantJobs)
	})
}

// checkGauge compares a gauge family with two labels to want, by label
// values.
func checkGauge(t *testing.T, fams map[string]*dto.MetricFamily, name, l1, l2 string, want map[[2]string]int) {
	t.Helper()
	got := map[[2]string]int{}
	for _, m := range fams[name].GetMetric() {
		var k [2]string
		for _, lp := range m.Label {
			switch lp.GetName() {
			case l1:
				k[0] = lp.GetValue()
			case l2:
				k[1] = lp.GetValue()
			}
		}
		got[k] += int(m.GetGauge().GetValue())
	}
	if len(want) == 0 {
		t.Errorf("%s: the store holds nothing to compare with", name)
	}
	if len(got) != len(want) {
		t.Errorf("%s = %v, the store counts %v", name, got, want)
		return
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s = %v, the store counts %v", name, got, want)
			return
		}
	}
}

// A pull still running when the shutdown timeout ends is cancelled: Run
// returns nil soon after, and River does not leave the job running (it
// is retried at the next start, from the pull's last commit).
func TestRunShutdownCancelsHungPull(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{tune: func(o *service.Options) {
			o.PollInterval = 200 * time.Millisecond
			o.ShutdownTimeout = 500 * time.Millisecond
		}})
		// Trello answers nothing: the pull waits on it.
		e.trello.Arm(trellofake.Fault{Kind: trellofake.FaultHang, Times: -1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- e.svc.Run(ctx, nil) }()
		hung := func() []job {
			var out []job
			for _, j := range e.jobs(t, service.SyncSourceArgs{}.Kind()) {
				if j.State == "running" && strings.Contains(j.Args, `"trello"`) {
					out = append(out, j)
				}
			}
			return out
		}
		deadline := time.Now().Add(60 * time.Second)
		for len(hung()) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no trello pull running after 60s: %+v", e.jobs(t, ""))
			}
			time.Sleep(100 * time.Millisecond)
		}
		waiting := hung()[0]
		cancel()
		start := time.Now()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after cancelling a hung pull: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run still running 30s after its context ended, with a pull hung")
		}
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("Run took %s to stop with a shutdown timeout of 500ms", took)
		}
		for _, j := range e.jobs(t, "") {
			if j.ID == waiting.ID && j.State == "running" {
				t.Errorf("the cancelled pull's job is left %s", j.State)
			}
		}
	})
}
