package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// remapPage is how many stored rows remap resolves per transaction.
const remapPage = 2000

// Remap resolves every live stored row of the given sources again from the
// neutral record it keeps, with the engine's (new) resolver, and writes the
// rows whose resolution changed. Tables go in dependency order (containers,
// then tasks, then what links to tasks) so that links see the new clients.
func (e *Engine) Remap(ctx context.Context, sources []mapping.SourceInfo) (store.Counts, error) {
	written := store.Counts{}
	for _, table := range store.Tables {
		for _, src := range sources {
			b := &builder{res: e.Resolver, look: e.look, src: src}
			after := ""
			for {
				page, err := e.Store.RawPage(ctx, table, src.ID, after, remapPage)
				if err != nil {
					return written, fmt.Errorf("reading %s of %s: %w", table, src.ID, err)
				}
				if len(page) == 0 {
					break
				}
				var in record.Batch
				for _, r := range page {
					if err := decodeRaw(table, r.Raw, &in); err != nil {
						return written, fmt.Errorf("%s %s/%s: stored record unreadable: %w", table, src.ID, r.ExternalID, err)
					}
				}
				b.now = e.Store.Now()
				n, err := e.Store.WriteBatch(ctx, src.ID, 0, b.build(&in), "", e.DryRun)
				if err != nil {
					return written, fmt.Errorf("writing %s of %s: %w", table, src.ID, err)
				}
				written.Add(n)
				after = page[len(page)-1].ExternalID
				if e.Progress != nil {
					e.Progress.Batch(src.ID, len(page), written.Total())
				}
			}
		}
	}
	// A remapped client can join threads by subject (threadRoots).
	for _, src := range sources {
		n, err := e.Thread(ctx, src.ID)
		if err != nil {
			return written, err
		}
		if n > 0 {
			written["threads"] += n // not a table: the remap command prints it apart
		}
	}
	return written, nil
}

func decodeRaw(table, raw string, into *record.Batch) error {
	data := []byte(raw)
	switch table {
	case "containers":
		var v record.Container
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.Containers = append(into.Containers, v)
	case "source_people":
		var v record.Person
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.People = append(into.People, v)
	case "tasks":
		var v record.Task
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.Tasks = append(into.Tasks, v)
	case "task_status_changes":
		var v record.StatusChange
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.StatusChanges = append(into.StatusChanges, v)
	case "task_field_changes":
		var v record.FieldChange
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.FieldChanges = append(into.FieldChanges, v)
	case "messages":
		var v record.Message
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.Messages = append(into.Messages, v)
	case "time_entries":
		var v record.TimeEntry
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		into.TimeEntries = append(into.TimeEntries, v)
	default:
		return fmt.Errorf("no table %q", table)
	}
	return nil
}
