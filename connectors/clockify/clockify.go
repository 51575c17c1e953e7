package clockify

import (
	"context"
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
	KindName       = "clockify"
	DefaultBaseURL = "https://api.clockify.me/api"
	EnvHint        = "CLOCKIFY_TOKEN"
	// PageSize is asked of every list; a shorter page is the last.
	PageSize = 1000
	// Limit requests per Interval: well under Clockify's 50 a second.
	Limit    = 10
	Interval = time.Second
	maxPages = 100000
)

// Kind is the registry entry of the Clockify source.
func Kind() connectors.Kind {
	return timetrack.NewKind(timetrack.KindSpec{
		Name:    KindName,
		Doc:     "Clockify time entries of every member of a workspace (API v1; account is the workspace id)",
		BaseURL: DefaultBaseURL,
		EnvHint: EnvHint,
		Open: func(o *timetrack.Options, token string, env connectors.Env) (timetrack.Tracker, error) {
			return New(Config{BaseURL: o.BaseURL, Key: token, Workspace: o.Account, HTTPClient: env.HTTPClient, Log: env.Logger, Timeout: o.RequestTimeout})
		},
	})
}

// Config is what New needs.
type Config struct {
	BaseURL, Key string
	// Workspace is the workspace id; required.
	Workspace  string
	HTTPClient *http.Client
	Clock      vclock.Clock
	Log        *slog.Logger
	// Timeout bounds one attempt (the source's request_timeout; default
	// connectors.DefaultRequestTimeout).
	Timeout time.Duration
}

// Tracker reads one Clockify workspace.
type Tracker struct {
	http      *timetrack.HTTP
	workspace string
}

// New returns a tracker for cfg.
func New(cfg Config) (*Tracker, error) {
	ws := strings.TrimSpace(cfg.Workspace)
	if ws == "" {
		return nil, errors.New("account: set the Clockify workspace id (Workspace settings show it in the URL)")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("base_url %q is not an absolute URL", cfg.BaseURL)
	}
	h := http.Header{}
	h.Set("X-Api-Key", cfg.Key)
	h.Set("User-Agent", "karkas")
	return &Tracker{workspace: ws, http: &timetrack.HTTP{
		Base: base, Client: cfg.HTTPClient, Header: h, Clock: cfg.Clock,
		Max: Limit, Interval: Interval, Log: cfg.Log, Timeout: cfg.Timeout,
	}}, nil
}

// Check asks Clockify for the key's workspaces (GET /v1/workspaces): one
// request, which a wrong key fails with 401, and whose answer says
// whether the configured workspace is one of them.
func (t *Tracker) Check(ctx context.Context) error {
	var wss []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if _, err := t.http.Get(ctx, "v1/workspaces", nil, &wss); err != nil {
		return fmt.Errorf("asking Clockify for the key's workspaces: %w", err)
	}
	known := make([]string, 0, len(wss))
	for _, ws := range wss {
		if ws.ID == t.workspace {
			return nil
		}
		known = append(known, fmt.Sprintf("%s %q", ws.ID, ws.Name))
	}
	return fmt.Errorf("account: the key's user is not in Clockify workspace %s (its workspaces: %s)", t.workspace, strings.Join(known, ", "))
}

// HTTP returns the client, for tests to tune its waits and read its stats.
func (t *Tracker) HTTP() *timetrack.HTTP { return t.http }

type user struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Settings struct {
		TimeZone string `json:"timeZone"`
	} `json:"settings"`
}

// Entries lists every member's entries dated from through to in the
// member's own zone: the members first, then each one's entries.
func (t *Tracker) Entries(ctx context.Context, from, to time.Time, fn func(timetrack.Page) error) error {
	users, err := t.users(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := t.userEntries(ctx, u, from, to, fn); err != nil {
			return fmt.Errorf("entries of user %s: %w", u.ID, err)
		}
	}
	return nil
}

func (t *Tracker) users(ctx context.Context) ([]user, error) {
	var all []user
	for page := 1; page <= maxPages; page++ {
		var batch []user
		q := url.Values{"page": {strconv.Itoa(page)}, "page-size": {strconv.Itoa(PageSize)}}
		if _, err := t.http.Get(ctx, "v1/workspaces/"+url.PathEscape(t.workspace)+"/users", q, &batch); err != nil {
			return nil, fmt.Errorf("listing the workspace's users: %w", err)
		}
		all = append(all, batch...)
		if len(batch) < PageSize {
			return all, nil
		}
	}
	return nil, fmt.Errorf("clockify listed more than %d pages of users", maxPages)
}

// userEntries asks for the entries started between from's midnight and
// the end of to in the member's zone, so that a day is the member's day.
func (t *Tracker) userEntries(ctx context.Context, u user, from, to time.Time, fn func(timetrack.Page) error) error {
	zone := time.UTC
	if loc, err := time.LoadLocation(u.Settings.TimeZone); err == nil && u.Settings.TimeZone != "" {
		zone = loc
	}
	lo := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, zone)
	hi := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, zone).Add(-time.Second)
	path := "v1/workspaces/" + url.PathEscape(t.workspace) + "/user/" + url.PathEscape(u.ID) + "/time-entries"
	for page := 1; page <= maxPages; page++ {
		q := url.Values{
			"start":     {lo.UTC().Format("2006-01-02T15:04:05Z")},
			"end":       {hi.UTC().Format("2006-01-02T15:04:05Z")},
			"hydrated":  {"true"},
			"page":      {strconv.Itoa(page)},
			"page-size": {strconv.Itoa(PageSize)},
		}
		var batch []entry
		if _, err := t.http.Get(ctx, path, q, &batch); err != nil {
			return err
		}
		if err := fn(convertPage(batch, u, zone)); err != nil {
			return err
		}
		if len(batch) < PageSize {
			return nil
		}
	}
	return fmt.Errorf("clockify listed more than %d pages", maxPages)
}

type entry struct {
	ID           string `json:"id"`
	Description  string `json:"description"`
	UserID       string `json:"userId"`
	Billable     *bool  `json:"billable"`
	IsLocked     bool   `json:"isLocked"`
	TimeInterval struct {
		Start    string  `json:"start"`
		End      *string `json:"end"`
		Duration *string `json:"duration"`
	} `json:"timeInterval"`
	Project *struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		ClientName string `json:"clientName"`
	} `json:"project"`
	Task *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"task"`
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
}

func convertPage(in []entry, u user, zone *time.Location) timetrack.Page {
	var p timetrack.Page
	for _, e := range in {
		if e.TimeInterval.End == nil || *e.TimeInterval.End == "" {
			continue // in progress
		}
		where := "clockify time entry " + e.ID
		start, err := time.Parse(time.RFC3339, e.TimeInterval.Start)
		if err != nil {
			p.Problems = append(p.Problems, record.Problem{Where: where, Message: fmt.Sprintf("bad start %q skipped", e.TimeInterval.Start)})
			continue
		}
		var secs int64
		if e.TimeInterval.Duration != nil {
			if secs, err = ParseDuration(*e.TimeInterval.Duration); err != nil {
				p.Problems = append(p.Problems, record.Problem{Where: where, Message: err.Error() + "; entry skipped"})
				continue
			}
		} else if end, err := time.Parse(time.RFC3339, *e.TimeInterval.End); err == nil {
			secs = int64(end.Sub(start) / time.Second)
		}
		local := start.In(zone)
		r := record.TimeEntry{
			ExternalID: e.ID,
			PersonID:   cmpOr(e.UserID, u.ID), PersonName: u.Name, PersonEmail: u.Email,
			Date: local.Format(time.DateOnly), Start: &start, Seconds: secs,
			Billable: e.Billable, Note: e.Description, Locked: e.IsLocked,
		}
		if e.Project != nil {
			r.ProjectID, r.ProjectName, r.ClientName = e.Project.ID, e.Project.Name, e.Project.ClientName
		}
		if e.Task != nil {
			r.TaskID, r.TaskName = e.Task.ID, e.Task.Name
		}
		for _, tg := range e.Tags {
			r.Tags = append(r.Tags, tg.Name)
		}
		p.Entries = append(p.Entries, r)
	}
	return p
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ParseDuration reads an ISO-8601 duration as Clockify writes them
// ("PT1H30M", "PT45S", "P1DT2H", "PT1.5S") into whole seconds, rounding
// a fraction to the nearest. Weeks and days count 7 and 1 times 24 hours;
// years and months have no fixed length and are refused.
func ParseDuration(s string) (int64, error) {
	bad := func(why string) (int64, error) { return 0, fmt.Errorf("duration %q: %s", s, why) }
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return bad("not an ISO-8601 duration")
	}
	var total float64
	inTime := false
	seen := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return bad("two T separators")
			}
			inTime, rest = true, rest[1:]
			if rest == "" {
				return bad("nothing after T")
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return bad("a number without a unit")
		}
		n, err := strconv.ParseFloat(strings.Replace(rest[:i], ",", ".", 1), 64)
		if err != nil {
			return bad("bad number")
		}
		var unit float64
		switch u := rest[i]; {
		case !inTime && u == 'W':
			unit = 7 * 86400
		case !inTime && u == 'D':
			unit = 86400
		case inTime && u == 'H':
			unit = 3600
		case inTime && u == 'M':
			unit = 60
		case inTime && u == 'S':
			unit = 1
		default:
			return bad(fmt.Sprintf("unit %q not supported here", u))
		}
		total += n * unit
		seen = true
		rest = rest[i+1:]
	}
	if !seen {
		return bad("no amount")
	}
	return int64(total + 0.5), nil
}
