package email

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

// IMAPKindName is what `kind:` says in the config for the IMAP source.
const IMAPKindName = "imap"

// Defaults of the imap source's options.
const (
	DefaultIMAPBatchSize      = 500
	DefaultIMAPTimeout        = time.Minute
	DefaultIMAPRetries        = 3
	DefaultIMAPMaxConnections = 2
)

// TLS modes of an IMAP account.
const (
	TLSImplicit = "imaps"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// IMAPOptions configure the "imap" source: mailboxes pulled incrementally
// over IMAP.
type IMAPOptions struct {
	Accounts        []IMAPAccount `yaml:"accounts" required:"true" doc:"the mailboxes to pull, each with its server and login"`
	MaxMessageBytes int64         `yaml:"max_message_bytes" doc:"a larger message is not downloaded and is reported as a problem (default 25 MiB)"`
	BatchSize       int           `yaml:"batch_size" doc:"messages handed to the store at once, each batch with its cursor (default 500)"`
	Timeout         time.Duration `yaml:"timeout" doc:"longest wait for the server to connect, log in, or make progress on a command (default 1m)"`
	Retries         int           `yaml:"retries" doc:"times a dropped or silent connection is opened again before the account is reported (default 3)"`
}

// IMAPAccount is one mailbox: a server and a login. Exactly one of
// password, password_file and oauth2 is set.
type IMAPAccount struct {
	Name           string       `yaml:"name" doc:"short stable name used in the cursor, in problems and as the mailbox container id prefix (default: username)"`
	Host           string       `yaml:"host" required:"true" doc:"IMAP server, e.g. imap.gmail.com or outlook.office365.com"`
	Port           int          `yaml:"port" doc:"server port (default 993 with tls imaps, 143 otherwise)"`
	TLS            string       `yaml:"tls" enum:"imaps,starttls,none" doc:"imaps (TLS from the start, the default), starttls, or none (only for a server or bridge on this machine)"`
	CAFile         string       `yaml:"ca_file" doc:"PEM file of the certificate authority that signed the server's certificate, for a server with its own CA (default: the system's)"`
	Username       string       `yaml:"username" required:"true" doc:"login name, usually the email address"`
	Password       secret.Value `yaml:"password" exact:"true" doc:"password or app password; write ${VAR} so it comes from the environment (or password_file)"`
	OAuth2         *OAuth2      `yaml:"oauth2" doc:"log in with XOAUTH2 (Gmail, Microsoft 365) instead of a password"`
	Folders        []string     `yaml:"folders" doc:"folders to read, as the server names them (default: INBOX and the folder marked \\Sent; on Gmail the \\All folder alone, [Gmail]/All Mail)"`
	Addresses      []string     `yaml:"addresses" doc:"the account's own addresses besides username (aliases); in Gmail's All Mail a message from one of them is recorded in the Sent folder"`
	MaxConnections int          `yaml:"max_connections" doc:"connections to the server at once, each reading one folder (default 2)"`
}

// NewIMAPOptions returns IMAPOptions holding the defaults.
func NewIMAPOptions() *IMAPOptions {
	return &IMAPOptions{
		MaxMessageBytes: 25 << 20,
		BatchSize:       DefaultIMAPBatchSize,
		Timeout:         DefaultIMAPTimeout,
		Retries:         DefaultIMAPRetries,
	}
}

// IMAPKind is the "imap" source kind.
func IMAPKind() connectors.Kind {
	return connectors.Kind{
		Name:       IMAPKindName,
		Doc:        "mailboxes over IMAP (password or XOAUTH2), incrementally by UIDVALIDITY and UID per folder",
		Identity:   "email",
		NewOptions: func() any { return NewIMAPOptions() },
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*IMAPOptions)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want *email.IMAPOptions", IMAPKindName, opts)
			}
			return OpenIMAP(o, env)
		},
	}
}

// imapAccount is an account with its defaults applied and secrets read.
type imapAccount struct {
	name     string
	host     string
	addr     string // host:port
	tls      string
	username string
	password string
	tokens   *oauthTokens   // nil for password logins
	roots    *x509.CertPool // nil: the system's
	folders  []string       // as configured; nil: found by LIST
	own      map[string]bool
	maxConns int
}

// OpenIMAP checks opts, reads the secrets and builds the source. It does not
// connect: a server that is down is Pull's error.
func OpenIMAP(opts *IMAPOptions, env connectors.Env) (*IMAPSource, error) {
	var errs []error
	if len(opts.Accounts) == 0 {
		errs = append(errs, errors.New("accounts: at least one account is needed"))
	}
	if opts.MaxMessageBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_message_bytes: must be positive, got %d", opts.MaxMessageBytes))
	}
	if opts.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("batch_size: must be positive, got %d", opts.BatchSize))
	}
	if opts.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", opts.Timeout))
	}
	if opts.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries: must not be negative, got %d", opts.Retries))
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Token refreshes run outside the IMAP watchdog: the client's own
	// timeout bounds them.
	httpClient := tokenHTTPClient(env.HTTPClient, opts.Timeout)
	s := &IMAPSource{
		maxBytes: opts.MaxMessageBytes, batchSize: opts.BatchSize, timeout: opts.Timeout,
		retries: opts.Retries, logger: logger, backoff: time.Second,
	}
	names := map[string]int{}
	for i, a := range opts.Accounts {
		acc, err := openAccount(a, env, httpClient)
		if err != nil {
			errs = append(errs, fmt.Errorf("accounts[%d]: %w", i, err))
			continue
		}
		if j, dup := names[acc.name]; dup {
			errs = append(errs, fmt.Errorf("accounts[%d]: name %q is also accounts[%d]'s; give one a name", i, acc.name, j))
			continue
		}
		names[acc.name] = i
		if acc.tls == TLSNone && !isLoopback(acc.host) {
			logger.Warn("imap account logs in without TLS over the network", "account", acc.name, "host", acc.host)
		}
		s.accounts = append(s.accounts, acc)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opening %s: %w", IMAPKindName, err)
	}
	return s, nil
}

func openAccount(a IMAPAccount, env connectors.Env, httpClient *http.Client) (*imapAccount, error) {
	baseDir := env.BaseDir
	acc := &imapAccount{
		name:     strings.TrimSpace(a.Name),
		host:     strings.TrimSpace(a.Host),
		tls:      a.TLS,
		username: strings.TrimSpace(a.Username),
		maxConns: a.MaxConnections,
		own:      map[string]bool{},
	}
	switch {
	case acc.host == "":
		return nil, errors.New("host: empty")
	case acc.username == "":
		return nil, errors.New("username: empty")
	case strings.ContainsAny(acc.host, "/ ") || strings.Contains(acc.host, ":") && net.ParseIP(acc.host) == nil:
		return nil, fmt.Errorf("host: %q is not a host name (write the port in port:)", acc.host)
	}
	if acc.name == "" {
		acc.name = acc.username
	}
	if acc.tls == "" {
		acc.tls = TLSImplicit
	}
	port := a.Port
	switch acc.tls {
	case TLSImplicit:
		if port == 0 {
			port = 993
		}
	case TLSStartTLS, TLSNone:
		if port == 0 {
			port = 143
		}
	default:
		return nil, fmt.Errorf("tls: %q is not one of: imaps, starttls, none", acc.tls)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("port: %d is not a port", port)
	}
	acc.addr = net.JoinHostPort(acc.host, strconv.Itoa(port))
	if a.CAFile != "" {
		if acc.tls == TLSNone {
			return nil, errors.New("ca_file: the account has tls: none")
		}
		file := a.CAFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(baseDir, file)
		}
		pemBytes, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading ca_file: %w", err)
		}
		acc.roots = x509.NewCertPool()
		if !acc.roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", file)
		}
	}
	if acc.maxConns == 0 {
		acc.maxConns = DefaultIMAPMaxConnections
	}
	if acc.maxConns < 1 {
		return nil, fmt.Errorf("max_connections: must be positive, got %d", acc.maxConns)
	}
	for i, f := range a.Folders {
		if strings.TrimSpace(f) == "" {
			return nil, fmt.Errorf("folders[%d]: empty", i)
		}
		acc.folders = append(acc.folders, f)
	}
	if strings.Contains(acc.username, "@") {
		acc.own[strings.ToLower(acc.username)] = true
	}
	for i, addr := range a.Addresses {
		addr = strings.ToLower(strings.TrimSpace(addr))
		if !strings.Contains(addr, "@") {
			return nil, fmt.Errorf("addresses[%d]: %q is not an email address", i, addr)
		}
		acc.own[addr] = true
	}

	set := 0
	for _, v := range []bool{a.Password.IsSet(), a.OAuth2 != nil} {
		if v {
			set++
		}
	}
	switch {
	case set == 0:
		return nil, fmt.Errorf("account %s: set password (e.g. ${IMAP_PASSWORD}), password_file or oauth2", acc.name)
	case set > 1:
		return nil, fmt.Errorf("account %s: password (or password_file) and oauth2 exclude each other; keep one", acc.name)
	case a.OAuth2 != nil:
		ts, err := a.OAuth2.tokens(oauthIMAP, env.Secrets, baseDir, httpClient)
		if err != nil {
			return nil, fmt.Errorf("oauth2: %w", err)
		}
		acc.tokens = ts
	default:
		acc.password = env.Secrets.Optional(a.Password)
	}
	return acc, nil
}

// isLoopback reports a host that names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
