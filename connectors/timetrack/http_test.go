package timetrack_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
)

// script answers requests in turn; the last answer repeats.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	seen    []*http.Request
	at      []time.Time
	clock   *vclock.Virtual
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r)
	s.at = append(s.at, s.clock.Now())
	i := min(len(s.seen)-1, len(s.answers)-1)
	s.mu.Unlock()
	s.answers[i](w)
}

func status(code int, body string, h ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(h); i += 2 {
			w.Header().Set(h[i], h[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func newHTTP(t *testing.T, s *script) *timetrack.HTTP {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL + "/api")
	return &timetrack.HTTP{Base: base, Client: srv.Client(), Clock: s.clock,
		Header: http.Header{"X-Api-Key": {"sekret-token"}}, Timeout: 2 * time.Second, BackoffBase: time.Second}
}

func TestHTTPAnswers(t *testing.T) {
	t.Parallel()
	ok := status(200, `{"n": 1}`)
	tests := []struct {
		name    string
		answers []func(http.ResponseWriter)
		check   func(t *testing.T, err error, s *script, waited time.Duration)
	}{
		{"429 waits Retry-After", []func(http.ResponseWriter){status(429, `{"code":429,"message":"Too Many Requests"}`, "Retry-After", "7"), ok},
			func(t *testing.T, err error, s *script, waited time.Duration) {
				if err != nil || len(s.seen) != 2 || waited != 7*time.Second {
					t.Errorf("err %v, %d requests, waited %v; want success after 7 s", err, len(s.seen), waited)
				}
			}},
		{"5xx retried", []func(http.ResponseWriter){status(502, "bad gateway"), status(503, "busy"), ok},
			func(t *testing.T, err error, s *script, _ time.Duration) {
				if err != nil || len(s.seen) != 3 {
					t.Errorf("err %v after %d requests", err, len(s.seen))
				}
			}},
		{"truncated JSON retried", []func(http.ResponseWriter){status(200, `{"n": `), ok},
			func(t *testing.T, err error, s *script, _ time.Duration) {
				if err != nil || len(s.seen) != 2 {
					t.Errorf("err %v after %d requests", err, len(s.seen))
				}
			}},
		{"5xx gives up", []func(http.ResponseWriter){status(500, "boom")},
			func(t *testing.T, err error, s *script, _ time.Duration) {
				if err == nil || len(s.seen) != 5 || !strings.Contains(err.Error(), "giving up after 5 attempts") {
					t.Errorf("err %v after %d requests", err, len(s.seen))
				}
			}},
		{"401 is unauthorized", []func(http.ResponseWriter){status(401, `{"message":"Invalid API key"}`)},
			func(t *testing.T, err error, s *script, _ time.Duration) {
				if !errors.Is(err, connectors.ErrUnauthorized) || len(s.seen) != 1 {
					t.Errorf("err %v after %d requests", err, len(s.seen))
				}
			}},
		{"404 not retried", []func(http.ResponseWriter){status(404, "Not found")},
			func(t *testing.T, err error, s *script, _ time.Duration) {
				var ae *timetrack.APIError
				if !errors.As(err, &ae) || ae.Status != 404 || len(s.seen) != 1 {
					t.Errorf("err %v after %d requests", err, len(s.seen))
				}
			}},
		{"429 storm outside a pull ends in RateLimitError", []func(http.ResponseWriter){status(429, "slow down", "Retry-After", "1")},
			func(t *testing.T, err error, s *script, _ time.Duration) {
				var rl *connectors.RateLimitError
				if !errors.As(err, &rl) || len(s.seen) != 21 {
					t.Errorf("err %v after %d requests", err, len(s.seen))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &script{answers: tt.answers, clock: vclock.NewVirtual(t0)}
			c := newHTTP(t, s)
			var out struct{ N int }
			_, err := c.Get(context.Background(), "time", url.Values{"page": {"1"}}, &out)
			if err != nil && strings.Contains(err.Error(), "sekret") {
				t.Errorf("the error shows the token: %v", err)
			}
			if s.seen[0].Header.Get("X-Api-Key") != "sekret-token" || s.seen[0].URL.Path != "/api/time" {
				t.Errorf("request: %s %v", s.seen[0].URL, s.seen[0].Header)
			}
			tt.check(t, err, s, s.clock.Now().Sub(t0))
		})
	}
}

// The pace keeps Max requests in any Interval.
func TestHTTPPace(t *testing.T) {
	t.Parallel()
	s := &script{answers: []func(http.ResponseWriter){status(200, `{}`)}, clock: vclock.NewVirtual(t0)}
	c := newHTTP(t, s)
	c.Max, c.Interval = 20, 10*time.Second
	for range 65 {
		if _, err := c.Get(context.Background(), "x", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range s.at {
		n := 0
		for j := i; j < len(s.at) && s.at[j].Sub(s.at[i]) < 10*time.Second; j++ {
			n++
		}
		if n > 20 {
			t.Fatalf("%d requests within 10 s from request %d", n, i)
		}
	}
	if got := s.clock.Now().Sub(t0); got != 30*time.Second {
		t.Errorf("65 requests at 20 per 10 s took %v, want 30 s", got)
	}
}

// A tracker's own "slow down" answer (Toggl's 402) waits as the hook says;
// a link to another host never gets the auth headers.
func TestHTTPThrottledHookAndForeignLinks(t *testing.T) {
	t.Parallel()
	s := &script{answers: []func(http.ResponseWriter){status(402, "quota", "X-Quota-Resets-In", "90"), status(200, `{}`)}, clock: vclock.NewVirtual(t0)}
	c := newHTTP(t, s)
	c.Throttled = func(code int, h http.Header, _ []byte) (timetrack.Throttle, bool) {
		if code != http.StatusPaymentRequired {
			return timetrack.Throttle{}, false
		}
		return timetrack.Throttle{Wait: 90 * time.Second, Why: "hourly quota spent"}, true
	}
	if _, err := c.Get(context.Background(), "x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.clock.Now().Sub(t0); got != 90*time.Second || c.Stats().Throttled != 1 {
		t.Errorf("waited %v, %d throttled; want 90 s, 1", got, c.Stats().Throttled)
	}
	if _, err := c.Do(context.Background(), http.MethodGet, "https://evil.example/steal", nil, nil, nil); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("a foreign link: %v", err)
	}
}

// Logs and errors name the path as the API documents it, with its leading
// slash also when the base URL has no path, and without the query (the
// debug log has the whole URL and body); a long wait is said in words a
// human reads ("waiting 59m50s"), not only in milliseconds.
func TestHTTPLogsPathsAndWaits(t *testing.T) {
	t.Parallel()
	s := &script{answers: []func(http.ResponseWriter){
		status(402, "quota"), status(503, "busy"), status(404, "no such thing"),
	}, clock: vclock.NewVirtual(t0)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL) // no path: "team/time" joins to a relative one
	var logs strings.Builder
	c := &timetrack.HTTP{Base: base, Client: srv.Client(), Clock: s.clock, BackoffBase: time.Second,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Throttled: func(code int, _ http.Header, _ []byte) (timetrack.Throttle, bool) {
			return timetrack.Throttle{Wait: 59*time.Minute + 50*time.Second, Why: "hourly quota spent"}, code == http.StatusPaymentRequired
		}}
	_, err := c.Get(context.Background(), "team/time", url.Values{"from": {"2026-11-01"}}, nil)
	var ae *timetrack.APIError
	if !errors.As(err, &ae) || ae.Path != "/team/time" || err.Error() != "GET /team/time: 404 Not Found: no such thing" {
		t.Errorf("error %v", err)
	}
	for _, want := range []string{`msg="hourly quota spent, waiting 59m50s" path=/team/time status=402 duration_ms=3590000`,
		`msg="time tracker read failed, retrying in `, `path=/team/time error="GET /team/time: 503 Service Unavailable: busy"`,
		`level=DEBUG msg="request failed" method=GET url="` + srv.URL + `/team/time?from=2026-11-01" status=404 body="no such thing"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
	if s.seen[0].URL.Path != "/team/time" {
		t.Errorf("requested %s", s.seen[0].URL)
	}
}

// A wait that would outlast the caller's deadline (validate --online gives
// each check one) ends the request at once with what the tracker said,
// instead of sleeping into the deadline.
func TestHTTPWaitPastDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer func(http.ResponseWriter)
		check  func(t *testing.T, err error)
	}{
		{"throttled", status(429, "slow down", "Retry-After", "3600"), func(t *testing.T, err error) {
			var rl *connectors.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != time.Hour || !strings.Contains(err.Error(), "slow down") {
				t.Errorf("err %v", err)
			}
		}},
		{"failing", status(503, "busy"), func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "giving up after 1 attempts") || !strings.Contains(err.Error(), "busy") {
				t.Errorf("err %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &script{answers: []func(http.ResponseWriter){tt.answer}, clock: vclock.NewVirtual(t0)}
			c := newHTTP(t, s)
			c.BackoffBase = time.Minute // every wait is 15 to 30 s
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Get(ctx, "time", nil, nil)
			tt.check(t, err)
			if len(s.seen) != 1 || s.clock.Now() != t0 {
				t.Errorf("%d requests, waited %v; want one request and no wait", len(s.seen), s.clock.Now().Sub(t0))
			}
		})
	}
}

// A pull waits out throttling answers as long as its deadline allows,
// never a fixed count of them (Everhour's storm of 429s used to fail the
// sync after 21), then fails saying the deadline ended it, with the
// tracker's last answer.
func TestHTTPThrottledPullWaitsUntilTheDeadline(t *testing.T) {
	t.Parallel()
	s := &script{answers: []func(http.ResponseWriter){status(429, "slow down", "Retry-After", "2")}, clock: vclock.NewVirtual(t0)}
	c := newHTTP(t, s)
	ctx, cancel := connectors.WithDeadline(context.Background(), t0, 10*time.Minute)
	defer cancel()
	_, err := c.Get(ctx, "time", nil, nil)
	var te *connectors.TimeoutError
	var rl *connectors.RateLimitError
	if !errors.As(err, &te) || te.Limit != connectors.LimitDeadline || !errors.As(err, &rl) {
		t.Fatalf("err %v, want the deadline wrapping the rate limit", err)
	}
	if want := "source deadline 10m reached: rate limited, retry after 2s: GET /api/time: 429 Too Many Requests: slow down"; err.Error() != want {
		t.Errorf("err %q\nwant %q", err, want)
	}
	// 10 minutes of 2 s waits: every Retry-After honoured, the last one
	// not started because it would end past the deadline.
	if len(s.seen) != 301 || s.clock.Now().Sub(t0) != 10*time.Minute {
		t.Errorf("%d requests over %v; want 301 over 10m", len(s.seen), s.clock.Now().Sub(t0))
	}

	// Once the storm passes, the same pull goes on.
	s2 := &script{answers: append(slices.Repeat([]func(http.ResponseWriter){status(429, "slow down", "Retry-After", "2")}, 40), status(200, `{}`)), clock: vclock.NewVirtual(t0)}
	c2 := newHTTP(t, s2)
	ctx2, cancel2 := connectors.WithDeadline(context.Background(), t0, 10*time.Minute)
	defer cancel2()
	if _, err := c2.Get(ctx2, "time", nil, nil); err != nil || c2.Stats().Throttled != 40 {
		t.Errorf("after 40 429s: err %v, %d throttled", err, c2.Stats().Throttled)
	}
}

// A server that takes the request and never answers costs two attempts of
// request_timeout, not five, and the error names the limit.
func TestHTTPHangingServerIsTriedTwice(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	c := &timetrack.HTTP{Base: base, Client: srv.Client(), Clock: vclock.NewVirtual(t0), Timeout: 50 * time.Millisecond}
	_, err := c.Get(context.Background(), "team/time", url.Values{"from": {"2026-01-01"}}, nil)
	var te *connectors.TimeoutError
	if !errors.As(err, &te) || te.Limit != connectors.LimitRequestTimeout {
		t.Fatalf("err %v, want the request timeout", err)
	}
	if want := "GET /team/time: giving up after 2 attempts: no answer within request_timeout 50ms"; err.Error() != want {
		t.Errorf("err %q\nwant %q", err, want)
	}
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}
