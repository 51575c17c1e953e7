// Package harvestfake is a fake of Harvest's API v2 for tests: an httptest
// server holding users, clients, projects, tasks and time entries, served
// at /v2/time_entries (and the token's owner at /v2/users/me) with
// Harvest's headers (Bearer token,
// Harvest-Account-Id, a required User-Agent), field names, paging
// (per_page up to 2000, links.next with a cursor, page/total_pages/
// total_entries), from/to/updated_since filters, the 100 requests per 15
// seconds limit answered by 429 with Retry-After, and fault switches (5xx,
// hang, truncated JSON, 401, 404, 429, an entry changing between pages).
//
// Time comes from a clock (a vclock.Virtual in tests) so that waiting out
// the limit costs no real time. Behaviour chosen without a source says so,
// marked [unverified].
//
// It imports no karkas package but vclock and fakeapi, and nothing but
// tests and cmd/trackerfake should import it.
package harvestfake

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/vclock"
)

// Defaults of a server whose options name none.
const (
	DefaultToken   = "1234567.pt.fakeHarvestPersonalAccessToken0001"
	DefaultAccount = "1121001"
	// Limit and Window are Harvest's general API limit (reports have a
	// tighter one this fake does not serve).
	Limit  = 100
	Window = 15 * time.Second
	// MaxPerPage is the largest per_page Harvest accepts; more is a 422.
	MaxPerPage = 2000
)

// Options configure a Server.
type Options struct {
	// Token and Account are the credentials the server accepts; empty
	// takes DefaultToken and DefaultAccount.
	Token, Account string
	// Clock tells the time; nil is the wall clock.
	Clock vclock.Clock
	// Limit requests per Window, per token; zero takes Harvest's, a
	// negative Limit none.
	Limit  int
	Window time.Duration
}

// User, Client, Project and Task are what entries refer to.
type User struct {
	ID   int64
	Name string
}

type Client struct {
	ID   int64
	Name string
}

type Project struct {
	ID       int64
	Name     string
	Code     string
	ClientID int64
}

type Task struct {
	ID   int64
	Name string
}

// ExternalReference is the link an integration (Trello's power-up, Asana,
// GitHub...) leaves on an entry it logged.
type ExternalReference struct {
	ID        string `json:"id"`
	GroupID   string `json:"group_id"`
	AccountID string `json:"account_id"`
	Permalink string `json:"permalink"`
	Service   string `json:"service"`
}

// Entry is a time entry as the fake stores it.
type Entry struct {
	ID                        int64
	SpentDate                 string // YYYY-MM-DD
	UserID, ProjectID, TaskID int64
	Hours                     float64
	Notes                     string
	Billable                  bool
	IsLocked                  bool
	LockedReason              string
	IsRunning                 bool
	External                  *ExternalReference
	CreatedAt, UpdatedAt      time.Time
}

// Request is one line of the request log (Status is 0 when the server
// hung up).
type Request = fakeapi.Request

// FaultKind names what a fault does.
type FaultKind = fakeapi.Kind

// The faults Harvest's fake answers.
const (
	FaultServerError  = fakeapi.ServerError  // 500 (or Status) with an HTML body
	FaultHang         = fakeapi.Hang         // no answer until the client gives up
	FaultTruncated    = fakeapi.Truncated    // 200 with the JSON cut in half
	FaultUnauthorized = fakeapi.Unauthorized // 401 invalid_token
	FaultNotFound     = fakeapi.NotFound     // 404
	FaultRateLimited  = fakeapi.RateLimited  // 429 with Retry-After (RetryAfter, default 3)
)

// Fault is an armed failure: it answers matching requests (Path prefix,
// "" for any) after skipping Skip of them, Times times (-1: until
// disarmed).
type Fault = fakeapi.Fault

// Server is the fake.
type Server struct {
	opts   Options
	host   *fakeapi.Host
	log    fakeapi.Log
	faults fakeapi.Faults
	limit  *fakeapi.Window

	mu       sync.Mutex
	nextID   int64
	users    map[int64]User
	clients  map[int64]Client
	projects map[int64]Project
	tasks    map[int64]Task
	entries  map[int64]*Entry
	onPage   fakeapi.Hook[int]
}

// New starts a server for a test and closes it when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a server; Close stops it.
func NewServer(opts Options) *Server {
	opts.Token = cmp.Or(opts.Token, DefaultToken)
	opts.Account = cmp.Or(opts.Account, DefaultAccount)
	opts.Limit = cmp.Or(opts.Limit, Limit)
	opts.Window = cmp.Or(opts.Window, Window)
	if opts.Clock == nil {
		opts.Clock = vclock.Real{}
	}
	s := &Server{
		opts: opts, limit: fakeapi.NewWindow(opts.Limit, opts.Window), nextID: 100000,
		users: map[int64]User{}, clients: map[int64]Client{}, projects: map[int64]Project{},
		tasks: map[int64]Task{}, entries: map[int64]*Entry{},
	}
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server, releasing hung requests.
func (s *Server) Close() { s.host.Close() }

// BaseURL is the API root, like https://api.harvestapp.com/v2.
func (s *Server) BaseURL() string { return s.host.URL() + "/v2" }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.host.Client() }

// Token and Account are the credentials the server accepts.
func (s *Server) Token() string   { return s.opts.Token }
func (s *Server) Account() string { return s.opts.Account }

func (s *Server) id() int64 { s.nextID++; return s.nextID }

// AddUser, AddClient, AddProject and AddTask add what entries refer to and
// return its id.
func (s *Server) AddUser(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.users[id] = User{ID: id, Name: name}
	return id
}

func (s *Server) AddClient(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.clients[id] = Client{ID: id, Name: name}
	return id
}

func (s *Server) AddProject(name string, clientID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.projects[id] = Project{ID: id, Name: name, Code: strings.ToUpper(name[:min(2, len(name))]), ClientID: clientID}
	return id
}

func (s *Server) AddTask(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.tasks[id] = Task{ID: id, Name: name}
	return id
}

// AddEntry stores e with a new id and the clock's time as created and
// updated, and returns the id.
func (s *Server) AddEntry(e Entry) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = s.id()
	e.CreatedAt = s.opts.Clock.Now().UTC()
	e.UpdatedAt = e.CreatedAt
	s.entries[e.ID] = &e
	return e.ID
}

// Edit changes an entry and stamps updated_at.
func (s *Server) Edit(id int64, fn func(*Entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		panic(fmt.Sprintf("harvestfake: no entry %d", id))
	}
	fn(e)
	e.UpdatedAt = s.opts.Clock.Now().UTC()
}

// Delete removes an entry; Harvest keeps no trace a client can list.
func (s *Server) Delete(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, id)
}

// Lock locks an entry as an approval or an invoice does.
func (s *Server) Lock(id int64, reason string) {
	s.Edit(id, func(e *Entry) { e.IsLocked, e.LockedReason = true, reason })
}

// Entries returns a copy of the stored entries, by id.
func (s *Server) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.ID - b.ID) })
	return out
}

// Arm adds a fault; Disarm removes them all.
func (s *Server) Arm(f Fault) { s.faults.Arm(f) }

func (s *Server) Disarm() { s.faults.Disarm() }

// OnPage sets a hook called with the page number after a page of time
// entries is computed and before the next one is asked for: a test edits
// entries there to change them between pages.
func (s *Server) OnPage(fn func(page int)) { s.onPage.Set(fn) }

// Requests returns the request log.
func (s *Server) Requests() []Request { return s.log.Requests() }

// Count is how many logged requests had the path (any when empty) and,
// when status is not zero, the status.
func (s *Server) Count(path string, status int) int { return s.log.Count(path, status) }

// TooMany counts the 429s the limiter (not a fault) answered.
func (s *Server) TooMany() int { return s.limit.TooMany() }

// ServeHTTP answers: log, fault, headers and auth, limit, route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Clock.Now()
	rec := s.log.Begin(w, fakeapi.Arrival(r, now))
	if f, ok := s.faults.Take(r); ok && answers.Answer(rec, r, f, s.host.Done()) {
		return
	}
	if r.Header.Get("User-Agent") == "" {
		// [unverified] body: Harvest documents the 400, not its text.
		http.Error(rec, "Missing User-Agent header", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		answers.Unauthorized(rec)
		return
	}
	if r.Header.Get("Harvest-Account-Id") != s.opts.Account {
		// [unverified] Harvest answers an account the token cannot
		// reach with 403 and this shape.
		writeJSON(rec, http.StatusForbidden, map[string]string{"error": "forbidden", "error_description": "The account is not accessible with this token."})
		return
	}
	if ok, wait := s.limit.Admit(now); !ok {
		answers.RateLimited(rec, wait)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/v2/users/me" {
		s.me(rec)
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/v2/time_entries" {
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			answers.NotFound(rec)
			return
		}
		http.Error(rec, "no route in fake", http.StatusInternalServerError)
		return
	}
	s.timeEntries(rec, r)
}

// answers are Harvest's answers to the faults, and to a bad token, a
// spent limit or an unknown route.
var answers = fakeapi.Answers{
	ServerError: func(w http.ResponseWriter, status int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body><h1>We're sorry, but something went wrong.</h1></body></html>")
	},
	Truncated: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"time_entries":[{"id":1,"spent_date":"20`)
	},
	Unauthorized: func(w http.ResponseWriter) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token",
			"error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})
	},
	NotFound: func(w http.ResponseWriter) {
		// [unverified] Harvest's 404 body.
		writeJSON(w, http.StatusNotFound, map[string]any{"status": 404, "error": "Not Found"})
	},
	RateLimited: func(w http.ResponseWriter, retryAfter int) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		// [unverified] body text.
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": 429, "error": "Too Many Requests"})
	},
	RetryAfter: 3,
}

// cursor is what links.next carries: where the previous page ended in the
// listing order. Harvest's cursor is opaque base64 JSON; its content here
// is the fake's choice [unverified].
type cursor struct {
	After struct {
		SpentDate string `json:"spent_date"`
		ID        int64  `json:"id"`
	} `json:"after"`
}

// timeEntries serves GET /v2/time_entries: newest spent_date first, then
// newest id (Harvest lists "most recently created first" within a date).
func (s *Server) timeEntries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage := MaxPerPage
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPerPage {
			// [unverified] body.
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "per_page must be between 1 and 2000"})
			return
		}
		perPage = n
	}
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "updated_since is not a valid ISO 8601 date and time"})
			return
		}
		since = t
	}
	from, to := q.Get("from"), q.Get("to")
	for _, d := range []string{from, to} {
		if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "from and to must be dates (YYYY-MM-DD)"})
			return
		}
	}
	var after *cursor
	page := 1
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		var c cursor
		if err == nil {
			err = json.Unmarshal(b, &c)
		}
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "invalid cursor"})
			return
		}
		after = &c
		page = 0
	} else if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
		page = max(page, 1)
	}

	s.mu.Lock()
	var all []*Entry
	for _, e := range s.entries {
		if (from != "" && e.SpentDate < from) || (to != "" && e.SpentDate > to) ||
			(!since.IsZero() && e.UpdatedAt.Before(since)) {
			continue
		}
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b *Entry) int {
		if a.SpentDate != b.SpentDate {
			return strings.Compare(b.SpentDate, a.SpentDate)
		}
		return int(b.ID - a.ID)
	})
	start := 0
	if after != nil {
		for start < len(all) && !before(after, all[start]) {
			start++
		}
		page = start/perPage + 1
	} else {
		start = (page - 1) * perPage
	}
	start = min(start, len(all))
	end := min(start+perPage, len(all))
	out := make([]map[string]any, 0, end-start)
	for _, e := range all[start:end] {
		out = append(out, s.render(e))
	}
	s.mu.Unlock()

	total := (len(all) + perPage - 1) / perPage
	link := func(extra url.Values) string {
		v := url.Values{}
		for k, vals := range q {
			if k != "cursor" && k != "page" && k != "ref" {
				v[k] = vals
			}
		}
		v.Set("per_page", strconv.Itoa(perPage))
		for k, vals := range extra {
			v[k] = vals
		}
		return "http://" + r.Host + r.URL.Path + "?" + v.Encode()
	}
	links := map[string]any{
		"first":    link(url.Values{"page": {"1"}, "ref": {"first"}}),
		"next":     nil,
		"previous": nil,
		"last":     link(url.Values{"page": {strconv.Itoa(max(total, 1))}, "ref": {"last"}}),
	}
	var nextPage any
	if end < len(all) {
		var c cursor
		c.After.SpentDate, c.After.ID = all[end-1].SpentDate, all[end-1].ID
		b, _ := json.Marshal(c)
		links["next"] = link(url.Values{"cursor": {base64.RawURLEncoding.EncodeToString(b)}, "ref": {"next_cursor"}})
		nextPage = page + 1
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"time_entries":  out,
		"per_page":      perPage,
		"total_pages":   total,
		"total_entries": len(all),
		"next_page":     nextPage,
		"previous_page": nil,
		"page":          page,
		"links":         links,
	})
	s.onPage.Call(page)
}

// before says whether e comes after the cursor in the listing order.
func before(c *cursor, e *Entry) bool {
	if e.SpentDate != c.After.SpentDate {
		return e.SpentDate < c.After.SpentDate
	}
	return e.ID < c.After.ID
}

// render writes an entry with Harvest's field names.
func (s *Server) render(e *Entry) map[string]any {
	p := s.projects[e.ProjectID]
	c := s.clients[p.ClientID]
	var reason any
	if e.IsLocked {
		reason = e.LockedReason
	}
	var ext any
	if e.External != nil {
		ext = e.External
	}
	var notes any
	if e.Notes != "" {
		notes = e.Notes
	}
	hours := math.Round(e.Hours*100) / 100
	return map[string]any{
		"id":                  e.ID,
		"spent_date":          e.SpentDate,
		"user":                map[string]any{"id": e.UserID, "name": s.users[e.UserID].Name},
		"client":              map[string]any{"id": c.ID, "name": c.Name, "currency": "EUR"},
		"project":             map[string]any{"id": p.ID, "name": p.Name, "code": p.Code},
		"task":                map[string]any{"id": e.TaskID, "name": s.tasks[e.TaskID].Name},
		"user_assignment":     map[string]any{"id": e.UserID*10 + 1, "is_project_manager": false, "is_active": true},
		"task_assignment":     map[string]any{"id": e.TaskID*10 + 1, "billable": e.Billable, "is_active": true},
		"hours":               hours,
		"hours_without_timer": hours,
		"rounded_hours":       math.Ceil(e.Hours*4) / 4,
		"notes":               notes,
		"created_at":          e.CreatedAt.Format(time.RFC3339),
		"updated_at":          e.UpdatedAt.Format(time.RFC3339),
		"is_locked":           e.IsLocked,
		"locked_reason":       reason,
		"is_closed":           e.IsLocked,
		"is_billed":           false,
		"timer_started_at":    nil,
		"started_time":        nil,
		"ended_time":          nil,
		"is_running":          e.IsRunning,
		"invoice":             nil,
		"external_reference":  ext,
		"billable":            e.Billable,
		"budgeted":            true,
		"billable_rate":       100.0,
		"cost_rate":           50.0,
	}
}

// me is GET /v2/users/me, the token's owner: the first user added, or an
// owner the fake makes up when there is none. Fields after Harvest's user
// object; the values are [unverified].
func (s *Server) me(w http.ResponseWriter) {
	s.mu.Lock()
	u, found := User{ID: 1000001, Name: "Account Owner"}, false
	for _, v := range s.users {
		if !found || v.ID < u.ID {
			u, found = v, true
		}
	}
	s.mu.Unlock()
	first, last, _ := strings.Cut(u.Name, " ")
	at := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "first_name": first, "last_name": last,
		"email": strings.ToLower(first) + "@agency.example", "telephone": "", "timezone": "Eastern Time (US & Canada)",
		"has_access_to_all_future_projects": false, "is_contractor": false, "is_active": true,
		"weekly_capacity": 126000, "default_hourly_rate": 100.0, "cost_rate": 50.0,
		"roles": []string{}, "access_roles": []string{"administrator"}, "avatar_url": "",
		"created_at": at, "updated_at": at,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
