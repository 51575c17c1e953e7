package trello

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	adlio "github.com/adlio/trello"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/vclock"
)

// Client is karkas's own small client for Trello's REST API: the reads a
// pull makes and the few writes the push side needs, each returning the
// JSON types of types.go.
//
// The hot calls (the batched pull) do not go through
// github.com/adlio/trello. Its Client throttles every call to 8
// requests/s with a burst of 1 and cannot be told otherwise outside its
// unexported test mode, so it stands between a sync and the rate-limit
// floor Trello allows (100 requests per 10 s per token, 300 per key,
// shared by every board pulled at once); it does not retry a 429; and it
// sends the key and token in the query string, which Go's *url.Error
// prints into every transport error and so into logs. This client sends
// them only in the Authorization header, waits for room in a Budget
// shared by the process, and retries what is safe to retry. The calls
// where adlio's throttle costs nothing (reading boards, discover, the
// push side's writes, webhook registration) use adlio with this client
// as its transport (lib.go).
//
// Reads (GET) that fail with a 5xx, a timeout, a transport error or a
// truncated or unreadable body are retried with jittered exponential
// backoff, a bounded number of times. Writes are never retried blindly: a
// write that fails in a way that leaves its fate unknown returns a
// *WriteError saying whether the request may have reached Trello, and the
// caller (the push side, which marks what it writes) decides. A 429 is
// retried for both, after the window it names has passed: Trello refused
// the request, so it did nothing. Within a pull (connectors.WithDeadline)
// that goes on until the pull's deadline; elsewhere (a push, a check) the
// request gives up after a few with a *connectors.RateLimitError for its
// caller to schedule. An attempt without an answer within Timeout (the
// source's request_timeout) is tried once more only.
//
// Errors never hold the key or the token, and the client logs neither.
type Client struct {
	base     *url.URL
	httpc    *http.Client
	auth     string // the Authorization header
	token    string // for the one route that names it (a token's webhooks)
	secrets  []string
	tokenID  [32]byte
	budget   *Budget
	clock    Clock
	log      *slog.Logger
	timeout  time.Duration
	attempts int
	backBase time.Duration
	backMax  time.Duration
	requests atomic.Int64
	// libRequests counts the requests adlio sent through the client
	// (lib.go).
	libRequests atomic.Int64
}

// DefaultBaseURL is Trello's API root.
const DefaultBaseURL = "https://api.trello.com/1"

// MaxPage is the most items Trello returns per page of actions or cards.
const MaxPage = 1000

// ClientOptions configure a Client.
type ClientOptions struct {
	// BaseURL is the API root (DefaultBaseURL when empty); tests point it
	// at a fake.
	BaseURL string
	// HTTPClient sends the requests (http.DefaultClient when nil). Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Key and Token are the API key and the user token.
	Key, Token string
	// Budget is the rate-limit budget to share; nil is SharedBudget(Key),
	// the process-wide budget of the key. A client with its own Clock must
	// be given a Budget on that clock.
	Budget *Budget
	// Clock is the time source for backoff (the wall clock when nil).
	Clock Clock
	// Logger receives retries and rate-limit waits (discarded when nil).
	Logger *slog.Logger
	// Timeout bounds each attempt, the body read included (the source's
	// request_timeout; 30 s when 0).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of a read (5 when 0).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the backoff between read attempts:
	// base × 2^(attempt-1), at most max, the upper half jittered (1 s and
	// 30 s when 0).
	BackoffBase, BackoffMax time.Duration
}

// NewClient checks opts and returns a client.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Key == "" || opts.Token == "" {
		return nil, errors.New("trello client: key and token are required")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("trello client: base URL %q is not an absolute URL", opts.BaseURL)
	}
	if opts.Budget == nil {
		if opts.Clock != nil {
			return nil, errors.New("trello client: a client with its own clock needs a Budget on that clock")
		}
		opts.Budget = SharedBudget(opts.Key)
	}
	c := &Client{
		base:     base,
		httpc:    opts.HTTPClient,
		auth:     fmt.Sprintf(`OAuth oauth_consumer_key="%s", oauth_token="%s"`, url.PathEscape(opts.Key), url.PathEscape(opts.Token)),
		token:    opts.Token,
		secrets:  []string{opts.Key, opts.Token},
		tokenID:  sha256.Sum256([]byte(opts.Token)),
		budget:   opts.Budget,
		clock:    opts.Clock,
		log:      opts.Logger,
		timeout:  opts.Timeout,
		attempts: opts.MaxAttempts,
		backBase: opts.BackoffBase,
		backMax:  opts.BackoffMax,
	}
	if c.httpc == nil {
		c.httpc = http.DefaultClient
	}
	if c.clock == nil {
		c.clock = vclock.Real{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.attempts <= 0 {
		c.attempts = 5
	}
	if c.backBase <= 0 {
		c.backBase = time.Second
	}
	if c.backMax <= 0 {
		c.backMax = 30 * time.Second
	}
	return c, nil
}

// Requests is how many HTTP requests the client has sent, retries
// included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// ---- errors

// APIError is an error status Trello answered, other than 401 and 404
// (which are *UnauthorizedError and *NotFoundError).
type APIError struct {
	Method, Path string
	Status       int
	// Message is the body's text (Trello's error bodies are mostly plain
	// text), or the error and message of a JSON body, on one line cut to
	// connectors.BodyExcerpt characters.
	Message string
}

func (e *APIError) Error() string {
	return connectors.HTTPFailure(e.Method, e.Path, e.Status, e.Message)
}

// NotFoundError says Trello does not have what Path names, or no longer:
// a deleted board, card or comment. The pull marks the board as needing
// attention.
type NotFoundError struct {
	Method, Path, Message string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s: not found: %s", e.Method, e.Path, e.Message)
}

// UnauthorizedError says Trello refused the credentials (revoked or wrong
// token) or their access to what Path names. It wraps
// connectors.ErrUnauthorized: the source stays stopped until fixed.
type UnauthorizedError struct {
	Method, Path, Message string
}

func (e *UnauthorizedError) Error() string {
	return fmt.Sprintf("%s %s: unauthorized: %s", e.Method, e.Path, e.Message)
}

// Unwrap returns connectors.ErrUnauthorized.
func (e *UnauthorizedError) Unwrap() error { return connectors.ErrUnauthorized }

// WriteError is a write whose outcome is unknown. MayHaveReached is false
// only when the request certainly did not reach Trello (it was never
// fully sent); otherwise Trello may have carried it out, and the caller
// must look (for the marker it wrote) before trying again.
type WriteError struct {
	Method, Path   string
	MayHaveReached bool
	Err            error
}

func (e *WriteError) Error() string {
	fate := "did not reach Trello"
	if e.MayHaveReached {
		fate = "may have reached Trello"
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Method, e.Path, fate, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// ---- requests

// request is one call: a path under the base URL, a query, and for writes
// form values sent as the body (Trello reads POST and PUT parameters from
// either; a body keeps long comment text out of URLs and logs).
type request struct {
	method string
	path   []string
	query  url.Values
	form   url.Values
	routes int // routes carried by a /1/batch request
}

// display is the request's path for errors and logs, without the query:
// a /batch carries up to ten URLs in it (the debug log has them).
func (r request) display() string {
	return "/" + strings.Join(r.path, "/")
}

// outcome is one attempt's result.
type outcome struct {
	status int
	header http.Header
	body   []byte
	err    error // transport, timeout or body read
	wrote  bool  // the request was written out in full
}

// maxBody bounds a response body: a board's thousand cards with long
// descriptions stay far below it.
// A variable so that tests can lower it.
var maxBody int64 = 256 << 20

// do sends r, retrying as the Client's doc says, and decodes a 2xx body
// into out (when out is not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	read := r.method == http.MethodGet
	// Redacted: the webhooks of a token are listed under a path naming it.
	where := c.redact(r.display())
	n429, timeouts := 0, 0
	for attempt := 1; ; attempt++ {
		tk, err := c.budget.acquire(ctx, c.tokenID, r.routes)
		if err != nil {
			return c.fail(r, where, false, fmt.Errorf("waiting for rate-limit budget: %w", connectors.TimedOut(ctx, err)))
		}
		o := c.attempt(ctx, r, tk)
		if err := ctx.Err(); err != nil {
			return c.fail(r, where, o.wrote, connectors.TimedOut(ctx, err))
		}
		if o.status != 0 && (o.status < 200 || o.status >= 300) {
			connectors.LogFailure(ctx, c.log, r.method, c.redact(c.url(r).String()), o.status, []byte(c.redact(string(o.body))))
		}
		var retryErr error
		switch {
		case o.err != nil:
			retryErr = o.err
			if _, ok := errors.AsType[*connectors.TimeoutError](o.err); ok {
				timeouts++
			}
		case o.status >= 200 && o.status < 300:
			if out == nil {
				return nil
			}
			if raw, ok := out.(*json.RawMessage); ok && len(bytes.TrimSpace(o.body)) == 0 {
				*raw = json.RawMessage("null") // an empty 2xx body, for adlio's decoding (lib.go)
				return nil
			}
			if err := json.Unmarshal(o.body, out); err != nil {
				retryErr = fmt.Errorf("decoding response: %w", err)
				break
			}
			return nil
		case o.status == http.StatusTooManyRequests:
			apiErr := c.apiError(r, where, o)
			var body struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(o.body, &body)
			wait, giveUp := c.budget.refused(c.tokenID, body.Error)
			n429++
			rl := &connectors.RateLimitError{RetryAfter: wait, Err: apiErr}
			// A pull waits out every window until its deadline; a push
			// or a check hands the wait to its caller after a few.
			if err := connectors.WaitPasses(ctx, c.clock.Now().Add(wait), rl); err != nil {
				return err
			}
			if !connectors.HasDeadline(ctx) && (giveUp || n429 > 3) {
				return rl
			}
			c.log.Warn("trello rate limit hit, waiting for the next window", "error", apiErr.Error(), "duration_ms", wait.Milliseconds())
			attempt-- // a refused request costs no attempt
			continue
		case o.status == http.StatusUnauthorized:
			return &UnauthorizedError{Method: r.method, Path: where, Message: c.message(o)}
		case o.status == http.StatusNotFound:
			return &NotFoundError{Method: r.method, Path: where, Message: c.message(o)}
		case o.status >= 500:
			retryErr = c.apiError(r, where, o)
		default:
			return c.apiError(r, where, o)
		}
		if !read {
			// The status line arrived or the request was written: Trello
			// may have done it.
			return c.fail(r, where, o.wrote || o.status != 0, retryErr)
		}
		// A server that hangs once mostly hangs again: one more try.
		if attempt >= c.attempts || timeouts >= 2 {
			return fmt.Errorf("%s %s: giving up after %d attempts: %w", r.method, where, attempt, retryErr)
		}
		wait := c.backoff(attempt)
		if err := connectors.WaitPasses(ctx, c.clock.Now().Add(wait), fmt.Errorf("%s %s: giving up after %d attempts: %w", r.method, where, attempt, retryErr)); err != nil {
			return err
		}
		c.log.Warn("trello read failed, retrying", "error", connectors.Line(retryErr.Error()), "duration_ms", wait.Milliseconds())
		if err := c.clock.SleepUntil(ctx, c.clock.Now().Add(wait)); err != nil {
			return fmt.Errorf("%s %s: %w (after %v)", r.method, where, connectors.TimedOut(ctx, err), retryErr)
		}
	}
}

// fail builds the error of a request that will not be retried.
func (c *Client) fail(r request, where string, reached bool, err error) error {
	if r.method == http.MethodGet {
		return fmt.Errorf("%s %s: %w", r.method, where, err)
	}
	return &WriteError{Method: r.method, Path: where, MayHaveReached: reached, Err: err}
}

// attempt sends r once within the per-attempt timeout and reads the whole
// body, so that a connection dropped mid-body is this attempt's failure.
func (c *Client) attempt(ctx context.Context, r request, tk *ticket) (o outcome) {
	var header http.Header
	defer func() { tk.finish(header) }()
	actx, cancel := connectors.WithRequestTimeout(ctx, c.timeout)
	defer cancel()
	u := c.url(r)
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(actx, r.method, u.String(), body)
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c.requests.Add(1)
	resp, err := c.httpc.Do(req)
	if err != nil {
		return outcome{err: c.transportError(connectors.TimedOut(actx, err)), wrote: wrote.Load()}
	}
	defer resp.Body.Close()
	header = resp.Header
	o = outcome{status: resp.StatusCode, header: resp.Header, wrote: true}
	o.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		o.err = fmt.Errorf("reading %d response: %w", resp.StatusCode, c.transportError(connectors.TimedOut(actx, err)))
	case int64(len(o.body)) > maxBody:
		o.err = fmt.Errorf("response larger than %d bytes", maxBody)
	}
	return o
}

// url is where r goes.
func (c *Client) url(r request) *url.URL {
	segs := make([]string, len(r.path))
	for i, p := range r.path {
		segs[i] = url.PathEscape(p)
	}
	u := c.base.JoinPath(segs...)
	u.RawQuery = r.query.Encode()
	return u
}

// transportError drops the URL a *url.Error carries (it holds no
// credentials, but the query may be long) and takes out the credentials
// should anything below have put them in the text.
func (c *Client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if msg := err.Error(); c.redact(msg) != msg {
		return errors.New(c.redact(msg))
	}
	return err
}

func (c *Client) redact(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// message is a response body as an error message: the error and message of
// a JSON body, or the text of a plain one, cut to 200 bytes.
func (c *Client) message(o outcome) string {
	var j struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(o.body))
	if json.Unmarshal(o.body, &j) == nil && (j.Error != "" || j.Message != "") {
		msg = strings.TrimPrefix(j.Error+": "+j.Message, ": ")
	}
	return c.redact(connectors.Excerpt(msg, connectors.BodyExcerpt))
}

func (c *Client) apiError(r request, where string, o outcome) *APIError {
	return &APIError{Method: r.method, Path: where, Status: o.status, Message: c.message(o)}
}

// backoff is the wait before read attempt n+1: base × 2^(n-1) capped at
// max, the upper half random so that concurrent pulls spread out.
func (c *Client) backoff(n int) time.Duration {
	d := c.backBase << min(n-1, 20)
	if d > c.backMax || d <= 0 {
		d = c.backMax
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (c *Client) get(ctx context.Context, out any, q url.Values, path ...string) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: q}, out)
}

// ---- reads

// boardFields are the board fields Board asks for.
const boardFields = "name,desc,closed,url,shortUrl,shortLink,idOrganization,dateLastActivity"

// Boards returns the boards of the token's member; filter is Trello's
// (all, open, closed; empty is all). It goes through adlio (lib.go), into
// our Board.
func (c *Client) Boards(ctx context.Context, filter string) ([]Board, error) {
	args := adlio.Arguments{"fields": boardFields}
	if filter != "" {
		args["filter"] = filter
	}
	var out []Board
	if err := c.lib(ctx, func(lc *adlio.Client) error { return lc.Get("members/me/boards", args, &out) }); err != nil {
		return nil, fmt.Errorf("listing boards: %w", err)
	}
	return out, nil
}

// Board returns one board (without its arrays), through adlio.
func (c *Client) Board(ctx context.Context, id string) (Board, error) {
	var out Board
	err := c.lib(ctx, func(lc *adlio.Client) error {
		return lc.Get("boards/"+url.PathEscape(id), adlio.Arguments{"fields": boardFields}, &out)
	})
	if err != nil {
		return Board{}, fmt.Errorf("reading board %s: %w", id, err)
	}
	return out, nil
}

// Lists returns every list of a board, closed ones included (Trello's
// default is open only).
func (c *Client) Lists(ctx context.Context, boardID string) ([]List, error) {
	var out []List
	if err := c.get(ctx, &out, url.Values{"filter": {"all"}}, "boards", boardID, "lists"); err != nil {
		return nil, fmt.Errorf("reading lists of board %s: %w", boardID, err)
	}
	return out, nil
}

// Labels returns a board's labels, up to Trello's maximum of 1000 (its
// default is 50).
func (c *Client) Labels(ctx context.Context, boardID string) ([]Label, error) {
	var out []Label
	if err := c.get(ctx, &out, url.Values{"limit": {strconv.Itoa(MaxPage)}}, "boards", boardID, "labels"); err != nil {
		return nil, fmt.Errorf("reading labels of board %s: %w", boardID, err)
	}
	return out, nil
}

// Members returns a board's members.
func (c *Client) Members(ctx context.Context, boardID string) ([]Member, error) {
	var out []Member
	q := url.Values{"fields": {"username,fullName,initials,avatarHash"}}
	if err := c.get(ctx, &out, q, "boards", boardID, "members"); err != nil {
		return nil, fmt.Errorf("reading members of board %s: %w", boardID, err)
	}
	return out, nil
}

// Checklists returns every checklist on a board's cards, with items.
func (c *Client) Checklists(ctx context.Context, boardID string) ([]Checklist, error) {
	var out []Checklist
	if err := c.get(ctx, &out, nil, "boards", boardID, "checklists"); err != nil {
		return nil, fmt.Errorf("reading checklists of board %s: %w", boardID, err)
	}
	return out, nil
}

// CustomField is a board's custom field definition.
type CustomField struct {
	ID      string              `json:"id"`
	IDModel string              `json:"idModel"`
	Name    string              `json:"name"`
	Type    string              `json:"type"` // text, number, date, checkbox, list
	Pos     float64             `json:"pos"`
	Options []CustomFieldOption `json:"options"`
}

// CustomFieldOption is one choice of a list field.
type CustomFieldOption struct {
	ID    string `json:"id"`
	Value struct {
		Text string `json:"text"`
	} `json:"value"`
	Color string  `json:"color"`
	Pos   float64 `json:"pos"`
}

// CustomFieldItem is a card's value of a custom field: IDValue names the
// option of a list field, Value holds the others ({"text": …},
// {"number": "…"}, {"date": …}, {"checked": "true"}).
type CustomFieldItem struct {
	ID            string            `json:"id"`
	IDCustomField string            `json:"idCustomField"`
	IDModel       string            `json:"idModel"`
	IDValue       string            `json:"idValue"`
	Value         map[string]string `json:"value"`
}

// CustomFields returns a board's custom field definitions (none on boards
// without the power-up).
func (c *Client) CustomFields(ctx context.Context, boardID string) ([]CustomField, error) {
	var out []CustomField
	if err := c.get(ctx, &out, nil, "boards", boardID, "customFields"); err != nil {
		return nil, fmt.Errorf("reading custom fields of board %s: %w", boardID, err)
	}
	return out, nil
}

// FullCard is a card with the arrays the cards route nests on request.
type FullCard struct {
	Card
	Checklists []Checklist `json:"checklists"`
}

// CardsOptions narrow Cards.
type CardsOptions struct {
	// Filter is Trello's card filter (all, open, closed, visible); empty
	// is all, archived cards included.
	Filter string
	// Since returns only cards created after this card id or date.
	Since string
	// CustomFieldItems and Checklists nest those arrays in each card.
	CustomFieldItems, Checklists bool
	// Fields limits the card fields (all when empty).
	Fields string
}

// Cards returns a board's cards, paging by before=<smallest id seen> with
// limit=1000 until a page comes back short: one request for a board of up
// to 999 cards. A card created during the paging has a larger id than any
// seen and is not returned; the next sync's actions name it.
func (c *Client) Cards(ctx context.Context, boardID string, opts CardsOptions) ([]FullCard, error) {
	filter := opts.Filter
	if filter == "" {
		filter = "all"
	}
	q := url.Values{"filter": {filter}, "limit": {strconv.Itoa(MaxPage)}}
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	if opts.CustomFieldItems {
		q.Set("customFieldItems", "true")
	}
	if opts.Checklists {
		q.Set("checklists", "all")
	}
	if opts.Fields != "" {
		q.Set("fields", opts.Fields)
	}
	var out []FullCard
	seen := map[string]bool{}
	for {
		var page []FullCard
		if err := c.get(ctx, &page, q, "boards", boardID, "cards"); err != nil {
			return nil, fmt.Errorf("reading cards of board %s: %w", boardID, err)
		}
		smallest := ""
		for _, cd := range page {
			if smallest == "" || cd.ID < smallest {
				smallest = cd.ID
			}
			if !seen[cd.ID] {
				seen[cd.ID] = true
				out = append(out, cd)
			}
		}
		if len(page) < MaxPage {
			return out, nil
		}
		if before := q.Get("before"); before != "" && smallest >= before {
			return nil, fmt.Errorf("reading cards of board %s: page before %s holds no older card", boardID, before)
		}
		q.Set("before", smallest)
	}
}

// ActionsQuery selects actions of a board or a card.
type ActionsQuery struct {
	// BoardID or CardID: the board's or the card's actions.
	BoardID, CardID string
	// Filter is Trello's action filter, e.g. "commentCard,updateCard:idList";
	// empty takes the route's default (all for a board,
	// commentCard,updateCard:idList for a card).
	Filter string
	// Since and Before are exclusive bounds: action ids or dates.
	Since, Before string
	// Limit is the page size, at most 1000 (1000 when 0).
	Limit int
}

func (q ActionsQuery) request() (request, error) {
	var path []string
	switch {
	case q.BoardID != "" && q.CardID == "":
		path = []string{"boards", q.BoardID, "actions"}
	case q.CardID != "" && q.BoardID == "":
		path = []string{"cards", q.CardID, "actions"}
	default:
		return request{}, errors.New("actions query needs a board id or a card id")
	}
	limit := q.Limit
	if limit == 0 {
		limit = MaxPage
	}
	if limit < 0 || limit > MaxPage {
		return request{}, fmt.Errorf("actions limit %d is outside 1..%d", q.Limit, MaxPage)
	}
	v := url.Values{"limit": {strconv.Itoa(limit)}}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Before != "" {
		v.Set("before", q.Before)
	}
	return request{method: http.MethodGet, path: path, query: v}, nil
}

// Actions returns one page of actions, newest first.
func (c *Client) Actions(ctx context.Context, q ActionsQuery) ([]Action, error) {
	r, err := q.request()
	if err != nil {
		return nil, err
	}
	var out []Action
	if err := c.do(ctx, r, &out); err != nil {
		return nil, fmt.Errorf("reading actions: %w", err)
	}
	return out, nil
}

// EachActionPage calls fn with each page of actions, newest first, paging
// with before=<oldest id of the previous page> (never by offset) until a
// page comes back shorter than the limit. With q.Since set, that is every
// action after Since.
func (c *Client) EachActionPage(ctx context.Context, q ActionsQuery, fn func([]Action) error) error {
	limit := q.Limit
	if limit == 0 {
		limit = MaxPage
	}
	for {
		page, err := c.Actions(ctx, q)
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if len(page) < limit {
			return nil
		}
		oldest := page[len(page)-1].ID
		if q.Before != "" && oldest >= q.Before {
			return fmt.Errorf("reading actions: page before %s holds no older action", q.Before)
		}
		q.Before = oldest
	}
}

// AllActions collects every page of EachActionPage, newest first.
func (c *Client) AllActions(ctx context.Context, q ActionsQuery) ([]Action, error) {
	var out []Action
	err := c.EachActionPage(ctx, q, func(page []Action) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// CardActions returns every action of a card matching filter, newest first;
// the push side reads filter=commentCard to find the marker of a comment
// it may already have posted.
func (c *Client) CardActions(ctx context.Context, cardID, filter string) ([]Action, error) {
	return c.AllActions(ctx, ActionsQuery{CardID: cardID, Filter: filter})
}

// ---- batch

// BatchResult is one route's answer inside a batch.
type BatchResult struct {
	// URL is the route as requested.
	URL string
	// Status is the route's status: 200, or the key of a failed element.
	Status int
	// Body is the route's JSON answer when Status is 200.
	Body json.RawMessage
	// Message is a failed route's message.
	Message string
}

// Decode decodes a successful route's body into v, or returns the error the
// route would have returned on its own (*NotFoundError,
// *UnauthorizedError, *APIError).
func (r BatchResult) Decode(v any) error {
	switch r.Status {
	case http.StatusOK:
		if err := json.Unmarshal(r.Body, v); err != nil {
			return fmt.Errorf("batch route %s: decoding: %w", r.URL, err)
		}
		return nil
	case http.StatusNotFound:
		return &NotFoundError{Method: http.MethodGet, Path: r.URL, Message: r.Message}
	case http.StatusUnauthorized:
		return &UnauthorizedError{Method: http.MethodGet, Path: r.URL, Message: r.Message}
	}
	return &APIError{Method: http.MethodGet, Path: r.URL, Status: r.Status, Message: r.Message}
}

// BatchURL is a route for Batch: the path without /1 and its query encoded
// so that its commas are escaped and cannot split the batch's list.
func BatchURL(q url.Values, path ...string) string {
	segs := make([]string, len(path))
	for i, p := range path {
		segs[i] = url.PathEscape(p)
	}
	u := "/" + strings.Join(segs, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// maxBatch is how many routes Trello answers in one batch.
const maxBatch = 10

// Batch sends GET routes (made with BatchURL) through /1/batch, ten per
// request, and returns their answers in order. A batch is retried as a
// read; each route's own failure is in its result.
//
// How Trello counts a batch against the rate limits is not documented;
// the budget counts it as one request and the rate-limit headers of the
// response correct that if Trello counts more.
func (c *Client) Batch(ctx context.Context, urls []string) ([]BatchResult, error) {
	for _, u := range urls {
		if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "/1/") || strings.Contains(u, ",") {
			return nil, fmt.Errorf("batch route %q: want a path without /1 and without raw commas (use BatchURL)", u)
		}
	}
	out := make([]BatchResult, 0, len(urls))
	for start := 0; start < len(urls); start += maxBatch {
		chunk := urls[start:min(start+maxBatch, len(urls))]
		var raw []map[string]json.RawMessage
		q := url.Values{"urls": {strings.Join(chunk, ",")}}
		r := request{method: http.MethodGet, path: []string{"batch"}, query: q, routes: len(chunk)}
		if err := c.do(ctx, r, &raw); err != nil {
			return nil, fmt.Errorf("batch of %d routes: %w", len(chunk), err)
		}
		if len(raw) != len(chunk) {
			return nil, fmt.Errorf("batch of %d routes: got %d answers", len(chunk), len(raw))
		}
		for i, el := range raw {
			out = append(out, c.batchResult(chunk[i], el))
		}
	}
	return out, nil
}

// batchResult reads one element: {"200": body}, or a failure keyed by its
// status whose value is a message string or an object with a message (the
// failure shape is not documented; both are read).
func (c *Client) batchResult(u string, el map[string]json.RawMessage) BatchResult {
	if body, ok := el["200"]; ok {
		return BatchResult{URL: u, Status: http.StatusOK, Body: body}
	}
	r := BatchResult{URL: u, Status: http.StatusBadGateway, Message: "batch element without a status"}
	for k, v := range el {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		r.Status = n
		var s string
		var o struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(v, &s) == nil:
			r.Message = s
		case json.Unmarshal(v, &o) == nil && o.Message != "":
			r.Message = o.Message
		default:
			r.Message = string(v)
		}
		r.Message = c.redact(r.Message)
		break
	}
	return r
}

// ---- writes

func (c *Client) write(ctx context.Context, method string, out any, form url.Values, path ...string) error {
	return c.do(ctx, request{method: method, path: path, form: form}, out)
}

// AddComment posts a comment on a card as the token's member, through
// adlio, and returns the new commentCard action. A *WriteError means the
// comment may or may not exist: look for it before posting again.
func (c *Client) AddComment(ctx context.Context, cardID, text string) (Action, error) {
	var out Action
	err := c.lib(ctx, func(lc *adlio.Client) error {
		card := &adlio.Card{ID: cardID}
		card.SetClient(lc)
		a, err := card.AddComment(text)
		if err == nil {
			out = fromLibAction(a)
		}
		return err
	})
	if err != nil {
		return Action{}, fmt.Errorf("commenting on card %s: %w", cardID, err)
	}
	return out, nil
}

// AddLabel puts a board label on a card, through adlio, and returns the
// card's label ids. Trello answers 400 when the card has the label
// already.
func (c *Client) AddLabel(ctx context.Context, cardID, labelID string) ([]string, error) {
	card := &adlio.Card{ID: cardID}
	err := c.lib(ctx, func(lc *adlio.Client) error {
		card.SetClient(lc)
		return card.AddIDLabel(labelID)
	})
	if err != nil {
		return nil, fmt.Errorf("adding label %s to card %s: %w", labelID, cardID, err)
	}
	return card.IDLabels, nil
}

// RemoveLabel takes a label off a card, through adlio.
func (c *Client) RemoveLabel(ctx context.Context, cardID, labelID string) error {
	err := c.lib(ctx, func(lc *adlio.Client) error {
		card := &adlio.Card{ID: cardID}
		card.SetClient(lc)
		return card.RemoveIDLabel(labelID, &adlio.Label{})
	})
	if err != nil {
		return fmt.Errorf("removing label %s from card %s: %w", labelID, cardID, err)
	}
	return nil
}

// CreateLabel creates a label on a board, through adlio (POST
// /boards/{id}/labels); an empty color makes a label without one.
func (c *Client) CreateLabel(ctx context.Context, boardID, name, color string) (Label, error) {
	l := &adlio.Label{Name: name, Color: color}
	err := c.lib(ctx, func(lc *adlio.Client) error {
		b := &adlio.Board{ID: boardID}
		b.SetClient(lc)
		return b.CreateLabel(l)
	})
	if err != nil {
		return Label{}, fmt.Errorf("creating label %q on board %s: %w", name, boardID, err)
	}
	return Label{ID: l.ID, IDBoard: l.IDBoard, Name: l.Name, Color: l.Color}, nil
}
