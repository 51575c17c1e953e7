package demogen

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Message kinds: ordinary thread mail and the special cases a mail
// importer must cope with.
const (
	mNormal      = iota
	mVacation    // Gmail vacation responder, Auto-Submitted: auto-replied
	mExchangeOOF // Outlook/Exchange: only the subject says it is automatic
	mNewsletter
	mBounce
	mMalformed
)

// Body formats.
const (
	fPlain = iota
	fHTML
	fAlternative
)

type mailThread struct {
	b       *board
	subject string
	client  int
	agent   int
}

// mailMsg is the plan of one message; its text is derived from seq when
// rendered, so plans stay small at any scale.
type mailMsg struct {
	at      time.Time
	seq     int
	kind    uint8
	th      *mailThread
	from    int
	to, cc  []int
	parent  *mailMsg
	id      string
	subject string // for specials; threads derive it
	charset string
	format  uint8
	cte     string // transfer encoding of non-ASCII text
	attach  bool
	link    string // a Trello card short link
	broken  bool   // a reply without In-Reply-To and References
	inbox   bool
	sent    bool
}

type mailGen struct {
	seed  uint64
	r     rnd
	msgs  []*mailMsg
	cards [][]*card
	ids   map[string]bool
}

func (g *mailGen) add(m *mailMsg) *mailMsg {
	m.seq = len(g.msgs)
	if m.charset == "" {
		m.charset = "utf-8"
	}
	if m.id == "" {
		m.id = g.messageID(m)
	}
	g.msgs = append(g.msgs, m)
	return m
}

// messageID imitates the sender's mail system.
func (g *mailGen) messageID(m *mailMsg) string {
	r := g.r
	for {
		var id string
		switch m.from {
		case pOlga:
			id = fmt.Sprintf("%06d%09d@mail.yandex.ru", r.IntN(1e6), r.IntN(1e9))
		case pIgor:
			id = fmt.Sprintf("%d.%s@bettastroy.ru", r.IntN(2e9), m.at.In(moscow).Format("20060102150405"))
		case pMaya:
			id = "BN6PR11MB3953" + strings.ToUpper(r.hex(28)) + "@BN6PR11MB3953.namprd11.prod.outlook.com"
		default:
			id = "CA" + r.alnum(46) + "@mail.gmail.com"
		}
		if !g.ids[id] {
			g.ids[id] = true
			return id
		}
	}
}

func (g *mailGen) subject(m *mailMsg) string {
	if m.subject != "" || m.th == nil {
		return m.subject
	}
	if m.parent == nil {
		return m.th.subject
	}
	if m.from == pMaya {
		return "RE: " + m.th.subject
	}
	return "Re: " + m.th.subject
}

// planThreads plans every board's correspondence.
func (g *mailGen) planThreads(scale int) {
	r := g.r
	days := workdays()
	for bi, b := range boards {
		for range b.threads * scale {
			th := &mailThread{b: b, subject: pick(r, mailSubjects[b.key]), client: pick(r, b.mailPeople), agent: b.pm}
			if r.chance(30) {
				th.agent = b.workers[0]
			}
			clientFirst := r.chance(70)
			from := th.agent
			if clientFirst {
				from = th.client
			}
			t := r.bizInstant(pick(r, days[:len(days)-2]), people[from].zone).UTC()
			limit := r.between(1, 7)
			var parent *mailMsg
			for n := 0; ; n++ {
				m := g.add(g.threadMsg(bi, th, from, parent, t))
				parent = m
				var next time.Time
				if people[from].agency {
					if n+1 >= limit || !r.chance(55) {
						break
					}
					from = th.client
					next = bizAdd(t, people[from].zone, r.minutes(30, 1200))
				} else {
					switch k := r.IntN(100); {
					case k < 72:
						next = bizAdd(t, berlin, r.minutes(20, 240))
					case k < 85:
						next = bizAdd(t, berlin, r.hours(6, 30))
					default:
						next = time.Time{} // never answered
					}
					if next.IsZero() {
						break
					}
					from = th.agent
				}
				if r.chance(4) {
					// An evening reply from the phone.
					l := t.In(people[from].zone)
					if ev := time.Date(l.Year(), l.Month(), l.Day(), 20, 0, 0, 0, l.Location()).Add(r.minutes(0, 120)); ev.After(t) && ev.Before(next) {
						next = ev
					}
				}
				t = next.UTC()
				if t.After(historyEnd) {
					break
				}
			}
		}
	}
}

// threadMsg plans one ordinary message of th.
func (g *mailGen) threadMsg(bi int, th *mailThread, from int, parent *mailMsg, at time.Time) *mailMsg {
	r := g.r
	m := &mailMsg{at: at, th: th, from: from, parent: parent}
	if people[from].agency {
		m.to = []int{th.client}
		m.sent = true
		if r.chance(25) {
			other := pBoris
			if from == pBoris {
				other = pDmitri
			}
			m.cc = []int{other}
			m.inbox = true // a colleague in Cc receives it too
		}
	} else {
		m.to = []int{th.agent}
		m.inbox = true
		if th.agent != th.b.pm && r.chance(30) {
			m.cc = []int{th.b.pm}
		}
		if from == pIgor && r.chance(40) {
			m.cc = append(m.cc, pOlga)
		}
		m.broken = parent != nil && r.chance(4)
	}
	switch from {
	case pIgor:
		m.format = fPlain
		if r.chance(55) {
			m.charset = legacyCharset(r)
		}
	case pOlga:
		m.format = []uint8{fAlternative, fAlternative, fHTML, fPlain}[r.IntN(4)]
		if r.chance(20) {
			m.charset = legacyCharset(r)
			m.format = fPlain
		}
	case pMaya:
		m.format = fAlternative
		if r.chance(30) {
			m.format = fHTML
		}
	case pJohn:
		m.format = fAlternative
		if r.chance(15) {
			m.format = fPlain
		}
	default:
		m.format = fAlternative
		if r.chance(5) {
			m.format = fHTML
		} else if r.chance(5) {
			m.format = fPlain
		}
	}
	switch {
	case m.charset != "utf-8":
		m.cte = pick(r, []string{"quoted-printable", "base64"})
	case from == pOlga || from == pIgor:
		m.cte = pick(r, []string{"base64", "8bit"})
	default:
		m.cte = "quoted-printable"
	}
	pct := 3
	if !people[from].agency {
		pct = 6
	}
	m.attach = r.chance(pct)
	if r.chance(18) {
		m.link = g.cardAt(bi, at)
	}
	return m
}

func legacyCharset(r rnd) string {
	if r.chance(65) {
		return "windows-1251"
	}
	return "koi8-r"
}

// cardAt returns the short link of a card of board bi that is open work
// at t, or "".
func (g *mailGen) cardAt(bi int, t time.Time) string {
	cards := g.cards[bi]
	n := sort.Search(len(cards), func(i int) bool {
		return cards[i].list != lOldIdeas && !cards[i].created.Before(t)
	})
	for range 8 {
		if n == 0 {
			return ""
		}
		c := cards[g.r.IntN(n)]
		if c.list != lOldIdeas && (c.doneAt.IsZero() || t.Before(c.doneAt.AddDate(0, 0, 5))) {
			return c.shortLink
		}
	}
	return ""
}

// planSpecials adds the auto-replies, the newsletter, the bounce and the
// malformed message. They do not scale: one of each is enough to test.
func (g *mailGen) planSpecials() {
	r := g.r
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, loc).UTC()
	}
	// John is on holiday; Gmail answers for him.
	th := &mailThread{b: boards[0], subject: "Homepage copy for final review", client: pJohn, agent: pAnna}
	m1 := g.add(&mailMsg{at: at(berlin, 2026, 10, 13, 10, 12, 5), th: th, from: pAnna, to: []int{pJohn}, format: fAlternative, cte: "quoted-printable", sent: true})
	g.add(&mailMsg{at: m1.at.Add(41 * time.Second), kind: mVacation, th: th, from: pJohn, to: []int{pAnna}, parent: m1,
		subject: "Out of office until 19 October", format: fPlain, inbox: true})
	m3 := g.add(&mailMsg{at: at(berlin, 2026, 10, 19, 9, 47, 30), th: th, from: pJohn, to: []int{pAnna}, parent: m1, format: fAlternative, cte: "quoted-printable", inbox: true})
	g.add(&mailMsg{at: m3.at.Add(80 * time.Minute), th: th, from: pAnna, to: []int{pJohn}, parent: m3, format: fAlternative, cte: "quoted-printable", sent: true})

	// Maya's Exchange answers with nothing but an "Automatic reply" subject.
	th = &mailThread{b: boards[2], subject: "Sprint 9 demo recording", client: pMaya, agent: pBoris}
	m1 = g.add(&mailMsg{at: at(berlin, 2026, 11, 3, 15, 20, 44), th: th, from: pBoris, to: []int{pMaya}, format: fAlternative, cte: "quoted-printable", sent: true})
	g.add(&mailMsg{at: m1.at.Add(65 * time.Second), kind: mExchangeOOF, th: th, from: pMaya, to: []int{pBoris}, parent: m1,
		subject: "Automatic reply: Sprint 9 demo recording", format: fHTML, inbox: true})
	m3 = g.add(&mailMsg{at: at(newYork, 2026, 11, 5, 10, 30, 2), th: th, from: pMaya, to: []int{pBoris}, parent: m1, format: fHTML, cte: "quoted-printable", inbox: true})
	g.add(&mailMsg{at: bizAdd(m3.at, berlin, 2*time.Hour).UTC(), th: th, from: pBoris, to: []int{pMaya}, parent: m3, format: fAlternative, cte: "quoted-printable", sent: true})

	// Elena writes to someone who left Betta Stroy; the mail bounces.
	sent := g.add(&mailMsg{at: at(berlin, 2026, 10, 6, 11, 5, 9), kind: mBounce, from: pElena, subject: "Фото объекта для кейса", sent: true})
	g.add(&mailMsg{at: sent.at.Add(3 * time.Second), kind: mBounce, from: -1, parent: sent,
		id:      fmt.Sprintf("%s.%s@mx1.bettastroy.ru", sent.at.Format("20060102150405"), strings.ToUpper(r.hex(10))),
		subject: "Undelivered Mail Returned to Sender", inbox: true})

	// A weekly newsletter to Chloé, Thursdays 08:00.
	for d, n := historyStart.AddDate(0, 0, 3), 112; d.Before(historyEnd); d, n = d.AddDate(0, 0, 7), n+1 {
		g.add(&mailMsg{at: d.Add(8 * time.Hour).UTC(), kind: mNewsletter, from: -1, to: []int{pChloe},
			id: fmt.Sprintf("%s.%d@designdigest.example", r.hex(16), n), subject: fmt.Sprintf("Design Digest #%d: variable fonts, dark patterns", n),
			format: fAlternative, inbox: true})
	}

	// A message whose header block is broken, as found in old exports.
	g.add(&mailMsg{at: at(berlin, 2026, 9, 2, 14, 20, 11), kind: mMalformed, from: pJohn, to: []int{pAnna},
		subject: "Re: Recipe pages — feedback", inbox: true})
}

// writeMail plans the mail and writes mail/inbox.mbox, mail/sent.mbox and
// mail/archive/*.eml, oldest first.
func writeMail(dir string, seed uint64, scale int, cards [][]*card, st *Stats) error {
	g := &mailGen{seed: seed, r: newRnd(seed, "mail", 0), cards: cards, ids: map[string]bool{}}
	g.planThreads(scale)
	g.planSpecials()
	order := slices.Clone(g.msgs)
	slices.SortStableFunc(order, func(a, b *mailMsg) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	seen := map[*mailThread]bool{}
	for _, m := range g.msgs {
		if m.th != nil {
			seen[m.th] = true
		}
	}
	st.Threads = len(seen)

	archive := filepath.Join(dir, "mail", "archive")
	old, err := filepath.Glob(filepath.Join(archive, "*.eml"))
	if err != nil {
		return fmt.Errorf("listing %s: %w", archive, err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("removing stale %s: %w", f, err)
		}
	}

	inbox, err := newMbox(filepath.Join(dir, "mail", "inbox.mbox"))
	if err != nil {
		return err
	}
	defer inbox.f.Close()
	sentBox, err := newMbox(filepath.Join(dir, "mail", "sent.mbox"))
	if err != nil {
		return err
	}
	defer sentBox.f.Close()

	for _, m := range order {
		raw := g.render(m)
		st.Emails++
		if m.at.Before(archiveBefore) {
			st.ArchiveFiles++
			name := fmt.Sprintf("%s-%05d.eml", m.at.In(berlin).Format(time.DateOnly), st.ArchiveFiles)
			if err := writeFile(dir, "mail/archive/"+name, st, func(w *bufio.Writer) error {
				_, err := w.Write(raw)
				return err
			}); err != nil {
				return err
			}
			continue
		}
		if m.inbox {
			st.InboxMessages++
			inbox.add(g.envelope(m), m.at, raw)
		}
		if m.sent {
			st.SentMessages++
			sentBox.add(g.envelope(m), m.at, raw)
		}
	}
	for _, mb := range []*mbox{inbox, sentBox} {
		if err := mb.close(); err != nil {
			return err
		}
		st.Files++
		st.Bytes += mb.n
	}
	return nil
}

// mbox writes an mboxrd file.
type mbox struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64
	err  error
}

func newMbox(path string) (*mbox, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	return &mbox{path: path, f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (mb *mbox) write(b []byte) {
	if mb.err == nil {
		var n int
		n, mb.err = mb.w.Write(b)
		mb.n += int64(n)
	}
}

// add appends one message: the "From " line with an asctime date, the
// message with LF line ends, and ">From " quoting (mboxrd: one more ">"
// before any line matching ^>*From ).
func (mb *mbox) add(sender string, at time.Time, raw []byte) {
	mb.write([]byte("From " + sender + " " + at.UTC().Format("Mon Jan _2 15:04:05 2006") + "\n"))
	text := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	for line := range bytes.Lines(text) {
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			mb.write([]byte(">"))
		}
		mb.write(line)
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		mb.write([]byte("\n"))
	}
	mb.write([]byte("\n"))
}

func (mb *mbox) close() error {
	if mb.err == nil {
		mb.err = mb.w.Flush()
	}
	if err := mb.f.Close(); err != nil && mb.err == nil {
		mb.err = err
	}
	if mb.err != nil {
		return fmt.Errorf("writing %s: %w", mb.path, mb.err)
	}
	return nil
}

func (g *mailGen) envelope(m *mailMsg) string {
	switch m.kind {
	case mBounce:
		if m.from < 0 {
			return "MAILER-DAEMON"
		}
	case mNewsletter:
		return "bounce-" + m.id[:16] + "@designdigest.example"
	}
	return people[m.from].email
}

// Rendering.

func firstName(i int) string { return strings.Fields(people[i].name)[0] }

func (m *mailMsg) russian() bool {
	if m.th != nil {
		return m.th.b.russian && (m.from != pChloe)
	}
	return people[m.from].russian
}

// ownText is the message's own words, without the quote of its parent.
func (g *mailGen) ownText(m *mailMsg) string {
	r := newRnd(g.seed, "mailtext", uint64(m.seq))
	role := "client"
	if people[m.from].agency {
		role = "agency"
	}
	key := role + "-en"
	if m.russian() {
		key = role + "-ru"
	}
	var s strings.Builder
	s.WriteString(fmt.Sprintf(pick(r, mailOpen[key]), firstName(m.to[0])))
	s.WriteString("\n\n")
	pool := mailBody[key]
	for _, i := range r.Perm(len(pool))[:r.between(1, 3)] {
		s.WriteString(pool[i])
		s.WriteString("\n")
	}
	if m.link != "" {
		if m.russian() {
			s.WriteString("Карточка: ")
		} else {
			s.WriteString("Card: ")
		}
		s.WriteString("https://trello.com/c/" + m.link + "\n")
	}
	s.WriteString("\n")
	sign := people[m.from].name
	if role == "client" {
		sign = firstName(m.from)
	}
	s.WriteString(fmt.Sprintf(mailSign[key], sign))
	return s.String()
}

// quoteHeader is the "On ..., X wrote:" line of a reply, in the replier's
// language and zone.
func quoteHeader(m *mailMsg) string {
	p := m.parent
	when := p.at.In(people[m.from].zone)
	who := people[p.from].name + " <" + people[p.from].email + ">"
	if m.russian() {
		return when.Format("02.01.2006 15:04") + ", " + who + " пишет:"
	}
	return "On " + when.Format("Mon, 2 Jan 2006 at 15:04") + ", " + who + " wrote:"
}

func (g *mailGen) plainText(m *mailMsg) string {
	text := g.ownText(m)
	if m.parent != nil && m.parent.kind == mNormal {
		var q strings.Builder
		q.WriteString("\n\n" + quoteHeader(m) + "\n")
		for _, line := range strings.Split(g.ownText(m.parent), "\n") {
			if line == "" {
				q.WriteString(">\n")
			} else {
				q.WriteString("> " + line + "\n")
			}
		}
		text += q.String()
	}
	return text
}

func htmlLines(text string) string {
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteString("<br>\n")
		}
		for j, word := range strings.Split(line, " ") {
			if j > 0 {
				b.WriteString(" ")
			}
			if strings.HasPrefix(word, "https://") {
				fmt.Fprintf(&b, `<a href="%s">%s</a>`, html.EscapeString(word), html.EscapeString(word))
			} else {
				b.WriteString(html.EscapeString(word))
			}
		}
	}
	return b.String()
}

func (g *mailGen) htmlText(m *mailMsg) string {
	var b strings.Builder
	b.WriteString("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>\n<div dir=\"ltr\">")
	b.WriteString(htmlLines(g.ownText(m)))
	b.WriteString("</div>\n")
	if m.parent != nil && m.parent.kind == mNormal {
		b.WriteString("<br><div class=\"gmail_quote\"><div class=\"gmail_attr\">")
		b.WriteString(html.EscapeString(quoteHeader(m)))
		b.WriteString("<br></div>\n<blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">")
		b.WriteString(htmlLines(g.ownText(m.parent)))
		b.WriteString("</blockquote></div>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// part is one MIME entity: its header lines (each ending in CRLF) and body.
type part struct {
	header string
	body   []byte
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// legacyText replaces what KOI8-R and windows-1251 cannot hold.
var legacyText = strings.NewReplacer("«", "\"", "»", "\"", "—", "-", "№", "N", "é", "e")

func charsetEncoder(charset string) *encoding.Encoder {
	switch charset {
	case "windows-1251":
		return encoding.ReplaceUnsupported(charmap.Windows1251.NewEncoder())
	case "koi8-r":
		return encoding.ReplaceUnsupported(charmap.KOI8R.NewEncoder())
	}
	return nil
}

// inCharset returns s as bytes of charset.
func inCharset(s, charset string) string {
	enc := charsetEncoder(charset)
	if enc == nil {
		return s
	}
	out, err := enc.String(legacyText.Replace(s))
	if err != nil {
		// ReplaceUnsupported never fails on valid UTF-8 input.
		panic(fmt.Sprintf("encoding to %s: %v", charset, err))
	}
	return out
}

func base64Lines(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// textPart encodes text (UTF-8, LF line ends) as a leaf of the given type.
func textPart(mediaType, text, charset, cte string) part {
	data := inCharset(text, charset)
	if isASCII(data) {
		if charset == "utf-8" && mediaType == "text/plain" {
			charset = "us-ascii"
		}
		cte = "7bit"
	}
	var body []byte
	switch cte {
	case "quoted-printable":
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(data)) // writes to a bytes.Buffer cannot fail
		w.Close()
		body = b.Bytes()
		if !bytes.HasSuffix(body, []byte("\r\n")) {
			body = append(body, "\r\n"...)
		}
	case "base64":
		body = base64Lines([]byte(crlf(data)))
	default:
		body = []byte(crlf(data))
	}
	return part{
		header: fmt.Sprintf("Content-Type: %s; charset=\"%s\"\r\nContent-Transfer-Encoding: %s\r\n", mediaType, charset, cte),
		body:   body,
	}
}

func multipart(subtype, boundary string, parts ...part) part {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString(p.header)
		b.WriteString("\r\n")
		b.Write(p.body)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return part{header: fmt.Sprintf("Content-Type: multipart/%s; boundary=\"%s\"\r\n", subtype, boundary), body: b.Bytes()}
}

var attachmentNames = map[bool][]string{
	false: {"brief.pdf", "homepage-v2.png", "estimate.pdf", "screenshot.png"},
	true:  {"Смета_октябрь.pdf", "фото_объекта.png", "ТЗ.pdf", "макет.png"},
}

func attachment(r rnd, russian bool) part {
	name := pick(r, attachmentNames[russian])
	var data []byte
	ctype := "application/pdf"
	if strings.HasSuffix(name, ".png") {
		ctype = "image/png"
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for i := range img.Pix {
			img.Pix[i] = uint8(r.IntN(256))
		}
		img.Set(0, 0, color.RGBA{255, 255, 255, 255})
		var b bytes.Buffer
		png.Encode(&b, img) // encoding to a bytes.Buffer cannot fail
		data = b.Bytes()
	} else {
		data = fmt.Appendf(nil, "%%PDF-1.4\n%% demo %s\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%%%EOF\n", r.hex(32))
	}
	return part{
		header: "Content-Type: " + mime.FormatMediaType(ctype, map[string]string{"name": name}) + "\r\n" +
			"Content-Disposition: " + mime.FormatMediaType("attachment", map[string]string{"filename": name}) + "\r\n" +
			"Content-Transfer-Encoding: base64\r\n",
		body: base64Lines(data),
	}
}

// encodeWord encodes a header text for charset, as the sender's client would.
func encodeWord(r rnd, s, charset string) string {
	if isASCII(s) {
		return s
	}
	if charset == "utf-8" {
		return mime.BEncoding.Encode("utf-8", s)
	}
	if r.chance(50) {
		return mime.QEncoding.Encode(charset, inCharset(s, charset))
	}
	return mime.BEncoding.Encode(charset, inCharset(s, charset))
}

func address(r rnd, i int, charset string) string {
	pp := people[i]
	if charset == "utf-8" || isASCII(pp.name) {
		return (&netmail.Address{Name: pp.name, Address: pp.email}).String()
	}
	return encodeWord(r, pp.name, charset) + " <" + pp.email + ">"
}

func addresses(r rnd, is []int, charset string) string {
	var out []string
	for _, i := range is {
		out = append(out, address(r, i, charset))
	}
	return strings.Join(out, ", ")
}

func mailDate(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC1123Z)
}

func (g *mailGen) references(m *mailMsg) string {
	var ids []string
	for p := m.parent; p != nil; p = p.parent {
		ids = append(ids, "<"+p.id+">")
	}
	slices.Reverse(ids)
	return strings.Join(ids, "\r\n ")
}

// render returns the message as it would be stored: CRLF line ends.
func (g *mailGen) render(m *mailMsg) []byte {
	r := newRnd(g.seed, "mailrender", uint64(m.seq))
	switch m.kind {
	case mNewsletter:
		return g.renderNewsletter(r, m)
	case mBounce:
		if m.from < 0 {
			return g.renderBounce(r, m)
		}
	case mMalformed:
		return g.renderMalformed(m)
	}
	var h strings.Builder
	hdr := func(k, v string) {
		if v != "" {
			h.WriteString(k + ": " + v + "\r\n")
		}
	}
	from := people[m.from]
	if m.inbox && !from.agency {
		hdr("Return-Path", "<"+from.email+">")
		hdr("Received", fmt.Sprintf("from %s (%s [203.0.113.%d])\r\n\tby mx.google.com with ESMTPS id %s\r\n\tfor <%s>; %s",
			strings.SplitN(from.email, "@", 2)[1], "mail."+strings.SplitN(from.email, "@", 2)[1], r.between(2, 250), r.alnum(12),
			people[m.to[0]].email, mailDate(m.at, time.UTC)))
	}
	hdr("MIME-Version", "1.0")
	hdr("Date", mailDate(m.at, from.zone))
	hdr("Message-ID", "<"+m.id+">")
	if m.parent != nil && !m.broken {
		hdr("In-Reply-To", "<"+m.parent.id+">")
		hdr("References", g.references(m))
	}
	subject := g.subject(m)
	if m.kind == mBounce {
		// The mail that bounces: to someone who left the client.
		hdr("Subject", encodeWord(r, subject, m.charset))
		hdr("From", address(r, m.from, m.charset))
		hdr("To", (&netmail.Address{Name: "Сергей Петров", Address: "sergey.petrov@bettastroy.ru"}).String())
		body := textPart("text/plain", "Сергей, добрый день!\n\nПришлите, пожалуйста, фото объекта для кейса.\n\nС уважением,\nЕлена Кузнецова\nNorthwind Digital\n", "utf-8", "quoted-printable")
		return []byte(h.String() + body.header + "\r\n" + string(body.body))
	}
	hdr("Subject", encodeWord(r, subject, m.charset))
	hdr("From", address(r, m.from, m.charset))
	hdr("To", addresses(r, m.to, m.charset))
	hdr("Cc", addresses(r, m.cc, m.charset))
	switch {
	case m.kind == mVacation:
		hdr("Auto-Submitted", "auto-replied")
		hdr("X-Autoreply", "yes")
		body := textPart("text/plain", "Hi,\n\nI'm out of the office until Monday 19 October with limited access to email.\nFor anything urgent please call our office on +49 30 1234567.\n\nJohn\n", "utf-8", "7bit")
		return []byte(h.String() + body.header + "\r\n" + string(body.body))
	case m.kind == mExchangeOOF:
		hdr("Thread-Topic", m.th.subject)
		hdr("Thread-Index", base64.StdEncoding.EncodeToString([]byte(r.alnum(22))))
		hdr("Content-Language", "en-US")
		hdr("X-MS-Has-Attach", "")
		body := textPart("text/html", "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=us-ascii\"></head><body>\n<p>I am out of the office until November 5 with limited access to email.&nbsp;For urgent matters please contact ops@cobaltlabs.io.</p>\n</body></html>\n", "us-ascii", "7bit")
		return []byte(h.String() + body.header + "\r\n" + string(body.body))
	case m.from == pIgor:
		hdr("X-Mailer", "The Bat! (v9.4.5) Professional")
	case m.from == pMaya:
		hdr("Thread-Topic", m.th.subject)
		hdr("X-MS-Has-Attach", map[bool]string{true: "yes", false: ""}[m.attach])
	case m.charset != "utf-8":
		hdr("X-Mailer", "Microsoft Office Outlook 12.0")
	}

	boundary := func() string { return "000000000000" + r.hex(16) }
	var body part
	switch m.format {
	case fHTML:
		body = textPart("text/html", g.htmlText(m), m.charset, m.cte)
	case fAlternative:
		body = multipart("alternative", boundary(),
			textPart("text/plain", g.plainText(m), m.charset, m.cte),
			textPart("text/html", g.htmlText(m), m.charset, m.cte))
	default:
		body = textPart("text/plain", g.plainText(m), m.charset, m.cte)
	}
	if m.attach {
		body = multipart("mixed", boundary(), body, attachment(r, m.russian()))
	}
	return []byte(h.String() + body.header + "\r\n" + string(body.body))
}

func (g *mailGen) renderNewsletter(r rnd, m *mailMsg) []byte {
	var h strings.Builder
	unsub := r.hex(24)
	fmt.Fprintf(&h, "Return-Path: <bounce-%s@designdigest.example>\r\n", m.id[:16])
	h.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(&h, "Date: %s\r\n", mailDate(m.at, time.UTC))
	fmt.Fprintf(&h, "Message-ID: <%s>\r\n", m.id)
	fmt.Fprintf(&h, "Subject: %s\r\n", m.subject)
	h.WriteString("From: Design Digest <newsletter@designdigest.example>\r\n")
	fmt.Fprintf(&h, "To: %s\r\n", people[m.to[0]].email)
	h.WriteString("List-Id: Design Digest <weekly.designdigest.example>\r\n")
	fmt.Fprintf(&h, "List-Unsubscribe: <mailto:unsubscribe@designdigest.example?subject=%s>,\r\n <https://designdigest.example/u/%s>\r\n", unsub, unsub)
	h.WriteString("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
	h.WriteString("Precedence: bulk\r\n")
	text := "This week: variable fonts in production, the dark patterns hall of shame, and 12 empty states we love.\n\nRead online: https://designdigest.example/issues/" + m.id[:16] + "\n\nYou get this because you subscribed at designdigest.example.\nUnsubscribe: https://designdigest.example/u/" + unsub + "\n"
	body := multipart("alternative", "nl"+r.hex(20),
		textPart("text/plain", text, "utf-8", "quoted-printable"),
		textPart("text/html", "<html><body><h1>Design Digest</h1>\n<p>"+htmlLines(text)+"</p></body></html>\n", "utf-8", "quoted-printable"))
	return []byte(h.String() + body.header + "\r\n" + string(body.body))
}

func (g *mailGen) renderBounce(r rnd, m *mailMsg) []byte {
	orig := m.parent
	var h strings.Builder
	h.WriteString("Return-Path: <>\r\n")
	fmt.Fprintf(&h, "Date: %s\r\n", mailDate(m.at, moscow))
	h.WriteString("From: MAILER-DAEMON@mx1.bettastroy.ru (Mail Delivery System)\r\n")
	fmt.Fprintf(&h, "Subject: %s\r\n", m.subject)
	fmt.Fprintf(&h, "To: %s\r\n", people[orig.from].email)
	h.WriteString("Auto-Submitted: auto-replied\r\n")
	fmt.Fprintf(&h, "Message-Id: <%s>\r\n", m.id)
	h.WriteString("MIME-Version: 1.0\r\n")
	notice := "This is the mail system at host mx1.bettastroy.ru.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<sergey.petrov@bettastroy.ru>: host mx1.bettastroy.ru[192.0.2.25] said: 550 5.1.1\n    <sergey.petrov@bettastroy.ru>: Recipient address rejected: User unknown\n"
	status := fmt.Sprintf("Reporting-MTA: dns; mx1.bettastroy.ru\nArrival-Date: %s\n\nFinal-Recipient: rfc822; sergey.petrov@bettastroy.ru\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n", mailDate(orig.at, moscow))
	headers := fmt.Sprintf("Date: %s\nMessage-ID: <%s>\nSubject: %s\nFrom: %s\nTo: sergey.petrov@bettastroy.ru\n",
		mailDate(orig.at, berlin), orig.id, encodeWord(r, orig.subject, "utf-8"), address(r, orig.from, "utf-8"))
	body := multipart("report", r.hex(10)+".1791360309/mx1.bettastroy.ru",
		part{header: "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n", body: []byte(crlf(notice))},
		part{header: "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n", body: []byte(crlf(status))},
		part{header: "Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n", body: []byte(crlf(headers))},
	)
	body.header = strings.Replace(body.header, "multipart/report;", "multipart/report; report-type=delivery-status;", 1)
	return []byte(h.String() + body.header + "\r\n" + string(body.body))
}

// renderMalformed writes a header block with a line that is no header at
// all: readers must report it and go on.
func (g *mailGen) renderMalformed(m *mailMsg) []byte {
	return []byte(crlf(fmt.Sprintf(`Return-Path: <john.carter@acmefoods.com>
Date: %s
From: John Carter <john.carter@acmefoods.com>
To: Anna Petrova <anna@northwind.agency>
Subject: %s
Message-ID: <%s>
X-Scanned-By MailScanner 5.4 (mx.acmefoods.com)
Content-Type: text/plain; charset=utf-8

Anna, the recipe pages look fine now, thanks.
John
`, mailDate(m.at, berlin), mime.BEncoding.Encode("utf-8", m.subject), m.id)))
}
