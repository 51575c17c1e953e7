package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverMigrationVersion is the newest of River's own migrations (its main
// line) that the store's schema includes: the last one River v0.51.2
// ships. River's tables are made by karkas's migrations, not by River's
// CLI, so that `karkas migrate` and every start bring both up together and
// one history (schema_migrations) says where a store is. A River upgrade
// that ships a new migration is a new karkas version whose step runs it
// (dataSteps), and this constant moves with it; a test fails until then.
const RiverMigrationVersion = 8

// migrateRiverTo is the data step (dataSteps) that brings River's tables
// up to River's migration version, in the transaction tx of a karkas
// migration: a kill before the commit leaves neither River's tables nor
// the version's record. River's tables live beside karkas's: on PostgreSQL
// in the store's schema (the first of its search_path, as a client with an
// empty Config.Schema expects), on SQLite in the store's file.
//
// River's migrations 1 to 8 cannot all run in one PostgreSQL transaction:
// its 4 adds the value 'pending' to the river_job_state enum and its 6
// uses it, which PostgreSQL refuses before the value is committed ("unsafe
// use of new value", 55P04; River deprecates MigrateTx for this). So karkas
// version 6 stops at River's 4 and version 7 does the rest; SQLite takes
// the same steps, so both databases keep one history.
func migrateRiverTo(version int) func(ctx context.Context, tx *sqlx.Tx) error {
	return func(ctx context.Context, tx *sqlx.Tx) error {
		m, err := riverMigrator(tx.DriverName())
		if err != nil {
			return err
		}
		// Deprecated for the enum above, which the split into two karkas
		// versions answers; Migrate would commit each River version alone.
		//lint:ignore SA1019 River's migrations must commit with the karkas version that runs them
		if _, err := m.MigrateTx(ctx, tx.Tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: version}); err != nil {
			return fmt.Errorf("river's migrations up to %d: %w", version, err)
		}
		return nil
	}
}

// riverMigrator is River's migrator for the dialect. It needs no pool: it
// runs in the transaction it is given. Its logs are dropped; what it does
// is in schema_migrations and river_migration, and its errors are returned.
func riverMigrator(dialect string) (*rivermigrate.Migrator[*sql.Tx], error) {
	return rivermigrate.New(riverDriver(dialect, nil), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
}

func riverDriver(dialect string, db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if dialect == Postgres {
		return riverdatabasesql.New(db)
	}
	return riversqlite.New(db)
}

// RiverDriver is the River driver over the store's own pool, for a
// river.Client of the store's dialect: riverdatabasesql over the lib/pq
// pool on PostgreSQL (poll only: River listens only through pgx, which
// karkas does not open), riversqlite on SQLite.
//
// On SQLite it shares the store's single connection, which is what River
// recommends for SQLite (its driver's doc and its own tests set
// SetMaxOpenConns(1)). A pool of River's own on the file would make
// River's goroutines and the store's writers wait for each other at
// SQLite's write lock, failing with SQLITE_BUSY past the busy timeout;
// sharing the connection queues them in the pool instead, and gives River
// the store's DSN (WAL, busy timeout, transactions that take the write
// lock when they begin), so a second process on the file (karkas status,
// a CLI command) makes River wait, not fail. River holds the
// connection only for a statement or one of its short transactions, never
// while a worker runs, so a worker may run store transactions. What it must
// not do is wait for the pool while it holds the connection: inside a
// store transaction, insert jobs with the client's InsertTx on that
// transaction, never with Insert.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] {
	return riverDriver(s.Dialect, s.db.DB)
}

// isRiverTable tells River's tables (river_job, river_migration, …) from
// karkas's, for what walks the store's tables: a dry run's scratch store
// has River's schema from its migrations but none of River's rows.
func isRiverTable(name string) bool { return strings.HasPrefix(name, "river_") }
