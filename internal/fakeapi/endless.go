package fakeapi

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// Endless is a RoundTripper whose every answer is a 200 with a JSON body
// that never ends, the server a client's body cap is for: the test of a
// client checks that the client gave up with an error and read no more
// than its cap (Read counts what it read).
type Endless struct {
	read atomic.Int64
}

// RoundTrip answers any request with an endless body.
func (e *Endless) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(io.MultiReader(strings.NewReader(`[{"name":"`), endlessReader{e})),
		Request: r, ContentLength: -1,
	}, nil
}

// Read is how many bytes of endless bodies the client has read.
func (e *Endless) Read() int64 { return e.read.Load() }

type endlessReader struct{ e *Endless }

func (r endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.e.read.Add(int64(len(p)))
	return len(p), nil
}
