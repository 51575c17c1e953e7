package clockify_test

import (
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/conformance"
)

// The clockify source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.RunTracker(t, clockify.KindName, func(t *testing.T) *conformance.Tracker {
		w := newWorld(t, clockifyfake.Options{})
		ids := w.fillDays(2026, 3, 19, 40)
		w.clock.Advance(time.Hour)
		return &conformance.Tracker{Clock: w.clock, BaseURL: w.fake.BaseURL(), Token: w.fake.Key(),
			New: func(t *testing.T, token string) timetrack.Tracker { return w.tracker(t, token) },
			AddEntry: func() string {
				begin := time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)
				return w.fake.AddEntry(clockifyfake.Entry{UserID: w.boris, ProjectID: w.acme, Description: "созвон", Start: begin, End: begin.Add(45 * time.Minute)})
			},
			DeleteEntry:  func() string { w.fake.Delete(ids[3]); return ids[3] },
			ArmFault:     func() { w.fake.Arm(clockifyfake.Fault{Kind: clockifyfake.FaultServerError, Status: 502}) },
			ArmRateLimit: func() { w.fake.Arm(clockifyfake.Fault{Kind: clockifyfake.FaultRateLimited}) },
		}
	})
}
