package store

import (
	"context"
	"fmt"
)

// TaskKey is what linking needs to know of a stored task.
type TaskKey struct {
	SourceID   string `db:"source_id"`
	ExternalID string `db:"external_id"`
	ShortRef   string `db:"short_ref"`
	ClientID   string `db:"client_id"`
	Labels     string `db:"labels"`
}

// TaskKeys lists every live task's keys.
func (s *Store) TaskKeys(ctx context.Context) ([]TaskKey, error) {
	var out []TaskKey
	err := s.DB.SelectContext(ctx, &out, `SELECT source_id, external_id, short_ref, client_id, labels FROM tasks WHERE deleted_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	return out, nil
}

// ContainerKey is a stored container and its client.
type ContainerKey struct {
	SourceID   string `db:"source_id"`
	ExternalID string `db:"external_id"`
	ClientID   string `db:"client_id"`
}

// ContainerKeys lists every live container's keys.
func (s *Store) ContainerKeys(ctx context.Context) ([]ContainerKey, error) {
	var out []ContainerKey
	err := s.DB.SelectContext(ctx, &out, `SELECT source_id, external_id, client_id FROM containers WHERE deleted_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	return out, nil
}

// RawRow is a stored neutral record.
type RawRow struct {
	ExternalID string `db:"external_id"`
	Raw        string `db:"raw"`
}

// RawPage returns up to limit live rows of a source in table with external
// ids after `after`, in id order: remap pages with it so that it never holds
// a cursor open while writing (SQLite has one connection).
func (s *Store) RawPage(ctx context.Context, table, sourceID, after string, limit int) ([]RawRow, error) {
	if !isTable(table) {
		return nil, fmt.Errorf("no table %q", table)
	}
	var out []RawRow
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(fmt.Sprintf(`SELECT external_id, raw FROM %s
		WHERE source_id = ? AND external_id > ? AND deleted_at IS NULL ORDER BY external_id LIMIT ?`, table)),
		sourceID, after, limit)
	return out, err
}

// StoredSources lists the source ids that have rows in any table.
func (s *Store) StoredSources(ctx context.Context) ([]string, error) {
	var out []string
	err := s.DB.SelectContext(ctx, &out, `SELECT id FROM sources ORDER BY id`)
	return out, err
}

func isTable(name string) bool {
	for _, t := range Tables {
		if t == name {
			return true
		}
	}
	return false
}
