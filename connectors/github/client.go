package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/vclock"
)

// DefaultPointsPerMinute is the pace requests keep: GitHub's secondary
// limit allows 900 points a minute per account (a GET 1, a write 5); a
// margin is left for the account's other clients.
const DefaultPointsPerMinute = 800

// Client is go-github's client over karkas's transport (see transport):
// tokens, rate limits, retries and conditional requests. The pull and the
// push share one, and so its budgets.
type Client struct {
	gh *gh.Client
	tr *transport
}

// ClientOptions configure a Client.
type ClientOptions struct {
	// BaseURL is a GitHub Enterprise Server's root (the API under
	// /api/v3/); empty is github.com.
	BaseURL string
	// HTTPClient's transport sends the requests (http.DefaultTransport
	// when nil); its Timeout is not used, see Timeout.
	HTTPClient *http.Client
	// Tokens are the tokens to use; requests spread over them.
	Tokens []string
	// Clock is the time source for waits (the wall clock when nil).
	Clock vclock.Clock
	// Logger receives retries and rate-limit waits (discarded when nil).
	Logger *slog.Logger
	// Timeout bounds each attempt, the body read included (the source's
	// request_timeout; 30 s when 0).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of a read (5 when 0).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the waits between read attempts
	// (1 s and 30 s when 0).
	BackoffBase, BackoffMax time.Duration
	// PointsPerMinute paces requests (DefaultPointsPerMinute when 0,
	// none when negative).
	PointsPerMinute int
}

// NewClient checks opts and returns a client.
func NewClient(opts ClientOptions) (*Client, error) {
	if len(opts.Tokens) == 0 {
		return nil, errors.New("github client: at least one token is required")
	}
	for i, t := range opts.Tokens {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("github client: token %d is empty", i)
		}
	}
	var base http.RoundTripper
	if opts.HTTPClient != nil {
		base = opts.HTTPClient.Transport
	}
	clock := opts.Clock
	if clock == nil {
		clock = vclock.Real{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := newTransport(base, opts.Tokens, clock, log)
	if opts.Timeout > 0 {
		tr.timeout = opts.Timeout
	}
	if opts.MaxAttempts > 0 {
		tr.attempts = opts.MaxAttempts
	}
	if opts.BackoffBase > 0 {
		tr.backBase = opts.BackoffBase
	}
	if opts.BackoffMax > 0 {
		tr.backMax = opts.BackoffMax
	}
	switch {
	case opts.PointsPerMinute > 0:
		tr.pace.limit = opts.PointsPerMinute
	case opts.PointsPerMinute < 0:
		tr.pace.limit = 0
	}
	// No overall timeout: a request may wait out a rate limit for most of
	// an hour; each attempt has its own (Timeout).
	c := gh.NewClient(&http.Client{Transport: tr})
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("github client: base URL %q is not an absolute URL", opts.BaseURL)
		}
		if c, err = c.WithEnterpriseURLs(opts.BaseURL, opts.BaseURL); err != nil {
			return nil, fmt.Errorf("github client: base URL %q: %w", opts.BaseURL, err)
		}
	}
	c.UserAgent = "karkas"
	return &Client{gh: c, tr: tr}, nil
}

// GitHub is the go-github client, for calls the source does not wrap.
func (c *Client) GitHub() *gh.Client { return c.gh }

// Requests is how many HTTP requests the client sent, retries included.
func (c *Client) Requests() int64 { return c.tr.requests.Load() }

// NotModified is how many of them GitHub answered 304.
func (c *Client) NotModified() int64 { return c.tr.notModified.Load() }

// RateLimited is how many were refused by a rate limit and waited out.
func (c *Client) RateLimited() int64 { return c.tr.refusals.Load() }

// shortError is an error of go-github said in one short line; it unwraps
// to the whole error, so errors.As still finds an *gh.ErrorResponse, a
// rate limit or a timeout in it.
type shortError struct {
	line string
	err  error
}

func (e *shortError) Error() string { return e.line }
func (e *shortError) Unwrap() error { return e.err }

// short says err without the whole URL go-github and net/http put in it
// (a listing's since, page and per_page): method, path, status and an
// excerpt of GitHub's message. The transport logs the whole URL and body
// at debug level.
func short(err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.Request != nil {
		req := er.Response.Request
		return &shortError{line: connectors.HTTPFailure(req.Method, req.URL.Path, er.Response.StatusCode, er.Message), err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		path := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			path = u.Path
		}
		line := ue.Err.Error()
		if !strings.Contains(line, path) { // a refusal names its request already
			line = connectors.Request(strings.ToUpper(ue.Op), path) + ": " + line
		}
		return &shortError{line: line, err: err}
	}
	return err
}
