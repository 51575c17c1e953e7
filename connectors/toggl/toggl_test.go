package toggl_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

var start = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

type world struct {
	fake           *togglfake.Server
	clock          *vclock.Virtual
	anna, boris    int64
	acme, romashka int64 // projects
	task           int64
	tagMeeting     int64
}

func newWorld(t *testing.T, opts togglfake.Options) *world {
	t.Helper()
	w := &world{clock: vclock.NewVirtual(start)}
	opts.Clock = w.clock
	w.fake = togglfake.New(t, opts)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	yekaterinburg := time.FixedZone("+05", 5*3600)
	w.anna = w.fake.AddUser("Anna Smith", "anna@northwind.agency", berlin)
	w.boris = w.fake.AddUser("Борис Иванов", "boris@northwind.agency", yekaterinburg)
	w.acme = w.fake.AddProject("Acme site", w.fake.AddClient("Acme"))
	w.romashka = w.fake.AddProject("Сайт Ромашки", w.fake.AddClient("ООО Ромашка"))
	w.task = w.fake.AddTask("Header", w.acme)
	w.tagMeeting = w.fake.AddTag("созвон")
	return w
}

// fillDays adds n entries over the first days of the month; some start
// late in the UTC evening, so that Boris's (+05) fall on the next day.
func (w *world) fillDays(year int, month time.Month, days, n int) []int64 {
	ids := make([]int64, n)
	for i := range n {
		begin := time.Date(year, month, 1+i%days, 8+i%15, i%60, 0, 0, time.UTC)
		e := togglfake.Entry{
			UserID:      []int64{w.anna, w.boris}[i%2],
			ProjectID:   []int64{w.acme, w.romashka, 0}[i/2%3],
			Description: fmt.Sprintf("работа %d", i),
			Billable:    i%5 != 0,
			Start:       begin,
			Stop:        begin.Add(time.Duration(600+i%37*131) * time.Second),
		}
		if e.ProjectID == w.acme && i%4 == 0 {
			e.TaskID = w.task
		}
		if i%7 == 0 {
			e.TagIDs = []int64{w.tagMeeting}
		}
		ids[i] = w.fake.AddEntry(e)
	}
	return ids
}

func (w *world) tracker(t *testing.T, token string) *toggl.Tracker {
	t.Helper()
	tr, err := toggl.New(toggl.Config{BaseURL: w.fake.BaseURL(), Token: token, Workspace: fmt.Sprint(w.fake.Workspace()),
		HTTPClient: w.fake.Client(), Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// date is the day Toggl files e under: its start in the member's zone.
func (w *world) date(e togglfake.Entry) string {
	return e.Start.In(w.fake.Zone(e.UserID)).Format(time.DateOnly)
}

func want(w *world, from, to string) map[string]togglfake.Entry {
	out := map[string]togglfake.Entry{}
	for _, e := range w.fake.Entries() {
		if d := w.date(e); d >= from && d <= to && !e.Stop.IsZero() {
			out[fmt.Sprint(e.ID)] = e
		}
	}
	return out
}

func collect(t *testing.T, tr *toggl.Tracker, from, to string) (map[string]record.TimeEntry, error) {
	t.Helper()
	f, _ := time.Parse(time.DateOnly, from)
	l, _ := time.Parse(time.DateOnly, to)
	got := map[string]record.TimeEntry{}
	err := tr.Entries(context.Background(), f, l, func(p timetrack.Page) error {
		for _, e := range p.Entries {
			if _, dup := got[e.ExternalID]; dup {
				t.Errorf("entry %s listed twice", e.ExternalID)
			}
			got[e.ExternalID] = e
		}
		return nil
	})
	return got, err
}

func sameEntries(t *testing.T, w *world, got map[string]record.TimeEntry, want map[string]togglfake.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d", len(got), len(want))
	}
	for id, e := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("entry %s missing", id)
			continue
		}
		if g.Seconds != e.Seconds() || g.Date != w.date(e) || g.PersonID != fmt.Sprint(e.UserID) || g.Note != e.Description ||
			g.Billable == nil || *g.Billable != e.Billable || g.Start == nil || !g.Start.Equal(e.Start) {
			t.Errorf("entry %s: got %+v, want %+v", id, g, e)
		}
	}
}

func TestEntriesPageByNextHeaders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, togglfake.Options{})
	w.fillDays(2026, 2, 28, 120)
	w.fillDays(2026, 1, 31, 10)
	w.fake.AddEntry(togglfake.Entry{UserID: w.anna, Start: time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)}) // running
	tr := w.tracker(t, w.fake.Token())
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, w, got, want(w, "2026-02-01", "2026-02-28"))
	reqs := w.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (120 rows at 50 a page)", len(reqs))
	}
	if strings.Contains(reqs[0].Body, "first_row_number") || !strings.Contains(reqs[1].Body, `"first_row_number":51`) ||
		!strings.Contains(reqs[2].Body, `"first_row_number":101`) || !strings.Contains(reqs[1].Body, `"first_id":`) {
		t.Errorf("bodies:\n%s\n%s\n%s", reqs[0].Body, reqs[1].Body, reqs[2].Body)
	}
	// Names come with the rows: Cyrillic survives, tags and clients too.
	var named, tagged, linked int
	for _, e := range got {
		if e.PersonName == "Борис Иванов" && e.PersonEmail == "boris@northwind.agency" {
			named++
		}
		if len(e.Tags) == 1 && e.Tags[0] == "созвон" {
			tagged++
		}
		if e.ClientName == "ООО Ромашка" && e.ProjectName == "Сайт Ромашки" {
			linked++
		}
	}
	if named == 0 || tagged == 0 || linked == 0 {
		t.Errorf("names: %d Boris, %d tagged, %d Romashka", named, tagged, linked)
	}
}

// Boris works at +05: an entry started at 22:30 UTC on the last day of
// February is his 1 March, and Toggl's report files it there.
func TestDatesAreTheMembersDays(t *testing.T) {
	t.Parallel()
	w := newWorld(t, togglfake.Options{})
	late := time.Date(2026, 2, 28, 22, 30, 0, 0, time.UTC)
	id := w.fake.AddEntry(togglfake.Entry{UserID: w.boris, Start: late, Stop: late.Add(time.Hour)})
	tr := w.tracker(t, w.fake.Token())
	feb, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	mar, err := collect(t, tr, "2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	if len(feb) != 0 || mar[fmt.Sprint(id)].Date != "2026-03-01" {
		t.Errorf("February: %v; March: %v", feb, mar)
	}
}

// The hourly quota answers 402: the listing waits for the quota to reset
// (by X-Toggl-Quota-Resets-In, or QuotaWait without it) and loses no page.
func TestQuota402SlowsDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, togglfake.Options{Quota: 2})
	w.fillDays(2026, 2, 28, 240) // five pages
	tr := w.tracker(t, w.fake.Token())
	w.fake.Arm(togglfake.Fault{Kind: togglfake.FaultQuota, Skip: 1, RetryAfter: -1})
	before := w.clock.Now()
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, w, got, want(w, "2026-02-01", "2026-02-28"))
	if w.fake.QuotaSpent() == 0 {
		t.Fatal("the quota never ran out; the test proves nothing")
	}
	if n := tr.HTTP().Stats().Throttled; n != int64(1+w.fake.QuotaSpent()) {
		t.Errorf("client counted %d throttling answers, fake sent %d", n, 1+w.fake.QuotaSpent())
	}
	// Five pages at two an hour: two resets of the hour, and the 402
	// without a header costs QuotaWait.
	if waited := w.clock.Now().Sub(before); waited < 2*time.Hour {
		t.Errorf("waited %s of virtual time, want at least two hours", waited)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fault   togglfake.Fault
		token   string
		wantErr func(error) bool
	}{
		{name: "5xx twice then fine", fault: togglfake.Fault{Kind: togglfake.FaultServerError, Times: 2}},
		{name: "truncated JSON", fault: togglfake.Fault{Kind: togglfake.FaultTruncated, Skip: 1}},
		{name: "a hang", fault: togglfake.Fault{Kind: togglfake.FaultHang, Skip: 1}},
		{name: "429 twice", fault: togglfake.Fault{Kind: togglfake.FaultRateLimited, Skip: 1, Times: 2}},
		{name: "401 stops", fault: togglfake.Fault{Kind: togglfake.FaultUnauthorized, Skip: 1},
			wantErr: func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{name: "bad token", token: "0000000000000000000000000000beef",
			wantErr: func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{name: "404 is not retried", fault: togglfake.Fault{Kind: togglfake.FaultNotFound, Times: -1},
			wantErr: func(err error) bool {
				var ae *timetrack.APIError
				return errors.As(err, &ae) && ae.Status == http.StatusNotFound
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, togglfake.Options{})
			w.fillDays(2026, 2, 28, 120)
			if tc.fault.Kind != 0 {
				w.fake.Arm(tc.fault)
			}
			token := tc.token
			if token == "" {
				token = w.fake.Token()
			}
			tr := w.tracker(t, token)
			tr.HTTP().Timeout = 2 * time.Second // one hang costs this much real time
			got, err := collect(t, tr, "2026-02-01", "2026-02-28")
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Fatalf("err = %v", err)
				}
				if strings.Contains(err.Error(), w.fake.Token()) || strings.Contains(err.Error(), "Basic ") {
					t.Errorf("the error shows the credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameEntries(t, w, got, want(w, "2026-02-01", "2026-02-28"))
		})
	}
}

// Entries change between pages: one already read is deleted (shifting
// the row numbers) and one not yet read is edited. The next page starts
// at X-Next-ID, so nothing is skipped, and the edit is seen.
func TestEntriesChangeBetweenPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, togglfake.Options{})
	ids := w.fillDays(2026, 2, 28, 120)
	all := want(w, "2026-02-01", "2026-02-28")
	tr := w.tracker(t, w.fake.Token())
	// fillDays puts entry i on day 1+i%28: entries 0 and 28 are on
	// February 1 (page one), entry 26 (Anna's) on February 27 (page three).
	w.fake.OnPage(func(page int) {
		if page == 1 {
			w.fake.Delete(ids[0])
			w.fake.Edit(ids[26], func(e *togglfake.Entry) { e.Stop = e.Start.Add(3 * time.Hour) })
		}
	})
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Errorf("got %d entries, want all %d read (the deleted one on page one included)", len(got), len(all))
	}
	for id := range all {
		if _, ok := got[id]; !ok {
			t.Errorf("entry %s skipped", id)
		}
	}
	if s := got[fmt.Sprint(ids[26])].Seconds; s != 3*3600 {
		t.Errorf("edited entry has %d seconds, want %d", s, 3*3600)
	}
}

func TestNewWantsWorkspace(t *testing.T) {
	t.Parallel()
	for _, ws := range []string{"", "acme"} {
		if _, err := toggl.New(toggl.Config{BaseURL: toggl.DefaultBaseURL, Token: "t", Workspace: ws}); err == nil {
			t.Errorf("workspace %q accepted", ws)
		}
	}
}
