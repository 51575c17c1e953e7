package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtpd "github.com/emersion/go-smtp"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

// Cases Mailpit cannot play: XOAUTH2 (it has no such mechanism), a
// connection lost after the message was sent, a server that never
// answers. A small go-smtp server stands in for them.

// fakeSMTP is a go-smtp backend that records what it was told.
type fakeSMTP struct {
	mu       sync.Mutex
	tokens   []string // bearer tokens presented, in order
	users    []string
	accepted map[string]bool // tokens that log in
	data     int             // DATA commands whose message was read
	// dropAfterData hangs up after reading a message, without answering.
	dropAfterData bool
}

func (f *fakeSMTP) NewSession(c *smtpd.Conn) (smtpd.Session, error) {
	return &fakeSession{f: f, conn: c}, nil
}

type fakeSession struct {
	f      *fakeSMTP
	conn   *smtpd.Conn
	authed bool
}

func (s *fakeSession) AuthMechanisms() []string { return []string{"XOAUTH2"} }

func (s *fakeSession) Auth(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, errors.New("unsupported mechanism")
	}
	return &xoauth2Server{s: s}, nil
}

// xoauth2Server checks the initial response of RFC-less but documented
// XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A. A refused token is
// answered as Google does: a base64 JSON challenge, then, after the
// client's empty line, 535.
type xoauth2Server struct {
	s          *fakeSession
	challenged bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.challenged {
		if len(resp) != 0 {
			return nil, false, fmt.Errorf("want an empty answer to the error challenge, got %q", resp)
		}
		return nil, false, &smtpd.SMTPError{Code: 535, EnhancedCode: smtpd.EnhancedCode{5, 7, 8}, Message: "Username and Password not accepted"}
	}
	fields := strings.Split(string(resp), "\x01")
	if len(fields) != 4 || fields[2] != "" || fields[3] != "" || !strings.HasPrefix(fields[0], "user=") || !strings.HasPrefix(fields[1], "auth=Bearer ") {
		return nil, false, &smtpd.SMTPError{Code: 501, EnhancedCode: smtpd.EnhancedCode{5, 5, 2}, Message: fmt.Sprintf("malformed XOAUTH2 response %q", resp)}
	}
	user, token := strings.TrimPrefix(fields[0], "user="), strings.TrimPrefix(fields[1], "auth=Bearer ")
	f := x.s.f
	f.mu.Lock()
	f.users = append(f.users, user)
	f.tokens = append(f.tokens, token)
	ok := f.accepted[token]
	f.mu.Unlock()
	if !ok {
		x.challenged = true
		return []byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	x.s.authed = true
	return nil, true, nil
}

func (s *fakeSession) Mail(string, *smtpd.MailOptions) error {
	if !s.authed {
		return &smtpd.SMTPError{Code: 530, EnhancedCode: smtpd.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	return nil
}

func (s *fakeSession) Rcpt(string, *smtpd.RcptOptions) error { return nil }

func (s *fakeSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.f.mu.Lock()
	s.f.data++
	drop := s.f.dropAfterData
	s.f.mu.Unlock()
	if drop {
		_ = s.conn.Conn().Close()
		return errors.New("hung up")
	}
	return nil
}

func (s *fakeSession) Reset()        {}
func (s *fakeSession) Logout() error { return nil }

// startFakeSMTP serves f on a loopback port until the test ends.
func startFakeSMTP(t *testing.T, f *fakeSMTP) (host string, port int) {
	t.Helper()
	srv := smtpd.NewServer(f)
	srv.Domain = "fake.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// tokenEndpoint is a fake OAuth2 token endpoint that hands out tok-1,
// tok-2, ... for a refresh token, rotating it to rt-2, rt-3, ... and
// makes every token expire at once, so that each use refreshes.
type tokenEndpoint struct {
	mu       sync.Mutex
	requests []map[string]string
	refuse   bool
}

func (e *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	req := map[string]string{}
	for k := range r.PostForm {
		req[k] = r.PostForm.Get(k)
	}
	e.requests = append(e.requests, req)
	w.Header().Set("Content-Type", "application/json")
	want := fmt.Sprintf("rt-%d", len(e.requests))
	if e.refuse || req["grant_type"] != "refresh_token" || req["refresh_token"] != want || req["client_id"] != "karkas-app" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked; got %s"}`, req["refresh_token"])
		return
	}
	n := len(e.requests)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token":  fmt.Sprintf("tok-%d", n),
		"token_type":    "Bearer",
		"expires_in":    1, // inside oauth2's 10s margin: refreshed on every use
		"refresh_token": fmt.Sprintf("rt-%d", n+1),
	})
}

// oauthSender returns a sender logging in to the fake with XOAUTH2 through
// a token endpoint.
func oauthSender(t *testing.T, host string, port int, tokenURL string) *Sender {
	t.Helper()
	o := DefaultSMTPOptions()
	o.Host, o.Port, o.TLS = host, port, SMTPNoTLS
	o.From = smtpTestFrom
	o.Timeout = 10 * time.Second
	o.OAuth2 = &OAuth2{TokenURL: tokenURL, ClientID: secret.Inline("karkas-app"), ClientSecret: secret.Inline("app-secret"), RefreshToken: secret.Inline("rt-1"), Scopes: []string{"https://mail.google.com/"}}
	s, err := NewSender(*o, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	s.wait = (&smtpWaits{}).wait
	return s
}

func TestSMTPXOAUTH2(t *testing.T) {
	t.Parallel()
	f := &fakeSMTP{accepted: map[string]bool{"tok-1": true, "tok-2": true}}
	host, port := startFakeSMTP(t, f)
	te := &tokenEndpoint{}
	ts := httptest.NewServer(te)
	defer ts.Close()
	s := oauthSender(t, host, port, ts.URL)

	for _, id := range []string{"oauth-1", "oauth-2"} {
		if _, err := s.Send(context.Background(), smtpTestMail(id)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.tokens, ",") != "tok-1,tok-2" || strings.Join(f.users, ",") != smtpTestFrom+","+smtpTestFrom || f.data != 2 {
		t.Errorf("server saw tokens %v for users %v and %d messages; want tok-1 then the refreshed tok-2, as %s", f.tokens, f.users, f.data, smtpTestFrom)
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	if len(te.requests) != 2 || te.requests[1]["refresh_token"] != "rt-2" || te.requests[0]["client_secret"] != "app-secret" || te.requests[0]["scope"] != "https://mail.google.com/" {
		t.Errorf("token requests %v: want two, the second with the rotated refresh token", te.requests)
	}
}

func TestSMTPXOAUTH2Refused(t *testing.T) {
	t.Parallel()
	f := &fakeSMTP{accepted: map[string]bool{}} // the server takes no token
	host, port := startFakeSMTP(t, f)
	te := &tokenEndpoint{}
	ts := httptest.NewServer(te)
	defer ts.Close()

	_, err := oauthSender(t, host, port, ts.URL).Send(context.Background(), smtpTestMail("oauth-refused"))
	se := sendErr(t, err)
	if !se.Permanent || se.Code != 535 || se.Stage != StageLogin || se.Attempts != 1 {
		t.Errorf("refused token: %+v, want a permanent 535 while logging in", se)
	}
	if strings.Contains(err.Error(), "tok-1") || strings.Contains(err.Error(), "app-secret") {
		t.Errorf("the error names a secret: %v", err)
	}

	// A refresh token the provider revoked is permanent too, and found
	// before any connection.
	te.refuse = true
	_, err = oauthSender(t, host, port, ts.URL).Send(context.Background(), smtpTestMail("oauth-revoked"))
	se = sendErr(t, err)
	if !se.Permanent || se.Stage != StageToken || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("revoked refresh token: %+v, want permanent while getting a token", se)
	}
	if strings.Contains(err.Error(), "rt-") {
		t.Errorf("the error names the refresh token: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data != 0 {
		t.Errorf("server read %d messages, want none", f.data)
	}
}

func TestSMTPXOAUTH2NotOffered(t *testing.T) {
	t.Parallel()
	srv := fakeNoAuth(t)
	te := &tokenEndpoint{}
	ts := httptest.NewServer(te)
	defer ts.Close()
	_, err := oauthSender(t, srv.host, srv.port, ts.URL).Send(context.Background(), smtpTestMail("oauth-no-mech"))
	if se := sendErr(t, err); !se.Permanent || se.Stage != StageLogin {
		t.Errorf("server without AUTH: %+v, want permanent while logging in", se)
	}
}

// fakeNoAuth is a go-smtp server that offers no AUTH at all.
type noAuthBackend struct{}

func (noAuthBackend) NewSession(*smtpd.Conn) (smtpd.Session, error) { return noAuthSession{}, nil }

type noAuthSession struct{}

func (noAuthSession) Mail(string, *smtpd.MailOptions) error { return nil }
func (noAuthSession) Rcpt(string, *smtpd.RcptOptions) error { return nil }
func (noAuthSession) Data(r io.Reader) error                { _, err := io.Copy(io.Discard, r); return err }
func (noAuthSession) Reset()                                {}
func (noAuthSession) Logout() error                         { return nil }

type hostPort struct {
	host string
	port int
}

func fakeNoAuth(t *testing.T) hostPort {
	t.Helper()
	srv := smtpd.NewServer(noAuthBackend{})
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	a := ln.Addr().(*net.TCPAddr)
	return hostPort{a.IP.String(), a.Port}
}

func TestSMTPLostAnswerMayHaveReached(t *testing.T) {
	t.Parallel()
	f := &fakeSMTP{accepted: map[string]bool{"tok-1": true}, dropAfterData: true}
	host, port := startFakeSMTP(t, f)
	ts := httptest.NewServer(&tokenEndpoint{})
	defer ts.Close()

	res, err := oauthSender(t, host, port, ts.URL).Send(context.Background(), smtpTestMail("lost-answer"))
	se := sendErr(t, err)
	if res.MessageID != "karkas.lost-answer@agency.example" || res.Attempts != 1 {
		t.Errorf("result %+v: the outbox needs the Message-ID to look for", res)
	}
	if se.Permanent || !se.MayHaveReached || se.Stage != StageMessageEnd || se.Attempts != 1 {
		t.Errorf("lost answer: %+v, want MayHaveReached at the end of the message, not retried", se)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data != 1 {
		t.Errorf("server read %d messages, want exactly 1: no blind retry", f.data)
	}
}

// silentServer accepts connections and never says a word; each accepted
// connection is announced on the channel (when there is room).
func silentServer(t *testing.T) (hostPort, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	a := ln.Addr().(*net.TCPAddr)
	return hostPort{a.IP.String(), a.Port}, accepted
}

func silentSender(t *testing.T, hp hostPort, timeout time.Duration) (*Sender, *smtpWaits) {
	t.Helper()
	o := DefaultSMTPOptions()
	o.Host, o.Port, o.TLS, o.From = hp.host, hp.port, SMTPNoTLS, smtpTestFrom
	o.Timeout, o.Attempts = timeout, 2
	s, err := NewSender(*o, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := &smtpWaits{}
	s.wait = w.wait
	return s, w
}

func TestSMTPSilentServerTimesOut(t *testing.T) {
	t.Parallel()
	hp, _ := silentServer(t)
	s, w := silentSender(t, hp, 300*time.Millisecond)
	_, err := s.Send(context.Background(), smtpTestMail("silent"))
	se := sendErr(t, err)
	if se.Permanent || se.MayHaveReached || se.Stage != StageConnect || se.Attempts != 2 || len(w.got) != 1 {
		t.Errorf("silent server: %+v after waits %v, want temporary while connecting after 2 attempts", se, w.got)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v does not wrap a timeout", err)
	}
}

func TestSMTPCancelEndsSend(t *testing.T) {
	t.Parallel()
	hp, accepted := silentServer(t)
	// A timeout longer than any test: only the cancellation can end it.
	s, w := silentSender(t, hp, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted // the sender is connected and waits for a greeting
		cancel()
	}()
	_, err := s.Send(ctx, smtpTestMail("cancelled"))
	if se := sendErr(t, err); se.Permanent || se.Attempts != 1 || len(w.got) != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %+v after waits %v, want a temporary error wrapping context.Canceled after 1 attempt", se, w.got)
	}
}

func TestSMTPTokenEndpointDown(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream trouble", http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	f := &fakeSMTP{accepted: map[string]bool{}}
	host, port := startFakeSMTP(t, f)
	s := oauthSender(t, host, port, ts.URL)
	_, err := s.Send(context.Background(), smtpTestMail("token-down"))
	se := sendErr(t, err)
	if se.Permanent || se.Stage != StageToken || se.Attempts != DefaultSMTPAttempts {
		t.Errorf("token endpoint 503: %+v, want temporary while getting a token, retried", se)
	}
}
