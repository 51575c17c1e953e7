// Package connectors defines the contracts between karkas and the tools it
// syncs with: a Source pulls records since a cursor, and a Registry names the
// kinds of source a config may use. Each service lives in a sub-package
// (connectors/trello, connectors/email, ...) named after it.
//
// This package imports only the record package, internal/secret and the
// standard library; connector packages import this one, record,
// internal/secret (credentials) and internal/vclock (time that tests can
// move), and nothing else of karkas.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/record"
)

// Emit hands a batch to the engine. The engine resolves it before Emit
// returns (so the source may reuse the batch's slices afterwards) and stores
// batches in the order emitted, each with its cursor in one transaction,
// while the source goes on reading. An error means a batch could not be
// stored: the source must stop and return it.
type Emit func(ctx context.Context, b *record.Batch) error

// Source pulls what changed since cursor (empty on the first run) and emits
// it in batches. A source should emit a batch every few thousand records so
// that a killed run keeps most of its work, and set Batch.Cursor only to a
// position that every record up to it has been emitted for.
type Source interface {
	Pull(ctx context.Context, cursor string, emit Emit) error
}

// Checker is implemented by a source that can tell, cheaply, whether it
// would work: one authenticated request or login per account, so that
// `karkas validate --online` finds a wrong token, account or server before
// a sync does. Check reads nothing into the store and moves no cursor. Its
// error carries the service's own words and never a secret;
// ErrUnauthorized marks refused credentials. A source whose kind cannot
// check (a tracker without a cheap request, say) returns an error that
// is errors.ErrUnsupported.
type Checker interface {
	Check(ctx context.Context) error
}

// Scoper is implemented by a source that can pull part of its selection:
// the board or repository a webhook named, between the source's full
// pulls. Scope returns a source that pulls only the named containers,
// spelt as the service's webhooks spell them or as the config does (each
// kind's Scope says which forms it takes), and that is run like the
// source itself, on the source's own cursor:
//
//   - its Pull reads and advances only the named containers' parts of the
//     cursor, and every cursor it emits carries the other parts exactly
//     as it was given them, so it is stored as the source's cursor;
//   - it deletes nothing outside the named containers: no EndOfSnapshot,
//     and Complete scopes only within them;
//   - a container the source does not pull (not configured, excluded) is
//     a *NotPulledError naming it, returned by Scope when the name alone
//     tells and otherwise by Pull before anything is emitted; never a
//     pull of the whole selection.
//
// A scoped pull is a pull of its source: it must not run beside another
// pull of the same source, whose cursor would undo its progress (or it
// the other's), so callers hold the source's lock as for any sync. Its
// run is partial (engine.Job.Partial): a clean one says nothing of the
// containers it did not read.
type Scoper interface {
	Scope(containers []string) (Source, error)
}

// DetailedChecker is a Checker that goes on past the first problem: it
// checks each thing the source is configured to read (a repository, say)
// and returns what it found wrong with each, besides the error that stops
// it (refused credentials).
type DetailedChecker interface {
	CheckDetails(ctx context.Context) ([]CheckProblem, error)
}

// CheckProblem is something a DetailedChecker found wrong with the
// source's configuration against its service.
type CheckProblem struct {
	// Repo is the repository (or board, project) as configured, "" for
	// the source as a whole.
	Repo string
	// Message says what is wrong, in one sentence.
	Message string
	// Warning marks what syncs anyway but is likely a mistake.
	Warning bool
}

// StopsAll reports whether err, met on one container of a source (a board,
// a repository), ends the work on all of them: refused credentials, a
// rate limit or the end of ctx, which the next container would meet too.
func StopsAll(ctx context.Context, err error) bool {
	_, limited := errors.AsType[*RateLimitError](err)
	return limited || errors.Is(err, ErrUnauthorized) || ctx.Err() != nil
}

// NotPulledError says a scoped pull named containers its source does not
// pull: a webhook for a board or repository the config does not select.
// Retrying cannot help; the source's full pulls go on as before.
type NotPulledError struct {
	// What is what a container of the kind is: "board", "repository".
	What       string
	Containers []string
}

func (e *NotPulledError) Error() string {
	return fmt.Sprintf("%s %s: not pulled by this source", e.What, strings.Join(e.Containers, ", "))
}

// Env is what a source gets from the process around it.
type Env struct {
	// BaseDir resolves relative paths in options: the config file's folder.
	BaseDir    string
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
	// Mapped lists, by container kind (record.ContainerRepo...), the
	// names the mapping's clients give containers of the kind
	// (clients[].repos for repositories), for a source told to pull what
	// the mapping names.
	Mapped map[string][]string
	// Secrets keeps every credential the options hold (Require, Optional), so that
	// nothing karkas says or stores shows it; nil reads without keeping,
	// for a connector's own tests.
	Secrets *secret.Set
}

// Kind describes one kind of source a config may name.
type Kind struct {
	// Name is what `kind:` says in the config, e.g. "trello_export".
	Name string
	// Doc is one line for `karkas validate` and the docs.
	Doc string
	// Identity names what the source's person ids are, for the mapping:
	// "trello", "github", "time_tracker" or "email".
	Identity string
	// NewOptions returns a pointer to a fresh options struct holding the
	// defaults; the config's `options:` block is decoded into it.
	NewOptions func() any
	// Open builds the source from decoded options.
	Open func(opts any, env Env) (Source, error)
}

// Registry is the set of kinds a binary supports. It is built explicitly at
// start-up (see cmd/karkas), not by init side effects.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry returns a registry holding kinds.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: map[string]Kind{}}
	for _, k := range kinds {
		r.kinds[k.Name] = k
	}
	return r
}

// Lookup returns the kind named name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names lists the registered kinds, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RateLimitError says the source was told to slow down; the scheduler waits
// RetryAfter before pulling it again.
type RateLimitError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.RetryAfter, e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// ErrUnauthorized marks a source whose credentials were refused; it stays
// stopped until they are fixed.
var ErrUnauthorized = errors.New("unauthorized")

// AttentionError ends a pull that did what it could but found something
// only a human can fix: a board deleted or no longer shared, a repository
// gone. The source keeps the part's data, pulls its other parts, and
// returns this error at the end; the engine stores what was emitted and
// shows Why on the source until a later pull succeeds.
type AttentionError struct {
	Why string
	Err error
}

func (e *AttentionError) Error() string {
	if e.Err == nil {
		return e.Why
	}
	return e.Why + ": " + e.Err.Error()
}

func (e *AttentionError) Unwrap() error { return e.Err }

// NewKind builds a Kind whose options are *O: NewOptions returns
// defaults() and Open asserts the decoded options' type once, here, so
// that a connector's open function takes its own options type.
func NewKind[O any](name, doc, identity string, defaults func() *O, open func(o *O, env Env) (Source, error)) Kind {
	return Kind{
		Name: name, Doc: doc, Identity: identity,
		NewOptions: func() any { return defaults() },
		Open: func(opts any, env Env) (Source, error) {
			o, ok := opts.(*O)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want %T", name, opts, o)
			}
			return open(o, env)
		},
	}
}

// Discoverer is implemented by a source that can list, cheaply, what a
// mapping names of it, for `karkas discover KIND` to print a skeleton of
// the mapping: its containers (one client each), its people and the
// statuses its tasks take.
type Discoverer interface {
	Discover(ctx context.Context) (Discovery, error)
}

// Discovery is what a Discoverer found.
type Discovery struct {
	// ContainerKind is the record.Container kind of Containers.
	ContainerKind string
	Containers    []DiscoveredName
	People        []DiscoveredPerson
	Statuses      []string
}

// DiscoveredName is a container as the source names it.
type DiscoveredName struct{ ID, Name string }

// DiscoveredPerson is a person the source lists; Side is "agency",
// "client" or "" when the source cannot tell.
type DiscoveredPerson struct {
	ID, Name, Email, Side string
}

// FanOut runs run(ctx, i) for each i below n, at most limit at once (the
// boards or repositories of one pull). A part whose error soft accepts (a
// board gone: flagged, the others go on) does not stop the rest; the
// first other error cancels the parts still running and is returned once
// all have ended; the end of ctx stops starting new parts and is
// returned. soft may be nil, and is called from the parts' goroutines.
func FanOut(ctx context.Context, limit, n int, run func(ctx context.Context, i int) error, soft func(i int, err error) bool) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fatal error
		sem   = make(chan struct{}, max(limit, 1))
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := run(ctx, i)
			if err == nil || (soft != nil && soft(i, err)) {
				return
			}
			mu.Lock()
			if fatal == nil {
				fatal = err
				cancel()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if fatal != nil {
		return fatal
	}
	return parent.Err()
}
