package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

const testMail = "From: Anna <anna@agency.example>\r\nTo: olga@client.example\r\nSubject: Hello\r\nMessage-ID: <hello-1@agency.example>\r\nDate: Mon, 27 May 2024 09:00:00 +0000\r\n\r\nHello, Olga.\r\n"

func TestDovecot(t *testing.T) {
	t.Parallel()
	s := Dovecot(t)

	c := s.Dial(t, "anna@agency.example")
	caps := c.Caps()
	for _, want := range []imap.Cap{imap.CapCondStore, imap.CapUIDPlus, imap.CapSpecialUse} {
		if !caps.Has(want) {
			t.Errorf("Dovecot does not advertise %s (caps %v)", want, caps)
		}
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var sent bool
	for _, m := range list {
		if m.Mailbox == "Sent" && slices.Contains(m.Attrs, imap.MailboxAttrSent) {
			sent = true
		}
	}
	if !sent {
		t.Errorf("no Sent folder marked \\Sent in %+v", list)
	}

	date := time.Date(2024, 5, 27, 9, 0, 5, 0, time.UTC)
	uid1 := s.Append(t, "anna@agency.example", "INBOX", []byte(testMail), date)
	uid2 := s.Append(t, "anna@agency.example", "INBOX", []byte(testMail), time.Time{}, imap.FlagSeen)
	if uid1 == 0 || uid2 <= uid1 {
		t.Errorf("UIDs %d then %d", uid1, uid2)
	}

	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(uid1), &imap.FetchOptions{UID: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v, %d messages", err, len(msgs))
	}
	if got := string(msgs[0].BodySection[0].Bytes); got != testMail {
		t.Errorf("stored message differs:\n%q\nwant\n%q", got, testMail)
	}
	if !msgs[0].InternalDate.Equal(date) {
		t.Errorf("INTERNALDATE %v, want %v", msgs[0].InternalDate, date)
	}
	flags := s.Flags(t, "anna@agency.example", "INBOX")
	if slices.Contains(flags[uid1], imap.FlagSeen) || !slices.Contains(flags[uid2], imap.FlagSeen) {
		t.Errorf("flags %v", flags)
	}

	// Another user is another mailbox.
	if got := s.Flags(t, "olga@client.example", "INBOX"); len(got) != 0 {
		t.Errorf("a second user sees %d messages", len(got))
	}
}

func TestDovecotRecreate(t *testing.T) {
	t.Parallel()
	s := Dovecot(t)
	const user = "anna@agency.example"
	for _, folder := range []string{"INBOX", "Sent", "Archive"} {
		t.Run(folder, func(t *testing.T) {
			if folder == "Archive" {
				s.CreateFolder(t, user, folder)
			}
			s.Append(t, user, folder, []byte(testMail), time.Time{})
			old := s.UIDValidity(t, user, folder)
			now := s.Recreate(t, user, folder)
			if now == old || s.UIDValidity(t, user, folder) != now {
				t.Errorf("UIDVALIDITY %d before, %d after", old, now)
			}
			if n := len(s.Flags(t, user, folder)); n != 0 {
				t.Errorf("%d messages left after recreating", n)
			}
			s.Append(t, user, folder, []byte(testMail), time.Time{})
			if n := len(s.Flags(t, user, folder)); n != 1 {
				t.Errorf("%d messages after appending again", n)
			}
		})
	}
	c := s.Dial(t, user)
	list, err := c.List("", "Sent", nil).Collect()
	if err != nil || len(list) != 1 || !slices.Contains(list[0].Attrs, imap.MailboxAttrSent) {
		t.Errorf("recreated Sent: %+v, %v", list, err)
	}
}

func TestDovecotDeliver(t *testing.T) {
	t.Parallel()
	s := Dovecot(t)
	const user = "bench@agency.example"
	s.Append(t, user, "INBOX", []byte(testMail), time.Time{})
	var raws [][]byte
	for i := range 50 {
		raws = append(raws, []byte(strings.Replace(testMail, "hello-1@", fmt.Sprintf("hello-%d-x@", i), 1)))
	}
	s.Deliver(t, user, "INBOX", raws)
	s.Deliver(t, user, "Sent", raws[:3])

	c := s.Dial(t, user)
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	all := imap.UIDSet{}
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 51 {
		t.Fatalf("%d messages in INBOX, want 51", len(msgs))
	}
	// UIDs follow the order of delivery.
	for i, m := range msgs[1:] {
		if want := fmt.Sprintf("hello-%d-x@agency.example", i); m.Envelope.MessageID != want || m.UID != imap.UID(i+2) {
			t.Fatalf("uid %d is %s, want uid %d %s", m.UID, m.Envelope.MessageID, i+2, want)
		}
	}
	if n := len(s.Flags(t, user, "Sent")); n != 3 {
		t.Errorf("%d messages in Sent", n)
	}
	if !strings.Contains(s.Log(), "starting up") {
		t.Errorf("the log does not show the start:\n%s", s.Log())
	}
}

func TestDovecotOAuth2(t *testing.T) {
	t.Parallel()
	s := Dovecot(t, DovecotOAuth2())
	s.AllowToken("good-token", "anna@agency.example")

	login := func(token string) error {
		c, err := imapclient.DialInsecure(s.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Authenticate(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "anna@agency.example", Token: token}))
	}
	if err := login("good-token"); err != nil {
		t.Errorf("a good token: %v", err)
	}
	if err := login("bad-token"); err == nil {
		t.Error("a bad token logged in")
	}
	s.RevokeToken("good-token")
	if err := login("good-token"); err == nil {
		t.Error("a revoked token logged in")
	}
	if n := s.TokenChecks(); n != 3 {
		t.Errorf("%d token checks, want 3 (one per login, no cache)", n)
	}
	// The password still works beside tokens.
	s.Dial(t, "anna@agency.example")
}

func TestDovecotFolder(t *testing.T) {
	t.Parallel()
	s := Dovecot(t, DovecotFolder("[Gmail]/All Mail", imap.MailboxAttrAll), DovecotFolder("[Gmail]/Sent Mail", imap.MailboxAttrSent))
	c := s.Dial(t, "anna@gmail.example")
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string][]imap.MailboxAttr{}
	for _, m := range list {
		attrs[m.Mailbox] = m.Attrs
	}
	if !slices.Contains(attrs["[Gmail]/All Mail"], imap.MailboxAttrAll) || !slices.Contains(attrs["[Gmail]/Sent Mail"], imap.MailboxAttrSent) {
		t.Errorf("folders %v", attrs)
	}
	s.Append(t, "anna@gmail.example", "[Gmail]/All Mail", []byte(testMail), time.Time{})
	if n := len(s.Flags(t, "anna@gmail.example", "[Gmail]/All Mail")); n != 1 {
		t.Errorf("%d messages in All Mail", n)
	}
	t.Logf("LIST: %v", attrs)
}

func TestDovecotTLS(t *testing.T) {
	t.Parallel()
	s := Dovecot(t, DovecotTLS())
	pemBytes, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CAFile holds no certificate")
	}
	opts := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}}
	for name, dial := range map[string]func() (*imapclient.Client, error){
		"imaps": func() (*imapclient.Client, error) {
			return imapclient.DialTLS(net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)), opts)
		},
		"starttls": func() (*imapclient.Client, error) { return imapclient.DialStartTLS(s.Addr, opts) },
	} {
		c, err := dial()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := c.Login("anna@agency.example", s.Password).Wait(); err != nil {
			t.Errorf("%s login: %v", name, err)
		}
		c.Close()
	}
	// Without trusting the certificate, TLS fails.
	if c, err := imapclient.DialTLS(net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)), nil); err == nil {
		c.Close()
		t.Error("an untrusted certificate was accepted")
	}
}
