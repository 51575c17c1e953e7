package fakeapi

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// Request is one line of a request log. Headers are never logged: they
// carry the credentials.
type Request struct {
	Method, Path string
	// Query is the raw URL query (a fake may leave credentials out).
	Query string
	// Body is the request body, for fakes of APIs that put the question
	// there; empty otherwise.
	Body string
	// Route names the route matched, e.g. "GET /team/time", for fakes that
	// name their routes (empty when none did).
	Route string
	// Status is the status the fake answered, 0 while it has not (a hang,
	// or a handler still running).
	Status int
	At     time.Time
}

// Arrival is the log line of r arriving at at: method, path and raw query.
func Arrival(r *http.Request, at time.Time) Request {
	return Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, At: at}
}

// Log is a request log, safe for concurrent use. The zero value is empty
// and ready.
type Log struct {
	mu   sync.Mutex
	reqs []Request
	gen  int // counts Resets, so that a request begun before one leaves the new log alone
}

// Begin appends req to the log and returns w wrapped so that the status the
// fake writes lands on req's line as the status line goes out: a client
// that has its answer, or gave up on a hung request, finds both logged.
func (l *Log) Begin(w http.ResponseWriter, req Request) http.ResponseWriter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, req)
	return &statusWriter{ResponseWriter: w, log: l, idx: len(l.reqs) - 1, gen: l.gen}
}

func (l *Log) setStatus(idx, gen, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen == l.gen {
		l.reqs[idx].Status = status
	}
}

// Requests returns a copy of the log.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// Len is how many requests the log holds.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// Count is how many logged requests had path (any when empty) and status
// (any when 0).
func (l *Log) Count(path string, status int) int {
	return l.CountFunc(func(r Request) bool {
		return (path == "" || r.Path == path) && (status == 0 || r.Status == status)
	})
}

// CountFunc is how many logged requests satisfy keep.
func (l *Log) CountFunc(keep func(Request) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if keep(r) {
			n++
		}
	}
	return n
}

// Reset empties the log. Requests still in flight no longer record their
// status anywhere.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
	l.gen++
}

// statusWriter notes the first status written in the log.
type statusWriter struct {
	http.ResponseWriter
	log      *Log
	idx, gen int
	wrote    bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		w.log.setStatus(w.idx, w.gen, status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets a truncated body reach the client before the connection drops.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
