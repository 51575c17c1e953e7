package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
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
	maxParts        = 10000
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
	// unreadable and no Received: header has a date: the mbox "From "
	// line's date, IMAP's INTERNALDATE, an .eml file's modification time.
	Received time.Time
	// ReceivedFrom says which of those Received is, as Message.SentAtFrom
	// records it: record.SentAtFromMboxLine, SentAtFromDelivery or
	// SentAtFromFileMTime. Empty means SentAtFromDelivery.
	ReceivedFrom string
	// Warn, when set, hears about things that did not stop the parse: a
	// date taken from elsewhere, a repaired header, an unknown charset
	// kept undecoded, a broken MIME part, dropped parts.
	Warn func(msg string)
}

// Parse turns the bytes of one RFC 5322 message into a record.Message for
// folder. It is ParseWith without a fallback date or warnings.
func Parse(raw []byte, folder string) (record.Message, error) {
	return ParseWith(raw, ParseOptions{Folder: folder})
}

// ParseWith turns the bytes of one RFC 5322 message into a record.Message.
// It fails only when no message can be made of raw: no header field at
// all, a header over 1 MiB, no date anywhere (Date, Received, the
// fallback), or MIME nesting deeper than MaxDepth. Everything else (a header
// line without a colon, a date in an old form or taken from elsewhere, an
// unknown charset, a bad address, a corrupt base64 part) is repaired or
// dropped, and reported to opts.Warn.
//
// raw is not retained; the caller may reuse it.
func ParseWith(raw []byte, opts ParseOptions) (record.Message, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}

	// Windows tools save .eml files with a UTF-8 byte order mark, which
	// mail programs skip.
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	hdr, body, bad := splitHeader(raw)
	if len(hdr) > maxHeaderBytes {
		return record.Message{}, errors.New("reading header: header larger than 1 MiB")
	}
	th, err := readHeader(hdr)
	if err != nil {
		return record.Message{}, fmt.Errorf("reading header: %w", err)
	}
	if th.Len() == 0 {
		if bad != nil {
			return record.Message{}, fmt.Errorf("reading header: no header fields (the first line, %s, is not one)", badLineNote(bad))
		}
		return record.Message{}, errors.New("reading header: no header fields")
	}
	if bad != nil {
		warn(fmt.Sprintf("header line %s is not a header field (no blank line before the body?); the header ends before it and the rest is read as the body", badLineNote(bad)))
	}
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

	sent, err := sentAt(&h, opts, warn)
	if err != nil {
		return record.Message{}, err
	}
	m.SentAt, m.SentAtFrom = sent.at.UTC(), sent.from

	_, params := contentType(h.Header, "text/plain")
	w := walker{warn: warn, dec: headerDecoder{declared: charsetOf(params)}}
	t, err := w.entity(part{header: h.Header, body: body, defType: "text/plain"}, 0)
	if err != nil {
		return record.Message{}, err
	}
	m.Body = t.s
	if t.cut {
		m.Body += TruncatedNote
		warn(fmt.Sprintf("the text is longer than the %d KiB karkas keeps of a message; stored cut", MaxBodyBytes>>10))
	}
	m.Attachments = w.attachments

	// Raw 8-bit header text is read in the message's charset: its
	// Content-Type's, else the first a text part declared.
	dec := w.dec
	if dec.declared == "" {
		dec.declared = w.charset
	}
	if from := addressList(dec, &h, "From"); len(from) > 0 {
		m.AuthorEmail = from[0].Address
		m.AuthorName = from[0].Name
		// The email address is the person id of the "email" identity.
		m.AuthorID = m.AuthorEmail
	}
	for _, a := range addressList(dec, &h, "To") {
		if a.Address != "" {
			m.To = append(m.To, a.Address)
		}
	}
	for _, a := range addressList(dec, &h, "Cc") {
		if a.Address != "" {
			m.Cc = append(m.Cc, a.Address)
		}
	}
	m.Subject, _ = capString(cleanLine(dec.text(h.Get("Subject"))), maxSubjectBytes)

	if reason := DetectAutomated(&h, m.AuthorEmail, m.Subject); reason != "" {
		m.Automated, m.AutomatedReason = true, reason
	}
	m.TaskRefs = taskRefs(m.Subject, m.Body)
	return m, nil
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

// addressList parses From, To or Cc. Raw 8-bit text is decoded first
// (net/mail reads UTF-8 only), encoded words go through d (so that
// unknown-8bit and unknown charsets still decode), and an encoded word in a
// quoted display name ("=?utf-8?q?=C3=89ric?=" <e@x>), which net/mail
// leaves as it is, is decoded as mail programs do. A field net/mail refuses
// (stray quotes or brackets, the empty address of "MAILER DAEMON <>")
// still yields the mailboxes it visibly holds.
func addressList(d headerDecoder, h *mail.Header, key string) []address {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	if !utf8.ValidString(v) {
		v = decode8bit([]byte(v), d.declared)
	}
	p := netmail.AddressParser{WordDecoder: d.words()}
	list, err := p.ParseList(v)
	var out []address
	if err == nil {
		for _, a := range list {
			name := a.Name
			if strings.Contains(name, "=?") {
				name = d.text(name)
			}
			out = append(out, address{Name: cleanLine(name), Address: cleanAddress(a.Address)})
		}
	} else {
		out = looseAddresses(d, v)
	}
	if len(out) > maxRecipients {
		out = out[:maxRecipients]
	}
	return out
}

var looseAddrRe = regexp.MustCompile(`[^\s<>,;:"'()\[\]]+@[^\s<>,;:"'()\[\]]+`)

// looseAddresses reads a list net/mail refused, mailbox by mailbox (split
// at commas outside quotes and angle brackets): "Name <addr>" keeps its
// name, also when addr is empty (a bounce's null sender) or has no domain
// (<MAILER-DAEMON>); elsewhere whatever looks like an address is one.
func looseAddresses(d headerDecoder, v string) []address {
	var out []address
	for _, entry := range splitMailboxes(v) {
		if len(out) >= maxRecipients {
			break
		}
		open := strings.IndexByte(entry, '<')
		if open < 0 {
			for _, a := range looseAddrRe.FindAllString(entry, maxRecipients-len(out)) {
				out = append(out, address{Address: cleanAddress(a)})
			}
			continue
		}
		inner := entry[open+1:]
		if end := strings.IndexByte(inner, '>'); end >= 0 {
			inner = inner[:end]
		}
		// "<<a@x>>": the innermost bracket holds the address.
		inner = inner[strings.LastIndexByte(inner, '<')+1:]
		addr := strings.TrimSpace(inner)
		if found := looseAddrRe.FindString(addr); found != "" {
			addr = found
		} else if strings.ContainsAny(addr, " \t\"") {
			addr = ""
		}
		name := strings.TrimSpace(entry[:open])
		name = strings.TrimSpace(strings.Trim(name, `"' `))
		name = strings.ReplaceAll(name, `\"`, `"`)
		out = append(out, address{Name: cleanLine(d.text(name)), Address: cleanAddress(addr)})
	}
	return out
}

// splitMailboxes splits an address list at the commas outside quoted
// strings and angle brackets.
func splitMailboxes(v string) []string { return splitOutside(v, ',', true) }

func cleanAddress(a string) string {
	return strings.ToLower(cleanLine(a))
}

var commentRe = regexp.MustCompile(`\([^()]*\)`)

// sentDate is when a message was sent, and where that came from when not
// from its Date header (a record.SentAtFrom* value).
type sentDate struct {
	at   time.Time
	from string
}

// sentAt dates a message by its Date header, else (warning that it did)
// by the newest Received: header with a date, else by opts.Received.
func sentAt(h *mail.Header, opts ParseOptions, warn func(string)) (sentDate, error) {
	v := h.Get("Date")
	if t, ok := parseDate(v); ok {
		return sentDate{at: t}, nil
	}
	why := "no Date header"
	if strings.TrimSpace(v) != "" {
		why = "Date header " + badLineNote([]byte(v)) + " unreadable"
	}
	if t, ok := receivedDate(h.Values("Received")); ok {
		warn(fmt.Sprintf("%s; dated %s by its newest Received: header", why, t.UTC().Format(time.RFC3339)))
		return sentDate{at: t, from: record.SentAtFromReceived}, nil
	}
	if !opts.Received.IsZero() {
		from := opts.ReceivedFrom
		if from == "" {
			from = record.SentAtFromDelivery
		}
		warn(fmt.Sprintf("%s, nor a Received: header with a date; dated %s by %s", why, opts.Received.UTC().Format(time.RFC3339), fallbackNames[from]))
		return sentDate{at: opts.Received, from: from}, nil
	}
	return sentDate{}, fmt.Errorf("no usable Date header (%q) and no other date to go by", cleanLine(fixText(v)))
}

// fallbackNames say in a warning what a SentAtFrom value is.
var fallbackNames = map[string]string{
	record.SentAtFromMboxLine:  `the mbox "From " line`,
	record.SentAtFromDelivery:  "the server's INTERNALDATE (when it received the message)",
	record.SentAtFromFileMTime: "the file's modification time",
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
