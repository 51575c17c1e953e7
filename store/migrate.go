package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/karkas/karkas/record"
)

// dataSteps fill, in a migration's transaction and after its SQL, what SQL
// alone cannot: new columns whose values are read from the neutral records
// the rows keep. A kill before the commit leaves neither the schema change
// nor the values, and the next start does both again. River's tables are
// made the same way, by River's migrator (store/river.go).
var dataSteps = map[int]func(ctx context.Context, tx *sqlx.Tx) error{
	4: fillFromRecords,
	6: migrateRiverTo(4),
	7: migrateRiverTo(RiverMigrationVersion),
}

// fillFromRecords is version 4's data step: the fingerprint, parents,
// author and task references of every message, the actor of every status move, the creator and
// assignees of every task and the person's name of every time entry, as
// the engine writes them for new rows (sync/engine rows.go).
func fillFromRecords(ctx context.Context, tx *sqlx.Tx) error {
	steps := []struct {
		table string
		fill  func(raw string) (string, []any, error)
	}{
		{"messages", func(raw string) (string, []any, error) {
			var m record.Message
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				return "", nil, err
			}
			fp, parents := "", "[]"
			if m.Channel == record.ChannelEmail {
				fp, parents = m.Fingerprint(), listJSON(m.Parents())
			}
			return "fingerprint = ?, parents = ?, author_ref = ?, task_refs = ?",
				[]any{fp, parents, cmp.Or(m.AuthorID, m.AuthorEmail), listJSON(m.TaskRefs)}, nil
		}},
		{"task_status_changes", func(raw string) (string, []any, error) {
			var sc record.StatusChange
			err := json.Unmarshal([]byte(raw), &sc)
			return "actor_ref = ?", []any{sc.ActorID}, err
		}},
		{"tasks", func(raw string) (string, []any, error) {
			var t record.Task
			err := json.Unmarshal([]byte(raw), &t)
			return "creator_ref = ?, assignee_refs = ?", []any{t.CreatorID, listJSON(t.Assignees)}, err
		}},
		{"time_entries", func(raw string) (string, []any, error) {
			var e record.TimeEntry
			err := json.Unmarshal([]byte(raw), &e)
			return "person_name = ?", []any{e.PersonName}, err
		}},
	}
	for _, st := range steps {
		lastSource, lastID := "", ""
		for {
			var page []struct {
				SourceID   string `db:"source_id"`
				ExternalID string `db:"external_id"`
				Raw        string `db:"raw"`
			}
			// Keyset paging: no cursor stays open while the rows are
			// updated (SQLite has one connection).
			if err := tx.SelectContext(ctx, &page, tx.Rebind(fmt.Sprintf(`SELECT source_id, external_id, raw FROM %s
				WHERE source_id > ? OR (source_id = ? AND external_id > ?) ORDER BY source_id, external_id LIMIT 1000`, st.table)),
				lastSource, lastSource, lastID); err != nil {
				return fmt.Errorf("reading %s: %w", st.table, err)
			}
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				set, args, err := st.fill(r.Raw)
				if err != nil {
					return fmt.Errorf("%s %s/%s: stored record unreadable: %w", st.table, r.SourceID, r.ExternalID, err)
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(fmt.Sprintf(`UPDATE %s SET %s WHERE source_id = ? AND external_id = ?`,
					st.table, set)), append(args, r.SourceID, r.ExternalID)...); err != nil {
					return fmt.Errorf("filling %s %s/%s: %w", st.table, r.SourceID, r.ExternalID, err)
				}
			}
			lastSource, lastID = page[len(page)-1].SourceID, page[len(page)-1].ExternalID
		}
	}
	return nil
}

func listJSON(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// BIViews are the views schema version 11 made for BI tools, documented
// column by column in the README.
var BIViews = []string{"bi_time_entries", "bi_hours_daily", "bi_sla_clocks", "bi_response_times",
	"bi_tasks", "bi_task_stages", "bi_budget_months"}
