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
	"sort"
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

// Engine syncs sources into a store.
type Engine struct {
	Store    *store.Store
	Resolver *mapping.Resolver
	Logger   *slog.Logger
	Progress Progress
	// DryRun computes everything and writes nothing.
	DryRun bool

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

// Job is one source to pull.
type Job struct {
	Info   mapping.SourceInfo
	Source connectors.Source
}

// Result is how a source's run went.
type Result struct {
	SourceID string
	RunID    int64
	// Skipped is true when the source had nothing new (no batch emitted).
	Received store.Counts
	Written  store.Counts
	Deleted  store.Counts
	Problems int
	Batches  int
	Duration time.Duration
	Err      error
}

// SyncModel copies the config's clients and people into the store.
func (e *Engine) SyncModel(ctx context.Context, cfg *mapping.Config) (int, error) {
	var clients []store.ConfigClient
	for _, c := range cfg.Clients {
		clients = append(clients, store.ConfigClient{ID: c.ID, Name: c.Name, Calendar: c.Calendar, PolicySet: c.PolicySet,
			MonthlyHours: c.Budget.MonthlyHours, Rollover: c.Budget.Rollover})
	}
	var people []store.ConfigPerson
	for _, p := range cfg.People {
		cp := store.ConfigPerson{ID: p.ID, Name: p.Name, Side: p.Side, Role: p.Role, ClientID: p.Client}
		for ns, values := range map[string][]string{mapping.IdentityEmail: p.Emails, mapping.IdentityTrello: p.Trello,
			mapping.IdentityGitHub: p.GitHub, mapping.IdentityTimeTracker: p.TimeTracker} {
			for _, v := range values {
				cp.Identities = append(cp.Identities, ns+":"+v)
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

// Run pulls one source to the end, or until it fails or ctx ends. It never
// panics: a source that panics fails its own run only.
func (e *Engine) Run(ctx context.Context, job Job) (res Result) {
	start := time.Now()
	res = Result{SourceID: job.Info.ID, Received: store.Counts{}, Written: store.Counts{}, Deleted: store.Counts{}}
	log := e.Logger.With("source", job.Info.ID)
	defer func() {
		if p := recover(); p != nil {
			res.Err = fmt.Errorf("source %s panicked: %v\n%s", job.Info.ID, p, debug.Stack())
		}
		res.Duration = time.Since(start)
		if res.RunID != 0 {
			// The run's record must be written even when ctx was cancelled.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := e.Store.FinishRun(fctx, res.RunID, store.RunResult{Batches: res.Batches, Received: res.Received,
				Written: mergeCounts(res.Written, res.Deleted), Problems: res.Problems, Err: res.Err}); err != nil && res.Err == nil {
				res.Err = err
			}
		}
	}()
	if !e.DryRun {
		if err := e.Store.EnsureSource(ctx, job.Info.ID, job.Info.Kind); err != nil {
			res.Err = err
			return res
		}
		id, err := e.Store.StartRun(ctx, job.Info.ID, false)
		if err != nil {
			res.Err = err
			return res
		}
		res.RunID = id
	}
	cursor, err := e.Store.Cursor(ctx, job.Info.ID)
	if err != nil {
		res.Err = err
		return res
	}
	b := &builder{res: e.Resolver, look: e.look, src: job.Info}
	seen := map[string]map[string]struct{}{}
	for _, t := range store.Tables {
		seen[t] = map[string]struct{}{}
	}
	emit := func(ctx context.Context, batch *record.Batch) error {
		b.now = e.Store.Now()
		rows := b.build(batch)
		markSeen(seen, rows)
		countReceived(res.Received, batch)
		res.Problems += len(batch.Problems)
		res.Batches++
		var written store.Counts
		var err error
		if batch.EndOfSnapshot {
			written, err = e.Store.WriteBatch(ctx, job.Info.ID, res.RunID, rows, "", e.DryRun)
			if err == nil {
				var deleted store.Counts
				deleted, err = e.Store.SoftDeleteMissing(ctx, job.Info.ID, seen, batch.Cursor, e.DryRun)
				res.Deleted.Add(deleted)
			}
		} else {
			written, err = e.Store.WriteBatch(ctx, job.Info.ID, res.RunID, rows, batch.Cursor, e.DryRun)
		}
		if err != nil {
			return fmt.Errorf("storing batch %d: %w", res.Batches, err)
		}
		res.Written.Add(written)
		log.Debug("batch stored", "records", batch.Len(), "rows_written", written.Total())
		if e.Progress != nil {
			e.Progress.Batch(job.Info.ID, res.Received.Total(), res.Written.Total()+res.Deleted.Total())
		}
		return nil
	}
	if err := job.Source.Pull(ctx, cursor, emit); err != nil {
		res.Err = err
		var unauthorized bool
		if errors.Is(err, connectors.ErrUnauthorized) {
			unauthorized = true
		}
		if unauthorized && !e.DryRun {
			_ = e.Store.SetAttention(context.WithoutCancel(ctx), job.Info.ID, "credentials refused: fix the token and run again")
		}
		return res
	}
	if !e.DryRun && res.Batches > 0 {
		_ = e.Store.SetAttention(ctx, job.Info.ID, "")
	}
	return res
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
	add("messages", len(b.Messages))
	add("time_entries", len(b.TimeEntries))
}
