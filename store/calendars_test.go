package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// TestCalendarVersions runs on SQLite always and on PostgreSQL wherever
// TEST_DATABASE_URL is set.
func TestCalendarVersions(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			testRecordCalendars(t, testdb.Open(t, dialect))
		})
	}
}

func testRecordCalendars(t *testing.T, st *store.Store) {
	ctx := context.Background()
	const (
		berlin   = `{"hours":{"fri":["09:00-18:00"],"mon":["09:00-18:00"]},"time_zone":"Europe/Berlin"}`
		berlin2  = `{"hours":{"fri":["10:00-16:00"],"mon":["10:00-16:00"]},"time_zone":"Europe/Berlin"}`
		newYork  = `{"hours":{"mon":["08:30-17:00"]},"time_zone":"America/New_York"}`
		newYork2 = `{"holidays":["2026-12-24"],"hours":{"mon":["08:30-17:00"]},"time_zone":"America/New_York"}`
	)
	record := func(specs map[string]string, now time.Time, want ...string) {
		t.Helper()
		got, err := st.RecordCalendars(ctx, specs, now)
		if err != nil {
			t.Fatalf("RecordCalendars: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("RecordCalendars at %s recorded %q, want %q", now, got, want)
		}
	}
	first := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	edit := time.Date(2026, 11, 16, 11, 0, 0, 999_000_000, time.UTC) // truncated to 11:00:00
	record(map[string]string{"berlin": berlin, "new-york": newYork}, first, "berlin", "new-york")
	record(map[string]string{"berlin": berlin, "new-york": newYork}, first.Add(time.Hour))
	record(map[string]string{"berlin": berlin2, "new-york": newYork}, edit, "berlin")
	record(map[string]string{"berlin": berlin2}, edit.Add(time.Hour)) // a calendar left out keeps its versions
	// The clock went back behind berlin's edit: the next edit lands a second after it.
	record(map[string]string{"berlin": berlin, "new-york": newYork2}, edit.Add(-time.Hour), "berlin", "new-york")

	got, err := st.CalendarVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type version struct {
		from time.Time
		spec string
	}
	want := map[string][]version{
		"berlin": {
			{store.CalendarEpoch, berlin},
			{time.Date(2026, 11, 16, 11, 0, 0, 0, time.UTC), berlin2},
			{time.Date(2026, 11, 16, 11, 0, 1, 0, time.UTC), berlin},
		},
		"new-york": {
			{store.CalendarEpoch, newYork},
			{time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC), newYork2},
		},
	}
	if len(got) != len(want) {
		t.Fatalf("CalendarVersions has %d calendars, want %d: %v", len(got), len(want), got)
	}
	for name, wv := range want {
		gv := got[name]
		if len(gv) != len(wv) {
			t.Fatalf("%s: %d versions, want %d: %v", name, len(gv), len(wv), gv)
		}
		for i, w := range wv {
			g := gv[i]
			if g.Calendar != name || !g.EffectiveFrom.Equal(w.from) || g.EffectiveFrom.Location() != time.UTC {
				t.Errorf("%s version %d: %s from %s, want from %s in UTC", name, i+1, g.Calendar, g.EffectiveFrom, w.from)
			}
			if g.Hash != store.CalendarHash(w.spec) {
				t.Errorf("%s version %d: hash %s, want the hash of %s", name, i+1, g.Hash, w.spec)
			}
			// PostgreSQL's JSONB reformats the text; the value must survive.
			var gj, wj any
			if err := json.Unmarshal([]byte(g.Spec), &gj); err != nil {
				t.Fatalf("%s version %d: spec %q: %v", name, i+1, g.Spec, err)
			}
			json.Unmarshal([]byte(w.spec), &wj)
			if !reflect.DeepEqual(gj, wj) {
				t.Errorf("%s version %d: spec %s, want %s", name, i+1, g.Spec, w.spec)
			}
		}
	}
	// The reformatted JSONB text must not look like an edit.
	record(map[string]string{"berlin": berlin, "new-york": newYork2}, edit.Add(48*time.Hour))
}
