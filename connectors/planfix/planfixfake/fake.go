// Package planfixfake is a fake of PlanFix's REST API v2 for tests and
// benchmarks: an httptest server (on internal/fakeapi) holding one
// account's employees, contacts, task processes and statuses, projects,
// tasks and their comment feeds, answering
//
//	GET  /rest/ping
//	POST /rest/user/list, /rest/contact/list, /rest/project/list
//	GET  /rest/process/task, /rest/process/task/{id}/statuses
//	POST /rest/task/list (filters 5, project; 79 and 38, changed after a date)
//	POST /rest/task/{id}/comments/list
//	POST /rest/task/{id}/comments/ (a new comment: 201 {"result":"success","id":N})
//
// with Bearer auth, PlanFix's envelope ({"result":"success",...} or
// {"result":"fail","code":N,"error":"..."}), offset/pageSize paging (at
// most 100, no total: a short page is the last), prefixed person ids
// ("user:5", "contact:12") inside tasks and comments and plain ones in
// the lists unless prefixedId, TimePoint dates, a request-per-second limit
// answered 429, and fault switches. The routes, fields and error bodies
// follow the API's OpenAPI spec 1.3.3 (help.planfix.com/restapidocs);
// what the spec leaves open is marked [unverified] (see
// connectors/planfix/doc.go).
//
// World is also the planfix_export file format: the fake serves a World
// decoded from such a file, and the demo's PlanFix client is one.
package planfixfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/vclock"
)

// DefaultToken is the token a server accepts when its options name none:
// 32 hex digits, like PlanFix's.
const DefaultToken = "5d80e21cb3e12345678bdd568a2226d5"

// Limit is PlanFix's documented one request per second.
const (
	Limit  = 1
	Window = time.Second
)

// World is an account's data, in the API's own JSON (planfix.Task holds
// its comments, which PlanFix serves from another route).
type World struct {
	Users    []planfix.User    `json:"users"`
	Contacts []planfix.User    `json:"contacts"`
	Statuses []planfix.Status  `json:"statuses"`
	Projects []planfix.Project `json:"projects"`
	Tasks    []planfix.Task    `json:"tasks"`
}

// Options configure a Server.
type Options struct {
	Token string
	Clock vclock.Clock
	// Limit requests per Window; zero is PlanFix's, negative none.
	Limit  int
	Window time.Duration
}

// Server is the fake.
type Server struct {
	opts   Options
	host   *fakeapi.Host
	log    fakeapi.Log
	faults fakeapi.Faults
	limit  *fakeapi.Window

	mu     sync.Mutex
	w      World
	nextID int64
}

// New starts a server for a test on w and closes it when the test ends.
func New(t testing.TB, w World, opts Options) *Server {
	t.Helper()
	s := NewServer(w, opts)
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a server on w; Close stops it.
func NewServer(w World, opts Options) *Server {
	opts.Token = cmp.Or(opts.Token, DefaultToken)
	opts.Limit = cmp.Or(opts.Limit, Limit)
	opts.Window = cmp.Or(opts.Window, Window)
	if opts.Clock == nil {
		opts.Clock = vclock.Real{}
	}
	s := &Server{opts: opts, limit: fakeapi.NewWindow(opts.Limit, opts.Window), w: w, nextID: 1000}
	for _, t := range w.Tasks {
		for _, c := range t.Comments {
			if n, _ := strconv.ParseInt(string(c.ID), 10, 64); n >= s.nextID {
				s.nextID = n + 1
			}
		}
	}
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.host.Close() }

// BaseURL is the API root, like https://northwind.planfix.com/rest.
func (s *Server) BaseURL() string { return s.host.URL() + "/rest" }

// Token is what the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// Arm adds a fault; Disarm removes them.
func (s *Server) Arm(f fakeapi.Fault) { s.faults.Arm(f) }
func (s *Server) Disarm()             { s.faults.Disarm() }

// Requests is the request log.
func (s *Server) Requests() []fakeapi.Request { return s.log.Requests() }

// ResetLog empties the request log.
func (s *Server) ResetLog() { s.log.Reset() }

// TooMany counts the 429s the limit answered.
func (s *Server) TooMany() int { return s.limit.TooMany() }

// Edit changes the world under the server's lock.
func (s *Server) Edit(fn func(w *World)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.w)
}

// World is a copy of the world.
func (s *Server) World() World {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.w)
	var w World
	_ = json.Unmarshal(b, &w)
	return w
}

// Comment adds a comment to a task as owner at at, bumping the task's
// dateOfLastUpdate, and returns its id.
func (s *Server) Comment(task string, owner planfix.Ref, text string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.comment(task, owner, text, at)
}

func (s *Server) comment(task string, owner planfix.Ref, text string, at time.Time) string {
	for i := range s.w.Tasks {
		t := &s.w.Tasks[i]
		if string(t.ID) == task {
			id := strconv.FormatInt(s.nextID, 10)
			s.nextID++
			o := owner
			t.Comments = append(t.Comments, planfix.Comment{ID: json.Number(id), DateTime: planfix.NewTimePoint(at), Type: "Comment",
				FromType: "Planfix", Description: text, Owner: &o})
			t.DateOfLastUpdate = planfix.NewTimePoint(at)
			return id
		}
	}
	panic("planfixfake: no task " + task)
}

var (
	statusesRoute = regexp.MustCompile(`^/rest/process/task/(\d+)/statuses$`)
	commentsRoute = regexp.MustCompile(`^/rest/task/(\d+)/comments/list$`)
	addRoute      = regexp.MustCompile(`^/rest/task/(\d+)/comments/?$`)
)

// ServeHTTP answers: log, fault, auth, limit, route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Clock.Now()
	req := fakeapi.Arrival(r, now)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req.Body = string(body)
	rec := s.log.Begin(w, req)
	if f, ok := s.faults.Take(r); ok && answers.Answer(rec, r, f, s.host.Done()) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		// The spec's 401 for an unknown token.
		fail(rec, http.StatusUnauthorized, 1, "Access denied, unknown token")
		return
	}
	if ok, wait := s.limit.Admit(now); !ok {
		answers.RateLimited(rec, wait)
		return
	}
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && p == "/rest/ping":
		ok(rec, http.StatusOK, nil)
	case r.Method == http.MethodPost && p == "/rest/user/list":
		s.people(rec, body, "users", "user", func(w *World) []planfix.User { return w.Users })
	case r.Method == http.MethodPost && p == "/rest/contact/list":
		s.people(rec, body, "contacts", "contact", func(w *World) []planfix.User { return w.Contacts })
	case r.Method == http.MethodPost && p == "/rest/project/list":
		s.projects(rec, body)
	case r.Method == http.MethodGet && p == "/rest/process/task":
		// One process holds every status (the fake's simplification).
		ok(rec, http.StatusOK, map[string]any{"processes": []map[string]any{{"id": 1, "name": "Tasks"}}})
	case r.Method == http.MethodGet && statusesRoute.MatchString(p):
		if statusesRoute.FindStringSubmatch(p)[1] != "1" {
			fail(rec, http.StatusBadRequest, 41, "Process not find by id "+statusesRoute.FindStringSubmatch(p)[1]) // [unverified] text
			return
		}
		s.mu.Lock()
		sts := slices.Clone(s.w.Statuses)
		s.mu.Unlock()
		ok(rec, http.StatusOK, map[string]any{"statuses": sts})
	case r.Method == http.MethodPost && p == "/rest/task/list":
		s.tasks(rec, body)
	case r.Method == http.MethodPost && commentsRoute.MatchString(p):
		s.comments(rec, body, commentsRoute.FindStringSubmatch(p)[1])
	case r.Method == http.MethodPost && addRoute.MatchString(p):
		s.addComment(rec, body, addRoute.FindStringSubmatch(p)[1], now)
	case strings.HasPrefix(p, "/rest/"):
		fail(rec, http.StatusNotFound, 0, "Rest API error") // [unverified] an unknown route's answer
	default:
		http.Error(rec, "no route in fake", http.StatusInternalServerError)
	}
}

var answers = fakeapi.Answers{
	ServerError: func(w http.ResponseWriter, status int) { fail(w, status, 0, "Rest API error") },
	Truncated: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"result":"success","tasks":[{"id":1,"name":"`)
	},
	Unauthorized: func(w http.ResponseWriter) { fail(w, http.StatusUnauthorized, 1, "Access denied, unknown token") },
	NotFound:     func(w http.ResponseWriter) { fail(w, http.StatusNotFound, 1000, "Task not found by id 0") },
	RateLimited: func(w http.ResponseWriter, retryAfter int) {
		// [unverified] PlanFix's answer past its per-second limit: the
		// help names the limit, not the answer; clients retry 429.
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		fail(w, http.StatusTooManyRequests, 0, "Too many requests")
	},
	RetryAfter: 1,
}

// FaultDailyLimit answers error code 22, the daily quota spent; the HTTP
// status is [unverified], here 403.
var FaultDailyLimit = fakeapi.Fault{Kind: fakeapi.ServerError, Status: http.StatusForbidden,
	Body: `{"result":"fail","code":22,"error":"The daily limit of REST API requests is exhausted"}`}

// listRequest is the body of a */list POST.
type listRequest struct {
	Offset     *int             `json:"offset"`
	PageSize   *int             `json:"pageSize"`
	Fields     string           `json:"fields"`
	Filters    []planfix.Filter `json:"filters"`
	PrefixedID bool             `json:"prefixedId"`
	TypeList   string           `json:"typeList"`
}

// page reads offset and pageSize (defaults 0 and 100, at most 100; more
// is refused with code 41 [unverified: PlanFix may clamp instead]).
func page(w http.ResponseWriter, body []byte) (listRequest, int, int, bool) {
	var lr listRequest
	if err := json.Unmarshal(body, &lr); err != nil {
		fail(w, http.StatusBadRequest, 30, "Rest API error, not valid JSON: "+err.Error())
		return lr, 0, 0, false
	}
	off, size := 0, 100
	if lr.Offset != nil {
		off = *lr.Offset
	}
	if lr.PageSize != nil {
		size = *lr.PageSize
	}
	if off < 0 || size < 1 || size > 100 {
		fail(w, http.StatusBadRequest, 41, fmt.Sprintf("Invalid parameter value: offset %d, pageSize %d (1..100)", off, size))
		return lr, 0, 0, false
	}
	return lr, off, size, true
}

func window[T any](all []T, off, size int) []T {
	lo, hi := min(off, len(all)), min(off+size, len(all))
	return slices.Clone(all[lo:hi])
}

func (s *Server) people(w http.ResponseWriter, body []byte, key, prefix string, of func(*World) []planfix.User) {
	lr, off, size, good := page(w, body)
	if !good {
		return
	}
	s.mu.Lock()
	us := window(of(&s.w), off, size)
	s.mu.Unlock()
	for i := range us {
		id := strings.Trim(string(us[i].ID), `"`)
		id = strings.TrimPrefix(id, prefix+":")
		if lr.PrefixedID {
			us[i].ID, _ = json.Marshal(prefix + ":" + id)
		} else {
			us[i].ID = json.RawMessage(id)
		}
	}
	ok(w, http.StatusOK, map[string]any{key: us})
}

func (s *Server) projects(w http.ResponseWriter, body []byte) {
	_, off, size, good := page(w, body)
	if !good {
		return
	}
	s.mu.Lock()
	ps := window(s.w.Projects, off, size)
	s.mu.Unlock()
	ok(w, http.StatusOK, map[string]any{"projects": ps})
}

// tasks serves /task/list in ascending id order ([unverified]: one
// integration reports oldest first), filtered by project (type 5) and by
// the date of the last change or comment (79) or change (38), compared
// by day in UTC with gt, gtAndEqual, lt, ltAndEqual or equal; a date
// value in dateValue or dateFrom (the help's text and its examples
// disagree).
func (s *Server) tasks(w http.ResponseWriter, body []byte) {
	lr, off, size, good := page(w, body)
	if !good {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []planfix.Task
	for _, t := range s.w.Tasks {
		keep := true
		for _, f := range lr.Filters {
			match, err := s.matches(t, f)
			if err != nil {
				fail(w, http.StatusBadRequest, 41, err.Error())
				return
			}
			keep = keep && match
		}
		if keep {
			c := t
			c.Comments = nil
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b planfix.Task) int { return cmp.Compare(num(a.ID), num(b.ID)) })
	ok(w, http.StatusOK, map[string]any{"tasks": window(out, off, size)})
}

func num(n json.Number) int64 { v, _ := n.Int64(); return v }

func (s *Server) matches(t planfix.Task, f planfix.Filter) (bool, error) {
	switch f.Type {
	case planfix.FilterProject:
		want := strings.Trim(fmt.Sprint(f.Value), `"`)
		has := t.Project != nil && string(t.Project.ID) == want
		if f.Operator == "notequal" {
			return !has, nil
		}
		return has, nil
	case planfix.FilterChangedOrComented, 38:
		raw, _ := json.Marshal(f.Value)
		var dv planfix.DateValue
		if err := json.Unmarshal(raw, &dv); err != nil || dv.DateType != "otherDate" {
			return false, fmt.Errorf("filter %d: only otherDate values are served by the fake", f.Type)
		}
		day, err := time.Parse("02-01-2006", cmp.Or(dv.DateValue, dv.DateFrom))
		if err != nil {
			return false, fmt.Errorf("filter %d: date %q is not dd-MM-yyyy", f.Type, cmp.Or(dv.DateValue, dv.DateFrom))
		}
		last, _ := t.DateOfLastUpdate.Parse(time.UTC)
		if f.Type == 79 {
			for _, c := range t.Comments {
				if at, ok := c.DateTime.Parse(time.UTC); ok && at.After(last) {
					last = at
				}
			}
		}
		lastDay := last.Truncate(24 * time.Hour)
		switch f.Operator {
		case "gt":
			return lastDay.After(day), nil
		case "gtAndEqual":
			return !lastDay.Before(day), nil
		case "lt":
			return lastDay.Before(day), nil
		case "ltAndEqual":
			return !lastDay.After(day), nil
		case "equal":
			return lastDay.Equal(day), nil
		}
		return false, fmt.Errorf("filter %d: operator %q", f.Type, f.Operator)
	}
	return false, fmt.Errorf("filter type %d is not served by the fake", f.Type)
}

// comments serves a task's comments oldest first; deleted ones only with
// typeList All or Deleted, status changes (no text) only with All.
func (s *Server) comments(w http.ResponseWriter, body []byte, task string) {
	lr, off, size, good := page(w, body)
	if !good {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.w.Tasks {
		if string(t.ID) != task {
			continue
		}
		var out []planfix.Comment
		for _, c := range t.Comments {
			switch lr.TypeList {
			case "All":
			case "Deleted":
				if !c.IsDeleted {
					continue
				}
			default: // Comments, the default [unverified]
				if c.IsDeleted || c.ChangeStatus != nil && c.Description == "" {
					continue
				}
			}
			out = append(out, c)
		}
		slices.SortStableFunc(out, func(a, b planfix.Comment) int {
			at, _ := a.DateTime.Parse(time.UTC)
			bt, _ := b.DateTime.Parse(time.UTC)
			return cmp.Or(at.Compare(bt), cmp.Compare(num(a.ID), num(b.ID)))
		})
		ok(w, http.StatusOK, map[string]any{"comments": window(out, off, size)})
		return
	}
	// The spec's example: a missing task's comments are a 500 with code 1000.
	fail(w, http.StatusInternalServerError, 1000, "Task not found by id "+task)
}

func (s *Server) addComment(w http.ResponseWriter, body []byte, task string, now time.Time) {
	var req struct {
		Description string       `json:"description"`
		Owner       *planfix.Ref `json:"owner"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		fail(w, http.StatusBadRequest, 30, "Rest API error, not valid JSON: "+err.Error())
		return
	}
	if strings.TrimSpace(req.Description) == "" {
		fail(w, http.StatusBadRequest, 40, "Missing required parameter: description")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := slices.ContainsFunc(s.w.Tasks, func(t planfix.Task) bool { return string(t.ID) == task })
	if !found {
		fail(w, http.StatusNotFound, 1000, "Task not found by id "+task)
		return
	}
	owner := planfix.Ref{ID: "user:1", Name: "API"}
	if len(s.w.Users) > 0 {
		u := s.w.Users[0]
		owner = planfix.Ref{ID: u.Prefixed("user"), Name: u.FullName()}
	}
	id := s.comment(task, owner, req.Description, now)
	ok(w, http.StatusCreated, map[string]any{"id": json.Number(id)})
}

func ok(w http.ResponseWriter, status int, fields map[string]any) {
	out := map[string]any{"result": "success"}
	for k, v := range fields {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-RateLimit-Remaining", "19999")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"result": "fail", "code": code, "error": msg})
}
