package github

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/record"
)

// KindName is what `kind:` says in the config.
const KindName = "github"

// Defaults of the source's options.
const (
	DefaultConcurrency = 4
	DefaultBatchSize   = 2000
	// DefaultDeadline is longer than connectors.DefaultDeadline so that a
	// sync outlasts the hour until a spent token's limit resets.
	DefaultDeadline = 2 * time.Hour
)

// Options configure a github source.
type Options struct {
	Token   secret.Value   `yaml:"token" doc:"a GitHub token (classic with repo scope, or fine-grained with Issues: read); write ${GITHUB_TOKEN} so it comes from the environment (or token_file)"`
	Tokens  []secret.Value `yaml:"tokens" doc:"several tokens, of different accounts (GitHub's hourly limit is per account), to spread the quota; with or instead of token"`
	BaseURL string         `yaml:"base_url" doc:"a GitHub Enterprise Server's root, e.g. https://github.example.com (the API is under /api/v3/); empty for github.com"`

	WebhookSecret secret.Value `yaml:"webhook_secret" doc:"the secret of the repository hooks karkas serve creates: GitHub signs every delivery with it, and karkas serve refuses a delivery it does not verify; sync does not use it. A long random string; write ${GITHUB_WEBHOOK_SECRET} (or webhook_secret_file)"`

	Repos        []string `yaml:"repos" doc:"repositories to pull, owner/name; empty: every repository clients[].repos names"`
	StatusLabels []string `yaml:"status_labels" doc:"labels that are statuses, in workflow order (e.g. [todo, in progress, review]): an open issue's status is the last of them it carries, else open; a closed issue's is closed; the statuses rules map them"`
	Bots         []string `yaml:"bots" doc:"logins whose comments never count as human replies although GitHub does not mark them as bots (a CI account, the account of karkas's own token)"`

	Concurrency int `yaml:"concurrency" doc:"repositories pulled at once, sharing the tokens' budgets (default 4)"`
	BatchSize   int `yaml:"batch_size" doc:"most records in one stored batch (default 2000)"`

	Deadline       time.Duration `yaml:"deadline" doc:"longest one sync of this source may take, rate-limit waits included; what was stored by then stays (default 2h, to outlast a spent hourly limit)"`
	RequestTimeout time.Duration `yaml:"request_timeout" doc:"longest wait for one answer; a request without one is tried once more (default 30s)"`

	// MappingRepos are the repositories the config's clients name
	// (clients[].repos); NewSource takes them from connectors.Env.Mapped
	// when not set, and the source pulls them when Repos is empty.
	MappingRepos []string `yaml:"-"`
}

// DefaultOptions returns the options a config's block is decoded into.
func DefaultOptions() *Options {
	return &Options{Concurrency: DefaultConcurrency, BatchSize: DefaultBatchSize, Deadline: DefaultDeadline, RequestTimeout: connectors.DefaultRequestTimeout}
}

// Kind describes the github source for the registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Name:       KindName,
		Doc:        "GitHub issues and pull requests: comments (with edits), labels, assignees, milestones, status moves from labels and closing, incrementally with conditional requests",
		Identity:   "github",
		NewOptions: func() any { return DefaultOptions() },
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want *github.Options", KindName, opts)
			}
			return NewSource(*o, env, nil)
		},
	}
}

// repoRef is an owner/name as GitHub allows them.
var repoRef = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)

// tokens returns every configured token, from the options and the file.
func (o Options) tokens(env connectors.Env) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(what, t string) error {
		t = strings.TrimSpace(t)
		if t == "" {
			return fmt.Errorf("%s is empty (an unset environment variable?)", what)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
		return nil
	}
	if o.Token.IsSet() {
		if err := add("token", env.Secrets.Optional(o.Token)); err != nil {
			return nil, err
		}
	}
	for i, t := range o.Tokens {
		if err := add(fmt.Sprintf("tokens[%d]", i), env.Secrets.Optional(t)); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, errors.New("token: set token (e.g. ${GITHUB_TOKEN}), token_file or tokens")
	}
	return out, nil
}

// webhookSecret returns the secret of the hooks karkas serve makes.
func (o Options) webhookSecret(env connectors.Env) (string, error) {
	return env.Secrets.Require(o.WebhookSecret, "webhook_secret", "GITHUB_WEBHOOK_SECRET")
}

// check validates the options that need no credentials and returns the
// repositories to pull.
func (o Options) check() ([]string, error) {
	repos := o.Repos
	if len(repos) == 0 {
		repos = o.MappingRepos
	}
	if len(repos) == 0 {
		return nil, errors.New("repos: list the repositories (owner/name), or name them under clients[].repos")
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range repos {
		r = strings.TrimSpace(strings.TrimSuffix(r, ".git"))
		if !repoRef.MatchString(r) {
			return nil, fmt.Errorf("repos: %q is not owner/name", r)
		}
		if !seen[strings.ToLower(r)] {
			seen[strings.ToLower(r)] = true
			out = append(out, r)
		}
	}
	labels := map[string]bool{}
	for _, l := range o.StatusLabels {
		k := strings.ToLower(strings.TrimSpace(l))
		if k == "" {
			return nil, errors.New("status_labels: an empty label")
		}
		if labels[k] {
			return nil, fmt.Errorf("status_labels: %q is listed twice", l)
		}
		labels[k] = true
	}
	if o.Concurrency <= 0 {
		return nil, fmt.Errorf("concurrency must be positive, got %d", o.Concurrency)
	}
	if o.BatchSize <= 0 {
		return nil, fmt.Errorf("batch_size must be positive, got %d", o.BatchSize)
	}
	if err := connectors.CheckLimits(o.Deadline, o.RequestTimeout); err != nil {
		return nil, err
	}
	return out, nil
}

// Source pulls GitHub repositories (kind github); see pull.go.
type Source struct {
	opts   Options
	repos  []string
	client *Client
	log    *slog.Logger
	status map[string]int // lower-case status label -> its place
	bots   map[string]bool
}

// NewSource checks opts and returns the source. A nil client is built
// from the options' tokens with env's HTTP client; tests pass one on a
// virtual clock.
func NewSource(opts Options, env connectors.Env, client *Client) (*Source, error) {
	if len(opts.MappingRepos) == 0 {
		opts.MappingRepos = env.Mapped[record.ContainerRepo]
	}
	repos, err := opts.check()
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", KindName, err)
	}
	if client == nil {
		tokens, err := opts.tokens(env)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", KindName, err)
		}
		client, err = NewClient(ClientOptions{BaseURL: opts.BaseURL, HTTPClient: env.HTTPClient, Tokens: tokens, Logger: env.Logger,
			Timeout: opts.RequestTimeout})
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", KindName, err)
		}
	}
	s := &Source{opts: opts, repos: repos, client: client, log: env.Logger, status: map[string]int{}, bots: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i, l := range opts.StatusLabels {
		s.status[strings.ToLower(strings.TrimSpace(l))] = i
	}
	for _, b := range opts.Bots {
		s.bots[strings.ToLower(strings.TrimSpace(b))] = true
	}
	return s, nil
}

// Client returns the client the source pulls with (the push side uses the
// same one, so they share its budgets).
func (s *Source) Client() *Client { return s.client }
