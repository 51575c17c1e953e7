package timetrack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/vclock"
)

// HTTP is the JSON-over-HTTP client the trackers share: it sets the
// tracker's auth headers (never logged, never in a URL), keeps under a
// known rate limit, waits out throttling answers, and retries reads that
// failed for transient reasons. Trackers only read, so every request may
// be retried. The vendors' SDKs are either missing for Go or wrap one
// tracker each with their own retry rules; this small client is written
// by hand so that all four behave the same under limits and faults.
type HTTP struct {
	// Base is the API root; request paths are joined to it.
	Base *url.URL
	// Client sends requests (nil: a client with no overall timeout; each
	// attempt has Timeout).
	Client *http.Client
	// Header is set on every request: auth, User-Agent, Accept.
	Header http.Header
	// Clock waits (nil: the wall clock).
	Clock vclock.Clock
	// Max requests per Interval, counted as a sliding log; zero Max is
	// no limit.
	Max      int
	Interval time.Duration
	// Attempts bounds the tries of one request for transient failures
	// (default 5); throttling answers do not count.
	Attempts int
	// MaxThrottled bounds the throttling answers one request may get
	// before the pull gives up with a RateLimitError (default 20).
	MaxThrottled int
	// Timeout bounds one attempt (default 30s).
	Timeout time.Duration
	// BackoffBase is the first retry's mean wait (default 1s), doubling
	// up to 30s, with full jitter.
	BackoffBase time.Duration
	// Throttled says whether an answer other than 429 means "slow down",
	// how long to wait and why (Toggl's 402 when its hourly quota is
	// spent).
	Throttled func(status int, h http.Header, body []byte) (Throttle, bool)
	// Log gets retries and waits.
	Log *slog.Logger

	mu   sync.Mutex
	sent []time.Time

	requests, throttled atomic.Int64
}

// Throttle is a tracker's own "slow down" answer: how long to wait (0:
// Retry-After, or a full Interval) and why, in a few words for the log
// ("hourly quota spent").
type Throttle struct {
	Wait time.Duration
	Why  string
}

// Stats are what a client did: requests sent (every attempt) and
// throttling answers received.
type Stats struct{ Requests, Throttled int64 }

// Stats returns the counts so far.
func (c *HTTP) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Throttled: c.throttled.Load()}
}

// APIError is an answer the client does not retry: 4xx other than
// throttling and auth, or a transient failure that outlasted the attempts.
type APIError struct {
	Method, Path string
	Status       int
	Body         string // the start of the body
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

func (c *HTTP) clock() vclock.Clock {
	if c.Clock == nil {
		return vclock.Real{}
	}
	return c.Clock
}

func (c *HTTP) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// pace waits until the sliding log has room and records a request.
func (c *HTTP) pace(ctx context.Context) error {
	if c.Max <= 0 {
		return nil
	}
	for {
		c.mu.Lock()
		now := c.clock().Now()
		cut := 0
		for cut < len(c.sent) && !c.sent[cut].After(now.Add(-c.Interval)) {
			cut++
		}
		c.sent = c.sent[cut:]
		if len(c.sent) < c.Max {
			c.sent = append(c.sent, now)
			c.mu.Unlock()
			return nil
		}
		wake := c.sent[0].Add(c.Interval)
		c.mu.Unlock()
		if err := c.clock().SleepUntil(ctx, wake); err != nil {
			return err
		}
	}
}

// maxBody bounds a response body.
// A variable so that tests can lower it.
var maxBody int64 = 64 << 20

// Get reads path (joined to Base) with query q and decodes the JSON answer
// into out; it returns the answer's headers (for paging by header).
func (c *HTTP) Get(ctx context.Context, path string, q url.Values, out any) (http.Header, error) {
	return c.Do(ctx, http.MethodGet, path, q, nil, out)
}

// Do sends a read: GET, or a POST that only queries (a report search),
// with body marshalled as JSON when not nil. Such a request is safe to
// repeat, so it is retried like a GET. A path that is a full URL (a
// links.next of the answer) is used as is.
func (c *HTTP) Do(ctx context.Context, method, path string, q url.Values, body, out any) (http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request: %w", method, path, err)
		}
	}
	var u *url.URL
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		var err error
		if u, err = url.Parse(path); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if u.Scheme != c.Base.Scheme || u.Host != c.Base.Host {
			// The auth headers go only where the API lives.
			return nil, fmt.Errorf("%s %s: a link to another host than %s", method, u.Redacted(), c.Base.Host)
		}
		if q != nil {
			u.RawQuery = q.Encode()
		}
	} else {
		u = c.Base.JoinPath(path)
		u.RawQuery = q.Encode()
	}
	// A base without a path joins to a relative one ("team/time"); the
	// request line gets its slash anyway, logs and errors get it here.
	logPath := "/" + strings.TrimPrefix(u.EscapedPath(), "/")
	where := logPath
	if u.RawQuery != "" {
		where += "?" + u.RawQuery
	}
	attempts := cmp.Or(c.Attempts, 5)
	maxThrottled := cmp.Or(c.MaxThrottled, 20)
	throttled := 0
	for attempt := 1; ; {
		if err := c.pace(ctx); err != nil {
			return nil, err
		}
		status, h, body, err := c.once(ctx, method, u.String(), payload)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var retry error
		switch {
		case err != nil:
			retry = err
		case status >= 200 && status < 300:
			if out == nil {
				return h, nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				retry = fmt.Errorf("decoding the answer: %w", err)
				break
			}
			return h, nil
		case status == http.StatusTooManyRequests || c.isThrottled(status, h, body):
			wait, why := c.throttleWait(status, h, body)
			c.throttled.Add(1)
			throttled++
			if throttled > maxThrottled || pastDeadline(ctx, wait) {
				return nil, &connectors.RateLimitError{RetryAfter: wait, Err: &APIError{Method: method, Path: where, Status: status, Body: snippet(body)}}
			}
			c.log().Warn(why+", waiting "+readable(wait), "path", logPath, "status", status, "duration_ms", wait.Milliseconds())
			if err := c.clock().SleepUntil(ctx, c.clock().Now().Add(wait)); err != nil {
				return nil, err
			}
			continue
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return nil, fmt.Errorf("%s %s: %d %s: %s: %w", method, where, status, http.StatusText(status), snippet(body), connectors.ErrUnauthorized)
		case status >= 500:
			retry = &APIError{Method: method, Path: where, Status: status, Body: snippet(body)}
		default:
			return nil, &APIError{Method: method, Path: where, Status: status, Body: snippet(body)}
		}
		wait := c.backoff(attempt)
		if attempt >= attempts || pastDeadline(ctx, wait) {
			return nil, fmt.Errorf("%s %s: giving up after %d attempts: %w", method, where, attempt, retry)
		}
		c.log().Warn("time tracker read failed, retrying in "+readable(wait), "path", logPath, "error", retry, "duration_ms", wait.Milliseconds())
		if err := c.clock().SleepUntil(ctx, c.clock().Now().Add(wait)); err != nil {
			return nil, err
		}
		attempt++
	}
}

func (c *HTTP) isThrottled(status int, h http.Header, body []byte) bool {
	if c.Throttled == nil {
		return false
	}
	_, ok := c.Throttled(status, h, body)
	return ok
}

// throttleWait is the tracker's own rule, Retry-After (seconds or an HTTP
// date), or a full Interval (10 s when none is set); and why, for the log.
func (c *HTTP) throttleWait(status int, h http.Header, body []byte) (time.Duration, string) {
	why := "time tracker asked to slow down"
	if c.Throttled != nil {
		if th, ok := c.Throttled(status, h, body); ok {
			why = cmp.Or(th.Why, why)
			if th.Wait > 0 {
				return th.Wait, why
			}
		}
	}
	if ra := h.Get("Retry-After"); ra != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && n >= 0 {
			return max(time.Duration(n)*time.Second, 100*time.Millisecond), why
		}
		if t, err := http.ParseTime(ra); err == nil {
			return max(t.Sub(c.clock().Now()), 100*time.Millisecond), why
		}
	}
	return cmp.Or(c.Interval, 10*time.Second), why
}

// pastDeadline says a wait would outlast ctx: better to fail now, with
// what the tracker said, than to sleep into the deadline and report only
// that it passed. (A deadline is wall time; so is this comparison, also
// under a virtual clock.)
func pastDeadline(ctx context.Context, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < wait
}

// readable is a wait for a human: whole seconds from a second up
// ("59m50s"), milliseconds below.
func readable(d time.Duration) string {
	if d >= time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

func (c *HTTP) backoff(attempt int) time.Duration {
	base := cmp.Or(c.BackoffBase, time.Second)
	d := base << (attempt - 1)
	if d > 30*time.Second || d <= 0 {
		d = 30 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

// once sends one attempt and reads the whole body.
func (c *HTTP) once(ctx context.Context, method, u string, payload []byte) (int, http.Header, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, cmp.Or(c.Timeout, 30*time.Second))
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	c.requests.Add(1)
	resp, err := hc.Do(req)
	if err != nil {
		// The URL holds no secret (auth is in headers), but strip it
		// anyway: the error says enough with the path.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(body)) > maxBody {
		return 0, nil, nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
