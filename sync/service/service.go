// Package service is `karkas serve`: the sync pipeline as a daemon on River
// (github.com/riverqueue/river), in the store's own database. Each source
// is pulled on its schedule, a webhook from Trello or GitHub pulls the
// board or repository it names, every pull that changed rows is followed
// by an evaluation, and an evaluation is also scheduled at the next
// instant an open clock turns at risk or breached, so that a breach is
// found and delivered at its due time with nothing new pulled. Replicas on
// one PostgreSQL share the jobs; River's leader enqueues the periodic ones.
//
// River's uniqueness keeps one job per source in the queue; what makes a
// pull, an evaluation and a delivery safe when two run at once anyway (a
// cron `karkas sync` beside the daemon, a job River rescued from a killed
// replica while it was still running) are the store's run locks, which
// every job takes as `karkas sync` does, and the outbox's leases.
package service

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
)

// Options are how the daemon runs.
type Options struct {
	// Listen is the address of webhooks, health and (unless
	// MetricsListen) metrics.
	Listen        string
	MetricsListen string
	// PublicURL is where the services reach Listen, for the callbacks
	// webhooks are registered with and verified against.
	PublicURL string
	// ShutdownTimeout bounds how long running jobs may finish after a
	// signal; then they are cancelled (their transactions roll back).
	ShutdownTimeout time.Duration
	// JobTimeout bounds one job; a pull cut by it goes on from its cursor
	// at the next. RescueAfter is when a job a killed process held is
	// given to another (River's RescueStuckJobsAfter), above JobTimeout.
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// DefaultSchedule is how often a source without schedule: is pulled.
	DefaultSchedule time.Duration
	// DeliverEvery is how often the outbox is worked besides after each
	// evaluation (retries, quiet hours, digests, monthly reports);
	// EvaluateEvery is the safety net of evaluations.
	DeliverEvery  time.Duration
	EvaluateEvery time.Duration
	// AttentionAfter failed pulls in a row mark a source as needing
	// attention (karkas status).
	AttentionAfter int
	// PollInterval is how often River looks for jobs (neither database
	// driver here has LISTEN).
	PollInterval time.Duration
	// ID names this replica in River and in the run locks.
	ID string
	// Web, when set, is served under / on Listen: the web UI.
	Web http.Handler
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultJobTimeout      = 10 * time.Minute
	DefaultScheduleEvery   = 15 * time.Minute
	DefaultAttentionAfter  = 3
)

func (o *Options) fill() {
	o.Listen = cmp.Or(o.Listen, DefaultListen)
	o.ShutdownTimeout = cmp.Or(o.ShutdownTimeout, DefaultShutdownTimeout)
	o.JobTimeout = cmp.Or(o.JobTimeout, DefaultJobTimeout)
	o.RescueAfter = max(o.RescueAfter, o.JobTimeout+o.JobTimeout/2)
	o.DefaultSchedule = cmp.Or(o.DefaultSchedule, DefaultScheduleEvery)
	o.DeliverEvery = cmp.Or(o.DeliverEvery, time.Minute)
	o.EvaluateEvery = cmp.Or(o.EvaluateEvery, 5*time.Minute)
	o.AttentionAfter = cmp.Or(o.AttentionAfter, DefaultAttentionAfter)
	o.PollInterval = cmp.Or(o.PollInterval, time.Second)
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d", cmp.Or(host, "karkas"), os.Getpid())
	}
}

// FromConfig fills Options from the config's serve: block.
func FromConfig(cfg *mapping.Config) Options {
	var o Options
	if sv := cfg.Serve; sv != nil {
		o.Listen, o.MetricsListen, o.PublicURL = sv.Listen, sv.MetricsListen, sv.PublicURL
		o.DefaultSchedule = sv.DefaultSchedule
		o.AttentionAfter = sv.AttentionAfter
		o.JobTimeout = sv.JobTimeout
	}
	return o
}

// Service is a running daemon.
type Service struct {
	app     *pipeline.App
	opts    Options
	log     *slog.Logger
	holder  string
	client  *river.Client[*sql.Tx]
	metrics *metrics
	started atomic.Bool
	// webhook secrets and callbacks by source (webhooks.go).
	hooks map[string]*hookSource
}

// New builds the daemon on app (its config and store).
func New(app *pipeline.App, opts Options) (*Service, error) {
	opts.fill()
	if app.HeldWatch == nil {
		// Its delivery pass follows every evaluation.
		app.HeldWatch = &push.HeldWatch{}
	}
	s := &Service{app: app, opts: opts, log: app.Logger, holder: store.Holder(time.Now()) + " serve " + opts.ID}
	s.metrics = newMetrics(app)
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker[SyncSourceArgs]{s: s})
	river.AddWorker(workers, &syncWorker[SyncContainerArgs]{s: s})
	river.AddWorker(workers, &evaluateWorker{s: s})
	river.AddWorker(workers, &deliverWorker{s: s})
	var periodic []*river.PeriodicJob
	for _, src := range app.Loaded.Sources {
		if src.Disabled {
			continue
		}
		every := opts.DefaultSchedule
		if d, err := time.ParseDuration(src.Schedule); err == nil && src.Schedule != "" {
			every = d
		}
		args := SyncSourceArgs{Source: src.ID}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "sync_source:" + src.ID, RunOnStart: true}))
	}
	periodic = append(periodic,
		river.NewPeriodicJob(river.PeriodicInterval(opts.DeliverEvery),
			func() (river.JobArgs, *river.InsertOpts) { return DeliverArgs{}, nil },
			&river.PeriodicJobOpts{ID: "deliver", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(opts.EvaluateEvery),
			func() (river.JobArgs, *river.InsertOpts) { return EvaluateArgs{}, nil },
			&river.PeriodicJobOpts{ID: "evaluate", RunOnStart: true}))
	var err error
	s.client, err = river.NewClient(app.Store.RiverDriver(), &river.Config{
		ID:     opts.ID,
		Logger: riverLogger(app.Logger),
		Queues: map[string]river.QueueConfig{
			// Pulls wait on the network: two at once. Evaluations and
			// deliveries take the evaluation lock: one.
			queueSync: {MaxWorkers: 2},
			queueWork: {MaxWorkers: 1},
		},
		Workers:              workers,
		PeriodicJobs:         periodic,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.RescueAfter,
		PollOnly:             true,
		FetchPollInterval:    opts.PollInterval,
		MaxAttempts:          5,
		// Finished jobs are kept a day for karkas status; discarded
		// ones a week.
		CompletedJobRetentionPeriod: 24 * time.Hour,
		DiscardedJobRetentionPeriod: 7 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("starting River: %w", err)
	}
	if s.hooks, err = s.openHooks(); err != nil {
		return nil, err
	}
	return s, nil
}

// riverLogger is River's log: its warnings and errors, tagged.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelAtLeast{l.Handler(), slog.LevelWarn}).With("component", "river")
}

type levelAtLeast struct {
	slog.Handler
	min slog.Level
}

func (h levelAtLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelAtLeast) WithAttrs(a []slog.Attr) slog.Handler {
	return levelAtLeast{h.Handler.WithAttrs(a), h.min}
}

func (h levelAtLeast) WithGroup(n string) slog.Handler {
	return levelAtLeast{h.Handler.WithGroup(n), h.min}
}

// Run serves until ctx ends (SIGTERM, SIGINT), then stops taking work,
// lets running jobs finish for ShutdownTimeout and cancels what is left.
// ready, when set, is called once the listener and River are up, with the
// listener's address.
func (s *Service) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("serve.listen %s: %w", s.opts.Listen, err)
	}
	servers := []*http.Server{{Handler: s.Handler(s.opts.MetricsListen == ""), ReadHeaderTimeout: 10 * time.Second}}
	listeners := []net.Listener{ln}
	if s.opts.MetricsListen != "" {
		mln, err := net.Listen("tcp", s.opts.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve.metrics_listen %s: %w", s.opts.MetricsListen, err)
		}
		servers = append(servers, &http.Server{Handler: s.opsHandler(), ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, mln)
	}
	httpErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if err := srv.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				httpErr <- err
			}
		}()
	}
	// River runs on its own context: a signal stops it gracefully below,
	// rather than cancelling every job at once.
	if err := s.client.Start(context.WithoutCancel(ctx)); err != nil {
		for _, srv := range servers {
			srv.Close()
		}
		return fmt.Errorf("starting River: %w", err)
	}
	s.started.Store(true)
	s.log.Info("serving", "listen", ln.Addr().String(), "id", s.opts.ID, "sources", len(s.app.Loaded.Sources))
	if ready != nil {
		ready(ln.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-httpErr:
	}
	s.started.Store(false)
	s.log.Info("stopping: no new jobs; running ones may finish", "timeout", s.opts.ShutdownTimeout.String())
	stopCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(stopCtx)
	}
	if err := s.client.Stop(stopCtx); err != nil {
		s.log.Warn("jobs still running at the shutdown timeout are cancelled; each goes on from its last commit next time")
		hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.client.StopAndCancel(hard); err != nil {
			return fmt.Errorf("stopping River: %w", err)
		}
	}
	s.log.Info("stopped")
	return runErr
}
