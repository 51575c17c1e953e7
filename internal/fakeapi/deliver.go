package fakeapi

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"
)

// Sender posts a fake's webhook deliveries: each on its own goroutine, so
// that the change to the world that caused it never waits for the
// receiver, with as many tries as the fake's API makes. It logs every
// attempt, and Wait lets a test block until none is under way. What a
// delivery carries (URL, headers, signature, body) is the fake's business.
//
// A Sender is safe for concurrent use. Close cancels what is under way.
type Sender struct {
	client *http.Client
	tries  int
	delay  time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	pending  int
	idle     chan struct{} // closed while pending is 0
	attempts []Attempt
}

// SenderOptions configure a Sender.
type SenderOptions struct {
	// Client sends the deliveries (nil: one with a 10 s timeout, which
	// is how long GitHub waits for an answer).
	Client *http.Client
	// Retries is how many times a delivery answered other than 2xx (or
	// not at all) is tried again; 0 never.
	Retries int
	// RetryDelay is the wait before the first retry, doubling for each
	// one after (100 ms when 0). Deliveries run in real time even on a
	// fake with a virtual clock: a virtual clock moves only when the
	// client under test waits, which a delivery goroutine never does.
	RetryDelay time.Duration
}

// NewSender returns a sender; Close stops it.
func NewSender(opts SenderOptions) *Sender {
	s := &Sender{client: opts.Client, tries: 1 + max(0, opts.Retries), delay: opts.RetryDelay, idle: make(chan struct{})}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.delay <= 0 {
		s.delay = 100 * time.Millisecond
	}
	close(s.idle)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Client is the HTTP client deliveries go out with; a fake uses it for
// the other requests its API makes to a receiver (Trello's HEAD check).
func (s *Sender) Client() *http.Client { return s.client }

// Delivery is one event for one receiver.
type Delivery struct {
	// Hook names the webhook in the fake (its id), for the log.
	Hook string
	// Event names what is delivered (a Trello action type, a GitHub
	// event), for the log.
	Event string
	// ID is the delivery's own id when the API gives it one (GitHub's
	// X-GitHub-Delivery), for the log.
	ID     string
	URL    string
	Header http.Header
	Body   []byte
	// Done, when set, is told the last attempt once the delivery is
	// over (succeeded or out of tries), on the sender's goroutine.
	Done func(Attempt)
}

// Attempt is one try of a delivery, as the log keeps it.
type Attempt struct {
	Hook, Event, ID, URL string
	// N counts the tries of the delivery from 1.
	N      int
	Header http.Header
	Body   []byte
	// Status is the receiver's answer, 0 when there was none (Err says
	// why).
	Status int
	Err    string
	At     time.Time
	// Duration is how long the receiver took.
	Duration time.Duration
}

// OK reports whether the receiver took the delivery (a 2xx).
func (a Attempt) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Send starts d and returns at once; Wait counts it from now on. A closed
// sender drops it.
func (s *Sender) Send(d Delivery) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
	s.wg.Add(1)
	s.mu.Unlock()
	go s.run(d)
}

func (s *Sender) run(d Delivery) {
	defer s.finish()
	wait := s.delay
	for n := 1; ; n++ {
		a := s.attempt(d, n)
		s.mu.Lock()
		s.attempts = append(s.attempts, a)
		s.mu.Unlock()
		if a.OK() || n >= s.tries || s.ctx.Err() != nil {
			if d.Done != nil {
				d.Done(a)
			}
			return
		}
		select {
		case <-time.After(wait):
		case <-s.ctx.Done():
		}
		wait *= 2
	}
}

func (s *Sender) attempt(d Delivery, n int) Attempt {
	a := Attempt{Hook: d.Hook, Event: d.Event, ID: d.ID, URL: d.URL, N: n, Header: d.Header.Clone(), Body: d.Body, At: time.Now()}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		a.Err = err.Error()
		return a
	}
	maps.Copy(req.Header, d.Header.Clone())
	resp, err := s.client.Do(req)
	a.Duration = time.Since(a.At)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	// Read a little of the answer so that the connection can be reused;
	// what a receiver says is never needed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a.Status = resp.StatusCode
	return a
}

func (s *Sender) finish() {
	s.mu.Lock()
	s.pending--
	if s.pending == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// Wait blocks until no delivery is under way (retries included) or ctx
// ends. A delivery sent while it waits is waited for too.
func (s *Sender) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
		done := s.pending == 0
		s.mu.Unlock()
		if done {
			return nil
		}
	}
}

// Pending is how many deliveries are under way.
func (s *Sender) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Attempts returns a copy of the log of attempts, in the order they
// ended.
func (s *Sender) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attempt, len(s.attempts))
	for i, a := range s.attempts {
		a.Header = a.Header.Clone()
		out[i] = a
	}
	return out
}

// Close drops later deliveries, cancels the ones under way and waits for
// their goroutines. Calling it again does nothing.
func (s *Sender) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}
