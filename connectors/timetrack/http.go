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
	// (default 5); throttling answers do not count, and an attempt that
	// got no answer within Timeout is tried once more only: a server
	// that hangs once mostly hangs again.
	Attempts int
	// MaxThrottled bounds the throttling answers one request may get
	// outside a pull (a check; default 20). A pull (ctx from
	// connectors.WithDeadline) waits them out until its deadline.
	MaxThrottled int
	// Timeout bounds one attempt (default
	// connectors.DefaultRequestTimeout): the source's request_timeout.
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
	Body         string // the start of the body (the whole one is logged at debug level)
}

func (e *APIError) Error() string {
	return connectors.HTTPFailure(e.Method, e.Path, e.Status, e.Body)
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
	return c.do(ctx, cmp.Or(c.Attempts, 5), method, path, q, body, out)
}

// Write sends a request that must not be repeated blindly (a new
// comment): one attempt, whatever Attempts says; only a throttling answer,
// which means the request was refused and not carried out, is waited out
// and sent again. A failed write may have been carried out: the caller
// looks before writing again.
func (c *HTTP) Write(ctx context.Context, method, path string, q url.Values, body, out any) (http.Header, error) {
	return c.do(ctx, 1, method, path, q, body, out)
}

func (c *HTTP) do(ctx context.Context, attempts int, method, path string, q url.Values, body, out any) (http.Header, error) {
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
			return nil, fmt.Errorf("%s %s: a link to another host than %s", method, u.Host+u.EscapedPath(), c.Base.Host)
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
	// Neither shows the query (a page cursor, a date range): the debug
	// log has the whole URL.
	where := "/" + strings.TrimPrefix(u.EscapedPath(), "/")
	maxThrottled := cmp.Or(c.MaxThrottled, 20)
	throttled, timeouts := 0, 0
	for attempt := 1; ; {
		if err := c.pace(ctx); err != nil {
			return nil, connectors.TimedOut(ctx, err)
		}
		status, h, body, err := c.once(ctx, method, u.String(), payload)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", method, where, connectors.TimedOut(ctx, ctx.Err()))
		}
		if err == nil && (status < 200 || status >= 300) {
			connectors.LogFailure(ctx, c.log(), method, u.String(), status, body)
		}
		var retry error
		switch {
		case err != nil:
			retry = err
			if _, ok := errors.AsType[*connectors.TimeoutError](err); ok {
				timeouts++
			}
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
			rl := &connectors.RateLimitError{RetryAfter: wait, Err: &APIError{Method: method, Path: where, Status: status, Body: snippet(body)}}
			if err := c.mayWait(ctx, wait, rl); err != nil {
				return nil, err
			}
			if !connectors.HasDeadline(ctx) && throttled > maxThrottled {
				return nil, rl
			}
			c.log().Warn(why+", waiting "+readable(wait), "path", where, "status", status, "duration_ms", wait.Milliseconds())
			if err := c.clock().SleepUntil(ctx, c.clock().Now().Add(wait)); err != nil {
				return nil, connectors.TimedOut(ctx, err)
			}
			continue
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return nil, fmt.Errorf("%s: %w", connectors.HTTPFailure(method, where, status, string(body)), connectors.ErrUnauthorized)
		case status >= 500:
			retry = &APIError{Method: method, Path: where, Status: status, Body: snippet(body)}
		default:
			return nil, &APIError{Method: method, Path: where, Status: status, Body: snippet(body)}
		}
		if attempt >= attempts || timeouts >= 2 {
			return nil, fmt.Errorf("%s %s: giving up after %d attempts: %w", method, where, attempt, retry)
		}
		wait := c.backoff(attempt)
		if err := c.mayWait(ctx, wait, fmt.Errorf("%s %s: giving up after %d attempts: %w", method, where, attempt, retry)); err != nil {
			return nil, err
		}
		c.log().Warn("time tracker read failed, retrying in "+readable(wait), "path", where, "error", connectors.Line(retry.Error()), "duration_ms", wait.Milliseconds())
		if err := c.clock().SleepUntil(ctx, c.clock().Now().Add(wait)); err != nil {
			return nil, connectors.TimedOut(ctx, err)
		}
		attempt++
	}
}

// mayWait returns why, or the pull's deadline wrapping it, when a wait
// would outlast the pull: its deadline on the client's clock (which a
// test may run virtually), or ctx's on the wall clock. Better to fail now,
// with what the tracker said, than to sleep into the deadline and report
// only that it passed.
func (c *HTTP) mayWait(ctx context.Context, wait time.Duration, why error) error {
	if err := connectors.WaitPasses(ctx, c.clock().Now().Add(wait), why); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return why
	}
	return nil
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
	actx, cancel := connectors.WithRequestTimeout(ctx, c.Timeout)
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
		return 0, nil, nil, connectors.TimedOut(actx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", connectors.TimedOut(actx, err))
	}
	if int64(len(body)) > maxBody {
		return 0, nil, nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

func snippet(b []byte) string { return connectors.Excerpt(string(b), connectors.BodyExcerpt) }
