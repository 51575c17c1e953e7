package trello_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/record"
)

// writeLargeBoard writes an export of cards cards with descriptions of
// descLen bytes and 1000 actions, cards in reverse id order and actions
// newest first as Trello writes them.
func writeLargeBoard(t testing.TB, path string, cards, descLen int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	desc := strings.Repeat("ы", descLen/2) // two bytes each
	const base = 0x65000000
	fmt.Fprintf(w, `{"id":"%08x0000000000000001","name":"Large","lists":[{"id":"%08x0000000000000101","name":"Todo","pos":1},{"id":"%08x0000000000000102","name":"Done","pos":2}],"cards":[`, base, base, base)
	for i := cards - 1; i >= 0; i-- {
		if i != cards-1 {
			w.WriteString(",\n")
		}
		fmt.Fprintf(w, `{"id":"%08x%016x","name":"Card %d","desc":%q,"idList":"%08x0000000000000101","labels":[],"idMembers":[],"pos":%d}`,
			base+i, i, i, desc, base, i)
	}
	w.WriteString(`],"actions":[`)
	for i := 999; i >= 0; i-- {
		if i != 999 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, `{"id":"%08x%016x","idMemberCreator":"m1","type":"commentCard","date":"2024-01-01T00:%02d:%02d.000Z","data":{"text":"comment %d","card":{"id":"%08x%016x"}},"memberCreator":{"id":"m1","fullName":"M"}}`,
			base+i, 0xa0000+i, i/60, i%60, i, base+i, i)
	}
	w.WriteString(`]}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestExportLargeBoardMemory checks that a pull holds about a batch, not the
// board: 3,000 cards with 4 KB descriptions are 12 MB of text.
func TestExportLargeBoardMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 12 MB export")
	}
	dir := t.TempDir()
	writeLargeBoard(t, filepath.Join(dir, "large.json"), 3000, 4096)
	src, err := trello.NewExport(trello.ExportOptions{Files: []string{"large.json"}, BatchSize: 2000}, connectors.Env{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var (
		tasks, messages int
		warned          int // the file holds 1000 actions: cut
		lastID          string
		peak            uint64
		ms              runtime.MemStats
	)
	err = src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		for _, task := range b.Tasks {
			if task.ExternalID <= lastID {
				t.Fatalf("task %s after %s", task.ExternalID, lastID)
			}
			lastID = task.ExternalID
		}
		tasks += len(b.Tasks)
		messages += len(b.Messages)
		for _, p := range b.Problems {
			if !p.Warning || !strings.Contains(p.Message, "older history is cut") {
				t.Fatalf("problem: %+v", p)
			}
			warned++
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tasks != 3000 || messages != 1000 || warned != 1 {
		t.Errorf("got %d tasks, %d messages and %d warnings, want 3000, 1000 and 1", tasks, messages, warned)
	}
	// Measured after the batch is handed over, the live heap is the
	// index and the reader; the whole board decoded would hold 12 MB.
	if peak > 6<<20 {
		t.Errorf("live heap reached %d MB while emitting", peak>>20)
	}
	t.Logf("peak live heap %d MB", peak>>20)
}

func BenchmarkExportPull(b *testing.B) {
	dir := b.TempDir()
	writeLargeBoard(b, filepath.Join(dir, "large.json"), 5000, 512)
	src, err := trello.NewExport(trello.ExportOptions{Files: []string{"large.json"}, BatchSize: 2000}, connectors.Env{BaseDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		err := src.Pull(context.Background(), "", func(context.Context, *record.Batch) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}
