package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// The daemon end to end: real `karkas serve` processes (the built binary)
// against the fake Trello and the fake GitHub over HTTP, on each store. A
// client's comment arrives by webhook, nothing else pulls (the sources'
// schedules are an hour); its response clock's due instant passes with no
// reply, and the breach comment appears on the card within 60 s of the
// due instant, once; the agency replies and the clock stops. Time is the
// real clock: the policy's target is one minute of a calendar that is
// open all week, so each scenario waits about a minute and a half. The
// lag is measured from the clock's due_at, as the store holds it, to the
// date Trello (the fake, on the real clock) gives the breach comment.

// serveWorld is the agency the daemon watches: one client, a board with
// cards, a repository.
type serveWorld struct {
	trello  *trellofake.Server
	github  *githubfake.Server
	board   trellofake.Board
	cards   []trellofake.Card
	client  trellofake.Member // the client's contact on the board
	agent   trellofake.Member // the agency's PM
	repo    githubfake.Repo
	issue   int
	config  string
	env     []string
	public  string // where the services reach karkas (the balancer)
	balance *balancer
}

const (
	serveTrelloSecret = "the-trello-apps-oauth-secret-0001"
	serveGitHubSecret = "karkas-github-hook-secret-0001"
	serveGitHubToken  = "ghp_serve00000000000000000000000000000"
)

func newServeWorld(t *testing.T, storeURL string, cards int) *serveWorld {
	t.Helper()
	w := &serveWorld{balance: &balancer{}}
	front := newBalancerServer(t, w.balance)
	w.public = front
	w.trello = trellofake.New(t, trellofake.Options{Limits: trellofake.Limits{Off: true}, WebhookSecret: serveTrelloSecret})
	tw := w.trello.World()
	w.board = tw.AddBoard("Acme Foods — Website")
	list := tw.AddList(w.board.ID, "Doing")
	w.client = tw.AddMember(w.board.ID, "johncarter", "John Carter")
	w.agent = tw.AddMember(w.board.ID, "annapetrova", "Anna Petrova")
	for i := range cards {
		w.cards = append(w.cards, tw.CreateCard(w.agent.ID, list.ID, fmt.Sprintf("Homepage section %d", i+1)))
	}

	gw := githubfake.NewWorld(nil)
	gw.AddUser("northwind-karkas", "")
	gw.AddUser("anna-nw", "Anna Petrova")
	gw.AddUser("john-acme", "John Carter")
	w.repo = gw.AddRepo("acme", "website", false)
	gw.AddToken(serveGitHubToken, "northwind-karkas")
	gw.AddAdmin(w.repo.ID, "northwind-karkas")
	w.issue = gw.OpenIssue(w.repo.ID, "anna-nw", "Launch checklist", "What is left before launch.").Number
	w.github = githubfake.New(t, githubfake.Options{World: gw})

	dir := t.TempDir()
	w.config = filepath.Join(dir, "karkas.yaml")
	cfg := fmt.Sprintf(`agency: {name: Northwind Digital, domains: [northwind.agency], calendar: always}
store: {url: "${KARKAS_STORE}"}
calendars:
  always: {time_zone: UTC, hours: {mon-sun: ["00:00-24:00"]}}
policy_sets:
  fast:
    response: {target: 1m}
people:
  - {id: anna, name: Anna Petrova, side: agency, role: pm, trello: [annapetrova], github: [anna-nw]}
  - {id: john, name: John Carter, side: client, role: contact, client: acme, trello: [johncarter], github: [john-acme]}
clients:
  - {id: acme, name: Acme Foods, pm: anna, contacts: [john], policy_set: fast, boards: [%s], repos: [acme/website]}
statuses:
  - {match: [Doing], status: in_progress}
sources:
  - id: board
    kind: trello
    schedule: 1h
    options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}", webhook_secret: "${TRELLO_WEBHOOK_SECRET}", boards: [%s], request_timeout: 4s}
  - id: code
    kind: github
    schedule: 1h
    options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repos: [acme/website], webhook_secret: "${GITHUB_WEBHOOK_SECRET}"}
routing:
  sinks:
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
  defaults:
    - {policies: [response], states: [breached], sink: cards, to: [pm]}
serve:
  public_url: %s
  job_timeout: 15s
`, w.board.ID, w.board.ID, front)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env = append(os.Environ(), "KARKAS_STORE="+storeURL,
		"TRELLO_KEY="+w.trello.Key(), "TRELLO_TOKEN="+w.trello.Token(), "TRELLO_URL="+w.trello.BaseURL(),
		"TRELLO_WEBHOOK_SECRET="+serveTrelloSecret,
		"GITHUB_TOKEN="+serveGitHubToken, "GITHUB_URL="+w.github.URL(), "GITHUB_WEBHOOK_SECRET="+serveGitHubSecret)
	return w
}

// balancer is the load balancer in front of the replicas: each request
// goes to the next replica alive, as a real one with health checks does.
type balancer struct {
	mu       sync.Mutex
	backends []string
	dead     map[string]bool
	next     int
}

func (b *balancer) add(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, addr)
}

func (b *balancer) kill(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dead == nil {
		b.dead = map[string]bool{}
	}
	b.dead[addr] = true
}

func (b *balancer) pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range b.backends {
		addr := b.backends[b.next%len(b.backends)]
		b.next++
		if !b.dead[addr] {
			return addr
		}
	}
	return ""
}

func newBalancerServer(t *testing.T, b *balancer) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: "http", Host: b.pick()})
		r.Out.Host = r.In.Host
	}}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// daemon is one running `karkas serve`.
type daemon struct {
	id   string
	addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon starts `karkas serve` on a free port and waits until it
// says it listens and /readyz is 200.
func startDaemon(t *testing.T, bin string, w *serveWorld, id string, extraEnv ...string) *daemon {
	t.Helper()
	d := startServe(t, bin, w.config, append(append([]string{}, w.env...), extraEnv...), id)
	w.balance.add(d.addr)
	return d
}

// startServe starts `karkas serve` of a config on a free port and waits
// until it says it listens and /readyz is 200.
func startServe(t *testing.T, bin, config string, env []string, id string) *daemon {
	t.Helper()
	d := &daemon{id: id, out: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, "--config", config, "--log-level", "debug", "serve", "--listen", "127.0.0.1:0", "--id", id)
	d.cmd.Env = env
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			d.out.Write([]byte(line + "\n"))
			if a, ok := strings.CutPrefix(line, "karkas serve: listening on "); ok {
				addr <- a
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("karkas serve %s:\n%s", id, d.out)
		}
	})
	select {
	case d.addr = <-addr:
	case err := <-d.done:
		t.Fatalf("karkas serve %s exited at start: %v\n%s", id, err, d.out)
	case <-time.After(60 * time.Second):
		t.Fatalf("karkas serve %s did not listen in 60 s:\n%s", id, d.out)
	}
	waitFor(t, 30*time.Second, "readyz of "+id, func() (bool, string) {
		resp, err := http.Get("http://" + d.addr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, string(body)
	})
	return d
}

// stop sends SIGTERM and wants a clean exit 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("karkas serve %s after SIGTERM: %v (want exit 0)\n%s", d.id, err, d.out)
		}
	case <-time.After(45 * time.Second):
		t.Errorf("karkas serve %s still running 45 s after SIGTERM", d.id)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, limit, last)
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// clockOf is the response clock of a card's conversation.
type clockRow struct {
	ID    string     `db:"id"`
	State string     `db:"state"`
	DueAt *time.Time `db:"due_at"`
}

func responseClock(t *testing.T, st *store.Store, card string) (clockRow, bool) {
	var rows []clockRow
	if err := st.Select(context.Background(), &rows, `SELECT id, state, due_at FROM sla_clocks
		WHERE policy = 'response' AND subject_external_id = ? ORDER BY started_at DESC`, card); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return clockRow{}, false
	}
	return rows[0], true
}

// karkasComments are the comments karkas's member made on a card.
func karkasComments(t *testing.T, w *serveWorld, card string) []trello.Action {
	tc, err := trello.NewClient(trello.ClientOptions{BaseURL: w.trello.BaseURL(), Key: w.trello.Key(), Token: w.trello.Token()})
	if err != nil {
		t.Fatal(err)
	}
	acts, err := tc.CardActions(context.Background(), card, "commentCard")
	if err != nil {
		t.Fatal(err)
	}
	var out []trello.Action
	for _, a := range acts {
		if a.IDMemberCreator == w.trello.World().Me().ID {
			out = append(out, a)
		}
	}
	return out
}

func serveCLI(t *testing.T, bin string, w *serveWorld, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--config", w.config, "--log-level", "error"}, args...)...)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("karkas %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs karkas serve for a minute and a half")
	}
	t.Parallel()
	bin := buildBinary(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := testdb.URL(t, dialect)
			w := newServeWorld(t, url, 1)
			if out := serveCLI(t, bin, w, "validate"); !strings.Contains(out, ": ok (") {
				t.Fatalf("validate:\n%s", out)
			}
			d := startDaemon(t, bin, w, "solo-"+dialect)
			st := openStore(t, url)

			// Webhooks registered through the services' APIs, once.
			out := serveCLI(t, bin, w, "webhooks", "register")
			if n := strings.Count(out, "created"); n != 2 {
				t.Fatalf("webhooks register created %d, want 2 (a board, a repository):\n%s", n, out)
			}
			if out := serveCLI(t, bin, w, "webhooks", "register"); strings.Contains(out, "created") {
				t.Fatalf("a second webhooks register created some:\n%s", out)
			}

			// A client's comment on the card, heard by webhook.
			card := w.cards[0]
			asked := w.trello.World().CommentCard(w.client.ID, card.ID, "Can we move the hero banner up?")
			var clock clockRow
			waitFor(t, 20*time.Second, "the comment's clock, by webhook", func() (bool, string) {
				c, ok := responseClock(t, st, card.ID)
				clock = c
				return ok && c.DueAt != nil, fmt.Sprint(c)
			})
			// And a client's comment on the issue, by GitHub's webhook.
			w.github.World().Comment(w.repo.ID, w.issue, "john-acme", "Is the checklist final?")
			waitFor(t, 20*time.Second, "the issue comment, by webhook", func() (bool, string) {
				var n int
				st.Get(context.Background(), &n, `SELECT COUNT(*) FROM messages WHERE source_id = 'code' AND body LIKE '%checklist final%'`)
				return n == 1, fmt.Sprint(n, " messages")
			})

			// The breach: on the card within 60 s of the due instant.
			due := *clock.DueAt
			waitFor(t, time.Until(due)+90*time.Second, "the breach comment", func() (bool, string) {
				cs := karkasComments(t, w, card.ID)
				return len(cs) > 0, fmt.Sprint(len(cs), " comments")
			})
			posted, err := time.Parse(time.RFC3339Nano, karkasComments(t, w, card.ID)[0].Date)
			if err != nil {
				t.Fatal(err)
			}
			lag := posted.Sub(due)
			t.Logf("%s: client comment %s, due %s, breach posted %s: %s after the due instant",
				dialect, asked.Date.Format(time.TimeOnly), due.Format(time.TimeOnly), posted.Format(time.TimeOnly), lag.Round(time.Millisecond))
			if lag < 0 || lag > 60*time.Second {
				t.Errorf("breach comment %s after the due instant, want within 60 s", lag)
			}
			// Exactly once, however many evaluations follow.
			time.Sleep(5 * time.Second)
			if cs := karkasComments(t, w, card.ID); len(cs) != 1 {
				t.Errorf("%d breach comments on the card, want 1", len(cs))
			}

			// The agency replies: the clock stops.
			w.trello.World().CommentCard(w.agent.ID, card.ID, "Done, it is up now.")
			waitFor(t, 20*time.Second, "the clock stopped by the reply", func() (bool, string) {
				c, _ := responseClock(t, st, card.ID)
				return c.State == "resolved", c.State
			})
			d.stop(t)
		})
	}
}

// TestServeReplicas runs three daemons on one PostgreSQL behind a
// balancer. Each of five cards gets a client's comment; while a replica
// holds a pull of the board, it is SIGKILLed. River gives its job to
// another after the rescue bound (job_timeout 15 s: rescue after 22.5 s,
// at River's next rescue pass); every breach is posted exactly once and
// every source is synced after the kill.
func TestServeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three karkas serve for two minutes")
	}
	t.Parallel()
	bin := buildBinary(t)
	url := testdb.URL(t, store.Postgres)
	const cards = 5
	w := newServeWorld(t, url, cards)
	var ds []*daemon
	for i := range 3 {
		ds = append(ds, startDaemon(t, bin, w, fmt.Sprintf("replica-%d", i+1)))
	}
	st := openStore(t, url)
	serveCLI(t, bin, w, "webhooks", "register")

	// The board's next pull hangs on a request (until the source's
	// request_timeout, 4 s, and a second try), so that it is caught
	// running.
	w.trello.Arm(trellofake.Fault{Kind: trellofake.FaultHang, Method: http.MethodGet, Path: "/1/batch", Times: 1})
	for _, c := range w.cards {
		w.trello.World().CommentCard(w.client.ID, c.ID, "Any news on "+c.Name+"?")
	}
	var victim *daemon
	var victimJob int64
	waitFor(t, 30*time.Second, "a replica running a pull", func() (bool, string) {
		var holders []struct {
			ID int64  `db:"id"`
			By string `db:"by"`
		}
		if err := st.Select(context.Background(), &holders, `SELECT id, CAST(attempted_by AS TEXT) AS by FROM river_job
			WHERE state = 'running' AND kind IN ('sync_container', 'sync_source')`); err != nil {
			return false, err.Error()
		}
		for _, h := range holders {
			for _, d := range ds {
				// {replica-1}: the ids are no substrings of each other.
				if strings.HasSuffix(h.By, d.id+"}") {
					victim, victimJob = d, h.ID
				}
			}
		}
		return victim != nil, fmt.Sprint(holders)
	})
	killedAt := time.Now()
	w.balance.kill(victim.addr)
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	t.Logf("SIGKILLed %s while it held a pull", victim.id)
	// The repository changes after the kill: its pull must happen too.
	w.github.World().Comment(w.repo.ID, w.issue, "john-acme", "Is the checklist final?")

	// The killed replica's job is rescued and completed by another: after
	// rescue_after (1.5 × job_timeout: 22.5 s), at River's next rescue
	// pass (every 30 s), plus its retry's backoff.
	waitFor(t, 75*time.Second, "the killed replica's job completed by another", func() (bool, string) {
		var job struct {
			State string `db:"state"`
			By    string `db:"by"`
		}
		if err := st.Get(context.Background(), &job, `SELECT CAST(state AS TEXT) AS state, CAST(attempted_by AS TEXT) AS by FROM river_job WHERE id = ?`, victimJob); err != nil {
			return false, err.Error()
		}
		return job.State == "completed" && !strings.HasSuffix(job.By, victim.id+"}"), fmt.Sprint(job)
	})
	t.Logf("job %d of %s rescued and completed %s after the kill", victimJob, victim.id, time.Since(killedAt).Round(time.Second))

	// Every card's clock, then every breach, once.
	deadline := time.Now().Add(3 * time.Minute)
	for _, c := range w.cards {
		waitFor(t, time.Until(deadline), "clock of "+c.Name, func() (bool, string) {
			cl, ok := responseClock(t, st, c.ID)
			return ok && cl.DueAt != nil, fmt.Sprint(cl)
		})
	}
	for _, c := range w.cards {
		waitFor(t, time.Until(deadline), "breach comment on "+c.Name, func() (bool, string) {
			n := len(karkasComments(t, w, c.ID))
			return n > 0, fmt.Sprint(n)
		})
	}
	time.Sleep(5 * time.Second)
	total := 0
	for _, c := range w.cards {
		n := len(karkasComments(t, w, c.ID))
		total += n
		if n != 1 {
			t.Errorf("%s: %d breach comments, want 1", c.Name, n)
		}
	}
	var delivered, notDone int
	st.Get(context.Background(), &delivered, `SELECT COUNT(*) FROM outbox WHERE sink = 'cards' AND status = 'delivered'`)
	st.Get(context.Background(), &notDone, `SELECT COUNT(*) FROM outbox WHERE sink = 'cards' AND status NOT IN ('delivered', 'folded')`)
	if total != cards || delivered != cards || notDone != 0 {
		t.Errorf("comments %d, deliveries delivered %d, others %d; want %d, %d, 0", total, delivered, notDone, cards, cards)
	}
	// Every source synced after the kill.
	for _, src := range []string{"board", "code"} {
		var n int
		st.Get(context.Background(), &n, `SELECT COUNT(*) FROM sync_runs WHERE source_id = ? AND status = 'ok' AND finished_at > ?`, src, killedAt.UTC())
		if n == 0 {
			t.Errorf("source %s: no successful pull after the kill", src)
		}
	}
	for _, d := range ds {
		if d != victim {
			d.stop(t)
		}
	}
}
