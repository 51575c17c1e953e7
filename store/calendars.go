package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
)

// CalendarEpoch is the effective_from of a calendar's first version and
// means "since always": the calendar first seen is taken to have held for
// all of the past, since karkas knows no older one. It is the Unix epoch,
// which SQLite's text timestamps and PostgreSQL's TIMESTAMPTZ both store
// and order exactly, where the zero time.Time (year 1) is not portable.
var CalendarEpoch = time.Unix(0, 0).UTC()

// CalendarVersionRow is a row of calendar_versions: a calendar as it was
// from EffectiveFrom on.
type CalendarVersionRow struct {
	Calendar      string    `db:"calendar"`
	EffectiveFrom time.Time `db:"effective_from"`
	// Hash is CalendarHash of the spec as recorded.
	Hash string `db:"hash"`
	// Spec is the calendar's JSON. PostgreSQL hands JSONB back reformatted,
	// so compare Hash, not Spec's text.
	Spec string `db:"spec"`
}

// CalendarHash is the hash RecordCalendars keeps of a spec's text.
func CalendarHash(spec string) string {
	sum := sha256.Sum256([]byte(spec))
	return hex.EncodeToString(sum[:])
}

// RecordCalendars stores a new version of each calendar whose spec differs
// from its latest stored version, effective from now truncated to the
// second; a calendar stored for the first time gets CalendarEpoch. specs
// maps calendar names to their canonical JSON: the caller makes it
// canonical, so that a mere reformatting of the config is not an edit; any
// change of the text is. It returns the names of the calendars it recorded,
// sorted, and writes all of them in one transaction.
//
// Should the clock have gone back behind a calendar's latest version, the
// new version takes effect a second after it, so that versions stay in
// order. A calendar missing from specs keeps its versions.
func (s *Store) RecordCalendars(ctx context.Context, specs map[string]string, now time.Time) ([]string, error) {
	now = now.UTC().Truncate(time.Second)
	names := make([]string, 0, len(specs))
	for name := range specs {
		names = append(names, name)
	}
	sort.Strings(names)
	var changed []string
	err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		if s.Dialect == Postgres {
			// Two replicas starting at once must not both record the edit.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7306)`); err != nil {
				return fmt.Errorf("locking calendar versions: %w", err)
			}
		}
		latest, err := latestCalendars(ctx, tx)
		if err != nil {
			return err
		}
		for _, name := range names {
			hash := CalendarHash(specs[name])
			last, ok := latest[name]
			if ok && last.Hash == hash {
				continue
			}
			from := CalendarEpoch
			if ok {
				from = now
				if !from.After(last.EffectiveFrom) {
					from = last.EffectiveFrom.Add(time.Second)
				}
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO calendar_versions (calendar, effective_from, hash, spec)
				VALUES (?, ?, ?, ?)`), name, from, hash, specs[name]); err != nil {
				return fmt.Errorf("recording calendar %s: %w", name, err)
			}
			changed = append(changed, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// latestCalendars returns each calendar's latest version, without its spec.
func latestCalendars(ctx context.Context, tx *sqlx.Tx) (map[string]CalendarVersionRow, error) {
	var rows []CalendarVersionRow
	if err := tx.SelectContext(ctx, &rows, `SELECT calendar, effective_from, hash, '' AS spec
		FROM calendar_versions ORDER BY calendar, effective_from`); err != nil {
		return nil, fmt.Errorf("reading calendar versions: %w", err)
	}
	latest := map[string]CalendarVersionRow{}
	for _, r := range rows {
		r.EffectiveFrom = r.EffectiveFrom.UTC()
		latest[r.Calendar] = r
	}
	return latest, nil
}

// CalendarVersions returns every stored version by calendar name, each
// calendar's versions ordered by EffectiveFrom (in UTC).
func (s *Store) CalendarVersions(ctx context.Context) (map[string][]CalendarVersionRow, error) {
	var rows []CalendarVersionRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT calendar, effective_from, hash, spec
		FROM calendar_versions ORDER BY calendar, effective_from`); err != nil {
		return nil, fmt.Errorf("reading calendar versions: %w", err)
	}
	out := map[string][]CalendarVersionRow{}
	for _, r := range rows {
		r.EffectiveFrom = r.EffectiveFrom.UTC()
		out[r.Calendar] = append(out[r.Calendar], r)
	}
	return out, nil
}
