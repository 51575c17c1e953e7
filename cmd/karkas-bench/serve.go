package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/service"
)

// serveOptions are the daemon benchmark's (-serve).
type serveOptions struct {
	bin, config, work string
	// events is how many one-card events to measure per store, at most;
	// budget bounds the time they take (at least minEvents are run).
	events int
	budget time.Duration
	// clocks breach spacing apart in the daemon run.
	clocks  int
	spacing time.Duration
	// storeURL, when set, is a store the 100x dataset was synced into:
	// the one-event measure runs on it alone, without an ingest, and the
	// daemon run is skipped (for quick reruns).
	storeURL string
	// webOnly, with storeURL, measures the web pages alone; pageRuns is
	// how many requests of each page are measured.
	webOnly  bool
	pageRuns int
}

// gap is the time between the daemon run's client comments.
func (o serveOptions) gap() time.Duration {
	return o.spacing + time.Second/time.Duration(max(o.clocks, 1))
}

// minEvents is the fewest events measured whatever the budget.
const minEvents = 5

// serveBench measures what `karkas serve` costs (issue 18) on each store:
// one event on the 100x dataset, the periodic evaluation with nothing
// new, the lag of breach detection in the running service, and the
// requests an idle hour makes.
func serveBench(o serveOptions) error {
	ctx := context.Background()
	work, err := filepath.Abs(o.work)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	data, err := dataset(work, 100)
	if err != nil {
		return err
	}
	outbox := filepath.Join(work, "serve-outbox")
	defer os.RemoveAll(outbox)
	if o.storeURL != "" {
		if !o.webOnly {
			f, err := eventsOn(ctx, o, o.storeURL, data, outbox, log)
			if err != nil {
				return err
			}
			printEvents(o, []eventFigures{f})
		}
		ps, err := pagesOn(ctx, o, o.storeURL, data, outbox, o.pageRuns, log)
		if err != nil {
			return fmt.Errorf("web pages: %w", err)
		}
		printPages(ps)
		return nil
	}

	dialects := []string{store.SQLite}
	base := os.Getenv("TEST_DATABASE_URL")
	if base != "" {
		dialects = append(dialects, store.Postgres)
	} else {
		fmt.Fprintln(os.Stderr, "TEST_DATABASE_URL not set: measuring SQLite only (make bench sets it)")
	}
	n := 0
	fresh := func(dialect string) (string, func(), error) {
		if dialect == store.Postgres {
			return pgSchema(base)
		}
		n++
		u := "sqlite:" + filepath.Join(work, fmt.Sprintf("serve-%d.db", n))
		resetSQLite(u)
		return u, func() { resetSQLite(u) }, nil
	}

	// One store at a time: the events measure this machine's two cores.
	var events []eventFigures
	var pages []pageFigures
	for _, d := range dialects {
		u, cleanup, err := fresh(d)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: syncing the 100x dataset with %s ...\n", d, o.bin)
		start := time.Now()
		if err := ingest(o, u, data, outbox); err != nil {
			cleanup()
			return fmt.Errorf("%s: %w", d, err)
		}
		fmt.Fprintf(os.Stderr, "%s: synced in %s; measuring events ...\n", d, time.Since(start).Round(time.Second))
		f, err := eventsOn(ctx, o, u, data, outbox, log)
		if err != nil {
			cleanup()
			return fmt.Errorf("%s: %w", d, err)
		}
		events = append(events, f)
		ps, err := pagesOn(ctx, o, u, data, outbox, o.pageRuns, log)
		cleanup()
		if err != nil {
			return fmt.Errorf("%s: web pages: %w", d, err)
		}
		pages = append(pages, ps...)
	}

	// The daemon runs of both stores at once: they wait on the clock,
	// not on the cores (a few small evaluations and requests a second).
	fmt.Fprintf(os.Stderr, "running the daemon on %d store(s) for about %s ...\n", len(dialects),
		(time.Minute + time.Duration(o.clocks-1)*o.gap() + 15*time.Second).Round(time.Second))
	daemons := make([]daemonFigures, len(dialects))
	errs := make([]error, len(dialects))
	var wg sync.WaitGroup
	for i, d := range dialects {
		u, cleanup, err := fresh(d)
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp(work, "serve-daemon-")
		if err != nil {
			cleanup()
			return err
		}
		wg.Go(func() {
			defer cleanup()
			defer os.RemoveAll(dir)
			daemons[i], errs[i] = daemonRun(ctx, dir, u, o.clocks, o.gap(), log)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: daemon run: %w", dialects[i], err)
		}
	}
	printEvents(o, events)
	printDaemon(o, daemons)
	printPages(pages)
	return nil
}

// ingest syncs the dataset into storeURL with the real binary, as the
// ingest benchmark does: a store as `karkas sync` leaves it, clocks and
// outbox included.
func ingest(o serveOptions, storeURL, data, outbox string) error {
	cmd := exec.Command(o.bin, "--config", o.config, "--log-level", "warn", "sync")
	cmd.Env = append(os.Environ(), "KARKAS_STORE="+storeURL, "KARKAS_DEMO_DATA="+data, "KARKAS_DEMO_OUTBOX="+outbox)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("karkas sync: %w", err)
	}
	return nil
}

func eventsOn(ctx context.Context, o serveOptions, storeURL, data, outbox string, log *slog.Logger) (eventFigures, error) {
	app, err := openApp(ctx, o.config, storeURL, data, outbox, log)
	if err != nil {
		return eventFigures{}, err
	}
	defer app.Store.Close()
	return measureEvents(ctx, app, o.events, o.budget, 3)
}

// short is d without its zero minutes and seconds: 1h, 15m.
func short(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}

func table() *tabwriter.Writer { return tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0) }

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

func printEvents(o serveOptions, fs []eventFigures) {
	fmt.Printf("\none event on the 100x dataset, karkas work without the network: a card's due date set, pulled as its\n")
	fmt.Printf("board's webhook pull would be (engine, scoped batch), its due_date clock stored at risk and its delivery\n")
	fmt.Printf("queued (file sink); the evaluation is the daemon's after a webhook's pull: of the tasks, threads and client\n")
	fmt.Printf("clocks the pull wrote (store.ChangedScope); p50 per step (River's fetches between the jobs, up to 1 s each at\n")
	fmt.Printf("the default poll, are not counted)\n\n")
	w := table()
	fmt.Fprintln(w, "store\tevents\tqueued\ttotal p50\tgoal\tengine setup\tbatch write\tthreading, linking, run record\tchanged scope\tevaluation (subjects)\tdelivery pass\tnext clock turn\tlocks\t")
	for _, f := range fs {
		var locks []time.Duration
		for i := range f.lockSource {
			locks = append(locks, f.lockSource[i]+f.lockEval[i])
		}
		subjects := 0
		for _, n := range f.scoped {
			subjects = max(subjects, n)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t200 ms\t%s\t%s\t%s\t%s\t%s (%d)\t%s\t%s\t%s\t\n", f.store, len(f.total), f.queued, ms(p50(f.total)),
			ms(p50(f.engineSetup)), ms(p50(f.write)), ms(p50(f.afterWrite)), ms(p50(f.scope)), ms(p50(f.evaluate)), subjects, ms(p50(f.deliver)),
			ms(p50(f.nextTurn)), ms(p50(locks)))
	}
	w.Flush()
	for _, f := range fs {
		if len(f.total) < o.events {
			fmt.Printf("(events: as many of the %d asked as fit the %s budget per store; -serve-events, -serve-budget)\n", o.events, short(o.budget))
			break
		}
	}

	fmt.Printf("\nan evaluation with nothing changed and nothing due (goal <= 20 ms): the evaluate job at a due instant that\n")
	fmt.Printf("finds no clock due (locks, DueScope, delivery pass, next turn); beside it the full evaluation the daemon\n")
	fmt.Printf("runs every 5 minutes as the safety net; p50 of %d, NextClockTurn of %d\n\n", len(fs[0].idleJob), len(fs[0].idleNext))
	w = table()
	fmt.Fprintln(w, "store\tclocks\tthe evaluate job\tgoal\tfull evaluation\tof it: clocks rewritten, new clocks + transitions + notifications\tNextClockTurn\t")
	for _, f := range fs {
		fmt.Fprintf(w, "%s\t%d\t%s\t20 ms\t%s\t%d, %d\t%s\t\n", f.store, f.clocks, ms(p50(f.idleJob)), ms(p50(f.idleEvaluate)), f.idleUpdated, f.idleTurned,
			ms(p50(f.idleNext)))
	}
	w.Flush()
	fmt.Printf("(rewritten: open and breached clocks whose business time counted on since the last evaluation, none outside\n")
	fmt.Printf("business hours; new clocks and transitions there would be what the events' scoped evaluations missed)\n")
}

func printDaemon(o serveOptions, ds []daemonFigures) {
	fmt.Printf("\nbreach detection: the service in process (River polling every 1 s), fake Trello and GitHub, real clock;\n")
	fmt.Printf("response target 1m in a calendar open all week, %d client comments by webhook %s apart; due instant -> comment on the card\n\n",
		o.clocks, ms(o.gap()))
	w := table()
	fmt.Fprintln(w, "store\tposted\tp50\tp99\tmin\tby their own job\tp50: due -> job scheduled\t-> job started\t-> comment posted\trun\t")
	for _, d := range ds {
		fmt.Fprintf(w, "%s\t%d/%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", d.store, len(d.lags), len(d.lags)+d.missing,
			ms(quantile(d.lags, 0.5)), ms(quantile(d.lags, 0.99)), ms(quantile(d.lags, 0)), len(d.toScheduled),
			ms(p50(d.toScheduled)), ms(p50(d.toAttempted)), ms(p50(d.toPosted)), d.run.Round(time.Second))
	}
	w.Flush()
	fmt.Printf("(p99 of %d breaches is the slowest. The parts are those of the breaches found by the evaluate job scheduled\n", o.clocks)
	fmt.Printf("for their due instant, from River's row: scheduled a second after it, made available ahead by River's scheduler\n")
	fmt.Printf("(it looks 5 s ahead), started at a worker's next fetch (every 1 s); a breach not found by its own job was\n")
	fmt.Printf("found first by the evaluation after another pull)\n")

	d := ds[0]
	on := int(time.Hour / daemonSchedule)
	off := int(time.Hour / service.DefaultScheduleEvery)
	deliver, evaluate := 60, 12 // service defaults: DeliverEvery 1m, EvaluateEvery 5m
	fmt.Printf("\nidle cost per hour, nothing changing: requests the fakes received for one no-change pull of each source\n")
	fmt.Printf("(opened anew, as the daemon does for every pull) and for the periodic jobs' work, times runs per hour\n")
	fmt.Printf("(computed, not an hour's run); webhooks on: schedule %s (the safety net), webhooks bring the changes;\n", short(daemonSchedule))
	fmt.Printf("off: schedule %s (the default)\n\n", short(service.DefaultScheduleEvery))
	w = table()
	fmt.Fprintln(w, "requests of\tper run\twebhooks on\t/h\twebhooks off\t/h\t")
	fmt.Fprintf(w, "trello pull (%d boards)\t%d\t%d runs/h\t%d\t%d runs/h\t%d\t\n", d.boards, d.trelloPull, on, on*d.trelloPull, off, off*d.trelloPull)
	fmt.Fprintf(w, "github pull (%d repos; %d answered 304, %d of the quota)\t%d\t%d runs/h\t%d\t%d runs/h\t%d\t\n", d.repos, d.github304, d.githubSpent,
		d.githubPull, on, on*d.githubPull, off, off*d.githubPull)
	fmt.Fprintf(w, "evaluate job (%d clocks, %d changes)\t%d\t%d runs/h\t%d\t%d runs/h\t%d\t\n", d.evaluateClocks, d.evaluateDelta, d.evaluateReqs,
		evaluate, evaluate*d.evaluateReqs, evaluate, evaluate*d.evaluateReqs)
	fmt.Fprintf(w, "deliver job\t%d\t%d runs/h\t%d\t%d runs/h\t%d\t\n", d.deliverReqs, deliver, deliver*d.deliverReqs, deliver, deliver*d.deliverReqs)
	w.Flush()
	for _, o := range ds[1:] {
		if o.trelloPull != d.trelloPull || o.githubPull != d.githubPull || o.evaluateReqs+o.deliverReqs != d.evaluateReqs+d.deliverReqs {
			fmt.Printf("%s counted otherwise: trello %d, github %d, jobs %d\n", o.store, o.trelloPull, o.githubPull, o.evaluateReqs+o.deliverReqs)
		} else {
			fmt.Printf("(counted on %s; the same on %s)\n", d.store, o.store)
		}
	}
}
