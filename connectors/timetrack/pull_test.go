package timetrack_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/record"
)

// memTracker is a tracker in memory: entries by id, a page size, and a
// log of what was asked.
type memTracker struct {
	mu       sync.Mutex
	entries  map[string]record.TimeEntry
	modified map[string]time.Time
	deleted  map[string]time.Time
	pageSize int
	now      func() time.Time
	asked    []string
}

func newMemTracker(now func() time.Time) *memTracker {
	return &memTracker{entries: map[string]record.TimeEntry{}, modified: map[string]time.Time{}, deleted: map[string]time.Time{}, pageSize: 7, now: now}
}

func (m *memTracker) put(e record.TimeEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[e.ExternalID] = e
	m.modified[e.ExternalID] = m.now()
	delete(m.deleted, e.ExternalID)
}

func (m *memTracker) remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, id)
	delete(m.modified, id)
	m.deleted[id] = m.now()
}

func (m *memTracker) pages(sel []record.TimeEntry, fn func(timetrack.Page) error) error {
	slices.SortFunc(sel, func(a, b record.TimeEntry) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	for start := 0; start < len(sel); start += m.pageSize {
		if err := fn(timetrack.Page{Entries: sel[start:min(start+m.pageSize, len(sel))]}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memTracker) Entries(_ context.Context, from, to time.Time, fn func(timetrack.Page) error) error {
	m.mu.Lock()
	m.asked = append(m.asked, "entries "+from.Format(time.DateOnly)+".."+to.Format(time.DateOnly))
	var sel []record.TimeEntry
	for _, e := range m.entries {
		if e.Date >= from.Format(time.DateOnly) && e.Date <= to.Format(time.DateOnly) {
			sel = append(sel, e)
		}
	}
	m.mu.Unlock()
	return m.pages(sel, fn)
}

// changesTracker adds the change listing.
type changesTracker struct{ *memTracker }

func (c changesTracker) Changed(_ context.Context, since time.Time, fn func(timetrack.Page) error) error {
	c.mu.Lock()
	c.asked = append(c.asked, "changed since "+since.Format(time.RFC3339))
	var sel []record.TimeEntry
	for id, at := range c.modified {
		if !at.Before(since) {
			sel = append(sel, c.entries[id])
		}
	}
	for id, at := range c.deleted {
		if !at.Before(since) {
			sel = append(sel, record.TimeEntry{ExternalID: id, Date: "2000-01-01", Deleted: true})
		}
	}
	c.mu.Unlock()
	return c.pages(sel, fn)
}

// memStore applies batches as the engine does: upserts, Deleted entries
// soft-deleted, and time_entries scopes soft-deleting live entries dated
// inside them that the batch does not hold. It checks that every batch
// keeps the contract: scopes valid, cursor only where promised.
type memStore struct {
	live    map[string]record.TimeEntry
	cursor  string
	batches int
	scopes  []record.Scope
	fail    func(n int) error
}

func newMemStore() *memStore { return &memStore{live: map[string]record.TimeEntry{}} }

func (m *memStore) emit(_ context.Context, b *record.Batch) error {
	m.batches++
	if m.fail != nil {
		if err := m.fail(m.batches); err != nil {
			return err
		}
	}
	in := map[string]bool{}
	for _, e := range b.TimeEntries {
		in[e.ExternalID] = true
		if e.Deleted {
			delete(m.live, e.ExternalID)
			continue
		}
		m.live[e.ExternalID] = e
	}
	for _, s := range b.Complete {
		if err := s.Validate(); err != nil {
			return err
		}
		m.scopes = append(m.scopes, s)
		for id, e := range m.live {
			d, _ := time.Parse(time.DateOnly, e.Date)
			if !in[id] && !d.Before(s.From) && (s.To.IsZero() || d.Before(s.To)) {
				delete(m.live, id)
			}
		}
	}
	if b.Cursor != "" {
		m.cursor = b.Cursor
	}
	return nil
}

// hours sums seconds per person, per task and per client.
func hours(entries map[string]record.TimeEntry) string {
	sums := map[string]int64{}
	for _, e := range entries {
		sums["person "+e.PersonID] += e.Seconds
		sums["task "+e.TaskID] += e.Seconds
		sums["client "+e.ClientName] += e.Seconds
	}
	keys := slices.Sorted(maps.Keys(sums))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d\n", k, sums[k])
	}
	return b.String()
}

var t0 = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func entry(id string, date string, secs int64) record.TimeEntry {
	return record.TimeEntry{ExternalID: id, PersonID: "u" + id[len(id)-1:], TaskID: "t" + id[:1], ClientName: "Бетта", Date: date, Seconds: secs}
}

func newSource(t *testing.T, tr timetrack.Tracker, now func() time.Time, mod func(*timetrack.Options)) *timetrack.Source {
	t.Helper()
	o := timetrack.NewOptions("http://unused")
	o.BackfillMonths = 4
	o.BatchSize = 10
	if mod != nil {
		mod(o)
	}
	if err := o.Check(); err != nil {
		t.Fatal(err)
	}
	return timetrack.NewSource(tr, *o, connectors.Env{Now: now})
}

// fill puts n entries a day on every weekday of Aug-Nov 2026.
func fill(tr *memTracker, n int) {
	for d := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		for i := range n {
			tr.put(entry(fmt.Sprintf("%s-%d", d.Format("20060102"), i), d.Format(time.DateOnly), int64(1800*(i+1))))
		}
	}
}

func TestBackfillThenWindow(t *testing.T) {
	t.Parallel()
	now := t0
	tr := newMemTracker(func() time.Time { return now })
	fill(tr, 3)
	src := newSource(t, tr, func() time.Time { return now }, nil)
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	if got, want := hours(m.live), hours(tr.entries); got != want {
		t.Fatalf("after the backfill:\n%s\nwant\n%s", got, want)
	}
	// Months before the window one at a time, oldest first, then the
	// window (October and November, to tomorrow).
	wantAsked := []string{"entries 2026-08-01..2026-08-31", "entries 2026-09-01..2026-09-30", "entries 2026-10-01..2026-11-21"}
	if !slices.Equal(tr.asked, wantAsked) {
		t.Errorf("asked %v, want %v", tr.asked, wantAsked)
	}
	// Scopes tile August 1 to November 22 with no gap and no overlap.
	at := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range m.scopes {
		if !s.From.Equal(at) {
			t.Fatalf("scope starts %s, want %s (scopes %v)", s.From, at, m.scopes)
		}
		at = s.To
	}
	if want := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC); !at.Equal(want) {
		t.Errorf("scopes end %s, want %s", at, want)
	}

	// A day later: an entry edited, one deleted, one added, in the window;
	// one edited in August, outside it.
	now = now.Add(24 * time.Hour)
	tr.asked = nil
	e := tr.entries["20261102-1"]
	e.Seconds = 99
	tr.put(e)
	tr.remove("20261103-0")
	tr.put(entry("20261121-0", "2026-11-21", 600))
	old := tr.entries["20260803-0"]
	old.Seconds = 7
	tr.put(old)
	if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.asked, []string{"entries 2026-10-01..2026-11-22"}) {
		t.Errorf("second pull asked %v, want only the window", tr.asked)
	}
	delete(tr.entries, "20260803-0") // the store keeps August as read
	want := tr.entries
	want["20260803-0"] = entry("20260803-0", "2026-08-03", 1800)
	if got, w := hours(m.live), hours(want); got != w {
		t.Errorf("after edits:\n%s\nwant\n%s", got, w)
	}
	if _, ok := m.live["20261103-0"]; ok {
		t.Error("the entry deleted upstream is still live")
	}
}

// The window moves with the month: the month leaving it is read one last
// time, as the backfill's next month.
func TestMonthLeavesWindow(t *testing.T) {
	t.Parallel()
	now := t0
	tr := newMemTracker(func() time.Time { return now })
	fill(tr, 1)
	src := newSource(t, tr, func() time.Time { return now }, nil)
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	now = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	tr.asked = nil
	if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	want := []string{"entries 2026-10-01..2026-10-31", "entries 2026-11-01..2026-12-02"}
	if !slices.Equal(tr.asked, want) {
		t.Errorf("asked %v, want %v", tr.asked, want)
	}
}

// Batches never split a day, and every batch's scope covers exactly its
// days.
func TestBatchesCutAtDays(t *testing.T) {
	t.Parallel()
	now := t0
	tr := newMemTracker(func() time.Time { return now })
	fill(tr, 4) // 4 a day, batches of 10: two days and a half would not fit
	src := newSource(t, tr, func() time.Time { return now }, func(o *timetrack.Options) { o.BackfillMonths, o.ReconcileMonths = 1, 1 })
	var batches []*record.Batch
	err := src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		c := *b
		c.TimeEntries = slices.Clone(b.TimeEntries)
		batches = append(batches, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range batches {
		if len(b.TimeEntries) > 10 {
			t.Errorf("batch %d holds %d entries", i, len(b.TimeEntries))
		}
		if len(b.Complete) != 1 {
			t.Fatalf("batch %d has %d scopes", i, len(b.Complete))
		}
		s := b.Complete[0]
		for _, e := range b.TimeEntries {
			d, _ := time.Parse(time.DateOnly, e.Date)
			if d.Before(s.From) || !d.Before(s.To) {
				t.Errorf("batch %d: entry dated %s outside its scope %s..%s", i, e.Date, s.From, s.To)
			}
		}
		if (b.Cursor != "") != (i == len(batches)-1) {
			t.Errorf("batch %d of %d: cursor %q", i, len(batches), b.Cursor)
		}
	}
	if len(batches) < 5 {
		t.Errorf("%d batches for a month at 4 a day in batches of 10", len(batches))
	}
}

// A kill mid-backfill: the next pull resumes at the month it was in and
// ends where an uninterrupted pull ends.
func TestKilledBackfillResumes(t *testing.T) {
	t.Parallel()
	for kill := 1; kill <= 12; kill++ {
		now := t0
		tr := newMemTracker(func() time.Time { return now })
		fill(tr, 2)
		src := newSource(t, tr, func() time.Time { return now }, nil)
		m := newMemStore()
		boom := errors.New("killed")
		m.fail = func(n int) error {
			if n == kill {
				return boom
			}
			return nil
		}
		if err := src.Pull(context.Background(), "", m.emit); !errors.Is(err, boom) {
			t.Fatalf("kill at batch %d: err %v", kill, err)
		}
		m.fail = nil
		if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
			t.Fatal(err)
		}
		if got, want := hours(m.live), hours(tr.entries); got != want {
			t.Errorf("kill at batch %d, then a pull:\n%s\nwant\n%s", kill, got, want)
		}
	}
}

// A tracker with a change listing: between reconciles only changes are
// asked for (deletions included when the tracker reports them); after
// reconcile_every the window is read again.
func TestChangesBetweenReconciles(t *testing.T) {
	t.Parallel()
	now := t0
	mt := newMemTracker(func() time.Time { return now })
	fill(mt, 2)
	tr := changesTracker{mt}
	src := newSource(t, tr, func() time.Time { return now }, nil)
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	mt.asked = nil
	e := mt.entries["20261102-1"]
	e.Seconds = 5
	mt.put(e)
	mt.remove("20261104-0")
	if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	if len(mt.asked) != 1 || !strings.HasPrefix(mt.asked[0], "changed since 2026-11-20T14:55:00Z") {
		t.Errorf("asked %v, want the changes since the last pull less the overlap", mt.asked)
	}
	if got, want := hours(m.live), hours(mt.entries); got != want {
		t.Errorf("after changes:\n%s\nwant\n%s", got, want)
	}
	now = now.Add(6 * time.Hour)
	mt.asked = nil
	if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mt.asked, []string{"entries 2026-10-01..2026-11-21"}) {
		t.Errorf("after reconcile_every, asked %v, want the window", mt.asked)
	}
}

// Bad entries are problems, the rest is stored, and an entry listed twice
// (it moved between pages) is stored once with its later values.
func TestBadAndRepeatedEntries(t *testing.T) {
	t.Parallel()
	tr := pagesTracker{pages: []timetrack.Page{
		{Entries: []record.TimeEntry{{ExternalID: "1", Date: "2026-11-02", Seconds: 60}, {ExternalID: "", Date: "2026-11-02"}}},
		{Entries: []record.TimeEntry{{ExternalID: "2", Date: "02.11.2026", Seconds: 60}, {ExternalID: "1", Date: "2026-11-02", Seconds: 120}}},
	}}
	src := newSource(t, tr, func() time.Time { return t0 }, func(o *timetrack.Options) { o.BackfillMonths, o.ReconcileMonths = 1, 1 })
	var got []record.TimeEntry
	var problems []record.Problem
	err := src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		got = append(got, b.TimeEntries...)
		problems = append(problems, b.Problems...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seconds != 120 {
		t.Errorf("entries %+v, want entry 1 once with 120 s", got)
	}
	var msgs []string
	for _, p := range problems {
		msgs = append(msgs, p.Where+": "+p.Message)
	}
	sort.Strings(msgs)
	all := strings.Join(msgs, "\n")
	if len(msgs) != 2 || !strings.Contains(all, "without an id") || !strings.Contains(all, `entry 2: bad date "02.11.2026"`) {
		t.Errorf("problems %q", msgs)
	}
}

type pagesTracker struct{ pages []timetrack.Page }

func (p pagesTracker) Entries(_ context.Context, _, _ time.Time, fn func(timetrack.Page) error) error {
	for _, pg := range p.pages {
		if err := fn(pg); err != nil {
			return err
		}
	}
	return nil
}

func TestOptionsCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mod  func(*timetrack.Options)
		want string
	}{
		{func(o *timetrack.Options) { o.BackfillMonths = 0 }, "backfill_months"},
		{func(o *timetrack.Options) { o.ReconcileMonths = 13 }, "exceeds backfill_months"},
		{func(o *timetrack.Options) { o.ReconcileEvery = 0 }, "reconcile_every"},
		{func(o *timetrack.Options) { o.BatchSize = 0 }, "batch_size"},
	} {
		o := timetrack.NewOptions("https://example.test")
		tt.mod(o)
		if err := o.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check() = %v, want an error about %s", err, tt.want)
		}
	}
	o := timetrack.NewOptions("https://example.test")
	if _, err := o.Secret(connectors.Env{}, "EVERHOUR_TOKEN"); err == nil || !strings.Contains(err.Error(), "${EVERHOUR_TOKEN}") {
		t.Errorf("missing token: %v", err)
	}
}

// checkingTracker answers Check with err.
type checkingTracker struct {
	*memTracker
	err error
}

func (c checkingTracker) Check(context.Context) error { return c.err }

// The source's Check is the tracker's; a tracker without one says so
// rather than passing.
func TestSourceCheck(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return t0 }
	refused := fmt.Errorf("GET /me: 401 Unauthorized: %w", connectors.ErrUnauthorized)
	for _, tt := range []struct {
		name string
		tr   timetrack.Tracker
		want func(error) bool
	}{
		{"passes", checkingTracker{newMemTracker(now), nil}, func(err error) bool { return err == nil }},
		{"refused", checkingTracker{newMemTracker(now), refused}, func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{"cannot check", newMemTracker(now), func(err error) bool { return errors.Is(err, errors.ErrUnsupported) }},
	} {
		if err := newSource(t, tt.tr, now, nil).Check(context.Background()); !tt.want(err) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
