// Package testdb gives tests a fresh store on each database karkas
// supports: SQLite in a temporary folder, and PostgreSQL in a schema of its
// own inside the database TEST_DATABASE_URL names (make test creates one).
// With CI=true a missing TEST_DATABASE_URL fails the test instead of
// skipping it: CI must never pass by silently not testing Postgres.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/store"
)

// Dialects lists the databases a suite should run on.
var Dialects = []string{store.SQLite, store.Postgres}

// URL returns a store URL for a fresh, empty database of the dialect, and
// drops it when the test ends.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "karkas.db")
	case store.Postgres:
		return postgresURL(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// Open returns a migrated store on a fresh database of the dialect.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	return OpenURL(t, URL(t, dialect))
}

// OpenURL opens and migrates the store at url (another handle on a
// database a test already has, as another process would), closed when the
// test ends.
func OpenURL(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening store %s: %v", store.Redact(url), err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrating store %s: %v", store.Redact(url), err)
	}
	return st
}

func postgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set and CI=true: the Postgres store tests must run (use make test)")
		}
		t.Skip("TEST_DATABASE_URL not set: skipping PostgreSQL (make test sets it)")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("creating test schema on TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	// lib/pq passes unknown parameters on as run-time settings.
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
