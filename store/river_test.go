package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// pingArgs is the trivial job of the River tests: its worker plans one
// delivery named Key in the outbox, a store transaction of its own.
type pingArgs struct {
	Key string `json:"key"`
}

func (pingArgs) Kind() string { return "karkas_test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	st *store.Store
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	return planDelivery(ctx, w.st, job.Args.Key)
}

func planDelivery(ctx context.Context, st *store.Store, key string) error {
	return st.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
		// A read and a write in one transaction, as the engine's are.
		if _, err := q.Routes(ctx); err != nil {
			return err
		}
		_, err := q.Insert(ctx, []store.OutboxRow{{IdempotencyKey: key, Kind: "notice", Sink: "mail", Payload: "{}",
			Status: store.OutboxPending, CreatedAt: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)}})
		return err
	})
}

// A River client on the store's driver works jobs whose worker runs store
// transactions, on both databases: on SQLite over the store's one
// connection, while River's goroutines poll it and another process's
// connection writes to the same file. It works a periodic job, and a
// unique job inserted twice is one job.
func TestRiverClient(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang fails, it is not a measure
			defer cancel()
			url := testdb.URL(t, dialect)
			st := migrated(t, url)
			logs := &logRecorder{}
			workers := river.NewWorkers()
			river.AddWorker(workers, &pingWorker{st: st})
			client, err := river.NewClient(st.RiverDriver(), &river.Config{
				Logger: slog.New(logs),
				Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
				// Poll often, so that River's goroutines meet the workers'
				// transactions at the pool.
				FetchCooldown:     5 * time.Millisecond,
				FetchPollInterval: 20 * time.Millisecond,
				PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
					func() (river.JobArgs, *river.InsertOpts) { return pingArgs{Key: "periodic"}, nil },
					&river.PeriodicJobOpts{RunOnStart: true})},
				Workers: workers,
			})
			if err != nil {
				t.Fatal(err)
			}
			events, unsubscribe := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
			defer unsubscribe()

			unique := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStateCompleted, rivertype.JobStatePending,
				rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
			first, err := client.Insert(ctx, pingArgs{Key: "unique"}, unique)
			if err != nil {
				t.Fatal(err)
			}
			second, err := client.Insert(ctx, pingArgs{Key: "unique"}, unique)
			if err != nil {
				t.Fatal(err)
			}
			if first.UniqueSkippedAsDuplicate || !second.UniqueSkippedAsDuplicate || second.Job.ID != first.Job.ID {
				t.Errorf("a unique job inserted twice: jobs %d (skipped %t) and %d (skipped %t), want one",
					first.Job.ID, first.UniqueSkippedAsDuplicate, second.Job.ID, second.UniqueSkippedAsDuplicate)
			}
			want := map[string]bool{"unique": true, "periodic": true}
			for i := range 20 {
				key := fmt.Sprintf("job-%02d", i)
				if _, err := client.Insert(ctx, pingArgs{Key: key}, nil); err != nil {
					t.Fatal(err)
				}
				want[key] = true
			}
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := client.Stop(context.WithoutCancel(ctx)); err != nil {
					t.Errorf("stopping the client: %v", err)
				}
			}()
			// Another process's connection writes to the store meanwhile
			// (a CLI command beside the daemon).
			other, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var wg sync.WaitGroup
			otherErr := make(chan error, 1)
			wg.Go(func() {
				for i := range 10 {
					if err := planDelivery(ctx, other, fmt.Sprintf("other-%d", i)); err != nil {
						otherErr <- err
						return
					}
				}
			})
			for done := 0; done < len(want); {
				select {
				case ev := <-events:
					if ev.Kind == river.EventKindJobFailed {
						t.Fatalf("job %d (%s) failed: %v", ev.Job.ID, ev.Job.EncodedArgs, ev.Job.Errors)
					}
					done++
				case <-ctx.Done():
					t.Fatalf("%d of %d jobs completed: %v", done, len(want), ctx.Err())
				}
			}
			wg.Wait()
			select {
			case err := <-otherErr:
				t.Errorf("the other connection's writes: %v", err)
			default:
			}
			rows, err := st.Deliveries(ctx, store.DeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, r := range rows {
				if !strings.HasPrefix(r.IdempotencyKey, "other-") {
					got[r.IdempotencyKey] = true
				}
			}
			if len(got) != len(want) || len(rows) != len(want)+10 {
				t.Errorf("%d deliveries planned by %d jobs and 10 by the other connection; want %d by jobs: %v", len(rows), len(got), len(want), got)
			}
			// Completed, the unique job still turns its twin away.
			if again, err := client.Insert(ctx, pingArgs{Key: "unique"}, unique); err != nil || !again.UniqueSkippedAsDuplicate {
				t.Errorf("the unique job inserted after it completed: %+v, %v; want skipped", again, err)
			}
			list, err := client.JobList(ctx, river.NewJobListParams().Kinds(pingArgs{}.Kind()).First(100))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(list.Jobs); n != len(want) {
				t.Errorf("%d jobs in river_job, want %d", n, len(want))
			}
			for _, j := range list.Jobs {
				if j.State != rivertype.JobStateCompleted {
					t.Errorf("job %d is %s", j.ID, j.State)
				}
			}
			if errs := logs.errors(); len(errs) > 0 {
				t.Errorf("River logged errors:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// logRecorder keeps River's warnings and errors, for a test to fail on.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (l *logRecorder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn
}

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.records = append(l.records, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// The store's migrations bring River's tables to the River migration the
// store pins, and that is the newest River ships: a River upgrade with a
// new migration fails here until a karkas version runs it.
func TestRiverMigrations(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			driver := st.RiverDriver()
			if got := driver.DatabaseName(); got != dialect {
				t.Errorf("the River driver of a %s store is %s's", dialect, got)
			}
			m, err := rivermigrate.New(driver, nil)
			if err != nil {
				t.Fatal(err)
			}
			all := m.AllVersions()
			if newest := all[len(all)-1].Version; newest != store.RiverMigrationVersion {
				t.Errorf("River ships migration %d, the store pins %d: add a karkas migration whose step runs it (store/river.go)", newest, store.RiverMigrationVersion)
			}
			existing, err := m.ExistingVersions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var versions []int
			for _, v := range existing {
				versions = append(versions, v.Version)
			}
			if fmt.Sprint(versions) != "[1 2 3 4 5 6 7 8]" {
				t.Errorf("River's migrations applied: %v, want 1 to 8", versions)
			}
			if res, err := m.Validate(ctx, &rivermigrate.ValidateOpts{TargetVersion: store.RiverMigrationVersion}); err != nil || !res.OK {
				t.Errorf("River's validation: %+v, %v", res, err)
			}
		})
	}
}

// A River migration that fails leaves neither River's tables nor the
// karkas version that runs it; the next migrate does both.
func TestRiverMigrationAtomic(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, exec := storeAt(t, dialect, 5)
			// River's migration 4 creates river_queue.
			exec(`CREATE TABLE river_queue (name TEXT)`)
			if _, err := st.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "0006_river.sql") {
				t.Fatalf("migrate over a table in River's way: %v, want version 6 to fail", err)
			}
			if v, err := st.SchemaVersion(ctx); err != nil || v != 5 {
				t.Errorf("schema version %d, %v after the failed step; want 5", v, err)
			}
			tables := func() []string {
				q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'river%' ORDER BY name`
				if dialect == store.Postgres {
					q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'river%' ORDER BY table_name`
				}
				var names []string
				if err := st.Select(ctx, &names, q); err != nil {
					t.Fatal(err)
				}
				return names
			}
			if got := tables(); fmt.Sprint(got) != "[river_queue]" {
				t.Errorf("River's tables after the failed step: %v, want only the one in its way", got)
			}
			exec(`DROP TABLE river_queue`)
			if applied, err := st.MigrateTo(ctx, 7); err != nil || fmt.Sprint(applied) != "[6 7]" {
				t.Fatalf("migrate again: %v, %v; want 6 and 7", applied, err)
			}
			if got := tables(); !slices.Contains(got, "river_job") || !slices.Contains(got, "river_migration") {
				t.Errorf("River's tables: %v", got)
			}
		})
	}
}

// A dry run's scratch store is made with River's tables in the store: its
// River schema is whole, and on PostgreSQL, where the migrations make it,
// it holds none of the store's jobs (SQLite's file copy holds them, and
// nothing works them).
func TestRiverScratch(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := testdb.Open(t, dialect)
			client, err := river.NewClient(st.RiverDriver(), &river.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Insert(ctx, pingArgs{Key: "queued"}, nil); err != nil {
				t.Fatal(err)
			}
			sc, drop, err := st.Scratch(ctx)
			if err != nil {
				t.Fatalf("a dry run's scratch of a store with River's tables: %v", err)
			}
			defer drop()
			if v, err := sc.SchemaVersion(ctx); err != nil || v < 7 {
				t.Errorf("the scratch's schema version %d, %v", v, err)
			}
			m, err := rivermigrate.New(sc.RiverDriver(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := m.Validate(ctx, &rivermigrate.ValidateOpts{TargetVersion: store.RiverMigrationVersion}); err != nil || !res.OK {
				t.Errorf("the scratch's River schema: %+v, %v", res, err)
			}
			var jobs int
			if err := sc.Get(ctx, &jobs, `SELECT COUNT(*) FROM river_job`); err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{store.SQLite: 1, store.Postgres: 0}[dialect]; jobs != want {
				t.Errorf("the scratch holds %d River jobs, want %d", jobs, want)
			}
		})
	}
}
