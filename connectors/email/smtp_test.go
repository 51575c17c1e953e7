package email

import (
	"context"
	"errors"
	"mime"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/secret"
)

// Tests of the Sender against a real SMTP server (Mailpit, started per
// test by internal/mailtest), read back through Mailpit's API.

const smtpTestFrom = "sla@agency.example"

// smtpWaits records the waits between attempts instead of sleeping, and
// runs between (if set) during each.
type smtpWaits struct {
	got     []time.Duration
	between func(n int) error
}

func (w *smtpWaits) wait(_ context.Context, d time.Duration) error {
	w.got = append(w.got, d)
	if w.between != nil {
		return w.between(len(w.got))
	}
	return nil
}

// mailpitSender returns a sender to srv (no TLS unless edit says so) with
// retries that do not sleep; edit adjusts the options.
func mailpitSender(t *testing.T, srv *mailtest.SMTPServer, edit func(*SMTPOptions), opts ...SenderOption) (*Sender, *smtpWaits) {
	t.Helper()
	o := DefaultSMTPOptions()
	o.Host, o.Port, o.TLS = srv.Host, srv.Port, SMTPNoTLS
	o.From, o.FromName = smtpTestFrom, "Агентство «Каркас» SLA"
	o.Timeout = 10 * time.Second
	o.RetryWait = 100 * time.Millisecond
	if edit != nil {
		edit(o)
	}
	s, err := NewSender(*o, connectors.Env{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w := &smtpWaits{}
	s.wait = w.wait
	return s, w
}

func smtpTestMail(id string) Mail {
	return Mail{
		DeliveryID: id,
		To:         []netmail.Address{{Name: "Иван Петров", Address: "ivan@client.example"}},
		Subject:    "SLA под угрозой: ответ клиенту «Ромашка»",
		Text:       "Карточка ждёт ответа 3 часа.\nhttps://trello.com/c/AbCd1234\n",
		HTML:       "<p>Карточка ждёт ответа <b>3 часа</b>.</p>",
	}
}

// sendErr asserts err is a *SendError and returns it.
func sendErr(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SendError", err, err)
	}
	return se
}

func TestSMTPSendNotification(t *testing.T) {
	t.Parallel()
	srv := mailtest.Mailpit(t)
	s, _ := mailpitSender(t, srv, nil)
	date := time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("MSK", 3*3600))
	m := smtpTestMail("sla:breach:42")
	m.Cc = []netmail.Address{{Name: "Lead", Address: "lead@agency.example"}}
	m.InReplyTo = "CAB+client.1@mail.client.example"
	m.References = []string{"<root.0@mail.client.example>"}
	m.Date = date
	m.Headers = map[string]string{"X-Karkas-Client": "Ромашка"}

	res, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	wantID := "karkas.sla=breach=42@agency.example"
	if res.MessageID != wantID || res.Attempts != 1 {
		t.Errorf("result = %+v, want message id %s after 1 attempt", res, wantID)
	}
	list := srv.Messages(t)
	if len(list) != 1 {
		t.Fatalf("mailpit holds %d messages, want 1", len(list))
	}
	if !strings.Contains(res.Response, list[0].ID) {
		t.Errorf("response %q does not name mailpit's id %s", res.Response, list[0].ID)
	}
	got := srv.Message(t, list[0].ID)

	if got.From == nil || got.From.Address != smtpTestFrom || got.From.Name != "Агентство «Каркас» SLA" {
		t.Errorf("from = %+v", got.From)
	}
	if len(got.To) != 1 || got.To[0] != (mailtest.Address{Name: "Иван Петров", Address: "ivan@client.example"}) {
		t.Errorf("to = %+v", got.To)
	}
	if len(got.Cc) != 1 || got.Cc[0].Address != "lead@agency.example" {
		t.Errorf("cc = %+v", got.Cc)
	}
	if got.Subject != m.Subject {
		t.Errorf("subject = %q, want %q", got.Subject, m.Subject)
	}
	if got.MessageID != wantID {
		t.Errorf("message id = %q, want %q", got.MessageID, wantID)
	}
	if !got.Date.Equal(date) {
		t.Errorf("date = %s, want %s", got.Date, date)
	}
	// Mailpit's header list is the source's: encoded words stay encoded.
	header := func(name string) string {
		v, err := new(mime.WordDecoder).DecodeHeader(strings.Join(got.Headers[name], " | "))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return v
	}
	for name, want := range map[string]string{
		"Auto-Submitted":           "auto-generated",
		"In-Reply-To":              "<CAB+client.1@mail.client.example>",
		"References":               "<root.0@mail.client.example> <CAB+client.1@mail.client.example>",
		"X-Karkas-Client":          "Ромашка",
		"X-Auto-Response-Suppress": "OOF, AutoReply",
	} {
		if got := header(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(got.Text, "Карточка ждёт ответа 3 часа.") || !strings.Contains(got.Text, "https://trello.com/c/AbCd1234") {
		t.Errorf("text part = %q", got.Text)
	}
	if !strings.Contains(got.HTML, "<b>3 часа</b>") {
		t.Errorf("html part = %q", got.HTML)
	}

	// On the wire, headers are 7-bit: Cyrillic travels RFC 2047-encoded.
	raw := string(srv.Raw(t, list[0].ID))
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for i, r := range head {
		if r > 127 {
			t.Fatalf("raw header has a non-ASCII byte at %d:\n%s", i, head)
		}
	}
	if !regexp.MustCompile(`\r\nSubject:\s+=\?UTF-8\?`).MatchString(head) || !strings.Contains(raw, "multipart/alternative") {
		t.Errorf("raw message:\n%s", raw)
	}
}

func TestSMTPResendIsTheSameMessage(t *testing.T) {
	t.Parallel()
	// Mailpit drops a message whose Message-ID it holds, as Gmail folds
	// copies: a resend of one delivery must carry the same id.
	srv := mailtest.Mailpit(t, mailtest.MailpitIgnoreDuplicateIDs())
	s, _ := mailpitSender(t, srv, nil)
	first, err := s.Send(context.Background(), smtpTestMail("d-7"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Send(context.Background(), smtpTestMail("d-7"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Send(context.Background(), smtpTestMail("d-8"))
	if err != nil {
		t.Fatal(err)
	}
	if first.MessageID != again.MessageID || first.MessageID == other.MessageID {
		t.Errorf("message ids %s, %s, %s: want the first two equal and the third apart", first.MessageID, again.MessageID, other.MessageID)
	}
	if n := len(srv.Messages(t)); n != 2 {
		t.Errorf("mailpit holds %d messages, want 2 (d-7 once, d-8)", n)
	}
}

func TestSMTPPasswordAuth(t *testing.T) {
	t.Parallel()
	const password = "Пароль-с3крет"
	srv := mailtest.Mailpit(t, mailtest.MailpitAuth("agent", password))

	s, _ := mailpitSender(t, srv, func(o *SMTPOptions) { o.Username, o.Password = "agent", secret.Inline(password) })
	if _, err := s.Send(context.Background(), smtpTestMail("auth-ok")); err != nil {
		t.Fatalf("right password: %v", err)
	}

	const wrong = "not-the-Пароль"
	s, w := mailpitSender(t, srv, func(o *SMTPOptions) { o.Username, o.Password = "agent", secret.Inline(wrong) })
	_, err := s.Send(context.Background(), smtpTestMail("auth-wrong"))
	se := sendErr(t, err)
	if !se.Permanent || se.MayHaveReached || se.Code != 535 || se.Stage != StageLogin || se.Attempts != 1 || len(w.got) != 0 {
		t.Errorf("wrong password: %+v after waits %v; want a permanent 535 while logging in, not retried", se, w.got)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), password) {
		t.Errorf("the error names a password: %v", err)
	}

	s, _ = mailpitSender(t, srv, nil) // no credentials at all
	_, err = s.Send(context.Background(), smtpTestMail("auth-none"))
	if se := sendErr(t, err); !se.Permanent || se.Code != 530 || se.Stage != StageMailFrom {
		t.Errorf("no login: %+v, want a permanent 530 at MAIL FROM", se)
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("mailpit holds %d messages, want only the one sent with the right password", n)
	}
}

func TestSMTPTemporaryFailureIsRetried(t *testing.T) {
	t.Parallel()
	srv := mailtest.Mailpit(t, mailtest.MailpitChaos())
	srv.SetChaos(t, mailtest.Chaos{Recipient: mailtest.ChaosTrigger{ErrorCode: 451, Probability: 100}})
	s, w := mailpitSender(t, srv, nil)
	// The server recovers while the sender waits before its second try.
	w.between = func(int) error { return srv.PutChaos(mailtest.Chaos{}) }

	res, err := s.Send(context.Background(), smtpTestMail("retry-1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || !slices.Equal(w.got, []time.Duration{100 * time.Millisecond}) {
		t.Errorf("attempts %d after waits %v, want 2 after one wait of 100ms", res.Attempts, w.got)
	}
	if list := srv.Messages(t); len(list) != 1 || list[0].MessageID != res.MessageID {
		t.Errorf("mailpit holds %+v, want the one message", list)
	}
}

func TestSMTPTemporaryFailureOutlastsAttempts(t *testing.T) {
	t.Parallel()
	srv := mailtest.Mailpit(t, mailtest.MailpitChaos())
	srv.SetChaos(t, mailtest.Chaos{Sender: mailtest.ChaosTrigger{ErrorCode: 421, Probability: 100}})
	s, w := mailpitSender(t, srv, func(o *SMTPOptions) { o.Attempts = 3 })

	_, err := s.Send(context.Background(), smtpTestMail("retry-2"))
	se := sendErr(t, err)
	if se.Permanent || se.MayHaveReached || se.Code != 421 || se.Stage != StageMailFrom || se.Attempts != 3 {
		t.Errorf("error %+v, want a temporary 421 at MAIL FROM after 3 attempts", se)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(w.got, want) {
		t.Errorf("waits %v, want %v (doubling)", w.got, want)
	}
	if !strings.Contains(err.Error(), "temporary") || !strings.Contains(err.Error(), "retry-2") {
		t.Errorf("error text %q should say temporary and name the delivery", err)
	}
}

func TestSMTPPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	srv := mailtest.Mailpit(t, mailtest.MailpitChaos(), mailtest.MailpitAllowRecipients(`@client\.example$`))

	s, w := mailpitSender(t, srv, nil)
	m := smtpTestMail("perm-1")
	m.Cc = []netmail.Address{{Address: "someone@elsewhere.example"}}
	_, err := s.Send(context.Background(), m)
	se := sendErr(t, err)
	if !se.Permanent || se.Code != 550 || se.EnhancedCode != "5.1.0" || se.Stage != StageRcptTo || se.Attempts != 1 || len(w.got) != 0 {
		t.Errorf("refused recipient: %+v after waits %v; want a permanent 550 5.1.0 at RCPT TO, not retried", se, w.got)
	}
	if !slices.Equal(se.Refused, []string{"someone@elsewhere.example"}) {
		t.Errorf("refused = %v", se.Refused)
	}

	srv.SetChaos(t, mailtest.Chaos{Sender: mailtest.ChaosTrigger{ErrorCode: 554, Probability: 100}})
	_, err = s.Send(context.Background(), smtpTestMail("perm-2"))
	if se := sendErr(t, err); !se.Permanent || se.Code != 554 || se.Attempts != 1 || len(w.got) != 0 {
		t.Errorf("554: %+v after waits %v, want permanent and not retried", se, w.got)
	}
	if n := len(srv.Messages(t)); n != 0 {
		t.Errorf("mailpit holds %d messages, want none", n)
	}
}

func TestSMTPHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := mailtest.Mailpit(t)
	s, _ := mailpitSender(t, srv, nil)

	// Client-controlled text with line breaks is sent, flattened.
	m := smtpTestMail("inject-1")
	m.Subject = "Просрочено\r\nBcc: victim@evil.example\r\n\r\nbody"
	m.To[0].Name = "Иван\r\nBcc: victim2@evil.example"
	m.Headers = map[string]string{"X-Karkas-Task": "card\nBcc: victim3@evil.example"}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	list := srv.Messages(t)
	if len(list) != 1 {
		t.Fatalf("mailpit holds %d messages, want 1", len(list))
	}
	got := srv.Message(t, list[0].ID)
	if got.Subject != "Просрочено Bcc: victim@evil.example body" {
		t.Errorf("subject = %q", got.Subject)
	}
	if len(got.Bcc) != 0 || len(got.Headers["Bcc"]) != 0 || len(got.To) != 1 || got.To[0].Address != "ivan@client.example" {
		t.Errorf("to %+v, bcc %+v, headers %v: the injection got through", got.To, got.Bcc, got.Headers)
	}
	raw := string(srv.Raw(t, list[0].ID))
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("raw header has the line %q:\n%s", line, head)
		}
	}
	if v := got.Headers["X-Karkas-Task"]; len(v) != 1 || v[0] != "card Bcc: victim3@evil.example" {
		t.Errorf("X-Karkas-Task = %q", v)
	}

	// What must be exact (addresses, message ids, header names) is
	// refused before anything is sent.
	for name, edit := range map[string]func(*Mail){
		"address":     func(m *Mail) { m.To[0].Address = "ivan@client.example\r\nBcc: victim@evil.example" },
		"in-reply-to": func(m *Mail) { m.InReplyTo = "<a@b>\r\nBcc: victim@evil.example" },
		"references":  func(m *Mail) { m.References = []string{"<a@b>\nBcc: victim@evil.example"} },
		"header name": func(m *Mail) { m.Headers = map[string]string{"X-A\r\nBcc": "victim@evil.example"} },
		"reserved":    func(m *Mail) { m.Headers = map[string]string{"Bcc": "victim@evil.example"} },
	} {
		m := smtpTestMail("inject-2")
		edit(&m)
		_, err := s.Send(context.Background(), m)
		if se := sendErr(t, err); !se.Permanent || se.Stage != StageCompose || se.Attempts != 0 {
			t.Errorf("%s: %+v, want a permanent error while composing", name, se)
		}
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("mailpit holds %d messages, want only the first", n)
	}
}

func TestSMTPTLSModes(t *testing.T) {
	t.Parallel()
	const password = "tls-secret"
	for _, tc := range []struct {
		name string
		mode string
		opt  mailtest.MailpitOption
	}{
		{"starttls", SMTPStartTLS, mailtest.MailpitSTARTTLS()},
		{"tls", SMTPTLS, mailtest.MailpitTLS()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.Mailpit(t, tc.opt, mailtest.MailpitAuth("agent", password))
			withTLS := func(o *SMTPOptions) { o.TLS, o.Username, o.Password = tc.mode, "agent", secret.Inline(password) }

			s, _ := mailpitSender(t, srv, withTLS, SenderTLSConfig(srv.TLSConfig()))
			if _, err := s.Send(context.Background(), smtpTestMail("tls-ok")); err != nil {
				t.Fatalf("trusted certificate: %v", err)
			}

			// The system's roots do not know the test certificate.
			s, w := mailpitSender(t, srv, withTLS)
			_, err := s.Send(context.Background(), smtpTestMail("tls-untrusted"))
			if se := sendErr(t, err); !se.Permanent || se.Stage != StageConnect || len(w.got) != 0 {
				t.Errorf("untrusted certificate: %+v, want permanent while connecting", se)
			}

			// No TLS against a server that wants it: refused, never sent.
			s, _ = mailpitSender(t, srv, func(o *SMTPOptions) { o.TLS, o.Timeout, o.Attempts = SMTPNoTLS, time.Second, 1 })
			_, err = s.Send(context.Background(), smtpTestMail("tls-none"))
			se := sendErr(t, err)
			switch tc.mode {
			case SMTPStartTLS:
				if !se.Permanent || se.Code != 530 {
					t.Errorf("plain to a STARTTLS server: %+v, want a permanent 530", se)
				}
			case SMTPTLS:
				// A TLS port says nothing in plain text: the greeting
				// times out (or the server hangs up), with no answer.
				if se.Permanent || se.Code != 0 || se.Stage != StageConnect {
					t.Errorf("plain to a TLS port: %+v, want a temporary failure while connecting", se)
				}
			}
			if n := len(srv.Messages(t)); n != 1 {
				t.Errorf("mailpit holds %d messages, want 1", n)
			}
		})
	}

	// STARTTLS asked of a server that offers none is refused, never
	// silently skipped.
	srv := mailtest.Mailpit(t)
	s, w := mailpitSender(t, srv, func(o *SMTPOptions) { o.TLS = SMTPStartTLS })
	_, err := s.Send(context.Background(), smtpTestMail("no-starttls"))
	if se := sendErr(t, err); !se.Permanent || !strings.Contains(err.Error(), "STARTTLS") || len(w.got) != 0 {
		t.Errorf("starttls to a plain server: %+v, want permanent", se)
	}
	if n := len(srv.Messages(t)); n != 0 {
		t.Errorf("mailpit holds %d messages, want none", n)
	}
}
