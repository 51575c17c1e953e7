// Package timetrack is the contract every time-tracker API source meets
// (Everhour, Toggl Track, Clockify, Harvest) and the pull they share, so
// that a fifth tracker is one new package: a Tracker that lists entries by
// date, and a Kind built with NewKind.
//
// # The pull
//
// Time entries are edited and deleted after the fact, often weeks later,
// and most trackers cannot say what was deleted. So a pull re-reads a
// trailing window of whole months (reconcile_months, default 2: the
// current and the previous month) and emits it with a time_entries scope:
// the engine soft-deletes the source's live entries in the window that
// the tracker no longer lists, keeping them (and their history) in the
// store but out of the hours. Older months are read once, by the
// backfill (backfill_months, default 12, oldest first, one month at a
// time so that a killed backfill resumes at the month it was in).
//
// A tracker that lists what changed since an instant (Changes) makes a
// sync cheaper: between full window re-reads (every reconcile_every,
// default 6h) it asks only for the changes since the last pull.
//
// A window's entries are gathered before they are emitted (a month of a
// large agency is a few tens of thousands of entries) and cut into
// batches at day boundaries, each batch carrying the scope of exactly the
// days it covers, so that a kill between batches never deletes an entry
// the tracker still has.
package timetrack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/record"
)

// Page is one answer of a tracker: entries and what could not be read of
// it (an entry without an id, a bad date). A problem never stops the pull.
type Page struct {
	Entries  []record.TimeEntry
	Problems []record.Problem
}

// Tracker is one time tracker's API.
type Tracker interface {
	// Entries calls fn with the entries dated from through to (both
	// dates, inclusive, at midnight UTC, meaning the calendar dates the
	// tracker files entries under), one API page at a time. Running
	// timers are left out until stopped. Entries carry the tracker's
	// ids and names of person, task, project and client; Date is
	// "2006-01-02". An error from fn stops the listing and is returned.
	Entries(ctx context.Context, from, to time.Time, fn func(Page) error) error
}

// A Tracker should also implement connectors.Checker with its cheapest
// authenticated request, checking the account or workspace id where the
// API tells it cheaply: the Source's Check, which `karkas validate
// --online` calls, asks it.

// Changes is implemented by trackers that can list the entries created,
// edited or deleted since an instant (Toggl's since, Harvest's
// updated_since). A deleted entry comes with Deleted set; a tracker that
// does not report deletions leaves them to the window re-read.
type Changes interface {
	Changed(ctx context.Context, since time.Time, fn func(Page) error) error
}

// Options are the options of every time-tracker API source. Token is the
// tracker's API key or personal token; Account names what the tracker
// scopes data by where it needs one (Harvest's account id, a Clockify or
// Toggl workspace id).
type Options struct {
	Token   secret.Value `yaml:"token" required:"true" doc:"API key or personal access token; write ${VAR} so it comes from the environment (or token_file)"`
	Account string       `yaml:"account" doc:"account or workspace id, where the tracker needs one (Harvest account id, Clockify workspace id, Toggl workspace id)"`

	BackfillMonths  int           `yaml:"backfill_months" doc:"whole months read on the first sync, the current one included (default 12)"`
	ReconcileMonths int           `yaml:"reconcile_months" doc:"trailing months re-read to catch edits and deletions (default 2: the current and the previous month)"`
	ReconcileEvery  time.Duration `yaml:"reconcile_every" doc:"with a tracker that lists changes since a time, how often the whole window is re-read anyway (default 6h); other trackers re-read it every sync"`
	BaseURL         string        `yaml:"base_url" doc:"API root; for tests and self-hosted instances"`
	BatchSize       int           `yaml:"batch_size" doc:"most entries in one stored batch (default 2000; a day's entries always share a batch)"`

	Deadline       time.Duration `yaml:"deadline" doc:"longest one sync of this source may take, rate-limit waits included; what was stored by then stays (default 30m; toggl 2h, to outlast a spent hourly quota)"`
	RequestTimeout time.Duration `yaml:"request_timeout" doc:"longest wait for one answer; a request without one is tried once more (default 30s)"`
}

// Defaults.
const (
	DefaultBackfillMonths  = 12
	DefaultReconcileMonths = 2
	DefaultReconcileEvery  = 6 * time.Hour
	DefaultBatchSize       = 2000
)

// NewOptions returns options holding the defaults; baseURL is the
// tracker's API root.
func NewOptions(baseURL string) *Options {
	return &Options{
		BackfillMonths:  DefaultBackfillMonths,
		ReconcileMonths: DefaultReconcileMonths,
		ReconcileEvery:  DefaultReconcileEvery,
		BaseURL:         baseURL,
		BatchSize:       DefaultBatchSize,
		Deadline:        connectors.DefaultDeadline,
		RequestTimeout:  connectors.DefaultRequestTimeout,
	}
}

// Check validates the options that need no credentials.
func (o *Options) Check() error {
	switch {
	case o.BackfillMonths < 1:
		return fmt.Errorf("backfill_months must be at least 1, got %d", o.BackfillMonths)
	case o.ReconcileMonths < 1:
		return fmt.Errorf("reconcile_months must be at least 1, got %d", o.ReconcileMonths)
	case o.ReconcileMonths > o.BackfillMonths:
		return fmt.Errorf("reconcile_months (%d) exceeds backfill_months (%d)", o.ReconcileMonths, o.BackfillMonths)
	case o.ReconcileEvery <= 0:
		return fmt.Errorf("reconcile_every must be positive, got %s", o.ReconcileEvery)
	case o.BatchSize < 1:
		return fmt.Errorf("batch_size must be positive, got %d", o.BatchSize)
	case o.BaseURL == "":
		return errors.New("base_url is empty")
	}
	return connectors.CheckLimits(o.Deadline, o.RequestTimeout)
}

// Secret returns the token, kept in env's secrets. envHint names the
// variable the error suggests, e.g. EVERHOUR_TOKEN.
func (o *Options) Secret(env connectors.Env, envHint string) (string, error) {
	return env.Secrets.Require(o.Token, "token", envHint)
}

// KindSpec describes a tracker for NewKind.
type KindSpec struct {
	// Name is the config's kind, e.g. "everhour".
	Name string
	// Doc is one line for validate and the docs.
	Doc string
	// BaseURL is the tracker's API root.
	BaseURL string
	// EnvHint is the environment variable the docs suggest for the token.
	EnvHint string
	// Open builds the tracker from checked options and the token.
	Open func(o *Options, token string, env connectors.Env) (Tracker, error)
	// Deadline is the tracker's default deadline when not
	// connectors.DefaultDeadline (a tracker whose throttling waits an
	// hour needs longer).
	Deadline time.Duration
}

// NewKind returns the registry entry of a tracker: its options are
// Options, its identities are time_tracker ids.
func NewKind(spec KindSpec) connectors.Kind {
	return connectors.Kind{
		Name:     spec.Name,
		Doc:      spec.Doc,
		Identity: "time_tracker",
		NewOptions: func() any {
			o := NewOptions(spec.BaseURL)
			if spec.Deadline > 0 {
				o.Deadline = spec.Deadline
			}
			return o
		},
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want *timetrack.Options", spec.Name, opts)
			}
			if err := o.Check(); err != nil {
				return nil, err
			}
			token, err := o.Secret(env, spec.EnvHint)
			if err != nil {
				return nil, err
			}
			tr, err := spec.Open(o, token, env)
			if err != nil {
				return nil, err
			}
			return NewSource(tr, *o, env), nil
		},
	}
}
