package evaluate

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
)

// calendarConfig is a config whose agency calendar is berlin with the
// given calendars block.
func calendarConfig(t *testing.T, calendars string) *Rules {
	t.Helper()
	text := "agency: {name: Northwind, calendar: berlin}\ncalendars:\n" + calendars +
		"clients:\n  - {id: acme, name: Acme}\n"
	l, err := mapping.Parse("karkas.yaml", []byte(text), mapping.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRules(l.Config)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The hours avoid 08:xx and 09:xx: mapping.ParseInterval reads "09" as 0
// (fmt.Sscan takes the leading 0 for an octal prefix), a bug of its own.
const (
	berlinOld = `  berlin:
    time_zone: Europe/Berlin
    hours: {mon-fri: ["10:00-18:00"]}
    holidays: ["2026-12-24", "2026-12-31"]
`
	berlinNew = `  berlin:
    time_zone: Europe/Berlin
    hours: {mon-fri: ["11:00-16:00"]}
    holidays: ["2026-12-24", "2026-12-31"]
`
	// berlinNew reformatted: block style, other quoting, days split,
	// holidays reordered. Not an edit.
	berlinNewAgain = `  berlin:
    holidays:
      - '2026-12-31'
      - 2026-12-24
    hours:
      fri: [11:00-16:00]
      mon-thu:
        - "11:00-16:00"
    time_zone: "Europe/Berlin"
`
	berlinAfternoonOff = `  berlin:
    time_zone: Europe/Berlin
    hours: {mon-fri: ["11:00-13:00"]}
    holidays: ["2026-12-24", "2026-12-31"]
`
)

// TestUseHistory: a calendar recorded, its hours edited in the config and
// recorded later; a clock across the edit counts old hours, then new.
func TestUseHistory(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			testUseHistory(t, testdb.Open(t, dialect))
		})
	}
}

func testUseHistory(t *testing.T, st *store.Store) {
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, berlin) }
	use := func(r *Rules, now time.Time, record bool, want ...string) {
		t.Helper()
		got, err := r.UseHistory(ctx, st, now, record)
		if err != nil {
			t.Fatalf("UseHistory: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("UseHistory(record=%v) = %q, want %q", record, got, want)
		}
	}
	versions := func() int {
		t.Helper()
		all, err := st.CalendarVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(all["berlin"])
	}

	// First seen on Nov 2: the old hours hold since always.
	use(calendarConfig(t, berlinOld), at(2, 9), true, "berlin")
	// Edited, and first seen by karkas on Monday 16 at 12:00.
	r := calendarConfig(t, berlinNew)
	use(r, at(16, 12), true, "berlin")
	// Fri 16-18 (2h) + Mon 10-12 old (2h) + Mon 12-16 new (4h) + Tue 11-12
	// (1h); the old hours alone would say 12h, the new ones alone 6h.
	if got := r.Calendar("acme").Between(at(13, 16), at(17, 12)); got != 9*time.Hour {
		t.Errorf("Between across the edit = %s, want 9h", got)
	}
	// A clock that closed before the edit keeps its answer: Fri 16:00 to
	// Mon 11:00 is Fri 16-18 + Mon 10-11 in the old hours.
	if got := r.Calendar("acme").Between(at(13, 16), at(16, 11)); got != 3*time.Hour {
		t.Errorf("Between before the edit = %s, want 3h (old hours)", got)
	}

	// The same config, reformatted, a day later: nothing recorded.
	r = calendarConfig(t, berlinNewAgain)
	use(r, at(17, 9), true)
	if n := versions(); n != 2 {
		t.Errorf("%d versions stored, want 2", n)
	}
	if got := r.Calendar("acme").Between(at(13, 16), at(17, 12)); got != 9*time.Hour {
		t.Errorf("Between after a no-op sync = %s, want 9h", got)
	}
	// Running it twice on the same rules changes nothing either.
	use(r, at(17, 10), true)
	if got := r.Calendar("acme").Between(at(13, 16), at(17, 12)); got != 9*time.Hour {
		t.Errorf("Between after UseHistory twice = %s, want 9h", got)
	}

	// A preview: the afternoon goes from Wednesday 12:00, nothing written.
	r = calendarConfig(t, berlinAfternoonOff)
	use(r, at(18, 12), false, "berlin")
	if n := versions(); n != 2 {
		t.Errorf("preview stored something: %d versions, want 2", n)
	}
	// Tue 11-16 (5h) + Wed 11-12 (1h, the stored hours) + Wed 12-13 (1h,
	// the previewed edit) + Thu 11-13 (2h).
	if got := r.Calendar("acme").Between(at(17, 0), at(20, 0)); got != 9*time.Hour {
		t.Errorf("Between with the preview = %s, want 9h", got)
	}
}

func TestUseHistoryBrokenVersion(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	ctx := context.Background()
	if _, err := st.RecordCalendars(ctx, map[string]string{
		"berlin": `{"time_zone":"Europe/Atlantis","hours":{"mon":["09:00-18:00"]}}`,
	}, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	r := calendarConfig(t, berlinOld)
	before := r.Calendar("acme")
	_, err := r.UseHistory(ctx, st, time.Date(2026, 11, 16, 11, 0, 0, 0, time.UTC), false)
	if err == nil {
		t.Fatal("UseHistory with a stored zone that no longer exists succeeded")
	}
	for _, want := range []string{"calendar berlin", "version from the start (1970-01-01T00:00:00Z)", "Europe/Atlantis"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if r.Calendar("acme") != before {
		t.Error("a failed UseHistory replaced the rules' calendars")
	}
}

// TestCanonicalCalendar: what is stored reads back to the same text, and
// only a real change changes it.
func TestCanonicalCalendar(t *testing.T) {
	t.Parallel()
	text := func(r *Rules) string {
		t.Helper()
		s, err := canonicalCalendar(r.calendars["berlin"].Spec())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old, again := text(calendarConfig(t, berlinNew)), text(calendarConfig(t, berlinNewAgain))
	if old != again {
		t.Errorf("reformatting changed the canonical JSON:\n%s\n%s", old, again)
	}
	if changed := text(calendarConfig(t, berlinAfternoonOff)); changed == old {
		t.Error("an edit of the hours left the canonical JSON unchanged")
	}
	const want = `{"time_zone":"Europe/Berlin","hours":{"fri":["11:00-16:00"],"mon":["11:00-16:00"],"thu":["11:00-16:00"],` +
		`"tue":["11:00-16:00"],"wed":["11:00-16:00"]},"holidays":["2026-12-24","2026-12-31"]}`
	if old != want {
		t.Errorf("canonical JSON\n%s\nwant\n%s", old, want)
	}
	spec, err := storedSpec("berlin", old)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := canonicalCalendar(spec); back != old {
		t.Errorf("stored calendar reads back as\n%s\nwant\n%s", back, old)
	}
}
