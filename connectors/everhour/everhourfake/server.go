package everhourfake

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
)

// DefaultAPIKey is the key of a server whose options name none (the
// shape of a real key is [unverified]; the API treats it as opaque).
const DefaultAPIKey = "ev-fake-0123456789abcdef0123456789abcdef"

// MaxTimeLimit is the largest limit the time-record routes accept: the
// API description says "max 50000". What the API answers above it is
// [unverified]; the fake answers 400 so that a client asking for more
// fails loudly.
const MaxTimeLimit = 50000

// Limits are the server's rate limit: Max requests per Interval per API
// key, counted as a sliding log. Everhour states "around 20 requests per
// 10 seconds"; whether it counts a sliding log or fixed windows, and
// whether refused requests count, is [unverified] (the fake counts a
// sliding log of admitted requests).
type Limits struct {
	Max      int
	Interval time.Duration
}

// EverhourLimits are Everhour's stated limits.
var EverhourLimits = Limits{Max: 20, Interval: 10 * time.Second}

// Options configure a Server.
type Options struct {
	// World is what the server serves; nil is an empty NewWorld(nil).
	World *World
	// APIKey is the accepted X-Api-Key; empty takes DefaultAPIKey.
	APIKey string
	// Limits are the rate limits; zero takes EverhourLimits, a negative
	// Max none.
	Limits Limits
}

// Request is one entry of the request log (headers are not logged).
// Route names the route matched, e.g. "GET /team/time" (empty when none
// did); Status is 0 when the server hung up without answering.
type Request = fakeapi.Request

// PageEvent tells a page hook which page of /team/time was just computed.
type PageEvent struct {
	From, To              string
	Page, Limit, Returned int
}

// Server is a fake Everhour API on an httptest server.
//
// A request goes through, in order: the request log; an armed fault
// (which answers without counting against the rate limit); the API key
// (401); the rate limit (429 with Retry-After); the route. Routes the
// fake does not implement answer 500 "no route in fake", so a client
// calling something unexpected fails loudly.
type Server struct {
	world  *World
	key    string
	host   *fakeapi.Host
	log    fakeapi.Log
	faults fakeapi.Faults
	limit  *fakeapi.Window
	onPage fakeapi.Hook[PageEvent]
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
	w := opts.World
	if w == nil {
		w = NewWorld(nil)
	}
	limits := opts.Limits
	if limits.Max == 0 {
		limits = EverhourLimits
	}
	s := &Server{world: w, key: cmp.Or(opts.APIKey, DefaultAPIKey), limit: fakeapi.NewWindow(limits.Max, limits.Interval)}
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server, releasing requests held by a hang fault.
func (s *Server) Close() { s.host.Close() }

// BaseURL is the API root, like https://api.everhour.com.
func (s *Server) BaseURL() string { return s.host.URL() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.host.Client() }

// World returns the world the server serves.
func (s *Server) World() *World { return s.world }

// APIKey returns the accepted key.
func (s *Server) APIKey() string { return s.key }

// SetPageHook calls fn after each page of GET /team/time is computed and
// before it is sent, so that a test can change the world between two
// pages; fn runs without the world's lock and may call its mutators. nil
// removes the hook.
func (s *Server) SetPageHook(fn func(PageEvent)) { s.onPage.Set(fn) }

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request { return s.log.Requests() }

// Total is how many HTTP requests the server received.
func (s *Server) Total() int { return s.log.Len() }

// TooMany is how many requests were answered 429 (by the limit or a
// fault).
func (s *Server) TooMany() int { return s.log.Count("", http.StatusTooManyRequests) }

// RouteCount is how many requests matched route, e.g. "GET /team/time".
func (s *Server) RouteCount(route string) int {
	return s.log.CountFunc(func(r Request) bool { return r.Route == route })
}

// ResetStats clears the log and the counts (not the rate-limit window).
func (s *Server) ResetStats() { s.log.Reset() }

// FaultKind is what an armed fault does to a request (see fakeapi.Kind).
type FaultKind = fakeapi.Kind

// The kinds of fault. Everhour's fake answers FaultStatus with an HTML
// page for 502 and 504, as a proxy in front of the API would, and the JSON
// error body otherwise; FaultTruncate with the route's own answer cut in
// half under a Content-Length promising all of it; FaultRateLimited with
// Retry-After 10 unless RetryAfter is set.
const (
	FaultStatus       = fakeapi.ServerError
	FaultHang         = fakeapi.Hang
	FaultTruncate     = fakeapi.Truncated
	FaultUnauthorized = fakeapi.Unauthorized
	FaultNotFound     = fakeapi.NotFound
	FaultRateLimited  = fakeapi.RateLimited
)

// Fault arms the server to misbehave on the next Times requests (1 when 0;
// negative until Disarm) whose path matches Route, a path.Match pattern
// such as "/team/time" (any when empty); Path, Method and Skip narrow it
// further. Faults are tried in the order armed.
type Fault = fakeapi.Fault

// Arm adds a fault.
func (s *Server) Arm(f Fault) { s.faults.Arm(f) }

// Disarm removes every fault.
func (s *Server) Disarm() { s.faults.Disarm() }

// Error texts. The Error schema is {code, message}; the messages Everhour
// writes are [unverified].
const (
	msgUnauthorized = "Invalid API key"
	msgTooMany      = "Too Many Requests"
	msgNotFound     = "Not Found"
)

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.world.clock.Now()
	rt, params := routes.Match(r.Method, r.URL.Path)
	entry := fakeapi.Arrival(r, now)
	if rt != nil {
		entry.Route = rt.Name
	}
	w = s.log.Begin(w, entry)

	fault, faulted := s.faults.Take(r)
	if faulted && answers.Answer(w, r, fault, s.host.Done()) {
		return
	}
	if r.Header.Get("X-Api-Key") != s.key {
		answers.Unauthorized(w)
		return
	}
	if ok, wait := s.limit.Admit(now); !ok {
		answers.RateLimited(w, wait)
		return
	}
	if rt == nil {
		writeError(w, http.StatusInternalServerError, "no route in fake: "+r.Method+" "+r.URL.Path)
		return
	}
	rep := rt.Handler(s, r, params)
	if rep.page != nil {
		s.onPage.Call(*rep.page)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if faulted && fault.Kind == FaultTruncate {
		fakeapi.CutBody(w, rep.status, rep.body)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// answers are Everhour's answers to the faults (a truncated body aside:
// the route's own answer is cut), and to a bad key or a spent limit.
var answers = fakeapi.Answers{
	ServerError:  writeFaultStatus,
	Unauthorized: func(w http.ResponseWriter) { writeError(w, http.StatusUnauthorized, msgUnauthorized) },
	NotFound:     func(w http.ResponseWriter) { writeError(w, http.StatusNotFound, msgNotFound) },
	RateLimited: func(w http.ResponseWriter, retryAfter int) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeError(w, http.StatusTooManyRequests, msgTooMany)
	},
	RetryAfter: 10,
}

type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(errorBody{Code: status, Message: msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeFaultStatus(w http.ResponseWriter, status int) {
	if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		text := strconv.Itoa(status) + " " + http.StatusText(status)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n"))
		return
	}
	writeError(w, status, http.StatusText(status))
}

type reply struct {
	status int
	body   []byte
	page   *PageEvent
}

func jsonReply(v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorBody{Code: 500, Message: "fake could not encode its answer: " + err.Error()})
		return reply{status: http.StatusInternalServerError, body: b}
	}
	return reply{status: http.StatusOK, body: b}
}

func errReply(status int, msg string) reply {
	b, _ := json.Marshal(errorBody{Code: status, Message: msg})
	return reply{status: status, body: b}
}

// routes are the routes the fake serves; the rest answer 500.
var routes fakeapi.Routes[func(s *Server, r *http.Request, params []string) reply]

func init() {
	routes.Add("GET", "/team/time", teamTime)
	routes.Add("GET", "/team/users", teamUsers)
	routes.Add("GET", "/users/me", usersMe)
	routes.Add("GET", "/projects", projects)
	routes.Add("GET", "/projects/{id}", project)
	routes.Add("GET", "/clients", clients)
	routes.Add("GET", "/tasks/{id}", task)
}
