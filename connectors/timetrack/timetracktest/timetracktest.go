// Package timetracktest holds what the time-tracker packages' store tests
// share: syncing a source through the real engine and comparing the
// store's live hours with a fake's. Only tests import it.
package timetracktest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// Sync runs src once through a new engine over st with cfg's mapping.
func Sync(t *testing.T, st *store.Store, cfg *mapping.Config, info mapping.SourceInfo, src connectors.Source) engine.Result {
	t.Helper()
	ctx := context.Background()
	e, err := engine.New(ctx, st, mapping.NewResolver(cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(ctx, engine.Job{Info: info, Source: src})
}

// LiveHours sums the live seconds of a source's entries per
// "person|task|client" (the mapping's person id, the tracker's task
// reference, the client id).
func LiveHours(t *testing.T, st *store.Store, sourceID string) map[string]int64 {
	t.Helper()
	var rows []struct {
		Person  string `db:"person_id"`
		Task    string `db:"task_ref"`
		Client  string `db:"client_id"`
		Seconds int64  `db:"seconds"`
	}
	err := st.Select(context.Background(), &rows, st.Rebind(`SELECT person_id, task_ref, client_id, SUM(seconds) AS seconds FROM time_entries
		WHERE source_id = ? AND deleted_at IS NULL GROUP BY person_id, task_ref, client_id`), sourceID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Person+"|"+r.Task+"|"+r.Client] = r.Seconds
	}
	return out
}

// SameHours reports every key whose seconds differ between the store and
// the tracker (named in the messages).
func SameHours(t *testing.T, what, tracker string, got, want map[string]int64) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s has %d s in the store, %d in %s", what, k, got[k], v, tracker)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s has %d s in the store, none in %s", what, k, v, tracker)
		}
	}
}
