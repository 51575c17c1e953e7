package engine_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// mailSource emits the messages it holds, one batch a pull, like an IMAP
// folder read from its cursor: only what is new.
type mailSource struct{ msgs []record.Message }

func (m *mailSource) Pull(ctx context.Context, _ string, emit connectors.Emit) error {
	return emit(ctx, &record.Batch{Messages: m.msgs})
}

var mailSrc = mapping.SourceInfo{ID: "mail", Kind: "imap", Identity: mapping.IdentityEmail}

func email(id, body string, at time.Time) record.Message {
	return record.Message{ExternalID: id, Channel: record.ChannelEmail, ThreadKey: id, AuthorID: "john@acme.com",
		AuthorEmail: "john@acme.com", To: []string{"anna@northwind.agency"}, Subject: "Status", Body: body, SentAt: at, Folder: "INBOX"}
}

// storedMail maps each live email's id to its body.
func storedMail(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	var rows []struct {
		ID   string `db:"external_id"`
		Body string `db:"body"`
	}
	if err := st.Select(context.Background(), &rows, `SELECT external_id, body FROM messages WHERE source_id = 'mail' AND deleted_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ID] = r.Body
	}
	return out
}

// Mailers reuse Message-IDs and lists rewrite messages: a different message
// that arrives in a later pull under an id already stored is stored apart,
// never over the first, and the same message seen again stays one row,
// whatever order the copies come in.
func TestSharedMessageIDAcrossPulls(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			ctx := context.Background()
			day := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
			first := email("x@acme.com", "The first message.", day)
			other := email("x@acme.com", "Another message, same Message-ID.", day.Add(time.Hour))
			otherID := "x@acme.com#" + other.Fingerprint()

			run := func(msgs ...record.Message) (written int, warnings []string) {
				t.Helper()
				res := newEngine(t, st, cfgText).Run(ctx, jobOf(&mailSource{msgs: msgs}))
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				problems, err := st.RecentProblems(ctx, true, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range problems {
					warnings = append(warnings, p.Location+": "+p.Message)
				}
				return res.Written["messages"], warnings
			}

			run(first)
			if _, warnings := run(other); len(warnings) != 1 || !strings.Contains(warnings[0], "stored apart as <"+otherID+">") {
				t.Errorf("warnings %q; want one saying where the second message went", warnings)
			}
			want := map[string]string{"x@acme.com": first.Body, otherID: other.Body}
			if got := storedMail(t, st); !mapsEqual(got, want) {
				t.Fatalf("stored %v; want %v", got, want)
			}
			// The same copies again, in either order and under either id a
			// source may have given them: nothing is written.
			for _, again := range [][]record.Message{{first}, {other}, {other, first}} {
				if n, _ := run(again...); n != 0 {
					t.Errorf("copies already stored wrote %d rows", n)
				}
			}
			swapped := first
			swapped.ExternalID = "x@acme.com#" + first.Fingerprint()
			if n, _ := run(other, swapped); n != 0 {
				t.Errorf("a source that met the second message first wrote %d rows", n)
			}
			if got := storedMail(t, st); !mapsEqual(got, want) {
				t.Fatalf("after the copies, stored %v; want %v", got, want)
			}
		})
	}
}

func jobOf(s connectors.Source) engine.Job { return engine.Job{Info: mailSrc, Source: s} }

func mapsEqual(a, b map[string]string) bool { return maps.Equal(a, b) }
