package email

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// BenchmarkPullMbox reads an mbox of 2,000 Cyrillic messages; a 100x data
// set is 15 times this.
func BenchmarkPullMbox(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.mbox")
	var sb strings.Builder
	body := strings.Repeat("Текст письма про задачу https://trello.com/c/AbCd1234 и немного ещё.\n", 40)
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&sb, "From a@x Mon May 27 09:00:00 2024\nMessage-ID: <m%d@x.example>\nFrom: Иван <ivan%d@x.example>\n"+
			"To: anna@agency.example\nSubject: Тема %d\nDate: Mon, 27 May 2024 09:00:00 +0300\n"+
			"Content-Type: text/plain; charset=utf-8\n\n%s\n", i, i%50, i, body)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	opts := NewFileOptions()
	opts.Files = []FileSpec{{Path: path}}
	src, err := OpenFiles(opts, connectors.Env{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := src.Pull(context.Background(), "", func(_ context.Context, bt *record.Batch) error {
			n += len(bt.Messages)
			return nil
		})
		if err != nil || n != 2000 {
			b.Fatalf("pulled %d messages: %v", n, err)
		}
	}
}
