package toggl_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
	"github.com/karkas/karkas/internal/conformance"
)

// The toggl source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.RunTracker(t, toggl.KindName, func(t *testing.T) *conformance.Tracker {
		w := newWorld(t, togglfake.Options{})
		ids := w.fillDays(2026, 3, 19, 40)
		w.clock.Advance(time.Hour)
		return &conformance.Tracker{Clock: w.clock, BaseURL: w.fake.BaseURL(), Token: w.fake.Token(),
			New: func(t *testing.T, token string) timetrack.Tracker { return w.tracker(t, token) },
			AddEntry: func() string {
				begin := time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)
				id := w.fake.AddEntry(togglfake.Entry{UserID: w.boris, ProjectID: w.acme, Description: "созвон", Start: begin, Stop: begin.Add(45 * time.Minute)})
				return strconv.FormatInt(id, 10)
			},
			DeleteEntry:  func() string { w.fake.Delete(ids[3]); return strconv.FormatInt(ids[3], 10) },
			ArmFault:     func() { w.fake.Arm(togglfake.Fault{Kind: togglfake.FaultServerError, Status: 502}) },
			ArmRateLimit: func() { w.fake.Arm(togglfake.Fault{Kind: togglfake.FaultRateLimited}) },
		}
	})
}
