package email

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/record"
)

const (
	anna  = "anna@agency.example"
	boris = "boris@agency.example"
	olga  = "olga@client.example"
)

// testMail builds a CRLF message. extra are more header lines.
func testMail(id, from, to, subject, date, body string, extra ...string) []byte {
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\n", from, to, subject)
	if date != "" {
		fmt.Fprintf(&b, "Date: %s\r\n", date)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
	return []byte(b.String())
}

// dovecotAccount is an account of the test server, by user name.
func dovecotAccount(srv *mailtest.IMAPServer, user string) IMAPAccount {
	return IMAPAccount{Host: srv.Host, Port: srv.Port, TLS: TLSNone, Username: user, Password: secret.Inline(srv.Password)}
}

// openTestIMAP opens a source whose retries wait a moment, not seconds.
func openTestIMAP(t *testing.T, edit func(*IMAPOptions), accounts ...IMAPAccount) *IMAPSource {
	t.Helper()
	o := NewIMAPOptions()
	o.Accounts = accounts
	o.Timeout = 10 * time.Second
	if edit != nil {
		edit(o)
	}
	s, err := OpenIMAP(o, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	s.backoff = 10 * time.Millisecond
	return s
}

// pullAll pulls once and checks the batch rules: every batch but a
// failed pull's carries a cursor, and none holds more than batch messages
// and refusals (a stored message's warnings come with it, a few at most).
func pullAll(t *testing.T, s *IMAPSource, cursor string) (*collect, string, error) {
	t.Helper()
	c := &collect{}
	err := s.Pull(context.Background(), cursor, c.emit)
	for i, b := range c.batches {
		if b.Cursor == "" {
			t.Errorf("batch %d has no cursor", i)
		}
		if n, w := len(b.Messages)+len(refusals(b.Problems)), len(b.Problems)-len(refusals(b.Problems)); n > s.batchSize || w > (maxWarnings+2)*len(b.Messages) {
			t.Errorf("batch %d holds %d messages and refusals (over %d?) and %d warnings", i, n, s.batchSize, w)
		}
		if b.EndOfSnapshot || len(b.Complete) > 0 {
			t.Errorf("batch %d claims to be whole: an IMAP pull never knows what is gone", i)
		}
		cursor = b.Cursor
	}
	return c, cursor, err
}

func mustPull(t *testing.T, s *IMAPSource, cursor string) (*collect, string) {
	t.Helper()
	c, cursor, err := pullAll(t, s, cursor)
	if err != nil {
		t.Fatal(err)
	}
	return c, cursor
}

func TestIMAPPullIncremental(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	const date = "Mon, 27 May 2024 09:00:00 +0000"
	for i := 1; i <= 5; i++ {
		srv.Append(t, anna, "INBOX", testMail(fmt.Sprintf("in-%d@client.example", i), olga, anna, fmt.Sprintf("Вопрос %d", i), date, "Текст."), time.Time{})
	}
	// A reply the agency sent, in Sent; a colleague cc'd has it in INBOX too.
	both := testMail("both@agency.example", anna, olga+", "+boris, "Re: Вопрос 1", date, "Ответ.", "In-Reply-To: <in-1@client.example>")
	srv.Append(t, anna, "INBOX", both, time.Time{})
	srv.Append(t, anna, "Sent", both, time.Time{})
	srv.Append(t, anna, "Sent", testMail("sent-only@agency.example", anna, olga, "Re: Вопрос 2", date, "Ответ 2."), time.Time{})
	srv.Append(t, anna, "INBOX", testMail("draft@agency.example", anna, olga, "Черновик", date, "..."), time.Time{}, imap.FlagDraft)

	s := openTestIMAP(t, func(o *IMAPOptions) { o.BatchSize = 2 }, dovecotAccount(srv, anna))
	first, cursor := mustPull(t, s, "")
	msgs := first.messages()
	if got, want := ids(msgs), []string{
		"both@agency.example Sent", "sent-only@agency.example Sent",
		"in-1@client.example INBOX", "in-2@client.example INBOX", "in-3@client.example INBOX", "in-4@client.example INBOX", "in-5@client.example INBOX",
	}; !slices.Equal(got, want) {
		t.Errorf("messages:\n%q\nwant (Sent first, the copy in INBOX and the draft left out)\n%q", got, want)
	}
	for _, m := range msgs {
		if want := anna + "/" + m.Folder; m.ContainerID != want {
			t.Errorf("%s: container %q, want %q", m.ExternalID, m.ContainerID, want)
		}
	}
	var containers []string
	for _, c := range first.containers() {
		containers = append(containers, c.ExternalID+" "+c.Name+" "+c.Kind)
	}
	if want := []string{anna + "/Sent Sent mailbox", anna + "/INBOX INBOX mailbox"}; !slices.Equal(containers, want) {
		t.Errorf("containers %q, want %q", containers, want)
	}
	if len(first.batches) < 4 {
		t.Errorf("batch_size 2 gave %d batches", len(first.batches))
	}

	// Nothing was marked read.
	for _, folder := range []string{"INBOX", "Sent"} {
		for uid, flags := range srv.Flags(t, anna, folder) {
			if slices.Contains(flags, imap.FlagSeen) {
				t.Errorf("%s uid %d was marked \\Seen by the pull", folder, uid)
			}
		}
	}

	again, cursor2 := mustPull(t, s, cursor)
	if len(again.batches) != 0 || cursor2 != cursor {
		t.Errorf("a pull with nothing new emitted %d batches", len(again.batches))
	}

	srv.Append(t, anna, "INBOX", testMail("in-6@client.example", olga, anna, "Ещё", date, "Новое."), time.Time{})
	more, cursor3 := mustPull(t, s, cursor)
	if got := ids(more.messages()); !slices.Equal(got, []string{"in-6@client.example INBOX"}) {
		t.Errorf("after one new message: %q", got)
	}
	if len(more.containers()) != 1 {
		t.Errorf("containers %+v", more.containers())
	}

	// A new UIDVALIDITY re-reads the folder, and only it.
	srv.Recreate(t, anna, "Sent")
	srv.Append(t, anna, "Sent", both, time.Time{})
	re, cursor4 := mustPull(t, s, cursor3)
	if got := ids(re.messages()); !slices.Equal(got, []string{"both@agency.example Sent"}) {
		t.Errorf("after recreating Sent: %q", got)
	}
	cur, err := parseIMAPCursor(cursor4)
	if err != nil {
		t.Fatal(err)
	}
	if st := cur.Accounts[anna]["Sent"]; st.UIDValidity != srv.UIDValidity(t, anna, "Sent") || st.UID == 0 || st.ModSeq == 0 {
		t.Errorf("Sent state %+v (CONDSTORE is on: modseq kept)", st)
	}
}

func TestIMAPPullProblems(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	big := testMail("big@client.example", olga, anna, "Большое", "Mon, 27 May 2024 09:00:00 +0000", strings.Repeat("много текста ", 400))
	srv.Append(t, anna, "INBOX", big, time.Time{})
	srv.Append(t, anna, "INBOX", []byte("this is not a mail message at all\r\n"), time.Time{})
	// No Date header: INTERNALDATE stands in.
	received := time.Date(2024, 5, 28, 10, 30, 0, 0, time.UTC)
	srv.Append(t, anna, "INBOX", testMail("nodate@client.example", olga, anna, "Без даты", "", "Текст."), received)
	srv.Append(t, anna, "INBOX", testMail("ok@client.example", olga, anna, "Хорошее", "Mon, 27 May 2024 09:00:00 +0000", "Текст."), time.Time{})

	s := openTestIMAP(t, func(o *IMAPOptions) { o.MaxMessageBytes = 2000 }, dovecotAccount(srv, anna))
	c, cursor := mustPull(t, s, "")
	if got := ids(c.messages()); !slices.Equal(got, []string{"nodate@client.example INBOX", "ok@client.example INBOX"}) {
		t.Errorf("messages %q", got)
	}
	if m := c.messages()[0]; !m.SentAt.Equal(received) {
		t.Errorf("a message without Date is dated %v, want its INTERNALDATE %v", m.SentAt, received)
	}
	if m := c.messages()[0]; m.SentAtFrom != record.SentAtFromDelivery {
		t.Errorf("SentAtFrom = %q, want %q", m.SentAtFrom, record.SentAtFromDelivery)
	}
	probs := c.problems()
	if len(probs) != 3 {
		t.Fatalf("problems %+v", probs)
	}
	if p := probs[2]; p.Where != anna+"/INBOX uid 3" || !p.Warning || !strings.Contains(p.Message, "INTERNALDATE") {
		t.Errorf("the message dated by INTERNALDATE is stored with a warning: %+v", p)
	}
	if p := probs[0]; p.Where != anna+"/INBOX uid 1" || !strings.Contains(p.Message, fmt.Sprintf("message is %d bytes, over max_message_bytes (2000); not downloaded", len(big))) {
		t.Errorf("too large: %+v", p)
	}
	if p := probs[1]; p.Where != anna+"/INBOX uid 2" || !strings.Contains(p.Message, "header") {
		t.Errorf("garbage: %+v", p)
	}
	// Problems are not read again.
	if again, _ := mustPull(t, s, cursor); len(again.batches) != 0 {
		t.Errorf("the next pull emitted %d batches", len(again.batches))
	}
}

func TestIMAPPullGmailAllMail(t *testing.T) {
	t.Parallel()
	const me = "anna@gmail.example"
	srv := mailtest.Dovecot(t, mailtest.DovecotFolder("[Gmail]/All Mail", imap.MailboxAttrAll))
	const date = "Mon, 27 May 2024 09:00:00 +0000"
	in := testMail("in@client.example", olga, me, "Вопрос", date, "?")
	out := testMail("out@gmail.example", "Anna <"+strings.ToUpper(me)+">", olga, "Re: Вопрос", date, "!", "In-Reply-To: <in@client.example>")
	alias := testMail("alias@gmail.example", "sales@agency.example", olga, "Счёт", date, "...")
	for _, raw := range [][]byte{in, out, alias} {
		srv.Append(t, me, "[Gmail]/All Mail", raw, time.Time{})
	}
	// Gmail shows the same messages in INBOX and Sent: they must not be read twice.
	srv.Append(t, me, "INBOX", in, time.Time{})
	srv.Append(t, me, "Sent", out, time.Time{})
	srv.Append(t, me, "INBOX", testMail("only-in-inbox@client.example", olga, me, "x", date, "x"), time.Time{})

	acc := dovecotAccount(srv, me)
	acc.Addresses = []string{"sales@agency.example"}
	c, _ := mustPull(t, openTestIMAP(t, nil, acc), "")
	if got, want := ids(c.messages()), []string{"in@client.example [Gmail]/All Mail", "out@gmail.example Sent", "alias@gmail.example Sent"}; !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	for _, m := range c.messages() {
		if m.ContainerID != me+"/[Gmail]/All Mail" {
			t.Errorf("%s: container %q", m.ExternalID, m.ContainerID)
		}
	}

	// Folders named in the config are read as they are.
	acc.Folders = []string{"inbox"}
	c, _ = mustPull(t, openTestIMAP(t, nil, acc), "")
	if got := ids(c.messages()); !slices.Equal(got, []string{"in@client.example INBOX", "only-in-inbox@client.example INBOX"}) {
		t.Errorf("configured INBOX: %q", got)
	}
}

func TestIMAPPullMissingFolder(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	srv.Append(t, anna, "INBOX", testMail("a@client.example", olga, anna, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})
	acc := dovecotAccount(srv, anna)
	acc.Folders = []string{"INBOX", "Клиенты/Acme"}
	c, _, err := pullAll(t, openTestIMAP(t, nil, acc), "")
	var ae *connectors.AttentionError
	if !errors.As(err, &ae) || !strings.Contains(ae.Why, `no folder "Клиенты/Acme"`) || !strings.Contains(ae.Why, "folders: INBOX, Sent") {
		t.Errorf("err = %v", err)
	}
	if got := ids(c.messages()); !slices.Equal(got, []string{"a@client.example INBOX"}) {
		t.Errorf("the folder that exists must still be read: %q", got)
	}

	// A folder deleted between pulls.
	srv.CreateFolder(t, anna, "Клиенты/Acme")
	srv.Append(t, anna, "Клиенты/Acme", testMail("b@client.example", olga, anna, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})
	s := openTestIMAP(t, nil, acc)
	c, cursor := mustPull(t, s, "")
	// The two folders are read at once: their order is not fixed.
	if got := ids(c.messages()); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"a@client.example INBOX", "b@client.example Клиенты/Acme"}) {
		t.Errorf("a Cyrillic folder: %q", got)
	}
	srv.DeleteFolder(t, anna, "Клиенты/Acme")
	if _, _, err = pullAll(t, s, cursor); !errors.As(err, &ae) {
		t.Errorf("a deleted folder: %v", err)
	}
}

func TestIMAPLoginRefused(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	proxy := newFaultProxy(t, srv.Addr)
	acc := dovecotAccount(srv, anna)
	acc.Port, acc.Password, acc.Name = proxy.port(), secret.Inline("wrong-password-123"), "anna"
	_, _, err := pullAll(t, openTestIMAP(t, nil, acc), "")
	if !errors.Is(err, connectors.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	msg := err.Error()
	for _, want := range []string{"account anna", proxy.ln.Addr().String(), "refused the password login of " + anna, "AUTHENTICATIONFAILED"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "wrong-password-123") {
		t.Errorf("the error shows the password: %q", msg)
	}
	if n := proxy.connections(); n != 1 {
		t.Errorf("a refused login was tried on %d connections; it is never retried", n)
	}
}

func TestIMAPDroppedConnection(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	var want []string
	for i := range 40 {
		id := fmt.Sprintf("m%02d@client.example", i)
		want = append(want, id+" INBOX")
		srv.Append(t, anna, "INBOX", testMail(id, olga, anna, "Письмо", "Mon, 27 May 2024 09:00:00 +0000", strings.Repeat("строка текста\n", 60)), time.Time{})
	}
	proxy := newFaultProxy(t, srv.Addr)
	// Cut the first connection in the middle of the first FETCH of bodies.
	proxy.cutOnce(12000)
	acc := dovecotAccount(srv, anna)
	acc.Port, acc.MaxConnections = proxy.port(), 1
	acc.Folders = []string{"INBOX"}
	c, _ := mustPull(t, openTestIMAP(t, func(o *IMAPOptions) { o.BatchSize = 15 }, acc), "")
	if got := ids(c.messages()); !slices.Equal(got, want) {
		t.Errorf("after a dropped connection got\n%q\nwant every message once\n%q", got, want)
	}
	if n := proxy.connections(); n != 2 {
		t.Errorf("%d connections, want 2 (one cut, one new)", n)
	}
}

// TestIMAPFlakyNetwork cuts every connection after a few batches: the
// pull goes on as long as each connection makes progress, however many
// it takes.
func TestIMAPFlakyNetwork(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	var raws [][]byte
	var want []string
	for i := range 40 {
		id := fmt.Sprintf("m%02d@client.example", i)
		want = append(want, id+" INBOX")
		raws = append(raws, testMail(id, olga, anna, "Письмо", "Mon, 27 May 2024 09:00:00 +0000", strings.Repeat("строка текста\n", 30)))
	}
	srv.Deliver(t, anna, "INBOX", raws)
	proxy := newFaultProxy(t, srv.Addr)
	proxy.cutAlways(15000)
	acc := dovecotAccount(srv, anna)
	acc.Port, acc.Folders = proxy.port(), []string{"INBOX"}
	c, _ := mustPull(t, openTestIMAP(t, func(o *IMAPOptions) { o.BatchSize, o.Retries = 5, 1 }, acc), "")
	if got := ids(c.messages()); !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant every message once\n%q", got, want)
	}
	if n := proxy.connections(); n < 4 {
		t.Errorf("%d connections: the cuts did not bite", n)
	}
}

func TestIMAPSilentServer(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	srv.Append(t, anna, "INBOX", testMail("a@client.example", olga, anna, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})
	proxy := newFaultProxy(t, srv.Addr)
	// The greeting passes; the answer to LOGIN never comes.
	proxy.silence(40)
	acc := dovecotAccount(srv, anna)
	acc.Port = proxy.port()
	start := time.Now()
	_, _, err := pullAll(t, openTestIMAP(t, func(o *IMAPOptions) { o.Timeout, o.Retries = 200*time.Millisecond, 2 }, acc), "")
	if err == nil || !errors.Is(err, errIMAPTimeout) || !strings.Contains(err.Error(), "gave up after 3 connections") {
		t.Fatalf("err = %v", err)
	}
	if n := proxy.connections(); n != 3 {
		t.Errorf("%d connections, want 3 (retries 2)", n)
	}
	// Not a performance assertion: a stuck pull would hang far longer.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("giving up took %s", d)
	}
}

func TestIMAPCancelled(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	for i := range 10 {
		srv.Append(t, anna, "INBOX", testMail(fmt.Sprintf("m%d@client.example", i), olga, anna, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})
	}
	s := openTestIMAP(t, func(o *IMAPOptions) { o.BatchSize = 3 }, dovecotAccount(srv, anna))
	ctx, cancel := context.WithCancel(context.Background())
	var batches []record.Batch
	err := s.Pull(ctx, "", func(_ context.Context, b *record.Batch) error {
		batches = append(batches, *b)
		if len(batches) == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if len(batches) != 2 {
		t.Fatalf("%d batches after cancelling at the second", len(batches))
	}
	// Resuming from the last cursor reads the rest, nothing twice.
	seen := map[string]bool{}
	for _, b := range batches {
		for _, m := range b.Messages {
			seen[m.ExternalID] = true
		}
	}
	c, _ := mustPull(t, s, batches[1].Cursor)
	for _, m := range c.messages() {
		if seen[m.ExternalID] {
			t.Errorf("%s read again after resuming", m.ExternalID)
		}
		seen[m.ExternalID] = true
	}
	if len(seen) != 10 {
		t.Errorf("%d messages in all, want 10", len(seen))
	}

	t.Run("emit error", func(t *testing.T) {
		boom := errors.New("store is down")
		calls := 0
		err := s.Pull(context.Background(), "", func(context.Context, *record.Batch) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("err = %v after %d calls", err, calls)
		}
	})
}

func TestIMAPSeveralAccounts(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	const date = "Mon, 27 May 2024 09:00:00 +0000"
	shared := testMail("shared@client.example", olga, anna+", "+boris, "Всем", date, "x")
	srv.Append(t, anna, "INBOX", shared, time.Time{})
	srv.Append(t, boris, "INBOX", shared, time.Time{})
	srv.Append(t, boris, "INBOX", testMail("boris-only@client.example", olga, boris, "Борису", date, "x"), time.Time{})
	a, b := dovecotAccount(srv, anna), dovecotAccount(srv, boris)
	a.Name, b.Name = "anna", "boris"
	s := openTestIMAP(t, nil, a, b)
	c, cursor := mustPull(t, s, "")
	var got []string
	for _, m := range c.messages() {
		got = append(got, m.ExternalID)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"boris-only@client.example", "shared@client.example"}) {
		t.Errorf("messages %q", got)
	}
	cur, _ := parseIMAPCursor(cursor)
	if cur.Accounts["anna"]["INBOX"].UID != 1 || cur.Accounts["boris"]["INBOX"].UID != 2 {
		t.Errorf("cursor %s", cursor)
	}
}

func TestIMAPTLS(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t, mailtest.DovecotTLS())
	srv.Append(t, anna, "INBOX", testMail("a@client.example", olga, anna, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})
	for _, tt := range []struct {
		mode string
		port int
	}{{TLSImplicit, srv.TLSPort}, {TLSStartTLS, srv.Port}} {
		acc := dovecotAccount(srv, anna)
		acc.TLS, acc.Port, acc.CAFile = tt.mode, tt.port, srv.CAFile
		c, _ := mustPull(t, openTestIMAP(t, nil, acc), "")
		if got := ids(c.messages()); !slices.Equal(got, []string{"a@client.example INBOX"}) {
			t.Errorf("%s: %q", tt.mode, got)
		}
	}

	// A certificate nobody vouches for is refused, and not tried again.
	proxy := newFaultProxy(t, fmt.Sprintf("%s:%d", srv.Host, srv.TLSPort))
	acc := dovecotAccount(srv, anna)
	acc.TLS, acc.Port = TLSImplicit, proxy.port()
	_, _, err := pullAll(t, openTestIMAP(t, nil, acc), "")
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "TLS handshake") {
		t.Errorf("err = %v", err)
	}
	if n := proxy.connections(); n != 1 {
		t.Errorf("a bad certificate was tried on %d connections", n)
	}
}

// TestIMAPTallyMixed reads good, broken, duplicated and reused-id mail
// from a real Dovecot, in small batches: each UID fetched is stored,
// refused or merged, drafts are not counted, and every batch's counts add
// up to what it holds. Sent is read before INBOX, so what is read first is
// fixed.
func TestIMAPTallyMixed(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	const date = "Mon, 27 May 2024 09:00:00 +0000"
	reply := testMail("reply@agency.example", anna, olga, "Re: Вопрос", date, "Ответ.")
	b := testMail("b@client.example", olga, anna, "B", date, "Mailers reuse ids.")
	b2 := testMail("b@client.example", anna, olga, "Another B", date, "A different message under B's id.")
	received := time.Date(2024, 5, 28, 10, 30, 0, 0, time.UTC)

	srv.Append(t, anna, "Sent", reply, time.Time{}) // stored
	srv.Append(t, anna, "Sent", b2, time.Time{})    // stored, keeps the id
	for _, raw := range [][]byte{
		reply,                                // 1 merged
		b,                                    // 2 stored apart, warned
		[]byte("garbage, not a message\r\n"), // 3 refused
		testMail("nodate@client.example", olga, anna, "Без даты", "", "?"),                         // 4 stored, warned
		testMail("big@client.example", olga, anna, "Большое", date, strings.Repeat("много ", 600)), // 5 refused
		b2, // 6 merged
		b,  // 7 merged into the apart one
	} {
		srv.Append(t, anna, "INBOX", raw, received)
	}
	srv.Append(t, anna, "INBOX", testMail("draft@agency.example", anna, olga, "Черновик", date, "..."), time.Time{}, imap.FlagDraft)

	s := openTestIMAP(t, func(o *IMAPOptions) { o.BatchSize, o.MaxMessageBytes = 2, 3000 }, dovecotAccount(srv, anna))
	c, cursor := mustPull(t, s, "")
	apart := "b@client.example#"
	var got []string
	for _, m := range c.messages() {
		if strings.HasPrefix(m.ExternalID, apart) {
			if m.Subject != "B" || m.ThreadKey != "b@client.example" || m.ExternalID != apart+m.Fingerprint() {
				t.Errorf("the apart message: %+v", m)
			}
			got = append(got, apart+"… "+m.Folder)
			continue
		}
		got = append(got, m.ExternalID+" "+m.Folder)
	}
	if want := []string{"reply@agency.example Sent", "b@client.example Sent", apart + "… INBOX", "nodate@client.example INBOX"}; !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	var probs []string
	for _, p := range c.problems() {
		probs = append(probs, fmt.Sprintf("%s %v", p.Where, p.Warning))
	}
	if want := []string{
		anna + "/INBOX uid 2 true",  // B's id names another message
		anna + "/INBOX uid 3 false", // garbage
		anna + "/INBOX uid 4 true",  // dated by INTERNALDATE
		anna + "/INBOX uid 5 false", // too big
	}; !slices.Equal(probs, want) {
		t.Errorf("problems %q, want %q", probs, want)
	}
	// Read: the 9 messages appended but the draft; refused: the garbage
	// and the big one; merged: the INBOX copies of the reply, B2 and B.
	checkTally(t, c, record.Tally{Unit: "messages", Read: 9, Stored: 4, Refused: 2, Merged: 3, Warned: 2})

	// Nothing new: nothing read, nothing counted.
	if again, _ := mustPull(t, s, cursor); len(again.batches) != 0 {
		t.Errorf("a pull with nothing new emitted %d batches", len(again.batches))
	}
}
