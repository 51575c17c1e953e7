package trello

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

// KindName is what `kind:` says in the config for the REST API source.
const KindName = "trello"

// Defaults of the trello source's options.
const (
	DefaultReconcileWindow = 14 * 24 * time.Hour
	DefaultReconcileEvery  = 6 * time.Hour
	DefaultConcurrency     = 4
)

// APIOptions configure a trello source. Exactly one of Boards and BoardNames
// selects the boards.
type APIOptions struct {
	Key   secret.Value `yaml:"key" required:"true" env:"TRELLO_KEY" doc:"Trello API key; write ${TRELLO_KEY} so it comes from the environment (or key_file)"`
	Token secret.Value `yaml:"token" required:"true" env:"TRELLO_TOKEN" doc:"Trello user token; write ${TRELLO_TOKEN} so it comes from the environment (or token_file)"`

	WebhookSecret secret.Value `yaml:"webhook_secret" doc:"the OAuth secret of the Trello app the key belongs to (shown with the key at trello.com/app-key): Trello signs webhook deliveries with it, and karkas serve refuses a delivery it does not verify; sync does not use it. Write ${TRELLO_WEBHOOK_SECRET} (or webhook_secret_file)"`

	Boards              []string `yaml:"boards" doc:"board ids or short links to pull"`
	BoardNames          string   `yaml:"board_names" doc:"regular expression over the names of the token member's boards; every match is pulled"`
	IncludeClosedBoards bool     `yaml:"include_closed_boards" doc:"with board_names, also pull closed (archived) boards"`
	ExcludeBoards       []string `yaml:"exclude_boards" doc:"board ids or short links never pulled: a board board_names matches that is not a client's, or a deleted board to stop being reminded of"`

	ReconcileWindow time.Duration `yaml:"reconcile_window" doc:"how far back comments are re-read to catch edits and deletions (default 336h, 14 days)"`
	ReconcileEvery  time.Duration `yaml:"reconcile_every" doc:"how often a board is reconciled: comments of the window and every card re-read (default 6h)"`
	Concurrency     int           `yaml:"concurrency" doc:"boards pulled at once, sharing one rate-limit budget (default 4)"`
	BaseURL         string        `yaml:"base_url" doc:"API root (default https://api.trello.com/1); for tests"`
	BatchSize       int           `yaml:"batch_size" doc:"most records in one stored batch (default 2000)"`

	Deadline       time.Duration `yaml:"deadline" doc:"longest one sync of this source may take, rate-limit waits included; what was stored by then stays (default 30m)"`
	RequestTimeout time.Duration `yaml:"request_timeout" doc:"longest wait for one answer; a request without one is tried once more (default 30s)"`
}

// DefaultOptions returns the options a config's block is decoded into.
func DefaultOptions() *APIOptions {
	return &APIOptions{
		ReconcileWindow: DefaultReconcileWindow,
		ReconcileEvery:  DefaultReconcileEvery,
		Concurrency:     DefaultConcurrency,
		BaseURL:         DefaultBaseURL,
		BatchSize:       DefaultBatchSize,
		Deadline:        connectors.DefaultDeadline,
		RequestTimeout:  connectors.DefaultRequestTimeout,
	}
}

// Kind describes the trello source for the registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Name:       KindName,
		Doc:        "Trello boards through the REST API: cards, list moves, comments, incrementally by actions",
		Identity:   "trello",
		NewOptions: func() any { return DefaultOptions() },
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*APIOptions)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want *trello.APIOptions", KindName, opts)
			}
			return NewSource(*o, env, nil)
		},
	}
}

// credentials returns the key and token of the options.
func (o APIOptions) credentials(env connectors.Env) (key, token string, err error) {
	if key, err = env.Secrets.Require(o.Key, "key", "TRELLO_KEY"); err != nil {
		return "", "", err
	}
	if token, err = env.Secrets.Require(o.Token, "token", "TRELLO_TOKEN"); err != nil {
		return "", "", err
	}
	return key, token, nil
}

// webhookSecret returns the app secret that signs webhook deliveries.
func (o APIOptions) webhookSecret(env connectors.Env) (string, error) {
	return env.Secrets.Require(o.WebhookSecret, "webhook_secret", "TRELLO_WEBHOOK_SECRET")
}

// check validates the options that need no credentials.
func (o *APIOptions) check() (*regexp.Regexp, error) {
	var re *regexp.Regexp
	switch {
	case len(o.Boards) == 0 && o.BoardNames == "":
		return nil, errors.New("boards or board_names: one of them is needed to select boards")
	case len(o.Boards) > 0 && o.BoardNames != "":
		return nil, errors.New("boards and board_names are both set; keep one")
	case o.BoardNames != "":
		var err error
		if re, err = regexp.Compile(o.BoardNames); err != nil {
			return nil, fmt.Errorf("board_names: %w", err)
		}
	}
	for _, b := range o.Boards {
		if !isBoardRef(b) {
			return nil, fmt.Errorf("boards: %q is neither a board id (24 hex digits) nor a short link (8 letters and digits)", b)
		}
	}
	if o.IncludeClosedBoards && o.BoardNames == "" {
		return nil, errors.New("include_closed_boards only applies with board_names")
	}
	if o.ReconcileWindow <= 0 {
		return nil, fmt.Errorf("reconcile_window must be positive, got %s", o.ReconcileWindow)
	}
	if o.ReconcileEvery <= 0 {
		return nil, fmt.Errorf("reconcile_every must be positive, got %s", o.ReconcileEvery)
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
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	return re, nil
}

// isBoardRef reports whether s looks like a board id or a short link.
func isBoardRef(s string) bool {
	if isObjectID(s) {
		return true
	}
	if len(s) != 8 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isObjectID(s string) bool {
	_, ok := objectIDTime(s)
	return ok
}
