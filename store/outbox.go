package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The outbox holds two kinds of row. Rows of sink OutboxRoute are what the
// SLA engine queued (SaveClocks): a transition, not yet routed. Routing
// turns each into deliveries, rows of a named sink, which a worker claims,
// hands to the sink and records. Every row is keyed by its idempotency
// key, so that routing twice or queueing twice writes nothing new.

// OutboxRoute is the sink of a row waiting to be routed.
const OutboxRoute = "route"

// Outbox row statuses.
const (
	OutboxPending   = "pending"   // to route (route rows) or to deliver
	OutboxHeld      = "held"      // waits for its digest
	OutboxRouted    = "routed"    // a route row, turned into deliveries
	OutboxDelivered = "delivered" // the sink did it
	OutboxFailed    = "failed"    // failed for good, or out of attempts: karkas deliveries retry
	OutboxFolded    = "folded"    // sent as part of a digest or a summary (external_ref names it)
	OutboxSkipped   = "skipped"   // not sent: superseded, waived, nobody to tell (last_error says why)
)

// OutboxRow is a row of the outbox.
type OutboxRow struct {
	ID             int64      `db:"id"`
	IdempotencyKey string     `db:"idempotency_key"`
	Kind           string     `db:"kind"`
	Sink           string     `db:"sink"`
	ClientID       string     `db:"client_id"`
	ClockID        string     `db:"clock_id"`
	Target         string     `db:"target"`
	Payload        string     `db:"payload"`
	Status         string     `db:"status"`
	Attempts       int        `db:"attempts"`
	NextAttemptAt  *time.Time `db:"next_attempt_at"`
	LastError      string     `db:"last_error"`
	ExternalRef    string     `db:"external_ref"`
	CreatedAt      time.Time  `db:"created_at"`
	DeliveredAt    *time.Time `db:"delivered_at"`
	LeaseOwner     string     `db:"lease_owner"`
	LeaseUntil     *time.Time `db:"lease_until"`
}

const outboxColumns = `id, idempotency_key, kind, sink, client_id, clock_id, target, payload, status, attempts,
	next_attempt_at, last_error, external_ref, created_at, delivered_at, lease_owner, lease_until`

// OutboxQuery reads and writes the outbox for routing: inside the
// transaction of PlanOutbox, or read-only on the database for a dry run.
type OutboxQuery struct {
	q        sqlx.ExtContext
	readOnly bool
}

// errReadOnly is a write attempted by a dry run.
var errReadOnly = errors.New("outbox: a read-only query cannot write (dry run)")

// PlanOutbox runs fn in one transaction. On PostgreSQL it first takes an
// advisory lock, so replicas route and fold one at a time: two never fold
// the same backlog into two summaries. SQLite has one writer anyway.
func (s *Store) PlanOutbox(ctx context.Context, fn func(q *OutboxQuery) error) error {
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		if s.Dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7306)`); err != nil {
				return fmt.Errorf("locking the outbox for routing: %w", err)
			}
		}
		return fn(&OutboxQuery{q: tx})
	})
}

// ReadOutbox returns a read-only OutboxQuery on the database, for plans
// that must not write.
func (s *Store) ReadOutbox() *OutboxQuery { return &OutboxQuery{q: s.db, readOnly: true} }

func (q *OutboxQuery) rows(ctx context.Context, where string, args ...any) ([]OutboxRow, error) {
	var out []OutboxRow
	err := sqlx.SelectContext(ctx, q.q, &out, q.q.Rebind(`SELECT `+outboxColumns+` FROM outbox WHERE `+where+` ORDER BY id`), args...)
	return out, err
}

// Routes lists the route rows not yet routed, oldest first.
func (q *OutboxQuery) Routes(ctx context.Context) ([]OutboxRow, error) {
	out, err := q.rows(ctx, `sink = ? AND status = ?`, OutboxRoute, OutboxPending)
	if err != nil {
		return nil, fmt.Errorf("listing notifications to route: %w", err)
	}
	return out, nil
}

// Held lists the deliveries waiting for their digest.
func (q *OutboxQuery) Held(ctx context.Context) ([]OutboxRow, error) {
	out, err := q.rows(ctx, `status = ?`, OutboxHeld)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries held for digests: %w", err)
	}
	return out, nil
}

// Pending lists every delivery still to be sent, due or not, leased or
// not.
func (q *OutboxQuery) Pending(ctx context.Context) ([]OutboxRow, error) {
	out, err := q.rows(ctx, `sink <> ? AND status = ?`, OutboxRoute, OutboxPending)
	if err != nil {
		return nil, fmt.Errorf("listing pending deliveries: %w", err)
	}
	return out, nil
}

// SentMark is a delivery that counts against its sink's rate cap: sent at
// At, or in flight (At is then the time of the query).
type SentMark struct {
	Sink string    `db:"sink"`
	At   time.Time `db:"at"`
}

// Sent lists the deliveries made since since, and those in flight at now
// (claimed under a live lease), for rate caps.
func (q *OutboxQuery) Sent(ctx context.Context, since, now time.Time) ([]SentMark, error) {
	var rows []struct {
		Sink        string     `db:"sink"`
		DeliveredAt *time.Time `db:"delivered_at"`
	}
	err := sqlx.SelectContext(ctx, q.q, &rows, q.q.Rebind(`SELECT sink, delivered_at FROM outbox
		WHERE sink <> ? AND ((status = ? AND delivered_at >= ?) OR (status = ? AND lease_until > ?))`),
		OutboxRoute, OutboxDelivered, since.UTC(), OutboxPending, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("counting recent deliveries: %w", err)
	}
	out := make([]SentMark, 0, len(rows))
	for _, r := range rows {
		at := now
		if r.DeliveredAt != nil {
			at = r.DeliveredAt.UTC()
		}
		out = append(out, SentMark{Sink: r.Sink, At: at})
	}
	return out, nil
}

// ClockState is what routing needs of a stored clock.
type ClockState struct {
	State  string `db:"state"`
	Waived bool   `db:"waived"`
}

// Clocks returns the stored state of the clocks named, by id; a clock not
// stored is absent.
func (q *OutboxQuery) Clocks(ctx context.Context, ids []string) (map[string]ClockState, error) {
	out := map[string]ClockState{}
	for _, chunk := range chunks(uniqueStrings(ids), 500) {
		var rows []struct {
			ID string `db:"id"`
			ClockState
		}
		query, args, err := sqlx.In(`SELECT id, state, waived FROM sla_clocks WHERE id IN (?)`, chunk)
		if err != nil {
			return nil, err
		}
		if err := sqlx.SelectContext(ctx, q.q, &rows, q.q.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("reading clock states: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.ClockState
		}
	}
	return out, nil
}

// TaskRef names a stored task.
type TaskRef struct{ SourceID, ExternalID string }

// OutboxTask is what routing needs of a task: who is assigned, where it
// lives, and (for GitHub issues) its repository's name.
type OutboxTask struct {
	SourceID      string `db:"source_id"`
	ExternalID    string `db:"external_id"`
	AssigneeIDs   string `db:"assignee_ids"`
	URL           string `db:"url"`
	ContainerName string `db:"container_name"`
	Deleted       bool   `db:"deleted"`
}

// Tasks returns the stored tasks named, by reference; a task not stored
// is absent.
func (q *OutboxQuery) Tasks(ctx context.Context, refs []TaskRef) (map[TaskRef]OutboxTask, error) {
	bySource := map[string][]string{}
	for _, r := range refs {
		bySource[r.SourceID] = append(bySource[r.SourceID], r.ExternalID)
	}
	out := map[TaskRef]OutboxTask{}
	for src, ids := range bySource {
		for _, chunk := range chunks(uniqueStrings(ids), 500) {
			query, args, err := sqlx.In(`SELECT t.source_id, t.external_id, t.assignee_ids, t.url,
				COALESCE(c.name, '') AS container_name, t.deleted_at IS NOT NULL AS deleted
				FROM tasks t LEFT JOIN containers c ON c.source_id = t.source_id AND c.external_id = t.container_id
				WHERE t.source_id = ? AND t.external_id IN (?)`, src, chunk)
			if err != nil {
				return nil, err
			}
			var rows []OutboxTask
			if err := sqlx.SelectContext(ctx, q.q, &rows, q.q.Rebind(query), args...); err != nil {
				return nil, fmt.Errorf("reading tasks to route: %w", err)
			}
			for _, r := range rows {
				out[TaskRef{r.SourceID, r.ExternalID}] = r
			}
		}
	}
	return out, nil
}

// Insert adds deliveries; a row whose idempotency key exists is left as
// it is. It returns how many were added.
func (q *OutboxQuery) Insert(ctx context.Context, rows []OutboxRow) (int, error) {
	if q.readOnly {
		return 0, errReadOnly
	}
	n := 0
	for _, r := range rows {
		if r.Target == "" {
			r.Target = "{}"
		}
		res, err := q.q.ExecContext(ctx, q.q.Rebind(`INSERT INTO outbox (idempotency_key, kind, sink, client_id, clock_id, target,
			payload, status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (idempotency_key) DO NOTHING`),
			r.IdempotencyKey, r.Kind, r.Sink, r.ClientID, r.ClockID, r.Target, r.Payload, r.Status, utcPtr(r.NextAttemptAt), r.CreatedAt.UTC())
		if err != nil {
			return n, fmt.Errorf("queueing delivery %s: %w", r.IdempotencyKey, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// SetStatus sets the status of rows, with a reference (the digest or
// summary a row was folded into, what a route row became) and a reason.
func (q *OutboxQuery) SetStatus(ctx context.Context, ids []int64, status, ref, reason string) error {
	if q.readOnly {
		return errReadOnly
	}
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In(`UPDATE outbox SET status = ?, external_ref = ?, last_error = ? WHERE id IN (?)`, status, ref, reason, chunk)
		if err != nil {
			return err
		}
		if _, err := q.q.ExecContext(ctx, q.q.Rebind(query), args...); err != nil {
			return fmt.Errorf("setting outbox rows %s: %w", status, err)
		}
	}
	return nil
}

// Skip marks pending and held deliveries skipped, with reason as their
// last error: they are never sent. A row no longer pending or held, or
// claimed under a lease live at now, is left as it is: the worker holding
// it records how it ended.
func (q *OutboxQuery) Skip(ctx context.Context, ids []int64, reason string, now time.Time) error {
	if q.readOnly {
		return errReadOnly
	}
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In(`UPDATE outbox SET status = ?, last_error = ? WHERE id IN (?) AND status IN (?, ?)
			AND (lease_until IS NULL OR lease_until <= ?)`, OutboxSkipped, reason, chunk, OutboxPending, OutboxHeld, now.UTC())
		if err != nil {
			return err
		}
		if _, err := q.q.ExecContext(ctx, q.q.Rebind(query), args...); err != nil {
			return fmt.Errorf("skipping deliveries: %w", err)
		}
	}
	return nil
}

// Defer moves the next attempt of pending rows to until.
func (q *OutboxQuery) Defer(ctx context.Context, ids []int64, until time.Time) error {
	if q.readOnly {
		return errReadOnly
	}
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In(`UPDATE outbox SET next_attempt_at = ? WHERE status = ? AND id IN (?)`, until.UTC(), OutboxPending, chunk)
		if err != nil {
			return err
		}
		if _, err := q.q.ExecContext(ctx, q.q.Rebind(query), args...); err != nil {
			return fmt.Errorf("deferring deliveries: %w", err)
		}
	}
	return nil
}

// SetTarget replaces a pending delivery's target.
func (q *OutboxQuery) SetTarget(ctx context.Context, id int64, target string) error {
	if q.readOnly {
		return errReadOnly
	}
	if _, err := q.q.ExecContext(ctx, q.q.Rebind(`UPDATE outbox SET target = ? WHERE id = ? AND status = ?`), target, id, OutboxPending); err != nil {
		return fmt.Errorf("changing the target of delivery %d: %w", id, err)
	}
	return nil
}

// Keys returns which of keys the outbox holds.
func (q *OutboxQuery) Keys(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, chunk := range chunks(uniqueStrings(keys), 500) {
		query, args, err := sqlx.In(`SELECT idempotency_key FROM outbox WHERE idempotency_key IN (?)`, chunk)
		if err != nil {
			return nil, err
		}
		var found []string
		if err := sqlx.SelectContext(ctx, q.q, &found, q.q.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("reading outbox keys: %w", err)
		}
		for _, k := range found {
			out[k] = true
		}
	}
	return out, nil
}

// StoredClocks returns every stored clock's state, by id: what a dry run
// compares a fresh evaluation with.
func (s *Store) StoredClocks(ctx context.Context) (map[string]ClockRow, error) {
	var rows []ClockRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT * FROM sla_clocks`); err != nil {
		return nil, fmt.Errorf("reading clocks: %w", err)
	}
	out := make(map[string]ClockRow, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// ClaimDelivery leases the oldest due delivery to owner until now+lease
// and counts an attempt; nil when none is due. A delivery is due when it
// is pending, its next attempt has come and no live lease holds it. On
// PostgreSQL the row is picked with FOR UPDATE SKIP LOCKED, so replicas
// claiming at once take different rows without waiting on each other.
func (s *Store) ClaimDelivery(ctx context.Context, owner string, now time.Time, lease time.Duration) (*OutboxRow, error) {
	lock := ""
	if s.Dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []OutboxRow
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id = (SELECT id FROM outbox WHERE status = ? AND sink <> ?
			AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY id LIMIT 1`+lock+`)
		RETURNING `+outboxColumns),
		owner, now.Add(lease).UTC(), OutboxPending, OutboxRoute, now.UTC(), now.UTC())
	if err != nil {
		return nil, fmt.Errorf("claiming a delivery: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// Orphan is a delivery whose attempt a worker started and never recorded.
type Orphan struct {
	ID       int64  `db:"id"`
	Key      string `db:"idempotency_key"`
	Sink     string `db:"sink"`
	Owner    string `db:"lease_owner"`
	Attempts int    `db:"attempts"`
}

// TakeOverLeases ends the live leases that owners other than owner hold on
// pending deliveries, so that the next ClaimDelivery takes those rows at
// once rather than when their leases run out, and returns them. Only a
// worker that knows no other worker is alive may call it (it holds the
// lock every deliverer takes): each such lease is then an attempt a
// killed run started (ClaimDelivery recorded it before the sink was
// called) and never recorded. The dead owner stays named in lease_owner
// until the row is claimed again.
func (s *Store) TakeOverLeases(ctx context.Context, owner string, now time.Time) ([]Orphan, error) {
	var out []Orphan
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`UPDATE outbox SET lease_until = ?
		WHERE status = ? AND sink <> ? AND lease_until > ? AND lease_owner <> ?
		RETURNING id, idempotency_key, sink, lease_owner, attempts`),
		now.UTC(), OutboxPending, OutboxRoute, now.UTC(), owner)
	if err != nil {
		return nil, fmt.Errorf("taking over the deliveries a killed run left: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Outcome is how a claimed delivery ended.
type Outcome struct {
	// Status is OutboxDelivered, OutboxFailed, OutboxSkipped, or
	// OutboxPending for a try again at Next.
	Status string
	// Ref is the sink's reference of what it did (a comment id, an
	// issue, a Message-ID, a file): kept in external_ref.
	Ref string
	// Error is why it failed, was skipped or waits.
	Error string
	Next  time.Time
	// NotAttempted gives the attempt back: the delivery was not tried
	// (outside the client's business hours, say).
	NotAttempted bool
}

// FinishDelivery records how a delivery that owner claimed ended, and
// releases it. It reports false when owner no longer holds the lease
// (it ran out and another worker took the row): nothing is written then.
func (s *Store) FinishDelivery(ctx context.Context, id int64, owner string, now time.Time, o Outcome) (bool, error) {
	var delivered *time.Time
	if o.Status == OutboxDelivered {
		t := now.UTC()
		delivered = &t
	}
	var next *time.Time
	if o.Status == OutboxPending {
		t := o.Next.UTC()
		next = &t
	}
	give := 0
	if o.NotAttempted {
		give = 1
	}
	// A failure keeps the reference an earlier attempt may have left.
	ref := "external_ref"
	args := []any{o.Status}
	if o.Ref != "" {
		ref = "?"
		args = append(args, o.Ref)
	}
	args = append(args, s.scrub(o.Error), next, delivered, give, id, owner)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE outbox SET status = ?, external_ref = `+ref+`,
		last_error = ?, next_attempt_at = ?, delivered_at = ?, attempts = attempts - ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND lease_owner = ?`), args...)
	if err != nil {
		return false, fmt.Errorf("recording delivery %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeliveryFilter selects deliveries to list.
type DeliveryFilter struct {
	// Status is one of the Outbox statuses; empty lists every delivery.
	Status string
	// Routes includes the rows of sink OutboxRoute.
	Routes bool
	Limit  int
	// Brief leaves out a payload over BriefPayload bytes (stored: PostgreSQL
	// counts it compressed) as "": a list shows a delivery's subject, and
	// a summary of thousands of notices is megabytes.
	Brief bool
}

// BriefPayload is the largest payload a Brief list reads.
const BriefPayload = 64 << 10

// Deliveries lists outbox rows, newest first.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter) ([]OutboxRow, error) {
	var where []string
	var args []any
	if !f.Routes {
		where = append(where, "sink <> ?")
		args = append(args, OutboxRoute)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	cols := outboxColumns
	if f.Brief {
		size := "length(payload)"
		if s.Dialect == Postgres {
			size = "pg_column_size(payload)" // without reading it whole
		}
		cols = strings.Replace(cols, "payload,", fmt.Sprintf("CASE WHEN %s > %d THEN '' ELSE CAST(payload AS TEXT) END AS payload,", size, BriefPayload), 1)
	}
	q := `SELECT ` + cols + ` FROM outbox`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []OutboxRow
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	return out, nil
}

// Delivery returns one outbox row.
func (s *Store) Delivery(ctx context.Context, id int64) (OutboxRow, error) {
	var r OutboxRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+outboxColumns+` FROM outbox WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("no delivery %d (karkas deliveries list shows them): %w", id, ErrNotFound)
	}
	return r, err
}

// RetryDelivery puts a failed or skipped delivery back in the queue, due
// now, with its attempts counted afresh.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) error {
	r, err := s.Delivery(ctx, id)
	if err != nil {
		return err
	}
	if r.Sink == OutboxRoute || (r.Status != OutboxFailed && r.Status != OutboxSkipped) {
		return fmt.Errorf("delivery %d is %s: only failed or skipped deliveries are retried", id, r.Status)
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE outbox SET status = ?, attempts = 0, next_attempt_at = ?,
		lease_owner = '', lease_until = NULL WHERE id = ? AND status = ?`), OutboxPending, now.UTC(), id, r.Status)
	if err != nil {
		return fmt.Errorf("retrying delivery %d: %w", id, err)
	}
	return nil
}

// OutboxCount is the number of outbox rows of a sink in a status.
type OutboxCount struct {
	Sink   string `db:"sink"`
	Status string `db:"status"`
	Rows   int    `db:"n"`
}

// OutboxCounts counts the outbox rows by sink and status.
func (s *Store) OutboxCounts(ctx context.Context) ([]OutboxCount, error) {
	var out []OutboxCount
	err := s.db.SelectContext(ctx, &out, `SELECT sink, status, COUNT(*) AS n FROM outbox GROUP BY sink, status ORDER BY sink, status`)
	if err != nil {
		return nil, fmt.Errorf("counting the outbox: %w", err)
	}
	return out, nil
}

// ClockNow is a stored clock's state at delivery time.
func (s *Store) ClockNow(ctx context.Context, id string) (ClockState, bool, error) {
	var c []ClockState
	if err := s.db.SelectContext(ctx, &c, s.db.Rebind(`SELECT state, waived FROM sla_clocks WHERE id = ?`), id); err != nil {
		return ClockState{}, false, fmt.Errorf("reading clock %s: %w", id, err)
	}
	if len(c) == 0 {
		return ClockState{}, false, nil
	}
	return c[0], true, nil
}

// TaskClockState is the worst open state of a task's clocks, waived ones
// aside: "breached", "at_risk" or "".
func (s *Store) TaskClockState(ctx context.Context, sourceID, externalID string) (string, error) {
	var states []string
	err := s.db.SelectContext(ctx, &states, s.db.Rebind(`SELECT DISTINCT state FROM sla_clocks WHERE subject_kind = 'task'
		AND subject_source_id = ? AND subject_external_id = ? AND NOT waived AND state IN ('breached', 'at_risk')`), sourceID, externalID)
	if err != nil {
		return "", fmt.Errorf("reading the clocks of task %s/%s: %w", sourceID, externalID, err)
	}
	worst := ""
	for _, st := range states {
		if st == "breached" || worst == "" {
			worst = st
		}
	}
	return worst, nil
}

// DeliveredRef returns the reference of the newest delivery of a clock
// through a sink ("" when there is none): what a follow-up answers.
func (s *Store) DeliveredRef(ctx context.Context, sink, clockID string) (string, error) {
	var refs []string
	err := s.db.SelectContext(ctx, &refs, s.db.Rebind(`SELECT external_ref FROM outbox WHERE sink = ? AND clock_id = ? AND status = ?
		AND external_ref <> '' ORDER BY id DESC LIMIT 1`), sink, clockID, OutboxDelivered)
	if err != nil {
		return "", fmt.Errorf("looking for the earlier delivery of %s: %w", clockID, err)
	}
	if len(refs) == 0 {
		return "", nil
	}
	return refs[0], nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func uniqueStrings(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
