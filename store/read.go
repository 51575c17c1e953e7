package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// TaskKey is what linking needs to know of a stored task.
type TaskKey struct {
	SourceID   string `db:"source_id"`
	ExternalID string `db:"external_id"`
	ShortRef   string `db:"short_ref"`
	ClientID   string `db:"client_id"`
	Labels     string `db:"labels"`
	// CreatorRef and CreatedAt are who created the task and when, as
	// stored: kept when a later read no longer shows them.
	CreatorRef string    `db:"creator_ref"`
	CreatedAt  time.Time `db:"created_at"`
}

// TaskKeys lists every live task's keys.
func (s *Store) TaskKeys(ctx context.Context) ([]TaskKey, error) {
	var out []TaskKey
	err := s.db.SelectContext(ctx, &out, `SELECT source_id, external_id, short_ref, client_id, labels, creator_ref, created_at
		FROM tasks WHERE deleted_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	return out, nil
}

// TaskKeyOf is the keys of one live task, by its id; ok is false when
// there is none.
func (s *Store) TaskKeyOf(ctx context.Context, sourceID, externalID string) (t TaskKey, ok bool, err error) {
	ok, err = s.oneKey(ctx, &t, `SELECT source_id, external_id, short_ref, client_id, labels, creator_ref, created_at
		FROM tasks WHERE source_id = ? AND external_id = ? AND deleted_at IS NULL`, sourceID, externalID)
	return
}

// TaskKeysByRef lists the live tasks of any source whose external id or
// short ref is ref (tasks_external_id, tasks_short_ref).
func (s *Store) TaskKeysByRef(ctx context.Context, ref string) ([]TaskKey, error) {
	var out []TaskKey
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT source_id, external_id, short_ref, client_id, labels, creator_ref, created_at
		FROM tasks WHERE external_id = ? AND deleted_at IS NULL
		UNION SELECT source_id, external_id, short_ref, client_id, labels, creator_ref, created_at
		FROM tasks WHERE short_ref = ? AND deleted_at IS NULL
		ORDER BY source_id, external_id`), ref, ref)
	if err != nil {
		return nil, fmt.Errorf("looking up task %q: %w", ref, err)
	}
	return out, nil
}

// PersonKeyOf is a person a source listed, by id.
func (s *Store) PersonKeyOf(ctx context.Context, sourceID, externalID string) (p PersonKey, ok bool, err error) {
	ok, err = s.oneKey(ctx, &p, `SELECT source_id, external_id, username, name, email FROM source_people
		WHERE source_id = ? AND external_id = ?`, sourceID, externalID)
	return
}

// ContainerKeyOf is a live container's keys, by id.
func (s *Store) ContainerKeyOf(ctx context.Context, sourceID, externalID string) (c ContainerKey, ok bool, err error) {
	ok, err = s.oneKey(ctx, &c, `SELECT source_id, external_id, client_id FROM containers
		WHERE source_id = ? AND external_id = ? AND deleted_at IS NULL`, sourceID, externalID)
	return
}

func (s *Store) oneKey(ctx context.Context, dest any, q string, args ...any) (bool, error) {
	err := s.db.GetContext(ctx, dest, s.db.Rebind(q), args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking up %v: %w", args, err)
	}
	return true, nil
}

// PersonKey is a person a source listed, by the names it gave.
type PersonKey struct {
	SourceID   string `db:"source_id"`
	ExternalID string `db:"external_id"`
	Username   string `db:"username"`
	Name       string `db:"name"`
	Email      string `db:"email"`
}

// PersonKeys lists every person the sources listed, deleted ones too: a
// member who left a board still wrote its old comments.
func (s *Store) PersonKeys(ctx context.Context) ([]PersonKey, error) {
	var out []PersonKey
	err := s.db.SelectContext(ctx, &out, `SELECT source_id, external_id, username, name, email FROM source_people`)
	if err != nil {
		return nil, fmt.Errorf("listing source people: %w", err)
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
	err := s.db.SelectContext(ctx, &out, `SELECT source_id, external_id, client_id FROM containers WHERE deleted_at IS NULL`)
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
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(fmt.Sprintf(`SELECT external_id, raw FROM %s
		WHERE source_id = ? AND external_id > ? AND deleted_at IS NULL ORDER BY external_id LIMIT ?`, table)),
		sourceID, after, limit)
	return out, err
}

// StoredSources lists the source ids that have rows in any table.
func (s *Store) StoredSources(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, `SELECT id FROM sources ORDER BY id`)
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

// UnmappedRef is a source's reference to a person that stored rows of one
// kind name and that resolved to no person of the config.
type UnmappedRef struct {
	SourceID string `db:"source_id"`
	Ref      string `db:"ref"`
	// Kind is what the rows are: messages, status_changes, created_tasks
	// or time_entries.
	Kind string `db:"kind"`
	// Name is a name the rows give, when they give one.
	Name string `db:"name"`
	// Side is what the rows resolved the person's side to without a
	// person (an email address by its domain); "" when rows differ.
	Side     string `db:"side"`
	ClientID string `db:"client_id"`
	Records  int    `db:"records"`
}

// UnmappedRefs lists, per source and reference, the live rows that name a
// person the mapping resolved to nobody: authors of messages (for email,
// only addresses whose domain is the agency's or a client's, never
// strangers or automated mail), movers of tasks, creators of tasks, and
// the people of time entries. Assignees are in AssigneeRefs.
func (s *Store) UnmappedRefs(ctx context.Context) ([]UnmappedRef, error) {
	var out []UnmappedRef
	err := s.db.SelectContext(ctx, &out, `
		SELECT source_id, author_ref AS ref, 'messages' AS kind, MAX(author_name) AS name,
		       CASE WHEN MIN(author_side) = MAX(author_side) THEN MIN(author_side) ELSE '' END AS side,
		       CASE WHEN MIN(client_id) = MAX(client_id) THEN MIN(client_id) ELSE '' END AS client_id, COUNT(*) AS records
		FROM messages WHERE deleted_at IS NULL AND NOT automated AND author_person_id = '' AND author_ref <> ''
		  AND (channel <> 'email' OR author_side IN ('agency', 'client'))
		GROUP BY source_id, author_ref
		UNION ALL
		SELECT source_id, actor_ref, 'status_changes', '', '', '', COUNT(*) FROM task_status_changes
		WHERE deleted_at IS NULL AND actor_person_id = '' AND actor_ref <> '' GROUP BY source_id, actor_ref
		UNION ALL
		SELECT source_id, creator_ref, 'created_tasks', '', '', '', COUNT(*) FROM tasks
		WHERE deleted_at IS NULL AND creator_person_id = '' AND creator_ref <> '' GROUP BY source_id, creator_ref
		UNION ALL
		SELECT source_id, person_ref, 'time_entries', MAX(person_name), '', '', COUNT(*) FROM time_entries
		WHERE deleted_at IS NULL AND person_id = '' AND person_ref <> '' GROUP BY source_id, person_ref
		ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("listing people no mapping names: %w", err)
	}
	return out, nil
}

// TaskAssignees is a live task's assignees as the source names them and as
// the mapping resolved them.
type TaskAssignees struct {
	SourceID    string `db:"source_id"`
	Refs        string `db:"assignee_refs"`
	AssigneeIDs string `db:"assignee_ids"`
}

// AssigneeRefs lists the live tasks that have assignees.
func (s *Store) AssigneeRefs(ctx context.Context) ([]TaskAssignees, error) {
	var out []TaskAssignees
	err := s.db.SelectContext(ctx, &out, `SELECT source_id, CAST(assignee_refs AS TEXT) AS assignee_refs,
		CAST(assignee_ids AS TEXT) AS assignee_ids FROM tasks WHERE deleted_at IS NULL AND CAST(assignee_refs AS TEXT) <> '[]'`)
	if err != nil {
		return nil, fmt.Errorf("listing task assignees: %w", err)
	}
	return out, nil
}

// UnlinkedRef is a live row that names a task it is not linked to: a time
// entry on a Trello-linked tracker task ("tr:…"), an email whose text links
// cards.
type UnlinkedRef struct {
	Table      string `db:"tbl"`
	SourceID   string `db:"source_id"`
	ExternalID string `db:"external_id"`
	// Refs is the entry's task_ref, or the email's task_refs (JSON).
	Refs string `db:"refs"`
}

// UnlinkedRefs lists the rows that name a task they are not linked to.
func (s *Store) UnlinkedRefs(ctx context.Context) ([]UnlinkedRef, error) {
	var out []UnlinkedRef
	err := s.db.SelectContext(ctx, &out, `
		SELECT 'time_entries' AS tbl, source_id, external_id, task_ref AS refs FROM time_entries
		WHERE deleted_at IS NULL AND task_id = '' AND task_ref LIKE 'tr:%'
		UNION ALL
		SELECT 'messages', source_id, external_id, CAST(task_refs AS TEXT) FROM messages
		WHERE deleted_at IS NULL AND task_id = '' AND CAST(task_refs AS TEXT) <> '[]'`)
	if err != nil {
		return nil, fmt.Errorf("listing rows not linked to the tasks they name: %w", err)
	}
	return out, nil
}

// RawRows returns the stored records of the rows of a source with the
// given ids.
func (s *Store) RawRows(ctx context.Context, table, sourceID string, ids []string) ([]RawRow, error) {
	if !isTable(table) {
		return nil, fmt.Errorf("no table %q", table)
	}
	var out []RawRow
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		q, args, err := sqlx.In(fmt.Sprintf(`SELECT external_id, raw FROM %s WHERE source_id = ? AND external_id IN (?)`, table),
			sourceID, ids[start:min(start+chunk, len(ids))])
		if err != nil {
			return nil, err
		}
		var rows []RawRow
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("reading %s of %s: %w", table, sourceID, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}
