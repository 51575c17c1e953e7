package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/oauth2"

	"github.com/karkas/karkas/connectors"
)

// imapXOAuth2 is the client side of Google's and Microsoft's XOAUTH2 SASL
// mechanism. go-sasl has OAUTHBEARER (RFC 7628) but not XOAUTH2, which is
// what Gmail and Microsoft 365 document for IMAP, so it is written here:
// the initial response is "user=" user ^A "auth=Bearer " token ^A ^A.
type imapXOAuth2 struct {
	user, token string
	// refusal is the server's JSON error challenge, when it sent one.
	refusal string
}

func (x *imapXOAuth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the only challenge XOAUTH2 has: a refusal, as base64 JSON
// like {"status":"401","schemes":"bearer","scope":"..."}. The protocol
// wants an empty answer, after which the server says NO.
func (x *imapXOAuth2) Next(challenge []byte) ([]byte, error) {
	x.refusal = string(challenge)
	return []byte{}, nil
}

// imapConn is one logged-in connection with a watchdog: a command that
// shows no progress for the timeout, or whose context ends, closes the
// connection, which fails the command.
type imapConn struct {
	c       *imapclient.Client
	timeout time.Duration
	caps    imap.CapSet

	// kick restarts the running command's watchdog; fetches call it as
	// messages arrive so that a long FETCH is not cut while it streams.
	kick func()
}

// errIMAPTimeout marks a server that went silent.
var errIMAPTimeout = errors.New("timed out")

// do runs f (one command, or a fetch loop calling kick) under the watchdog.
func (c *imapConn) do(ctx context.Context, what string, f func() error) error {
	err := imapWatch(ctx, c.timeout, func() { _ = c.c.Close() }, func(kick func()) error {
		c.kick = kick
		defer func() { c.kick = func() {} }()
		return f()
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// watch runs f; when ctx ends or timeout passes without a kick, it calls
// kill, which must make f return.
func imapWatch(ctx context.Context, timeout time.Duration, kill func(), f func(kick func()) error) error {
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() {
		timedOut.Store(true)
		kill()
	})
	stop := context.AfterFunc(ctx, kill)
	err := f(func() { timer.Reset(timeout) })
	timer.Stop()
	stop()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case timedOut.Load():
		return fmt.Errorf("no answer within %s: %w", timeout, errIMAPTimeout)
	}
	return err
}

func (c *imapConn) close() {
	_ = c.c.Close()
}

// logout ends the session politely, without waiting long for it.
func (c *imapConn) logout(ctx context.Context) {
	_ = c.do(ctx, "logout", func() error { return c.c.Logout().Wait() })
	c.close()
}

// imapLoginError is a refused login: the credentials need fixing, so it is
// never retried and the engine stops the source (connectors.ErrUnauthorized).
type imapLoginError struct {
	// what was refused: "the password login of anna@...".
	account, addr, what, why string
}

func (e *imapLoginError) Error() string {
	return fmt.Sprintf("account %s: %s refused %s: %s", e.account, e.addr, e.what, e.why)
}

func (e *imapLoginError) Unwrap() error { return connectors.ErrUnauthorized }

// dial connects to the account's server and logs in.
func (s *IMAPSource) dial(ctx context.Context, acc *imapAccount) (*imapConn, error) {
	d := &net.Dialer{Timeout: s.timeout}
	dctx, cancel := context.WithTimeout(ctx, s.timeout)
	raw, err := d.DialContext(dctx, "tcp", acc.addr)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("account %s: connecting to %s: %w", acc.name, acc.addr, err)
	}
	tlsConfig := &tls.Config{ServerName: acc.host, MinVersion: tls.VersionTLS12, RootCAs: acc.roots}
	var c *imapclient.Client
	err = imapWatch(ctx, s.timeout, func() { raw.Close() }, func(func()) error {
		switch acc.tls {
		case TLSImplicit:
			tlsConfig.NextProtos = []string{"imap"}
			tc := tls.Client(raw, tlsConfig)
			if err := tc.Handshake(); err != nil {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			c = imapclient.New(tc, nil)
		case TLSStartTLS:
			var err error
			if c, err = imapclient.NewStartTLS(raw, &imapclient.Options{TLSConfig: tlsConfig}); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		default:
			c = imapclient.New(raw, nil)
		}
		if err := c.WaitGreeting(); err != nil {
			return fmt.Errorf("waiting for the greeting: %w", err)
		}
		return nil
	})
	if err != nil {
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("account %s: connecting to %s: %w", acc.name, acc.addr, err)
	}
	conn := &imapConn{c: c, timeout: s.timeout, kick: func() {}}
	if err := s.login(ctx, acc, conn); err != nil {
		conn.close()
		return nil, err
	}
	if err := conn.do(ctx, "capability", func() error {
		conn.caps = c.Caps()
		return nil
	}); err != nil {
		conn.close()
		return nil, fmt.Errorf("account %s: %w", acc.name, err)
	}
	return conn, nil
}

func (s *IMAPSource) login(ctx context.Context, acc *imapAccount, conn *imapConn) error {
	refused := func(method string, err error, extra string) error {
		var ie *imap.Error
		if !errors.As(err, &ie) {
			return fmt.Errorf("account %s: logging in to %s: %w", acc.name, acc.addr, err)
		}
		why := ie.Text
		if ie.Code != "" {
			why = fmt.Sprintf("[%s] %s", ie.Code, why)
		}
		return &imapLoginError{account: acc.name, addr: acc.addr, what: fmt.Sprintf("the %s login of %s", method, acc.username), why: why + extra}
	}
	if acc.tokens == nil {
		err := conn.do(ctx, "login", func() error { return conn.c.Login(acc.username, acc.password).Wait() })
		if err != nil {
			return refused("password", err, "")
		}
		return nil
	}
	// A refused cached token may have been revoked before it expired:
	// one fresh token gets a second try.
	for fresh := false; ; fresh = true {
		tok, err := acc.tokens.token(ctx, fresh)
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
				why := strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)
				if why == "" {
					why = re.Response.Status
				}
				return &imapLoginError{account: acc.name, addr: acc.tokens.tokenURL, what: "to refresh the OAuth2 token of " + acc.username, why: why}
			}
			return fmt.Errorf("account %s: refreshing the OAuth2 token: %w", acc.name, err)
		}
		sc := &imapXOAuth2{user: acc.username, token: tok.AccessToken}
		err = conn.do(ctx, "authenticate", func() error { return conn.c.Authenticate(sc) })
		if err == nil {
			return nil
		}
		var ie *imap.Error
		if !errors.As(err, &ie) || fresh {
			extra := ""
			if sc.refusal != "" {
				extra = " " + sc.refusal
			}
			return refused("XOAUTH2", err, extra)
		}
	}
}

// imapRetryable tells a dropped connection or a silent server, worth a new
// connection, from what a new connection would not change: a refused
// login, a NO or BAD answer, a certificate that does not verify, a
// cancelled pull. (A pull whose context ended stops before asking.)
func imapRetryable(err error) bool {
	var le *imapLoginError
	var ie *imap.Error
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.As(err, &le):
		return false
	case errors.As(err, &ie):
		return ie.Type == imap.StatusResponseTypeBye || ie.Code == imap.ResponseCodeUnavailable || ie.Code == imap.ResponseCodeInUse
	}
	// A certificate that does not verify, or a server that does not speak
	// TLS where the config says it does, stays so.
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	if errors.As(err, &cve) || errors.As(err, &rhe) {
		return false
	}
	var ae *connectors.AttentionError
	return !errors.As(err, &ae)
}

// imapConnPool bounds an account's connections and keeps idle ones for the
// next folder.
type imapConnPool struct {
	src   *IMAPSource
	acc   *imapAccount
	slots chan struct{}

	mu   sync.Mutex
	idle []*imapConn
}

func newIMAPConnPool(s *IMAPSource, acc *imapAccount) *imapConnPool {
	return &imapConnPool{src: s, acc: acc, slots: make(chan struct{}, acc.maxConns)}
}

// get returns an idle connection or dials one, waiting while all of the
// account's connections are busy.
func (p *imapConnPool) get(ctx context.Context) (*imapConn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		select {
		case <-c.c.Closed():
			// The server hung up while it sat idle.
		default:
			return c, nil
		}
	} else {
		p.mu.Unlock()
	}
	c, err := p.src.dial(ctx, p.acc)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// put gives back a connection that works.
func (p *imapConnPool) put(c *imapConn) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	<-p.slots
}

// drop gives back the slot of a broken connection.
func (p *imapConnPool) drop(c *imapConn) {
	if c != nil {
		c.close()
	}
	<-p.slots
}

// close logs out of the idle connections.
func (p *imapConnPool) close(ctx context.Context) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.logout(ctx)
	}
}
