// Package engine runs sources: it pulls each one from its cursor, resolves
// the records through the mapping, and stores every batch with the cursor
// that covers it in one transaction, so that a crash or a kill never loses
// nor duplicates a row. It also re-applies a changed mapping to stored rows
// (remap).
//
// It wires connectors, mapping and store together; nothing below it imports
// it. (It lives in sync/engine because a package named sync would shadow the
// standard library's.)
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// Progress hears about a run as it goes; the CLI draws it on a terminal.
type Progress interface {
	Batch(sourceID string, received, written int)
}

// ShownProblems bounds the refused inputs, and the warnings, a Result
// keeps for its summary.
const ShownProblems = 5

// Engine syncs sources into a store.
type Engine struct {
	Store    *store.Store
	Resolver *mapping.Resolver
	Logger   *slog.Logger
	Progress Progress
	// DryRun computes everything and writes nothing.
	DryRun bool
	// Sources are every source of the config, so that a row of a source
	// not synced this time can be linked to a task that just arrived
	// (heal); the jobs of the sync are known without it.
	Sources []mapping.SourceInfo

	look *lookup
}

// New returns an engine whose linking knows the store's tasks.
func New(ctx context.Context, st *store.Store, res *mapping.Resolver, logger *slog.Logger) (*Engine, error) {
	e := &Engine{Store: st, Resolver: res, Logger: logger, look: newLookup()}
	if err := e.look.load(ctx, st); err != nil {
		return nil, err
	}
	return e, nil
}

// NewLazy returns an engine whose linking reads each task, container and
// person from the store when a record first names it, instead of loading
// them all: for pulls of a few records (a webhook's), whose cost would
// otherwise be the store's size. Its heal links only to the tasks its own
// runs brought; rows that another run's tasks would link are left to the
// next full pull's. ctx bounds the engine's reads.
func NewLazy(ctx context.Context, st *store.Store, res *mapping.Resolver, logger *slog.Logger) *Engine {
	return &Engine{Store: st, Resolver: res, Logger: logger, look: newLazyLookup(ctx, st)}
}

// Job is one source to pull.
type Job struct {
	Info   mapping.SourceInfo
	Source connectors.Source
	// Partial says Source pulls part of what the source selects (a
	// connectors.Scoper's scoped source): a clean run then leaves the
	// source's attention as it was, since it read nothing of the boards or
	// repositories a full pull flagged. A partial run that finds a
	// problem still flags it.
	Partial bool
}

// Result is how a source's run went.
type Result struct {
	SourceID string
	RunID    int64
	// Batches is 0 when the source had nothing new.
	Received store.Counts
	Written  store.Counts
	Deleted  store.Counts
	// Problems counts the input refused; Warnings the notes on input
	// stored anyway (record.Problem.Warning).
	Problems int
	Warnings int
	// Shown holds the run's first problems, refused input and warnings
	// alike (at most ShownProblems of each), for the run's summary; the
	// store keeps them all.
	Shown []record.Problem
	// Input is what the source counted of its own input (record.Tally).
	Input record.Tally
	// Threaded counts the emails that threading moved to another thread
	// after the run (Engine.Thread).
	Threaded int
	// Linked counts, by table, the rows of any source that named a task
	// of this run before it was stored and were linked to it after the
	// run (time entries on its cards, emails linking them).
	Linked   store.Counts
	Batches  int
	Duration time.Duration
	Err      error
}

// SyncModel copies the config's clients and people into the store.
func (e *Engine) SyncModel(ctx context.Context, cfg *mapping.Config) (int, error) {
	var clients []store.ConfigClient
	for _, c := range cfg.Clients {
		clients = append(clients, store.ConfigClient{ID: c.ID, Name: c.Name, Calendar: c.Calendar, PolicySet: c.PolicySet,
			MonthlyHours: c.Budget.MonthlyHours, Rollover: c.Budget.Rollover, RolloverMax: c.Budget.RolloverMax,
			CarryOverrun: c.Budget.CarryOverrun, BudgetStart: c.Budget.Start})
	}
	var people []store.ConfigPerson
	for _, p := range cfg.People {
		cp := store.ConfigPerson{ID: p.ID, Name: p.Name, Side: p.Side, Role: p.Role, ClientID: p.Client}
		for _, f := range mapping.IdentityFields() {
			for _, v := range f.Values(&p) {
				cp.Identities = append(cp.Identities, f.Namespace+":"+v)
			}
		}
		sort.Strings(cp.Identities)
		people = append(people, cp)
	}
	if e.DryRun {
		return 0, nil
	}
	return e.Store.SyncModel(ctx, clients, people)
}

// Run pulls one source to the end, or until it fails or ctx ends.
func (e *Engine) Run(ctx context.Context, job Job) Result {
	return e.RunAll(ctx, []Job{job})[0]
}

// RunAll pulls the sources one after another, in order, so that a source
// can link to what an earlier one brought (time entries to cards). One
// writer stores all their batches in order, each with its cursor in one
// transaction, on its own goroutine: while it stores, the sources go on
// parsing and resolving, and on two cores the sync costs about the larger of
// the two instead of their sum. A source that fails or panics fails its own
// run only.
func (e *Engine) RunAll(ctx context.Context, jobs []Job) []Result {
	w := e.startWriter(ctx)
	runs := make([]*run, len(jobs))
	for i, job := range jobs {
		runs[i] = e.pull(ctx, w, job)
	}
	close(w.queue)
	<-w.done
	results := make([]Result, len(jobs))
	for _, r := range runs {
		e.thread(ctx, r)
	}
	if err := e.heal(ctx, runs); err != nil {
		// The rows stay as stored; the next sync (or a remap) links them.
		e.Logger.Error("linking rows to tasks that arrived after them", "error", err.Error())
	}
	for i, r := range runs {
		results[i] = e.finish(ctx, r)
	}
	return results
}

// thread rethreads a run's source when the run wrote or deleted messages,
// or when the source was never threaded (a store from before threading). A
// failure fails the run: its rows are stored, and the next run threads
// them.
func (e *Engine) thread(ctx context.Context, r *run) {
	if e.DryRun || r.err != nil {
		return
	}
	id := r.res.SourceID
	need := r.written["messages"]+r.deleted["messages"] > 0
	if !need {
		threaded, err := e.Store.Threaded(ctx, id)
		if err != nil {
			r.err = fmt.Errorf("threading: %w", err)
			return
		}
		need = !threaded
	}
	if !need {
		return
	}
	n, err := e.Thread(ctx, id)
	if err != nil {
		r.err = fmt.Errorf("threading: %w", err)
		return
	}
	r.res.Threaded = n
}

// run is one source's run while it is under way. The pull side owns res;
// the writer owns written, deleted and err until it closes done.
type run struct {
	info    mapping.SourceInfo
	partial bool
	res     Result
	start   time.Time
	seen    map[string]map[string]struct{}
	pullErr error

	written store.Counts
	deleted store.Counts
	err     error
	end     time.Time
	broken  chan struct{} // closed by the writer when a batch failed; err is set before
	done    chan struct{} // closed by the writer after the run's last batch
}

type writeJob struct {
	run      *run
	rows     *store.Batch
	cursor   string
	snapshot bool
	window   []record.Scope // what the snapshot holds whole (all of the source when empty)
	scopes   []record.Scope // parts of the source the rows hold whole
	first, n int            // the batches it holds, first to n (several once grouped)
	received int
	last     bool // marks the end of the run's batches
}

// failed reports the writer's error once it has stopped on one.
func (r *run) failed() error {
	select {
	case <-r.broken:
		return r.err
	default:
		return nil
	}
}

func (e *Engine) pull(ctx context.Context, w *writer, job Job) (r *run) {
	r = &run{
		info:    job.Info,
		partial: job.Partial,
		res:     Result{SourceID: job.Info.ID, Received: store.Counts{}, Written: store.Counts{}, Deleted: store.Counts{}},
		start:   time.Now(),
		seen:    map[string]map[string]struct{}{},
		written: store.Counts{}, deleted: store.Counts{},
		broken: make(chan struct{}), done: make(chan struct{}),
	}
	for _, t := range store.Tables {
		r.seen[t] = map[string]struct{}{}
	}
	defer func() {
		if p := recover(); p != nil {
			r.pullErr = fmt.Errorf("source %s panicked: %v\n%s", job.Info.ID, p, debug.Stack())
		}
		// The writer always drains the queue, so this send cannot block
		// for good.
		w.queue <- writeJob{run: r, last: true}
	}()
	if !e.DryRun {
		if err := e.Store.EnsureSource(ctx, job.Info.ID, job.Info.Kind); err != nil {
			r.pullErr = err
			return r
		}
		id, err := e.Store.StartRun(ctx, job.Info.ID, false, job.Partial)
		if err != nil {
			r.pullErr = err
			return r
		}
		r.res.RunID = id
	}
	cursor, err := e.Store.Cursor(ctx, job.Info.ID)
	if err != nil {
		r.pullErr = err
		return r
	}
	b := &builder{res: e.Resolver, look: e.look, src: job.Info}
	res := &r.res
	emit := func(ctx context.Context, batch *record.Batch) error {
		if err := r.failed(); err != nil {
			return err
		}
		for _, sc := range batch.Complete {
			if err := sc.Validate(); err != nil {
				return fmt.Errorf("source %s emitted a bad scope: %w", job.Info.ID, err)
			}
		}
		if job.Partial {
			if err := partialScopes(batch); err != nil {
				return fmt.Errorf("source %s: %w", job.Info.ID, err)
			}
		}
		// A shallow copy: the engine may replace a slice (claimIDs), never
		// the source's own batch.
		cp := *batch
		batch = &cp
		// Text over record's caps is cut before anything reads it (the
		// fingerprints claimIDs takes, the rows, their hashes).
		capped := batch.Cap()
		claimed, err := e.claimIDs(ctx, job.Info.ID, batch)
		if err != nil {
			return fmt.Errorf("source %s: %w", job.Info.ID, err)
		}
		batch.Problems = append(append(slices.Clip(batch.Problems), capped...), claimed...)
		b.now = e.Store.Now()
		rows := b.build(batch)
		if err := e.look.failed(); err != nil {
			return fmt.Errorf("source %s: linking: %w", job.Info.ID, err)
		}
		markSeen(r.seen, rows)
		countReceived(res.Received, batch)
		for _, p := range batch.Problems {
			n := &res.Problems
			if p.Warning {
				n = &res.Warnings
			}
			*n++
			if *n <= ShownProblems {
				res.Shown = append(res.Shown, p)
			}
		}
		res.Input.Add(batch.Tally)
		res.Batches++
		for _, sc := range batch.Snapshot {
			if err := sc.Validate(); err != nil {
				return fmt.Errorf("source %s emitted a bad snapshot scope: %w", job.Info.ID, err)
			}
		}
		j := writeJob{run: r, rows: rows, cursor: batch.Cursor, snapshot: batch.EndOfSnapshot,
			window: slices.Clone(batch.Snapshot), scopes: slices.Clone(batch.Complete), first: res.Batches, n: res.Batches, received: res.Received.Total()}
		w.reserve(rows.Len())
		select {
		case w.queue <- j:
			return nil
		case <-r.broken:
			w.release(rows.Len())
			return r.failed()
		case <-ctx.Done():
			w.release(rows.Len())
			return ctx.Err()
		}
	}
	r.pullErr = job.Source.Pull(ctx, cursor, emit)
	return r
}

// partialScopes refuses what would let a partial pull delete rows it did
// not read: a snapshot or a Complete scope that names no container or task
// reaches across the whole source, the parts the pull left alone included.
func partialScopes(b *record.Batch) error {
	if b.EndOfSnapshot && len(b.Snapshot) == 0 {
		return errors.New("a partial pull emitted a snapshot of the whole source")
	}
	for _, sc := range append(slices.Clip(b.Complete), b.Snapshot...) {
		if sc.ContainerID == "" && sc.TaskID == "" {
			return fmt.Errorf("a partial pull emitted a %s scope of the whole source", sc.Kind)
		}
	}
	return nil
}

// finish turns a run whose batches are all stored into its result, and
// records it.
func (e *Engine) finish(ctx context.Context, r *run) Result {
	<-r.done
	res := r.res
	res.Written.Add(r.written)
	res.Deleted.Add(r.deleted)
	res.Duration = r.end.Sub(r.start)
	res.Err = r.pullErr
	if r.err != nil {
		// The pull stopped because storing failed: that is the cause.
		res.Err = r.err
	}
	// The run's record must be written even when ctx was cancelled.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if e.DryRun || res.RunID == 0 {
		return res
	}
	var attention *connectors.AttentionError
	switch {
	case errors.Is(res.Err, connectors.ErrUnauthorized):
		_ = e.Store.SetAttention(fctx, res.SourceID, "credentials refused: fix the token and run again")
	case errors.As(res.Err, &attention):
		_ = e.Store.SetAttention(fctx, res.SourceID, attention.Why)
	case res.Err == nil && !r.partial:
		// A clean pull, even one with nothing new, shows the source works.
		_ = e.Store.SetAttention(fctx, res.SourceID, "")
	}
	if err := e.Store.FinishRun(fctx, res.RunID, store.RunResult{Batches: res.Batches, Received: res.Received,
		Written: mergeCounts(res.Written, res.Deleted), Problems: res.Problems, Input: res.Input, Err: runError(res.Err)}); err != nil && res.Err == nil {
		res.Err = err
	}
	return res
}

// runError is a run's error as sync_runs keeps it: one line of at most
// connectors.MaxLine characters (a panic's first line, without its
// stack). The Result keeps the whole error.
func runError(err error) error {
	if err == nil {
		return nil
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(connectors.Line(line))
}

// writer stores queued batches, of every run, in order on one goroutine.
type writer struct {
	queue chan writeJob
	done  chan struct{}
	// queued counts the rows waiting in the queue; emit waits while it is
	// over maxQueuedRows. Bounding rows rather than batches lets a source
	// that parses fast finish its pull early, so the next source parses
	// while the writer is still storing the last one's rows.
	mu     sync.Mutex
	cond   *sync.Cond
	queued int
	// pending is a job taken from the queue by group and not merged.
	pending *writeJob
}

// take returns the next job: the pending one first, then the queue's.
func (w *writer) take() (writeJob, bool) {
	if w.pending != nil {
		j := *w.pending
		w.pending = nil
		return j, true
	}
	j, ok := <-w.queue
	return j, ok
}

// maxQueuedRows bounds the resolved rows waiting for the writer (about 1 KB
// each): enough for a fast source to run ahead, few enough to bound memory.
const maxQueuedRows = 15000

// reserve waits until n more rows may be queued. A batch larger than the
// bound still goes through once the queue is empty.
func (w *writer) reserve(n int) {
	w.mu.Lock()
	for w.queued > 0 && w.queued+n > maxQueuedRows {
		w.cond.Wait()
	}
	w.queued += n
	w.mu.Unlock()
}

// release gives back n rows' room.
func (w *writer) release(n int) {
	w.mu.Lock()
	w.queued -= n
	w.mu.Unlock()
	w.cond.Broadcast()
}

func (e *Engine) startWriter(ctx context.Context) *writer {
	// The channel only orders jobs; reserve bounds what waits in it.
	w := &writer{queue: make(chan writeJob, 1024), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go func() {
		defer close(w.done)
		for {
			j, ok := w.take()
			if !ok {
				return
			}
			r := j.run
			if j.last {
				r.end = time.Now()
				close(r.done)
				continue
			}
			if r.err != nil {
				w.release(j.rows.Len())
				continue // drain: the source stops at its next emit
			}
			var next *writeJob
			j, next = w.group(j)
			w.write(ctx, e, j)
			if next != nil {
				// A job of another run (or a run's end) that grouping
				// took from the queue goes back to the front.
				w.pending = next
			}
		}
	}()
	return w
}

// write stores one (possibly grouped) job and gives back its room.
func (w *writer) write(ctx context.Context, e *Engine, j writeJob) {
	defer w.release(j.rows.Len())
	r := j.run
	sourceID := r.res.SourceID
	var written store.Counts
	var err error
	if j.snapshot {
		// The snapshot's last rows, then the deletes and the
		// cursor: a crash between them re-reads the snapshot.
		var deleted store.Counts
		written, deleted, err = e.Store.WriteBatchComplete(ctx, sourceID, r.res.RunID, j.rows, j.scopes, "", e.DryRun)
		r.deleted.Add(deleted)
		if err == nil {
			deleted, err = e.Store.SoftDeleteMissing(ctx, sourceID, r.seen, j.window, j.cursor, e.DryRun)
			r.deleted.Add(deleted)
		}
	} else {
		var deleted store.Counts
		written, deleted, err = e.Store.WriteBatchComplete(ctx, sourceID, r.res.RunID, j.rows, j.scopes, j.cursor, e.DryRun)
		r.deleted.Add(deleted)
	}
	if err != nil {
		which := fmt.Sprintf("batch %d", j.n)
		if j.first != j.n {
			which = fmt.Sprintf("batches %d-%d", j.first, j.n)
		}
		r.err = fmt.Errorf("storing %s: %w", which, err)
		close(r.broken)
		return
	}
	r.written.Add(written)
	e.Logger.Debug("batch stored", "source", sourceID, "batch", j.n, "rows_written", written.Total())
	if e.Progress != nil {
		e.Progress.Batch(sourceID, j.received, r.written.Total()+r.deleted.Total())
	}
}

// groupRows bounds the rows grouped into one transaction.
const groupRows = 20000

// group merges into j the batches of the same run already waiting in the
// queue, so that when the writer falls behind it commits once for several
// batches instead of once each: fewer commits rewrite fewer index pages.
// The last batch's cursor covers every batch before it, so the merged batch
// keeps the newest cursor. It returns the first job it took that it could
// not merge, for the writer to handle next.
func (w *writer) group(j writeJob) (writeJob, *writeJob) {
	if j.snapshot {
		return j, nil
	}
	rows := *j.rows
	n := j.rows.Len()
	for n < groupRows {
		var k writeJob
		var open bool
		select {
		case k, open = <-w.queue:
			if !open {
				j.rows = &rows
				return j, nil
			}
		default:
			if rows.Len() != j.rows.Len() {
				j.rows = &rows
			}
			return j, nil
		}
		if k.last || k.run != j.run {
			j.rows = &rows
			return j, &k
		}
		rows.Append(k.rows)
		n += k.rows.Len()
		if k.cursor != "" {
			j.cursor = k.cursor
		}
		j.snapshot, j.window = k.snapshot, k.window
		j.scopes = append(j.scopes, k.scopes...)
		j.n, j.received = k.n, k.received
		if k.snapshot {
			break
		}
	}
	j.rows = &rows
	return j, nil
}

func mergeCounts(a, b store.Counts) store.Counts {
	out := store.Counts{}
	out.Add(a)
	for k, v := range b {
		out[k+"_deleted"] += v
	}
	return out
}

func markSeen(seen map[string]map[string]struct{}, b *store.Batch) {
	for _, r := range b.Containers {
		seen["containers"][r.ExternalID] = struct{}{}
	}
	for _, r := range b.People {
		seen["source_people"][r.ExternalID] = struct{}{}
	}
	for _, r := range b.Tasks {
		seen["tasks"][r.ExternalID] = struct{}{}
	}
	for _, r := range b.StatusChanges {
		seen["task_status_changes"][r.ExternalID] = struct{}{}
	}
	for _, r := range b.FieldChanges {
		seen["task_field_changes"][r.ExternalID] = struct{}{}
	}
	for _, r := range b.Messages {
		seen["messages"][r.ExternalID] = struct{}{}
	}
	for _, r := range b.TimeEntries {
		seen["time_entries"][r.ExternalID] = struct{}{}
	}
}

func countReceived(c store.Counts, b *record.Batch) {
	add := func(k string, n int) {
		if n > 0 {
			c[k] += n
		}
	}
	add("containers", len(b.Containers))
	add("source_people", len(b.People))
	add("tasks", len(b.Tasks))
	add("task_status_changes", len(b.StatusChanges))
	add("task_field_changes", len(b.FieldChanges))
	add("messages", len(b.Messages))
	add("time_entries", len(b.TimeEntries))
}
