package harvest_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

var start = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

// world is a small agency in the fake: two people, two clients with a
// project each, two tasks.
type world struct {
	fake                *harvestfake.Server
	clock               *vclock.Virtual
	anna, boris         int64
	acme, romashka      int64 // projects
	design, development int64 // tasks
}

func newWorld(t *testing.T, opts harvestfake.Options) *world {
	t.Helper()
	w := &world{clock: vclock.NewVirtual(start)}
	opts.Clock = w.clock
	w.fake = harvestfake.New(t, opts)
	w.anna = w.fake.AddUser("Anna Smith")
	w.boris = w.fake.AddUser("Борис Иванов")
	w.acme = w.fake.AddProject("Acme site", w.fake.AddClient("Acme"))
	w.romashka = w.fake.AddProject("Сайт Ромашки", w.fake.AddClient("ООО Ромашка"))
	w.design = w.fake.AddTask("Design")
	w.development = w.fake.AddTask("Development")
	return w
}

// fill adds n entries spread over the days of month, cycling people,
// projects and tasks, with hours that are not whole seconds.
func (w *world) fill(year int, month time.Month, n int) []int64 {
	return w.fillDays(year, month, time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day(), n)
}

// fillDays is fill over the first days of the month.
func (w *world) fillDays(year int, month time.Month, days, n int) []int64 {
	ids := make([]int64, n)
	for i := range n {
		e := harvestfake.Entry{
			SpentDate: time.Date(year, month, 1+i%days, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			UserID:    []int64{w.anna, w.boris}[i%2],
			ProjectID: []int64{w.acme, w.romashka}[i/2%2],
			TaskID:    []int64{w.design, w.development}[i/3%2],
			Hours:     0.25 + float64(i%37)*0.13,
			Notes:     fmt.Sprintf("работа %d", i),
			Billable:  i%5 != 0,
		}
		ids[i] = w.fake.AddEntry(e)
	}
	return ids
}

func (w *world) tracker(t *testing.T, token string) *harvest.Tracker {
	t.Helper()
	tr, err := harvest.New(harvest.Config{BaseURL: w.fake.BaseURL(), Token: token, Account: w.fake.Account(),
		HTTPClient: w.fake.Client(), Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// collect lists from..to and returns the entries by id, failing on a
// duplicate id.
func collect(t *testing.T, tr *harvest.Tracker, from, to string) (map[string]record.TimeEntry, error) {
	t.Helper()
	f, _ := time.Parse(time.DateOnly, from)
	l, _ := time.Parse(time.DateOnly, to)
	got := map[string]record.TimeEntry{}
	err := tr.Entries(context.Background(), f, l, func(p timetrack.Page) error {
		for _, e := range p.Entries {
			got[e.ExternalID] = e
		}
		return nil
	})
	return got, err
}

// want is what the fake holds dated from..to, running timers left out.
func want(w *world, from, to string) map[string]harvestfake.Entry {
	out := map[string]harvestfake.Entry{}
	for _, e := range w.fake.Entries() {
		if e.SpentDate >= from && e.SpentDate <= to && !e.IsRunning {
			out[fmt.Sprint(e.ID)] = e
		}
	}
	return out
}

func sameEntries(t *testing.T, got map[string]record.TimeEntry, want map[string]harvestfake.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("entry %s missing", id)
			continue
		}
		if g.Seconds != harvest.Seconds(math.Round(w.Hours*100)/100) { // Harvest shows two decimals
			t.Errorf("entry %s: %d seconds for %v hours", id, g.Seconds, w.Hours)
		}
		if g.Date != w.SpentDate || g.PersonID != fmt.Sprint(w.UserID) || g.Note != w.Notes || g.Locked != w.IsLocked {
			t.Errorf("entry %s: got %+v, want %+v", id, g, w)
		}
	}
}

func TestEntriesFollowLinksNext(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{})
	w.fill(2026, 2, 4500)
	w.fill(2026, 1, 50) // outside the range asked for
	running := w.fake.AddEntry(harvestfake.Entry{SpentDate: "2026-02-10", UserID: w.anna, ProjectID: w.acme, TaskID: w.design, Hours: 1, IsRunning: true})
	tr := w.tracker(t, w.fake.Token())
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, got, want(w, "2026-02-01", "2026-02-28"))
	if _, ok := got[fmt.Sprint(running)]; ok {
		t.Error("a running timer was listed")
	}
	// 4500 entries at 2000 a page: three requests, the later two by cursor.
	reqs := w.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3: %+v", len(reqs), reqs)
	}
	if !strings.Contains(reqs[0].Query, "per_page=2000") || !strings.Contains(reqs[1].Query, "cursor=") || !strings.Contains(reqs[2].Query, "cursor=") {
		t.Errorf("queries: %q, %q, %q", reqs[0].Query, reqs[1].Query, reqs[2].Query)
	}
}

func TestChangedUsesUpdatedSince(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{})
	ids := w.fill(2026, 3, 30)
	w.clock.Advance(time.Hour)
	since := w.clock.Now()
	w.clock.Advance(time.Minute)
	w.fake.Edit(ids[3], func(e *harvestfake.Entry) { e.Hours = 3 })
	w.fake.Lock(ids[4], "Item Approved and Locked for this Time Period")
	added := w.fake.AddEntry(harvestfake.Entry{SpentDate: "2026-03-19", UserID: w.boris, ProjectID: w.acme, TaskID: w.design, Hours: 0.5})
	tr := w.tracker(t, w.fake.Token())
	got := map[string]record.TimeEntry{}
	err := tr.Changed(context.Background(), since, func(p timetrack.Page) error {
		for _, e := range p.Entries {
			got[e.ExternalID] = e
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[fmt.Sprint(ids[3])].Seconds != 10800 || !got[fmt.Sprint(ids[4])].Locked || got[fmt.Sprint(added)].Seconds != 1800 {
		t.Errorf("changes: %+v", got)
	}
	if q := w.fake.Requests()[0].Query; !strings.Contains(q, "updated_since=2026-03-20T13%3A00%3A00Z") {
		t.Errorf("query %q", q)
	}
}

// Limit answers slow the listing down and never lose a page: the fake
// allows 3 requests per 15 s against a client paced for Harvest's 100,
// then a burst of armed 429s with Retry-After on top.
func TestLimitsSlowDownWithoutLosingPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{Limit: 3})
	w.fill(2026, 2, 9000) // five pages
	tr := w.tracker(t, w.fake.Token())
	w.fake.Arm(harvestfake.Fault{Kind: harvestfake.FaultRateLimited, Path: "/v2/time_entries", Skip: 1, Times: 3, RetryAfter: 7})
	before := w.clock.Now()
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, got, want(w, "2026-02-01", "2026-02-28"))
	if w.fake.TooMany() == 0 {
		t.Error("the fake's own limit never answered 429; the test proves nothing about it")
	}
	st := tr.HTTP().Stats()
	if st.Throttled != int64(3+w.fake.TooMany()) {
		t.Errorf("client saw %d throttling answers, fake sent %d", st.Throttled, 3+w.fake.TooMany())
	}
	if waited := w.clock.Now().Sub(before); waited < 21*time.Second {
		t.Errorf("waited %s of virtual time, want at least the 3×7 s Retry-After", waited)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fault   harvestfake.Fault
		token   string
		wantErr func(error) bool
	}{
		{name: "5xx twice then fine", fault: harvestfake.Fault{Kind: harvestfake.FaultServerError, Times: 2}},
		{name: "truncated JSON", fault: harvestfake.Fault{Kind: harvestfake.FaultTruncated, Skip: 1}},
		{name: "a hang", fault: harvestfake.Fault{Kind: harvestfake.FaultHang, Skip: 1}},
		{name: "401 stops", fault: harvestfake.Fault{Kind: harvestfake.FaultUnauthorized, Skip: 1},
			wantErr: func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{name: "bad token", token: "wrong-token",
			wantErr: func(err error) bool { return errors.Is(err, connectors.ErrUnauthorized) }},
		{name: "404 is not retried", fault: harvestfake.Fault{Kind: harvestfake.FaultNotFound, Times: -1},
			wantErr: func(err error) bool {
				var ae *timetrack.APIError
				return errors.As(err, &ae) && ae.Status == http.StatusNotFound
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, harvestfake.Options{})
			w.fill(2026, 2, 4100)
			if tc.fault.Kind != 0 {
				w.fake.Arm(tc.fault)
			}
			tr := w.tracker(t, cmpOr(tc.token, w.fake.Token()))
			tr.HTTP().Timeout = 2 * time.Second // one hang costs this much real time
			got, err := collect(t, tr, "2026-02-01", "2026-02-28")
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Fatalf("err = %v", err)
				}
				if strings.Contains(err.Error(), w.fake.Token()) {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameEntries(t, got, want(w, "2026-02-01", "2026-02-28"))
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// An entry edited while the listing is between pages: the page read after
// the edit carries the new hours.
func TestEntryChangedBetweenPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{})
	ids := w.fill(2026, 2, 4000)
	tr := w.tracker(t, w.fake.Token())
	// Listing is newest date first: ids[0] (Feb 1) is on the last page.
	w.fake.OnPage(func(page int) {
		if page == 1 {
			w.fake.Edit(ids[0], func(e *harvestfake.Entry) { e.Hours = 7 })
		}
	})
	got, err := collect(t, tr, "2026-02-01", "2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if s := got[fmt.Sprint(ids[0])].Seconds; s != 7*3600 {
		t.Errorf("edited entry has %d seconds, want %d", s, 7*3600)
	}
	sameEntries(t, got, want(w, "2026-02-01", "2026-02-28"))
}

func TestFakeWantsUserAgentAndAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{})
	for _, tc := range []struct {
		name    string
		header  http.Header
		status  int
		comment string
	}{
		{"no user agent", http.Header{"Authorization": {"Bearer " + w.fake.Token()}, "Harvest-Account-Id": {w.fake.Account()}, "User-Agent": {""}}, 400, ""},
		{"no account", http.Header{"Authorization": {"Bearer " + w.fake.Token()}, "User-Agent": {"t"}}, 403, ""},
		{"all there", http.Header{"Authorization": {"Bearer " + w.fake.Token()}, "Harvest-Account-Id": {w.fake.Account()}, "User-Agent": {"t"}}, 200, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, w.fake.BaseURL()+"/time_entries", nil)
		req.Header = tc.header
		resp, err := w.fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if _, err := harvest.New(harvest.Config{BaseURL: w.fake.BaseURL(), Token: "x"}); err == nil {
		t.Error("New without an account did not fail")
	}
}
