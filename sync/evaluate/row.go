package evaluate

import (
	"encoding/json"
	"time"

	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// clockRow is a clock as the store keeps it.
func clockRow(c sla.Clock) store.ClockRow {
	d := map[string]string{"title": c.Subject.Title, "url": c.Subject.URL}
	if c.Note != "" {
		d["note"] = c.Note
	}
	detail, _ := json.Marshal(d)
	// The store keeps an absent instant as NULL: the clock's zero time.
	utc := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return store.ClockRow{ID: c.ID, Policy: c.Policy, ClientID: c.ClientID, SubjectKind: c.Subject.Kind,
		SubjectSourceID: c.Subject.Source, SubjectExternalID: c.Subject.ExternalID, State: c.State,
		StartedAt: c.StartedAt.UTC(), WarnAt: utc(c.WarnAt), DueAt: utc(c.DueAt), BreachedAt: utc(c.BreachedAt),
		StoppedAt: utc(c.StoppedAt), BusinessSeconds: int64(c.BusinessElapsed / time.Second), Detail: string(detail)}
}
