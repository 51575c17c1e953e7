package trellofake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default credentials of a server whose options name none. The key has the
// shape of a real one (32 hex digits); the token is opaque.
const (
	DefaultKey   = "fa4efa4efa4efa4efa4efa4efa4e0001"
	DefaultToken = "ATTAfaketokenfaketokenfaketokenfaketokenfaketokenfaketoken0001"
)

// Options configure a Server.
type Options struct {
	// World is what the server serves; nil is an empty NewWorld(Clock).
	World *World
	// Clock is the clock of a new world; ignored when World is set (the
	// world's clock is the server's).
	Clock Clock
	// Key and Token are the credentials added for World.Me(); empty takes
	// DefaultKey and DefaultToken.
	Key, Token string
	// Limits are the rate limits; zero fields take Trello's.
	Limits Limits
}

// Server is a fake Trello REST API on an httptest server: the real routes
// under /1/, field names, default and maximum limits, paging order, plain
// text error bodies, rate limits and their headers, and fault switches
// for what a real network and a real Trello do to a client.
//
// A request goes through, in order: the request log; an armed fault (which
// answers without counting against rate limits); authentication (401);
// rate limiting (429, with the rate-limit headers on every response);
// the route. Routes the fake does not implement answer 500 "no route in
// fake", so a client calling something unexpected fails loudly instead of
// reading a plausible 404.
type Server struct {
	world   *World
	limits  *limiter
	key     string
	token   string
	ts      *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	faults   []*Fault
	pageHook func(PageEvent)
	log      []Request
	routes   map[string]int
	total    int
	tooMany  int
	gen      int // counts ResetStats calls
}

// Request is one entry of the request log. Query is the URL query without
// key and token; request bodies are not logged.
type Request struct {
	Method string
	Path   string
	Query  string
	// Route names the route matched, e.g. "GET /1/boards/{id}/actions"
	// (empty when none did).
	Route  string
	Status int // 0 when the server hung up without answering
	At     time.Time
}

// PageEvent tells a page hook which page of a paged route was just
// computed: Route is the route name, Path the request path, Before, Since
// and Limit its parameters, Returned how many items the page holds.
type PageEvent struct {
	Route, Path, Before, Since string
	Limit, Returned            int
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
		w = NewWorld(opts.Clock)
	}
	s := &Server{
		world:   w,
		limits:  newLimiter(opts.Limits),
		key:     cmpOr(opts.Key, DefaultKey),
		token:   cmpOr(opts.Token, DefaultToken),
		closing: make(chan struct{}),
		routes:  map[string]int{},
	}
	w.AddToken(s.key, s.token, w.Me().ID)
	s.ts = httptest.NewServer(s)
	return s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Close stops the server, releasing requests held by a hang fault.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.Close()
	})
}

// BaseURL is the API root, like https://api.trello.com/1.
func (s *Server) BaseURL() string { return s.ts.URL + "/1" }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// World returns the world the server serves.
func (s *Server) World() *World { return s.world }

// Key returns the default API key.
func (s *Server) Key() string { return s.key }

// Token returns the default token, owned by World().Me().
func (s *Server) Token() string { return s.token }

// Spend uses n requests of the default token's (and key's) window now, as
// another process sharing the credentials would.
func (s *Server) Spend(n int) {
	s.limits.spend(s.world.clock.Now(), s.key, s.token, n)
}

// SetPageHook calls fn after each page of a paged route (board cards,
// board and card actions) is computed and before it is sent, so that a
// test can change the world between two pages. fn runs without the
// world's lock and may call its mutators; nil removes the hook.
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

// RouteCount is how many requests matched route, named like
// "GET /1/boards/{id}/actions". Routes requested inside a batch count
// under "batch " + the route's name.
func (s *Server) RouteCount(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routes[route]
}

// RouteCounts returns every route's count.
func (s *Server) RouteCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.routes))
	for k, v := range s.routes {
		out[k] = v
	}
	return out
}

// ResetStats clears the log and the counts (not the rate-limit windows).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.total, s.tooMany = nil, 0, 0
	s.gen++
	s.routes = map[string]int{}
}

// FaultKind is what an armed fault does to a request.
type FaultKind int

const (
	// FaultStatus answers Status (500 unless set) with Body, or with the
	// body such a gateway or server error usually has (HTML for 502 and
	// 504, plain text otherwise).
	FaultStatus FaultKind = iota + 1
	// FaultHang holds the request until the client gives up (its context
	// is cancelled) or the server closes.
	FaultHang
	// FaultTruncate serves the request, then sends half of the body and
	// closes the connection, with a Content-Length announcing all of it.
	FaultTruncate
	// FaultUnauthorized answers 401 "invalid token", as for a token
	// revoked a moment ago.
	FaultUnauthorized
	// FaultNotFound answers 404 "The requested resource was not found.".
	FaultNotFound
	// FaultRateLimited answers 429 API_TOKEN_LIMIT_EXCEEDED with the
	// token's remaining header at 0, as when another process spent it.
	FaultRateLimited
	// FaultLoseReply carries the request out (a write takes effect), then
	// holds the reply until the client gives up: the ambiguous failure a
	// write must not blindly retry.
	FaultLoseReply
)

// Fault arms the server to misbehave on the next Times requests (1 when 0;
// negative until Disarm) whose method is Method (any when empty) and whose
// path matches Route, a path.Match pattern such as "/1/boards/*/actions"
// (any when empty). Faults are tried in the order armed.
type Fault struct {
	Kind   FaultKind
	Status int
	Body   string
	Method string
	Route  string
	Times  int
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

// takeFault returns the first armed fault matching the request and counts
// it down.
func (s *Server) takeFault(method, p string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
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

// Texts of Trello's plain-text errors. "invalid id" and
// "The requested resource was not found." appear in issue threads quoting
// real responses (bugwarrior#639, mheap/trello-cli#74); "invalid token" is
// the message py-trello#367 shows for a bad token; "invalid key" is what a
// request without a key gets (a 2014 gist walking through the API);
// "unauthorized permission requested" is adlio's fixture for a board the
// token may not read. Which one Trello sends in each corner case is
// [unverified].
const (
	msgNotFound     = "The requested resource was not found."
	msgInvalidID    = "invalid id"
	msgInvalidToken = "invalid token"
	msgInvalidKey   = "invalid key"
	msgNoPermission = "unauthorized permission requested"
)

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.world.clock.Now()
	// The request is logged as it arrives and its status as the status
	// line is written, so that a client that has its answer (or gave up
	// on a hung request) already finds both in the log.
	rt, params := match(r.Method, r.URL.Path)
	entry := Request{Method: r.Method, Path: r.URL.Path, Query: cleanQuery(r.URL.Query()), At: now}
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
	if err := r.ParseForm(); err != nil {
		s.writeText(w, nil, http.StatusBadRequest, "invalid form body")
		return
	}

	fault := s.takeFault(r.Method, r.URL.Path)
	if fault != nil {
		switch fault.Kind {
		case FaultStatus:
			s.writeFaultStatus(w, fault)
			return
		case FaultHang:
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		case FaultUnauthorized:
			s.writeText(w, nil, http.StatusUnauthorized, msgInvalidToken)
			return
		case FaultNotFound:
			s.writeText(w, nil, http.StatusNotFound, msgNotFound)
			return
		case FaultRateLimited:
			key, tok := credentials(r)
			h := s.limits.refuse(now, key, tok)
			s.write429(w, h, "API_TOKEN_LIMIT_EXCEEDED", "Rate limit exceeded")
			return
		}
	}

	key, tok := credentials(r)
	me, status, msg := s.authenticate(key, tok)
	if status != 0 {
		s.writeText(w, nil, status, msg)
		return
	}

	cost := 1
	if rt != nil && rt.name == "GET /1/batch" && s.limits.l.BatchCountsEachURL {
		cost = max(1, len(batchURLs(r.Form)))
	}
	v := s.limits.admit(now, key, tok, isMemberRoute(r.URL.Path), cost)
	if v.code != "" {
		s.write429(w, v.headers, v.code, v.message)
		return
	}
	if rt == nil {
		s.writeText(w, v.headers, http.StatusInternalServerError, "no route in fake: "+r.Method+" "+r.URL.Path)
		return
	}

	c := &call{s: s, method: r.Method, path: r.URL.Path, q: r.Form, me: me, now: now, route: rt.name}
	rep := rt.h(c, params)
	if rep.page != nil {
		s.mu.Lock()
		hook := s.pageHook
		s.mu.Unlock()
		if hook != nil {
			hook(*rep.page)
		}
	}
	if fault != nil && fault.Kind == FaultLoseReply {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	if fault != nil && fault.Kind == FaultTruncate {
		s.writeTruncated(w, v.headers, rep)
		return
	}
	s.writeReply(w, v.headers, rep)
}

// statusWriter notes the status in the request log when it is written.
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
		if sw.gen == sw.s.gen { // else ResetStats cleared the entry
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

// Flush lets a truncated body reach the client before the connection drops.
func (sw *statusWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// isMemberRoute reports whether p is /1/members/{id} itself, the route with
// its own limit; nested routes such as /1/members/me/boards are not.
func isMemberRoute(p string) bool {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	return len(segs) == 3 && segs[0] == "1" && segs[1] == "members"
}

// credentials reads the key and token from the Authorization header
// (`OAuth oauth_consumer_key="…", oauth_token="…"`) or, failing that, from
// the query or form parameters key and token.
func credentials(r *http.Request) (key, tok string) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "OAuth ") {
		for _, part := range strings.Split(strings.TrimPrefix(h, "OAuth "), ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			val = strings.Trim(val, `"`)
			if u, err := url.PathUnescape(val); err == nil {
				val = u
			}
			switch name {
			case "oauth_consumer_key":
				key = val
			case "oauth_token":
				tok = val
			}
		}
	}
	if key == "" {
		key = r.Form.Get("key")
	}
	if tok == "" {
		tok = r.Form.Get("token")
	}
	return key, tok
}

func (s *Server) authenticate(key, tok string) (*member, int, string) {
	w := s.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	if key == "" || !w.keys[key] {
		return nil, http.StatusUnauthorized, msgInvalidKey
	}
	if tok == "" {
		return nil, http.StatusUnauthorized, msgNoPermission
	}
	t, ok := w.tokens[tok]
	if !ok || t.revoked || t.key != key {
		return nil, http.StatusUnauthorized, msgInvalidToken
	}
	return t.member, 0, ""
}

// cleanQuery is the query for the log, without credentials.
func cleanQuery(q url.Values) string {
	q.Del("key")
	q.Del("token")
	return q.Encode()
}

// reply is what a route answers.
type reply struct {
	status int
	body   []byte
	text   bool // plain text rather than JSON
	page   *PageEvent
}

func textReply(status int, msg string) reply {
	return reply{status: status, body: []byte(msg), text: true}
}

func jsonReply(v any) reply {
	b, err := marshal(v)
	if err != nil {
		return textReply(http.StatusInternalServerError, "fake could not encode its answer: "+err.Error())
	}
	return reply{status: http.StatusOK, body: b}
}

func copyHeaders(w http.ResponseWriter, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
}

func (s *Server) writeReply(w http.ResponseWriter, h http.Header, rep reply) {
	copyHeaders(w, h)
	if rep.text {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func (s *Server) writeText(w http.ResponseWriter, h http.Header, status int, msg string) int {
	s.writeReply(w, h, textReply(status, msg))
	return status
}

func (s *Server) write429(w http.ResponseWriter, h http.Header, code, msg string) int {
	body, _ := marshal(obj{{"error", code}, {"message", msg}})
	s.writeReply(w, h, reply{status: http.StatusTooManyRequests, body: body})
	return http.StatusTooManyRequests
}

func (s *Server) writeFaultStatus(w http.ResponseWriter, f *Fault) int {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body, html := f.Body, false
	if body == "" {
		switch status {
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			text := strconv.Itoa(status) + " " + http.StatusText(status)
			body, html = "<html>\r\n<head><title>"+text+"</title></head>\r\n<body>\r\n<center><h1>"+text+"</h1></center>\r\n</body>\r\n</html>\r\n", true
		default:
			body = http.StatusText(status)
		}
	}
	if html || strings.HasPrefix(body, "<") {
		w.Header().Set("Content-Type", "text/html")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	return status
}

// writeTruncated sends half the body under a Content-Length promising all
// of it, then drops the connection.
func (s *Server) writeTruncated(w http.ResponseWriter, h http.Header, rep reply) {
	copyHeaders(w, h)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body[:len(rep.body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// net/http closes the connection without logging for this value.
	panic(http.ErrAbortHandler)
}

// call is one request as a route sees it.
type call struct {
	s      *Server
	method string
	path   string
	q      url.Values
	me     *member
	now    time.Time
	route  string
}

// route is a method and a path pattern under /1/ whose {…} segments are
// parameters.
type route struct {
	name   string
	method string
	segs   []string
	h      func(c *call, p []string) reply
}

var routeTable []*route

func addRoute(method, pattern string, h func(c *call, p []string) reply) {
	routeTable = append(routeTable, &route{
		name:   method + " /1/" + pattern,
		method: method,
		segs:   strings.Split(pattern, "/"),
		h:      h,
	})
}

// match finds the route for a method and path. Literal segments beat
// parameters, so /boards/{id}/cards/{filter} does not swallow a literal
// route of the same length.
func match(method, p string) (*route, []string) {
	p = strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/1/") {
		return nil, nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/1/"), "/")
	var best *route
	var bestParams []string
	bestLiterals := -1
	for _, rt := range routeTable {
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		var params []string
		literals := 0
		ok := true
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
