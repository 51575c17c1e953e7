package clockify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

var start = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

type world struct {
	fake           *clockifyfake.Server
	clock          *vclock.Virtual
	anna, boris    string
	acme, romashka string // projects
	task           string
	tagMeeting     string
}

func newWorld(t *testing.T, opts clockifyfake.Options) *world {
	t.Helper()
	w := &world{clock: vclock.NewVirtual(start)}
	opts.Clock = w.clock
	w.fake = clockifyfake.New(t, opts)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	yekaterinburg, _ := time.LoadLocation("Asia/Yekaterinburg")
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
func (w *world) fillDays(year int, month time.Month, days, n int) []string {
	ids := make([]string, n)
	for i := range n {
		begin := time.Date(year, month, 1+i%days, 8+i%15, i%60, 0, 0, time.UTC)
		e := clockifyfake.Entry{
			UserID:      []string{w.anna, w.boris}[i%2],
			ProjectID:   []string{w.acme, w.romashka, ""}[i/2%3],
			Description: fmt.Sprintf("работа %d", i),
			Billable:    i%5 != 0,
			Start:       begin,
			End:         begin.Add(time.Duration(600+i%37*131) * time.Second),
		}
		if e.ProjectID == w.acme && i%4 == 0 {
			e.TaskID = w.task
		}
		if i%7 == 0 {
			e.TagIDs = []string{w.tagMeeting}
		}
		ids[i] = w.fake.AddEntry(e)
	}
	return ids
}

func (w *world) tracker(t *testing.T, token string) *clockify.Tracker {
	t.Helper()
	tr, err := clockify.New(clockify.Config{BaseURL: w.fake.BaseURL(), Key: token, Workspace: w.fake.Workspace(),
		HTTPClient: w.fake.Client(), Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// date is the day Toggl files e under: its start in the member's zone.
func (w *world) date(e clockifyfake.Entry) string {
	return e.Start.In(w.fake.Zone(e.UserID)).Format(time.DateOnly)
}

func want(w *world, from, to string) map[string]clockifyfake.Entry {
	out := map[string]clockifyfake.Entry{}
	for _, e := range w.fake.Entries() {
		if d := w.date(e); d >= from && d <= to && !e.End.IsZero() {
			out[e.ID] = e
		}
	}
	return out
}

func collect(t *testing.T, tr *clockify.Tracker, from, to string) (map[string]record.TimeEntry, error) {
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

func sameEntries(t *testing.T, w *world, got map[string]record.TimeEntry, want map[string]clockifyfake.Entry) {
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
		if g.Seconds != e.Seconds() || g.Date != w.date(e) || g.PersonID != e.UserID || g.Note != e.Description ||
			g.Billable == nil || *g.Billable != e.Billable || g.Start == nil || !g.Start.Equal(e.Start) {
			t.Errorf("entry %s: got %+v, want %+v", id, g, e)
		}
	}
}

func TestEntriesPerMemberByPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clockifyfake.Options{})
	w.fillDays(2026, 2, 28, 2500)
	w.fillDays(2026, 1, 31, 10)
	w.fake.AddEntry(clockifyfake.Entry{UserID: w.anna, Start: time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)}) // running
	tr := w.tracker(t, w.fake.Key())
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, w, got, want(w, "2026-02-01", "2026-02-28"))
	// One request for the members, then two pages of 1000 for each of
	// the two (1250 entries each; the second page is short).
	reqs := w.fake.Requests()
	if len(reqs) != 5 || !strings.HasSuffix(reqs[0].Path, "/users") {
		t.Fatalf("%d requests, want 5: %+v", len(reqs), reqs)
	}
	for _, r := range reqs[1:] {
		if !strings.Contains(r.Query, "hydrated=true") || !strings.Contains(r.Query, "page-size=1000") {
			t.Errorf("query %q", r.Query)
		}
	}
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
// February is his 1 March.
func TestDatesAreTheMembersDays(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clockifyfake.Options{})
	late := time.Date(2026, 2, 28, 22, 30, 0, 0, time.UTC)
	id := w.fake.AddEntry(clockifyfake.Entry{UserID: w.boris, Start: late, End: late.Add(time.Hour)})
	tr := w.tracker(t, w.fake.Key())
	feb, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	mar, err := collect(t, tr, "2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	if len(feb) != 0 || mar[id].Date != "2026-03-01" {
		t.Errorf("February: %v; March: %v", feb, mar)
	}
}

// 429s from the fake's own limit and armed ones with Retry-After slow the
// listing down and lose no page.
func TestLimitsSlowDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clockifyfake.Options{Limit: 2})
	w.fillDays(2026, 2, 28, 4100) // three pages per member
	tr := w.tracker(t, w.fake.Key())
	w.fake.Arm(clockifyfake.Fault{Kind: clockifyfake.FaultRateLimited, Skip: 2, Times: 2, RetryAfter: 5})
	before := w.clock.Now()
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, w, got, want(w, "2026-02-01", "2026-02-28"))
	if w.fake.TooMany() == 0 {
		t.Fatal("the fake's limit never answered; the test proves nothing about it")
	}
	if n := tr.HTTP().Stats().Throttled; n != int64(2+w.fake.TooMany()) {
		t.Errorf("client counted %d throttling answers, fake sent %d", n, 2+w.fake.TooMany())
	}
	if waited := w.clock.Now().Sub(before); waited < 10*time.Second {
		t.Errorf("waited %s of virtual time, want at least the 2×5 s Retry-After", waited)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fault   clockifyfake.Fault
		token   string
		wantErr func(error) bool
	}{
		{name: "5xx twice then fine", fault: clockifyfake.Fault{Kind: clockifyfake.FaultServerError, Times: 2}},
		{name: "truncated JSON", fault: clockifyfake.Fault{Kind: clockifyfake.FaultTruncated, Skip: 1}},
		{name: "a hang", fault: clockifyfake.Fault{Kind: clockifyfake.FaultHang, Skip: 2}},
		{name: "401 stops", fault: clockifyfake.Fault{Kind: clockifyfake.FaultUnauthorized, Skip: 1},
			wantErr: func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{name: "bad key", token: "not-the-key",
			wantErr: func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{name: "404 is not retried", fault: clockifyfake.Fault{Kind: clockifyfake.FaultNotFound, Times: -1},
			wantErr: func(err error) bool {
				var ae *timetrack.APIError
				return errors.As(err, &ae) && ae.Status == http.StatusNotFound
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, clockifyfake.Options{})
			w.fillDays(2026, 2, 28, 2100)
			if tc.fault.Kind != 0 {
				w.fake.Arm(tc.fault)
			}
			token := tc.token
			if token == "" {
				token = w.fake.Key()
			}
			tr := w.tracker(t, token)
			tr.HTTP().Timeout = 2 * time.Second // one hang costs this much real time
			got, err := collect(t, tr, "2026-02-01", "2026-02-28")
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Fatalf("err = %v", err)
				}
				if strings.Contains(err.Error(), w.fake.Key()) {
					t.Errorf("the error shows the key: %v", err)
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

// An entry edited while its member's listing is between pages: the later
// page carries the edit.
func TestEntryChangedBetweenPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clockifyfake.Options{})
	ids := w.fillDays(2026, 2, 28, 2500)
	tr := w.tracker(t, w.fake.Key())
	// Newest first: Anna's entry 0 (1 February) is on her second page.
	w.fake.OnPage(func(page int) {
		if page == 1 {
			w.fake.Edit(ids[0], func(e *clockifyfake.Entry) { e.End = e.Start.Add(3*time.Hour + 7*time.Second) })
		}
	})
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if s := got[ids[0]].Seconds; s != 3*3600+7 {
		t.Errorf("edited entry has %d seconds, want %d", s, 3*3600+7)
	}
	sameEntries(t, w, got, want(w, "2026-02-01", "2026-02-28"))
}

func TestNewWantsWorkspace(t *testing.T) {
	t.Parallel()
	if _, err := clockify.New(clockify.Config{BaseURL: clockify.DefaultBaseURL, Key: "k"}); err == nil {
		t.Error("no workspace accepted")
	}
}
