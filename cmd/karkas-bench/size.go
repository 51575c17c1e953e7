package main

import (
	"context"
	"fmt"

	"github.com/karkas/karkas/store"
)

// diskSize is what a store takes on disk: in all, in its indexes, and in
// the raw JSON column the record tables keep of each record as its source
// gave it. Indexes is -1 where the database cannot say (a SQLite built
// without its dbstat table).
type diskSize struct{ total, indexes, raw int64 }

// rawTables are the tables that keep each record's raw JSON.
var rawTables = []string{"containers", "source_people", "tasks", "task_status_changes", "task_field_changes", "messages", "time_entries"}

func storeSize(ctx context.Context, st *store.Store) (diskSize, error) {
	var s diskSize
	switch st.Dialect {
	case store.SQLite:
		// The write-ahead log checkpointed first, so that the file holds
		// every page.
		if _, err := st.Exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return s, err
		}
		var pages, size, free int64
		if err := st.Get(ctx, &pages, "PRAGMA page_count"); err != nil {
			return s, err
		}
		if err := st.Get(ctx, &size, "PRAGMA page_size"); err != nil {
			return s, err
		}
		if err := st.Get(ctx, &free, "PRAGMA freelist_count"); err != nil {
			return s, err
		}
		s.total = (pages - free) * size
		if err := st.Get(ctx, &s.indexes, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat
			WHERE name IN (SELECT name FROM sqlite_master WHERE type = 'index')`); err != nil {
			s.indexes = -1
		}
	case store.Postgres:
		// Tables with their TOAST and indexes; the indexes apart.
		if err := st.Get(ctx, &s.total, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`); err != nil {
			return s, err
		}
		if err := st.Get(ctx, &s.indexes, `SELECT COALESCE(SUM(pg_indexes_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`); err != nil {
			return s, err
		}
	}
	colSize := "length(raw)"
	if st.Dialect == store.Postgres {
		colSize = "pg_column_size(raw)" // as stored: compressed when large
	}
	for _, t := range rawTables {
		var n int64
		if err := st.Get(ctx, &n, fmt.Sprintf("SELECT COALESCE(SUM(%s), 0) FROM %s", colSize, t)); err != nil {
			return s, fmt.Errorf("sizing %s.raw: %w", t, err)
		}
		s.raw += n
	}
	return s, nil
}

// perRecord is bytes per record, and a part's share of the total.
func (s diskSize) perRecord(records int) string {
	if records == 0 || s.total == 0 {
		return "?"
	}
	idx := "?"
	if s.indexes >= 0 {
		idx = fmt.Sprintf("%.0f%%", 100*float64(s.indexes)/float64(s.total))
	}
	return fmt.Sprintf("%.0f B (indexes %s, raw JSON %.0f%%)", float64(s.total)/float64(records), idx, 100*float64(s.raw)/float64(s.total))
}
