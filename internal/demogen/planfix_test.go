package demogen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/record"
)

// The PlanFix client's export reads as a planfix_export source reads it,
// with nothing refused: its tasks, the client's and the agency's comments
// on them, status changes, and the hours' rows.
func TestPlanfixExport(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, DefaultSeed)
	src, err := planfix.ExportKind().Open(&planfix.ExportOptions{Files: []string{filepath.Join(dir, "planfix", "delta.json")}, Account: "northwind", BatchSize: 2}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	b := &record.Batch{}
	if err := src.Pull(context.Background(), "", func(_ context.Context, got *record.Batch) error {
		b.Tasks, b.Messages, b.StatusChanges = append(b.Tasks, got.Tasks...), append(b.Messages, got.Messages...), append(b.StatusChanges, got.StatusChanges...)
		b.Problems = append(b.Problems, got.Problems...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(b.Problems) > 0 || len(b.Tasks) != st.PlanFixTasks || len(b.Tasks) < 5 {
		t.Fatalf("%d tasks (stats %d), problems %v", len(b.Tasks), st.PlanFixTasks, b.Problems)
	}
	client, agency := 0, 0
	for _, m := range b.Messages {
		if strings.HasPrefix(m.AuthorID, "contact:") {
			client++
		} else {
			agency++
		}
		if m.Channel != planfix.Channel || m.Body == "" || strings.Contains(m.Body, "<p>") {
			t.Errorf("message %+v", m)
		}
	}
	if client < 4 || agency < 4 || len(b.StatusChanges) < 5 {
		t.Errorf("%d client and %d agency comments, %d status changes", client, agency, len(b.StatusChanges))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "time", "delta.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(raw), "\r\n") - 1; rows != st.PlanFixTimeEntries || rows < 50 {
		t.Errorf("%d rows of hours, stats say %d", rows, st.PlanFixTimeEntries)
	}
}
