package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ClockRow is a row of sla_clocks: the last evaluated state of a clock.
type ClockRow struct {
	ID                string     `db:"id"`
	Policy            string     `db:"policy"`
	ClientID          string     `db:"client_id"`
	SubjectKind       string     `db:"subject_kind"`
	SubjectSourceID   string     `db:"subject_source_id"`
	SubjectExternalID string     `db:"subject_external_id"`
	State             string     `db:"state"`
	StartedAt         time.Time  `db:"started_at"`
	WarnAt            *time.Time `db:"warn_at"`
	DueAt             *time.Time `db:"due_at"`
	BreachedAt        *time.Time `db:"breached_at"`
	StoppedAt         *time.Time `db:"stopped_at"`
	BusinessSeconds   int64      `db:"business_seconds"`
	Waived            bool       `db:"waived"`
	WaiverReason      string     `db:"waiver_reason"`
	// WaivedBy and WaivedAt are who waived the clock and when.
	WaivedBy string     `db:"waived_by"`
	WaivedAt *time.Time `db:"waived_at"`
	// Detail is JSON the push side needs: the subject's title and link.
	Detail    string    `db:"detail"`
	UpdatedAt time.Time `db:"updated_at"`
	// Version counts the clock's transitions: the seq of its last one.
	Version int `db:"version"`
}

// Notification is an outbox row a clock transition asks for.
type Notification struct {
	Kind    string
	Sink    string
	Payload any
}

// ClockChanges counts what SaveClocks wrote.
type ClockChanges struct {
	New, Updated, Transitions, Outbox int
	// Withdrawn counts the stored clocks the evaluation no longer produced
	// (SaveEvaluation).
	Withdrawn int
}

// Withdrawn is the state SaveEvaluation gives a stored clock that an
// evaluation no longer produces (sla.Withdrawn).
const Withdrawn = "withdrawn"

// SaveClocks stores an evaluation: new clocks, changed clocks, one
// transition row per change of state, and the outbox rows notify asks for,
// all in one transaction, so a crash never leaves a transition without its
// notification or the reverse. A clock whose stored row already holds the
// same values is not rewritten, and an outbox row is keyed by clock and new
// state, so saving the same evaluation twice writes nothing. Waivers in the
// store are kept.
func (s *Store) SaveClocks(ctx context.Context, clocks []ClockRow, notify func(old *ClockRow, new ClockRow) *Notification) (ClockChanges, error) {
	return s.SaveEvaluation(ctx, clocks, notify, nil)
}

// SaveEvaluation is SaveClocks for an evaluation of all the facts: a
// stored clock of a policy wholeHistory names (sla.WholeHistory) that
// clocks does not hold is no longer true, and becomes Withdrawn, with its
// transition and, through notify, its notification (a label comes off a
// card), in the same transaction. Its waiver is kept.
func (s *Store) SaveEvaluation(ctx context.Context, clocks []ClockRow, notify func(old *ClockRow, new ClockRow) *Notification,
	wholeHistory func(policy string) bool) (ClockChanges, error) {
	return s.SaveEvaluationOf(ctx, nil, clocks, notify, wholeHistory)
}

// SaveEvaluationOf is SaveEvaluation for an evaluation of a scope (nil:
// the whole store): the stored clocks it does not cover are neither read
// nor withdrawn, and clocks must hold only clocks it covers.
func (s *Store) SaveEvaluationOf(ctx context.Context, sc *Scope, clocks []ClockRow, notify func(old *ClockRow, new ClockRow) *Notification,
	wholeHistory func(policy string) bool) (ClockChanges, error) {
	var ch ClockChanges
	if sc.Empty() {
		return ch, nil // nothing evaluated
	}
	for _, c := range clocks {
		if !sc.Covers(c.Policy, c.ClientID, c.SubjectKind, c.SubjectSourceID, c.SubjectExternalID) {
			return ch, fmt.Errorf("clock %s is not of the evaluation's scope", c.ID)
		}
	}
	err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		stored := map[string]ClockRow{}
		q, args := `SELECT * FROM sla_clocks`, []any(nil)
		if sc != nil {
			var cond string
			cond, args = sc.where(clockCols)
			q = tx.Rebind(q + ` WHERE ` + cond)
		}
		rows, err := tx.QueryxContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r ClockRow
			if err := rows.StructScan(&r); err != nil {
				rows.Close()
				return err
			}
			stored[r.ID] = r
		}
		rows.Close()
		now := s.Now()
		if sc == nil {
			// When the clocks were last evaluated in full: what the web
			// pages say their clocks are as of.
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO store_marks (name, at) VALUES ('evaluated', ?)
				ON CONFLICT (name) DO UPDATE SET at = excluded.at`), now.UTC()); err != nil {
				return err
			}
		}
		if wholeHistory != nil {
			produced := make(map[string]bool, len(clocks))
			for _, c := range clocks {
				produced[c.ID] = true
			}
			var gone []ClockRow
			for id, old := range stored {
				if produced[id] || old.State == Withdrawn || !wholeHistory(old.Policy) {
					continue
				}
				c := old
				c.State = Withdrawn
				if c.StoppedAt == nil {
					t := now
					c.StoppedAt = &t
				}
				gone = append(gone, c)
			}
			// In id order, so that the transitions of one evaluation are
			// written in the same order on every run and database.
			slices.SortFunc(gone, func(a, b ClockRow) int { return strings.Compare(a.ID, b.ID) })
			ch.Withdrawn = len(gone)
			clocks = append(slices.Clip(clocks), gone...)
		}
		for _, c := range clocks {
			old, exists := stored[c.ID]
			c.Version = 0
			if exists {
				c.Waived, c.WaiverReason, c.Version = old.Waived, old.WaiverReason, old.Version
				if sameClock(old, c) {
					continue
				}
			}
			moved := !exists || old.State != c.State
			if moved {
				// The transition's number: two evaluations that both saw
				// the clock at the same version cannot both record one
				// (sla_transitions_seq).
				c.Version++
			}
			c.UpdatedAt = now
			if _, err := tx.NamedExecContext(ctx, `INSERT INTO sla_clocks (id, policy, client_id, subject_kind, subject_source_id,
				subject_external_id, state, started_at, warn_at, due_at, breached_at, stopped_at, business_seconds, waived,
				waiver_reason, detail, updated_at, version) VALUES (:id, :policy, :client_id, :subject_kind, :subject_source_id,
				:subject_external_id, :state, :started_at, :warn_at, :due_at, :breached_at, :stopped_at, :business_seconds,
				:waived, :waiver_reason, :detail, :updated_at, :version)
				ON CONFLICT (id) DO UPDATE SET state = excluded.state, started_at = excluded.started_at, warn_at = excluded.warn_at,
				due_at = excluded.due_at, breached_at = excluded.breached_at, stopped_at = excluded.stopped_at,
				business_seconds = excluded.business_seconds, detail = excluded.detail, updated_at = excluded.updated_at,
				version = excluded.version`, c); err != nil {
				return fmt.Errorf("saving clock %s: %w", c.ID, err)
			}
			if exists {
				ch.Updated++
			} else {
				ch.New++
			}
			if !moved {
				continue
			}
			from := ""
			var oldp *ClockRow
			if exists {
				from, oldp = old.State, &old
			}
			// The transition happened when the clock says, not when
			// karkas noticed: a first sync finds months of history.
			at := now
			switch {
			case c.State == Withdrawn:
			case c.State == "breached" && c.BreachedAt != nil:
				at = *c.BreachedAt
			case c.State == "at_risk" && c.WarnAt != nil:
				at = *c.WarnAt
			case c.StoppedAt != nil:
				at = *c.StoppedAt
			case c.State == "running":
				at = c.StartedAt
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO sla_transitions (clock_id, from_state, to_state, at, business_seconds, seq)
				VALUES (?, ?, ?, ?, ?, ?)`), c.ID, from, c.State, at.UTC(), c.BusinessSeconds, c.Version); err != nil {
				return fmt.Errorf("recording transition %d of %s (another evaluation at once recorded it?): %w", c.Version, c.ID, err)
			}
			ch.Transitions++
			if notify == nil {
				continue
			}
			n := notify(oldp, c)
			if n == nil {
				continue
			}
			payload, err := json.Marshal(n.Payload)
			if err != nil {
				return fmt.Errorf("encoding notification of %s: %w", c.ID, err)
			}
			res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO outbox (idempotency_key, kind, sink, client_id, payload, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`),
				c.ID+":"+c.State, n.Kind, n.Sink, c.ClientID, string(payload), now)
			if err != nil {
				return fmt.Errorf("queueing notification of %s: %w", c.ID, err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				ch.Outbox++
			}
		}
		return nil
	})
	return ch, err
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func sameClock(a, b ClockRow) bool {
	return a.State == b.State && a.StartedAt.Equal(b.StartedAt) && sameTime(a.WarnAt, b.WarnAt) &&
		sameTime(a.DueAt, b.DueAt) && sameTime(a.BreachedAt, b.BreachedAt) && sameTime(a.StoppedAt, b.StoppedAt) &&
		a.BusinessSeconds == b.BusinessSeconds && sameJSON(a.Detail, b.Detail) && a.Policy == b.Policy && a.ClientID == b.ClientID
}

// sameJSON compares two JSON texts by what they hold: PostgreSQL hands
// back a jsonb column reformatted (`{"a": 1}` for `{"a":1}`), and a text
// comparison would rewrite every clock on every sync.
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Waive records an agreed exception on a stored clock, who made it and
// when, with an audit entry. Waived breaches stay visible, with the
// reason.
func (s *Store) Waive(ctx context.Context, clockID, reason, by string) error {
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		now := s.Now().UTC()
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sla_clocks SET waived = ?, waiver_reason = ?, waived_by = ?, waived_at = ?,
			updated_at = ? WHERE id = ?`), true, reason, by, now, now, clockID)
		if err != nil {
			return fmt.Errorf("waiving %s: %w", clockID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no clock %s (karkas sla lists them; clocks are stored by karkas sync): %w", clockID, ErrNotFound)
		}
		return audit(ctx, tx, AuditEntry{At: now, Actor: by, Action: "waive", Subject: "clock:" + clockID,
			Detail: jsonObject(map[string]any{"reason": reason})})
	})
}

// Waivers maps waived clock ids to their reasons.
func (s *Store) Waivers(ctx context.Context) (map[string]string, error) {
	return s.stringMap(ctx, `SELECT id, waiver_reason FROM sla_clocks WHERE waived`)
}

// ClockCount is the number of stored clocks of a client in a state.
type ClockCount struct {
	ClientID string `db:"client_id"`
	State    string `db:"state"`
	Policy   string `db:"policy"`
	Clocks   int    `db:"clocks"`
}

// ClockCounts counts stored clocks by client, policy and state.
func (s *Store) ClockCounts(ctx context.Context) ([]ClockCount, error) {
	var out []ClockCount
	err := s.db.SelectContext(ctx, &out, `SELECT client_id, state, policy, COUNT(*) AS clocks FROM sla_clocks
		GROUP BY client_id, state, policy ORDER BY client_id, policy, state`)
	return out, err
}

// CountRows counts the rows of a table (SLA and outbox tables included).
func (s *Store) CountRows(ctx context.Context, table string) (int, error) {
	var n sql.NullInt64
	err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+table)
	return int(n.Int64), err
}
