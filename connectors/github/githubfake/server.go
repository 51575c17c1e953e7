package githubfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
)

// Limits are the server's rate limits; zero fields take GitHub's, negative
// ones switch that limit off.
type Limits struct {
	// PerHour is the primary limit of each account (5000 for a personal
	// access token), shared by every token of the account: a window that
	// opens with the account's first request and resets an hour later.
	PerHour int
	// PointsPerMinute is the secondary limit per account over a sliding
	// minute: a GET costs 1 point, a write 5 (GitHub: 900).
	PointsPerMinute int
	// CreatesPerMinute bounds content-creating requests (new issues and
	// comments) per account over a sliding minute (GitHub: about 80).
	CreatesPerMinute int
	// RetryAfter is what a secondary refusal announces in Retry-After, in
	// seconds (60 when 0; negative sends no Retry-After, which GitHub
	// does too at times).
	RetryAfter int
}

// GitHubLimits are GitHub's documented limits for a personal access token.
var GitHubLimits = Limits{PerHour: 5000, PointsPerMinute: 900, CreatesPerMinute: 80, RetryAfter: 60}

func (l Limits) withDefaults() Limits {
	if l.PerHour == 0 {
		l.PerHour = GitHubLimits.PerHour
	}
	if l.PointsPerMinute == 0 {
		l.PointsPerMinute = GitHubLimits.PointsPerMinute
	}
	if l.CreatesPerMinute == 0 {
		l.CreatesPerMinute = GitHubLimits.CreatesPerMinute
	}
	if l.RetryAfter == 0 {
		l.RetryAfter = GitHubLimits.RetryAfter
	}
	return l
}

// Options configure a Server.
type Options struct {
	// World is what the server serves; nil is an empty NewWorld(nil).
	World *World
	// Limits are the rate limits; zero fields take GitHub's.
	Limits Limits
	// HookClient sends the webhook deliveries (nil: a client with a 10 s
	// timeout, as long as GitHub waits for an answer).
	HookClient *http.Client
}

// This API's own fault kinds, beside fakeapi's (ServerError, Hang,
// Truncated, Unauthorized "Bad credentials", NotFound, and RateLimited,
// which answers 429 with a secondary-limit message and Retry-After).
const (
	// FaultPrimary spends the rest of the account's primary limit, as
	// another process using the same account would, and answers 403 with
	// X-RateLimit-Remaining 0; requests keep failing until the reset.
	FaultPrimary fakeapi.Kind = fakeapi.Custom + iota
	// FaultSecondary answers 403 "You have exceeded a secondary rate
	// limit" with Retry-After (Fault.RetryAfter seconds, or the limits'
	// default; none when the default is negative).
	FaultSecondary
	// FaultSecondaryNoRetryAfter answers the same 403 without Retry-After.
	FaultSecondaryNoRetryAfter
	// FaultForbidden answers 403 "Resource not accessible by personal
	// access token", with the rate headers, as for a token lacking a
	// permission.
	FaultForbidden
	// FaultLoseReply carries the request out (a write takes effect), then
	// holds the reply until the client gives up.
	FaultLoseReply
)

// Server is a fake GitHub REST API (see the package documentation).
//
// A request goes through, in order: the request log; an armed fault;
// authentication (401); the secondary limit (403 with Retry-After); the
// primary limit (403 with Remaining 0); the route; for a 200 GET, the
// ETag check (304). Routes the fake does not implement answer 500 "no
// route in fake", so a client calling something unexpected fails loudly.
type Server struct {
	world  *World
	limits Limits
	host   *fakeapi.Host
	faults fakeapi.Faults
	log    fakeapi.Log

	after fakeapi.Hook[string]
	hooks *fakeapi.Sender

	mu        sync.Mutex
	primary   map[string]*primaryWindow // by lower-case login
	points    map[string]*pointsLog
	creates   map[string]*pointsLog
	notMod    int
	spent     int
	secondary int
}

type primaryWindow struct {
	start time.Time
	used  int
}

// pointsLog is a sliding minute of weighted requests.
type pointsLog struct {
	at     []time.Time
	points []int
}

func (p *pointsLog) admit(now time.Time, cost, limit int) (ok bool, wait time.Duration) {
	cut := 0
	for cut < len(p.at) && !p.at[cut].After(now.Add(-time.Minute)) {
		cut++
	}
	p.at, p.points = p.at[cut:], p.points[cut:]
	sum := 0
	for _, n := range p.points {
		sum += n
	}
	if sum+cost > limit {
		wait = time.Minute
		if len(p.at) > 0 {
			wait = p.at[0].Add(time.Minute).Sub(now)
		}
		return false, wait
	}
	p.at, p.points = append(p.at, now), append(p.points, cost)
	return true, 0
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
	s := &Server{world: w, limits: opts.Limits.withDefaults(), primary: map[string]*primaryWindow{},
		points: map[string]*pointsLog{}, creates: map[string]*pointsLog{}}
	// GitHub does not retry a failed delivery; it can be redelivered.
	s.hooks = fakeapi.NewSender(fakeapi.SenderOptions{Client: opts.HookClient})
	s.host = fakeapi.Start(s)
	return s
}

// Close stops the server, releasing requests held by a hang fault and
// cancelling the webhook deliveries under way.
func (s *Server) Close() {
	s.hooks.Close()
	s.host.Close()
}

// URL is the server's root, like https://github.example.com; a client
// built with WithEnterpriseURLs(URL, URL) finds the API under /api/v3/.
func (s *Server) URL() string { return s.host.URL() }

// APIURL is the API root, URL + "/api/v3".
func (s *Server) APIURL() string { return s.host.URL() + "/api/v3" }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.host.Client() }

// World returns the world the server serves.
func (s *Server) World() *World { return s.world }

// Arm arms a fault (see fakeapi.Fault; Route patterns are paths such as
// "/api/v3/repos/*/*/issues").
func (s *Server) Arm(f fakeapi.Fault) { s.faults.Arm(f) }

// Disarm removes every fault.
func (s *Server) Disarm() { s.faults.Disarm() }

// SetAfter calls fn with the route's name (e.g. "GET
// /repos/{owner}/{repo}/issues") after a route has computed its answer and
// before it is sent, so that a test can change the world between two
// requests of a pull. fn runs without the world's lock and may call its
// mutators; nil removes it.
func (s *Server) SetAfter(fn func(route string)) { s.after.Set(fn) }

// Requests returns a copy of the request log.
func (s *Server) Requests() []fakeapi.Request { return s.log.Requests() }

// Total is how many requests the server received.
func (s *Server) Total() int { return s.log.Len() }

// Count is how many logged requests matched route (e.g. "GET
// /repos/{owner}/{repo}/issues"; any when empty) and status (any when 0).
func (s *Server) Count(route string, status int) int {
	return s.log.CountFunc(func(r fakeapi.Request) bool {
		return (route == "" || r.Route == route) && (status == 0 || r.Status == status)
	})
}

// NotModified is how many requests were answered 304.
func (s *Server) NotModified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notMod
}

// Spent is how many requests counted against a primary limit.
func (s *Server) Spent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

// SecondaryRefusals is how many requests the secondary limits refused.
func (s *Server) SecondaryRefusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secondary
}

// ResetStats clears the log and the counts (not the rate-limit windows).
func (s *Server) ResetStats() {
	s.log.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notMod, s.spent, s.secondary = 0, 0, 0
}

// Remaining is the primary limit login has left now.
func (s *Server) Remaining(login string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	pw := s.window(lower(login), s.world.clock.Now())
	return max(0, s.limits.PerHour-pw.used)
}

// window returns login's primary window at now, opening a new one when
// the last has reset. Callers hold s.mu.
func (s *Server) window(login string, now time.Time) *primaryWindow {
	pw, ok := s.primary[login]
	if !ok || !now.Before(pw.start.Add(time.Hour)) {
		pw = &primaryWindow{start: now.Truncate(time.Second)}
		s.primary[login] = pw
	}
	return pw
}

// rateHeaders are the X-RateLimit headers of login's window now.
func (s *Server) rateHeaders(h http.Header, login string, now time.Time) {
	if s.limits.PerHour < 0 {
		return
	}
	s.mu.Lock()
	pw := s.window(lower(login), now)
	used, reset := pw.used, pw.start.Add(time.Hour)
	s.mu.Unlock()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.limits.PerHour))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, s.limits.PerHour-used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// Texts and documentation addresses of GitHub's errors.
const (
	docRoot         = "https://docs.github.com/rest"
	docRateLimits   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	docSecondary    = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	msgBadCreds     = "Bad credentials"
	msgRequiresAuth = "Requires authentication"
	msgNotFound     = "Not Found"
	msgForbidden    = "Resource not accessible by personal access token"
	msgSecondary    = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000."
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "fake could not encode its answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, errorJSON{Message: msg, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

func (s *Server) answers() *fakeapi.Answers {
	return &fakeapi.Answers{
		ServerError: func(w http.ResponseWriter, status int) {
			// GitHub's front ends answer 502/504 with an HTML page and the
			// API 500 with a JSON message [unverified: the exact texts].
			if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(status)
				_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</h1></body></html>\n"))
				return
			}
			writeError(w, status, "Server Error", "")
		},
		Unauthorized: func(w http.ResponseWriter) { writeError(w, http.StatusUnauthorized, msgBadCreds, docRoot) },
		NotFound:     func(w http.ResponseWriter) { writeError(w, http.StatusNotFound, msgNotFound, docRoot) },
		RateLimited: func(w http.ResponseWriter, retryAfter int) {
			if retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			}
			writeError(w, http.StatusTooManyRequests, msgSecondary, docSecondary)
		},
		RetryAfter: max(0, s.limits.RetryAfter),
	}
}

// bearer reads the token from "Authorization: Bearer X" or "token X".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "bearer ", "token ", "Token "} {
		if rest, ok := strings.CutPrefix(h, p); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.world.clock.Now()
	rt, params := match(r.Method, r.URL.Path)
	entry := fakeapi.Arrival(r, now)
	if rt != nil {
		entry.Route = rt.Name
	}
	w = s.log.Begin(w, entry)
	fault, faulted := s.faults.Take(r)
	if faulted && s.answers().Answer(w, r, fault, s.host.Done()) {
		return
	}

	tok := bearer(r)
	s.world.mu.RLock()
	t, known := s.world.tokens[tok]
	var login string
	if known {
		login = t.user
	}
	s.world.mu.RUnlock()
	switch {
	case tok == "":
		writeError(w, http.StatusUnauthorized, msgRequiresAuth, docRoot)
		return
	case !known || t.revoked:
		writeError(w, http.StatusUnauthorized, msgBadCreds, docRoot)
		return
	}

	if faulted {
		switch fault.Kind {
		case FaultPrimary:
			s.mu.Lock()
			pw := s.window(lower(login), now)
			pw.used = max(pw.used, s.limits.PerHour)
			s.mu.Unlock()
			s.rateHeaders(w.Header(), login, now)
			writeError(w, http.StatusForbidden, "API rate limit exceeded for user ID "+strconv.FormatInt(s.userID(login), 10)+".", docRateLimits)
			return
		case FaultSecondary, FaultSecondaryNoRetryAfter:
			wait := fault.RetryAfter
			if wait <= 0 {
				wait = s.limits.RetryAfter
			}
			if fault.Kind == FaultSecondary && wait > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(wait))
			}
			s.rateHeaders(w.Header(), login, now)
			writeError(w, http.StatusForbidden, msgSecondary, docSecondary)
			return
		case FaultForbidden:
			s.rateHeaders(w.Header(), login, now)
			writeError(w, http.StatusForbidden, msgForbidden, docRoot)
			return
		}
	}

	if !s.admitSecondary(w, r, login, now) {
		return
	}
	if s.limits.PerHour > 0 {
		s.mu.Lock()
		spent := s.window(lower(login), now).used >= s.limits.PerHour
		s.mu.Unlock()
		if spent {
			s.rateHeaders(w.Header(), login, now)
			writeError(w, http.StatusForbidden, "API rate limit exceeded for user ID "+strconv.FormatInt(s.userID(login), 10)+".", docRateLimits)
			return
		}
	}

	var rep reply
	if rt == nil {
		rep = errReply(http.StatusInternalServerError, "no route in fake: "+r.Method+" "+r.URL.Path, "")
	} else {
		c := &call{s: s, r: r, login: login, tok: t, now: now, u: urls{api: "http://" + r.Host + "/api/v3", web: "http://" + r.Host}}
		rep = rt.Handler(c, params)
		s.after.Call(rt.Name)
	}
	if faulted && fault.Kind == FaultLoseReply {
		fakeapi.Hold(r, s.host.Done())
		return
	}

	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	if rep.status == http.StatusOK && r.Method == http.MethodGet {
		sum := sha256.Sum256(rep.body)
		etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
		h.Set("ETag", etag)
		if matchETag(r.Header.Get("If-None-Match"), etag) {
			s.rateHeaders(h, login, now)
			s.mu.Lock()
			s.notMod++
			s.mu.Unlock()
			h.Del("Link")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if s.limits.PerHour > 0 {
		s.mu.Lock()
		s.window(lower(login), now).used++
		s.spent++
		s.mu.Unlock()
	}
	s.rateHeaders(h, login, now)
	if faulted && fault.Kind == fakeapi.Truncated && len(rep.body) > 1 {
		h.Set("Content-Type", "application/json; charset=utf-8")
		fakeapi.CutBody(w, rep.status, rep.body)
	}
	if rep.location != "" {
		h.Set("Location", rep.location)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func (s *Server) userID(login string) int64 {
	u, _ := s.world.User(login)
	return u.ID
}

// admitSecondary counts the request against login's secondary limits and
// answers 403 when they refuse it.
func (s *Server) admitSecondary(w http.ResponseWriter, r *http.Request, login string, now time.Time) bool {
	cost := 1
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		cost = 5
	}
	creates := r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/issues") || strings.HasSuffix(r.URL.Path, "/comments"))
	s.mu.Lock()
	ok := true
	if s.limits.PointsPerMinute > 0 {
		pl := s.points[lower(login)]
		if pl == nil {
			pl = &pointsLog{}
			s.points[lower(login)] = pl
		}
		ok, _ = pl.admit(now, cost, s.limits.PointsPerMinute)
	}
	if ok && creates && s.limits.CreatesPerMinute > 0 {
		cl := s.creates[lower(login)]
		if cl == nil {
			cl = &pointsLog{}
			s.creates[lower(login)] = cl
		}
		ok, _ = cl.admit(now, 1, s.limits.CreatesPerMinute)
	}
	if !ok {
		s.secondary++
	}
	s.mu.Unlock()
	if ok {
		return true
	}
	// GitHub announces a fixed wait rather than the window's exact
	// remainder [unverified: how it computes Retry-After].
	if s.limits.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.limits.RetryAfter))
	}
	s.rateHeaders(w.Header(), login, now)
	writeError(w, http.StatusForbidden, msgSecondary, docSecondary)
	return false
}

// matchETag reports whether an If-None-Match header names etag; weak
// comparison, as GitHub's weak ETags need.
func matchETag(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == want {
			return true
		}
	}
	return false
}
