package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	// Registers the legacy charsets (windows-1251, KOI8-R, ISO-8859-x, ...)
	// with go-message, for bodies and RFC 2047 encoded words alike.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"

	"github.com/karkas/karkas/record"
)

// Limits on what one message may turn into. They keep a hostile or broken
// message from costing more than a normal one downstream.
const (
	// MaxBodyBytes caps Message.Body; a longer text is cut on a character
	// boundary and ends with TruncatedNote.
	MaxBodyBytes = 64 << 10
	// MaxDepth is the deepest MIME nesting Parse accepts; real mail rarely
	// goes past 5, and deeper trees are built to exhaust parsers.
	MaxDepth = 20

	maxAttachments  = 200
	maxRecipients   = 1000
	maxReferences   = 50
	maxSubjectBytes = 2 << 10
	maxHeaderBytes  = 1 << 20
	htmlSniffBytes  = 8 << 10
)

// TruncatedNote ends a Body that was cut at MaxBodyBytes: record.Message has
// no field for it, and a reader of the text should know it is not whole.
const TruncatedNote = "\n\n[karkas: body truncated at 64 KiB]"

// SyntheticIDDomain is the domain of the ExternalID given to a message that
// has no usable Message-ID: "<sha256 of the message>@karkas.invalid".
const SyntheticIDDomain = "karkas.invalid"

// ErrTooDeep is returned for a message whose MIME nesting exceeds MaxDepth.
var ErrTooDeep = fmt.Errorf("MIME nesting deeper than %d", MaxDepth)

// ParseOptions tune ParseWith.
type ParseOptions struct {
	// Folder is recorded as the message's Folder and ContainerID.
	Folder string
	// Received stands in for SentAt when the Date header is missing or
	// unreadable: the mbox "From " line date, or IMAP's INTERNALDATE.
	Received time.Time
	// Warn, when set, hears about things that did not stop the parse: an
	// unknown charset kept undecoded, a broken MIME part, dropped parts.
	Warn func(msg string)
}

// Parse turns the bytes of one RFC 5322 message into a record.Message for
// folder. It is ParseWith without a fallback date or warnings.
func Parse(raw []byte, folder string) (record.Message, error) {
	return ParseWith(raw, ParseOptions{Folder: folder})
}

// ParseWith turns the bytes of one RFC 5322 message into a record.Message.
// It fails only when no message can be made of raw: an unreadable header, no
// usable date, or MIME nesting deeper than MaxDepth. Everything else (an
// unknown charset, a bad address, a corrupt base64 part) is repaired or
// dropped, and reported to opts.Warn.
//
// raw is not retained; the caller may reuse it.
func ParseWith(raw []byte, opts ParseOptions) (record.Message, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}

	// Bound the header like go-message does: a header of millions of tiny
	// fields would cost far more memory than its bytes.
	lr := &limitReader{r: bytes.NewReader(raw), n: maxHeaderBytes}
	br := bufio.NewReader(lr)
	th, err := textproto.ReadHeader(br)
	// A message that is only a header, with no blank line after it, ends
	// in EOF; that is still a message.
	if err != nil && (!errors.Is(err, io.EOF) || th.Len() == 0) {
		return record.Message{}, fmt.Errorf("reading header: %w", err)
	}
	if th.Len() == 0 {
		return record.Message{}, errors.New("reading header: no header fields")
	}
	lr.n = math.MaxInt64
	h := mail.Header{Header: message.Header{Header: th}}

	m := record.Message{
		Channel:     record.ChannelEmail,
		Folder:      opts.Folder,
		ContainerID: opts.Folder,
	}

	m.ExternalID = messageID(&h)
	if m.ExternalID == "" {
		m.ExternalID = syntheticID(raw)
	}
	if irt := msgIDs(&h, "In-Reply-To"); len(irt) > 0 {
		m.InReplyTo = irt[0]
	}
	m.References = capReferences(msgIDs(&h, "References"))
	switch {
	case len(m.References) > 0:
		m.ThreadKey = m.References[0]
	case m.InReplyTo != "":
		m.ThreadKey = m.InReplyTo
	default:
		m.ThreadKey = m.ExternalID
	}

	if from := addressList(&h, "From"); len(from) > 0 {
		m.AuthorEmail = from[0].Address
		m.AuthorName = from[0].Name
		// The email address is the person id of the "email" identity.
		m.AuthorID = m.AuthorEmail
	}
	for _, a := range addressList(&h, "To") {
		m.To = append(m.To, a.Address)
	}
	for _, a := range addressList(&h, "Cc") {
		m.Cc = append(m.Cc, a.Address)
	}

	subject, err := h.Subject()
	if err != nil {
		warn(fmt.Sprintf("decoding subject: %v", err))
	}
	m.Subject, _ = capString(cleanLine(fixText(subject)), maxSubjectBytes)

	sent, ok := sentAt(&h)
	switch {
	case ok:
	case !opts.Received.IsZero():
		sent = opts.Received
	default:
		return record.Message{}, fmt.Errorf("no usable Date header (%q) and no delivery date", cleanLine(fixText(h.Get("Date"))))
	}
	m.SentAt = sent.UTC()

	e, err := message.New(message.Header{Header: th}, br)
	w := walker{warn: warn}
	if err := w.walk(e, 0, err); err != nil {
		return record.Message{}, err
	}
	m.Body = w.body()
	m.Attachments = w.attachments

	if reason := DetectAutomated(&h, m.AuthorEmail, m.Subject); reason != "" {
		m.Automated, m.AutomatedReason = true, reason
	}
	m.TaskRefs = taskRefs(m.Subject, m.Body)
	return m, nil
}

// limitReader is io.LimitedReader with a limit that can be lifted once the
// header is read, keeping bufio's look-ahead.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("header larger than 1 MiB")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// walker collects the body text and the attachments of a MIME tree.
type walker struct {
	warn        func(string)
	plain, html string
	plainCut    bool
	htmlCut     bool
	havePlain   bool
	haveHTML    bool
	attachments []record.Attachment
	dropped     int
}

func (w *walker) walk(e *message.Entity, depth int, partErr error) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	switch {
	case partErr == nil:
	case message.IsUnknownCharset(partErr), message.IsUnknownEncoding(partErr):
		// The part still reads, undecoded; decodeText and htmlReader
		// repair what is not UTF-8. Keep going.
		w.warn(partErr.Error() + "; read undecoded")
	default:
		w.warn(partErr.Error())
	}
	mr := e.MultipartReader()
	if mr == nil {
		return w.leaf(e)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if p == nil {
			// A broken boundary or a truncated message: keep what the
			// parts before it gave.
			w.warn(fmt.Sprintf("reading MIME part: %v", err))
			return nil
		}
		if err := w.walk(p, depth+1, err); err != nil {
			return err
		}
	}
}

func (w *walker) leaf(e *message.Entity) error {
	mediaType := contentType(e.Header)
	disp, _, _ := e.Header.ContentDisposition()
	name, _ := (&mail.AttachmentHeader{Header: e.Header}).Filename()
	name = cleanLine(fixText(name))

	isText := mediaType == "text/plain" || mediaType == "text/html"
	if !isText || strings.EqualFold(disp, "attachment") || name != "" {
		// Only the size is kept, so the bytes stream through and are gone.
		n, err := io.Copy(io.Discard, e.Body)
		if err != nil {
			w.warn(fmt.Sprintf("reading attachment %q: %v", name, err))
		}
		if len(w.attachments) >= maxAttachments {
			w.dropped++
			if w.dropped == 1 {
				w.warn(fmt.Sprintf("more than %d attachments; the rest are not recorded", maxAttachments))
			}
			return nil
		}
		w.attachments = append(w.attachments, record.Attachment{Name: name, ContentType: mediaType, Size: n})
		return nil
	}

	if mediaType == "text/html" {
		if w.haveHTML {
			return nil
		}
		text, cut, err := htmlToText(htmlReader(e.Body), MaxBodyBytes)
		if err != nil {
			w.warn(fmt.Sprintf("reading HTML part: %v", err))
		}
		w.html, w.htmlCut, w.haveHTML = text, cut, true
		return nil
	}

	data, err := io.ReadAll(io.LimitReader(e.Body, MaxBodyBytes+1))
	if err != nil {
		w.warn(fmt.Sprintf("reading text part: %v", err))
	}
	text, cut := decodeText(data, MaxBodyBytes)
	if w.plainCut {
		return nil
	}
	// Several inline text parts (a body and a list footer, or text around
	// an inline image) are one text to the reader.
	if w.havePlain && text != "" {
		text = w.plain + "\n\n" + text
	} else if w.havePlain {
		text = w.plain
	}
	capped, cut2 := capString(text, MaxBodyBytes)
	w.plain, w.plainCut, w.havePlain = capped, cut || cut2, true
	return nil
}

// body prefers the text/plain alternative, and falls back to the HTML one
// when there is no plain text or it is empty.
func (w *walker) body() string {
	text, cut := w.plain, w.plainCut
	if strings.TrimSpace(text) == "" && w.haveHTML {
		text, cut = w.html, w.htmlCut
	}
	if cut {
		text += TruncatedNote
	}
	return text
}

// contentType returns the lower-case media type of a part, defaulting to
// text/plain as RFC 2045 says; a malformed header still names its type.
func contentType(h message.Header) string {
	t, _, err := h.ContentType()
	if err != nil {
		raw := h.Get("Content-Type")
		if i := strings.IndexAny(raw, "; \t"); i >= 0 {
			raw = raw[:i]
		}
		t = raw
	}
	t = strings.ToLower(strings.ReplaceAll(cleanLine(t), " ", ""))
	if t == "" || !strings.Contains(t, "/") {
		return "text/plain"
	}
	return t
}

// decodeText turns the bytes of a text/plain part (already decoded from its
// declared charset by go-message) into clean UTF-8 of at most limit bytes.
// Bytes that are still not UTF-8 had a missing or wrong charset label.
func decodeText(data []byte, limit int) (string, bool) {
	cut := len(data) > limit
	if cut {
		data = data[:limit]
	}
	var s string
	if t := trimPartialRune(data); utf8.Valid(t) {
		s = string(t)
	} else {
		s = legacyText(data)
	}
	s = normalizeText(s)
	s, cut2 := capString(s, limit)
	return s, cut || cut2
}

var metaCharsetRe = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)`)

// htmlReader makes sure the HTML tokenizer sees UTF-8. go-message has
// already decoded a declared charset; when the bytes are still not UTF-8 the
// label was missing or wrong, and a <meta> charset or a guess decides.
func htmlReader(body io.Reader) io.Reader {
	br := bufio.NewReaderSize(body, htmlSniffBytes)
	peek, _ := br.Peek(htmlSniffBytes)
	if utf8.Valid(trimPartialRune(peek)) {
		return br
	}
	var enc encoding.Encoding
	if m := metaCharsetRe.FindSubmatch(peek); m != nil {
		enc, _ = htmlcharset.Lookup(string(m[1]))
	}
	if enc == nil || enc == encoding.Nop {
		enc = guessEncoding(peek)
	}
	return enc.NewDecoder().Reader(br)
}

// normalizeText makes line ends "\n" and drops what a database refuses.
func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.ToValidUTF8(s, "\uFFFD")
}

// cleanLine makes a one-line header value: control characters and folding
// become single spaces.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// messageID returns the Message-ID without angle brackets, tolerating the
// malformed ids old mailers wrote.
func messageID(h *mail.Header) string {
	if id, err := h.MessageID(); err == nil && cleanID(id) != "" {
		return cleanID(id)
	}
	if ids := looseIDs(h.Get("Message-Id")); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// msgIDs reads In-Reply-To or References, strictly first and loosely when
// one id in the list is malformed.
func msgIDs(h *mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil {
		return looseIDs(h.Get(key))
	}
	out := ids[:0]
	for _, id := range ids {
		if id = cleanID(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// cleanID drops what has no place in a message id and would trouble the
// store: control characters, white space, invalid UTF-8.
func cleanID(id string) string {
	id = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, id)
	return strings.ToValidUTF8(id, "\uFFFD")
}

var bracketIDRe = regexp.MustCompile(`<([^<>\s]+)>`)

func looseIDs(v string) []string {
	var ids []string
	for _, m := range bracketIDRe.FindAllStringSubmatch(v, -1) {
		if id := cleanID(m[1]); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return ids
	}
	for _, f := range strings.Fields(v) {
		if f = cleanID(strings.Trim(f, "<>,;")); strings.Contains(f, "@") {
			ids = append(ids, f)
		}
	}
	return ids
}

// capReferences keeps the root (the thread key) and the most recent ids, as
// RFC 5322 suggests for trimming a long References field.
func capReferences(refs []string) []string {
	if len(refs) <= maxReferences {
		return refs
	}
	out := append([]string{refs[0]}, refs[len(refs)-maxReferences+1:]...)
	return out
}

// syntheticID names a message that has no Message-ID by its content. Line
// ends and trailing blank lines are normalized first, so the same message
// read from an mbox and from an .eml file gets the same id.
func syntheticID(raw []byte) string {
	raw = bytes.TrimRight(raw, "\r\n")
	h := sha256.New()
	for len(raw) > 0 {
		i := bytes.Index(raw, []byte("\r\n"))
		if i < 0 {
			h.Write(raw)
			break
		}
		h.Write(raw[:i])
		h.Write([]byte{'\n'})
		raw = raw[i+2:]
	}
	return hex.EncodeToString(h.Sum(nil)) + "@" + SyntheticIDDomain
}

// address is one parsed mailbox: a lower-case address and a decoded name.
type address struct {
	Name    string
	Address string
}

// addressList parses From, To or Cc. A field net/mail refuses (raw 8-bit
// names, stray brackets) still yields whatever addresses it visibly holds.
func addressList(h *mail.Header, key string) []address {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	list, err := mail.ParseAddressList(v)
	if err != nil && !utf8.ValidString(v) {
		list, err = mail.ParseAddressList(fixText(v))
	}
	var out []address
	if err == nil {
		for _, a := range list {
			out = append(out, address{Name: cleanLine(fixText(a.Name)), Address: cleanAddress(a.Address)})
		}
	} else {
		out = looseAddresses(fixText(v))
	}
	if len(out) > maxRecipients {
		out = out[:maxRecipients]
	}
	return out
}

var looseAddrRe = regexp.MustCompile(`[^\s<>,;:"'()\[\]]+@[^\s<>,;:"'()\[\]]+`)

func looseAddresses(v string) []address {
	found := looseAddrRe.FindAllString(v, maxRecipients)
	out := make([]address, 0, len(found))
	for _, a := range found {
		out = append(out, address{Address: cleanAddress(a)})
	}
	// One mailbox written "Name <addr>" keeps its name.
	if len(out) == 1 {
		if i := strings.IndexByte(v, '<'); i > 0 {
			name := strings.Trim(strings.TrimSpace(v[:i]), `"' `)
			dec := mime.WordDecoder{CharsetReader: message.CharsetReader}
			if d, err := dec.DecodeHeader(name); err == nil {
				name = d
			}
			out[0].Name = cleanLine(fixText(name))
		}
	}
	return out
}

func cleanAddress(a string) string {
	return strings.ToLower(cleanLine(a))
}

var (
	commentRe = regexp.MustCompile(`\([^()]*\)`)
	gmtZoneRe = regexp.MustCompile(`(?i)\b(?:GMT|UTC|UT)\s*([+-]\d{4})\b`)
)

// looseDateLayouts are dates real mailers wrote that net/mail refuses;
// tried after white space is collapsed and comments are dropped.
var looseDateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05",
	"Mon, 2 January 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	time.RFC3339,
}

// sentAt reads the Date header; false when it is missing or unreadable.
func sentAt(h *mail.Header) (time.Time, bool) {
	v := strings.TrimSpace(h.Get("Date"))
	if v == "" {
		return time.Time{}, false
	}
	if t, err := h.Date(); err == nil {
		return t, saneYear(t)
	}
	v = commentRe.ReplaceAllString(v, " ")
	v = gmtZoneRe.ReplaceAllString(v, "$1")
	v = strings.Join(strings.Fields(v), " ")
	for _, layout := range looseDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, saneYear(t)
		}
	}
	return time.Time{}, false
}

// saneYear refuses dates no store or JSON encoder should be handed.
func saneYear(t time.Time) bool {
	return t.Year() >= 1900 && t.Year() <= 9999
}

// taskRefs finds Trello card links (https://trello.com/c/<shortLink>, any
// case, http or www. allowed) in the subject and body and returns their
// short links, each once, in order of appearance. It scans for the fixed
// "trello.com/c/" rather than running a case-folding regexp, which cost more
// than the rest of the parse on long Cyrillic bodies.
func taskRefs(texts ...string) []string {
	const marker = "trello.com/c/"
	var refs []string
	for _, t := range texts {
		lower := asciiLower(t) // same length as t, so offsets carry over
		for off := 0; ; {
			i := strings.Index(lower[off:], marker)
			if i < 0 {
				break
			}
			at := off + i
			off = at + len(marker)
			before := lower[:at]
			before = strings.TrimSuffix(before, "www.")
			if !strings.HasSuffix(before, "https://") && !strings.HasSuffix(before, "http://") {
				continue
			}
			end := off
			for end < len(t) && isASCIIAlnum(t[end]) {
				end++
			}
			// A short link is exactly 8 characters: no ninth may follow.
			if id := t[off:end]; len(id) == 8 && !slices.Contains(refs, id) {
				refs = append(refs, id)
			}
		}
	}
	return refs
}

// asciiLower lowers A-Z byte by byte, keeping every offset of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
