package email

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

// TestShapesStored syncs every shape through the engine into the store, by
// the three paths (a folder of .eml files and an mbox in one mail_files
// source, an imap source on a real Dovecot), on SQLite and PostgreSQL, and
// reads each message back: stored once per path with the right date,
// sender, subject and body, its notes as warnings and none refused, and
// the run's tally adding up.
func TestShapesStored(t *testing.T) {
	t.Parallel()
	shapes := loadShapes(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			srv := mailtest.Dovecot(t)
			dir := t.TempDir()
			writeShapeFiles(t, dir, shapes)
			mbox, _ := shapeMbox(shapes)
			appendShapes(t, srv, shapes)
			if err := os.WriteFile(filepath.Join(dir, "sent.mbox"), mbox, 0o644); err != nil {
				t.Fatal(err)
			}

			yaml := fmt.Sprintf(`agency: {name: Northwind, domains: [agency.example]}
clients:
  - {id: acme, name: Acme, domains: [client.example]}
sources:
  - id: files
    kind: mail_files
    options:
      files:
        - {path: archive, folder: Archive}
        - {path: sent.mbox, folder: Old}
  - id: mail
    kind: imap
    options:
      accounts:
        - {name: anna, host: %s, port: %d, tls: none, username: %s, password: %s, folders: [INBOX]}
`, srv.Host, srv.Port, anna, srv.Password)
			l, err := mapping.Parse(filepath.Join(dir, "karkas.yaml"), []byte(yaml), mapping.LoadOptions{
				SourceOptions: func(kind string) (any, bool) {
					switch kind {
					case FileKind().Name:
						return FileKind().NewOptions(), true
					case IMAPKindName:
						return IMAPKind().NewOptions(), true
					}
					return nil, false
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			files, err := FileKind().Open(l.SourceOptions["files"], connectors.Env{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			imapSrc, err := IMAPKind().Open(l.SourceOptions["mail"], connectors.Env{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			results := e.RunAll(ctx, []engine.Job{
				{Info: mapping.SourceInfo{ID: "files", Kind: FileKind().Name, Identity: mapping.IdentityEmail}, Source: files},
				{Info: mapping.SourceInfo{ID: "mail", Kind: IMAPKindName, Identity: mapping.IdentityEmail}, Source: imapSrc},
			})
			warnings := storedWarnings(t, st)
			for _, r := range results {
				if r.Err != nil {
					t.Fatalf("%s: %v", r.SourceID, r.Err)
				}
				// The mail_files source read every shape twice, as an .eml
				// and in the mbox: the same message, merged.
				read, merged := len(shapes), 0
				if r.SourceID == "files" {
					read, merged = 2*len(shapes), len(shapes)
				}
				if in := r.Input; in.Unit != "messages" || in.Read != read || in.Merged != merged || in.Refused != 0 ||
					in.Stored != len(shapes) || !in.Adds() || r.Problems != 0 {
					t.Errorf("%s: tally %+v, %d refused, want %d read, %d merged, %d stored", r.SourceID, in, r.Problems, read, merged, len(shapes))
				}
			}

			for _, source := range []string{"files", "mail"} {
				live := testdb.LiveRecords(t, st, source).Messages
				rows := storedColumns(t, st, source)
				if len(live) != len(shapes) || len(rows) != len(shapes) {
					t.Errorf("%s: %d messages stored (%d rows), want %d", source, len(live), len(rows), len(shapes))
				}
				n := 0
				for _, s := range shapes {
					id := s.want["id"][0]
					m, ok := live[id]
					if !ok {
						t.Errorf("%s: %s not stored", source, id)
						continue
					}
					// What the columns say, not the raw record alone.
					row := rows[id]
					m.AuthorEmail, m.AuthorName, m.Subject, m.Body, m.SentAt, m.AutomatedReason = row.AuthorEmail, row.AuthorName, row.Subject, row.Body, row.SentAt.UTC(), row.Reason
					from := record.SentAtFromFileMTime
					if source == "mail" {
						from = record.SentAtFromDelivery
					}
					n += warnings[source][id]
					s.checkSizes(t, m, warnings[source][id], shapeFallback, from, source == "files")
				}
				if total := sum(warnings[source]); total != n {
					t.Errorf("%s: %d warnings stored, %d of them on the shapes", source, total, n)
				}
			}
		})
	}
}

type storedRow struct {
	ID          string    `db:"external_id"`
	AuthorEmail string    `db:"author_email"`
	AuthorName  string    `db:"author_name"`
	Subject     string    `db:"subject"`
	Body        string    `db:"body"`
	SentAt      time.Time `db:"sent_at"`
	Reason      string    `db:"automated_reason"`
}

func storedColumns(t *testing.T, st *store.Store, source string) map[string]storedRow {
	t.Helper()
	var rows []storedRow
	if err := st.Select(context.Background(), &rows, st.Rebind(`SELECT external_id, author_email, author_name, subject, body, sent_at, automated_reason
		FROM messages WHERE source_id = ? AND deleted_at IS NULL`), source); err != nil {
		t.Fatal(err)
	}
	out := map[string]storedRow{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// storedWarnings counts the stored warnings per source and message id,
// matched by location: the shape's file, or its UID (appended in order).
// Any refusal fails the test.
func storedWarnings(t *testing.T, st *store.Store) map[string]map[string]int {
	t.Helper()
	rows, err := st.RecentProblems(context.Background(), true, 10000)
	if err != nil {
		t.Fatal(err)
	}
	refused, err := st.RecentProblems(context.Background(), false, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range refused {
		t.Errorf("refused: %s %s: %s", p.SourceID, p.Location, p.Message)
	}
	shapes := loadShapes(t)
	out := map[string]map[string]int{"files": {}, "mail": {}}
	for _, p := range rows {
		for i, s := range shapes {
			id := s.want["id"][0]
			switch {
			case p.SourceID == "files" && p.Location == filepath.Join("archive", s.name+".eml"):
				out["files"][id]++
			case p.SourceID == "mail" && p.Location == fmt.Sprintf("anna/INBOX uid %d", i+1):
				out["mail"][id]++
			}
		}
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
