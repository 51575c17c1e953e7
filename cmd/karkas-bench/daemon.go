package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
	"github.com/karkas/karkas/sync/service"
)

// The daemon run: the real service (service.New and Run, River's default
// 1 s poll) in this process against the fake Trello and the fake GitHub on
// the real clock, as `karkas serve` runs. An agency with one client, three
// boards and three repositories; the client's comments reach karkas by
// webhook; the policy's target is one minute of a calendar open all week,
// and the breach goes to the card as a comment (a trello sink).

const (
	daemonTrelloSecret = "karkas-bench-trello-app-secret-0001"
	daemonGitHubSecret = "karkas-bench-github-hook-secret-0001"
	daemonGitHubToken  = "ghp_karkasbench000000000000000000000000"
)

// daemonConfig is the agency's config; %[1]s are the board ids, %[2]s the
// repositories, %[3]s the sources' schedule.
const daemonConfig = `agency: {name: Northwind Digital, domains: [northwind.agency], calendar: always}
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
  - {id: acme, name: Acme Foods, pm: anna, contacts: [john], policy_set: fast, boards: [%[1]s], repos: [%[2]s]}
statuses:
  - {match: [Doing], status: in_progress}
sources:
  - id: board
    kind: trello
    schedule: %[3]s
    options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}", webhook_secret: "${TRELLO_WEBHOOK_SECRET}", boards: [%[1]s]}
  - id: code
    kind: github
    schedule: %[3]s
    options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repos: [%[2]s], webhook_secret: "${GITHUB_WEBHOOK_SECRET}"}
routing:
  sinks:
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
  defaults:
    - {policies: [response], states: [breached], sink: cards, to: [pm]}
`

// daemonSchedule is the sources' schedule in the daemon run: webhooks
// bring the changes, a pull an hour is the safety net.
const daemonSchedule = time.Hour

type daemonWorld struct {
	trello *trellofake.Server
	github *githubfake.Server
	boards []trellofake.Board
	cards  []trellofake.Card // on the first board, one per clock
	client trellofake.Member
	app    *pipeline.App
}

// daemonFigures are what one daemon run measured on a store.
type daemonFigures struct {
	store string
	// lags are due instant → breach comment on the card, one per clock;
	// missing counts clocks whose breach was not posted in time.
	lags    []time.Duration
	missing int
	// Each lag's parts, from the evaluate job River ran for the due
	// instant: due → the job's scheduled_at (scheduleNext's second),
	// scheduled_at → attempted_at (River's scheduler makes the job
	// available up to 5 s ahead; a worker's next fetch takes it),
	// attempted_at → the comment (the evaluation, the delivery, the
	// requests to Trello). Only breaches their own job found have them.
	toScheduled, toAttempted, toPosted []time.Duration
	// run is the daemon run's wall time.
	run time.Duration
	// Requests of one no-change pull of each source, opened as the
	// daemon opens it for each pull; and of the periodic jobs' work.
	boards, repos                 int
	trelloPull, githubPull        int
	github304, githubSpent        int
	evaluateReqs, deliverReqs     int
	evaluateClocks, evaluateDelta int
}

func newDaemonWorld(ctx context.Context, dir, storeURL string, clocks int, log *slog.Logger) (*daemonWorld, error) {
	w := &daemonWorld{}
	w.trello = trellofake.NewServer(trellofake.Options{Limits: trellofake.Limits{Off: true}, WebhookSecret: daemonTrelloSecret})
	tw := w.trello.World()
	var boardIDs []string
	for i, name := range []string{"Acme Foods — Website", "Acme Foods — App", "Acme Foods — Campaigns"} {
		b := tw.AddBoard(name)
		w.boards = append(w.boards, b)
		boardIDs = append(boardIDs, b.ID)
		list := tw.AddList(b.ID, "Doing")
		w.client = tw.AddMember(b.ID, "johncarter", "John Carter")
		agent := tw.AddMember(b.ID, "annapetrova", "Anna Petrova")
		n := 3
		if i == 0 {
			n = max(n, clocks)
		}
		for j := range n {
			c := tw.CreateCard(agent.ID, list.ID, fmt.Sprintf("Section %d", j+1))
			if i == 0 && j < clocks {
				w.cards = append(w.cards, c)
			}
		}
	}
	gw := githubfake.NewWorld(nil)
	gw.AddUser("northwind-karkas", "")
	gw.AddUser("anna-nw", "Anna Petrova")
	gw.AddUser("john-acme", "John Carter")
	gw.AddToken(daemonGitHubToken, "northwind-karkas")
	var repos []string
	for _, name := range []string{"website", "app", "api"} {
		r := gw.AddRepo("acme", name, false)
		gw.AddAdmin(r.ID, "northwind-karkas")
		gw.OpenIssue(r.ID, "anna-nw", "Launch checklist", "What is left before launch.")
		repos = append(repos, r.FullName())
	}
	w.github = githubfake.NewServer(githubfake.Options{World: gw})

	config := filepath.Join(dir, "karkas.yaml")
	text := fmt.Sprintf(daemonConfig, strings.Join(boardIDs, ", "), strings.Join(repos, ", "), daemonSchedule)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		return nil, err
	}
	env := map[string]string{"KARKAS_STORE": storeURL,
		"TRELLO_KEY": w.trello.Key(), "TRELLO_TOKEN": w.trello.Token(), "TRELLO_URL": w.trello.BaseURL(),
		"TRELLO_WEBHOOK_SECRET": daemonTrelloSecret,
		"GITHUB_TOKEN":          daemonGitHubToken, "GITHUB_URL": w.github.URL(), "GITHUB_WEBHOOK_SECRET": daemonGitHubSecret}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	secrets := secret.NewSet()
	l, err := pipeline.Load(config, lookup, secrets)
	if err != nil {
		w.close()
		return nil, fmt.Errorf("the daemon's config: %w", err)
	}
	st, _, err := pipeline.OpenStore(ctx, l.Config, secrets)
	if err != nil {
		w.close()
		return nil, err
	}
	w.app = &pipeline.App{Loaded: l, Store: st, Logger: log, Secrets: secrets, LookupEnv: lookup}
	return w, nil
}

func (w *daemonWorld) close() {
	if w.app != nil {
		w.app.Store.Close()
	}
	w.trello.Close()
	w.github.Close()
}

// freePort is a loopback address free a moment ago: the webhooks'
// callback URL must be known before the service listens on it.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// daemonRun runs the service on storeURL with clocks clocks due spacing
// apart, then counts what an idle hour costs.
func daemonRun(ctx context.Context, dir, storeURL string, clocks int, spacing time.Duration, log *slog.Logger) (daemonFigures, error) {
	w, err := newDaemonWorld(ctx, dir, storeURL, clocks, log)
	if err != nil {
		return daemonFigures{}, err
	}
	defer w.close()
	f := daemonFigures{store: w.app.Store.Dialect, boards: len(w.boards), repos: 3}
	start := time.Now()
	if err := w.breaches(ctx, &f, spacing); err != nil {
		return f, err
	}
	f.run = time.Since(start)
	return f, w.idle(ctx, &f)
}

// breaches runs the service while the client comments on each card,
// spacing apart, and measures each breach's lag: from the clock's due_at
// in the store to the date the fake Trello gives karkas's comment.
func (w *daemonWorld) breaches(ctx context.Context, f *daemonFigures, spacing time.Duration) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	public := "http://" + addr
	svc, err := service.New(w.app, service.Options{Listen: addr, PublicURL: public, ID: "karkas-bench-" + f.store,
		ShutdownTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx, func(string) { close(ready) }) }()
	defer func() {
		stop()
		<-done
	}()
	select {
	case <-ready:
	case err := <-done:
		return fmt.Errorf("the service stopped at start: %w", err)
	case <-time.After(30 * time.Second):
		return errors.New("the service did not start in 30 s")
	}
	hooks, err := service.Hooks(w.app, nil)
	if err != nil {
		return err
	}
	if _, err := service.Register(ctx, hooks, public); err != nil {
		return fmt.Errorf("registering webhooks: %w", err)
	}
	st := w.app.Store
	// The pulls River runs at start: the comments must come after them,
	// by webhook, as in a daemon that has been up a while.
	if err := waitUntil(ctx, 60*time.Second, func() (bool, error) {
		var n int
		err := st.Get(ctx, &n, `SELECT COUNT(DISTINCT source_id) FROM sync_runs WHERE status = 'ok'`)
		return n == 2, err
	}); err != nil {
		return fmt.Errorf("the first pulls: %w", err)
	}
	tw := w.trello.World()
	for i, c := range w.cards {
		if i > 0 {
			time.Sleep(spacing)
		}
		tw.CommentCard(w.client.ID, c.ID, fmt.Sprintf("Any news on %s?", c.Name))
	}
	dues := make([]time.Time, len(w.cards))
	clockIDs := map[string]int{} // clock id -> card
	if err := waitUntil(ctx, 30*time.Second, func() (bool, error) {
		for i, c := range w.cards {
			var cl []struct {
				ID  string    `db:"id"`
				Due time.Time `db:"due_at"`
			}
			if err := st.Select(ctx, &cl, st.Rebind(`SELECT id, due_at FROM sla_clocks WHERE policy = 'response'
				AND subject_external_id = ? AND due_at IS NOT NULL`), c.ID); err != nil || len(cl) == 0 {
				return false, err
			}
			dues[i] = cl[0].Due.UTC()
			clockIDs[cl[0].ID] = i
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("the comments' clocks: %w", err)
	}
	last := slices.MaxFunc(dues, time.Time.Compare)
	// The breaches as the store records their delivery (the comment's id
	// in external_ref), dated by the fake: reading the fake's world makes
	// no request, which would spend the token's budget the daemon's
	// client shares in this process.
	posted := make([]time.Time, len(w.cards))
	waitUntil(ctx, time.Until(last)+30*time.Second, func() (bool, error) {
		var rows []struct {
			Clock string `db:"clock_id"`
			Ref   string `db:"external_ref"`
		}
		if err := st.Select(ctx, &rows, `SELECT clock_id, external_ref FROM outbox WHERE sink = 'cards' AND status = 'delivered'`); err != nil {
			return false, err
		}
		dates := map[string]time.Time{}
		for _, a := range tw.Actions(w.boards[0].ID) {
			if a.Type == "commentCard" {
				dates[a.ID] = a.Date
			}
		}
		n := 0
		for _, r := range rows {
			i, ok := clockIDs[r.Clock]
			id, comment := strings.CutPrefix(r.Ref, "comment ")
			if at, dated := dates[id]; ok && comment && dated {
				posted[i] = at.UTC()
				n++
			}
		}
		return n == len(w.cards), nil
	})
	jobs, err := riverEvaluations(ctx, st)
	if err != nil {
		return err
	}
	for i := range w.cards {
		if posted[i].IsZero() {
			f.missing++
			continue
		}
		f.lags = append(f.lags, posted[i].Sub(dues[i]))
		j, ok := jobs[dues[i].Add(time.Second).UTC().Format(time.RFC3339)]
		if !ok || posted[i].Before(j.Attempted) {
			// Another evaluation found it first: one after a pull (the
			// webhook of karkas's own comment on an earlier breach).
			continue
		}
		f.toScheduled = append(f.toScheduled, j.Scheduled.Sub(dues[i]))
		f.toAttempted = append(f.toAttempted, j.Attempted.Sub(j.Scheduled))
		f.toPosted = append(f.toPosted, posted[i].Sub(j.Attempted))
	}
	return nil
}

type riverEvaluation struct {
	Args      string    `db:"args"`
	Scheduled time.Time `db:"scheduled_at"`
	Attempted time.Time `db:"attempted_at"`
}

// riverEvaluations are the evaluate jobs River ran for a due instant, by it.
func riverEvaluations(ctx context.Context, st *store.Store) (map[string]riverEvaluation, error) {
	args := "CAST(args AS TEXT)"
	if st.Dialect == store.SQLite {
		args = "json(args)" // River keeps SQLite's as JSONB
	}
	var rows []riverEvaluation
	if err := st.Select(ctx, &rows, `SELECT `+args+` AS args, scheduled_at, attempted_at FROM river_job
		WHERE kind = 'evaluate' AND attempted_at IS NOT NULL`); err != nil {
		return nil, fmt.Errorf("reading River's evaluate jobs: %w", err)
	}
	out := map[string]riverEvaluation{}
	for _, r := range rows {
		var a service.EvaluateArgs
		if err := json.Unmarshal([]byte(r.Args), &a); err == nil && a.Due != "" {
			out[a.Due] = r
		}
	}
	return out, nil
}

// idle counts the requests of one no-change pull of each source, opened
// as the daemon opens it for each of its pulls (a new client each time:
// what a pull remembers between pulls is in the store), and of the
// periodic evaluate and deliver jobs' work with nothing due.
func (w *daemonWorld) idle(ctx context.Context, f *daemonFigures) error {
	holder := store.Holder(time.Now()) + " karkas-bench"
	for _, src := range w.app.Loaded.Sources {
		// The first takes in what the daemon run left (karkas's own
		// comments); the second has nothing new.
		for pass := range 2 {
			w.trello.ResetStats()
			w.github.ResetStats()
			res, err := w.app.Pull(ctx, pipeline.Pull{Sources: []mapping.Source{src}, Holder: holder, Wait: 5 * time.Second})
			if err != nil {
				return err
			}
			if res[0].Err != nil {
				return fmt.Errorf("pulling %s: %w", src.ID, res[0].Err)
			}
			if pass == 0 {
				continue
			}
			if n := res[0].Written.Total() + res[0].Deleted.Total(); n > 0 {
				return fmt.Errorf("the no-change pull of %s wrote %d rows", src.ID, n)
			}
			switch src.Kind {
			case trello.KindName:
				f.trelloPull = w.trello.Total()
			default:
				f.githubPull, f.github304, f.githubSpent = w.github.Total(), w.github.NotModified(), w.github.Spent()
			}
		}
	}
	// The evaluate job's work, twice: the first judges what the pulls
	// above took in; the second has nothing new.
	var ev *pipeline.Evaluation
	for range 2 {
		w.trello.ResetStats()
		w.github.ResetStats()
		unlock, err := w.app.LockEvaluation(ctx, 5*time.Second, holder)
		if err != nil {
			return err
		}
		ev, err = w.app.Evaluate(ctx, w.app.Store)
		if err == nil {
			_, err = w.app.Deliver(ctx, true)
		}
		if err == nil {
			_, _, err = w.app.Store.NextClockTurn(ctx, ev.At)
		}
		unlock()
		if err != nil {
			return err
		}
	}
	f.evaluateClocks, f.evaluateDelta = len(ev.Clocks), ev.Changes.New+ev.Changes.Updated+ev.Changes.Outbox
	f.evaluateReqs = w.trello.Total() + w.github.Total()
	w.trello.ResetStats()
	w.github.ResetStats()
	unlock, err := w.app.Store.Lock(ctx, "evaluate", 5*time.Second, holder)
	if err != nil {
		return err
	}
	_, err = w.app.Deliver(ctx, true)
	unlock()
	f.deliverReqs = w.trello.Total() + w.github.Total()
	return err
}

// waitUntil polls cond every 200 ms until it holds, fails, or limit passes.
func waitUntil(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit.Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
