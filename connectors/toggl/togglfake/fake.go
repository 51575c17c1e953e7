// Package togglfake is a fake of Toggl Track's Reports API v3 detailed
// search for tests: an httptest server holding a workspace's users,
// clients, projects, tasks, tags and time entries, answering
// POST /reports/api/v3/workspace/{wid}/search/time_entries with Toggl's
// body fields (start_date, end_date, page_size, first_id,
// first_row_number, enrich_response), rows and field names, paging by the
// X-Next-ID and X-Next-Row-Number headers, the hourly request quota
// answered by 402 with X-Toggl-Quota-* headers, and fault switches (5xx,
// hang, truncated JSON, 401, 404, 429, 402, an entry changing between
// pages).
//
// Time comes from a clock (a vclock.Virtual in tests) so that waiting out
// the quota costs no real time. Behaviour chosen without a source says
// so, marked [unverified]. Nothing but tests and cmd/trackerfake should
// import it.
package togglfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
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
	DefaultToken     = "1971800d4d82861d8f2c1651fea4d212"
	DefaultWorkspace = 4567890
	// DefaultWorkspaceName is the workspace's name.
	DefaultWorkspaceName = "Northwind Agency"
	// Quota is the requests per hour of the Free plan (Starter 240,
	// Premium 600), counted per user per organization.
	Quota = 30
	// MaxPageSize is the largest page_size the fake accepts [unverified:
	// third-party clients cap it at 50].
	MaxPageSize = 50
)

// Options configure a Server.
type Options struct {
	// Token and Workspace are what the server accepts; empty takes
	// DefaultToken and DefaultWorkspace.
	Token     string
	Workspace int64
	// WorkspaceName is the workspace's name; empty takes
	// DefaultWorkspaceName.
	WorkspaceName string
	// Clock tells the time; nil is the wall clock.
	Clock vclock.Clock
	// Quota is requests per hour; zero takes the Free plan's 30.
	Quota int
}

// User is a workspace member; Zone is the profile's time zone, in which
// the report files and shows the member's entries.
type User struct {
	ID          int64
	Name, Email string
	Zone        *time.Location
}

type Client struct {
	ID   int64
	Name string
}

type Project struct {
	ID       int64
	Name     string
	ClientID int64
}

type Task struct {
	ID        int64
	Name      string
	ProjectID int64
}

type Tag struct {
	ID   int64
	Name string
}

// Entry is a time entry as the fake stores it. A zero Stop is a running
// timer.
type Entry struct {
	ID                        int64
	UserID, ProjectID, TaskID int64
	TagIDs                    []int64
	Description               string
	Billable                  bool
	Start, Stop               time.Time
	At                        time.Time // last update
}

// Seconds is the entry's duration in whole seconds.
func (e Entry) Seconds() int64 { return int64(e.Stop.Sub(e.Start) / time.Second) }

// Request is one line of the request log; Body is the request body.
type Request = fakeapi.Request

// FaultKind names what a fault does.
type FaultKind = fakeapi.Kind

// The faults Toggl's fake answers.
const (
	FaultServerError  = fakeapi.ServerError  // 500 (or Status)
	FaultHang         = fakeapi.Hang         // no answer until the client gives up
	FaultTruncated    = fakeapi.Truncated    // 200 with the JSON cut
	FaultUnauthorized = fakeapi.Unauthorized // 401
	FaultNotFound     = fakeapi.NotFound     // 404
	FaultRateLimited  = fakeapi.RateLimited  // 429 (the per-second leaky bucket), no Retry-After
	// FaultQuota answers 402, quota spent. Its RetryAfter is the
	// X-Toggl-Quota-Resets-In in seconds (60 when 0); a negative value
	// leaves the quota headers out.
	FaultQuota = fakeapi.Custom
)

// Fault answers matching requests (Path prefix, "" for any) after
// skipping Skip, Times times (-1: until disarmed).
type Fault = fakeapi.Fault

// Server is the fake.
type Server struct {
	opts   Options
	host   *fakeapi.Host
	log    fakeapi.Log
	faults fakeapi.Faults

	mu          sync.Mutex
	nextID      int64
	users       map[int64]User
	clients     map[int64]Client
	projects    map[int64]Project
	tasks       map[int64]Task
	tags        map[int64]Tag
	entries     map[int64]*Entry
	windowStart time.Time
	used        int
	spent       int
	onPage      fakeapi.Hook[int]
	pages       int
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
	opts.Workspace = cmp.Or(opts.Workspace, DefaultWorkspace)
	opts.WorkspaceName = cmp.Or(opts.WorkspaceName, DefaultWorkspaceName)
	opts.Quota = cmp.Or(opts.Quota, Quota)
	if opts.Clock == nil {
		opts.Clock = vclock.Real{}
	}
	s := &Server{opts: opts, nextID: 3000000,
		users: map[int64]User{}, clients: map[int64]Client{}, projects: map[int64]Project{},
		tasks: map[int64]Task{}, tags: map[int64]Tag{}, entries: map[int64]*Entry{}}
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server, releasing hung requests.
func (s *Server) Close() { s.host.Close() }

// BaseURL is the API root, like https://api.track.toggl.com.
func (s *Server) BaseURL() string { return s.host.URL() }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.host.Client() }

// Token and Workspace are what the server accepts.
func (s *Server) Token() string    { return s.opts.Token }
func (s *Server) Workspace() int64 { return s.opts.Workspace }

func (s *Server) id() int64 { s.nextID++; return s.nextID }

// AddUser adds a workspace member with a profile time zone (nil: UTC).
func (s *Server) AddUser(name, email string, zone *time.Location) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if zone == nil {
		zone = time.UTC
	}
	id := s.id()
	s.users[id] = User{ID: id, Name: name, Email: email, Zone: zone}
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
	s.projects[id] = Project{ID: id, Name: name, ClientID: clientID}
	return id
}

func (s *Server) AddTask(name string, projectID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.tasks[id] = Task{ID: id, Name: name, ProjectID: projectID}
	return id
}

func (s *Server) AddTag(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.tags[id] = Tag{ID: id, Name: name}
	return id
}

// AddEntry stores e with a new id and returns it.
func (s *Server) AddEntry(e Entry) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = s.id()
	e.At = s.opts.Clock.Now().UTC()
	s.entries[e.ID] = &e
	return e.ID
}

// Edit changes an entry and stamps its at.
func (s *Server) Edit(id int64, fn func(*Entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		panic(fmt.Sprintf("togglfake: no entry %d", id))
	}
	fn(e)
	e.At = s.opts.Clock.Now().UTC()
}

// Delete removes an entry; the report no longer lists it.
func (s *Server) Delete(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, id)
}

// Entries returns a copy of the stored entries.
func (s *Server) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		c := *e
		c.TagIDs = slices.Clone(e.TagIDs)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.ID - b.ID) })
	return out
}

// Zone is a user's profile zone.
func (s *Server) Zone(userID int64) *time.Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[userID].Zone
}

// Arm adds a fault; Disarm removes them all.
func (s *Server) Arm(f Fault) { s.faults.Arm(f) }

func (s *Server) Disarm() { s.faults.Disarm() }

// OnPage sets a hook called with the 1-based count of report pages served
// after each one, before the next is asked for.
func (s *Server) OnPage(fn func(page int)) { s.onPage.Set(fn) }

// Requests returns the request log.
func (s *Server) Requests() []Request { return s.log.Requests() }

// QuotaSpent counts the 402s the quota (not a fault) answered.
func (s *Server) QuotaSpent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

var searchRoute = regexp.MustCompile(`^/reports/api/v3/workspace/(\d+)/search/time_entries$`)

// ServeHTTP answers: log, fault, auth, quota, route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	now := s.opts.Clock.Now()
	req := fakeapi.Arrival(r, now)
	req.Body = string(body)
	rec := s.log.Begin(w, req)
	if f, ok := s.faults.Take(r); ok {
		if answers.Answer(rec, r, f, s.host.Done()) {
			return
		}
		if f.Kind == FaultQuota {
			in := cmp.Or(f.RetryAfter, 60)
			if f.RetryAfter >= 0 {
				rec.Header().Set("X-Toggl-Quota-Remaining", "0")
				rec.Header().Set("X-Toggl-Quota-Resets-In", strconv.Itoa(in))
			}
			plain(rec, http.StatusPaymentRequired, quotaText(in))
			return
		}
	}
	if !s.authorized(r) {
		// [unverified] Toggl answers bad credentials with 403 and a
		// short plain-text body.
		plain(rec, http.StatusForbidden, "Incorrect username and/or password")
		return
	}
	remaining, resetsIn, ok := s.quota(now)
	rec.Header().Set("X-Toggl-Quota-Remaining", strconv.Itoa(remaining))
	rec.Header().Set("X-Toggl-Quota-Resets-In", strconv.Itoa(resetsIn))
	if !ok {
		plain(rec, http.StatusPaymentRequired, quotaText(resetsIn))
		return
	}
	m := searchRoute.FindStringSubmatch(r.URL.Path)
	switch {
	case r.URL.Path == "/api/v9/me/workspaces" && r.Method == http.MethodGet:
		s.myWorkspaces(rec)
	case m == nil && strings.HasPrefix(r.URL.Path, "/reports/") || strings.HasPrefix(r.URL.Path, "/api/v9/"):
		answers.NotFound(rec)
	case m == nil:
		http.Error(rec, "no route in fake", http.StatusInternalServerError)
	case r.Method != http.MethodPost:
		plain(rec, http.StatusMethodNotAllowed, "405 method not allowed")
	case m[1] != strconv.FormatInt(s.opts.Workspace, 10):
		// [unverified] text: a workspace the user is not in.
		plain(rec, http.StatusForbidden, "User does not have access to this resource.")
	default:
		s.search(rec, body)
	}
}

// myWorkspaces is GET /api/v9/me/workspaces: the workspaces of the token's
// user, the one the fake holds. Fields after the API's Workspace model;
// their values are [unverified].
func (s *Server) myWorkspaces(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode([]map[string]any{{
		"id": s.opts.Workspace, "organization_id": s.opts.Workspace + 1000, "name": s.opts.WorkspaceName,
		"premium": false, "business_ws": false, "admin": true, "role": "admin",
		"default_hourly_rate": nil, "default_currency": "USD", "rounding": 1, "rounding_minutes": 0,
		"only_admins_may_create_projects": false, "only_admins_may_create_tags": false,
		"only_admins_see_team_dashboard": false, "projects_billable_by_default": true,
		"projects_private_by_default": true, "logo_url": "https://assets.track.toggl.com/images/workspace.jpg",
		"at": "2026-01-05T10:00:00+00:00", "server_deleted_at": nil,
	}})
}

// [unverified] wording of the 402 body.
func quotaText(resetsIn int) string {
	return fmt.Sprintf("You have hit your hourly limit for API calls. Your quota will reset in %d seconds.", resetsIn)
}

func (s *Server) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == s.opts.Token && p == "api_token"
}

// quota counts a request against the hour that began with the first
// request of the window [unverified: how Toggl aligns the hour].
func (s *Server) quota(now time.Time) (remaining, resetsIn int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.windowStart.IsZero() || !now.Before(s.windowStart.Add(time.Hour)) {
		s.windowStart, s.used = now, 0
	}
	resetsIn = int(math.Ceil(s.windowStart.Add(time.Hour).Sub(now).Seconds()))
	if s.used >= s.opts.Quota {
		s.spent++
		return 0, resetsIn, false
	}
	s.used++
	return s.opts.Quota - s.used, resetsIn, true
}

// answers are Toggl's answers to the faults (the 402 quota fault aside).
var answers = fakeapi.Answers{
	ServerError: func(w http.ResponseWriter, status int) { plain(w, status, http.StatusText(status)) },
	Truncated: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Next-Row-Number", "51")
		fmt.Fprint(w, `[{"user_id":1,"username":"x","time_entries":[{"id":`)
	},
	Unauthorized: func(w http.ResponseWriter) { plain(w, http.StatusUnauthorized, "Unauthorized") },
	NotFound:     func(w http.ResponseWriter) { plain(w, http.StatusNotFound, "404 page not found") },
	// [unverified] whether Toggl sends Retry-After with its 429.
	RateLimited: func(w http.ResponseWriter, _ int) { plain(w, http.StatusTooManyRequests, "Too Many Requests") },
}

// searchBody is the part of the request body the fake reads.
type searchBody struct {
	StartDate      string `json:"start_date"`
	EndDate        string `json:"end_date"`
	PageSize       int    `json:"page_size"`
	FirstID        *int64 `json:"first_id"`
	FirstRowNumber *int   `json:"first_row_number"`
	OrderBy        string `json:"order_by"`
	OrderDir       string `json:"order_dir"`
	EnrichResponse bool   `json:"enrich_response"`
	Grouped        bool   `json:"grouped"`
}

// search serves the detailed report, one entry a row (grouped: false),
// ordered by start then id, dates compared in each user's zone.
func (s *Server) search(w http.ResponseWriter, raw []byte) {
	var b searchBody
	if err := json.Unmarshal(raw, &b); err != nil {
		plain(w, http.StatusBadRequest, "Invalid JSON input")
		return
	}
	from, err1 := time.Parse(time.DateOnly, b.StartDate)
	to, err2 := time.Parse(time.DateOnly, b.EndDate)
	if err1 != nil || err2 != nil || to.Before(from) {
		// [unverified] wording.
		plain(w, http.StatusBadRequest, "Invalid start_date or end_date")
		return
	}
	size := 50
	if b.PageSize != 0 {
		if b.PageSize < 1 || b.PageSize > MaxPageSize {
			plain(w, http.StatusBadRequest, fmt.Sprintf("page_size must be between 1 and %d", MaxPageSize))
			return
		}
		size = b.PageSize
	}
	s.mu.Lock()
	var all []*Entry
	for _, e := range s.entries {
		d := e.Start.In(s.users[e.UserID].Zone).Format(time.DateOnly)
		if d >= b.StartDate && d <= b.EndDate {
			all = append(all, e)
		}
	}
	slices.SortFunc(all, func(a, b *Entry) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	startAt := 0
	if b.FirstRowNumber != nil {
		startAt = *b.FirstRowNumber - 1
	}
	if b.FirstID != nil {
		// The id pins the row if it is still there; else the row number.
		if i := slices.IndexFunc(all, func(e *Entry) bool { return e.ID == *b.FirstID }); i >= 0 {
			startAt = i
		}
	}
	startAt = max(0, min(startAt, len(all)))
	end := min(startAt+size, len(all))
	rows := make([]map[string]any, 0, end-startAt)
	for i, e := range all[startAt:end] {
		rows = append(rows, s.row(e, startAt+i+1, b.EnrichResponse))
	}
	if end < len(all) {
		w.Header().Set("X-Next-ID", strconv.FormatInt(all[end].ID, 10))
		w.Header().Set("X-Next-Row-Number", strconv.Itoa(end+1))
		w.Header().Set("X-Next-Timestamp", strconv.FormatInt(all[end].Start.Unix(), 10))
	}
	s.pages++
	page := s.pages
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(rows)
	s.onPage.Call(page)
}

// row renders one report row: the grouping fields, names when enriched,
// and time_entries with the entry itself.
func (s *Server) row(e *Entry, n int, enrich bool) map[string]any {
	u := s.users[e.UserID]
	start := e.Start.In(u.Zone)
	te := map[string]any{"id": e.ID, "start": start.Format(time.RFC3339), "at": e.At.In(u.Zone).Format(time.RFC3339)}
	if e.Stop.IsZero() {
		// [unverified] how a running timer shows in a report.
		te["stop"], te["seconds"] = nil, -start.Unix()
	} else {
		te["stop"], te["seconds"] = e.Stop.In(u.Zone).Format(time.RFC3339), e.Seconds()
	}
	tagIDs := slices.Clone(e.TagIDs)
	if tagIDs == nil {
		tagIDs = []int64{}
	}
	r := map[string]any{
		"user_id":              e.UserID,
		"project_id":           nullID(e.ProjectID),
		"task_id":              nullID(e.TaskID),
		"description":          e.Description,
		"tag_ids":              tagIDs,
		"billable":             e.Billable,
		"hourly_rate_in_cents": nil,
		"currency":             "EUR",
		"row_number":           n,
		"time_entries":         []any{te},
	}
	if enrich {
		p := s.projects[e.ProjectID]
		names := []string{}
		for _, id := range e.TagIDs {
			names = append(names, s.tags[id].Name)
		}
		r["username"] = u.Name
		r["user_email"] = u.Email
		r["project_name"] = nullStr(p.Name)
		r["project_color"] = "#0b83d9"
		r["client_name"] = nullStr(s.clients[p.ClientID].Name)
		r["task_name"] = nullStr(s.tasks[e.TaskID].Name)
		r["tag_names"] = names
	}
	return r
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, text)
}
