package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// The data version stands while nothing is committed, and moves on a
// commit by this store or by another one on the same database (another
// process, another replica).
func TestDataVersion(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.URL(t, dialect)
			a, b := testdb.OpenURL(t, url), testdb.OpenURL(t, url)
			version := func(st *store.Store) string {
				t.Helper()
				v, err := st.DataVersion(ctx)
				if err != nil || v == "" {
					t.Fatalf("DataVersion: %q %v", v, err)
				}
				return v
			}
			// PostgreSQL's version is the server's: the other tests'
			// databases commit on it as this one runs, so only SQLite's
			// is checked for standing still.
			v0 := version(a)
			if v := version(a); v != v0 && dialect == store.SQLite {
				t.Errorf("the version moved with no commit: %s, then %s", v0, v)
			}
			// Reads are no commits.
			if _, err := a.CabinetLinks(ctx, ""); err != nil {
				t.Fatal(err)
			}
			if v := version(a); v != v0 && dialect == store.SQLite {
				t.Errorf("a read moved the version: %s, then %s", v0, v)
			}
			// A commit by the same store.
			if err := a.Audit(ctx, store.AuditEntry{At: time.Now(), Actor: "test", Action: "one"}); err != nil {
				t.Fatal(err)
			}
			v1 := version(a)
			if v1 == v0 {
				t.Error("the version stood after the store's own commit")
			}
			// A commit by another store on the same database.
			if err := b.Audit(ctx, store.AuditEntry{At: time.Now(), Actor: "test", Action: "two"}); err != nil {
				t.Fatal(err)
			}
			if v := version(a); v == v1 {
				t.Error("the version stood after another store's commit")
			}
		})
	}
}
