package trellofake

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
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

	// WebhookSecret is the OAuth secret of the app Key belongs to, which
	// signs webhook deliveries (DefaultWebhookSecret when empty).
	WebhookSecret string
	// WebhookClient sends the HEAD check of a new webhook's callback and
	// the deliveries (nil: a client with a 10 s timeout).
	WebhookClient *http.Client
	// WebhookRetries is how many times a delivery the receiver did not
	// answer 2xx is tried again (2 when 0; none when negative), and
	// WebhookRetryDelay the wait before the first retry, doubling after
	// (100 ms when 0). Trello's own policy is [unverified]: see
	// webhooks.go.
	WebhookRetries    int
	WebhookRetryDelay time.Duration
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
	world  *World
	limits *limiter
	key    string
	token  string
	host   *fakeapi.Host
	log    fakeapi.Log
	faults fakeapi.Faults

	hooks         *fakeapi.Sender
	webhookSecret string

	onPage  fakeapi.Hook[PageEvent]
	mu      sync.Mutex
	batched map[string]int // routes requested inside a batch, since ResetStats
}

// Request is one entry of the request log. Query is the URL query without
// key and token; request bodies are not logged. Route names the route
// matched, e.g. "GET /1/boards/{id}/actions" (empty when none did);
// Status is 0 when the server hung up without answering.
type Request = fakeapi.Request

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
		key:     cmp.Or(opts.Key, DefaultKey),
		token:   cmp.Or(opts.Token, DefaultToken),
		batched: map[string]int{},

		webhookSecret: cmp.Or(opts.WebhookSecret, DefaultWebhookSecret),
	}
	retries := opts.WebhookRetries
	switch {
	case retries == 0:
		retries = 2
	case retries < 0:
		retries = 0
	}
	s.hooks = fakeapi.NewSender(fakeapi.SenderOptions{Client: opts.WebhookClient, Retries: retries, RetryDelay: opts.WebhookRetryDelay})
	w.AddToken(s.key, s.token, w.Me().ID)
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server, releasing requests held by a hang fault and
// cancelling the webhook deliveries under way.
func (s *Server) Close() {
	s.hooks.Close()
	s.host.Close()
}

// BaseURL is the API root, like https://api.trello.com/1.
func (s *Server) BaseURL() string { return s.host.URL() + "/1" }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.host.Client() }

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
func (s *Server) SetPageHook(fn func(PageEvent)) { s.onPage.Set(fn) }

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request { return s.log.Requests() }

// Total is how many HTTP requests the server received.
func (s *Server) Total() int { return s.log.Len() }

// TooMany is how many requests were answered 429.
func (s *Server) TooMany() int { return s.log.Count("", http.StatusTooManyRequests) }

// RouteCount is how many requests matched route, named like
// "GET /1/boards/{id}/actions". Routes requested inside a batch count
// under "batch " + the route's name.
func (s *Server) RouteCount(route string) int { return s.RouteCounts()[route] }

// RouteCounts returns every route's count.
func (s *Server) RouteCounts() map[string]int {
	s.mu.Lock()
	out := maps.Clone(s.batched)
	s.mu.Unlock()
	for _, r := range s.log.Requests() {
		if r.Route != "" {
			out[r.Route]++
		}
	}
	return out
}

// ResetStats clears the log and the counts (not the rate-limit windows).
func (s *Server) ResetStats() {
	s.log.Reset()
	s.mu.Lock()
	s.batched = map[string]int{}
	s.mu.Unlock()
}

// FaultKind is what an armed fault does to a request (see fakeapi.Kind).
type FaultKind = fakeapi.Kind

// The kinds of fault. Trello's fake answers FaultStatus with Body, or with
// the body such a gateway or server error usually has (HTML for 502 and
// 504, plain text otherwise); FaultTruncate with the route's own answer
// cut in half under a Content-Length promising all of it;
// FaultUnauthorized with "invalid token"; FaultNotFound with "The
// requested resource was not found."; FaultRateLimited with
// API_TOKEN_LIMIT_EXCEEDED and the token's remaining header at 0, as when
// another process spent it.
const (
	FaultStatus       = fakeapi.ServerError
	FaultHang         = fakeapi.Hang
	FaultTruncate     = fakeapi.Truncated
	FaultUnauthorized = fakeapi.Unauthorized
	FaultNotFound     = fakeapi.NotFound
	FaultRateLimited  = fakeapi.RateLimited
	// FaultLoseReply carries the request out (a write takes effect), then
	// holds the reply until the client gives up: the ambiguous failure a
	// write must not blindly retry.
	FaultLoseReply = fakeapi.Custom
)

// Fault arms the server to misbehave on the next Times requests (1 when 0;
// negative until Disarm) whose method is Method (any when empty) and whose
// path matches Route, a path.Match pattern such as "/1/boards/*/actions"
// (any when empty). Faults are tried in the order armed.
type Fault = fakeapi.Fault

// Arm adds a fault.
func (s *Server) Arm(f Fault) { s.faults.Arm(f) }

// Disarm removes every fault.
func (s *Server) Disarm() { s.faults.Disarm() }

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
	rt, params := routes.Match(r.Method, r.URL.Path)
	entry := fakeapi.Arrival(r, now)
	entry.Query = cleanQuery(r.URL.Query())
	if rt != nil {
		entry.Route = rt.Name
	}
	w = s.log.Begin(w, entry)
	if err := r.ParseForm(); err != nil {
		writeText(w, nil, http.StatusBadRequest, "invalid form body")
		return
	}

	key, tok := credentials(r)
	fault, faulted := s.faults.Take(r)
	if faulted && answers.Answer(w, r, fault, s.host.Done()) {
		return
	}
	if faulted && fault.Kind == FaultRateLimited {
		// Not among the answers: this 429 counts in the key's 429 tally
		// and carries the rate-limit headers of the request's credentials.
		h := s.limits.refuse(now, key, tok)
		write429(w, h, "API_TOKEN_LIMIT_EXCEEDED", "Rate limit exceeded")
		return
	}

	me, status, msg := s.authenticate(key, tok)
	if status != 0 {
		writeText(w, nil, status, msg)
		return
	}

	cost := 1
	if rt != nil && rt.Name == "GET /1/batch" && s.limits.l.BatchCountsEachURL {
		cost = max(1, len(batchURLs(r.Form)))
	}
	v := s.limits.admit(now, key, tok, isMemberRoute(r.URL.Path), cost)
	if v.code != "" {
		write429(w, v.headers, v.code, v.message)
		return
	}
	if rt == nil {
		writeText(w, v.headers, http.StatusInternalServerError, "no route in fake: "+r.Method+" "+r.URL.Path)
		return
	}

	c := &call{s: s, ctx: r.Context(), method: r.Method, path: r.URL.Path, q: r.Form, me: me, tok: tok, now: now, route: rt.Name}
	rep := rt.Handler(c, params)
	if rep.page != nil {
		s.onPage.Call(*rep.page)
	}
	if faulted && fault.Kind == FaultLoseReply {
		fakeapi.Hold(r, s.host.Done())
		return
	}
	if faulted && fault.Kind == FaultTruncate {
		copyHeaders(w, v.headers)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fakeapi.CutBody(w, rep.status, rep.body)
	}
	writeReply(w, v.headers, rep)
}

// answers are Trello's answers to the faults; a 429 (which needs the
// request's credentials), a truncated body (the route's own answer is cut)
// and a lost reply are the server's.
var answers = fakeapi.Answers{
	ServerError:  writeFaultStatus,
	Unauthorized: func(w http.ResponseWriter) { writeText(w, nil, http.StatusUnauthorized, msgInvalidToken) },
	NotFound:     func(w http.ResponseWriter) { writeText(w, nil, http.StatusNotFound, msgNotFound) },
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

func writeReply(w http.ResponseWriter, h http.Header, rep reply) {
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

func writeText(w http.ResponseWriter, h http.Header, status int, msg string) int {
	writeReply(w, h, textReply(status, msg))
	return status
}

func write429(w http.ResponseWriter, h http.Header, code, msg string) int {
	body, _ := marshal(obj{{"error", code}, {"message", msg}})
	writeReply(w, h, reply{status: http.StatusTooManyRequests, body: body})
	return http.StatusTooManyRequests
}

// writeFaultStatus writes the body a gateway or server error usually has:
// HTML for 502 and 504, plain text otherwise.
func writeFaultStatus(w http.ResponseWriter, status int) {
	if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		text := strconv.Itoa(status) + " " + http.StatusText(status)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n"))
		return
	}
	writeText(w, nil, status, http.StatusText(status))
}

// call is one request as a route sees it.
type call struct {
	s      *Server
	ctx    context.Context
	method string
	path   string
	q      url.Values
	me     *member
	tok    string // the request's token
	now    time.Time
	route  string
}

// routes are the routes the fake serves under /1/; the rest answer 500.
var routes fakeapi.Routes[func(c *call, p []string) reply]

// addRoute adds a route; pattern leaves out the leading /1/.
func addRoute(method, pattern string, h func(c *call, p []string) reply) {
	routes.Add(method, "/1/"+pattern, h)
}
