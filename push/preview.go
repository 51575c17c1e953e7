package push

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
)

// Preview evaluates the store's facts as of now, in memory, and returns
// the route rows that storing the evaluation would queue and the outbox
// does not hold yet: what a sync would add before routing. Nothing is
// written; a calendar edit is previewed, not recorded.
func Preview(ctx context.Context, st *store.Store, rules *evaluate.Rules, now time.Time) ([]store.OutboxRow, error) {
	if _, err := rules.UseHistory(ctx, st, now, false); err != nil {
		return nil, err
	}
	facts, err := evaluate.LoadFacts(ctx, st)
	if err != nil {
		return nil, err
	}
	stored, err := st.StoredClocks(ctx)
	if err != nil {
		return nil, err
	}
	var rows []store.OutboxRow
	var keys []string
	for _, c := range evaluate.Evaluate(facts, rules, now) {
		old, exists := stored[c.ID]
		from := ""
		if exists {
			if old.State == c.State {
				continue
			}
			from = old.State
		}
		// As evaluate queues them: a clock entering or leaving at risk
		// or breached; one first seen already over is history.
		if !entering(c.State) && !entering(from) {
			continue
		}
		n := notice(c, from)
		payload, err := json.Marshal(n)
		if err != nil {
			return nil, fmt.Errorf("encoding the notice of %s: %w", c.ID, err)
		}
		key := c.ID + ":" + c.State
		keys = append(keys, key)
		rows = append(rows, store.OutboxRow{IdempotencyKey: key, Kind: "sla_transition", Sink: store.OutboxRoute,
			ClientID: c.ClientID, Payload: string(payload), Status: store.OutboxPending, CreatedAt: now})
	}
	have, err := st.ReadOutbox().Keys(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		if !have[r.IdempotencyKey] {
			out = append(out, r)
		}
	}
	return out, nil
}

// notice is the outbox payload evaluate stores for a clock's transition.
func notice(c sla.Clock, from string) evaluate.Notice {
	detail, _ := json.Marshal(map[string]string{"title": c.Subject.Title, "url": c.Subject.URL})
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return evaluate.Notice{ClockID: c.ID, Policy: c.Policy, Client: c.ClientID, From: from, To: c.State,
		SubjectKind: c.Subject.Kind, SubjectSource: c.Subject.Source, SubjectID: c.Subject.ExternalID, Detail: string(detail),
		StartedAt: c.StartedAt.UTC(), DueAt: opt(c.DueAt), BreachedAt: opt(c.BreachedAt), BusinessSeconds: int64(c.BusinessElapsed / time.Second)}
}
