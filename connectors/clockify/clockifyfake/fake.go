// Package clockifyfake is a fake of Clockify's REST API v1 for tests: an
// httptest server holding a workspace's users (with their profile time
// zones), clients, projects, tasks, tags and time entries, answering
// GET /api/v1/workspaces (the key's workspaces),
// GET /api/v1/workspaces/{ws}/users and
// GET /api/v1/workspaces/{ws}/user/{userId}/time-entries with Clockify's
// X-Api-Key auth, field names, hydrated entries, ISO-8601 durations,
// page/page-size paging with no total (a client stops on a short page),
// 429 with Retry-After past a per-second limit, JSON error bodies
// {message, code}, and fault switches (5xx, hang, truncated JSON, 401,
// 404, 429, an entry changing between pages).
//
// Time comes from a clock (a vclock.Virtual in tests). Behaviour chosen
// without a source says so, marked [unverified]. Nothing but tests and
// cmd/trackerfake should import it.
package clockifyfake

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	DefaultKey       = "ZmFrZS1jbG9ja2lmeS1hcGkta2V5LTAwMDE"
	DefaultWorkspace = "64a1f0c2e4b0a1b2c3d4e5f6"
	// DefaultWorkspaceName is the workspace's name.
	DefaultWorkspaceName = "Northwind Agency"
	// Limit requests per Window: Clockify documents about 50 a second
	// per key [unverified exact rule].
	Limit  = 50
	Window = time.Second
	// MaxPageSize is the largest page-size the fake accepts
	// [unverified: clients generated from the OpenAPI cap it at 5000].
	MaxPageSize = 5000
)

// Options configure a Server.
type Options struct {
	// Key and Workspace are what the server accepts; empty takes
	// DefaultKey and DefaultWorkspace.
	Key, Workspace string
	// WorkspaceName is the workspace's name; empty takes
	// DefaultWorkspaceName.
	WorkspaceName string
	// Clock tells the time; nil is the wall clock.
	Clock vclock.Clock
	// Limit requests per Window; zero takes Clockify's, a negative Limit
	// none.
	Limit  int
	Window time.Duration
}

// User is a workspace member; Zone is the profile's time zone.
type User struct {
	ID, Name, Email string
	Zone            *time.Location
}

type Client struct{ ID, Name string }

type Project struct{ ID, Name, ClientID string }

type Task struct{ ID, Name, ProjectID string }

type Tag struct{ ID, Name string }

// Entry is a time entry as the fake stores it; a zero End is a running
// timer.
type Entry struct {
	ID                        string
	UserID, ProjectID, TaskID string
	TagIDs                    []string
	Description               string
	Billable, Locked          bool
	Start, End                time.Time
}

// Seconds is the entry's duration in whole seconds.
func (e Entry) Seconds() int64 { return int64(e.End.Sub(e.Start) / time.Second) }

// Request is one line of the request log.
type Request = fakeapi.Request

// FaultKind names what a fault does.
type FaultKind = fakeapi.Kind

// The faults Clockify's fake answers.
const (
	FaultServerError  = fakeapi.ServerError  // 500 (or Status) with a JSON error
	FaultHang         = fakeapi.Hang         // no answer until the client gives up
	FaultTruncated    = fakeapi.Truncated    // 200 with the JSON cut
	FaultUnauthorized = fakeapi.Unauthorized // 401
	FaultNotFound     = fakeapi.NotFound     // 404
	FaultRateLimited  = fakeapi.RateLimited  // 429 with Retry-After (RetryAfter, default 1)
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
	limit  *fakeapi.Window

	mu       sync.Mutex
	users    []User
	clients  map[string]Client
	projects map[string]Project
	tasks    map[string]Task
	tags     map[string]Tag
	entries  map[string]*Entry
	pages    int
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
	opts.Key = cmp.Or(opts.Key, DefaultKey)
	opts.Workspace = cmp.Or(opts.Workspace, DefaultWorkspace)
	opts.WorkspaceName = cmp.Or(opts.WorkspaceName, DefaultWorkspaceName)
	opts.Limit = cmp.Or(opts.Limit, Limit)
	opts.Window = cmp.Or(opts.Window, Window)
	if opts.Clock == nil {
		opts.Clock = vclock.Real{}
	}
	s := &Server{opts: opts, limit: fakeapi.NewWindow(opts.Limit, opts.Window), clients: map[string]Client{},
		projects: map[string]Project{}, tasks: map[string]Task{}, tags: map[string]Tag{}, entries: map[string]*Entry{}}
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server, releasing hung requests.
func (s *Server) Close() { s.host.Close() }

// BaseURL is the API root, like https://api.clockify.me/api.
func (s *Server) BaseURL() string { return s.host.URL() + "/api" }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.host.Client() }

// Key and Workspace are what the server accepts.
func (s *Server) Key() string       { return s.opts.Key }
func (s *Server) Workspace() string { return s.opts.Workspace }

// newID mints a 24-hex id, like Clockify's (MongoDB object ids).
func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AddUser adds a member with a profile zone (nil: UTC).
func (s *Server) AddUser(name, email string, zone *time.Location) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if zone == nil {
		zone = time.UTC
	}
	id := newID()
	s.users = append(s.users, User{ID: id, Name: name, Email: email, Zone: zone})
	return id
}

func (s *Server) AddClient(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	s.clients[id] = Client{id, name}
	return id
}

func (s *Server) AddProject(name, clientID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	s.projects[id] = Project{id, name, clientID}
	return id
}

func (s *Server) AddTask(name, projectID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	s.tasks[id] = Task{id, name, projectID}
	return id
}

func (s *Server) AddTag(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	s.tags[id] = Tag{id, name}
	return id
}

// AddEntry stores e with a new id and returns it.
func (s *Server) AddEntry(e Entry) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = newID()
	s.entries[e.ID] = &e
	return e.ID
}

// Edit changes an entry.
func (s *Server) Edit(id string, fn func(*Entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		panic("clockifyfake: no entry " + id)
	}
	fn(e)
}

// Delete removes an entry.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, id)
}

// Lock locks an entry, as a locked period or an approval does.
func (s *Server) Lock(id string) { s.Edit(id, func(e *Entry) { e.Locked = true }) }

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
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Zone is a user's profile zone.
func (s *Server) Zone(userID string) *time.Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == userID {
			return u.Zone
		}
	}
	return time.UTC
}

// Arm adds a fault; Disarm removes them all.
func (s *Server) Arm(f Fault) { s.faults.Arm(f) }

func (s *Server) Disarm() { s.faults.Disarm() }

// OnPage sets a hook called with the count of time-entry pages served,
// after each, before the next is asked for.
func (s *Server) OnPage(fn func(page int)) { s.onPage.Set(fn) }

// Requests returns the request log.
func (s *Server) Requests() []Request { return s.log.Requests() }

// TooMany counts the 429s the limiter (not a fault) answered.
func (s *Server) TooMany() int { return s.limit.TooMany() }

var (
	usersRoute   = regexp.MustCompile(`^/api/v1/workspaces/([^/]+)/users$`)
	entriesRoute = regexp.MustCompile(`^/api/v1/workspaces/([^/]+)/user/([^/]+)/time-entries$`)
)

// ServeHTTP answers: log, fault, auth, limit, route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Clock.Now()
	rec := s.log.Begin(w, fakeapi.Arrival(r, now))
	if f, ok := s.faults.Take(r); ok && answers.Answer(rec, r, f, s.host.Done()) {
		return
	}
	if r.Header.Get("X-Api-Key") != s.opts.Key {
		answers.Unauthorized(rec)
		return
	}
	if ok, wait := s.limit.Admit(now); !ok {
		answers.RateLimited(rec, wait)
		return
	}
	if r.Method != http.MethodGet {
		apiError(rec, http.StatusMethodNotAllowed, "Request method '"+r.Method+"' is not supported", 405)
		return
	}
	if r.URL.Path == "/api/v1/workspaces" {
		s.listWorkspaces(rec)
		return
	}
	if m := usersRoute.FindStringSubmatch(r.URL.Path); m != nil {
		if s.workspace(rec, m[1]) {
			s.listUsers(rec, r)
		}
		return
	}
	if m := entriesRoute.FindStringSubmatch(r.URL.Path); m != nil {
		if s.workspace(rec, m[1]) {
			s.listEntries(rec, r, m[2])
		}
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/v1/") {
		apiError(rec, http.StatusNotFound, "No static resource "+strings.TrimPrefix(r.URL.Path, "/api/")+".", 404)
		return
	}
	http.Error(rec, "no route in fake", http.StatusInternalServerError)
}

func (s *Server) workspace(w http.ResponseWriter, id string) bool {
	if id != s.opts.Workspace {
		// [unverified] Clockify's answer for a workspace the key's user
		// is not in.
		apiError(w, http.StatusForbidden, "Access Denied", 1000)
		return false
	}
	return true
}

// answers are Clockify's answers to the faults, and to a bad key or a
// spent limit.
var answers = fakeapi.Answers{
	ServerError: func(w http.ResponseWriter, status int) {
		apiError(w, status, http.StatusText(status), status)
	},
	Truncated: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"id":"64a1f0c2e4b0a1b2c3d4e5f7","description":"`)
	},
	Unauthorized: func(w http.ResponseWriter) {
		// [unverified] code value.
		apiError(w, http.StatusUnauthorized, "Full authentication is required to access this resource", 1000)
	},
	NotFound: func(w http.ResponseWriter) { apiError(w, http.StatusNotFound, "Not found", 404) },
	RateLimited: func(w http.ResponseWriter, retryAfter int) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		apiError(w, http.StatusTooManyRequests, "Too many requests", 429) // [unverified] body
	},
	RetryAfter: 1,
}

// paging reads page and page-size (defaults 1 and 50).
func paging(w http.ResponseWriter, r *http.Request) (page, size int, ok bool) {
	page, size = 1, 50
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "page must be a positive number", 501)
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("page-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			apiError(w, http.StatusBadRequest, fmt.Sprintf("page-size must be between 1 and %d", MaxPageSize), 501)
			return 0, 0, false
		}
		size = n
	}
	return page, size, true
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	page, size, ok := paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	users := slices.Clone(s.users)
	s.mu.Unlock()
	lo, hi := min((page-1)*size, len(users)), min(page*size, len(users))
	out := []map[string]any{}
	for _, u := range users[lo:hi] {
		out = append(out, map[string]any{
			"id": u.ID, "email": u.Email, "name": u.Name, "status": "ACTIVE",
			"activeWorkspace": s.opts.Workspace, "defaultWorkspace": s.opts.Workspace,
			"profilePicture": "", "memberships": []any{},
			"settings": map[string]any{"timeZone": u.Zone.String(), "weekStart": "MONDAY", "dateFormat": "MM/DD/YYYY"},
		})
	}
	writeJSON(w, out)
}

// listWorkspaces is GET /api/v1/workspaces, the key's user's workspaces:
// the one the fake holds. Fields after the API's WorkspaceDto; their
// values are [unverified].
func (s *Server) listWorkspaces(w http.ResponseWriter) {
	writeJSON(w, []map[string]any{{
		"id": s.opts.Workspace, "name": s.opts.WorkspaceName,
		"hourlyRate":  map[string]any{"amount": 0, "currency": "USD"},
		"memberships": []any{}, "imageUrl": "", "featureSubscriptionType": "FREE",
		"workspaceSettings": map[string]any{"timeRoundingInReports": false, "onlyAdminsSeeBillableRates": true,
			"onlyAdminsCreateProject": true, "onlyAdminsSeeDashboard": false, "defaultBillableProjects": true},
	}})
}

// listEntries serves one member's entries whose start lies in
// [start, end], newest first (Clockify's order), hydrated when asked.
func (s *Server) listEntries(w http.ResponseWriter, r *http.Request, userID string) {
	page, size, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var from, to time.Time
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"start", &from}, {"end", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				apiError(w, http.StatusBadRequest, p.name+" must be in yyyy-MM-ddThh:mm:ssZ format", 501)
				return
			}
			*p.into = t
		}
	}
	hydrated := q.Get("hydrated") == "true"
	inProgress := q.Get("in-progress") == "true"
	s.mu.Lock()
	var mine []*Entry
	for _, e := range s.entries {
		if e.UserID != userID || (!from.IsZero() && e.Start.Before(from)) || (!to.IsZero() && e.Start.After(to)) ||
			(inProgress && !e.End.IsZero()) {
			continue
		}
		mine = append(mine, e)
	}
	slices.SortFunc(mine, func(a, b *Entry) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	lo, hi := min((page-1)*size, len(mine)), min(page*size, len(mine))
	out := []map[string]any{}
	for _, e := range mine[lo:hi] {
		out = append(out, s.render(e, hydrated))
	}
	s.pages++
	n := s.pages
	s.mu.Unlock()
	writeJSON(w, out)
	s.onPage.Call(n)
}

func (s *Server) render(e *Entry, hydrated bool) map[string]any {
	interval := map[string]any{"start": e.Start.UTC().Format(time.RFC3339), "end": nil, "duration": nil}
	if !e.End.IsZero() {
		interval["end"] = e.End.UTC().Format(time.RFC3339)
		interval["duration"] = Duration(e.End.Sub(e.Start))
	}
	tagIDs := slices.Clone(e.TagIDs)
	if tagIDs == nil {
		tagIDs = []string{}
	}
	out := map[string]any{
		"id": e.ID, "description": e.Description, "userId": e.UserID, "billable": e.Billable,
		"projectId": nullStr(e.ProjectID), "taskId": nullStr(e.TaskID), "tagIds": tagIDs,
		"workspaceId": s.opts.Workspace, "isLocked": e.Locked, "type": "REGULAR",
		"timeInterval": interval, "customFieldValues": []any{}, "kioskId": nil,
	}
	if hydrated {
		delete(out, "projectId")
		delete(out, "taskId")
		delete(out, "tagIds")
		var project, task any
		if p, ok := s.projects[e.ProjectID]; ok {
			c := s.clients[p.ClientID]
			project = map[string]any{"id": p.ID, "name": p.Name, "clientId": nullStr(c.ID), "clientName": c.Name,
				"workspaceId": s.opts.Workspace, "billable": true, "color": "#03A9F4", "archived": false}
		}
		if t, ok := s.tasks[e.TaskID]; ok {
			task = map[string]any{"id": t.ID, "name": t.Name, "projectId": t.ProjectID, "status": "ACTIVE"}
		}
		tags := []any{}
		for _, id := range e.TagIDs {
			tags = append(tags, map[string]any{"id": id, "name": s.tags[id].Name, "workspaceId": s.opts.Workspace, "archived": false})
		}
		out["project"], out["task"], out["tags"] = project, task, tags
	}
	return out
}

// Duration writes d as Clockify does: an ISO-8601 duration such as
// PT1H30M, PT45S or P1DT2H (days for 24 hours and more) [unverified: the
// day part].
func Duration(d time.Duration) string {
	secs := int64(d / time.Second)
	days, secs := secs/86400, secs%86400
	h, m, sec := secs/3600, secs%3600/60, secs%60
	var b strings.Builder
	b.WriteString("P")
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if h > 0 || m > 0 || sec > 0 || days == 0 {
		b.WriteString("T")
	}
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if sec > 0 || (days == 0 && h == 0 && m == 0) {
		fmt.Fprintf(&b, "%dS", sec)
	}
	return b.String()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func apiError(w http.ResponseWriter, status int, message string, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": message, "code": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}
