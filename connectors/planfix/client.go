package planfix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
)

// The API's limits (https://planfix.com/help/REST_API_Introduction): one
// request a second, at most 100 items a list answers, 20 000 to 100 000
// requests a day by plan, the daily quota's remainder in
// X-RateLimit-Remaining.
const (
	PageSize = 100
	Limit    = 1
	Interval = time.Second
	// maxPages bounds one listing: 100 000 pages is ten million items.
	maxPages = 100000
	// dailyWait is how long a spent daily quota is waited for before
	// asking again: the header's count is refreshed about every ten
	// minutes (the help) [unverified: how soon a spent quota refills].
	dailyWait = 10 * time.Minute
)

// Client is a client of one PlanFix account's REST API v2. There is no
// Go SDK for it (github.com/whatcrm/go-planfix covers the routes with
// models that contradict the spec), so it is written here on the JSON
// client the time trackers share (timetrack.HTTP: the Bearer header only,
// pacing to the limit, 429 and Retry-After waited out, reads retried).
// Lists are POSTs that only query, so they are retried like reads; the
// one write (a comment) is tried once, and the pusher looks for its
// marker before trying again.
type Client struct {
	http *timetrack.HTTP
}

// ClientConfig is what NewClient needs.
type ClientConfig struct {
	// BaseURL is the API root, https://{account}.planfix.com/rest.
	BaseURL string
	Token   string
	// HTTPClient sends the requests (nil: one without an overall
	// timeout; each attempt has Timeout).
	HTTPClient *http.Client
	Clock      vclock.Clock
	Log        *slog.Logger
	Timeout    time.Duration
	// Attempts and BackoffBase shape the retries of reads (timetrack.HTTP's
	// defaults when 0).
	Attempts    int
	BackoffBase time.Duration
	// Limit requests per Interval (default PlanFix's one a second).
	Limit    int
	Interval time.Duration
}

// NewClient checks cfg and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("base_url %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("planfix client: token is required")
	}
	if cfg.Limit == 0 {
		cfg.Limit, cfg.Interval = Limit, Interval
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+cfg.Token)
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "karkas")
	return &Client{http: &timetrack.HTTP{Base: base, Client: cfg.HTTPClient, Header: h, Clock: cfg.Clock, Max: cfg.Limit,
		Interval: cfg.Interval, Log: cfg.Log, Timeout: cfg.Timeout, Throttled: throttled, Attempts: cfg.Attempts, BackoffBase: cfg.BackoffBase}}, nil
}

// throttled reads PlanFix's "slow down" other than 429: error code 22, a
// spent daily quota (the help's error codes; its HTTP status is
// [unverified], so any status is read).
func throttled(status int, h http.Header, body []byte) (timetrack.Throttle, bool) {
	if status >= 200 && status < 300 || !bytes.Contains(body, []byte(`"code"`)) {
		return timetrack.Throttle{}, false
	}
	var e Envelope
	if json.Unmarshal(body, &e) == nil && e.Code == CodeDailyLimit {
		return timetrack.Throttle{Wait: dailyWait, Why: "PlanFix's daily request quota is spent"}, true
	}
	return timetrack.Throttle{}, false
}

// Requests is how many requests the client sent, retries included.
func (c *Client) Requests() int64 { return c.http.Stats().Requests }

// call sends one request (a write once, see Client) and decodes the
// answer's envelope and key (the array or object under it) into out. A
// "fail" envelope in a 2xx answer is an error too; code 22 there is a
// rate limit.
func (c *Client) call(ctx context.Context, write bool, method, path string, q url.Values, body any, key string, out any) error {
	send := c.http.Do
	if write {
		send = c.http.Write
	}
	var raw json.RawMessage
	if _, err := send(ctx, method, path, q, body, &raw); err != nil {
		return err
	}
	var env Envelope
	_ = json.Unmarshal(raw, &env)
	if err := env.Failed(); err != nil {
		if env.Code == CodeDailyLimit {
			return &connectors.RateLimitError{RetryAfter: dailyWait, Err: fmt.Errorf("%s /%s: %w", method, path, err)}
		}
		return fmt.Errorf("%s /%s: %w", method, path, err)
	}
	if key == "" || out == nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("%s /%s: decoding the answer: %w", method, path, err)
	}
	v, ok := fields[key]
	if !ok {
		return fmt.Errorf("%s /%s: the answer has no %q", method, path, key)
	}
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("%s /%s: decoding %s: %w", method, path, key, err)
	}
	return nil
}

// list pages through a */list route (offset and pageSize in the body, at
// most 100 a page, no total: a short page is the last) and calls fn with
// each page.
func list[T any](ctx context.Context, c *Client, path string, req ListRequest, key string, fn func([]T) error) error {
	req.PageSize = PageSize
	for page := 0; page < maxPages; page++ {
		req.Offset = page * PageSize
		var items []T
		if err := c.call(ctx, false, http.MethodPost, path, nil, req, key, &items); err != nil {
			return err
		}
		if len(items) > 0 {
			if err := fn(items); err != nil {
				return err
			}
		}
		if len(items) < PageSize {
			return nil
		}
	}
	return fmt.Errorf("POST /%s: more than %d pages", path, maxPages)
}

// all collects every item of a */list route.
func all[T any](ctx context.Context, c *Client, path string, req ListRequest, key string) ([]T, error) {
	var out []T
	err := list(ctx, c, path, req, key, func(p []T) error { out = append(out, p...); return nil })
	return out, err
}

// Ping is GET /ping, the cheapest authenticated request (spec 1.3.3): a
// wrong token gets 401 {"result":"fail","code":1,"error":"Access denied,
// unknown token"}.
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, false, http.MethodGet, "ping", nil, nil, "", nil)
}

// Users lists the account's employees, ids prefixed ("user:5").
func (c *Client) Users(ctx context.Context) ([]User, error) {
	return all[User](ctx, c, "user/list", ListRequest{Fields: UserFields, PrefixedID: true}, "users")
}

// Contacts lists the account's contacts (people, not companies), ids
// prefixed ("contact:12").
func (c *Client) Contacts(ctx context.Context) ([]User, error) {
	no := false
	return all[User](ctx, c, "contact/list", ListRequest{Fields: ContactFields, PrefixedID: true, IsCompany: &no}, "contacts")
}

// Projects lists the account's projects.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	return all[Project](ctx, c, "project/list", ListRequest{Fields: ProjectFields}, "projects")
}

// Statuses lists the statuses of every task process, by id.
func (c *Client) Statuses(ctx context.Context) (map[string]Status, error) {
	var procs []Entity
	if err := c.call(ctx, false, http.MethodGet, "process/task", url.Values{"fields": {"id,name"}}, nil, "processes", &procs); err != nil {
		return nil, err
	}
	out := map[string]Status{}
	for _, p := range procs {
		var sts []Status
		path := "process/task/" + url.PathEscape(idString(p.ID)) + "/statuses"
		if err := c.call(ctx, false, http.MethodGet, path, url.Values{"fields": {"id,name,isActive"}}, nil, "statuses", &sts); err != nil {
			return nil, err
		}
		for _, s := range sts {
			out[idString(s.ID)] = s
		}
	}
	return out, nil
}

// Tasks calls fn with each page of a project's tasks, only those changed
// or commented after the day since names when since is set (filter 79,
// read in the token's employee's zone, so callers ask from a day
// earlier).
func (c *Client) Tasks(ctx context.Context, project string, since time.Time, fn func([]Task) error) error {
	filters := []Filter{{Type: FilterProject, Operator: "equal", Value: json.Number(project)}}
	if !since.IsZero() {
		filters = append(filters, Filter{Type: FilterChangedOrComented, Operator: "gt",
			Value: DateValue{DateType: "otherDate", DateValue: since.Format("02-01-2006")}})
	}
	return list(ctx, c, "task/list", ListRequest{Fields: TaskFields, Filters: filters}, "tasks", fn)
}

// Comments lists every comment of a task, oldest first, status changes
// and deleted ones included (typeList All).
func (c *Client) Comments(ctx context.Context, task string) ([]Comment, error) {
	return all[Comment](ctx, c, "task/"+url.PathEscape(task)+"/comments/list",
		ListRequest{Fields: CommentFields, TypeList: "All", ResultOrd: []Order{{Field: "dateTime", Direction: "Asc"}, {Field: "id", Direction: "Asc"}}},
		"comments")
}

// AddComment posts a comment (HTML) on a task and returns its id; it is
// tried once (201 {"result":"success","id":N} in the spec).
func (c *Client) AddComment(ctx context.Context, task, description string) (string, error) {
	var id json.Number
	err := c.call(ctx, true, http.MethodPost, "task/"+url.PathEscape(task)+"/comments/", nil, map[string]string{"description": description}, "id", &id)
	return string(id), err
}
