package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	netmail "net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/oauth2"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

func TestDeliveryMessageID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id, from, want string
	}{
		{"d-1", "sla@agency.example", "karkas.d-1@agency.example"},
		{"sla:breach:42", "SLA@Agency.Example", "karkas.sla=breach=42@agency.example"},
		{"report.2026-10.acme", "a@b.example", "karkas.report.2026-10.acme@b.example"},
		{"x_y", "a@b", "karkas.x_y@b"},
		{"", "a@b", ""},
		{"a..b", "a@b", ""},
		{".a", "a@b", ""},
		{"a.", "a@b", ""},
		{"a b", "a@b", ""},
		{"a=b", "a@b", ""}, // "=" stands for ":" in the Message-ID
		{"a\r\nb", "a@b", ""},
		{"а", "a@b", ""}, // Cyrillic а
		{strings.Repeat("x", 101), "a@b", ""},
		{"d-1", "not an address", ""},
		{"d-1", "Name <a@b>", ""},
	} {
		got, err := DeliveryMessageID(tc.id, tc.from)
		if tc.want == "" {
			if err == nil {
				t.Errorf("DeliveryMessageID(%q, %q) = %q, want an error", tc.id, tc.from, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DeliveryMessageID(%q, %q) = %q, %v; want %q", tc.id, tc.from, got, err, tc.want)
		}
	}
	// Distinct ids stay distinct.
	a, _ := DeliveryMessageID("a:b", "x@y")
	b, _ := DeliveryMessageID("a-b", "x@y")
	if a == b {
		t.Errorf("a:b and a-b share %s", a)
	}
}

func TestNeutralizeHeaderText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Просрочено":                     "Просрочено",
		"a\r\nBcc: x@y":                  "a Bcc: x@y",
		"a\n\n\nb":                       "a b",
		"\ttab\x00nul\x1b[31m":           "tab nul [31m",
		"line\u2028sep":                  "line sep",
		"  spaces kept  inside  ":        "spaces kept  inside",
		string([]byte{'a', 0xff, 'b'}):   "a\uFFFDb",
		"=?UTF-8?q?=0D=0ABcc:_x@y?= ok ": "=?UTF-8?q?=0D=0ABcc:_x@y?= ok",
	} {
		if got := neutralizeHeaderText(in); got != want {
			t.Errorf("neutralizeHeaderText(%q) = %q, want %q", in, got, want)
		}
	}
}

func testSender(t *testing.T) *Sender {
	t.Helper()
	o := DefaultSMTPOptions()
	o.Host, o.From, o.FromName = "smtp.agency.example", smtpTestFrom, "SLA"
	s, err := NewSender(*o, connectors.Env{Now: func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestComposeIsStableAcrossAttempts(t *testing.T) {
	t.Parallel()
	s := testSender(t)
	c, err := s.compose(smtpTestMail("stable-1"))
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if _, err := c.msg.WriteTo(&first); err != nil {
		t.Fatal(err)
	}
	if _, err := c.msg.WriteTo(&second); err != nil {
		t.Fatal(err)
	}
	c2, err := s.compose(smtpTestMail("stable-1"))
	if err != nil {
		t.Fatal(err)
	}
	var third bytes.Buffer
	if _, err := c2.msg.WriteTo(&third); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) || !bytes.Equal(first.Bytes(), third.Bytes()) {
		t.Errorf("two writes of one delivery differ:\n%s\n---\n%s\n---\n%s", first.String(), second.String(), third.String())
	}
	if c.envelopeFrom != "<"+smtpTestFrom+">" || len(c.recipients) != 1 || c.recipients[0] != "<ivan@client.example>" {
		t.Errorf("envelope %s -> %v", c.envelopeFrom, c.recipients)
	}
	// The parser reads back what the sender writes, and knows karkas'
	// own mail for automated: it never counts as a human reply.
	rec, err := Parse(first.Bytes(), "Sent")
	if err != nil {
		t.Fatal(err)
	}
	if rec.ExternalID != "karkas.stable-1@agency.example" || rec.Subject != smtpTestMail("").Subject || !rec.Automated ||
		!strings.Contains(rec.Body, "Карточка ждёт ответа 3 часа.") {
		t.Errorf("parsed back: %+v", rec)
	}
}

func TestComposeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	s := testSender(t)
	m := Mail{
		DeliveryID: "bad id",
		To:         []netmail.Address{{Address: "nobody"}},
		Cc:         []netmail.Address{{Address: "a@b>, evil@x"}},
		InReplyTo:  "no-at-sign",
		References: []string{"<ok@x>", "has space@x"},
		HTML:       string([]byte{0xff}),
		Headers:    map[string]string{"Subject": "x", "X-Mailer": "y", "X-Ok": "fine"},
	}
	_, err := s.compose(m)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"delivery id", "to[0]", "cc[0]", "text: the plain-text body is required", "html: not valid UTF-8", "in_reply_to", "references[1]", `"Subject"`, `"X-Mailer"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "references[0]") || strings.Contains(err.Error(), "X-Ok") {
		t.Errorf("error blames valid input:\n%v", err)
	}
	if _, err := s.compose(Mail{DeliveryID: "x", Text: "t"}); err == nil || !strings.Contains(err.Error(), "at least one recipient") {
		t.Errorf("no recipients: %v", err)
	}
}

func TestNewSenderValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(" pass with spaces \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() SMTPOptions {
		o := DefaultSMTPOptions()
		o.Host, o.From = "smtp.example", "a@example.com"
		return *o
	}
	for _, tc := range []struct {
		name  string
		edit  func(*SMTPOptions)
		wants []string // substrings of the error; none means valid
		check func(*testing.T, *Sender)
	}{
		{name: "defaults", check: func(t *testing.T, s *Sender) {
			if s.port != 587 || s.mode != SMTPStartTLS || s.username != "a@example.com" || s.attempts != 3 {
				t.Errorf("sender %+v", s)
			}
		}},
		{name: "tls port", edit: func(o *SMTPOptions) { o.TLS = SMTPTLS }, check: func(t *testing.T, s *Sender) {
			if s.port != 465 {
				t.Errorf("port %d", s.port)
			}
		}},
		{name: "password file", edit: func(o *SMTPOptions) { o.Username, o.Password = "u", secret.FromFile(" pass with spaces ", "pw") }, check: func(t *testing.T, s *Sender) {
			if s.password != " pass with spaces " {
				t.Errorf("password %q: only the line end should go", s.password)
			}
		}},
		{name: "everything wrong", edit: func(o *SMTPOptions) {
			o.Host, o.TLS, o.Port, o.From = "", "ssl", 70000, "Agency <a@example.com>"
			o.Timeout, o.Attempts, o.RetryWait = 0, 0, -time.Second
		}, wants: []string{"host:", `tls: "ssl"`, "port: 70000", "timeout:", "attempts:", "retry_wait:", "from:"}},
		{name: "username alone", edit: func(o *SMTPOptions) { o.Username = "u" }, wants: []string{"username is set but neither"}},
		{name: "password and oauth2", edit: func(o *SMTPOptions) {
			o.Password = secret.Inline("x")
			o.OAuth2 = &OAuth2{Provider: "google", ClientID: secret.Inline("c"), RefreshToken: secret.Inline("r")}
		}, wants: []string{"password and oauth2 are both set"}},
		{name: "oauth2 incomplete", edit: func(o *SMTPOptions) { o.OAuth2 = &OAuth2{Provider: "yahoo"} },
			wants: []string{`provider: "yahoo"`, "client_id: required", "refresh_token: set"}},
		{name: "oauth2 bad url", edit: func(o *SMTPOptions) {
			o.OAuth2 = &OAuth2{TokenURL: "ftp://x", ClientID: secret.Inline("c"), RefreshToken: secret.Inline("r")}
		},
			wants: []string{"token_url"}},
		{name: "microsoft", edit: func(o *SMTPOptions) {
			o.OAuth2 = &OAuth2{Provider: "microsoft", ClientID: secret.Inline("c"), RefreshToken: secret.FromFile("pass with spaces", "pw")}
		}, check: func(t *testing.T, s *Sender) {
			if s.oauth == nil || !strings.Contains(s.oauth.tokenURL, "login.microsoftonline.com/common/") ||
				strings.Join(s.oauth.scopes, " ") != "https://outlook.office.com/SMTP.Send offline_access" || s.oauth.refresh != "pass with spaces" {
				t.Errorf("tokens %+v", s.oauth)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			if tc.edit != nil {
				tc.edit(&o)
			}
			s, err := NewSender(o, connectors.Env{BaseDir: dir})
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSMTPOptionTags(t *testing.T) {
	t.Parallel()
	for _, typ := range []reflect.Type{reflect.TypeFor[SMTPOptions](), reflect.TypeFor[OAuth2]()} {
		for f := range typ.Fields() {
			if f.Tag.Get("yaml") == "" || f.Tag.Get("doc") == "" || strings.Contains(f.Tag.Get("doc"), "\n") {
				t.Errorf("%s.%s: tags %q", typ.Name(), f.Name, f.Tag)
			}
			// The credentials are secret.Values (with their _file keys),
			// kept as written: a password may begin or end with a space.
			if isSecret := f.Type == reflect.TypeFor[secret.Value](); isSecret != (f.Name == "Password" || f.Name == "ClientID" || f.Name == "ClientSecret" || f.Name == "RefreshToken") ||
				isSecret && f.Tag.Get("exact") != "true" {
				t.Errorf("%s.%s: %s, tags %q", typ.Name(), f.Name, f.Type, f.Tag)
			}
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	t.Parallel()
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Status: fmt.Sprint(code)} }
	for _, tc := range []struct {
		name      string
		stage     string
		err       error
		permanent bool
		code      int
		enhanced  string
		wantStage string
	}{
		{"451", StageRcptTo, &textproto.Error{Code: 451, Msg: "4.3.0 try later"}, false, 451, "4.3.0", StageRcptTo},
		{"421", StageConnect, &textproto.Error{Code: 421, Msg: "closing"}, false, 421, "", StageConnect},
		{"550", StageRcptTo, &textproto.Error{Code: 550, Msg: "5.1.1 no such user"}, true, 550, "5.1.1", StageRcptTo},
		{"auth 535", StageConnect, fmt.Errorf("SMTP AUTH failed: %w", &textproto.Error{Code: 535, Msg: "5.7.8 bad"}), true, 535, "5.7.8", StageLogin},
		{"auth 454", StageConnect, fmt.Errorf("SMTP AUTH failed: %w", &textproto.Error{Code: 454, Msg: "4.7.0 later"}), false, 454, "4.7.0", StageLogin},
		{"no xoauth2", StageConnect, gomail.ErrXOauth2AuthNotSupported, true, 0, "", StageLogin},
		{"no starttls", StageConnect, errors.New(`STARTTLS mode set to: "TLSMandatory", but target host does not support STARTTLS`), true, 0, "", StageConnect},
		{"refused", StageConnect, &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false, 0, "", StageConnect},
		{"timeout", StageMessageEnd, timeoutErr{}, false, 0, "", StageMessageEnd},
		{"eof", StageData, io.EOF, false, 0, "", StageData},
		{"unknown ca", StageConnect, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true, 0, "", StageConnect},
		{"plain port", StageConnect, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true, 0, "", StageConnect},
		{"grant revoked", StageToken, &oauth2.RetrieveError{Response: resp(400), ErrorCode: "invalid_grant"}, true, 0, "", StageToken},
		{"token 503", StageToken, &oauth2.RetrieveError{Response: resp(503), ErrorCode: "503"}, false, 0, "", StageToken},
		{"token 429", StageToken, &oauth2.RetrieveError{Response: resp(429), ErrorCode: "429"}, false, 0, "", StageToken},
		{"cancelled", StageConnect, context.Canceled, false, 0, "", StageConnect},
	} {
		se := classify(tc.stage, tc.err)
		if se.Permanent != tc.permanent || se.Code != tc.code || se.EnhancedCode != tc.enhanced || se.Stage != tc.wantStage || se.MayHaveReached {
			t.Errorf("%s: %+v; want permanent %v, code %d %q, stage %q", tc.name, se, tc.permanent, tc.code, tc.enhanced, tc.wantStage)
		}
		if !errors.Is(se, tc.err) {
			t.Errorf("%s: the SendError does not wrap its cause", tc.name)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	s := testSender(t)
	s.password = "hunter2-secret"
	s.lastToken = "ya29.token"
	se := &SendError{Stage: StageLogin, Err: errors.New("server said: bad hunter2-secret and ya29.token")}
	s.redact(se)
	if msg := se.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "ya29") || !strings.Contains(msg, "[redacted]") {
		t.Errorf("redacted: %s", msg)
	}
}
