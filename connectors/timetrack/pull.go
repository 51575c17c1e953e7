package timetrack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// Source pulls a tracker through the window described in the package doc.
type Source struct {
	tr   Tracker
	opts Options
	now  func() time.Time
	log  *slog.Logger
}

// NewSource returns a source pulling tr; opts must have passed Check.
func NewSource(tr Tracker, opts Options, env connectors.Env) *Source {
	s := &Source{tr: tr, opts: opts, now: env.Now, log: env.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Tracker returns the tracker the source pulls.
func (s *Source) Tracker() Tracker { return s.tr }

// Check asks the tracker whether its token and account work, when it can
// (see connectors.Checker); a tracker that cannot says so with an error
// that is errors.ErrUnsupported.
func (s *Source) Check(ctx context.Context) error {
	c, ok := s.tr.(connectors.Checker)
	if !ok {
		return fmt.Errorf("the tracker has no online check: %w", errors.ErrUnsupported)
	}
	return c.Check(ctx)
}

// cursor is the source's position, stored as JSON.
type cursor struct {
	// Backfill is the first day of the next month the backfill reads
	// ("2006-01-02"); empty before the first pull.
	Backfill string `json:"backfill,omitempty"`
	// Reconciled is when the window was last read in full.
	Reconciled time.Time `json:"reconciled,omitzero"`
	// Since is when the last pull that read the window or its changes
	// started: the next Changed asks from here.
	Since time.Time `json:"since,omitzero"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// changesOverlap is how far before the last pull's start Changed asks
// again, for clocks that disagree a little and writes that committed late.
const changesOverlap = 5 * time.Minute

const day = 24 * time.Hour

// monthStart is the first day of t's month at midnight UTC, moved by
// add months.
func monthStart(t time.Time, add int) time.Time {
	return time.Date(t.Year(), t.Month()+time.Month(add), 1, 0, 0, 0, 0, time.UTC)
}

// Pull backfills the months before the window that are not read yet,
// oldest first, then reads the window (or only its changes). Each month of
// the backfill and the window end with the cursor, so a kill loses at
// most the month it was in. The pull ends at the deadline option, keeping
// what it stored.
func (s *Source) Pull(ctx context.Context, raw string, emit connectors.Emit) error {
	ctx, cancel := connectors.WithDeadline(ctx, s.now(), s.opts.Deadline)
	defer cancel()
	return connectors.DeadlineReached(ctx, s.pull(ctx, raw, emit))
}

func (s *Source) pull(ctx context.Context, raw string, emit connectors.Emit) error {
	var cur cursor
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &cur); err != nil {
			s.log.Warn("time tracker cursor unreadable, reading every month again", "error", err)
			cur = cursor{}
		}
	}
	started := s.now().UTC()
	window := monthStart(started, -(s.opts.ReconcileMonths - 1))
	// Entries are filed under the tracker's local date, which may be a
	// day ahead of UTC; a day more covers every zone.
	today := time.Date(started.Year(), started.Month(), started.Day(), 0, 0, 0, 0, time.UTC)
	end := today.Add(day)

	next := monthStart(started, -(s.opts.BackfillMonths - 1))
	if cur.Backfill != "" {
		t, err := time.Parse(time.DateOnly, cur.Backfill)
		if err != nil {
			s.log.Warn("time tracker cursor has a bad backfill date, starting over", "backfill", cur.Backfill)
		} else {
			next = t
		}
	}
	for next.Before(window) {
		after := monthStart(next, 1)
		cur.Backfill = after.Format(time.DateOnly)
		if err := s.readRange(ctx, next, after.Add(-day), cur, emit); err != nil {
			return err
		}
		next = after
	}
	cur.Backfill = window.Format(time.DateOnly)

	if ch, ok := s.tr.(Changes); ok && !cur.Since.IsZero() && !cur.Reconciled.IsZero() &&
		started.Before(cur.Reconciled.Add(s.opts.ReconcileEvery)) {
		since := cur.Since.Add(-changesOverlap)
		cur.Since = started
		return s.readChanges(ctx, ch, since, cur, emit)
	}
	cur.Reconciled, cur.Since = started, started
	return s.readRange(ctx, window, end, cur, emit)
}

// gather collects pages, the later of two answers for one id winning (an
// entry edited between pages shows up twice).
type gather struct {
	byID     map[string]int
	entries  []record.TimeEntry
	problems []record.Problem
}

func (g *gather) add(p Page) error {
	g.problems = append(g.problems, p.Problems...)
	for _, e := range p.Entries {
		if e.ExternalID == "" {
			g.problems = append(g.problems, record.Problem{Where: "time entry", Message: "entry without an id skipped"})
			continue
		}
		if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
			g.problems = append(g.problems, record.Problem{Where: "time entry " + e.ExternalID, Message: fmt.Sprintf("bad date %q skipped", e.Date)})
			continue
		}
		if i, ok := g.byID[e.ExternalID]; ok {
			g.entries[i] = e
			continue
		}
		g.byID[e.ExternalID] = len(g.entries)
		g.entries = append(g.entries, e)
	}
	return nil
}

// readRange reads the entries dated from..to and emits them cut at day
// boundaries, each batch scoped to the days it covers; the last batch
// carries cur.
func (s *Source) readRange(ctx context.Context, from, to time.Time, cur cursor, emit connectors.Emit) error {
	g := &gather{byID: map[string]int{}}
	if err := s.tr.Entries(ctx, from, to, g.add); err != nil {
		return fmt.Errorf("reading time entries %s..%s: %w", from.Format(time.DateOnly), to.Format(time.DateOnly), err)
	}
	slices.SortFunc(g.entries, func(a, b record.TimeEntry) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.ExternalID, b.ExternalID))
	})
	scopeFrom := from
	b := &record.Batch{Problems: g.problems}
	flush := func(scopeTo time.Time, last bool) error {
		b.Complete = []record.Scope{{Kind: record.ScopeTimeEntries, From: scopeFrom, To: scopeTo}}
		if last {
			b.Cursor = cur.String()
		}
		if err := emit(ctx, b); err != nil {
			return err
		}
		scopeFrom = scopeTo
		b = &record.Batch{}
		return nil
	}
	rangeEnd := to.Add(day)
	for i := 0; i < len(g.entries); {
		// One day's entries: they always share a batch.
		j := i + 1
		for j < len(g.entries) && g.entries[j].Date == g.entries[i].Date {
			j++
		}
		d, _ := time.Parse(time.DateOnly, g.entries[i].Date)
		if len(b.TimeEntries) > 0 && len(b.TimeEntries)+(j-i) > s.opts.BatchSize && d.After(scopeFrom) && d.Before(rangeEnd) {
			if err := flush(d, false); err != nil {
				return err
			}
		}
		b.TimeEntries = append(b.TimeEntries, g.entries[i:j]...)
		i = j
	}
	return flush(rangeEnd, true)
}

// readChanges emits what changed since since, in batches without scopes
// (a change list says nothing of the entries it leaves out).
func (s *Source) readChanges(ctx context.Context, ch Changes, since time.Time, cur cursor, emit connectors.Emit) error {
	g := &gather{byID: map[string]int{}}
	if err := ch.Changed(ctx, since, g.add); err != nil {
		return fmt.Errorf("reading time entries changed since %s: %w", since.Format(time.RFC3339), err)
	}
	for start := 0; ; start += s.opts.BatchSize {
		stop := min(start+s.opts.BatchSize, len(g.entries))
		b := &record.Batch{TimeEntries: g.entries[start:stop]}
		if start == 0 {
			b.Problems = g.problems
		}
		last := stop == len(g.entries)
		if last {
			b.Cursor = cur.String()
		}
		if err := emit(ctx, b); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}
