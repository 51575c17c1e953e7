package mailtest

import (
	"net/smtp"
	"strings"
	"testing"
)

func mailpitSendRaw(s *SMTPServer, auth smtp.Auth, to, msg string) error {
	return smtp.SendMail(s.SMTPAddr(), auth, "sender@example.com", []string{to}, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

const mailpitTestMsg = `From: Sender <sender@example.com>
To: Reader <reader@example.com>
Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?=
Message-ID: <one@example.com>
X-Test: yes

Hello.
`

func TestMailpitReceives(t *testing.T) {
	t.Parallel()
	s := Mailpit(t)
	if err := mailpitSendRaw(s, nil, "reader@example.com", mailpitTestMsg); err != nil {
		t.Fatal(err)
	}
	list := s.Messages(t)
	if len(list) != 1 {
		t.Fatalf("%d messages, want 1", len(list))
	}
	m := s.Message(t, list[0].ID)
	if m.Subject != "Привет" || m.MessageID != "one@example.com" || m.From == nil || m.From.Address != "sender@example.com" {
		t.Errorf("message = %+v", m)
	}
	if got := m.Headers["X-Test"]; len(got) != 1 || got[0] != "yes" {
		t.Errorf("X-Test = %q", got)
	}
	if strings.TrimSpace(m.Text) != "Hello." {
		t.Errorf("text = %q", m.Text)
	}
	if raw := string(s.Raw(t, list[0].ID)); !strings.Contains(raw, "X-Test: yes\r\n") {
		t.Errorf("raw source lacks the header:\n%s", raw)
	}
}

func TestMailpitFaults(t *testing.T) {
	t.Parallel()
	s := Mailpit(t, MailpitAuth("agent", "s3cret"), MailpitChaos(), MailpitAllowRecipients(`@example\.com$`))
	good := smtp.PlainAuth("", "agent", "s3cret", s.Host)
	if err := mailpitSendRaw(s, nil, "reader@example.com", mailpitTestMsg); err == nil || !strings.HasPrefix(err.Error(), "530") {
		t.Errorf("without auth: %v, want 530", err)
	}
	if err := mailpitSendRaw(s, smtp.PlainAuth("", "agent", "wrong", s.Host), "reader@example.com", mailpitTestMsg); err == nil || !strings.HasPrefix(err.Error(), "535") {
		t.Errorf("wrong password: %v, want 535", err)
	}
	if err := mailpitSendRaw(s, good, "reader@elsewhere.org", mailpitTestMsg); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Errorf("refused recipient: %v, want 550", err)
	}
	s.SetChaos(t, Chaos{Recipient: ChaosTrigger{ErrorCode: 451, Probability: 100}})
	if err := mailpitSendRaw(s, good, "reader@example.com", mailpitTestMsg); err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Errorf("chaos: %v, want 451", err)
	}
	s.SetChaos(t, Chaos{})
	if err := mailpitSendRaw(s, good, "reader@example.com", mailpitTestMsg); err != nil {
		t.Errorf("after chaos is off: %v", err)
	}
	list := s.Messages(t)
	if len(list) != 1 {
		t.Errorf("messages = %+v, want the one sent after chaos was turned off", list)
	}
}
