package email_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

const mailCfg = `agency: {name: Northwind, domains: [northwind.agency]}
clients:
  - {id: acme, name: Acme, domains: [acme.example]}
sources:
  - {id: mail, kind: mail_files, options: {files: [{path: inbox.mbox}]}}
`

// The mail_files source passes the suite every source runs: an mbox
// written again after each change.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config: mailCfg,
		Info:   mapping.SourceInfo{ID: "mail", Kind: "mail_files", Identity: mapping.IdentityEmail},
		Files:  true,
		New: func(t *testing.T) conformance.Upstream {
			u := &mboxUpstream{dir: t.TempDir()}
			for i := range 12 {
				u.msgs = append(u.msgs, mboxMessage(i, "client@acme.example", "anna@northwind.agency", fmt.Sprintf("Вопрос %d", i)))
			}
			u.write(t)
			return u
		},
	})
}

func mboxMessage(i int, from, to, subject string) string {
	return fmt.Sprintf("From %s Mon Nov 16 10:%02d:00 2026\nFrom: %s\nTo: %s\nSubject: %s\nDate: Mon, 16 Nov 2026 10:%02d:00 +0300\nMessage-ID: <m%d@acme.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nТекст письма %d.\n\n",
		from, i, from, to, subject, i, i, i)
}

type mboxUpstream struct {
	dir  string
	msgs []string
}

func (u *mboxUpstream) write(t *testing.T) {
	if err := os.WriteFile(filepath.Join(u.dir, "inbox.mbox"), []byte(strings.Join(u.msgs, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (u *mboxUpstream) Open(t *testing.T) connectors.Source {
	o := email.NewFileOptions()
	o.Files, o.BatchSize = []email.FileSpec{{Path: "inbox.mbox", Folder: "INBOX"}}, 4
	src, err := email.FileKind().Open(o, connectors.Env{BaseDir: u.dir})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (u *mboxUpstream) Change(t *testing.T) func(testdb.Records) bool {
	u.msgs = append(u.msgs, mboxMessage(40, "anna@northwind.agency", "client@acme.example", "Re: Вопрос 1"))
	u.write(t)
	return func(r testdb.Records) bool { return holdsSubject(r, "Re: Вопрос 1") }
}

func (u *mboxUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.msgs = append(u.msgs[:3], u.msgs[4:]...)
	u.write(t)
	return func(r testdb.Records) bool { return !holdsSubject(r, "Вопрос 3") }
}

func holdsSubject(r testdb.Records, subject string) bool {
	for _, m := range r.Messages {
		if m.Subject == subject {
			return true
		}
	}
	return false
}

const imapCfg = `agency: {name: Northwind, domains: [northwind.agency]}
clients:
  - {id: acme, name: Acme, domains: [acme.example]}
sources:
  - {id: mail, kind: imap}
`

// The imap source passes the same suite on a real Dovecot, which cannot
// be made to fail on cue (its faults are the IMAP tests' own, through a
// proxy that drops connections), and whose expunged mail stays stored:
// what a client wrote is the agency's record, whatever the mailbox does
// later.
func TestIMAPConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config:     imapCfg,
		Info:       mapping.SourceInfo{ID: "mail", Kind: email.IMAPKindName, Identity: mapping.IdentityEmail},
		RealServer: true,
		New: func(t *testing.T) conformance.Upstream {
			u := &imapUpstream{srv: mailtest.Dovecot(t), uids: map[int]imap.UID{}}
			for i := range 12 {
				u.uids[i] = u.srv.Append(t, "anna@northwind.agency", "INBOX", imapMessage(i, "client@acme.example", "anna@northwind.agency", fmt.Sprintf("Вопрос %d", i)), time.Time{})
			}
			return u
		},
	})
}

// imapMessage is mboxMessage without its mbox From line.
func imapMessage(i int, from, to, subject string) []byte {
	m := mboxMessage(i, from, to, subject)
	_, rest, _ := strings.Cut(m, "\n")
	return []byte(strings.ReplaceAll(rest, "\n", "\r\n"))
}

type imapUpstream struct {
	srv  *mailtest.IMAPServer
	uids map[int]imap.UID
}

func (u *imapUpstream) open(t *testing.T, password string) connectors.Source {
	o := email.NewIMAPOptions()
	o.BatchSize, o.Timeout = 4, 20*time.Second
	o.Accounts = []email.IMAPAccount{{Name: "anna", Host: u.srv.Host, Port: u.srv.Port, TLS: "none",
		Username: "anna@northwind.agency", Password: secret.Inline(password), Folders: []string{"INBOX"}}}
	src, err := email.IMAPKind().Open(o, connectors.Env{BaseDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (u *imapUpstream) Open(t *testing.T) connectors.Source { return u.open(t, u.srv.Password) }

func (u *imapUpstream) Refused(t *testing.T) connectors.Source { return u.open(t, "not-the-password") }

func (u *imapUpstream) Change(t *testing.T) func(testdb.Records) bool {
	u.srv.Append(t, "anna@northwind.agency", "INBOX", imapMessage(40, "anna@northwind.agency", "client@acme.example", "Re: Вопрос 1"), time.Time{})
	return func(r testdb.Records) bool { return holdsSubject(r, "Re: Вопрос 1") }
}

// Delete expunges a message; the store keeps it.
func (u *imapUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.srv.Expunge(t, "anna@northwind.agency", "INBOX", u.uids[3])
	return func(r testdb.Records) bool { return holdsSubject(r, "Вопрос 3") }
}
