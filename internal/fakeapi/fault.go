package fakeapi

import (
	"cmp"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Kind is what an armed fault does to a request.
type Kind int

// The kinds every fake answers. A fake adds its own from Custom up.
const (
	// ServerError answers Status (500 unless set): with Body when set,
	// else with what the API (or a gateway in front of it) sends.
	ServerError Kind = iota + 1
	// Hang holds the request until the client gives up or the server
	// closes.
	Hang
	// Truncated answers with a body cut short: a canned piece of JSON, or
	// the real answer cut in half under a Content-Length promising all of
	// it, as the fake chooses.
	Truncated
	// Unauthorized answers 401, as for credentials revoked a moment ago.
	Unauthorized
	// NotFound answers 404.
	NotFound
	// RateLimited answers 429 (with a wait of RetryAfter seconds where
	// the API announces one), as when another client spent the budget.
	RateLimited

	// Custom is the first kind a fake may define for its API alone, such
	// as Toggl's 402 quota or Trello's lost reply.
	Custom Kind = 100
)

// Fault arms a server to misbehave. It takes the requests that match
// Method, Path and Route (each ignored when empty), lets the first Skip of
// them through, then takes Times of them (1 when 0; negative until
// Disarm). Faults are tried in the order armed; a request let through by
// one may be taken by the next.
type Fault struct {
	Kind Kind
	// Method is the request method to match.
	Method string
	// Path is a path prefix to match, e.g. "/v2/time_entries".
	Path string
	// Route is a path.Match pattern the whole path must match, e.g.
	// "/1/boards/*/actions".
	Route string
	Skip  int
	Times int
	// Status is a ServerError's status (500 when 0).
	Status int
	// Body, when set, is a ServerError's body verbatim (text/html when it
	// starts with "<", text/plain otherwise).
	Body string
	// RetryAfter is the wait a RateLimited fault announces, in seconds; 0
	// or less takes the fake's default. Custom kinds may read it as they
	// document.
	RetryAfter int
}

func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	if !strings.HasPrefix(r.URL.Path, f.Path) {
		return false
	}
	if f.Route != "" {
		if ok, _ := path.Match(f.Route, r.URL.Path); !ok {
			return false
		}
	}
	return true
}

// Faults are the faults armed on a server, safe for concurrent use. The
// zero value has none.
type Faults struct {
	mu    sync.Mutex
	armed []*Fault
}

// Arm adds a fault after those already armed.
func (fs *Faults) Arm(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.armed = append(fs.armed, &f)
}

// Disarm removes every fault.
func (fs *Faults) Disarm() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.armed = nil
}

// Take returns the fault that takes r, counting it down, or false when
// none does.
func (fs *Faults) Take(r *http.Request) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.armed {
		if !f.matches(r) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				fs.armed = slices.Delete(fs.armed, i, i+1)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// Answers are how one API answers the faults the kit knows. A nil function
// leaves that kind to the fake: Answer reports it did not answer, and the
// fake serves the request with the fault in hand (to cut its real body, for
// one).
type Answers struct {
	// ServerError writes a 5xx (or any other status a test asks for).
	ServerError func(w http.ResponseWriter, status int)
	// Truncated writes a body cut short.
	Truncated func(w http.ResponseWriter)
	// Unauthorized writes the API's 401.
	Unauthorized func(w http.ResponseWriter)
	// NotFound writes the API's 404.
	NotFound func(w http.ResponseWriter)
	// RateLimited writes the API's 429, announcing a wait of retryAfter
	// seconds where the API does.
	RateLimited func(w http.ResponseWriter, retryAfter int)
	// RetryAfter is the wait a RateLimited fault announces when its own
	// is not set.
	RetryAfter int
}

// Answer answers r as f says and reports whether it did. A Hang returns
// when r's client gives up or done is closed. Custom kinds, and kinds
// whose function is nil, are left to the caller.
func (a *Answers) Answer(w http.ResponseWriter, r *http.Request, f Fault, done <-chan struct{}) bool {
	switch {
	case f.Kind == Hang:
		Hold(r, done)
	case f.Kind == ServerError && f.Body != "":
		writeBody(w, cmp.Or(f.Status, http.StatusInternalServerError), f.Body)
	case f.Kind == ServerError && a.ServerError != nil:
		a.ServerError(w, cmp.Or(f.Status, http.StatusInternalServerError))
	case f.Kind == Truncated && a.Truncated != nil:
		a.Truncated(w)
	case f.Kind == Unauthorized && a.Unauthorized != nil:
		a.Unauthorized(w)
	case f.Kind == NotFound && a.NotFound != nil:
		a.NotFound(w)
	case f.Kind == RateLimited && a.RateLimited != nil:
		wait := f.RetryAfter
		if wait <= 0 {
			wait = a.RetryAfter
		}
		a.RateLimited(w, wait)
	default:
		return false
	}
	return true
}

func writeBody(w http.ResponseWriter, status int, body string) {
	if strings.HasPrefix(body, "<") {
		w.Header().Set("Content-Type", "text/html")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// CutBody sends status and half of body under a Content-Length promising
// all of it, then drops the connection: a Truncated fault on the real
// answer. The caller sets the other headers first. It does not return.
func CutBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// net/http drops the connection without logging for this value.
	panic(http.ErrAbortHandler)
}
