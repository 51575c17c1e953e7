package store

import (
	"context"
	"database/sql"
)

// The store's own methods are how karkas reads and writes; the pool itself
// is not exported. These run SQL written by hand against the schema, with
// ? placeholders on both dialects (rebound for PostgreSQL), for tests,
// benchmarks and tools that read the tables as a BI tool would.

// Select runs query and scans every row into dest, a pointer to a slice.
func (s *Store) Select(ctx context.Context, dest any, query string, args ...any) error {
	return s.db.SelectContext(ctx, dest, s.db.Rebind(query), args...)
}

// Get runs query and scans its one row into dest (sql.ErrNoRows when none).
func (s *Store) Get(ctx context.Context, dest any, query string, args ...any) error {
	return s.db.GetContext(ctx, dest, s.db.Rebind(query), args...)
}

// Query runs query and returns its rows for the caller to scan and close.
func (s *Store) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.db.Rebind(query), args...)
}

// Exec runs a statement outside the store's own writes: a test's setup, a
// repair by hand. It bypasses what the store's writes keep true (a row
// written only when it changed, a batch with its cursor, Scrub), so
// karkas's own code never calls it.
func (s *Store) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.db.Rebind(query), args...)
}

// Rebind turns a query's ? placeholders into the dialect's.
func (s *Store) Rebind(query string) string { return s.db.Rebind(query) }
