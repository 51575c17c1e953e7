package everhour

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
)

// Kind facts.
const (
	// KindName is what `kind:` says in the config.
	KindName = "everhour"
	// DefaultBaseURL is Everhour's API root.
	DefaultBaseURL = "https://api.everhour.com"
	// EnvHint is the environment variable the docs suggest for the key.
	EnvHint = "EVERHOUR_TOKEN"
	// APIVersion is the X-Accept-Version this package was written against.
	APIVersion = "1.2"
)

// MaxPage is the largest limit the time-record routes accept, per the API
// description ("max 50000").
const MaxPage = 50000

// The stated rate limit: about 20 requests per 10 s per API key.
const (
	RateMax      = 20
	RateInterval = 10 * time.Second
)

// How long the user, project and client lists are reused (see the package
// doc), and how soon an unknown id may make them be read again.
const (
	directoryTTL = 10 * time.Minute
	missRefresh  = time.Minute
)

// Kind returns the registry entry of the Everhour source.
func Kind() connectors.Kind {
	return timetrack.NewKind(timetrack.KindSpec{
		Name:    KindName,
		Doc:     "Everhour time records of the whole team (REST API, X-Api-Key)",
		BaseURL: DefaultBaseURL,
		EnvHint: EnvHint,
		Open: func(o *timetrack.Options, token string, env connectors.Env) (timetrack.Tracker, error) {
			return New(Config{BaseURL: o.BaseURL, Token: token, HTTPClient: env.HTTPClient, Logger: env.Logger, Timeout: o.RequestTimeout})
		},
	})
}

// Config configures a Tracker.
type Config struct {
	// BaseURL is the API root (default DefaultBaseURL).
	BaseURL string
	// Token is the API key.
	Token string
	// HTTPClient sends requests (nil: a default client).
	HTTPClient *http.Client
	// Clock waits for the rate limit and retries (nil: the wall clock).
	Clock vclock.Clock
	// Logger gets retries and waits.
	Logger *slog.Logger
	// PageSize is the limit asked of /team/time (default and most
	// MaxPage); tests set it small to exercise paging.
	PageSize int
	// Timeout bounds one attempt (default 30s); BackoffBase is the first
	// retry's mean wait (default 1s).
	Timeout, BackoffBase time.Duration
}

// Tracker reads Everhour; it implements timetrack.Tracker.
type Tracker struct {
	http     *timetrack.HTTP
	clock    vclock.Clock
	pageSize int

	mu  sync.Mutex
	dir *directory
}

// New returns a tracker for the account whose key is c.Token.
func New(c Config) (*Tracker, error) {
	if c.Token == "" {
		return nil, errors.New("everhour: the API key is empty")
	}
	base, err := url.Parse(cmp.Or(c.BaseURL, DefaultBaseURL))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("everhour: base_url %q is not an absolute URL", c.BaseURL)
	}
	if c.PageSize < 0 || c.PageSize > MaxPage {
		return nil, fmt.Errorf("everhour: page size %d outside 1..%d", c.PageSize, MaxPage)
	}
	var clock vclock.Clock = vclock.Real{}
	if c.Clock != nil {
		clock = c.Clock
	}
	h := http.Header{}
	h.Set("X-Api-Key", c.Token)
	h.Set("X-Accept-Version", APIVersion)
	h.Set("User-Agent", "karkas (+https://github.com/karkas/karkas)")
	return &Tracker{
		http: &timetrack.HTTP{
			Base: base, Client: c.HTTPClient, Header: h, Clock: clock,
			Max: RateMax, Interval: RateInterval,
			Timeout: c.Timeout, BackoffBase: c.BackoffBase, Log: c.Logger,
		},
		clock:    clock,
		pageSize: cmp.Or(c.PageSize, MaxPage),
	}, nil
}

// Check asks Everhour whose API key it is (GET /users/me): one request,
// which a wrong or revoked key fails with 401. Everhour scopes nothing by
// an account id, so there is none to check.
func (t *Tracker) Check(ctx context.Context) error {
	var me apiUser
	if _, err := t.http.Get(ctx, "/users/me", nil, &me); err != nil {
		return fmt.Errorf("asking Everhour whose API key it is: %w", err)
	}
	return nil
}

// Stats returns the requests the tracker sent and the 429s it got.
func (t *Tracker) Stats() timetrack.Stats { return t.http.Stats() }
