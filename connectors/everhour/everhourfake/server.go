package everhourfake

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
type Request struct {
	Method, Path, Query string
	// Route names the route matched, e.g. "GET /team/time" (empty when
	// none did).
	Route  string
	Status int // 0 when the server hung up without answering
	At     time.Time
}

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
	world   *World
	key     string
	limits  Limits
	ts      *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	sent     []time.Time
	faults   []*Fault
	pageHook func(PageEvent)
	log      []Request
	routes   map[string]int
	total    int
	tooMany  int
	gen      int
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
	s := &Server{world: w, key: opts.APIKey, limits: opts.Limits, closing: make(chan struct{}), routes: map[string]int{}}
	if s.key == "" {
		s.key = DefaultAPIKey
	}
	if s.limits.Max == 0 {
		s.limits = EverhourLimits
	}
	s.ts = httptest.NewServer(s)
	return s
}

// Close stops the server, releasing requests held by a hang fault.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.Close()
	})
}

// BaseURL is the API root, like https://api.everhour.com.
func (s *Server) BaseURL() string { return s.ts.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// World returns the world the server serves.
func (s *Server) World() *World { return s.world }

// APIKey returns the accepted key.
func (s *Server) APIKey() string { return s.key }

// SetPageHook calls fn after each page of GET /team/time is computed and
// before it is sent, so that a test can change the world between two
// pages; fn runs without the world's lock and may call its mutators. nil
// removes the hook.
func (s *Server) SetPageHook(fn func(PageEvent)) {
	s.mu.Lock()
	s.pageHook = fn
	s.mu.Unlock()
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Total is how many HTTP requests the server received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// TooMany is how many requests were answered 429.
func (s *Server) TooMany() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// RouteCount is how many requests matched route, e.g. "GET /team/time".
func (s *Server) RouteCount(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routes[route]
}

// ResetStats clears the log and the counts (not the rate-limit window).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.total, s.tooMany = nil, 0, 0
	s.routes = map[string]int{}
	s.gen++
}

// FaultKind is what an armed fault does to a request.
type FaultKind int

const (
	// FaultStatus answers Status (500 unless set): an HTML page for 502
	// and 504, as a proxy in front of the API would, the JSON error body
	// otherwise.
	FaultStatus FaultKind = iota + 1
	// FaultHang holds the request until the client gives up or the
	// server closes.
	FaultHang
	// FaultTruncate serves the request, then sends half of the body
	// under a Content-Length promising all of it and drops the
	// connection.
	FaultTruncate
	// FaultUnauthorized answers 401, as for a key revoked a moment ago.
	FaultUnauthorized
	// FaultNotFound answers 404.
	FaultNotFound
	// FaultRateLimited answers 429 with Retry-After (RetryAfter seconds,
	// 10 unless set), as when another client spent the key's budget.
	FaultRateLimited
)

// Fault arms the server to misbehave on the next Times requests (1 when 0;
// negative until Disarm) whose path matches Route, a path.Match pattern
// such as "/team/time" (any when empty). Faults are tried in the order
// armed.
type Fault struct {
	Kind       FaultKind
	Status     int
	Route      string
	Times      int
	RetryAfter int
}

// Arm adds a fault.
func (s *Server) Arm(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// Disarm removes every fault.
func (s *Server) Disarm() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

func (s *Server) takeFault(p string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Route != "" {
			if ok, _ := path.Match(f.Route, p); !ok {
				continue
			}
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

// admit counts a request against the sliding log, or says how many whole
// seconds to wait. A request at exactly now-Interval has left the window.
func (s *Server) admit(now time.Time) (bool, int) {
	if s.limits.Max < 0 {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := 0
	for cut < len(s.sent) && !s.sent[cut].After(now.Add(-s.limits.Interval)) {
		cut++
	}
	s.sent = s.sent[cut:]
	if len(s.sent) < s.limits.Max {
		s.sent = append(s.sent, now)
		return true, 0
	}
	wait := s.sent[0].Add(s.limits.Interval).Sub(now)
	return false, max(1, int(math.Ceil(wait.Seconds())))
}

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
	rt, params := match(r.Method, r.URL.Path)
	entry := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, At: now}
	if rt != nil {
		entry.Route = rt.name
	}
	s.mu.Lock()
	idx, gen := len(s.log), s.gen
	s.log = append(s.log, entry)
	s.total++
	if entry.Route != "" {
		s.routes[entry.Route]++
	}
	s.mu.Unlock()
	w = &statusWriter{ResponseWriter: w, s: s, idx: idx, gen: gen}

	fault := s.takeFault(r.URL.Path)
	if fault != nil {
		switch fault.Kind {
		case FaultStatus:
			writeFaultStatus(w, fault.Status)
			return
		case FaultHang:
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		case FaultUnauthorized:
			writeError(w, http.StatusUnauthorized, msgUnauthorized)
			return
		case FaultNotFound:
			writeError(w, http.StatusNotFound, msgNotFound)
			return
		case FaultRateLimited:
			ra := fault.RetryAfter
			if ra == 0 {
				ra = 10
			}
			w.Header().Set("Retry-After", strconv.Itoa(ra))
			writeError(w, http.StatusTooManyRequests, msgTooMany)
			return
		}
	}
	if r.Header.Get("X-Api-Key") != s.key {
		writeError(w, http.StatusUnauthorized, msgUnauthorized)
		return
	}
	if ok, wait := s.admit(now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeError(w, http.StatusTooManyRequests, msgTooMany)
		return
	}
	if rt == nil {
		writeError(w, http.StatusInternalServerError, "no route in fake: "+r.Method+" "+r.URL.Path)
		return
	}
	rep := rt.h(s, r, params)
	if rep.page != nil {
		s.mu.Lock()
		hook := s.pageHook
		s.mu.Unlock()
		if hook != nil {
			hook(*rep.page)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	if fault != nil && fault.Kind == FaultTruncate {
		_, _ = w.Write(rep.body[:len(rep.body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		// net/http drops the connection without logging for this value.
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write(rep.body)
}

type statusWriter struct {
	http.ResponseWriter
	s    *Server
	idx  int
	gen  int
	done bool
}

func (sw *statusWriter) WriteHeader(status int) {
	if !sw.done {
		sw.done = true
		sw.s.mu.Lock()
		if sw.gen == sw.s.gen {
			sw.s.log[sw.idx].Status = status
		}
		if status == http.StatusTooManyRequests {
			sw.s.tooMany++
		}
		sw.s.mu.Unlock()
	}
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if !sw.done {
		sw.WriteHeader(http.StatusOK)
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *statusWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
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
	if status == 0 {
		status = http.StatusInternalServerError
	}
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

type route struct {
	name   string
	method string
	segs   []string
	h      func(s *Server, r *http.Request, params []string) reply
}

var routeTable = []*route{
	newRoute("GET", "team/time", teamTime),
	newRoute("GET", "team/users", teamUsers),
	newRoute("GET", "users/me", usersMe),
	newRoute("GET", "projects", projects),
	newRoute("GET", "projects/{id}", project),
	newRoute("GET", "clients", clients),
	newRoute("GET", "tasks/{id}", task),
}

func newRoute(method, pattern string, h func(*Server, *http.Request, []string) reply) *route {
	return &route{name: method + " /" + pattern, method: method, segs: strings.Split(pattern, "/"), h: h}
}

func match(method, p string) (*route, []string) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var best *route
	var bestParams []string
	bestLiterals := -1
	for _, rt := range routeTable {
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		var params []string
		literals, ok := 0, true
		for i, sg := range rt.segs {
			if strings.HasPrefix(sg, "{") {
				params = append(params, segs[i])
				continue
			}
			if sg != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestParams, bestLiterals = rt, params, literals
		}
	}
	return best, bestParams
}
