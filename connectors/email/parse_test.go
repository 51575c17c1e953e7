package email

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/karkas/karkas/record"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkMessage compares the fields a case cares about; empty wants are not
// checked, except that Automated must always match AutomatedReason.
type wantMessage struct {
	id, threadKey, inReplyTo string
	authorEmail, authorName  string
	to, cc, refs, taskRefs   []string
	subject                  string
	body                     string // exact, when set
	bodyHas, bodyLacks       []string
	sentAt                   string
	sentAtFrom               string // checked when sentAt is: "" means the Date header
	reason                   string
	attachments              []record.Attachment
}

func checkMessage(t *testing.T, got record.Message, want wantMessage) {
	t.Helper()
	eq := func(field, got, want string) {
		t.Helper()
		if want != "" && got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	eqs := func(field string, got, want []string) {
		t.Helper()
		if want != nil && !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	eq("ExternalID", got.ExternalID, want.id)
	eq("ThreadKey", got.ThreadKey, want.threadKey)
	eq("InReplyTo", got.InReplyTo, want.inReplyTo)
	eq("AuthorEmail", got.AuthorEmail, want.authorEmail)
	eq("AuthorName", got.AuthorName, want.authorName)
	eq("Subject", got.Subject, want.subject)
	eq("Body", got.Body, want.body)
	eqs("To", got.To, want.to)
	eqs("Cc", got.Cc, want.cc)
	eqs("References", got.References, want.refs)
	eqs("TaskRefs", got.TaskRefs, want.taskRefs)
	for _, s := range want.bodyHas {
		if !strings.Contains(got.Body, s) {
			t.Errorf("Body lacks %q:\n%s", s, got.Body)
		}
	}
	for _, s := range want.bodyLacks {
		if strings.Contains(got.Body, s) {
			t.Errorf("Body has %q:\n%s", s, got.Body)
		}
	}
	if want.sentAt != "" && !got.SentAt.Equal(mustTime(t, want.sentAt)) {
		t.Errorf("SentAt = %v, want %v", got.SentAt, want.sentAt)
	}
	if want.sentAt != "" && got.SentAtFrom != want.sentAtFrom {
		t.Errorf("SentAtFrom = %q, want %q", got.SentAtFrom, want.sentAtFrom)
	}
	if got.SentAt.Location() != time.UTC {
		t.Errorf("SentAt location = %v, want UTC", got.SentAt.Location())
	}
	if got.AutomatedReason != want.reason || got.Automated != (want.reason != "") {
		t.Errorf("Automated = %v %q, want reason %q", got.Automated, got.AutomatedReason, want.reason)
	}
	if want.attachments != nil && !slices.Equal(got.Attachments, want.attachments) {
		t.Errorf("Attachments = %+v, want %+v", got.Attachments, want.attachments)
	}
	if got.Channel != record.ChannelEmail {
		t.Errorf("Channel = %q", got.Channel)
	}
	for _, s := range append([]string{got.Body, got.Subject, got.AuthorName}, got.To...) {
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8: %q", s)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want wantMessage
	}{
		{
			name: "plain UTF-8 with threading and Trello links",
			file: "plain-utf8.eml",
			want: wantMessage{
				id: "plain-1@mail.example.ru", threadKey: "root-0@client.example", inReplyTo: "parent-2@agency.example",
				authorEmail: "ivan.petrov@example.ru", authorName: "Иван Петров",
				to: []string{"anna@agency.example", "bob@agency.example"}, cc: []string{"boss@client.example"},
				refs:     []string{"root-0@client.example", "parent-2@agency.example"},
				subject:  "Re: Правки по макету https://trello.com/c/Zx9Yw8Vu",
				bodyHas:  []string{"Добрый день!\n\nПосмотрите", "> цитата остаётся на месте"},
				sentAt:   "2024-05-14T07:30:00Z",
				taskRefs: []string{"Zx9Yw8Vu", "AbCd1234"},
			},
		},
		{
			name: "windows-1251 body, encoded-word subject and name, CRLF",
			file: "cp1251.eml",
			want: wantMessage{
				id: "cp1251@client.example", threadKey: "cp1251@client.example",
				authorEmail: "olga@client.example", authorName: "Ольга Смирнова",
				subject: "Счёт за май",
				body:    "Здравствуйте, Анна!\nСчёт за май во вложении не пришёл, пришлите ещё раз.\nС уважением, Ольга\n",
				sentAt:  "2024-05-15T09:00:00Z",
			},
		},
		{
			name: "KOI8-R body and subject, date with zone comment",
			file: "koi8r.eml",
			want: wantMessage{
				authorName: "Сергей", subject: "Вопрос по сайту",
				body:   "Привет! Когда будет готов сайт?\nЖдём новостей.\n",
				sentAt: "2009-02-12T14:45:10Z",
			},
		},
		{
			name: "quoted-printable body, ISO-8859-1 subject",
			file: "qp.eml",
			want: wantMessage{
				subject: "Café prêt",
				bodyHas: []string{"le café est prêt. Цена: 100 €.", "longer than seventy-six characters."},
				sentAt:  "2024-05-17T06:15:00Z",
			},
		},
		{
			name: "base64 body, ISO-8859-5 subject",
			file: "base64.eml",
			want: wantMessage{
				subject:  "Отчёт",
				body:     "Отчёт по часам за апрель: 42 часа.\nhttps://trello.com/c/Qw3rTy12\n",
				taskRefs: []string{"Qw3rTy12"},
			},
		},
		{
			name: "HTML only becomes readable text",
			file: "html-only.eml",
			want: wantMessage{
				authorName: "Дизайн студия",
				body: "Привет, команда!\n\nПервый абзац & немного текста.\nНовая строка.\n\n" +
					"Макет: ссылка на макет (https://figma.com/file/xyz), сайт example.com.\n\n- один\n- два\n\n" +
					"Карточка: тут (https://trello.com/c/HtMl5678/1-x)",
				taskRefs: []string{"HtMl5678"},
			},
		},
		{
			name: "multipart with attachments keeps plain text and records names and sizes",
			file: "attachment.eml",
			want: wantMessage{
				body: "Смотрите вложение.",
				attachments: []record.Attachment{
					{Name: "Договор.pdf", ContentType: "application/pdf", Size: 370},
					{Name: "схема.png", ContentType: "image/png", Size: 256},
				},
				bodyLacks: []string{"<b>", "%PDF"},
			},
		},
		{
			name: "Exchange out-of-office with only the subject",
			file: "exchange-oof.eml",
			want: wantMessage{reason: ReasonSubject},
		},
		{
			name: "bounce",
			file: "bounce.eml",
			want: wantMessage{
				authorEmail: "mailer-daemon@mx.agency.example", reason: ReasonBounce,
				body:        "This is the mail system. Your message could not be delivered.",
				attachments: []record.Attachment{{ContentType: "message/delivery-status", Size: 113}},
			},
		},
		{
			name: "list mail",
			file: "list.eml",
			want: wantMessage{reason: ReasonList},
		},
		{
			name: "missing Message-ID and undeclared windows-1251",
			file: "no-message-id.eml",
			want: wantMessage{
				id:        "66d9f175170e7ebf9845ea3f248c49c4a5a0d7b720d38406c64700f8759c2b28@karkas.invalid",
				threadKey: "66d9f175170e7ebf9845ea3f248c49c4a5a0d7b720d38406c64700f8759c2b28@karkas.invalid",
				subject:   "Без идентификатора",
				body:      "Письмо без Message-ID и без charset.\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var warnings []string
			got, err := ParseWith(readFixture(t, tt.file), ParseOptions{Folder: "INBOX", Warn: func(s string) { warnings = append(warnings, s) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("unexpected warnings: %q", warnings)
			}
			if got.Folder != "INBOX" || got.ContainerID != "INBOX" {
				t.Errorf("Folder, ContainerID = %q, %q", got.Folder, got.ContainerID)
			}
			checkMessage(t, got, tt.want)
		})
	}
}

func TestSyntheticIDIgnoresLineEnds(t *testing.T) {
	t.Parallel()
	lf := readFixture(t, "no-message-id.eml")
	crlf := []byte(strings.ReplaceAll(string(lf), "\n", "\r\n") + "\r\n")
	a, err := Parse(lf, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(crlf, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	if a.ExternalID != b.ExternalID {
		t.Errorf("ids differ: %s vs %s", a.ExternalID, b.ExternalID)
	}
	c, err := Parse(append(slices.Clone(lf), "changed"...), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if c.ExternalID == a.ExternalID {
		t.Error("a different message got the same synthetic id")
	}
}

func koi8(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.KOI8R.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nested builds a message whose body is depth multiparts deep.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString("Message-ID: <deep@x.example>\nFrom: a@x.example\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n")
	for i := 0; i < depth; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\"\n\n")
		b.WriteString("--b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("Content-Type: text/plain\n\ninnermost\n")
	for i := depth - 1; i >= 0; i-- {
		b.WriteString("--b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "--\n")
	}
	return b.String()
}

func TestParseCases(t *testing.T) {
	t.Parallel()
	const head = "Message-ID: <c@x.example>\nFrom: A <a@x.example>\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n"
	received := time.Date(2024, 6, 1, 12, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	long := strings.Repeat("Ж", MaxBodyBytes) // twice the cap in bytes
	tests := []struct {
		name     string
		raw      string
		received time.Time
		want     wantMessage
		wantErr  string
		warns    bool
	}{
		{
			name: "undeclared KOI8-R is told from windows-1251",
			raw:  head + "Subject: " + koi8(t, "Привет из девяностых") + "\n\n" + koi8(t, "Здравствуйте, это старое письмо.\n"),
			want: wantMessage{subject: "Привет из девяностых", body: "Здравствуйте, это старое письмо.\n"},
		},
		{
			name: "utf-8 label on windows-1251 bytes is repaired",
			raw:  head + "Content-Type: text/plain; charset=utf-8\n\n" + string([]byte{0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2}),
			want: wantMessage{body: "Привет"},
		},
		{
			name:  "a header line without a colon starts the body",
			raw:   "Message-ID: <m@x.example>\nDate: Mon, 3 Jun 2024 10:00:00 +0000\nthis line has no colon\nSubject: now in the body\n\nbody\n",
			want:  wantMessage{id: "m@x.example", sentAt: "2024-06-03T10:00:00Z", body: "this line has no colon\nSubject: now in the body\n\nbody\n"},
			warns: true,
		},
		{
			name: "a byte order mark before the header is skipped",
			raw:  "\xef\xbb\xbfMessage-ID: <bom@x.example>\nFrom: A <a@x.example>\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n\nbody\n",
			want: wantMessage{id: "bom@x.example", authorEmail: "a@x.example", body: "body\n"},
		},
		{
			name:    "a first line that is no header field is not a message",
			raw:     "this line has no colon\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n\nbody\n",
			wantErr: "no header fields",
		},
		{
			name:    "empty input",
			raw:     "",
			wantErr: "reading header",
		},
		{
			name:    "no date and no fallback",
			raw:     "Message-ID: <d@x.example>\nFrom: a@x.example\nDate: sometime soon\n\nbody\n",
			wantErr: "no usable Date",
		},
		{
			name:     "no date falls back to the delivery date",
			raw:      "Message-ID: <d@x.example>\nFrom: a@x.example\n\nbody\n",
			received: received,
			want:     wantMessage{sentAt: "2024-06-01T09:00:00Z", sentAtFrom: record.SentAtFromDelivery, body: "body\n"},
			warns:    true,
		},
		{
			name:     "no date falls back to the newest dated Received header first",
			raw:      "Received: by mx.x.example; Mon, 3 Jun 2024 10:00:07 +0200\nReceived: from a by b; Mon, 3 Jun 2024 09:59:00 +0200\nMessage-ID: <d@x.example>\nFrom: a@x.example\nDate: Tuesday\n\nbody\n",
			received: received,
			want:     wantMessage{sentAt: "2024-06-03T08:00:07Z", sentAtFrom: record.SentAtFromReceived},
			warns:    true,
		},
		{
			name: "loose date formats",
			raw:  "Message-ID: <d@x.example>\nFrom: a@x.example\nDate: Tue, 3 Jun 2008 11:05:30 GMT+0300\n\nbody\n",
			want: wantMessage{sentAt: "2008-06-03T08:05:30Z"},
		},
		{
			name: "header only, without a blank line",
			raw:  "Message-ID: <h@x.example>\nFrom: a@x.example\nDate: Mon, 3 Jun 2024 10:00:00 +0000",
			want: wantMessage{id: "h@x.example", body: ""},
		},
		{
			name: "malformed ids and addresses are read loosely",
			raw: "Message-ID: <no spaces allowed@x.example>\nFrom: Broken \"Name <Odd@X.example>\nTo: <<a@x.example>>, b@x.example\n" +
				"References: <root@x.example> <not-an-id> <last@x.example>\nIn-Reply-To: last@x.example (John's message)\n" +
				"Date: Mon, 3 Jun 2024 10:00:00 +0000\n\nbody\n",
			want: wantMessage{
				authorEmail: "odd@x.example", to: []string{"a@x.example", "b@x.example"},
				refs: []string{"root@x.example", "not-an-id", "last@x.example"}, threadKey: "root@x.example",
				inReplyTo: "last@x.example",
			},
		},
		{
			name: "thread key falls back to In-Reply-To",
			raw:  head + "In-Reply-To: <parent@x.example>\n\nbody\n",
			want: wantMessage{threadKey: "parent@x.example"},
		},
		{
			name:  "long body is cut on a character boundary and says so",
			raw:   head + "Content-Type: text/plain; charset=utf-8\n\n" + long,
			want:  wantMessage{bodyHas: []string{TruncatedNote}},
			warns: true,
		},
		{
			name:  "unknown charset is kept and warned about",
			raw:   head + "Content-Type: text/plain; charset=x-martian\n\nplain ascii\n",
			want:  wantMessage{body: "plain ascii\n"},
			warns: true,
		},
		{
			name:  "corrupt base64 keeps what decoded",
			raw:   head + "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n!!!not base64!!!\n",
			want:  wantMessage{bodyHas: []string{"hello world"}},
			warns: true,
		},
		{
			name: "plain part that is empty gives way to HTML",
			raw: head + "Content-Type: multipart/alternative; boundary=zz\n\n--zz\nContent-Type: text/plain\n\n \n--zz\n" +
				"Content-Type: text/html\n\n<p>from html</p>\n--zz--\n",
			want: wantMessage{body: "from html"},
		},
		{
			name: "twenty levels of nesting are fine",
			raw:  nested(20),
			want: wantMessage{body: "innermost"},
		},
		{
			name:    "twenty-one levels are refused",
			raw:     nested(21),
			wantErr: "deeper than 20",
		},
		{
			name: "Auto-Submitted: no is human",
			raw:  head + "Auto-Submitted: no\nX-Auto-Response-Suppress: All\nSubject: Re: Automatic replies are annoying\n\nbody\n",
			want: wantMessage{reason: ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var warnings []string
			got, err := ParseWith([]byte(tt.raw), ParseOptions{Folder: "INBOX", Received: tt.received, Warn: func(s string) { warnings = append(warnings, s) }})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.warns != (len(warnings) > 0) {
				t.Errorf("warnings = %q, want some: %v", warnings, tt.warns)
			}
			checkMessage(t, got, tt.want)
			if len(got.Body) > MaxBodyBytes+len(TruncatedNote) {
				t.Errorf("body is %d bytes", len(got.Body))
			}
		})
	}
}

func TestParseTooDeepIsErrTooDeep(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(nested(40)), "INBOX")
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v, want ErrTooDeep", err)
	}
}

func TestParseManyAttachmentsAreCapped(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Message-ID: <many@x.example>\nFrom: a@x.example\nDate: Mon, 3 Jun 2024 10:00:00 +0000\nContent-Type: multipart/mixed; boundary=q\n\n")
	for i := 0; i < maxAttachments+50; i++ {
		b.WriteString("--q\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=f.bin\n\nxyz\n")
	}
	b.WriteString("--q--\n")
	var warnings []string
	m, err := ParseWith([]byte(b.String()), ParseOptions{Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != maxAttachments || len(warnings) != 1 {
		t.Errorf("got %d attachments and warnings %q", len(m.Attachments), warnings)
	}
}

func TestTaskRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		texts []string
		want  []string
	}{
		{name: "none", texts: []string{"no links here", ""}, want: nil},
		{name: "plain", texts: []string{"see https://trello.com/c/AbCd1234"}, want: []string{"AbCd1234"}},
		{name: "with slug, http, www, upper-case host", texts: []string{"http://www.Trello.com/c/Zz99Yy88/5-slug and HTTPS://TRELLO.COM/c/aaaaBBBB?x=1"}, want: []string{"Zz99Yy88", "aaaaBBBB"}},
		{name: "short link case is kept", texts: []string{"https://trello.com/c/AbCd1234 https://trello.com/c/abcd1234"}, want: []string{"AbCd1234", "abcd1234"}},
		{name: "wrong length", texts: []string{"https://trello.com/c/Abc1234 https://trello.com/c/AbCd12345"}, want: nil},
		{name: "boards and schemeless links are not cards", texts: []string{"https://trello.com/b/AbCd1234 trello.com/c/AbCd1234 xhttps//trello.com/c/AbCd1234"}, want: nil},
		{name: "deduplicated across subject and body, in order", texts: []string{"Re: https://trello.com/c/BBBBBBBB", "Ж https://trello.com/c/AAAAAAAA и https://trello.com/c/BBBBBBBB"}, want: []string{"BBBBBBBB", "AAAAAAAA"}},
		{name: "at the very end", texts: []string{"https://trello.com/c/"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := taskRefs(tt.texts...); !slices.Equal(got, tt.want) {
				t.Errorf("taskRefs = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseBodyChoice holds the MIME trees mail clients meet and the body
// they show for each.
func TestParseBodyChoice(t *testing.T) {
	t.Parallel()
	const head = "Message-ID: <b@x.example>\nFrom: a@x.example\nDate: Mon, 3 Jun 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
	png := "Content-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <img1>\n\niVBORw0KGgo=\n"
	tests := []struct {
		name        string
		raw         string
		body        string
		attachments []record.Attachment
		warns       bool
	}{
		{
			name: "alternative prefers plain text",
			raw: head + "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\nplain\n--a\n" +
				"Content-Type: text/html\n\n<p>html</p>\n--a--\n",
			body: "plain",
		},
		{
			name: "alternative with related HTML: plain still wins, the image is an attachment",
			raw: head + "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain; charset=utf-8\n\nplain\n--a\n" +
				"Content-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n<p>html <img src=cid:img1></p>\n--r\n" + png + "--r--\n--a--\n",
			body:        "plain",
			attachments: []record.Attachment{{ContentType: "image/png", Size: 8}},
		},
		{
			name: "alternative of an empty plain part and related HTML gives the HTML root",
			raw: head + "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\n\n--a\n" +
				"Content-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n<p>from html</p>\n--r\n" + png + "--r--\n--a--\n",
			body:        "from html",
			attachments: []record.Attachment{{ContentType: "image/png", Size: 8}},
		},
		{
			name: "related gives the root its start parameter names",
			raw: head + "Content-Type: multipart/related; boundary=r; start=\"<root@x>\"; type=text/html\n\n--r\n" +
				"Content-Type: text/plain\nContent-ID: <other@x>\n\nnot the root\n--r\nContent-Type: text/html\nContent-ID: <root@x>\n\n<p>the root</p>\n--r--\n",
			body: "the root",
		},
		{
			name: "mixed gives its inline text parts in order, HTML as text",
			raw: head + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nabove the picture\n--m\n" + png +
				"--m\nContent-Type: text/html\nContent-Disposition: inline\n\n<p>below it</p>\n--m--\n",
			body:        "above the picture\n\nbelow it",
			attachments: []record.Attachment{{ContentType: "image/png", Size: 8}},
		},
		{
			name: "a text part that says attachment stays one, and an HTML one too",
			raw: head + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nthe body\n--m\n" +
				"Content-Type: text/html; name=page.html\nContent-Disposition: attachment\n\n<p>a file</p>\n--m\n" +
				"Content-Type: text/plain\nContent-Disposition: ATTACHMENT; filename=notes.txt\n\nnotes\n--m--\n",
			body:        "the body",
			attachments: []record.Attachment{{Name: "page.html", ContentType: "text/html", Size: 13}, {Name: "notes.txt", ContentType: "text/plain", Size: 5}},
		},
		{
			name: "an inline text part named in Content-Type is the body",
			raw:  head + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain; name=\"msg.txt\"\n\nnamed but inline\n--m--\n",
			body: "named but inline",
		},
		{
			name: "a forwarded message is not the body, inline or not",
			raw: head + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nsee below\n--m\n" +
				"Content-Type: message/rfc822\nContent-Disposition: inline\n\nFrom: c@x.example\nSubject: inner\n\ninner text\n--m--\n",
			body:        "see below",
			attachments: []record.Attachment{{ContentType: "message/rfc822", Size: 44}},
		},
		{
			name:        "a digest's typed text part is text, its untyped parts messages",
			raw:         head + "Content-Type: multipart/digest; boundary=d\n\n--d\nContent-Type: text/plain\n\nintro\n--d\n\nFrom: c@x.example\nSubject: one\n\nfirst\n--d--\n",
			body:        "intro",
			attachments: []record.Attachment{{ContentType: "message/rfc822", Size: 37}},
		},
		{
			name: "a signed message's signature is an attachment",
			raw: head + "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=s\n\n--s\n" +
				"Content-Type: text/plain\n\nsigned text\n--s\nContent-Type: application/pgp-signature\n\nSIG\n--s--\n",
			body:        "signed text",
			attachments: []record.Attachment{{ContentType: "application/pgp-signature", Size: 3}},
		},
		{
			name: "a boundary other than the one declared is found, with a warning",
			raw:  head + "Content-Type: multipart/mixed; boundary=declared\n\n--used\nContent-Type: text/plain\n\nthe text\n--used--\n",
			body: "the text", warns: true,
		},
		{
			name: "a multipart without a boundary is read as plain text, with a warning",
			raw:  head + "Content-Type: multipart/mixed\n\njust text\n",
			body: "just text\n", warns: true,
		},
		{
			name: "a multipart with a boundary mime.ParseMediaType refuses (duplicated, unquoted '?')",
			raw:  head + "Content-Type: multipart/mixed; boundary==_x?y; boundary=other\n\n--=_x?y\nContent-Type: text/plain\n\nfound\n--=_x?y--\n",
			body: "found",
		},
		{
			name: "an unclosed multipart ends its last part at the end",
			raw:  head + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\ncut off here\n",
			body: "cut off here\n",
		},
		{
			name: "RFC 2231 file names in windows-1251 and continued",
			raw: head + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nx\n--m\n" +
				"Content-Type: application/pdf\nContent-Disposition: attachment; filename*=windows-1251''%D1%F7%E5%F2.pdf\n\n%PDF\n--m\n" +
				"Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=utf-8''%D0%94%D0%BE%D0%B3; filename*1=\"овор.pdf\"\n\n%PDF\n--m\n" +
				"Content-Type: application/pdf; name=\"=?utf-8?B?0JDQutGCLnBkZg==?=\"\n\n%PDF\n--m--\n",
			body: "x",
			attachments: []record.Attachment{
				{Name: "Счет.pdf", ContentType: "application/pdf", Size: 4},
				{Name: "Договор.pdf", ContentType: "application/pdf", Size: 4},
				{Name: "Акт.pdf", ContentType: "application/pdf", Size: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var warnings []string
			m, err := ParseWith([]byte(tt.raw), ParseOptions{Warn: func(s string) { warnings = append(warnings, s) }})
			if err != nil {
				t.Fatal(err)
			}
			if m.Body != tt.body {
				t.Errorf("body = %q, want %q", m.Body, tt.body)
			}
			if !slices.Equal(m.Attachments, tt.attachments) {
				t.Errorf("attachments = %+v, want %+v", m.Attachments, tt.attachments)
			}
			if tt.warns != (len(warnings) > 0) {
				t.Errorf("warnings = %q, want some: %v", warnings, tt.warns)
			}
		})
	}
}

// TestParseHeaderText holds header text as mailers write it.
func TestParseHeaderText(t *testing.T) {
	t.Parallel()
	const head = "Message-ID: <h@x.example>\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n"
	tests := []struct {
		name                string
		headers             string
		authorName, address string
		to                  []string
		subject             string
	}{
		{name: "encoded word in quotes", headers: "From: \"=?utf-8?q?=C3=89ric?=\" <e@x.example>\n", authorName: "Éric", address: "e@x.example"},
		{name: "encoded word and text in quotes", headers: "From: \"=?utf-8?q?=C3=89ric?= Dupont\" <e@x.example>\n", authorName: "Éric Dupont", address: "e@x.example"},
		{name: "null sender keeps its name", headers: "From: MAILER DAEMON <>\n", authorName: "MAILER DAEMON", address: ""},
		{name: "unknown-8bit subject in the declared charset", headers: "Subject: =?unknown-8bit?b?" + b64(koi8(t, "Привет")) + "?=\nContent-Type: text/plain; charset=koi8-r\n", subject: "Привет"},
		{name: "unknown-8bit subject in UTF-8", headers: "Subject: =?unknown-8bit?q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?=\n", subject: "Привет"},
		{name: "an unknown charset in one word keeps the others decoded", headers: "Subject: =?x-martian?q?abc?= =?utf-8?q?=D0=96?=\n", subject: "abcЖ"},
		{name: "raw 8-bit name in the declared charset", headers: "From: " + koi8(t, "Сергей") + " <s@x.example>\nContent-Type: text/plain; charset=koi8-r\n", authorName: "Сергей", address: "s@x.example"},
		{name: "raw 8-bit subject in a multipart's text part charset", headers: "Subject: " + latin2(t, "Zażółć") + "\nContent-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain; charset=iso-8859-2\n\nx\n--m--", subject: "Zażółć"},
		{name: "recipients with empty addresses are left out", headers: "From: a@x.example\nTo: undisclosed-recipients:;, \"Broken <b@x.example>, <>\n", address: "a@x.example", to: []string{"b@x.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := head + tt.headers
			if !strings.Contains(tt.headers, "\n\n") {
				raw += "\nbody\n"
			}
			m, err := Parse([]byte(raw), "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if tt.authorName != "" && m.AuthorName != tt.authorName {
				t.Errorf("AuthorName = %q, want %q", m.AuthorName, tt.authorName)
			}
			if strings.Contains(tt.headers, "From:") && m.AuthorEmail != tt.address {
				t.Errorf("AuthorEmail = %q, want %q", m.AuthorEmail, tt.address)
			}
			if tt.subject != "" && m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			if tt.to != nil && !slices.Equal(m.To, tt.to) {
				t.Errorf("To = %q, want %q", m.To, tt.to)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func latin2(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.ISO8859_2.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseManyPartsAreCapped: a message of millions of empty parts costs
// a bounded walk, says so, and keeps the text before the cap.
func TestParseManyPartsAreCapped(t *testing.T) {
	t.Parallel()
	raw := "Message-ID: <parts@x.example>\nFrom: a@x.example\nDate: Mon, 3 Jun 2024 10:00:00 +0000\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nthe text\n" + strings.Repeat("--b\n", 2*maxParts) + "--b\nContent-Type: text/plain\n\nbeyond the cap\n--b--\n"
	var warnings []string
	m, err := ParseWith([]byte(raw), ParseOptions{Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if m.Body != "the text" || len(warnings) != 1 || !strings.Contains(warnings[0], "more than 10000 MIME parts") {
		t.Errorf("body %q, warnings %q", m.Body, warnings)
	}
}
