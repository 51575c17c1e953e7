package email_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// benchMailbox is issue 7's benchmark mailbox: 20,000 messages (2,000 with
// -short) of an agency's correspondence, a third of them replies.
func benchMailbox(n int) [][]byte {
	para := "Добрый день! Посмотрели макеты главной страницы, в целом всё нравится. " +
		"Просим поправить шрифт в шапке и добавить блок с отзывами клиентов, как обсуждали на созвоне. "
	out := make([][]byte, n)
	for i := range n {
		var b strings.Builder
		from, to := "olga@client.example", "anna@agency.example"
		if i%3 == 1 {
			from, to = to, from
		}
		date := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 17 * time.Minute).Format(time.RFC1123Z)
		fmt.Fprintf(&b, "Message-ID: <bench-%d@%s>\r\nFrom: %s\r\nTo: %s\r\nDate: %s\r\n", i, strings.SplitN(from, "@", 2)[1], from, to, date)
		if i%3 != 0 {
			root := i - i%3
			fmt.Fprintf(&b, "In-Reply-To: <bench-%d@client.example>\r\nReferences: <bench-%d@client.example>\r\n", root, root)
		}
		fmt.Fprintf(&b, "Subject: =?utf-8?B?0J/RgNCw0LLQutC4INC/0L4g0LzQsNC60LXRgtGD?= %d\r\nMIME-Version: 1.0\r\n", i/3)
		body := strings.Repeat(para, 6) + fmt.Sprintf("\nЗадача: https://trello.com/c/Bench%03d\n", i%1000)
		switch i % 10 {
		case 0: // windows-1251, as old mailers send it
			enc, _ := charmap.Windows1251.NewEncoder().String(body)
			b.WriteString("Content-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.ReplaceAll(enc, "\n", "\r\n"))
		case 1, 2: // text and HTML alternatives
			b.WriteString("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
			w := quotedprintable.NewWriter(&b)
			_, _ = w.Write([]byte(body))
			_ = w.Close()
			b.WriteString("\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + body + "</p></body></html>\r\n--b--\r\n")
		default:
			b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
		}
		out[i] = []byte(b.String())
	}
	return out
}

// peakHeap samples the heap while a sync runs (runtime/metrics, no
// stop-the-world) and returns the largest reading.
func peakHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// BenchmarkIMAPSync is issue 7's IMAP benchmark: 20,000 messages delivered
// to a local Dovecot, synced from scratch through the engine into SQLite
// (msgs/s, peak-heap-MB), then synced again with nothing new
// (no-change-ms). Run it with -benchtime 1x: one iteration is a whole
// sync. pull-only/ is the source alone, its batches dropped.
func BenchmarkIMAPSync(b *testing.B) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	srv := mailtest.Dovecot(b)
	start := time.Now()
	srv.Deliver(b, anna, "INBOX", benchMailbox(n))
	b.Logf("delivered %d messages in %s", n, time.Since(start).Round(time.Millisecond))

	open := func(b *testing.B) connectors.Source {
		o := email.NewIMAPOptions()
		o.Accounts = []email.IMAPAccount{{Name: "anna", Host: srv.Host, Port: srv.Port, TLS: email.TLSNone, Username: anna, Password: secret.Inline(srv.Password)}}
		src, err := email.OpenIMAP(o, connectors.Env{})
		if err != nil {
			b.Fatal(err)
		}
		return src
	}
	cfg := &mapping.Config{Agency: mapping.Agency{Name: "Northwind", Domains: []string{"agency.example"}},
		Clients: []mapping.Client{{ID: "acme", Name: "Acme", Domains: []string{"client.example"}}}}

	b.Run("engine-sqlite", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			ctx := context.Background()
			st, err := store.Open(ctx, "sqlite:"+b.TempDir()+"/karkas.db")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			src := open(b)
			sync := func() (engine.Result, time.Duration) {
				e, err := engine.New(ctx, st, mapping.NewResolver(cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				res := e.Run(ctx, engine.Job{Info: mailInfo, Source: src})
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				return res, time.Since(t0)
			}
			b.StartTimer()
			stop := peakHeap()
			res, d := sync()
			peak := stop()
			b.StopTimer()
			if got := res.Written["messages"]; got != n {
				b.Fatalf("stored %d messages, want %d", got, n)
			}
			again, dAgain := sync()
			if again.Batches != 0 {
				b.Fatalf("the no-change sync emitted %d batches", again.Batches)
			}
			b.ReportMetric(float64(n)/d.Seconds(), "msgs/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(dAgain.Microseconds())/1000, "no-change-ms")
			st.Close()
			b.StartTimer()
		}
	})

	b.Run("pull-only", func(b *testing.B) {
		for b.Loop() {
			src := open(b)
			got := 0
			stop := peakHeap()
			t0 := time.Now()
			err := src.Pull(context.Background(), "", func(_ context.Context, batch *record.Batch) error {
				got += len(batch.Messages)
				return nil
			})
			d := time.Since(t0)
			peak := stop()
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("pulled %d messages, want %d", got, n)
			}
			b.ReportMetric(float64(n)/d.Seconds(), "msgs/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		}
	})
}
