// Package store keeps karkas's data in SQL: SQLite (modernc.org/sqlite, pure
// Go, the default) or PostgreSQL (lib/pq + sqlx), one schema for both. It
// holds the raw and normalized rows, cursors, runs, problems, and the tables
// of the SLA and push stages.
//
// The store imports only the record package: it knows nothing of configs or
// connectors. Its writes are idempotent: a row is written only when what it
// holds changed, and a batch commits with its source's cursor.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // registers "postgres"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is an open database.
type Store struct {
	db      *sqlx.DB
	Dialect string
	// Scrub, when set, redacts every error text the store records (a
	// problem, a run's error, a delivery's last error, a source's
	// attention) of the run's secrets: a server may echo a credential in
	// its answer.
	Scrub func(string) string
	// path is a SQLite store's file, beside which its run locks live.
	path string
	// url is what Open was given, for Scratch.
	url string
	// Now is the clock used for synced_at and run times; injectable in tests.
	Now func() time.Time
	// schema is a PostgreSQL store's current_schema(), for its lock keys.
	schemaMu sync.Mutex
	schema   string
	// DataVersion's SQLite connection, and how many it has opened.
	verMu   sync.Mutex
	verDB   *sqlx.DB
	verConn *sql.Conn
	verGen  int
}

// Open connects to the store at rawURL: "sqlite:PATH" (or sqlite:///abs) or
// "postgres://...". It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	s := &Store{Now: func() time.Time { return time.Now().UTC() }, url: rawURL}
	var err error
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("creating the store's folder: %w", err)
			}
		}
		dsn := sqliteDSN(path)
		s.Dialect, s.path = SQLite, path
		s.db, err = sqlx.Open("sqlite", dsn)
		if err == nil {
			// One writer at a time is SQLite's model; a single connection
			// also keeps :memory: databases whole.
			s.db.SetMaxOpenConns(1)
		}
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		s.Dialect = Postgres
		s.db, err = sqlx.Open("postgres", rawURL)
		if err == nil {
			s.db.SetMaxOpenConns(8)
		}
	default:
		return nil, fmt.Errorf("store url %q: expected sqlite:PATH or postgres://", Redact(rawURL))
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", Redact(rawURL), err)
	}
	err = s.db.PingContext(ctx)
	// A new SQLite file is switched to WAL by the first connection; another
	// process doing the same at that moment is told SQLITE_BUSY without
	// the busy timeout. It is a wait, not a failure: connect again.
	for deadline := time.Now().Add(30 * time.Second); err != nil && s.Dialect == SQLite && isBusy(err) && time.Now().Before(deadline); {
		s.db.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if s.db, err = sqlx.Open("sqlite", sqliteDSN(s.path)); err == nil {
			s.db.SetMaxOpenConns(1)
			err = s.db.PingContext(ctx)
		}
	}
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connecting to store %s: %w", Redact(rawURL), err)
	}
	return s, nil
}

// isBusy tells SQLite's "database is locked" (SQLITE_BUSY).
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

// sqliteDSN is the connection string of a SQLite store at path. WAL lets
// `karkas status` read while a sync writes; the busy timeout makes a second
// writer wait instead of failing, and comes first: switching a new file to
// WAL needs the write lock, which another process may hold. A transaction
// takes the write lock when it begins (_txlock): one that read first and
// wrote later could not wait for another process's writer and would fail
// with SQLITE_BUSY at once. The page cache (64 MiB, against SQLite's
// 2 MiB) and memory-mapped reads keep a month's report from reading the
// file a page at a time, a system call each.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_pragma=mmap_size(268435456)" +
		"&_time_format=sqlite&_txlock=immediate"
}

// scrub is Scrub or nothing.
func (s *Store) scrub(text string) string {
	if s.Scrub == nil {
		return text
	}
	return s.Scrub(text)
}

// Redact hides the password of a store URL, for messages and logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error {
	s.verMu.Lock()
	s.closeVersion()
	s.verMu.Unlock()
	return s.db.Close()
}

//go:embed schema/*.sql
var schemaFS embed.FS

// dialectTypes fills a schema file's placeholders: the column types, and
// the few expressions the two dialects spell differently (the BI views'
// durations, JSON fields and months).
type dialectTypes struct {
	TS, JSON, Serial, Bool, BigInt, Real string
	postgres                             bool
}

var types = map[string]dialectTypes{
	SQLite:   {TS: "TIMESTAMP", JSON: "TEXT", Serial: "INTEGER PRIMARY KEY AUTOINCREMENT", Bool: "BOOLEAN", BigInt: "BIGINT", Real: "REAL"},
	Postgres: {TS: "TIMESTAMPTZ", JSON: "JSONB", Serial: "BIGSERIAL PRIMARY KEY", Bool: "BOOLEAN", BigInt: "BIGINT", Real: "DOUBLE PRECISION", postgres: true},
}

// Seconds is the whole seconds from one timestamp expression to another,
// each cut to its second first, so that both dialects give the same
// integer (SQLite keeps timestamps as text, which unixepoch reads).
func (d dialectTypes) Seconds(from, to string) string {
	if d.postgres {
		return fmt.Sprintf("(CAST(FLOOR(EXTRACT(EPOCH FROM %s)) AS BIGINT) - CAST(FLOOR(EXTRACT(EPOCH FROM %s)) AS BIGINT))", to, from)
	}
	return fmt.Sprintf("(unixepoch(%s) - unixepoch(%s))", to, from)
}

// JSONText is a JSON column's top-level field as text.
func (d dialectTypes) JSONText(col, field string) string {
	if d.postgres {
		return fmt.Sprintf("(%s->>'%s')", col, field)
	}
	return fmt.Sprintf("json_extract(%s, '$.%s')", col, field)
}

// PrevMonth is the "YYYY-MM" month before a "YYYY-MM" expression.
func (d dialectTypes) PrevMonth(month string) string {
	if d.postgres {
		return fmt.Sprintf("to_char(CAST(%s || '-01' AS DATE) - INTERVAL '1 month', 'YYYY-MM')", month)
	}
	return fmt.Sprintf("strftime('%%Y-%%m', %s || '-01', '-1 month')", month)
}

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the schema steps rendered for the store's dialect.
func (s *Store) Migrations() ([]Migration, error) {
	entries, err := schemaFS.ReadDir("schema")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%04d_", &v); err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a 4-digit version", e.Name())
		}
		text, err := schemaFS.ReadFile("schema/" + e.Name())
		if err != nil {
			return nil, err
		}
		t, err := template.New(e.Name()).Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		var b strings.Builder
		if err := t.Execute(&b, types[s.Dialect]); err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: b.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies the schema steps not applied yet, each in a transaction,
// and returns the versions it applied. Two processes migrating at once are
// serialized by the database (SQLite's write lock, Postgres's advisory lock).
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	return s.MigrateTo(ctx, math.MaxInt)
}

// MigrateTo is Migrate up to and including version: the tests of a data
// step (dataSteps) start from a store of the version before it.
func (s *Store) MigrateTo(ctx context.Context, version int) ([]int, error) {
	migs, err := s.Migrations()
	if err != nil {
		return nil, err
	}
	migs = slices.DeleteFunc(migs, func(m Migration) bool { return m.Version > version })
	if err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		// Two processes starting on a new database would both create the
		// table; on PostgreSQL CREATE … IF NOT EXISTS then fails in one.
		if s.Dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305)`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
		return err
	}); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var applied []int
	for _, m := range migs {
		done, err := s.applyOne(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

func (s *Store) applyOne(ctx context.Context, m Migration) (bool, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if s.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305)`); err != nil {
			return false, err
		}
	}
	var n int
	if err := tx.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	for _, stmt := range splitSQL(m.SQL) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("%w\n%s", err, stmt)
		}
	}
	if step := dataSteps[m.Version]; step != nil {
		if err := step(ctx, tx); err != nil {
			return false, fmt.Errorf("data step: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.Version, m.Name, s.Now().Format(time.RFC3339)); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// splitSQL cuts a schema file into statements on semicolons at line ends,
// dropping comment lines. The schema files hold no semicolons inside strings.
func splitSQL(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// SchemaVersion is the newest applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.GetContext(ctx, &v, `SELECT MAX(version) FROM schema_migrations`); err != nil {
		return 0, fmt.Errorf("reading schema version (run karkas migrate): %w", err)
	}
	return int(v.Int64), nil
}

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")
