package harvest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	KindName       = "harvest"
	DefaultBaseURL = "https://api.harvestapp.com/v2"
	EnvHint        = "HARVEST_TOKEN"
	// UserAgent names karkas to Harvest, which requires one.
	UserAgent = "karkas time sync (https://github.com/karkas/karkas)"
	// Limit requests per Interval: Harvest's general API limit.
	Limit    = 100
	Interval = 15 * time.Second
	perPage  = 2000
	// maxPages bounds one listing, against a links.next that never ends.
	maxPages = 10000
)

// Kind is the registry entry of the Harvest source.
func Kind() connectors.Kind {
	return timetrack.NewKind(timetrack.KindSpec{
		Name:    KindName,
		Doc:     "Harvest time entries of a whole account (API v2; account is the Harvest account id)",
		BaseURL: DefaultBaseURL,
		EnvHint: EnvHint,
		Open: func(o *timetrack.Options, token string, env connectors.Env) (timetrack.Tracker, error) {
			return New(Config{BaseURL: o.BaseURL, Token: token, Account: o.Account, HTTPClient: env.HTTPClient, Log: env.Logger, Timeout: o.RequestTimeout})
		},
	})
}

// Config is what New needs.
type Config struct {
	BaseURL, Token string
	// Account is the Harvest account id (Harvest-Account-Id); required.
	Account    string
	HTTPClient *http.Client
	// Clock paces and waits (nil: the wall clock).
	Clock vclock.Clock
	Log   *slog.Logger
	// Timeout bounds one attempt (the source's request_timeout; default
	// connectors.DefaultRequestTimeout).
	Timeout time.Duration
}

// Tracker reads one Harvest account.
type Tracker struct {
	http *timetrack.HTTP
}

// New returns a tracker for cfg.
func New(cfg Config) (*Tracker, error) {
	if strings.TrimSpace(cfg.Account) == "" {
		return nil, errors.New("account: set the Harvest account id (Harvest shows it beside the personal access token)")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("base_url %q is not an absolute URL", cfg.BaseURL)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+cfg.Token)
	h.Set("Harvest-Account-Id", strings.TrimSpace(cfg.Account))
	h.Set("User-Agent", UserAgent)
	return &Tracker{http: &timetrack.HTTP{
		Base: base, Client: cfg.HTTPClient, Header: h, Clock: cfg.Clock,
		Max: Limit, Interval: Interval, Log: cfg.Log, Timeout: cfg.Timeout,
	}}, nil
}

// Check asks Harvest whose token it is (GET /v2/users/me) in the
// configured account: one request, which a wrong token or an account the
// token cannot reach fails.
func (t *Tracker) Check(ctx context.Context) error {
	var me struct {
		ID int64 `json:"id"`
	}
	if _, err := t.http.Get(ctx, "users/me", nil, &me); err != nil {
		return fmt.Errorf("asking Harvest whose token it is in account %s: %w", t.http.Header.Get("Harvest-Account-Id"), err)
	}
	return nil
}

// HTTP returns the client, for tests to tune its waits and read its stats.
func (t *Tracker) HTTP() *timetrack.HTTP { return t.http }

// Entries lists the entries spent from through to.
func (t *Tracker) Entries(ctx context.Context, from, to time.Time, fn func(timetrack.Page) error) error {
	return t.list(ctx, url.Values{
		"from":     {from.Format(time.DateOnly)},
		"to":       {to.Format(time.DateOnly)},
		"per_page": {strconv.Itoa(perPage)},
	}, fn)
}

// Changed lists the entries created or edited since since. Deletions are
// not listed (Harvest keeps no record of them an API client can read).
func (t *Tracker) Changed(ctx context.Context, since time.Time, fn func(timetrack.Page) error) error {
	return t.list(ctx, url.Values{
		"updated_since": {since.UTC().Format(time.RFC3339)},
		"per_page":      {strconv.Itoa(perPage)},
	}, fn)
}

// list reads the first page with q, then follows links.next.
func (t *Tracker) list(ctx context.Context, q url.Values, fn func(timetrack.Page) error) error {
	path := "time_entries"
	seen := map[string]bool{}
	for range maxPages {
		var ans answer
		if _, err := t.http.Get(ctx, path, q, &ans); err != nil {
			return err
		}
		if err := fn(convertPage(ans.TimeEntries)); err != nil {
			return err
		}
		next := ans.Links.Next
		if next == "" {
			return nil
		}
		if seen[next] {
			return fmt.Errorf("harvest repeated the next link %s", next)
		}
		seen[next] = true
		path, q = next, nil
	}
	return fmt.Errorf("harvest listed more than %d pages", maxPages)
}

type answer struct {
	TimeEntries []entry `json:"time_entries"`
	Links       struct {
		Next string `json:"next"`
	} `json:"links"`
}

type ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type entry struct {
	ID        int64    `json:"id"`
	SpentDate string   `json:"spent_date"`
	User      ref      `json:"user"`
	Client    *ref     `json:"client"`
	Project   *ref     `json:"project"`
	Task      *ref     `json:"task"`
	Hours     float64  `json:"hours"`
	Notes     *string  `json:"notes"`
	IsLocked  bool     `json:"is_locked"`
	IsRunning bool     `json:"is_running"`
	Billable  *bool    `json:"billable"`
	External  *extLink `json:"external_reference"`
}

type extLink struct {
	ID        string `json:"id"`
	Permalink string `json:"permalink"`
	Service   string `json:"service"`
}

func convertPage(in []entry) timetrack.Page {
	var p timetrack.Page
	for _, e := range in {
		if e.IsRunning {
			continue
		}
		if e.ID == 0 {
			p.Problems = append(p.Problems, record.Problem{Where: "harvest time entry", Message: "entry without an id skipped"})
			continue
		}
		p.Entries = append(p.Entries, convert(e))
	}
	return p
}

func convert(e entry) record.TimeEntry {
	r := record.TimeEntry{
		ExternalID: strconv.FormatInt(e.ID, 10),
		PersonID:   strconv.FormatInt(e.User.ID, 10),
		PersonName: e.User.Name,
		Date:       e.SpentDate,
		Seconds:    Seconds(e.Hours),
		Billable:   e.Billable,
		Locked:     e.IsLocked,
	}
	if e.Task != nil {
		r.TaskID, r.TaskName = strconv.FormatInt(e.Task.ID, 10), e.Task.Name
	}
	if e.Project != nil {
		r.ProjectID, r.ProjectName = strconv.FormatInt(e.Project.ID, 10), e.Project.Name
	}
	if e.Client != nil {
		r.ClientName = e.Client.Name
	}
	if e.Notes != nil {
		r.Note = *e.Notes
	}
	if card := trelloCard(e.External); card != "" {
		r.TaskID = "tr:" + card
	}
	return r
}

// Seconds turns Harvest's decimal hours into whole seconds, rounding to
// the nearest.
func Seconds(hours float64) int64 {
	return int64(math.Round(hours * 3600))
}

// trelloCard returns the Trello card an external reference names (its
// short link when the permalink shows one, else its id), or "".
func trelloCard(x *extLink) string {
	if x == nil {
		return ""
	}
	short := ""
	isTrello := strings.EqualFold(strings.TrimSpace(x.Service), "trello") || strings.Contains(strings.ToLower(x.Service), "trello")
	if u, err := url.Parse(x.Permalink); err == nil && (u.Host == "trello.com" || strings.HasSuffix(u.Host, ".trello.com")) {
		isTrello = true
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 2 && parts[0] == "c" {
			short = parts[1]
		}
	}
	switch {
	case !isTrello:
		return ""
	case short != "":
		return short
	default:
		return strings.TrimSpace(x.ID)
	}
}
