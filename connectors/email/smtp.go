package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
	"golang.org/x/oauth2"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

// The push side of email: a Sender delivers one notification per call over
// SMTP (github.com/wneessen/go-mail), so that the outbox can send mail to a
// PM, a lead or a client contact exactly as often as it means to.
//
// Idempotence rests on the Message-ID. It is derived from the delivery id
// (see DeliveryMessageID), so a retry, or a second Send of one delivery
// after a crash, is the same message: mail clients and Gmail fold copies
// with one Message-ID into one, and the outbox can look for it in the Sent
// folder over IMAP before sending again. SMTP offers no way to ask a server
// whether it took a message, so the one ambiguous moment (the connection
// lost after the final "." and before the server's answer) is reported as
// SendError.MayHaveReached and never retried here: the outbox decides.

// TLS modes of an SMTP server.
const (
	SMTPTLS      = "tls"      // TLS from the first byte (SMTPS, port 465)
	SMTPStartTLS = "starttls" // plain connection upgraded by STARTTLS, required (port 587)
	SMTPNoTLS    = "none"     // no encryption: only for a relay on localhost or a trusted network
)

// Defaults of the SMTP options.
const (
	DefaultSMTPTimeout   = 30 * time.Second
	DefaultSMTPAttempts  = 3
	DefaultSMTPRetryWait = 5 * time.Second
	// maxSMTPRetryWait caps the doubling wait between attempts.
	maxSMTPRetryWait = 5 * time.Minute
)

// SMTPOptions configure a Sender: the server, how to log in, and who the
// mail is from.
type SMTPOptions struct {
	Host     string       `yaml:"host" doc:"SMTP server, e.g. smtp.gmail.com or smtp.office365.com"`
	Port     int          `yaml:"port" doc:"default 587 with tls: starttls, 465 with tls: tls, 25 with tls: none"`
	TLS      string       `yaml:"tls" enum:"starttls,tls,none" doc:"starttls (default; STARTTLS is required, never skipped), tls (TLS from the first byte, port 465) or none (only for a relay on localhost or a trusted network)"`
	Username string       `yaml:"username" doc:"login name (default: the from address)"`
	Password secret.Value `yaml:"password" exact:"true" doc:"password or app password; write ${SMTP_PASSWORD} so it comes from the environment (or password_file, whose trailing line end is dropped)"`
	OAuth2   *OAuth2      `yaml:"oauth2" doc:"log in with XOAUTH2 (Gmail, Microsoft 365) instead of a password"`
	From     string       `yaml:"from" doc:"sender address, e.g. sla@agency.example; its domain ends every Message-ID"`
	FromName string       `yaml:"from_name" doc:"sender's display name, e.g. Agency SLA (may be Cyrillic)"`

	Timeout   time.Duration `yaml:"timeout" doc:"limit of connecting, TLS, login and each SMTP exchange (default 30s)"`
	Attempts  int           `yaml:"attempts" doc:"tries of one message on temporary failures (4xx answers, connection problems; default 3)"`
	RetryWait time.Duration `yaml:"retry_wait" doc:"wait before the second try, doubled before each further one (default 5s)"`
}

// DefaultSMTPOptions returns the options a config's block is decoded into.
func DefaultSMTPOptions() *SMTPOptions {
	return &SMTPOptions{
		TLS:       SMTPStartTLS,
		Timeout:   DefaultSMTPTimeout,
		Attempts:  DefaultSMTPAttempts,
		RetryWait: DefaultSMTPRetryWait,
	}
}

// SenderOption sets what a config file cannot say.
type SenderOption func(*Sender)

// SenderTLSConfig makes the sender verify the server with cfg (its
// RootCAs, say) instead of the system's roots. The server name is the
// host unless cfg names one.
func SenderTLSConfig(cfg *tls.Config) SenderOption {
	return func(s *Sender) {
		c := cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = s.host
		}
		s.tlsConfig = c
	}
}

// SenderTokenSource makes the sender log in with XOAUTH2 using tokens
// from ts, instead of the oauth2 block of the options.
func SenderTokenSource(ts oauth2.TokenSource) SenderOption {
	return func(s *Sender) { s.tokens = ts }
}

// Sender sends mail through one SMTP server. It is safe for concurrent
// use; each Send opens its own connection.
type Sender struct {
	host      string
	port      int
	mode      string
	username  string
	password  string
	tokens    oauth2.TokenSource
	oauth     *oauthTokens // nil unless tokens come from the options
	from      netmail.Address
	timeout   time.Duration
	attempts  int
	retryWait time.Duration
	tlsConfig *tls.Config
	log       *slog.Logger
	now       func() time.Time

	// wait sleeps between attempts; tests replace it to act in between.
	wait func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	lastToken string // the newest access token, kept out of error texts
}

// NewSender checks the options, reads the password or the OAuth2 secrets,
// and returns a sender. Every problem is reported at once.
func NewSender(o SMTPOptions, env connectors.Env, opts ...SenderOption) (*Sender, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	s := &Sender{
		host:      strings.TrimSpace(o.Host),
		port:      o.Port,
		mode:      o.TLS,
		timeout:   o.Timeout,
		attempts:  o.Attempts,
		retryWait: o.RetryWait,
		log:       env.Logger,
		now:       env.Now,
		wait:      sleepCtx,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.host == "" {
		bad("host: the SMTP server is required")
	} else if strings.ContainsAny(s.host, " \t\r\n/") {
		bad("host: %q is not a host name", s.host)
	}
	switch s.mode {
	case "":
		s.mode = SMTPStartTLS
	case SMTPStartTLS, SMTPTLS, SMTPNoTLS:
	default:
		bad("tls: %q is not one of: starttls, tls, none", s.mode)
	}
	if s.port == 0 {
		s.port = map[string]int{SMTPStartTLS: 587, SMTPTLS: 465, SMTPNoTLS: 25}[s.mode]
	}
	if o.Port != 0 && (o.Port < 1 || o.Port > 65535) {
		bad("port: %d is not a TCP port", o.Port)
	}
	if s.timeout <= 0 {
		bad("timeout: must be positive, got %s", o.Timeout)
	}
	if s.attempts < 1 {
		bad("attempts: must be at least 1, got %d", o.Attempts)
	}
	if s.retryWait < 0 {
		bad("retry_wait: must not be negative, got %s", o.RetryWait)
	}

	if from, err := parseBareAddress(o.From); err != nil {
		bad("from: %w", err)
	} else {
		s.from = netmail.Address{Name: neutralizeHeaderText(o.FromName), Address: from}
	}

	s.username = strings.TrimSpace(o.Username)
	if s.username == "" {
		s.username = s.from.Address
	}
	s.password = env.Secrets.Optional(o.Password)
	if o.OAuth2 != nil {
		if s.password != "" {
			bad("password and oauth2 are both set; keep one")
		}
		ts, err := o.OAuth2.tokens(oauthSMTP, env.Secrets, env.BaseDir, tokenHTTPClient(env.HTTPClient, s.timeout))
		if err != nil {
			errs = append(errs, fmt.Errorf("oauth2: %w", err))
		} else {
			s.tokens, s.oauth = ts, ts
		}
	}
	for _, opt := range opts {
		opt(s)
	}
	if strings.TrimSpace(o.Username) != "" && s.password == "" && s.tokens == nil && o.OAuth2 == nil {
		bad("username is set but neither password, password_file nor oauth2 is")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return s, nil
}

// SendResult tells how a message was sent.
type SendResult struct {
	// MessageID is the message's Message-ID without angle brackets, as
	// records store it: karkas.<delivery id>@<from domain>.
	MessageID string
	// Attempts counts the tries, the successful one included.
	Attempts int
	// Response is the server's answer to the message, e.g.
	// "2.0.0 Ok: queued as 4Xyz": the server's own id, for a human
	// tracing a message.
	Response string
}

// Send delivers m, retrying temporary failures (4xx answers, refused or
// dropped connections, timeouts) up to the configured attempts with a
// doubling wait. A failure is a *SendError: Permanent for a 5xx answer or
// a configuration the server refuses (never retried), MayHaveReached when
// the server may have taken the message although Send could not hear it
// say so (never retried here). Invalid mail (an address, a header name or
// message id that is not one) is a permanent error before any connection.
// A failed send still returns the Message-ID and the attempts made.
func (s *Sender) Send(ctx context.Context, m Mail) (SendResult, error) {
	c, err := s.compose(m)
	if err != nil {
		return SendResult{}, &SendError{DeliveryID: m.DeliveryID, Server: s.addr(), Stage: StageCompose, Permanent: true, Err: err}
	}
	for attempt := 1; ; attempt++ {
		resp, se := s.sendOnce(ctx, c)
		if se == nil {
			return SendResult{MessageID: c.messageID, Attempts: attempt, Response: resp}, nil
		}
		se.DeliveryID, se.Server, se.Attempts = m.DeliveryID, s.addr(), attempt
		s.redact(se)
		failed := SendResult{MessageID: c.messageID, Attempts: attempt}
		if se.Permanent || se.MayHaveReached || attempt >= s.attempts || ctx.Err() != nil {
			return failed, se
		}
		d := min(s.retryWait<<(attempt-1), maxSMTPRetryWait)
		s.log.Info("smtp send failed, retrying", "delivery", m.DeliveryID, "attempt", attempt, "retry_in", d.String(), "error", se.Error())
		if err := s.wait(ctx, d); err != nil {
			return failed, se
		}
	}
}

func (s *Sender) addr() string { return net.JoinHostPort(s.host, fmt.Sprint(s.port)) }

// sendOnce is one attempt on a fresh connection.
func (s *Sender) sendOnce(ctx context.Context, c *composed) (response string, _ *SendError) {
	if err := ctx.Err(); err != nil {
		return "", classify(StageConnect, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithDialContextFunc(s.dialer(ctx)),
	}
	if s.tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConfig))
	}
	switch s.mode {
	case SMTPTLS:
		// The dialer speaks TLS itself; go-mail must not try STARTTLS.
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	switch {
	case s.tokens != nil:
		tok, err := s.tokens.Token()
		if err != nil {
			return "", classify(StageToken, err)
		}
		s.mu.Lock()
		s.lastToken = tok.AccessToken
		s.mu.Unlock()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthXOAUTH2),
			gomail.WithUsername(s.username), gomail.WithPassword(tok.AccessToken))
	case s.password != "":
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if s.mode == SMTPNoTLS {
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(mechs...),
			gomail.WithUsername(s.username), gomail.WithPassword(s.password))
	}
	gm, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return "", &SendError{Stage: StageConnect, Permanent: true, Err: err}
	}

	client, err := gm.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", classify(StageConnect, ctxCause(ctx, err))
	}
	defer func() { _ = client.Close() }()

	step := func(stage string, f func() error) *SendError {
		if err := client.UpdateDeadline(s.timeout); err != nil {
			return classify(stage, err)
		}
		if err := f(); err != nil {
			return classify(stage, ctxCause(ctx, err))
		}
		return nil
	}
	if se := step(StageMailFrom, func() error { return client.Mail(c.envelopeFrom) }); se != nil {
		return "", se
	}
	var refused []string
	var rcptErr *SendError
	for _, rcpt := range c.recipients {
		se := step(StageRcptTo, func() error { return client.Rcpt(rcpt) })
		if se == nil {
			continue
		}
		if se.Code == 0 { // no answer: the connection is gone
			return "", se
		}
		refused = append(refused, strings.Trim(rcpt, "<>"))
		// One permanent refusal makes the message permanently undeliverable
		// as addressed; report that one rather than a later 4xx.
		if rcptErr == nil || (se.Permanent && !rcptErr.Permanent) {
			rcptErr = se
		}
	}
	if rcptErr != nil {
		rcptErr.Refused = refused
		_ = client.Reset()
		return "", rcptErr
	}
	var w io.WriteCloser
	if se := step(StageData, func() (err error) { w, err = client.Data(); return err }); se != nil {
		return "", se
	}
	if se := step(StageMessage, func() error { _, err := c.msg.WriteTo(w); return err }); se != nil {
		// The final "." was not sent, so the server cannot have taken it.
		se.MayHaveReached = false
		return "", se
	}
	if se := step(StageMessageEnd, w.Close); se != nil {
		// Without an answer the server may have stored the message.
		se.MayHaveReached = se.Code == 0
		return "", se
	}
	if dc, ok := w.(*gosmtp.DataCloser); ok {
		response = dc.ServerResponse()
	}
	// The message is taken; a failing QUIT changes nothing.
	_ = client.UpdateDeadline(s.timeout)
	_ = client.Quit()
	return response, nil
}

// dialer returns go-mail's dial function: TCP (and TLS in tls mode) within
// the dial context, and a connection that ctx's end closes, so that
// cancelling a Send interrupts any exchange at once.
func (s *Sender) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, address string) (net.Conn, error) {
		nd := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.mode == SMTPTLS {
			cfg := s.tlsConfig
			if cfg == nil {
				cfg = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
			}
			conn, err = (&tls.Dialer{NetDialer: nd, Config: cfg}).DialContext(dialCtx, network, address)
		} else {
			conn, err = nd.DialContext(dialCtx, network, address)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
}

// ctxCause prefers the context's error to the closed-connection error its
// end caused.
func ctxCause(ctx context.Context, err error) error {
	if ctx.Err() != nil && !isSMTPReply(err) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// redact removes the password, the newest access token and the OAuth2
// secrets from the error's text; servers, token endpoints and libraries
// should never echo them, and this makes sure.
func (s *Sender) redact(se *SendError) {
	s.mu.Lock()
	all := []string{s.password, s.lastToken}
	s.mu.Unlock()
	if s.oauth != nil {
		all = append(all, s.oauth.secrets()...)
	}
	var secrets []string
	for _, v := range all {
		if len(v) >= 4 {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) == 0 || se.Err == nil {
		return
	}
	msg := se.Err.Error()
	changed := false
	for _, v := range secrets {
		if strings.Contains(msg, v) {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
			changed = true
		}
	}
	if changed {
		se.Err = errors.New(msg)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
