package testdb

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// Records are a source's live rows read back as the records they were
// stored from, by external id.
type Records struct {
	Containers map[string]record.Container
	People     map[string]record.Person
	Tasks      map[string]record.Task
	Changes    map[string]record.StatusChange
	Fields     map[string]record.FieldChange
	Messages   map[string]record.Message
	Entries    map[string]record.TimeEntry
}

// LiveRecords reads the live rows of sourceID back from the raw record JSON
// the engine keeps beside each row, so a connector's store test can compare
// what was stored with what its fake holds.
func LiveRecords(t testing.TB, st *store.Store, sourceID string) Records {
	t.Helper()
	r := Records{Containers: map[string]record.Container{}, People: map[string]record.Person{},
		Tasks: map[string]record.Task{}, Changes: map[string]record.StatusChange{}, Fields: map[string]record.FieldChange{}, Messages: map[string]record.Message{},
		Entries: map[string]record.TimeEntry{}}
	readAll(t, st, "containers", sourceID, r.Containers)
	readAll(t, st, "source_people", sourceID, r.People)
	readAll(t, st, "tasks", sourceID, r.Tasks)
	readAll(t, st, "task_status_changes", sourceID, r.Changes)
	readAll(t, st, "task_field_changes", sourceID, r.Fields)
	readAll(t, st, "messages", sourceID, r.Messages)
	readAll(t, st, "time_entries", sourceID, r.Entries)
	return r
}

// readAll pages through one table's live rows of a source into into.
func readAll[T any](t testing.TB, st *store.Store, table, sourceID string, into map[string]T) {
	t.Helper()
	const page = 1000
	after := ""
	for {
		rows, err := st.RawPage(context.Background(), table, sourceID, after, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			var v T
			if err := json.Unmarshal([]byte(row.Raw), &v); err != nil {
				t.Fatalf("%s %s: %v", table, row.ExternalID, err)
			}
			into[row.ExternalID] = v
			after = row.ExternalID
		}
		if len(rows) < page {
			return
		}
	}
}
