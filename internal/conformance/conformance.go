// Package conformance is the one suite every source runs, the way River's
// riverdrivertest.Exercise runs every driver: a connector's test hands Run
// a Harness (how to open the source on its fake, change and delete
// something upstream, arm faults, refuse its credentials) and Run checks,
// on SQLite and PostgreSQL, through the real engine:
//
//   - the first sync stores rows, and a second with nothing new writes
//     none (idempotent re-sync, the cursor resumed);
//   - a pull killed between two batches leaves the store consistent, and
//     the next sync brings it to exactly what a clean sync stores;
//   - a change upstream is stored by the next sync, a deletion upstream
//     is stored as the source promises (the row deleted; mail kept);
//   - for a source behind an API (a Remote): a transient fault (a 5xx)
//     and a rate limit (429) are retried or waited out, losing nothing;
//   - for a source behind a login (a Refuser: every Remote, and imap on a
//     real Dovecot): Check passes with good credentials and says
//     ErrUnauthorized with refused ones, and a sync with them stops with
//     ErrUnauthorized, storing nothing on a new store and changing
//     nothing on one a good sync filled.
//
// Only tests import it.
package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// Harness is what the suite needs of one source kind.
type Harness struct {
	// Config is a whole config mapping the fake's people and clients
	// (its sources: block names the source Info.ID).
	Config string
	// Info names the source as the engine sees it.
	Info mapping.SourceInfo
	// New starts a fresh upstream (a fake) for one subtest and returns
	// the upstream's handle: a Remote unless Files or RealServer (then
	// a Refuser).
	New func(t *testing.T) Upstream
	// Files says the source reads files, not an API: there are no
	// faults or credentials to check.
	Files bool
	// RealServer says the upstream is a real server (Dovecot for imap)
	// that cannot be made to fail on cue: its credentials are checked
	// (the upstream is a Refuser), its faults are not.
	RealServer bool
}

// Upstream is one fake service (or a folder of export files) with the
// source opened on it.
type Upstream interface {
	// Open returns the source on the upstream; every call reads the same
	// upstream, with a cursor the caller keeps.
	Open(t *testing.T) connectors.Source
	// Change makes one change the next sync must store and returns the
	// check that a store's records hold it.
	Change(t *testing.T) func(testdb.Records) bool
	// Delete deletes one stored thing upstream (moving the source's
	// clock when its pull finds deletions on a schedule) and returns the
	// check that a store's live records show the deletion as the source
	// promises: no longer held, for most; still held, for mail an IMAP
	// expunge does not unsay (the agency's record of what was said).
	Delete(t *testing.T) func(testdb.Records) bool
}

// Refuser is an Upstream behind a login: the suite checks credentials.
type Refuser interface {
	Upstream
	// Refused returns the source opened with credentials the upstream
	// refuses.
	Refused(t *testing.T) connectors.Source
}

// Remote is an Upstream behind an API: the suite also checks faults and
// credentials. (A file source has neither.)
type Remote interface {
	Refuser
	// Fault arms a transient server error on the next request, RateLimit
	// a 429; both once.
	Fault(t *testing.T)
	RateLimit(t *testing.T)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
	l, err := mapping.Parse("karkas.yaml", []byte(h.Config), mapping.LoadOptions{})
	if err != nil {
		t.Fatalf("the harness's config: %v", err)
	}
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			t.Run("resync", func(t *testing.T) { t.Parallel(); resync(t, h, l.Config, dialect) })
			t.Run("kill", func(t *testing.T) { t.Parallel(); kill(t, h, l.Config, dialect) })
			t.Run("change", func(t *testing.T) { t.Parallel(); change(t, h, l.Config, dialect) })
			if !h.Files && !h.RealServer {
				t.Run("faults", func(t *testing.T) { t.Parallel(); faults(t, h, l.Config, dialect) })
			}
			if !h.Files {
				t.Run("credentials", func(t *testing.T) { t.Parallel(); check(t, h, l.Config, dialect) })
			}
		})
	}
}

func mustSync(t *testing.T, st *store.Store, cfg *mapping.Config, info mapping.SourceInfo, src connectors.Source, what string) engine.Result {
	t.Helper()
	res := timetracktest.Sync(t, st, cfg, info, src)
	if res.Err != nil {
		t.Fatalf("%s: %v", what, res.Err)
	}
	return res
}

// rows is every live record of the source, as JSON by table and id, for
// comparing two stores.
func rows(t *testing.T, st *store.Store, source string) map[string]string {
	t.Helper()
	r := testdb.LiveRecords(t, st, source)
	out := map[string]string{}
	add := func(table string, m any) {
		b, _ := json.Marshal(m)
		var byID map[string]json.RawMessage
		_ = json.Unmarshal(b, &byID)
		for id, v := range byID {
			out[table+"/"+id] = string(v)
		}
	}
	add("containers", r.Containers)
	add("people", r.People)
	add("tasks", r.Tasks)
	add("status_changes", r.Changes)
	add("field_changes", r.Fields)
	add("messages", r.Messages)
	add("time_entries", r.Entries)
	return out
}

func sameRows(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s is missing", what, k)
		} else if g != want[k] {
			t.Errorf("%s: %s differs:\n got %s\nwant %s", what, k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s is extra", what, k)
		}
	}
}

func resync(t *testing.T, h Harness, cfg *mapping.Config, dialect string) {
	up := h.New(t)
	st := testdb.Open(t, dialect)
	src := up.Open(t)
	if res := mustSync(t, st, cfg, h.Info, src, "first sync"); res.Written.Total() == 0 {
		t.Fatal("the first sync wrote nothing: the harness's fake is empty")
	}
	first := rows(t, st, h.Info.ID)
	if res := mustSync(t, st, cfg, h.Info, up.Open(t), "second sync"); res.Written.Total() != 0 || res.Deleted.Total() != 0 {
		t.Errorf("a sync with nothing new wrote %v and deleted %v", res.Written, res.Deleted)
	}
	sameRows(t, "after a second sync", rows(t, st, h.Info.ID), first)
}

var errKilled = errors.New("conformance: killed between batches")

// killed is a source whose emit fails at batch n, as a crash would.
type killed struct {
	src connectors.Source
	n   int
}

func (k *killed) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	seen := 0
	return k.src.Pull(ctx, cursor, func(ctx context.Context, b *record.Batch) error {
		if seen++; seen == k.n {
			return errKilled
		}
		return emit(ctx, b)
	})
}

func kill(t *testing.T, h Harness, cfg *mapping.Config, dialect string) {
	up := h.New(t)
	ref := testdb.Open(t, dialect)
	mustSync(t, ref, cfg, h.Info, up.Open(t), "reference sync")
	want := rows(t, ref, h.Info.ID)
	for _, n := range []int{1, 2, 3} {
		st := testdb.Open(t, dialect)
		res := timetracktest.Sync(t, st, cfg, h.Info, &killed{src: up.Open(t), n: n})
		if res.Err == nil {
			continue // the pull had fewer batches
		}
		if !errors.Is(res.Err, errKilled) {
			t.Fatalf("killed at batch %d: %v", n, res.Err)
		}
		mustSync(t, st, cfg, h.Info, up.Open(t), "sync after the kill")
		sameRows(t, fmt.Sprintf("killed at batch %d, then synced", n), rows(t, st, h.Info.ID), want)
	}
}

func change(t *testing.T, h Harness, cfg *mapping.Config, dialect string) {
	up := h.New(t)
	st := testdb.Open(t, dialect)
	mustSync(t, st, cfg, h.Info, up.Open(t), "first sync")
	holds := up.Change(t)
	mustSync(t, st, cfg, h.Info, up.Open(t), "sync after a change")
	if !holds(testdb.LiveRecords(t, st, h.Info.ID)) {
		t.Error("the change upstream is not in the store")
	}
	gone := up.Delete(t)
	mustSync(t, st, cfg, h.Info, up.Open(t), "sync after a deletion")
	if !gone(testdb.LiveRecords(t, st, h.Info.ID)) {
		t.Error("after a deletion upstream, the store does not hold what the source promises")
	}
}

func remote(t *testing.T, h Harness) Remote {
	up := h.New(t)
	r, ok := up.(Remote)
	if !ok {
		t.Fatalf("the harness of %s is not a Remote; set Files for a file source", h.Info.Kind)
	}
	return r
}

func faults(t *testing.T, h Harness, cfg *mapping.Config, dialect string) {
	up := remote(t, h)
	ref := testdb.Open(t, dialect)
	mustSync(t, ref, cfg, h.Info, up.Open(t), "reference sync")
	want := rows(t, ref, h.Info.ID)
	for _, arm := range []struct {
		name string
		fn   func(*testing.T)
	}{{"a 5xx", up.Fault}, {"a 429", up.RateLimit}} {
		st := testdb.Open(t, dialect)
		arm.fn(t)
		mustSync(t, st, cfg, h.Info, up.Open(t), "sync meeting "+arm.name)
		sameRows(t, "after "+arm.name, rows(t, st, h.Info.ID), want)
	}
}

func check(t *testing.T, h Harness, cfg *mapping.Config, dialect string) {
	up, ok := h.New(t).(Refuser)
	if !ok {
		t.Fatalf("the harness of %s is not a Refuser; set Files for a file source", h.Info.Kind)
	}
	ctx := context.Background()
	if c, ok := up.Open(t).(connectors.Checker); ok {
		if err := c.Check(ctx); err != nil {
			t.Errorf("Check with good credentials: %v", err)
		}
	}
	// Credentials revoked after a good sync: the sync stops, and what the
	// store holds stays as it was (nothing deleted as if gone upstream).
	// (Refused may revoke them on the upstream, so the good sync comes
	// first.)
	held := testdb.Open(t, dialect)
	mustSync(t, held, cfg, h.Info, up.Open(t), "sync with good credentials")
	before := rows(t, held, h.Info.ID)
	refused := up.Refused(t)
	if c, ok := refused.(connectors.Checker); ok {
		if err := c.Check(ctx); !errors.Is(err, connectors.ErrUnauthorized) {
			t.Errorf("Check with refused credentials: %v, want ErrUnauthorized", err)
		}
	}
	st := testdb.Open(t, dialect)
	if res := timetracktest.Sync(t, st, cfg, h.Info, refused); !errors.Is(res.Err, connectors.ErrUnauthorized) {
		t.Errorf("a sync with refused credentials: %v, want ErrUnauthorized", res.Err)
	}
	if n := len(rows(t, st, h.Info.ID)); n != 0 {
		t.Errorf("a sync with refused credentials stored %d rows", n)
	}
	if res := timetracktest.Sync(t, held, cfg, h.Info, refused); !errors.Is(res.Err, connectors.ErrUnauthorized) {
		t.Errorf("a sync after the credentials were refused: %v, want ErrUnauthorized", res.Err)
	}
	sameRows(t, "after a sync with refused credentials", rows(t, held, h.Info.ID), before)
}
