package email

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

func TestIMAPXOAuth2Client(t *testing.T) {
	t.Parallel()
	c := &imapXOAuth2{user: "anna@agency.example", token: "ya29.token"}
	mech, ir, err := c.Start()
	if err != nil || mech != "XOAUTH2" {
		t.Fatalf("Start = %q, %v", mech, err)
	}
	// The form Google and Microsoft document.
	if want := "user=anna@agency.example\x01auth=Bearer ya29.token\x01\x01"; string(ir) != want {
		t.Errorf("initial response %q, want %q", ir, want)
	}
	resp, err := c.Next([]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Errorf("the answer to a refusal must be empty: %q, %v", resp, err)
	}
	if !strings.Contains(c.refusal, `"status":"401"`) {
		t.Errorf("refusal not kept: %q", c.refusal)
	}
}

func TestIMAPCursor(t *testing.T) {
	t.Parallel()
	c, err := parseIMAPCursor("")
	if err != nil || c.V != imapCursorVersion || len(c.Accounts) != 0 {
		t.Fatalf("empty cursor: %+v, %v", c, err)
	}
	in := `{"v":1,"accounts":{"anna":{"INBOX":{"uidvalidity":7,"uid":42,"modseq":9}}}}`
	c, err = parseIMAPCursor(in)
	if err != nil || c.Accounts["anna"]["INBOX"] != (imapFolderState{UIDValidity: 7, UID: 42, ModSeq: 9}) {
		t.Fatalf("cursor %+v, %v", c, err)
	}
	for _, bad := range []string{"{", `{"v":2,"accounts":{}}`, "fingerprint-of-files"} {
		if _, err := parseIMAPCursor(bad); err == nil {
			t.Errorf("%q was read as a cursor", bad)
		}
	}
}

func TestIMAPWatch(t *testing.T) {
	t.Parallel()
	t.Run("silence is cut", func(t *testing.T) {
		t.Parallel()
		killed := make(chan struct{})
		err := imapWatch(context.Background(), 20*time.Millisecond, func() { close(killed) }, func(func()) error {
			<-killed
			return errors.New("use of closed connection")
		})
		if !errors.Is(err, errIMAPTimeout) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("kicks keep it alive", func(t *testing.T) {
		t.Parallel()
		err := imapWatch(context.Background(), time.Hour, func() { t.Error("killed") }, func(kick func()) error {
			kick()
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	t.Run("context ends it", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		killed := make(chan struct{})
		err := imapWatch(ctx, time.Hour, func() { close(killed) }, func(func()) error {
			cancel()
			<-killed
			return errors.New("use of closed connection")
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestIMAPRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("FETCH: %w", errors.New("unexpected EOF")), true},
		{fmt.Errorf("FETCH: %w", errIMAPTimeout), true},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox doesn't exist"}, false},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable}, true},
		{&imap.Error{Type: imap.StatusResponseTypeBye, Text: "shutting down"}, true},
		{&imapLoginError{account: "a"}, false},
		{&connectors.AttentionError{Why: "gone"}, false},
		{context.Canceled, false},
	}
	for _, tt := range tests {
		if got := imapRetryable(tt.err); got != tt.want {
			t.Errorf("imapRetryable(%v) = %v", tt.err, got)
		}
	}
	if !errors.Is(&imapLoginError{}, connectors.ErrUnauthorized) {
		t.Error("a refused login must be ErrUnauthorized for the engine")
	}
}

func TestJoinIMAPErrors(t *testing.T) {
	t.Parallel()
	a1 := &connectors.AttentionError{Why: "account a: no folder \"X\""}
	a2 := &connectors.AttentionError{Why: "account b: folder \"Y\" cannot be read"}
	hard := errors.New("account c: connecting: refused")
	if err := joinIMAPErrors([]error{nil, nil}); err != nil {
		t.Errorf("no errors: %v", err)
	}
	if err := joinIMAPErrors([]error{nil, a1}); err != a1 {
		t.Errorf("one attention: %v", err)
	}
	var ae *connectors.AttentionError
	if err := joinIMAPErrors([]error{a1, a2}); !errors.As(err, &ae) || !strings.Contains(ae.Why, "account a") || !strings.Contains(ae.Why, "account b") {
		t.Errorf("two attentions: %v", err)
	}
	err := joinIMAPErrors([]error{a1, hard})
	if !errors.Is(err, hard) || !strings.Contains(err.Error(), "account a") {
		t.Errorf("a hard error must win and keep the rest: %v", err)
	}
	if err := joinIMAPErrors([]error{a1, &imapLoginError{account: "d"}}); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("a refused login must stay visible: %v", err)
	}
}

func TestOpenIMAP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("pw", "s3cret \n")
	write("empty", "\n")
	write("rt", "1//refresh\n")

	ok := func(a IMAPAccount) IMAPAccount {
		if a.Host == "" {
			a.Host = "imap.example.com"
		}
		if a.Username == "" {
			a.Username = "anna@agency.example"
		}
		return a
	}
	tests := []struct {
		name     string
		accounts []IMAPAccount
		edit     func(*IMAPOptions)
		want     []string // error parts; none means it opens
		check    func(t *testing.T, s *IMAPSource)
	}{
		{name: "defaults", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("pw")})}, check: func(t *testing.T, s *IMAPSource) {
			a := s.accounts[0]
			if a.name != "anna@agency.example" || a.addr != "imap.example.com:993" || a.tls != TLSImplicit || a.maxConns != 2 || a.password != "pw" || !a.own["anna@agency.example"] {
				t.Errorf("account %+v", a)
			}
			if s.batchSize != DefaultIMAPBatchSize || s.timeout != DefaultIMAPTimeout || s.retries != DefaultIMAPRetries || s.maxBytes != 25<<20 {
				t.Errorf("source %+v", s)
			}
		}},
		{name: "starttls port", accounts: []IMAPAccount{ok(IMAPAccount{TLS: "starttls", Password: secret.FromFile("s3cret ", "pw"), Addresses: []string{" Sales@Agency.example "}})}, check: func(t *testing.T, s *IMAPSource) {
			a := s.accounts[0]
			if a.addr != "imap.example.com:143" || a.password != "s3cret " || !a.own["sales@agency.example"] {
				t.Errorf("account %+v", a)
			}
		}},
		{name: "google oauth2", accounts: []IMAPAccount{ok(IMAPAccount{OAuth2: &OAuth2{Provider: "google", ClientID: secret.Inline("id"), ClientSecret: secret.Inline("cs"), RefreshToken: secret.FromFile("1//refresh", "rt")}})}, check: func(t *testing.T, s *IMAPSource) {
			// Google keeps the consent's scopes: none is named.
			ts := s.accounts[0].tokens
			if ts == nil || ts.tokenURL != googleTokenURL || ts.scopes != nil || ts.refresh != "1//refresh" || ts.clientSecret != "cs" || ts.clientID != "id" {
				t.Errorf("tokens %+v", ts)
			}
		}},
		{name: "microsoft oauth2", accounts: []IMAPAccount{ok(IMAPAccount{OAuth2: &OAuth2{Provider: "microsoft", Tenant: "agency.example", ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}})}, check: func(t *testing.T, s *IMAPSource) {
			ts := s.accounts[0].tokens
			if ts.tokenURL != "https://login.microsoftonline.com/agency.example/oauth2/v2.0/token" ||
				!reflect.DeepEqual(ts.scopes, []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"}) {
				t.Errorf("tokens %+v", ts)
			}
		}},
		{name: "nothing", edit: func(o *IMAPOptions) { o.BatchSize, o.Timeout, o.MaxMessageBytes, o.Retries = 0, 0, 0, -1 },
			want: []string{"accounts: at least one", "batch_size", "timeout", "max_message_bytes", "retries"}},
		{name: "no login", accounts: []IMAPAccount{ok(IMAPAccount{})}, want: []string{"accounts[0]: account anna@agency.example: set password"}},
		{name: "two logins", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), OAuth2: &OAuth2{}})}, want: []string{"exclude each other"}},
		{name: "bad tls", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), TLS: "ssl"})}, want: []string{`tls: "ssl" is not one of: imaps, starttls, none`}},
		{name: "host with port", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), Host: "imap.example.com:993"})}, want: []string{`host: "imap.example.com:993" is not a host name (write the port in port:)`}},
		{name: "ipv6 host", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), Host: "::1", TLS: "none"})}, check: func(t *testing.T, s *IMAPSource) {
			if a := s.accounts[0]; a.addr != "[::1]:143" {
				t.Errorf("addr %q", a.addr)
			}
		}},
		{name: "same name twice", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a")}), ok(IMAPAccount{Password: secret.Inline("b")})}, want: []string{`accounts[1]: name "anna@agency.example" is also accounts[0]'s`}},
		{name: "oauth2 without provider", accounts: []IMAPAccount{ok(IMAPAccount{OAuth2: &OAuth2{ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}})}, want: []string{"set provider"}},
		{name: "oauth2 without refresh token", accounts: []IMAPAccount{ok(IMAPAccount{OAuth2: &OAuth2{Provider: "google", ClientID: secret.Inline("id")}})}, want: []string{"refresh_token: set"}},
		{name: "bad address", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), Addresses: []string{"sales"}})}, want: []string{`addresses[0]: "sales"`}},
		{name: "ca_file without tls", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), TLS: "none", CAFile: "pw"})}, want: []string{"ca_file: the account has tls: none"}},
		{name: "ca_file not PEM", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), CAFile: "pw"})}, want: []string{"holds no PEM certificate"}},
		{name: "empty folder", accounts: []IMAPAccount{ok(IMAPAccount{Password: secret.Inline("a"), Folders: []string{"INBOX", " "}})}, want: []string{"folders[1]: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := NewIMAPOptions()
			o.Accounts = tt.accounts
			if tt.edit != nil {
				tt.edit(o)
			}
			s, err := OpenIMAP(o, connectors.Env{BaseDir: dir})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, s)
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestIMAPOptionTags(t *testing.T) {
	t.Parallel()
	for _, typ := range []reflect.Type{reflect.TypeFor[IMAPOptions](), reflect.TypeFor[IMAPAccount](), reflect.TypeFor[OAuth2]()} {
		for f := range typ.Fields() {
			if f.Tag.Get("yaml") == "" || f.Tag.Get("doc") == "" || strings.Contains(f.Tag.Get("doc"), "\n") {
				t.Errorf("%s.%s: tags %q", typ.Name(), f.Name, f.Tag)
			}
		}
	}
}
