package timecsv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// writeLarge writes an Everhour export of n rows shaped like the 100x demo.
func writeLarge(tb testing.TB, dir string, n int) {
	tb.Helper()
	f, err := os.Create(filepath.Join(dir, "large.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Date,Member,Email,Client,Project,Task,Task ID,Tags,Comment,Time,Billable")
	for i := range n {
		fmt.Fprintf(w, "2024-%02d-%02d,Сотрудник %d,p%d@agency.example,Клиент %d,Проект %d,Задача %d,tr:%08x,\"дизайн, встреча\",Комментарий к работе номер %d,%d:%02d,yes\n",
			i%12+1, i%28+1, i%40, i%40, i%30, i%60, i%15000, i%15000, i, i%8, i%60)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestLargeExportStaysBounded reads the 100x demo's 150,000 entries and
// checks that the heap in use stays far below the pipeline's 256 MB.
func TestLargeExportStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 25 MB file")
	}
	dir := t.TempDir()
	const n = 150_000
	writeLarge(t, dir, n)
	src, err := Open(options("large.csv"), connectors.Env{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	var peak uint64
	total := 0
	err = src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		total += len(b.TimeEntries)
		if len(b.TimeEntries) > DefaultBatchSize {
			t.Errorf("batch of %d entries, want at most %d", len(b.TimeEntries), DefaultBatchSize)
		}
		if total%(10*DefaultBatchSize) == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Errorf("entries = %d, want %d", total, n)
	}
	if peak > 64<<20 {
		t.Errorf("live heap reached %d MB, want under 64 MB", peak>>20)
	}
	t.Logf("live heap peak %.1f MB", float64(peak)/(1<<20))
}

func BenchmarkPull(b *testing.B) {
	dir := b.TempDir()
	writeLarge(b, dir, 10_000)
	src, err := Open(options("large.csv"), connectors.Env{BaseDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		err := src.Pull(context.Background(), "", func(context.Context, *record.Batch) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}
