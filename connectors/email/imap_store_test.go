package email_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
)

const (
	anna  = "anna@agency.example"
	boris = "boris@agency.example"
)

// imapConfig is a config with an imap source of two accounts on srv, the
// way a user writes it: one password from the environment, one from a file.
func imapConfig(t *testing.T, srv *mailtest.IMAPServer, batch int) (*mapping.Loaded, connectors.Source) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "boris.password"), []byte(srv.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`agency: {name: Northwind, domains: [agency.example]}
clients:
  - {id: acme, name: Acme, domains: [client.example]}
  - {id: oldco, name: Old Times, domains: [old.example]}
sources:
  - id: mail
    kind: imap
    options:
      batch_size: %d
      timeout: 20s
      accounts:
        - name: anna
          host: %s
          port: %d
          tls: none
          username: %s
          password: ${IMAP_PASSWORD}
        - name: boris
          host: %s
          port: %d
          tls: none
          username: %s
          password_file: boris.password
          folders: [INBOX]
`, batch, srv.Host, srv.Port, anna, srv.Host, srv.Port, boris)
	l, err := mapping.Parse(filepath.Join(dir, "karkas.yaml"), []byte(yaml), mapping.LoadOptions{
		LookupEnv: func(k string) (string, bool) {
			if k == "IMAP_PASSWORD" {
				return srv.Password, true
			}
			return "", false
		},
		SourceOptions: func(kind string) (any, bool) {
			if kind == email.IMAPKindName {
				return email.IMAPKind().NewOptions(), true
			}
			return nil, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := email.IMAPKind().Open(l.SourceOptions["mail"], connectors.Env{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return l, src
}

var mailInfo = mapping.SourceInfo{ID: "mail", Kind: email.IMAPKindName, Identity: mapping.IdentityEmail}

func syncOnce(t *testing.T, st *store.Store, l *mapping.Loaded, src connectors.Source) engine.Result {
	t.Helper()
	ctx := context.Background()
	e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run(ctx, engine.Job{Info: mailInfo, Source: src})
	if res.Err != nil {
		t.Fatalf("sync: %v", res.Err)
	}
	return res
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// storedMessage is a row of messages, as the checks need it.
type storedMessage struct {
	ID        string `db:"external_id"`
	Thread    string `db:"thread_key"`
	Side      string `db:"author_side"`
	Direction string `db:"direction"`
	Client    string `db:"client_id"`
	Automated bool   `db:"automated"`
	Folder    string `db:"folder"`
	Subject   string `db:"subject"`
	Body      string `db:"body"`
}

func storedMessages(t *testing.T, st *store.Store) map[string]storedMessage {
	t.Helper()
	var rows []storedMessage
	if err := st.Select(context.Background(), &rows, st.Rebind(`SELECT external_id, thread_key, author_side, direction, client_id, automated, folder, subject, body
		FROM messages WHERE source_id = ? AND deleted_at IS NULL`), "mail"); err != nil {
		t.Fatal(err)
	}
	out := map[string]storedMessage{}
	for _, r := range rows {
		if _, dup := out[r.ID]; dup {
			t.Errorf("message %s stored twice", r.ID)
		}
		out[r.ID] = r
	}
	return out
}

// TestIMAPSyncThroughEngine is issue 7's first "done means": mail on a
// real IMAP server, synced, more appended, synced, the folder recreated
// with a new UIDVALIDITY, synced: every message stored once, threads and
// sides right.
func TestIMAPSyncThroughEngine(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, dialect)
			srv := mailtest.Dovecot(t)
			l, src := imapConfig(t, srv, 3)

			reply := crlf(`Message-ID: <reply-1@agency.example>
From: Anna Petrova <anna@agency.example>
To: olga@client.example
Cc: boris@agency.example
Subject: Re: =?utf-8?B?0KHRh9GR0YIg0LfQsCDQvNCw0Lk=?=
Date: Wed, 15 May 2024 11:30:00 +0000
In-Reply-To: <cp1251@client.example>
References: <cp1251@client.example>
Content-Type: text/plain; charset=utf-8

Ольга, счёт исправим сегодня.
`)
			inbox := [][]byte{
				fixture(t, "cp1251.eml"),        // windows-1251, from the client
				fixture(t, "koi8r.eml"),         // KOI8-R, from another client
				fixture(t, "html-only.eml"),     // HTML only, from a stranger
				fixture(t, "exchange-oof.eml"),  // an auto-reply, no header says so
				fixture(t, "no-message-id.eml"), // no Message-ID: a content hash
			}
			for _, raw := range inbox {
				srv.Append(t, anna, "INBOX", raw, time.Time{})
			}
			// The agency's reply exists only in Sent, and in the INBOX of the
			// colleague it was copied to.
			srv.Append(t, anna, "Sent", reply, time.Time{})
			srv.Append(t, boris, "INBOX", reply, time.Time{})

			res := syncOnce(t, st, l, src)
			if got := res.Written["messages"]; got != 6 {
				t.Errorf("first sync wrote %d messages, want 6", got)
			}
			if res.Problems != 0 {
				t.Errorf("first sync: %d problems", res.Problems)
			}

			// The client answers the reply.
			answer := crlf(`Message-ID: <t1-3@client.example>
From: olga@client.example
To: anna@agency.example
Subject: Re: Re: Счёт за май
Date: Wed, 15 May 2024 12:05:00 +0000
In-Reply-To: <reply-1@agency.example>
References: <cp1251@client.example> <reply-1@agency.example>
Content-Type: text/plain; charset=utf-8

Спасибо!
`)
			srv.Append(t, anna, "INBOX", answer, time.Time{})
			inbox = append(inbox, answer)
			res = syncOnce(t, st, l, src)
			if got, rec := res.Written["messages"], res.Received["messages"]; got != 1 || rec != 1 {
				t.Errorf("second sync received %d and wrote %d messages, want 1 and 1", rec, got)
			}

			// A restored backup: INBOX gets a new UIDVALIDITY and every
			// message a new UID.
			srv.Recreate(t, anna, "INBOX")
			for _, raw := range inbox {
				srv.Append(t, anna, "INBOX", raw, time.Time{})
			}
			res = syncOnce(t, st, l, src)
			if rec := res.Received["messages"]; rec != len(inbox) {
				t.Errorf("after the new UIDVALIDITY the sync read %d messages, want INBOX's %d again", rec, len(inbox))
			}
			if got := res.Written["messages"]; got != 0 {
				t.Errorf("re-reading INBOX wrote %d messages: they were stored already", got)
			}

			// Nothing new: nothing read.
			if res = syncOnce(t, st, l, src); res.Batches != 0 {
				t.Errorf("a sync with nothing new emitted %d batches", res.Batches)
			}

			got := storedMessages(t, st)
			synthetic := "66d9f175170e7ebf9845ea3f248c49c4a5a0d7b720d38406c64700f8759c2b28@karkas.invalid"
			want := map[string]storedMessage{
				"cp1251@client.example":  {Thread: "cp1251@client.example", Side: "client", Direction: mapping.DirectionInbound, Client: "acme", Folder: "INBOX", Subject: "Счёт за май"},
				"reply-1@agency.example": {Thread: "cp1251@client.example", Side: "agency", Direction: mapping.DirectionOutbound, Client: "acme", Folder: "Sent"},
				"t1-3@client.example":    {Thread: "cp1251@client.example", Side: "client", Direction: mapping.DirectionInbound, Client: "acme", Folder: "INBOX"},
				"koi8@old.example":       {Thread: "koi8@old.example", Side: "client", Direction: mapping.DirectionInbound, Client: "oldco", Folder: "INBOX", Subject: "Вопрос по сайту"},
				"html@news.example":      {Thread: "html@news.example", Side: "unknown", Direction: mapping.DirectionUnknown, Folder: "INBOX", Subject: "HTML only"},
				"oof@client.example":     {Thread: "oof@client.example", Side: "client", Direction: mapping.DirectionInbound, Client: "acme", Automated: true, Folder: "INBOX"},
				synthetic:                {Thread: synthetic, Side: "client", Direction: mapping.DirectionInbound, Client: "acme", Folder: "INBOX", Subject: "Без идентификатора"},
			}
			if len(got) != len(want) {
				t.Errorf("%d messages stored, want %d", len(got), len(want))
			}
			for id, w := range want {
				g, ok := got[id]
				if !ok {
					t.Errorf("%s not stored", id)
					continue
				}
				if g.Thread != w.Thread || g.Side != w.Side || g.Direction != w.Direction || g.Client != w.Client || g.Automated != w.Automated || g.Folder != w.Folder {
					t.Errorf("%s stored as %+v\nwant thread %s, side %s, direction %s, client %q, automated %v, folder %s",
						id, g, w.Thread, w.Side, w.Direction, w.Client, w.Automated, w.Folder)
				}
				if w.Subject != "" && g.Subject != w.Subject {
					t.Errorf("%s: subject %q, want %q", id, g.Subject, w.Subject)
				}
			}
			if b := got["cp1251@client.example"].Body; !strings.Contains(b, "Здравствуйте, Анна!") {
				t.Errorf("windows-1251 body not decoded: %q", b)
			}
			if b := got["koi8@old.example"].Body; !strings.Contains(b, "Привет!") {
				t.Errorf("KOI8-R body not decoded: %q", b)
			}
			if b := got["html@news.example"].Body; !strings.Contains(b, "Привет, команда!") || strings.Contains(b, "<p>") || strings.Contains(b, "alert") {
				t.Errorf("HTML-only body not turned to text: %q", b)
			}

			// Each folder is a mailbox container of its account.
			var containers []string
			if err := st.Select(context.Background(), &containers, st.Rebind(`SELECT external_id FROM containers WHERE source_id = ? ORDER BY external_id`), "mail"); err != nil {
				t.Fatal(err)
			}
			if w := []string{"anna/INBOX", "anna/Sent", "boris/INBOX"}; strings.Join(containers, ",") != strings.Join(w, ",") {
				t.Errorf("containers %q, want %q", containers, w)
			}
		})
	}
}

// killAfter cancels the pull once n batches are handed over.
type killAfter struct {
	src    connectors.Source
	n      int
	cancel context.CancelFunc
}

func (k *killAfter) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	count := 0
	return k.src.Pull(ctx, cursor, func(ctx context.Context, b *record.Batch) error {
		if err := emit(ctx, b); err != nil {
			return err
		}
		if count++; count == k.n {
			k.cancel()
		}
		return nil
	})
}

// TestIMAPKillAndResume kills a sync after two batches: the next sync
// reads exactly what the store does not hold yet.
func TestIMAPKillAndResume(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.SQLite)
	srv := mailtest.Dovecot(t)
	const total = 40
	var raws [][]byte
	for i := range total {
		raws = append(raws, crlf(fmt.Sprintf("Message-ID: <kill-%02d@client.example>\nFrom: olga@client.example\nTo: anna@agency.example\nSubject: %d\nDate: Mon, 27 May 2024 09:00:00 +0000\n\nТекст %d.\n", i, i, i)))
	}
	srv.Deliver(t, anna, "INBOX", raws)
	l, src := imapConfig(t, srv, 5)

	ctx, cancel := context.WithCancel(context.Background())
	e, err := engine.New(ctx, st, mapping.NewResolver(l.Config), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run(ctx, engine.Job{Info: mailInfo, Source: &killAfter{src: src, n: 2, cancel: cancel}})
	if !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("the killed sync ended with %v", res.Err)
	}
	stored := len(storedMessages(t, st))
	if stored == total {
		t.Fatalf("the kill came too late: all %d stored", total)
	}

	res = syncOnce(t, st, l, src)
	if got := res.Received["messages"]; got != total-stored {
		t.Errorf("the resumed sync read %d messages; %d were stored, so %d were left", got, stored, total-stored)
	}
	if n := len(storedMessages(t, st)); n != total {
		t.Errorf("%d messages stored after resuming, want %d", n, total)
	}
}

// imapExample is the imap source block the README shows.
const imapExample = `agency: {name: Northwind, domains: [agency.example]}
sources:
  - id: mail
    kind: imap
    options:
      accounts:
        - name: support                     # stable: the cursor and the containers (support/INBOX) use it
          host: imap.agency.example
          username: support@agency.example
          password: ${SUPPORT_IMAP_PASSWORD}
          # tls: imaps (default, port 993) | starttls (143) | none (a bridge on this machine)
          # folders: [INBOX, Sent]          # default: INBOX and the folder marked \Sent
        - name: anna-gmail                  # Gmail: [Gmail]/All Mail is read alone
          host: imap.gmail.com
          username: anna@agency.example
          addresses: [sales@agency.example] # her aliases: their mail counts as sent
          oauth2:
            provider: google
            client_id: ${GOOGLE_CLIENT_ID}
            client_secret: ${GOOGLE_CLIENT_SECRET}
            refresh_token: ${ANNA_GMAIL_REFRESH_TOKEN}
        - name: boris-m365
          host: outlook.office365.com
          username: boris@agency.example
          oauth2:
            provider: microsoft
            tenant: agency.example
            client_id: ${M365_CLIENT_ID}
            refresh_token_file: secrets/boris-m365.token
      # max_message_bytes: 26214400, batch_size: 500, timeout: 1m, retries: 3; per account max_connections: 2, ca_file
`

// TestIMAPConfigExample keeps the README's example a working config.
func TestIMAPConfigExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "boris-m365.token"), []byte("0.AAAA-refresh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := mapping.Parse(filepath.Join(dir, "karkas.yaml"), []byte(imapExample), mapping.LoadOptions{
		LookupEnv: func(k string) (string, bool) { return "value-of-" + k, true },
		SourceOptions: func(kind string) (any, bool) {
			if kind == email.IMAPKindName {
				return email.IMAPKind().NewOptions(), true
			}
			return nil, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Warnings) > 0 {
		t.Errorf("warnings: %v", l.Warnings)
	}
	o := l.SourceOptions["mail"].(*email.IMAPOptions)
	if len(o.Accounts) != 3 || o.Accounts[1].OAuth2 == nil || o.Accounts[1].OAuth2.RefreshToken.Reveal() != "value-of-ANNA_GMAIL_REFRESH_TOKEN" {
		t.Errorf("options %+v", o)
	}
	if _, err := email.IMAPKind().Open(o, connectors.Env{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
}
