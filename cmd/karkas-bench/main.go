// Command karkas-bench measures the ingest pipeline (make bench): the demo
// agency at 100x, synced by the real karkas binary into SQLite and into
// PostgreSQL, against the bare write limit for the same rows, plus the cost
// of re-syncing with nothing changed. It prints a table; it is not a test.
// Its other modes measure one thing each: the API pulls against the fakes
// (-trello, -everhour, -github, -planfix) and the daemon, karkas serve (-serve).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/internal/demogen"
	"github.com/karkas/karkas/store"
)

func main() {
	scale := flag.Int("scale", 100, "dataset scale (1 = the demo)")
	bin := flag.String("bin", "bin/karkas", "the karkas binary to measure")
	config := flag.String("config", "configs/demo.yaml", "config whose sources read the dataset")
	work := flag.String("work", "var/bench", "working folder for datasets and stores")
	trelloOnly := flag.Bool("trello", false, "measure the Trello API pull against the fake under Trello's limits in virtual time, and nothing else")
	trelloBoards := flag.Int("trello-boards", 20, "boards of the Trello benchmark")
	trelloCards := flag.Int("trello-cards", 10000, "cards of the Trello benchmark, over all boards")
	trelloActions := flag.Int("trello-actions", 100000, "actions of the Trello benchmark, over all boards")
	everhourOnly := flag.Bool("everhour", false, "measure the Everhour API backfill against the fake under Everhour's limit in virtual time, and nothing else")
	everhourUsers := flag.Int("everhour-users", 40, "users of the Everhour benchmark")
	everhourEntries := flag.Int("everhour-entries", 200000, "time records of the Everhour benchmark")
	everhourMonths := flag.Int("everhour-months", 12, "months the Everhour benchmark's records span (and it backfills)")
	githubOnly := flag.Bool("github", false, "measure the GitHub API pull (backfill and no-change syncs with conditional requests) against the fake in virtual time, and nothing else")
	githubRepos := flag.Int("github-repos", 50, "repositories of the GitHub benchmark")
	githubIssues := flag.Int("github-issues", 20000, "issues of the GitHub benchmark, over all repositories")
	githubComments := flag.Int("github-comments", 100000, "comments of the GitHub benchmark, over all repositories")
	planfixOnly := flag.Bool("planfix", false, "measure the PlanFix API pull (backfill against the API's minimum, no-change and one-change syncs) against the fake under its limit in virtual time, and nothing else")
	planfixProjects := flag.Int("planfix-projects", 20, "projects of the PlanFix benchmark")
	planfixTasks := flag.Int("planfix-tasks", 5000, "tasks of the PlanFix benchmark, over all projects")
	planfixComments := flag.Int("planfix-comments", 50000, "comments of the PlanFix benchmark, over all tasks")
	serveOnly := flag.Bool("serve", false, "measure karkas serve: one event and an idle evaluation on the 100x dataset, breach detection in the running service, the idle hour's requests; and nothing else")
	var so serveOptions
	flag.IntVar(&so.events, "serve-events", 100, "events of the one-event measure per store, at most")
	flag.DurationVar(&so.budget, "serve-budget", 45*time.Second, "time the one-event measure may take per store (at least 5 events run)")
	flag.IntVar(&so.clocks, "serve-clocks", 6, "clocks that breach in the daemon run")
	flag.DurationVar(&so.spacing, "serve-spacing", 5*time.Second, "time between the daemon run's client comments, over a breach's lag and the pull its comment's webhook causes (plus 1 s / -serve-clocks, so that the due instants fall at every phase of River's 1 s poll)")
	flag.StringVar(&so.storeURL, "serve-store", "", "a store the 100x dataset is synced into: measure the one event and the web pages on it alone, with no ingest and no daemon run (quick reruns)")
	flag.BoolVar(&so.webOnly, "web", false, "with -serve -serve-store: measure the web UI's pages alone")
	flag.IntVar(&so.pageRuns, "web-runs", 10, "requests of each web page measured")
	cpuprofile := flag.String("cpuprofile", "", "write this process's CPU profile to the file (the -serve, -trello, -everhour and -github measures run in it)")
	runs := flag.Int("runs", 3, "measure each ingest and bare write this many times and keep the best: this machine's disk is noisy")
	flag.Parse()
	if *cpuprofile != "" {
		stop, err := profileCPU(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "karkas-bench:", err)
			os.Exit(1)
		}
		defer stop()
	}
	if *trelloOnly {
		if err := trelloBench(*trelloBoards, *trelloCards, *trelloActions); err != nil {
			fmt.Fprintln(os.Stderr, "karkas-bench: trello:", err)
			os.Exit(1)
		}
		return
	}
	if *everhourOnly {
		if err := everhourBench(*everhourUsers, *everhourEntries, *everhourMonths); err != nil {
			fmt.Fprintln(os.Stderr, "karkas-bench: everhour:", err)
			os.Exit(1)
		}
		return
	}
	if *serveOnly {
		so.bin, so.config, so.work = *bin, *config, *work
		if err := serveBench(so); err != nil {
			fmt.Fprintln(os.Stderr, "karkas-bench: serve:", err)
			os.Exit(1)
		}
		return
	}
	if *githubOnly {
		if err := githubBench(*githubRepos, *githubIssues, *githubComments); err != nil {
			fmt.Fprintln(os.Stderr, "karkas-bench: github:", err)
			os.Exit(1)
		}
		return
	}
	if *planfixOnly {
		if err := planfixBench(*planfixProjects, *planfixTasks, *planfixComments); err != nil {
			fmt.Fprintln(os.Stderr, "karkas-bench: planfix:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*scale, *runs, *bin, *config, *work); err != nil {
		fmt.Fprintln(os.Stderr, "karkas-bench:", err)
		os.Exit(1)
	}
}

type figures struct {
	store        string
	records      int
	ingest       time.Duration
	peakRSS      int64 // KiB
	peakAnon     int64 // KiB, of peakRSS: not the pages of mapped files
	bare         time.Duration
	raw          time.Duration // the same rows copied into tables with no schema (rawCopy)
	noChange     time.Duration
	noChangeRows int64
	reread       time.Duration
	rereadRows   int64
	size         diskSize // of the store after the last ingest
}

func run(scale, runs int, bin, config, work string) error {
	ctx := context.Background()
	// Store paths in KARKAS_STORE are anchored at the config's folder when
	// relative; absolute ones mean the same file to karkas and to us.
	work, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	data, err := dataset(work, scale)
	if err != nil {
		return err
	}
	var results []figures
	// fresh returns the URL of a new, empty store of a dialect.
	var cleanups []func()
	defer func() {
		for _, c := range cleanups {
			c()
		}
	}()
	n := 0
	fresh := map[string]func() (string, error){
		store.SQLite: func() (string, error) {
			n++
			u := "sqlite:" + filepath.Join(work, fmt.Sprintf("store-%d.db", n))
			resetSQLite(u)
			cleanups = append(cleanups, func() { resetSQLite(u) })
			return u, nil
		},
	}
	order := []string{store.SQLite}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		fresh[store.Postgres] = func() (string, error) {
			u, cleanup, err := pgSchema(base)
			if err == nil {
				cleanups = append(cleanups, cleanup)
			}
			return u, err
		}
		order = append(order, store.Postgres)
	} else {
		fmt.Fprintln(os.Stderr, "TEST_DATABASE_URL not set: measuring SQLite only (make bench sets it)")
	}
	// Every sync first, then the bare writes, which hold all rows in this
	// process (see above about peak RSS).
	last := map[string]string{}
	for _, dialect := range order {
		f, u, err := measure(ctx, dialect, fresh[dialect], runs, bin, config, data)
		if err != nil {
			return fmt.Errorf("%s: %w", dialect, err)
		}
		results = append(results, f)
		last[dialect] = u
	}
	for i, dialect := range order {
		for range runs {
			d, raw, err := bare(ctx, last[dialect], fresh[dialect])
			if err != nil {
				return fmt.Errorf("%s: bare write: %w", dialect, err)
			}
			if results[i].bare == 0 || d < results[i].bare {
				results[i].bare = d
			}
			if results[i].raw == 0 || raw < results[i].raw {
				results[i].raw = raw
			}
		}
	}
	print(scale, results)
	return nil
}

// dataset is the folder of the demo agency at scale under work,
// generated the first time.
func dataset(work string, scale int) (string, error) {
	data := filepath.Join(work, fmt.Sprintf("data-%dx", scale))
	marker := filepath.Join(data, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return data, nil
	}
	fmt.Fprintf(os.Stderr, "generating the %dx dataset in %s ...\n", scale, data)
	os.RemoveAll(data)
	start := time.Now()
	// In a child process: a process's peak RSS counts its parent's at
	// fork time on Linux, so the bench itself must stay small until
	// every sync it measures has run.
	gen := exec.Command("go", "run", "./cmd/demogen", "-out", data, "-scale", fmt.Sprint(scale),
		"-seed", fmt.Sprint(demogen.DefaultSeed))
	gen.Stdout, gen.Stderr = os.Stderr, os.Stderr
	if err := gen.Run(); err != nil {
		return "", fmt.Errorf("generating: %w", err)
	}
	fmt.Fprintf(os.Stderr, "generated in %s\n", time.Since(start).Round(time.Millisecond))
	os.WriteFile(marker, nil, 0o644)
	return data, nil
}

// pgSchema makes a schema of its own in the test database for the run.
func pgSchema(base string) (string, func(), error) {
	var b [4]byte
	rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	db, err := sqlx.Open("postgres", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", nil, fmt.Errorf("creating bench schema: %w", err)
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() }, nil
}

func resetSQLite(u string) {
	if p, ok := strings.CutPrefix(u, "sqlite:"); ok {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(p + suffix)
		}
		// The run locks' files beside the database (store.Lock).
		locks, _ := filepath.Glob(p + ".lock-*")
		for _, l := range locks {
			os.Remove(l)
		}
	}
}

func measure(ctx context.Context, dialect string, fresh func() (string, error), runs int, bin, config, data string) (figures, string, error) {
	f := figures{store: dialect}
	var storeURL string
	sync := func() (time.Duration, memory, error) {
		cmd := exec.Command(bin, "--config", config, "--log-level", "warn", "sync")
		cmd.Env = append(os.Environ(), "KARKAS_STORE="+storeURL, "KARKAS_DEMO_DATA="+data)
		cmd.Stderr = os.Stderr
		start := time.Now()
		mem, err := runMeasured(cmd)
		if err != nil {
			return 0, mem, fmt.Errorf("karkas sync: %w", err)
		}
		return time.Since(start), mem, nil
	}
	// The best ingest of several into fresh stores; the highest peak RSS.
	for range runs {
		u, err := fresh()
		if err != nil {
			return f, "", err
		}
		storeURL = u
		d, rss, err := sync()
		if err != nil {
			return f, "", err
		}
		if f.ingest == 0 || d < f.ingest {
			f.ingest = d
		}
		f.peakRSS, f.peakAnon = max(f.peakRSS, rss.hwm), max(f.peakAnon, rss.anon)
	}
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return f, "", err
	}
	defer st.Close()
	rowsSince := func(after int64) (int64, error) {
		var n int64
		err := st.Get(context.Background(), &n, st.Rebind(`SELECT COALESCE(SUM(rows_written), 0) FROM sync_runs WHERE id > ?`), after)
		return n, err
	}
	lastRun := func() int64 {
		var id int64
		st.Get(context.Background(), &id, `SELECT COALESCE(MAX(id), 0) FROM sync_runs`)
		return id
	}
	live, _, err := st.TableCounts(ctx)
	if err != nil {
		return f, "", err
	}
	f.records = live.Total()
	if f.size, err = storeSize(ctx, st); err != nil {
		return f, "", err
	}

	before := lastRun()
	if f.noChange, _, err = sync(); err != nil {
		return f, "", err
	}
	if f.noChangeRows, err = rowsSince(before); err != nil {
		return f, "", err
	}
	// Touch every input: the sources must read and resolve everything
	// again, and still write nothing.
	now := time.Now()
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			os.Chtimes(p, now, now)
		}
		return nil
	})
	before = lastRun()
	if f.reread, _, err = sync(); err != nil {
		return f, "", err
	}
	f.rereadRows, err = rowsSince(before)
	return f, storeURL, err
}

// bare writes the same rows the pipeline stored into an empty store with
// nothing else around: one transaction, the dialect's fastest upsert
// (multi-row INSERT … ON CONFLICT on SQLite, COPY into a staging table and
// INSERT … SELECT … ON CONFLICT on Postgres). That is the floor the
// pipeline is measured against.
func bare(ctx context.Context, fromURL string, fresh func() (string, error)) (bareD, raw time.Duration, err error) {
	from, err := store.Open(ctx, fromURL)
	if err != nil {
		return 0, 0, err
	}
	defer from.Close()
	var b store.Batch
	for table, dst := range map[string]any{
		"containers": &b.Containers, "source_people": &b.People, "tasks": &b.Tasks,
		"task_status_changes": &b.StatusChanges, "messages": &b.Messages, "time_entries": &b.TimeEntries,
	} {
		if err := from.Select(ctx, dst, "SELECT * FROM "+table+" WHERE deleted_at IS NULL"); err != nil {
			return 0, 0, fmt.Errorf("reading %s: %w", table, err)
		}
	}
	open := func() (*store.Store, string, error) {
		target, err := fresh()
		if err != nil {
			return nil, "", err
		}
		st, err := store.Open(ctx, target)
		if err != nil {
			return nil, "", err
		}
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, "", err
		}
		return st, target, nil
	}
	st, _, err := open()
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	start := time.Now()
	n, err := st.WriteBatch(ctx, "bare", 0, &b, "", false)
	if err != nil {
		return 0, 0, err
	}
	bareD = time.Since(start)
	if n.Total() == 0 {
		return 0, 0, fmt.Errorf("bare write wrote nothing")
	}
	other, target, err := open()
	if err != nil {
		return 0, 0, err
	}
	other.Close()
	if raw, err = rawCopy(ctx, target, &b); err != nil {
		return 0, 0, fmt.Errorf("raw copy: %w", err)
	}
	return bareD, raw, nil
}

func print(scale int, rs []figures) {
	fmt.Printf("\ningest of the %dx demo dataset (%d records), real karkas binary, this machine\n\n", scale, rs[0].records)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "store\tpipeline rec/s\tbare limit rec/s\tratio\tpeak RSS\tof it anonymous\tingest\tno-change sync\trows written\tre-read all, no change\trows written\t")
	for _, f := range rs {
		pipe := float64(f.records) / f.ingest.Seconds()
		lim := float64(f.records) / f.bare.Seconds()
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.0f%%\t%d MB\t%d MB\t%s\t%s\t%d\t%s\t%d\t\n", f.store, pipe, lim, 100*pipe/lim,
			f.peakRSS/1024, f.peakAnon/1024, f.ingest.Round(time.Millisecond), f.noChange.Round(time.Millisecond), f.noChangeRows,
			f.reread.Round(time.Millisecond), f.rereadRows)
	}
	w.Flush()
	fmt.Println("\ngoals: pipeline >= 70% of the bare limit, peak RSS < 256 MB, 0 rows written without changes")
	fmt.Println("(peak RSS counts the store's pages SQLite reads through mmap, up to 256 MB, which the kernel drops under")
	fmt.Println("pressure; the anonymous part is the heap and stacks, sampled every 10 ms)")
	fmt.Println("\nthe bare limit beside the raw copy of the same rows into tables with no index, key or upsert (COPY on")
	fmt.Println("PostgreSQL, one prepared INSERT on SQLite): what the schema itself costs")
	for _, f := range rs {
		fmt.Printf("  %s: bare limit %.0f rec/s, %.0f%% of the raw copy's %.0f rec/s\n", f.store,
			float64(f.records)/f.bare.Seconds(), 100*f.raw.Seconds()/f.bare.Seconds(), float64(f.records)/f.raw.Seconds())
	}
	fmt.Println("\nthe store on disk after the ingest, per record: indexes and the raw JSON each record keeps as a share of it")
	for _, f := range rs {
		fmt.Printf("  %s: %s\n", f.store, f.size.perRecord(f.records))
	}
}

// profileCPU starts the CPU profile to path; stop writes it out.
func profileCPU(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
