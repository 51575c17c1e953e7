package main

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/store"
)

// rawCopy writes the bare write's rows, the same bytes, the machine's
// fastest way with no schema around them: into tables with the record
// tables' columns and no index, key or conflict check (PostgreSQL's COPY;
// SQLite's prepared INSERT in one transaction). Beside the bare limit it
// shows what the schema itself costs: its indexes, its upserts.
func rawCopy(ctx context.Context, url string, b *store.Batch) (time.Duration, error) {
	tables := []struct {
		name string
		rows any
	}{
		{"containers", b.Containers}, {"source_people", b.People}, {"tasks", b.Tasks},
		{"task_status_changes", b.StatusChanges}, {"messages", b.Messages}, {"time_entries", b.TimeEntries},
	}
	driver, dsn := "postgres", url
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		driver, dsn = "sqlite", p
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for _, t := range tables {
		create := fmt.Sprintf("CREATE TABLE rawcopy_%s (LIKE %s)", t.name, t.name)
		if driver == "sqlite" {
			create = fmt.Sprintf("CREATE TABLE rawcopy_%s AS SELECT * FROM %s WHERE 0", t.name, t.name)
		}
		if _, err := db.ExecContext(ctx, create); err != nil {
			return 0, fmt.Errorf("creating rawcopy_%s: %w", t.name, err)
		}
	}
	start := time.Now()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, t := range tables {
		rows := reflect.ValueOf(t.rows)
		if rows.Len() == 0 {
			continue
		}
		typ := rows.Type().Elem()
		var cols []string
		var idx []int
		for i := range typ.NumField() {
			if c := typ.Field(i).Tag.Get("db"); c != "" && c != "-" {
				cols, idx = append(cols, c), append(idx, i)
			}
		}
		q := fmt.Sprintf("COPY rawcopy_%s (%s) FROM STDIN", t.name, strings.Join(cols, ", ")) // lib/pq's COPY
		if driver == "sqlite" {
			q = fmt.Sprintf("INSERT INTO rawcopy_%s (%s) VALUES (%s)", t.name, strings.Join(cols, ", "),
				strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
		}
		stmt, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("rawcopy_%s: %w", t.name, err)
		}
		args := make([]any, len(idx))
		for r := range rows.Len() {
			row := rows.Index(r)
			for k, i := range idx {
				args[k] = row.Field(i).Interface()
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return 0, fmt.Errorf("rawcopy_%s: %w", t.name, err)
			}
		}
		if driver == "postgres" {
			if _, err := stmt.ExecContext(ctx); err != nil { // ends the COPY
				return 0, fmt.Errorf("rawcopy_%s: %w", t.name, err)
			}
		}
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
