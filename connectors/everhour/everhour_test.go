package everhour_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

var start = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)

type fixture struct {
	clock *vclock.Virtual
	w     *everhourfake.World
	srv   *everhourfake.Server
	tr    *everhour.Tracker
}

// newFixture serves w (a fresh world when nil) and opens a tracker on it
// asking pageSize records a page (0: the default).
func newFixture(t *testing.T, w *everhourfake.World, clock *vclock.Virtual, pageSize int) *fixture {
	t.Helper()
	if clock == nil {
		clock = vclock.NewVirtual(start)
	}
	if w == nil {
		w = everhourfake.NewWorld(clock)
	}
	srv := everhourfake.New(t, everhourfake.Options{World: w})
	tr, err := everhour.New(everhour.Config{BaseURL: srv.BaseURL(), Token: srv.APIKey(), HTTPClient: srv.Client(),
		Clock: clock, PageSize: pageSize, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clock: clock, w: w, srv: srv, tr: tr}
}

// list reads from..to and returns the entries by id and the problems.
func (f *fixture) list(t *testing.T, from, to string) (map[string]record.TimeEntry, []record.Problem, error) {
	t.Helper()
	a, _ := time.Parse(time.DateOnly, from)
	b, _ := time.Parse(time.DateOnly, to)
	got := map[string]record.TimeEntry{}
	var problems []record.Problem
	err := f.tr.Entries(context.Background(), a, b, func(p timetrack.Page) error {
		for _, e := range p.Entries {
			if _, dup := got[e.ExternalID]; dup {
				t.Errorf("entry %s listed twice", e.ExternalID)
			}
			got[e.ExternalID] = e
		}
		problems = append(problems, p.Problems...)
		return nil
	})
	return got, problems, err
}

// wantIDs is the fake's records dated from..to.
func wantIDs(w *everhourfake.World, from, to string) map[string]everhourfake.Entry {
	out := map[string]everhourfake.Entry{}
	for _, e := range w.Entries() {
		if e.Date >= from && e.Date <= to {
			out[strconv.FormatInt(e.ID, 10)] = e
		}
	}
	return out
}

func sameIDs(t *testing.T, what string, got map[string]record.TimeEntry, want map[string]everhourfake.Entry) {
	t.Helper()
	for id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("%s: entry %s lost", what, id)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: entry %s listed but not in the range", what, id)
		}
	}
}

// Every field of a record maps as the package doc says, on native and
// Trello-linked tasks, with Cyrillic text, task labels, locks and invoices.
func TestEntryMapping(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil, 0)
	w := f.w
	anna := w.AddUser("Анна Петрова", "anna@northwind.agency")
	acme := w.AddClient("Бетта Строй")
	board := w.AddProject("tr", "Бетта — Сайт", acme.ID)
	native := w.AddProject("ev", "Internal", 0)
	card := w.AddTask(board.ID, "tr:5f1a00000000000000000abc", "Лендинг")
	short := w.AddTask(board.ID, "tr:AbCd1234", "Logo")
	meet := w.AddTask(native.ID, "", "Meetings")
	w.SetUnbillable(meet.ID, true)
	// Task labels become the entry's tags, blank and repeated ones dropped.
	w.SetLabels(card.ID, "дизайн", " срочно ", "", "дизайн")
	w.SetLabels(meet.ID, "созвон")
	e1 := w.AddEntry(anna.ID, card.ID, "2026-03-02", 5400, "правки по макету")
	e2 := w.AddEntry(anna.ID, short.ID, "2026-03-03", 600, "")
	e3 := w.AddEntry(anna.ID, meet.ID, "2026-03-04", 1800, "standup")
	e4 := w.AddEntry(anna.ID, "", "2026-03-05", 900, "no task")
	w.LockEntry(e2.ID)
	w.InvoiceEntry(e3.ID)

	got, problems, err := f.list(t, "2026-03-01", "2026-03-31")
	if err != nil || len(problems) > 0 {
		t.Fatalf("err %v, problems %v", err, problems)
	}
	yes, no := true, false
	uid := strconv.FormatInt(anna.ID, 10)
	want := map[int64]record.TimeEntry{
		e1.ID: {PersonID: uid, PersonName: "Анна Петрова", PersonEmail: "anna@northwind.agency", TaskID: card.ID, TaskName: "Лендинг",
			ProjectID: board.ID, ProjectName: "Бетта — Сайт", ClientName: "Бетта Строй", Date: "2026-03-02", Seconds: 5400, Billable: &yes, Note: "правки по макету",
			Tags: []string{"дизайн", "срочно"}},
		e2.ID: {PersonID: uid, PersonName: "Анна Петрова", PersonEmail: "anna@northwind.agency", TaskID: "tr:AbCd1234", TaskName: "Logo",
			ProjectID: board.ID, ProjectName: "Бетта — Сайт", ClientName: "Бетта Строй", Date: "2026-03-03", Seconds: 600, Billable: &yes, Locked: true},
		e3.ID: {PersonID: uid, PersonName: "Анна Петрова", PersonEmail: "anna@northwind.agency", TaskID: meet.ID, TaskName: "Meetings",
			ProjectID: native.ID, ProjectName: "Internal", Date: "2026-03-04", Seconds: 1800, Billable: &no, Note: "standup", Locked: true,
			Tags: []string{"созвон"}},
		e4.ID: {PersonID: uid, PersonName: "Анна Петрова", PersonEmail: "anna@northwind.agency", Date: "2026-03-05", Seconds: 900, Note: "no task"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for id, we := range want {
		we.ExternalID = strconv.FormatInt(id, 10)
		ge := got[we.ExternalID]
		if fmt.Sprintf("%+v %v", ge, deref(ge.Billable)) != fmt.Sprintf("%+v %v", we, deref(we.Billable)) {
			if (ge.Billable == nil) != (we.Billable == nil) || deref(ge.Billable) != deref(we.Billable) {
				t.Errorf("entry %d billable %v, want %v", id, deref(ge.Billable), deref(we.Billable))
			}
			ge.Billable, we.Billable = nil, nil
			if fmt.Sprintf("%+v", ge) != fmt.Sprintf("%+v", we) {
				t.Errorf("entry %d:\n got %+v\nwant %+v", id, ge, we)
			}
		}
	}
	// One page, and the three name lists once.
	if n := f.srv.Total(); n != 4 {
		t.Errorf("%d requests, want 4 (a page and users, projects, clients)", n)
	}
	// Auth and version headers went with every request; nothing else was
	// asked.
	for _, r := range f.srv.Requests() {
		if r.Status != http.StatusOK {
			t.Errorf("%s %s?%s: %d", r.Method, r.Path, r.Query, r.Status)
		}
	}
}

func deref(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}

// Paging: limit/page from 1 until a short page, the page size asked is the
// API's maximum by default, and the name lists are read once for several
// ranges within their lifetime, again when a record names an unknown user.
func TestPagingAndRequests(t *testing.T) {
	t.Parallel()
	clock := vclock.NewVirtual(start)
	w := everhourfake.NewWorld(clock)
	w.Generate(7, 5, 230, 3)
	f := newFixture(t, w, clock, 50)
	got, _, err := f.list(t, "2026-01-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "paged", got, wantIDs(w, "2026-01-01", "2026-03-31"))
	// 230 records by 50: 5 pages, the last short; plus the three lists.
	if n := f.srv.RouteCount("GET /team/time"); n != 5 {
		t.Errorf("%d pages, want 5", n)
	}
	if n := f.srv.Total(); n != 8 {
		t.Errorf("%d requests, want 8", n)
	}
	// 200 records by 50: a full last page needs an empty one to end.
	f.srv.ResetStats()
	if _, _, err := f.list(t, "2026-03-01", "2026-03-31"); err != nil {
		t.Fatal(err)
	}
	n := len(wantIDs(w, "2026-03-01", "2026-03-31"))
	if got, want := f.srv.RouteCount("GET /team/time"), n/50+1; got != want {
		t.Errorf("%d records: %d pages, want %d", n, got, want)
	}
	if f.srv.RouteCount("GET /team/users") != 0 {
		t.Error("name lists read again within their lifetime")
	}
	// A new member's record makes the lists be read again (after a minute).
	clock.Advance(2 * time.Minute)
	u := w.AddUser("Новый Сотрудник", "new@northwind.agency")
	e := w.AddEntry(u.ID, w.Tasks()[0].ID, "2026-03-17", 60, "")
	f.srv.ResetStats()
	got, _, err = f.list(t, "2026-03-17", "2026-03-17")
	if err != nil {
		t.Fatal(err)
	}
	if g := got[strconv.FormatInt(e.ID, 10)]; g.PersonName != "Новый Сотрудник" {
		t.Errorf("new member's entry named %q", g.PersonName)
	}
	if f.srv.RouteCount("GET /team/users") != 1 {
		t.Errorf("users read %d times for an unknown member, want 1", f.srv.RouteCount("GET /team/users"))
	}

	// The default page size is the maximum the API allows.
	d := newFixture(t, w, clock, 0)
	if _, _, err := d.list(t, "2026-03-01", "2026-03-31"); err != nil {
		t.Fatal(err)
	}
	for _, r := range d.srv.Requests() {
		if r.Path == "/team/time" && r.Query != fmt.Sprintf("from=2026-03-01&limit=%d&page=1&to=2026-03-31", everhour.MaxPage) {
			t.Errorf("query %q", r.Query)
		}
	}
}

// Faults: a 429 storm with Retry-After slows the pull but loses no page;
// 5xx, hangs and truncated pages are retried; 401 stops with
// ErrUnauthorized; 404 is an error, not an empty range.
func TestFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		fault   everhourfake.Fault
		wantErr error
		anyErr  bool
		minWait time.Duration
	}{
		{name: "429 storm", fault: everhourfake.Fault{Kind: everhourfake.FaultRateLimited, Route: "/team/time", Times: 6, RetryAfter: 7}, minWait: 42 * time.Second},
		{name: "500", fault: everhourfake.Fault{Kind: everhourfake.FaultStatus, Route: "/team/time", Times: 2}},
		{name: "502 html", fault: everhourfake.Fault{Kind: everhourfake.FaultStatus, Status: 502, Route: "/team/time", Times: 2}},
		{name: "truncated page", fault: everhourfake.Fault{Kind: everhourfake.FaultTruncate, Route: "/team/time", Times: 2}},
		{name: "truncated users", fault: everhourfake.Fault{Kind: everhourfake.FaultTruncate, Route: "/team/users"}},
		{name: "hang", fault: everhourfake.Fault{Kind: everhourfake.FaultHang, Route: "/team/time"}},
		{name: "401", fault: everhourfake.Fault{Kind: everhourfake.FaultUnauthorized, Route: "/team/time"}, wantErr: connectors.ErrUnauthorized},
		{name: "401 on clients", fault: everhourfake.Fault{Kind: everhourfake.FaultUnauthorized, Route: "/clients"}, wantErr: connectors.ErrUnauthorized},
		{name: "404", fault: everhourfake.Fault{Kind: everhourfake.FaultNotFound, Route: "/team/time"}, anyErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := vclock.NewVirtual(start)
			w := everhourfake.NewWorld(clock)
			w.Generate(3, 4, 120, 1)
			f := newFixture(t, w, clock, 40)
			f.srv.Arm(tc.fault)
			got, _, err := f.list(t, "2026-03-01", "2026-03-31")
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			case tc.anyErr:
				if err == nil {
					t.Fatal("no error")
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			sameIDs(t, tc.name, got, wantIDs(w, "2026-03-01", "2026-03-31"))
			if waited := clock.Now().Sub(start); waited < tc.minWait {
				t.Errorf("waited %s, want at least %s", waited, tc.minWait)
			}
		})
	}
}

// A token never shows in an error.
func TestUnauthorizedHidesKey(t *testing.T) {
	t.Parallel()
	clock := vclock.NewVirtual(start)
	srv := everhourfake.New(t, everhourfake.Options{World: everhourfake.NewWorld(clock)})
	tr, err := everhour.New(everhour.Config{BaseURL: srv.BaseURL(), Token: "wrong-secret-key", HTTPClient: srv.Client(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Entries(context.Background(), start, start, func(timetrack.Page) error { return nil })
	if !errors.Is(err, connectors.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if s := err.Error(); contains(s, "wrong-secret-key") {
		t.Errorf("error shows the key: %s", s)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Records change between pages: one added in front of the offset (which
// shifts a record onto the next page again) and one added behind it are
// neither lost nor duplicated.
func TestEntryAddedBetweenPages(t *testing.T) {
	t.Parallel()
	clock := vclock.NewVirtual(start)
	w := everhourfake.NewWorld(clock)
	w.Generate(11, 4, 150, 1)
	f := newFixture(t, w, clock, 40)
	u, task := w.Users()[0], w.Tasks()[0]
	var front, back everhourfake.Entry
	f.srv.SetPageHook(func(p everhourfake.PageEvent) {
		switch p.Page {
		case 1:
			// Newest date: sorts in front of everything already paged.
			front = w.AddEntry(u.ID, task.ID, "2026-03-18", 1200, "added in front")
		case 2:
			back = w.AddEntry(u.ID, task.ID, "2026-03-01", 2400, "added behind")
		}
	})
	got, _, err := f.list(t, "2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	// front was added after page 1 was cut, in front of it: the listing
	// may miss it (the next sync's window re-read has it) but must not
	// lose any other record or list one twice (list checks that).
	want := wantIDs(w, "2026-03-01", "2026-03-31")
	delete(want, strconv.FormatInt(front.ID, 10))
	delete(got, strconv.FormatInt(front.ID, 10))
	sameIDs(t, "between pages", got, want)
	if _, ok := got[strconv.FormatInt(back.ID, 10)]; !ok {
		t.Error("the record added behind the offset was lost")
	}
	// The next read, with nothing changing, has both.
	f.srv.SetPageHook(nil)
	got, _, err = f.list(t, "2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "re-read", got, wantIDs(w, "2026-03-01", "2026-03-31"))
}

// Records with bad fields become problems; the rest of the page is kept.
func TestBadRecords(t *testing.T) {
	t.Parallel()
	page := `[
	 {"id": 1, "time": 3600, "user": 7, "date": "2026-03-02", "task": {"id": "ev:1", "name": "A", "projects": ["ev:9"], "unbillable": false}, "isLocked": false, "isInvoiced": false, "comment": ""},
	 {"id": 2, "time": "lots", "user": 7, "date": "2026-03-02"},
	 {"id": 3, "time": 60, "user": 7, "date": "02.03.2026"},
	 {"time": 60, "user": 7, "date": "2026-03-02"},
	 {"id": 5, "time": -60, "user": 7, "date": "2026-03-02"},
	 {"id": 6, "time": 60, "date": "2026-03-02"},
	 {"id": 7, "time": 60, "user": {"id": 7}, "date": "2026-03-03", "task": null}
	]`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k" || r.Header.Get("X-Accept-Version") != everhour.APIVersion {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/team/time":
			w.Write([]byte(page))
		case "/team/users":
			w.Write([]byte(`[{"id": 7, "name": "Seven", "email": "seven@x.io"}]`))
		case "/projects":
			w.Write([]byte(`[{"id": "ev:9", "name": "Nine", "client": {"id": 3, "name": "Three"}}]`))
		case "/clients":
			w.Write([]byte(`[{"id": 3, "name": "Three", "projects": ["ev:9"]}]`))
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	tr, err := everhour.New(everhour.Config{BaseURL: srv.URL, Token: "k", Clock: vclock.NewVirtual(start)})
	if err != nil {
		t.Fatal(err)
	}
	var entries []record.TimeEntry
	var problems []record.Problem
	err = tr.Entries(context.Background(), start, start, func(p timetrack.Page) error {
		entries = append(entries, p.Entries...)
		problems = append(problems, p.Problems...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].ExternalID != "1" || entries[1].ExternalID != "7" {
		t.Fatalf("entries %+v", entries)
	}
	if entries[0].ClientName != "Three" || entries[1].PersonName != "Seven" || entries[1].Billable != nil {
		t.Errorf("entries %+v", entries)
	}
	if len(problems) != 5 {
		t.Errorf("%d problems, want 5: %+v", len(problems), problems)
	}
}

// The kind opens a source from config options: base_url and the token.
func TestKind(t *testing.T) {
	t.Parallel()
	k := everhour.Kind()
	if k.Name != "everhour" || k.Identity != "time_tracker" {
		t.Fatalf("kind %+v", k)
	}
	w := everhourfake.NewWorld(nil)
	srv := everhourfake.New(t, everhourfake.Options{World: w, Limits: everhourfake.Limits{Max: -1}})
	u := w.AddUser("Anna", "anna@x.io")
	p := w.AddProject("ev", "P", 0)
	task := w.AddTask(p.ID, "", "T")
	today := time.Now().UTC().Format(time.DateOnly)
	w.AddEntry(u.ID, task.ID, today, 60, "")
	o := k.NewOptions().(*timetrack.Options)
	if o.BaseURL != everhour.DefaultBaseURL {
		t.Errorf("default base_url %q", o.BaseURL)
	}
	if o.Deadline != 30*time.Minute || o.RequestTimeout != 30*time.Second { // as the options' docs say
		t.Errorf("default deadline %s, request_timeout %s", o.Deadline, o.RequestTimeout)
	}
	o.BaseURL, o.Token, o.BackfillMonths, o.ReconcileMonths = srv.BaseURL(), secret.Inline(srv.APIKey()), 1, 1
	src, err := k.Open(o, connectors.Env{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		n += len(b.TimeEntries)
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("pulled %d entries, err %v", n, err)
	}
	o.Token = secret.Value{}
	if _, err := k.Open(o, connectors.Env{}); err == nil || !contains(err.Error(), everhour.EnvHint) {
		t.Errorf("no token: err = %v", err)
	}
}

// A server stricter than the stated limit (another client spending the
// key): its 429s with Retry-After slow the pull, and no page is lost.
func TestServerStricterThanStated(t *testing.T) {
	t.Parallel()
	clock := vclock.NewVirtual(start)
	w := everhourfake.NewWorld(clock)
	w.Generate(9, 4, 300, 1)
	srv := everhourfake.New(t, everhourfake.Options{World: w, Limits: everhourfake.Limits{Max: 3, Interval: 10 * time.Second}})
	tr, err := everhour.New(everhour.Config{BaseURL: srv.BaseURL(), Token: srv.APIKey(), HTTPClient: srv.Client(), Clock: clock, PageSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: clock, w: w, srv: srv, tr: tr}
	got, _, err := f.list(t, "2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "throttled", got, wantIDs(w, "2026-03-01", "2026-03-31"))
	if srv.TooMany() == 0 || tr.Stats().Throttled != int64(srv.TooMany()) {
		t.Errorf("429s: server %d, client %d", srv.TooMany(), tr.Stats().Throttled)
	}
	// 16 requests at 3 per 10 s take at least 50 s.
	if v := clock.Now().Sub(start); v < 50*time.Second {
		t.Errorf("virtual time %s", v)
	}
}
