// Package fakeapi is the machinery the fakes of HTTP APIs share, so that
// each fake is only what its API is: a Host (an httptest server whose Close
// also frees the requests a fault holds), a request Log that records the
// status each answer got, armed Faults (5xx, hangs, truncated bodies, 401,
// 404, 429 and kinds a fake adds; ParseFault reads them as the cmd/*fake
// commands' -fault flag spells them), a sliding-window rate limit, and the
// Hook through which a test changes the world between two pages; a Sender
// that posts a fake's webhook deliveries in the background, retrying as
// the API does, and lets a test wait for them; and Endless, a server whose
// answers never end, for the tests of body caps.
//
// What goes on the wire (routes, bodies, headers, error texts) stays each
// fake's business: a fake hands the kit its Answers to the faults, and the
// kit never writes a byte of its own but for a fault's explicit Body.
//
// It imports no karkas package, and nothing but fakes and their tests
// should import it.
package fakeapi

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Host is a fake's httptest server.
type Host struct {
	ts   *httptest.Server
	done chan struct{}
	once sync.Once
}

// Start serves h on a new httptest server; Close stops it.
func Start(h http.Handler) *Host {
	return &Host{ts: httptest.NewServer(h), done: make(chan struct{})}
}

// Close frees the requests held by Hold, then stops the server (which
// waits for the requests in flight). Calling it again does nothing.
func (h *Host) Close() {
	h.once.Do(func() {
		close(h.done)
		h.ts.Close()
	})
}

// URL is the server's root, like http://127.0.0.1:41234.
func (h *Host) URL() string { return h.ts.URL }

// Client returns an HTTP client for the server.
func (h *Host) Client() *http.Client { return h.ts.Client() }

// Done is closed when Close begins.
func (h *Host) Done() <-chan struct{} { return h.done }

// Hold keeps r without an answer until its client gives up (its context
// ends) or done is closed: the request a real server never answers.
func Hold(r *http.Request, done <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-done:
	}
}

// HangUp starts a server that drops every connection without a word: a
// server that crashes mid-request. Close it when done.
func HangUp() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
}

// DeadURL is an http:// root where nothing listens: a port just freed.
func DeadURL() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1"
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}
