package fakeapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A delivery refused twice is tried again until the receiver takes it,
// with the same body and headers each time; Wait returns only after the
// last try, and Done hears of it.
func TestSenderRetriesUntilTaken(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"n":1}` || r.Header.Get("X-Sig") != "abc" {
			t.Errorf("attempt got body %q, X-Sig %q", b, r.Header.Get("X-Sig"))
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer recv.Close()
	s := NewSender(SenderOptions{Retries: 3, RetryDelay: time.Millisecond})
	defer s.Close()
	done := make(chan Attempt, 1)
	s.Send(Delivery{Hook: "h1", Event: "e", URL: recv.URL, Header: http.Header{"X-Sig": {"abc"}}, Body: []byte(`{"n":1}`),
		Done: func(a Attempt) { done <- a }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d after Wait", s.Pending())
	}
	got := s.Attempts()
	if len(got) != 3 {
		t.Fatalf("%d attempts logged, want 3: %+v", len(got), got)
	}
	for i, a := range got {
		if a.N != i+1 || a.Hook != "h1" {
			t.Errorf("attempt %d: N %d hook %q", i, a.N, a.Hook)
		}
	}
	if got[0].Status != 503 || got[1].Status != 503 || !got[2].OK() {
		t.Errorf("statuses %d %d %d, want 503 503 200", got[0].Status, got[1].Status, got[2].Status)
	}
	select {
	case a := <-done:
		if a.N != 3 || !a.OK() {
			t.Errorf("Done told attempt %d status %d", a.N, a.Status)
		}
	default:
		t.Error("Done was not called before Wait returned")
	}
}

// A receiver that never takes the delivery gets the first try and the
// retries, no more.
func TestSenderGivesUp(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusGone)
	}))
	defer recv.Close()
	s := NewSender(SenderOptions{Retries: 1, RetryDelay: time.Millisecond})
	defer s.Close()
	s.Send(Delivery{URL: recv.URL})
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("receiver called %d times, want 2", n)
	}
}

// Close ends a delivery waiting for its retry, and Wait does not hang on
// a closed sender.
func TestSenderClose(t *testing.T) {
	t.Parallel()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer recv.Close()
	s := NewSender(SenderOptions{Retries: 5, RetryDelay: time.Hour})
	s.Send(Delivery{URL: recv.URL})
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Attempts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a delivery waiting an hour for its retry")
	}
	s.Send(Delivery{URL: recv.URL})
	if s.Pending() != 0 {
		t.Fatal("a closed sender took a delivery")
	}
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
