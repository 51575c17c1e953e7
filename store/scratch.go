package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Scratch copies the store into one that nothing else uses, for a dry
// run: it runs the real pipeline there (pull, store, evaluate, plan) and
// so plans from the rows and clocks the real run would create, and the
// copy is thrown away by drop. On SQLite the copy is a temporary file
// (VACUUM INTO); on PostgreSQL a schema of the same database, made by the
// migrations and filled from this store's tables in one snapshot, which
// needs the right to create a schema. The store itself is only read.
// River's tables come along on SQLite, jobs and all, and are made empty by
// the migrations on PostgreSQL: nothing works a scratch store's jobs.
func (s *Store) Scratch(ctx context.Context) (scratch *Store, drop func(), err error) {
	if s.Dialect == Postgres {
		return s.pgScratch(ctx)
	}
	dir, err := os.MkdirTemp("", "karkas-dry-run-")
	if err != nil {
		return nil, nil, fmt.Errorf("making the dry run's scratch store: %w", err)
	}
	path := filepath.Join(dir, "store.db")
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("copying the store for the dry run: %w", err)
	}
	sc, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return sc, func() { sc.Close(); os.RemoveAll(dir) }, nil
}

func (s *Store) pgScratch(ctx context.Context) (*Store, func(), error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, err
	}
	var from string
	if err := s.db.GetContext(ctx, &from, `SELECT current_schema()`); err != nil {
		return nil, nil, fmt.Errorf("reading the store's schema: %w", err)
	}
	// Named after the store's schema, which it copies (names are at most
	// 63 bytes).
	schema := from[:min(len(from), 32)] + "_dry_run_" + hex.EncodeToString(b[:])
	if _, err := s.db.ExecContext(ctx, `CREATE SCHEMA `+pq(schema)); err != nil {
		return nil, nil, fmt.Errorf("creating the dry run's scratch schema (the dry run copies the store there): %w", err)
	}
	dropSchema := func() {
		s.db.ExecContext(context.WithoutCancel(ctx), `DROP SCHEMA `+pq(schema)+` CASCADE`)
	}
	u, err := url.Parse(s.url)
	if err != nil {
		dropSchema()
		return nil, nil, err
	}
	q := u.Query()
	// lib/pq passes unknown parameters on as run-time settings.
	q.Set("search_path", pq(schema))
	u.RawQuery = q.Encode()
	sc, err := Open(ctx, u.String())
	if err == nil {
		if _, err = sc.Migrate(ctx); err == nil {
			err = s.copyInto(ctx, from, schema)
		}
		if err != nil {
			sc.Close()
		}
	}
	if err != nil {
		dropSchema()
		return nil, nil, fmt.Errorf("copying the store for the dry run: %w", err)
	}
	return sc, func() { sc.Close(); dropSchema() }, nil
}

// copyInto copies every table of schema from into schema to, which the
// migrations made, in one snapshot, and moves to's sequences past the
// copied ids. River's tables stay as the migrations left them.
func (s *Store) copyInto(ctx context.Context, from, to string) error {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var tables []string
	if err := tx.SelectContext(ctx, &tables, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`, to); err != nil {
		return err
	}
	// River's jobs are the store's daemon's, not a dry run's; the scratch's
	// migrations made River's tables and filled river_migration.
	tables = slices.DeleteFunc(tables, isRiverTable)
	for _, t := range tables {
		var cols []struct {
			Name   string         `db:"column_name"`
			Serial sql.NullString `db:"seq"`
		}
		if err := tx.SelectContext(ctx, &cols, `SELECT column_name, pg_get_serial_sequence(quote_ident($1) || '.' || quote_ident($2), column_name) AS seq
			FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, to, t); err != nil {
			return err
		}
		var names []string
		for _, c := range cols {
			names = append(names, pq(c.Name))
		}
		list := strings.Join(names, ", ")
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s.%s (%s) SELECT %s FROM %s.%s`, pq(to), pq(t), list, list, pq(from), pq(t))); err != nil {
			return fmt.Errorf("copying %s: %w", t, err)
		}
		for _, c := range cols {
			if !c.Serial.Valid {
				continue
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT setval($1, COALESCE(MAX(%s), 0) + 1, false) FROM %s.%s`, pq(c.Name), pq(to), pq(t)),
				c.Serial.String); err != nil {
				return fmt.Errorf("moving the sequence of %s: %w", t, err)
			}
		}
	}
	return tx.Commit()
}

// pq quotes a PostgreSQL identifier.
func pq(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
