package email_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/internal/conformance"
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
