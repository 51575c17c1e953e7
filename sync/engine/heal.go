package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// heal links the rows that named a task before the task was stored: a time
// entry logged on a Trello card pulled before the card (the tracker synced
// first, or the card is new), an email linking a card created after it, a
// row another run stored at the same time as the card. It runs after the
// runs' batches are stored, on every sync, so the rows link in the sync
// that brings the card, or the next one, with no remap; a row whose task
// is still unknown costs a look-up, not a read. Each linked row is counted
// in the Result of the run that brought its task (Result.Linked), else of
// the row's own source.
//
// A row of a source the engine does not know (Engine.Sources, and the
// jobs of this sync) is left for `karkas remap`.
func (e *Engine) heal(ctx context.Context, runs []*run) error {
	byRun := map[string]*run{}
	for _, r := range runs {
		byRun[r.res.SourceID] = r
	}
	lazy := e.look.st != nil
	if lazy && len(e.look.added) == 0 {
		return nil // no task arrived: nothing can link
	}
	refs, err := e.Store.UnlinkedRefs(ctx)
	if err != nil {
		return err
	}
	type key struct{ table, source string }
	matched := map[key][]string{}
	taskSource := map[[3]string]string{} // table, source, id -> the source of the task it links
	var order []key
	for _, u := range refs {
		var names []string
		if u.Table == "time_entries" {
			names = []string{strings.TrimPrefix(u.Refs, "tr:")}
		} else if err := json.Unmarshal([]byte(u.Refs), &names); err != nil {
			return fmt.Errorf("message %s/%s: stored task references: %w", u.SourceID, u.ExternalID, err)
		}
		for _, n := range names {
			if lazy && !e.look.added[n] {
				// Not a task of these runs: linking it is the next full
				// pull's (see NewLazy).
				continue
			}
			t, ok := e.look.TaskByRef(n)
			if !ok || t.SourceID == "" {
				continue
			}
			k := key{u.Table, u.SourceID}
			if _, seen := matched[k]; !seen {
				order = append(order, k)
			}
			matched[k] = append(matched[k], u.ExternalID)
			taskSource[[3]string{u.Table, u.SourceID, u.ExternalID}] = t.SourceID
			break
		}
	}
	for _, k := range order {
		src, ok := e.sourceInfo(k.source, runs)
		if !ok {
			continue
		}
		ids := matched[k]
		raws, err := e.Store.RawRows(ctx, k.table, k.source, ids)
		if err != nil {
			return err
		}
		var in record.Batch
		for _, r := range raws {
			if err := decodeRaw(k.table, r.Raw, &in); err != nil {
				return fmt.Errorf("%s %s/%s: stored record unreadable: %w", k.table, k.source, r.ExternalID, err)
			}
		}
		b := &builder{res: e.Resolver, look: e.look, src: src, now: e.Store.Now()}
		rows := b.build(&in)
		if err := e.look.failed(); err != nil {
			return err
		}
		// Only the rows that now link: the rest stay as they are.
		rows.TimeEntries = slices.DeleteFunc(rows.TimeEntries, func(r store.TimeEntryRow) bool { return r.TaskID == "" })
		rows.Messages = slices.DeleteFunc(rows.Messages, func(r store.MessageRow) bool { return r.TaskID == "" })
		written, err := e.Store.WriteBatch(ctx, k.source, 0, rows, "", e.DryRun)
		if err != nil {
			return fmt.Errorf("linking %s of %s: %w", k.table, k.source, err)
		}
		if written[k.table] == 0 {
			continue
		}
		var linked []string
		for _, r := range rows.TimeEntries {
			linked = append(linked, r.ExternalID)
		}
		for _, r := range rows.Messages {
			linked = append(linked, r.ExternalID)
		}
		for _, id := range linked {
			r, ok := byRun[taskSource[[3]string{k.table, k.source, id}]]
			if !ok {
				r, ok = byRun[k.source]
			}
			if ok {
				if r.res.Linked == nil {
					r.res.Linked = store.Counts{}
				}
				r.res.Linked[k.table]++
			}
		}
	}
	return nil
}

// sourceInfo finds how to resolve a source's records: from the sources of
// the config, else from this sync's jobs.
func (e *Engine) sourceInfo(id string, runs []*run) (mapping.SourceInfo, bool) {
	for _, s := range e.Sources {
		if s.ID == id {
			return s, true
		}
	}
	for _, r := range runs {
		if r.info.ID == id {
			return r.info, true
		}
	}
	return mapping.SourceInfo{}, false
}
