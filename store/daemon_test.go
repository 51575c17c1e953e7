package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

type failArgs struct{ Board string }

func (failArgs) Kind() string { return "karkas_test_fail" }

type failWorker struct{ river.WorkerDefaults[failArgs] }

func (failWorker) Work(ctx context.Context, job *river.Job[failArgs]) error {
	return errors.New("board " + job.Args.Board + " answered 503 twice\nsecond line")
}

// A job that fails until River gives it up is listed with its last error
// (what karkas status prints), on both databases, whose River tables keep
// errors differently (jsonb[] and a JSON array in text).
func TestDiscardedJobs(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st, err := store.Open(ctx, testdb.URL(t, dialect))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if jobs, err := st.DiscardedJobs(ctx, 10); err != nil || len(jobs) != 0 {
				t.Fatalf("before any job: %v, %v", jobs, err)
			}
			workers := river.NewWorkers()
			river.AddWorker(workers, failWorker{})
			client, err := river.NewClient(st.RiverDriver(), &river.Config{
				Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
				FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
				Workers: workers,
			})
			if err != nil {
				t.Fatal(err)
			}
			events, unsubscribe := client.Subscribe(river.EventKindJobFailed)
			defer unsubscribe()
			if _, err := client.Insert(ctx, failArgs{Board: "AbCd1234"}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
				t.Fatal(err)
			}
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-events:
			case <-ctx.Done():
				t.Fatal("the job never failed")
			}
			if err := client.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			jobs, err := st.DiscardedJobs(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != 1 {
				t.Fatalf("discarded jobs: %+v, want the one", jobs)
			}
			j := jobs[0]
			if j.Kind != "karkas_test_fail" || !strings.Contains(j.Args, "AbCd1234") || j.Attempts != 1 ||
				!strings.HasPrefix(j.LastError, "board AbCd1234 answered 503 twice") || j.FinalizedAt.IsZero() {
				t.Errorf("discarded job: %+v", j)
			}
			counts, err := st.JobCounts(ctx)
			if err != nil || len(counts) != 1 || counts[0].State != "discarded" || counts[0].Rows != 1 {
				t.Errorf("job counts: %+v, %v", counts, err)
			}
		})
	}
}

// The next instant an open clock turns: a running clock's warning, an
// open clock's target; stopped, waived and past instants are not turns.
func TestNextClockTurn(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, err := store.Open(ctx, testdb.URL(t, dialect))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			if _, ok, err := st.NextClockTurn(ctx, now); err != nil || ok {
				t.Fatalf("no clocks: ok %v, %v", ok, err)
			}
			at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
			for _, c := range []struct {
				id, state string
				warn, due time.Time
				waived    bool
			}{
				{"past", "running", at(-30), at(-10), false},  // overdue: the evaluation turns it, not a turn to wait for
				{"stopped", "met", at(2), at(3), false},       // stopped
				{"waived", "running", at(1), at(2), true},     // waived
				{"at-risk", "at_risk", at(-5), at(40), false}, // its warning passed: its target is next
				{"running", "running", at(25), at(50), false}, // its warning
			} {
				if _, err := st.Exec(ctx, `INSERT INTO sla_clocks (id, policy, subject_kind, state, started_at, warn_at, due_at, waived, updated_at)
					VALUES (?, 'response', 'thread', ?, ?, ?, ?, ?, ?)`, c.id, c.state, at(-60), c.warn, c.due, c.waived, now); err != nil {
					t.Fatal(err)
				}
			}
			next, ok, err := st.NextClockTurn(ctx, now)
			if err != nil || !ok || !next.Equal(at(25)) {
				t.Errorf("next turn %s (ok %v, %v), want the running clock's warning at %s", next, ok, err, at(25))
			}
			next, ok, err = st.NextClockTurn(ctx, at(30))
			if err != nil || !ok || !next.Equal(at(40)) {
				t.Errorf("after 10:30: %s (ok %v, %v), want the at-risk clock's target at %s", next, ok, err, at(40))
			}
			if _, ok, err := st.NextClockTurn(ctx, at(60)); err != nil || ok {
				t.Errorf("after every turn: ok %v, %v", ok, err)
			}
		})
	}
}

// Failed runs in a row count back to the last run that did not fail; dry
// runs and a run still going are not counted.
func TestFailedRunsInARow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.URL(t, store.SQLite))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(fail, dry bool) {
		id, err := st.StartRun(ctx, "board", dry, false)
		if err != nil {
			t.Fatal(err)
		}
		var r store.RunResult
		if fail {
			r.Err = errors.New("503")
		}
		if err := st.FinishRun(ctx, id, r); err != nil {
			t.Fatal(err)
		}
	}
	want := func(n int) {
		t.Helper()
		if got, err := st.FailedRunsInARow(ctx, "board"); err != nil || got != n {
			t.Errorf("failed in a row: %d (%v), want %d", got, err, n)
		}
	}
	want(0)
	run(true, false)
	run(false, false)
	run(true, false)
	run(true, true) // a dry run: not counted
	run(true, false)
	want(2)
	if _, err := st.StartRun(ctx, "board", false, false); err != nil { // still going
		t.Fatal(err)
	}
	want(2)
	// The next run finds it running: it died, and is a failure.
	if _, err := st.StartRun(ctx, "board", false, false); err != nil {
		t.Fatal(err)
	}
	want(3)
	var died string
	if err := st.Get(ctx, &died, `SELECT error FROM sync_runs WHERE source_id = 'board' AND status = 'failed' ORDER BY id DESC LIMIT 1`); err != nil || died != store.RunDied {
		t.Errorf("the dead run's error: %q (%v)", died, err)
	}
	run(false, false)
	want(0)
	var running int
	if err := st.Get(ctx, &running, `SELECT COUNT(*) FROM sync_runs WHERE status = 'running'`); err != nil || running != 0 {
		t.Errorf("%d runs still recorded running (%v)", running, err)
	}
}

// A source's status is its last full run: a webhook's pull of one board
// is counted beside it, never taken for it.
func TestSourcesLastFullRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := migrated(t, testdb.URL(t, store.SQLite))
	if err := st.EnsureSource(ctx, "board", "trello"); err != nil {
		t.Fatal(err)
	}
	run := func(partial bool, fail error) int64 {
		t.Helper()
		id, err := st.StartRun(ctx, "board", false, partial)
		if err == nil {
			err = st.FinishRun(ctx, id, store.RunResult{Err: fail})
		}
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	full := run(false, nil)
	run(true, nil)
	run(true, errors.New("503"))
	srcs, err := st.Sources(ctx)
	if err != nil || len(srcs) != 1 {
		t.Fatalf("sources: %v %v", srcs, err)
	}
	s := srcs[0]
	if s.LastRun.Int64 != full || s.RunStatus.String != store.RunOK || s.Partials != 2 || !s.PartialAt.Valid || s.PartialStatus.String != store.RunFailed {
		t.Errorf("status: last run %d %s, %d partial(s), the last %v %s; want run %d ok, 2 partials, the last failed",
			s.LastRun.Int64, s.RunStatus.String, s.Partials, s.PartialAt, s.PartialStatus.String, full)
	}
	again := run(false, nil)
	if srcs, _ = st.Sources(ctx); srcs[0].LastRun.Int64 != again || srcs[0].Partials != 0 {
		t.Errorf("after a full run: %+v", srcs[0])
	}
}
