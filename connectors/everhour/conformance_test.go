package everhour_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/vclock"
)

// The everhour source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.RunTracker(t, everhour.KindName, func(t *testing.T) *conformance.Tracker {
		clock := vclock.NewVirtual(start)
		w := everhourfake.NewWorld(clock)
		anna := w.AddUser("Anna Smith", "anna@northwind.agency")
		boris := w.AddUser("Борис Иванов", "boris@northwind.agency")
		acme := w.AddProject("ev", "Acme site", w.AddClient("Acme").ID)
		task := w.AddTask(acme.ID, "", "Header")
		var ids []int64
		for i := range 30 {
			who := []int64{anna.ID, boris.ID}[i%2]
			ids = append(ids, w.AddEntry(who, task.ID, "2026-03-"+pad(1+i%19), int64(600+i*60), "работа").ID)
		}
		srv := everhourfake.New(t, everhourfake.Options{World: w})
		clock.Advance(time.Hour)
		return &conformance.Tracker{Clock: clock, BaseURL: srv.BaseURL(), Token: everhourfake.DefaultAPIKey,
			New: func(t *testing.T, token string) timetrack.Tracker {
				tr, err := everhour.New(everhour.Config{BaseURL: srv.BaseURL(), Token: token, HTTPClient: srv.Client(), Clock: clock})
				if err != nil {
					t.Fatal(err)
				}
				return tr
			},
			AddEntry: func() string {
				return strconv.FormatInt(w.AddEntry(boris.ID, task.ID, "2026-03-19", 45*60, "созвон").ID, 10)
			},
			DeleteEntry:  func() string { w.DeleteEntry(ids[3]); return strconv.FormatInt(ids[3], 10) },
			ArmFault:     func() { srv.Arm(fakeapi.Fault{Kind: fakeapi.ServerError, Status: 502}) },
			ArmRateLimit: func() { srv.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited}) },
		}
	})
}

func pad(d int) string { return strconv.Itoa(100 + d)[1:] }
