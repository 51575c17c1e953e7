package email

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Mail is one message to send.
type Mail struct {
	// DeliveryID names the delivery; the Message-ID is derived from it
	// (see DeliveryMessageID), so sending one delivery twice sends the
	// same message. 1-100 letters, digits or ._:- without leading,
	// trailing or doubled dots.
	DeliveryID string
	// To and Cc are the recipients; at least one is needed. Names may be
	// Cyrillic; line breaks in them become spaces.
	To, Cc []netmail.Address
	// ReplyTo, when set, is where replies go instead of the sender.
	ReplyTo []netmail.Address
	// Subject may be Cyrillic; line breaks and other control characters
	// become spaces.
	Subject string
	// Text is the plain-text body; it is required.
	Text string
	// HTML is an optional alternative of Text for mail clients that show
	// HTML. The caller escapes what it puts in.
	HTML string
	// InReplyTo and References thread an answer: the Message-ID of the
	// message answered, and its References followed by that id (oldest
	// first). With or without angle brackets. InReplyTo is appended to
	// References when missing there.
	InReplyTo  string
	References []string
	// Date is the Date header; zero means now. An outbox that stores the
	// planned time makes a resend identical to the first send.
	Date time.Time
	// Headers are extra header fields: names start with X- (X-Karkas-Client,
	// say); values may be Cyrillic; line breaks become spaces.
	Headers map[string]string
}

// composed is a validated message ready to be written on each attempt.
type composed struct {
	msg          *gomail.Msg
	messageID    string // without angle brackets
	envelopeFrom string // <addr>
	recipients   []string
}

// deliveryIDRe is what a delivery id may be: dot-separated runs of
// letters, digits and _:- (":" is written "=" in the Message-ID).
var deliveryIDRe = regexp.MustCompile(`^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$`)

// DeliveryMessageID returns the Message-ID (without angle brackets) of the
// mail a delivery sends from fromAddress: karkas.<id>@<from domain>, where
// the id's colons become "=" (a colon may not stand in a Message-ID, and
// "=" may not stand in a delivery id, so distinct ids stay distinct). The
// outbox can look for it in the Sent folder before sending again.
func DeliveryMessageID(deliveryID, fromAddress string) (string, error) {
	if len(deliveryID) == 0 || len(deliveryID) > 100 || !deliveryIDRe.MatchString(deliveryID) {
		return "", fmt.Errorf("delivery id %q must be 1-100 letters, digits or ._:- without leading, trailing or doubled dots", deliveryID)
	}
	addr, err := parseBareAddress(fromAddress)
	if err != nil {
		return "", fmt.Errorf("from address: %w", err)
	}
	domain := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	return "karkas." + strings.ReplaceAll(deliveryID, ":", "=") + "@" + domain, nil
}

// parseBareAddress checks that s is one plain address (no name, no
// angle brackets) and returns it.
func parseBareAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("an address is required")
	}
	if hasControl(s) || strings.ContainsAny(s, " <>,;\"") {
		return "", fmt.Errorf("%q is not a plain address like name@example.com", s)
	}
	a, err := netmail.ParseAddress("<" + s + ">")
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return "", fmt.Errorf("%q is not a plain address like name@example.com", s)
	}
	if strings.HasSuffix(s, "@") || strings.HasPrefix(s, "@") {
		return "", fmt.Errorf("%q is not a plain address like name@example.com", s)
	}
	return s, nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// neutralizeHeaderText makes client-controlled text safe for a header:
// every run of control characters (CR and LF above all, which would start
// a header of the text's choosing) becomes one space, and invalid UTF-8 is
// replaced. Non-ASCII text is RFC 2047-encoded later.
func neutralizeHeaderText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	inCtl := false
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			if !inCtl {
				b.WriteByte(' ')
			}
			inCtl = true
			continue
		}
		inCtl = false
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// messageIDRe is a message id as a header carries it without brackets:
// printable ASCII without spaces or brackets, with an @ inside.
var messageIDRe = regexp.MustCompile(`^[!-;=?-~]+@[!-;=?-~]+$`)

// cleanMessageID checks a message id given with or without angle brackets
// and returns it bracketed.
func cleanMessageID(field, id string) (string, error) {
	s := strings.TrimSpace(id)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
	}
	if !messageIDRe.MatchString(s) || len(s) > 250 {
		return "", fmt.Errorf("%s: %q is not a message id (printable ASCII with an @, no spaces or line breaks)", field, id)
	}
	return "<" + s + ">", nil
}

// headerNameRe is what an extra header may be called.
var headerNameRe = regexp.MustCompile(`^X-[A-Za-z0-9][A-Za-z0-9-]{0,60}$`)

// reservedHeaders are the X- fields the sender writes itself.
var reservedHeaders = map[string]bool{"X-Mailer": true, "X-Auto-Response-Suppress": true}

// compose validates m and builds the message. The multipart boundary is
// derived from the content, so every attempt writes the same bytes.
func (s *Sender) compose(m Mail) (*composed, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	id, err := DeliveryMessageID(m.DeliveryID, s.from.Address)
	if err != nil {
		errs = append(errs, err)
	}
	addrs := func(field string, list []netmail.Address) []*netmail.Address {
		var out []*netmail.Address
		for i, a := range list {
			addr, err := parseBareAddress(a.Address)
			if err != nil {
				bad("%s[%d]: %w", field, i, err)
				continue
			}
			out = append(out, &netmail.Address{Name: neutralizeHeaderText(a.Name), Address: addr})
		}
		return out
	}
	to, cc, replyTo := addrs("to", m.To), addrs("cc", m.Cc), addrs("reply_to", m.ReplyTo)
	if len(m.To)+len(m.Cc) == 0 {
		bad("to: at least one recipient is needed")
	}
	if strings.TrimSpace(m.Text) == "" {
		bad("text: the plain-text body is required")
	}
	for _, body := range []struct{ name, v string }{{"text", m.Text}, {"html", m.HTML}} {
		if !utf8.ValidString(body.v) {
			bad("%s: not valid UTF-8", body.name)
		}
	}
	var inReplyTo string
	if m.InReplyTo != "" {
		if inReplyTo, err = cleanMessageID("in_reply_to", m.InReplyTo); err != nil {
			errs = append(errs, err)
		}
	}
	var refs []string
	for i, r := range m.References {
		c, err := cleanMessageID(fmt.Sprintf("references[%d]", i), r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		refs = append(refs, c)
	}
	if inReplyTo != "" && !slices.Contains(refs, inReplyTo) {
		refs = append(refs, inReplyTo)
	}
	refs = capReferences(refs)
	for name, v := range m.Headers {
		if !headerNameRe.MatchString(name) || reservedHeaders[textproto.CanonicalMIMEHeaderKey(name)] {
			bad("headers: %q is not a name karkas lets a caller set (X- followed by letters, digits and dashes, not X-Mailer or X-Auto-Response-Suppress)", name)
		}
		if !utf8.ValidString(v) {
			bad("headers[%q]: not valid UTF-8", name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithBoundary(boundaryFor(id, m)))
	msg.FromMailAddress(&s.from)
	if len(to) > 0 {
		msg.ToMailAddress(to...)
	}
	if len(cc) > 0 {
		msg.CcMailAddress(cc...)
	}
	if len(replyTo) > 0 {
		msg.ReplyToMailAddress(replyTo...)
	}
	msg.Subject(neutralizeHeaderText(m.Subject))
	date := m.Date
	if date.IsZero() {
		date = s.now()
	}
	msg.SetDateWithValue(date)
	msg.SetMessageIDWithValue(id)
	if inReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, inReplyTo)
	}
	if len(refs) > 0 {
		// One value, so that go-mail folds it between ids.
		msg.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	// Ask Exchange and Outlook not to answer with out-of-office mail.
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "OOF, AutoReply")
	msg.SetGenHeader(gomail.HeaderXMailer, "karkas")
	for name, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(textproto.CanonicalMIMEHeaderKey(name)), neutralizeHeaderText(v))
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	from, err := msg.GetSender(false)
	if err != nil {
		return nil, err
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return nil, err
	}
	return &composed{msg: msg, messageID: id, envelopeFrom: from, recipients: rcpts}, nil
}

// boundaryFor derives the multipart boundary from the message's content:
// stable across attempts, and not guessable from the delivery id alone, so
// a body cannot carry it on purpose.
func boundaryFor(id string, m Mail) string {
	h := sha256.New()
	for _, part := range []string{id, m.Subject, m.Text, m.HTML} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "karkas-" + hex.EncodeToString(h.Sum(nil))[:40]
}
