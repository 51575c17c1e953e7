package planfix_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/internal/testdb"
)

// An export (the fake's world saved) syncs the same records as the API
// pull of that world; an unchanged file costs nothing; a file that no
// longer decodes is a problem and deletes nothing; a task gone from a
// good file is deleted.
func TestExportIntoStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "planfix.json")
	w := planfixfake.Sample(epoch)
	write := func(w planfixfake.World) {
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(w)
	src, err := planfix.ExportKind().Open(&planfix.ExportOptions{Files: []string{"*.json"}, Account: "northwind", BatchSize: 1}, connectors.Env{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Open(t, "sqlite")
	r := newRig(t, w, planfixfake.DefaultToken)
	if res := r.sync(t, st, src); res.Err != nil {
		t.Fatal(res.Err)
	}
	got := testdb.LiveRecords(t, st, "planfix")
	apiStore := testdb.Open(t, "sqlite")
	if res := r.sync(t, apiStore, r.src); res.Err != nil {
		t.Fatal(res.Err)
	}
	want := testdb.LiveRecords(t, apiStore, "planfix")
	if len(got.Tasks) != len(want.Tasks) || len(got.Messages) != len(want.Messages) || len(got.Changes) != len(want.Changes) || len(got.People) != len(want.People) {
		t.Errorf("export: %d tasks, %d messages, %d moves, %d people; API: %d, %d, %d, %d", len(got.Tasks), len(got.Messages), len(got.Changes), len(got.People),
			len(want.Tasks), len(want.Messages), len(want.Changes), len(want.People))
	}
	for id, m := range want.Messages {
		if got.Messages[id].Body != m.Body || !got.Messages[id].SentAt.Equal(m.SentAt) {
			t.Errorf("message %s: export %+v, API %+v", id, got.Messages[id], m)
		}
	}
	if res := r.sync(t, st, src); res.Err != nil || res.Written.Total() != 0 {
		t.Errorf("unchanged file: %d written, %v", res.Written.Total(), res.Err)
	}
	if err := os.WriteFile(path, []byte(`{"tasks": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := r.sync(t, st, src); res.Err != nil {
		t.Fatal(res.Err)
	}
	if n := len(testdb.LiveRecords(t, st, "planfix").Tasks); n != 3 {
		t.Errorf("after a broken file %d live tasks, want the 3 kept", n)
	}
	w.Tasks = w.Tasks[1:]
	write(w)
	if res := r.sync(t, st, src); res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, ok := testdb.LiveRecords(t, st, "planfix").Tasks["1"]; ok {
		t.Error("task 1, gone from the export, is live")
	}
}
