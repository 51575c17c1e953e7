package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/vclock"
)

// transport is the http.RoundTripper under go-github: it owns
// authentication, GitHub's rate limits, retries and conditional requests,
// so that go-github sees only final answers.
//
// Why not go-github's own limit handling: v60 keeps one rate state per
// Client and refuses calls locally, by the wall clock (time.Now), once it
// saw Remaining 0 or a secondary limit. Behind one Client sit several
// tokens here, each with its own budget, and tests and benchmarks run on a
// virtual clock; its state would be wrong in both cases. v60 also does not
// treat 429 as a rate limit. So the transport reads the rate headers
// itself and takes X-RateLimit-Remaining and X-RateLimit-Reset off the
// answers it hands up, which leaves go-github nothing to refuse on.
//
// Per request:
//
//   - a token is chosen: the one the request's repository sticks to (so
//     that its conditional requests meet the ETags that token got), unless
//     that one is spent, then the one with most left; when all are spent,
//     the request waits for the first reset;
//   - requests are paced to PointsPerMinute (a GET costs 1 point, a write
//     5), below GitHub's secondary limit of 900;
//   - If-None-Match is set from the context (withETag);
//   - a 403 or 429 is read as GitHub documents it: Retry-After present,
//     wait that long; X-RateLimit-Remaining 0, the token is spent until its
//     reset (another token takes over, or the request waits); a secondary
//     limit message (or a 429) without either, wait a minute, doubling on
//     each repeat. Every request pauses meanwhile: the secondary limit is
//     the account's. Within a pull (connectors.WithDeadline) refusals are
//     waited out until the pull's deadline, which then ends the request
//     with a *connectors.TimeoutError wrapping the *connectors.RateLimitError;
//     elsewhere (a push, a check) it gives up after maxSecondary refusals
//     in a row with the RateLimitError. A 403 that is none of these is a
//     permission error and is handed up untouched;
//   - a GET failing with a transport error, a 5xx, a timeout or a
//     truncated body is retried with jittered backoff, up to attempts
//     times; one without an answer within timeout (request_timeout) only
//     twice, as a server that hangs once mostly hangs again. Writes are never retried after they may have reached GitHub;
//     a refusal by a rate limit did nothing, so it is retried;
//   - a 401 ends the request with an *UnauthorizedError naming which token
//     (by position, never by value).
type transport struct {
	tokens   []*tokenState
	clock    vclock.Clock
	log      *slog.Logger
	timeout  time.Duration
	attempts int
	backBase time.Duration
	backMax  time.Duration
	// secondaryBase is the first wait after a secondary refusal that names
	// none; maxSecondary bounds refusals in a row.
	secondaryBase time.Duration
	maxSecondary  int

	mu    sync.Mutex
	pause time.Time // no request before this: a secondary limit was hit
	pace  pacer

	requests    atomic.Int64
	notModified atomic.Int64
	refusals    atomic.Int64
}

// tokenState is one token and what its last answer said of its budget.
type tokenState struct {
	index int
	rt    http.RoundTripper
	// Guarded by transport.mu.
	known     bool
	remaining int
	reset     time.Time
}

// pacer keeps the points spent in the last minute.
type pacer struct {
	limit  int
	at     []time.Time
	points []int
	sum    int
}

// wait returns how long to wait before spending cost points at now, or 0
// after spending them.
func (p *pacer) take(now time.Time, cost int) time.Duration {
	if p.limit <= 0 {
		return 0
	}
	cut := 0
	for cut < len(p.at) && !p.at[cut].After(now.Add(-time.Minute)) {
		p.sum -= p.points[cut]
		cut++
	}
	p.at, p.points = p.at[cut:], p.points[cut:]
	if p.sum+cost > p.limit && len(p.at) > 0 {
		return p.at[0].Add(time.Minute).Sub(now)
	}
	p.at, p.points = append(p.at, now), append(p.points, cost)
	p.sum += cost
	return 0
}

type ctxKey int

const (
	etagKey ctxKey = iota
	stickKey
)

// withETag asks for the request to be conditional on etag.
func withETag(ctx context.Context, etag string) context.Context {
	if etag == "" {
		return ctx
	}
	return context.WithValue(ctx, etagKey, etag)
}

// withStick makes the request prefer the token key picks, so that a
// repository's requests go out with one token while it has budget.
func withStick(ctx context.Context, key int64) context.Context {
	return context.WithValue(ctx, stickKey, key)
}

// UnauthorizedError says GitHub refused a token ("Bad credentials": wrong,
// expired or revoked). It wraps connectors.ErrUnauthorized: the source
// stays stopped until the token is fixed.
type UnauthorizedError struct {
	// Token is the token's position among the configured ones, from 0.
	Token   int
	Message string
}

func (e *UnauthorizedError) Error() string {
	return fmt.Sprintf("GitHub refused token %d of the configured ones: %s", e.Token, e.Message)
}

// Unwrap returns connectors.ErrUnauthorized.
func (e *UnauthorizedError) Unwrap() error { return connectors.ErrUnauthorized }

func newTransport(base http.RoundTripper, tokens []string, clock vclock.Clock, log *slog.Logger) *transport {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{clock: clock, log: log, timeout: 30 * time.Second, attempts: 5, backBase: time.Second,
		backMax: 30 * time.Second, secondaryBase: time.Minute, maxSecondary: 6}
	t.pace.limit = DefaultPointsPerMinute
	for i, tok := range tokens {
		src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})
		t.tokens = append(t.tokens, &tokenState{index: i, rt: &oauth2.Transport{Source: src, Base: base}})
	}
	return t
}

// maxBody bounds an answer: a page of 100 issues with long bodies stays
// far below it.
// A variable so that tests can lower it.
var maxBody int64 = 64 << 20

// RoundTrip sends req as the type's documentation says.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	read := req.Method == http.MethodGet || req.Method == http.MethodHead
	cost := 1
	if !read {
		cost = 5
	}
	stick, _ := ctx.Value(stickKey).(int64)
	etag, _ := ctx.Value(etagKey).(string)
	secondary, primary, timeouts := 0, 0, 0
	// Within a pull (connectors.WithDeadline) every refusal is waited out
	// until the pull's deadline; elsewhere (a push, a check) a few are,
	// then the caller gets the wait to schedule.
	inPull := connectors.HasDeadline(ctx)
	for attempt := 1; ; attempt++ {
		tk, err := t.pick(ctx, stick, cost)
		if err != nil {
			return nil, connectors.TimedOut(ctx, err)
		}
		r2 := req.Clone(ctx)
		if req.Body != nil && req.GetBody != nil {
			if r2.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		if etag != "" {
			r2.Header.Set("If-None-Match", etag)
		}
		resp, body, err := t.send(ctx, tk, r2)
		if err != nil {
			if ctx.Err() != nil {
				return nil, connectors.TimedOut(ctx, ctx.Err())
			}
			if !read {
				return nil, err // it may have reached GitHub: the caller looks before trying again
			}
			if _, ok := errors.AsType[*connectors.TimeoutError](err); ok {
				timeouts++
			}
			// A server that hangs once mostly hangs again: one more try.
			if attempt >= t.attempts || timeouts >= 2 {
				return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
			}
			if err := t.backoff(ctx, attempt, err); err != nil {
				return nil, err
			}
			continue
		}
		t.observe(tk, resp)
		if resp.StatusCode >= 400 {
			connectors.LogFailure(ctx, t.log, req.Method, req.URL.String(), resp.StatusCode, body)
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return nil, &UnauthorizedError{Token: tk.index, Message: errorMessage(body)}
		case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
			wait, kind := t.refusal(resp, body, secondary)
			switch kind {
			case refusedPrimary:
				primary++
				t.mu.Lock()
				if now := t.clock.Now(); !tk.reset.After(now) {
					// Refused although our clock says the hour has
					// reset: the clocks differ. Give GitHub's a minute.
					tk.known, tk.remaining, tk.reset = true, 0, now.Add(time.Minute)
				}
				t.mu.Unlock()
				rl := refused(req, resp, body, wait)
				if err := connectors.WaitPasses(ctx, t.clock.Now().Add(wait), rl); err != nil {
					return nil, err
				}
				if !inPull && primary > len(t.tokens)+2 {
					return nil, rl
				}
				t.refusals.Add(1)
				t.log.Warn("github hourly limit spent on a token, moving to another or waiting", "duration_ms", wait.Milliseconds())
				attempt--
				continue
			case refusedSecondary:
				secondary++
				t.refusals.Add(1)
				rl := refused(req, resp, body, wait)
				if err := connectors.WaitPasses(ctx, t.clock.Now().Add(wait), rl); err != nil {
					return nil, err
				}
				if !inPull && secondary > t.maxSecondary {
					return nil, rl
				}
				t.log.Warn("github secondary rate limit, pausing", "duration_ms", wait.Milliseconds())
				t.mu.Lock()
				if until := t.clock.Now().Add(wait); until.After(t.pause) {
					t.pause = until
				}
				t.mu.Unlock()
				attempt--
				continue
			}
			// A permission error: handed up as it came.
		case resp.StatusCode >= 500 && read && attempt < t.attempts:
			if err := t.backoff(ctx, attempt, errors.New(connectors.HTTPFailure(req.Method, req.URL.Path, resp.StatusCode, errorMessage(body)))); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode == http.StatusNotModified:
			t.notModified.Add(1)
		}
		resp.Header.Del("X-RateLimit-Remaining")
		resp.Header.Del("X-RateLimit-Reset")
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
}

// refused is a rate-limit refusal as an error: one line, and the wait.
func refused(req *http.Request, resp *http.Response, body []byte, wait time.Duration) *connectors.RateLimitError {
	return &connectors.RateLimitError{RetryAfter: wait, Err: errors.New(connectors.HTTPFailure(req.Method, req.URL.Path, resp.StatusCode, errorMessage(body)))}
}

// send makes one attempt within the per-attempt timeout and reads the
// whole body, so that a connection dropped mid-body fails the attempt.
func (t *transport) send(ctx context.Context, tk *tokenState, req *http.Request) (*http.Response, []byte, error) {
	actx, cancel := connectors.WithRequestTimeout(ctx, t.timeout)
	defer cancel()
	t.requests.Add(1)
	resp, err := tk.rt.RoundTrip(req.WithContext(actx))
	if err != nil {
		return nil, nil, connectors.TimedOut(actx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("reading a %d answer: %w", resp.StatusCode, connectors.TimedOut(actx, err))
	case int64(len(body)) > maxBody:
		return nil, nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return resp, body, nil
}

func (t *transport) backoff(ctx context.Context, attempt int, cause error) error {
	d := t.backBase << min(attempt-1, 20)
	if d > t.backMax || d <= 0 {
		d = t.backMax
	}
	d = d/2 + rand.N(d/2+1)
	if err := connectors.WaitPasses(ctx, t.clock.Now().Add(d), cause); err != nil {
		return err
	}
	t.log.Warn("github read failed, retrying", "error", connectors.Line(cause.Error()), "duration_ms", d.Milliseconds())
	if err := t.clock.SleepUntil(ctx, t.clock.Now().Add(d)); err != nil {
		return fmt.Errorf("%w (after %v)", connectors.TimedOut(ctx, err), cause)
	}
	return nil
}

// pick returns the token to send with, after any wait the limits ask for.
func (t *transport) pick(ctx context.Context, stick int64, cost int) (*tokenState, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t.mu.Lock()
		now := t.clock.Now()
		if now.Before(t.pause) {
			until := t.pause
			t.mu.Unlock()
			if err := t.clock.SleepUntil(ctx, until); err != nil {
				return nil, err
			}
			continue
		}
		var best *tokenState
		usable := func(tk *tokenState) bool {
			if tk.known && !now.Before(tk.reset) {
				tk.known = false // a new window
			}
			return !tk.known || tk.remaining > 0
		}
		if pref := t.tokens[int(uint64(stick)%uint64(len(t.tokens)))]; usable(pref) {
			best = pref
		} else {
			for _, tk := range t.tokens {
				if usable(tk) && (best == nil || best.known && (!tk.known || tk.remaining > best.remaining)) {
					best = tk
				}
			}
		}
		if best == nil {
			first := t.tokens[0].reset
			for _, tk := range t.tokens[1:] {
				if tk.reset.Before(first) {
					first = tk.reset
				}
			}
			t.mu.Unlock()
			spent := &connectors.RateLimitError{RetryAfter: first.Sub(now), Err: errors.New("github hourly limit spent on every token")}
			if err := connectors.WaitPasses(ctx, first, spent); err != nil {
				return nil, err
			}
			t.log.Warn("github hourly limit spent on every token, waiting for the reset", "duration_ms", first.Sub(now).Milliseconds())
			if err := t.clock.SleepUntil(ctx, first); err != nil {
				return nil, err
			}
			continue
		}
		if wait := t.pace.take(now, cost); wait > 0 {
			t.mu.Unlock()
			if err := t.clock.SleepUntil(ctx, now.Add(wait)); err != nil {
				return nil, err
			}
			continue
		}
		if best.known {
			best.remaining-- // spoken for; the answer's header corrects it
		}
		t.mu.Unlock()
		return best, nil
	}
}

// observe takes a token's budget from an answer's headers.
func (t *transport) observe(tk *tokenState, resp *http.Response) {
	rem, err1 := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	t.mu.Lock()
	tk.known, tk.remaining, tk.reset = true, rem, time.Unix(reset, 0)
	t.mu.Unlock()
}

type refusalKind int

const (
	refusedNot refusalKind = iota
	refusedPrimary
	refusedSecondary
)

// refusal reads a 403 or 429 as GitHub's documentation says to, and
// returns how long to wait.
func (t *transport) refusal(resp *http.Response, body []byte, secondarySoFar int) (time.Duration, refusalKind) {
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			return max(time.Duration(s)*time.Second, time.Second), refusedSecondary
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
		if err == nil {
			return max(time.Unix(reset, 0).Sub(t.clock.Now()), 0), refusedPrimary
		}
		return time.Minute, refusedPrimary
	}
	msg := strings.ToLower(errorMessage(body))
	var doc struct {
		URL string `json:"documentation_url"`
	}
	_ = json.Unmarshal(body, &doc)
	if resp.StatusCode == http.StatusTooManyRequests || strings.Contains(msg, "secondary rate limit") ||
		strings.Contains(msg, "abuse") || strings.Contains(doc.URL, "secondary-rate-limits") {
		return t.secondaryBase << min(secondarySoFar, 10), refusedSecondary
	}
	return 0, refusedNot
}

// errorMessage is the message of GitHub's JSON error body, or the body's
// start when it is not JSON.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return connectors.Excerpt(string(body), connectors.BodyExcerpt)
}
