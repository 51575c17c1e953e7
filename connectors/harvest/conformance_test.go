package harvest_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/conformance"
)

// The harvest source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.RunTracker(t, harvest.KindName, func(t *testing.T) *conformance.Tracker {
		w := newWorld(t, harvestfake.Options{})
		ids := w.fillDays(2026, 3, 19, 40)
		w.clock.Advance(time.Hour)
		return &conformance.Tracker{Clock: w.clock, BaseURL: w.fake.BaseURL(), Token: w.fake.Token(),
			New: func(t *testing.T, token string) timetrack.Tracker { return w.tracker(t, token) },
			AddEntry: func() string {
				id := w.fake.AddEntry(harvestfake.Entry{SpentDate: "2026-03-19", UserID: w.boris, ProjectID: w.acme, TaskID: w.design, Hours: 0.75, Notes: "созвон"})
				return strconv.FormatInt(id, 10)
			},
			DeleteEntry:  func() string { w.fake.Delete(ids[3]); return strconv.FormatInt(ids[3], 10) },
			Reconcile:    timetrack.DefaultReconcileEvery, // deletions show in the window re-read only
			ArmFault:     func() { w.fake.Arm(harvestfake.Fault{Kind: harvestfake.FaultServerError, Status: 502}) },
			ArmRateLimit: func() { w.fake.Arm(harvestfake.Fault{Kind: harvestfake.FaultRateLimited}) },
		}
	})
}
