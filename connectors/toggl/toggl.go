package toggl

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

// Registry names and defaults.
const (
	KindName       = "toggl"
	DefaultBaseURL = "https://api.track.toggl.com"
	EnvHint        = "TOGGL_TOKEN"
	// PageSize is the rows asked for per report page.
	PageSize = 50
	// QuotaWait is how long a 402 is waited out when it does not say when
	// the quota resets.
	QuotaWait = 5 * time.Minute
	// DefaultDeadline is the source's default deadline: longer than
	// connectors.DefaultDeadline, so that a sync outlasts the hour until
	// a spent quota resets.
	DefaultDeadline = 2 * time.Hour
	maxPages        = 100000
)

// Kind is the registry entry of the Toggl Track source.
func Kind() connectors.Kind {
	return timetrack.NewKind(timetrack.KindSpec{
		Name:    KindName,
		Doc:     "Toggl Track time entries of a whole workspace (Reports API v3; account is the workspace id)",
		BaseURL: DefaultBaseURL,
		EnvHint: EnvHint,
		// A spent hourly quota is waited out once within a sync.
		Deadline: DefaultDeadline,
		Open: func(o *timetrack.Options, token string, env connectors.Env) (timetrack.Tracker, error) {
			return New(Config{BaseURL: o.BaseURL, Token: token, Workspace: o.Account, HTTPClient: env.HTTPClient, Log: env.Logger, Timeout: o.RequestTimeout})
		},
	})
}

// Config is what New needs.
type Config struct {
	BaseURL, Token string
	// Workspace is the numeric workspace id; required.
	Workspace  string
	HTTPClient *http.Client
	Clock      vclock.Clock
	Log        *slog.Logger
	// Timeout bounds one attempt (the source's request_timeout; default
	// connectors.DefaultRequestTimeout).
	Timeout time.Duration
}

// Tracker reads one Toggl Track workspace.
type Tracker struct {
	http      *timetrack.HTTP
	workspace string
}

// New returns a tracker for cfg.
func New(cfg Config) (*Tracker, error) {
	ws := strings.TrimSpace(cfg.Workspace)
	if ws == "" {
		return nil, errors.New("account: set the Toggl workspace id (the number in the workspace's settings URL)")
	}
	if _, err := strconv.ParseInt(ws, 10, 64); err != nil {
		return nil, fmt.Errorf("account: the Toggl workspace id is a number, got %q", ws)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("base_url %q is not an absolute URL", cfg.BaseURL)
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.Token+":api_token")))
	h.Set("User-Agent", "karkas")
	return &Tracker{workspace: ws, http: &timetrack.HTTP{
		Base: base, Client: cfg.HTTPClient, Header: h, Clock: cfg.Clock,
		// Toggl asks for about one request per second; the hourly quota
		// is the real bound and answers 402.
		Max: 1, Interval: time.Second,
		Throttled: quotaSpent, Log: cfg.Log, Timeout: cfg.Timeout,
	}}, nil
}

// quotaSpent reads a 402 as "slow down": wait until the quota resets.
func quotaSpent(status int, h http.Header, _ []byte) (timetrack.Throttle, bool) {
	if status != http.StatusPaymentRequired {
		return timetrack.Throttle{}, false
	}
	th := timetrack.Throttle{Wait: QuotaWait, Why: "toggl's hourly request quota is spent"}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Toggl-Quota-Resets-In"))); err == nil && n >= 0 {
		// A second more, so the retry lands in the new hour.
		th.Wait = time.Duration(n+1) * time.Second
	}
	return th, true
}

// Check asks Toggl for the token's workspaces (GET /api/v9/me/workspaces):
// one request, which a wrong token fails with 403, and whose answer says
// whether the configured workspace is one of them.
func (t *Tracker) Check(ctx context.Context) error {
	var wss []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if _, err := t.http.Get(ctx, "api/v9/me/workspaces", nil, &wss); err != nil {
		return fmt.Errorf("asking Toggl for the token's workspaces: %w", err)
	}
	known := make([]string, 0, len(wss))
	for _, ws := range wss {
		if strconv.FormatInt(ws.ID, 10) == t.workspace {
			return nil
		}
		known = append(known, fmt.Sprintf("%d %q", ws.ID, ws.Name))
	}
	return fmt.Errorf("account: the token's user is not in Toggl workspace %s (its workspaces: %s)", t.workspace, strings.Join(known, ", "))
}

// HTTP returns the client, for tests to tune its waits and read its stats.
func (t *Tracker) HTTP() *timetrack.HTTP { return t.http }

type searchBody struct {
	StartDate      string `json:"start_date"`
	EndDate        string `json:"end_date"`
	PageSize       int    `json:"page_size"`
	OrderBy        string `json:"order_by"`
	OrderDir       string `json:"order_dir"`
	EnrichResponse bool   `json:"enrich_response"`
	Grouped        bool   `json:"grouped"`
	FirstID        *int64 `json:"first_id,omitempty"`
	FirstRowNumber *int   `json:"first_row_number,omitempty"`
}

// Entries lists the workspace's entries dated from through to, one report
// page at a time, following X-Next-ID and X-Next-Row-Number.
func (t *Tracker) Entries(ctx context.Context, from, to time.Time, fn func(timetrack.Page) error) error {
	body := searchBody{
		StartDate: from.Format(time.DateOnly), EndDate: to.Format(time.DateOnly), PageSize: PageSize,
		OrderBy: "date", OrderDir: "ASC", EnrichResponse: true,
	}
	path := "reports/api/v3/workspace/" + t.workspace + "/search/time_entries"
	for range maxPages {
		var rows []row
		h, err := t.http.Do(ctx, http.MethodPost, path, nil, body, &rows)
		if err != nil {
			return err
		}
		if err := fn(convertRows(rows)); err != nil {
			return err
		}
		next := h.Get("X-Next-Row-Number")
		if next == "" {
			return nil
		}
		n, err := strconv.Atoi(next)
		if err != nil || (body.FirstRowNumber != nil && n <= *body.FirstRowNumber) {
			return fmt.Errorf("toggl gave a bad next row number %q", next)
		}
		body.FirstRowNumber = &n
		body.FirstID = nil
		if id, err := strconv.ParseInt(h.Get("X-Next-ID"), 10, 64); err == nil {
			body.FirstID = &id
		}
	}
	return fmt.Errorf("toggl listed more than %d pages", maxPages)
}

// row is a detailed report row; with grouped false it holds one entry, but
// every entry of time_entries is taken.
type row struct {
	UserID      int64    `json:"user_id"`
	Username    string   `json:"username"`
	UserEmail   string   `json:"user_email"`
	ProjectID   *int64   `json:"project_id"`
	ProjectName *string  `json:"project_name"`
	ClientName  *string  `json:"client_name"`
	TaskID      *int64   `json:"task_id"`
	TaskName    *string  `json:"task_name"`
	Description string   `json:"description"`
	TagNames    []string `json:"tag_names"`
	Billable    *bool    `json:"billable"`
	Entries     []struct {
		ID      int64   `json:"id"`
		Seconds int64   `json:"seconds"`
		Start   string  `json:"start"`
		Stop    *string `json:"stop"`
	} `json:"time_entries"`
}

func convertRows(rows []row) timetrack.Page {
	var p timetrack.Page
	for _, r := range rows {
		for _, e := range r.Entries {
			if e.Seconds < 0 || e.Stop == nil {
				continue // a running timer
			}
			start, err := time.Parse(time.RFC3339, e.Start)
			if err != nil {
				p.Problems = append(p.Problems, record.Problem{Where: "toggl time entry " + strconv.FormatInt(e.ID, 10),
					Message: fmt.Sprintf("bad start %q skipped", e.Start)})
				continue
			}
			te := record.TimeEntry{
				ExternalID: strconv.FormatInt(e.ID, 10),
				PersonID:   strconv.FormatInt(r.UserID, 10),
				PersonName: r.Username, PersonEmail: r.UserEmail,
				// The report shows start in the member's zone: its date
				// is the day Toggl files the entry under.
				Date:     start.Format(time.DateOnly),
				Start:    &start,
				Seconds:  e.Seconds,
				Billable: r.Billable,
				Note:     r.Description,
				Tags:     r.TagNames,
			}
			if e.ID == 0 {
				te.ExternalID = ""
			}
			if r.ProjectID != nil {
				te.ProjectID = strconv.FormatInt(*r.ProjectID, 10)
			}
			if r.TaskID != nil {
				te.TaskID = strconv.FormatInt(*r.TaskID, 10)
			}
			te.ProjectName, te.ClientName, te.TaskName = deref(r.ProjectName), deref(r.ClientName), deref(r.TaskName)
			p.Entries = append(p.Entries, te)
		}
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
