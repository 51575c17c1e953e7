package email

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/karkas/karkas/record"
)

// The body of a message is chosen as mail clients choose what to show:
//
//   - a text/plain or text/html part is text unless its Content-Disposition
//     says attachment (a file name alone does not make it one: Apple Mail and
//     Outlook name inline text parts);
//   - multipart/alternative gives its first plain-text alternative that is
//     not empty, else its last that is not (the richest, usually HTML);
//   - multipart/related gives its root (the part its start parameter
//     names, else the first);
//   - multipart/mixed, and every other multipart (signed, report, unknown
//     subtypes, as RFC 2046 says), gives its text parts in order;
//   - multipart/digest's parts are messages (their default type is
//     message/rfc822), and a message/rfc822 part anywhere is a message of
//     its own, forwarded or returned: recorded as an attachment, never
//     read into this one's body;
//   - everything else is an attachment, recorded by name, type and size.
//
// The MIME tree is split by hand over the message's bytes, which are in
// memory anyway, rather than by go-message's multipart reader: that reader
// takes the boundary from mime.ParseMediaType (see headerParams), stops at
// the first part header it cannot read, and cannot be told that a digest's
// parts default to message/rfc822. go-message still decodes each part
// (transfer encoding and charset, message.New).

// part is one MIME entity: its header and its still-encoded body.
type part struct {
	header message.Header
	body   []byte
	// defType is the type of a part without a Content-Type.
	defType string
}

// text is what an entity gives the body.
type text struct {
	s   string
	cut bool
	// plain says it came from text/plain, which an alternative prefers.
	plain bool
}

func (t text) empty() bool { return strings.TrimSpace(t.s) == "" }

// walker collects the body text and the attachments of a MIME tree.
type walker struct {
	warn        func(string)
	dec         headerDecoder
	attachments []record.Attachment
	dropped     int
	parts       int
	// charset is the first charset a text part declared, for header text
	// in raw 8-bit when the message's own Content-Type names none.
	charset string
}

// entity returns the text p gives the body and records its attachments.
func (w *walker) entity(p part, depth int) (text, error) {
	if depth > MaxDepth {
		return text{}, ErrTooDeep
	}
	mediaType, params := contentType(p.header, p.defType)
	if strings.HasPrefix(mediaType, "multipart/") {
		return w.multipart(p, mediaType, params, depth)
	}
	disp, dparams := disposition(p.header)
	name := fileName(w.dec, dparams, params)
	isText := mediaType == "text/plain" || mediaType == "text/html"
	if !isText || disp == "attachment" {
		w.attach(p, mediaType, name)
		return text{}, nil
	}
	if w.charset == "" {
		w.charset = charsetOf(params)
	}
	body := w.decoded(p, charsetOf(params))
	if mediaType == "text/html" {
		s, cut, err := htmlToText(htmlReader(body), MaxBodyBytes)
		if err != nil {
			w.warn(fmt.Sprintf("reading HTML part: %v", err))
		}
		return text{s: s, cut: cut}, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		w.warn(fmt.Sprintf("reading text part: %v", err))
	}
	s, cut := decodeText(data, MaxBodyBytes)
	return text{s: s, cut: cut, plain: true}, nil
}

// multipart splits p and chooses among its parts, one part at a time.
func (w *walker) multipart(p part, mediaType string, params map[string]string, depth int) (text, error) {
	boundary := params["boundary"]
	sp := newSplitter(p.body, boundary)
	if sp == nil {
		if guess := guessBoundary(p.body); guess != "" {
			w.warn(fmt.Sprintf("%s boundary %q not found in the body; its parts split at %q, the boundary they use", mediaType, boundary, guess))
			sp = newSplitter(p.body, guess)
		}
	}
	if sp == nil {
		// No part to split: the text is not lost, it is the body.
		w.warn(fmt.Sprintf("%s without parts (boundary %q not found); its body read as plain text", mediaType, boundary))
		return w.entity(part{header: message.Header{}, body: p.body, defType: "text/plain"}, depth+1)
	}
	defType := "text/plain"
	if mediaType == "multipart/digest" {
		defType = "message/rfc822"
	}
	start := strings.Trim(strings.TrimSpace(params["start"]), "<>")

	var (
		out              text // mixed: the texts joined
		firstPlain, last *text
		first, root      *text // related: the first part's, the start's
	)
	for i := 0; ; i++ {
		b, ok := sp.next()
		if !ok {
			break
		}
		if w.parts++; w.parts > maxParts {
			if w.parts == maxParts+1 {
				w.warn(fmt.Sprintf("more than %d MIME parts; the rest are not read", maxParts))
			}
			break
		}
		c := w.part(b, defType)
		t, err := w.entity(c, depth+1)
		if err != nil {
			return text{}, err
		}
		switch mediaType {
		case "multipart/alternative":
			if t.empty() {
				continue
			}
			if t.plain && firstPlain == nil {
				firstPlain = &t
			}
			last = &t
		case "multipart/related":
			if i == 0 {
				first = &t
			}
			if start != "" && root == nil && strings.Trim(strings.TrimSpace(c.header.Get("Content-Id")), "<>") == start {
				root = &t
			}
		default:
			out = joinText(out, t)
		}
	}
	switch {
	case firstPlain != nil:
		return *firstPlain, nil
	case last != nil:
		return *last, nil
	case root != nil:
		return *root, nil
	case first != nil:
		return *first, nil
	}
	return out, nil
}

// part reads the header of one part's bytes.
func (w *walker) part(b []byte, defType string) part {
	hdr, body, bad := splitHeader(b)
	if bad != nil {
		w.warn(fmt.Sprintf("MIME part header line %s is not a header field; the part's header ends before it and the rest is its body", badLineNote(bad)))
	}
	th, err := readHeader(hdr)
	if err != nil {
		w.warn(fmt.Sprintf("reading MIME part header: %v", err))
		th, body = textproto.Header{}, b
	}
	return part{header: message.Header{Header: th}, body: body, defType: defType}
}

// joinText appends b to a, as one text to the reader: a body and a list
// footer, or the text around an inline image.
func joinText(a, b text) text {
	if a.cut || b.empty() {
		return a
	}
	if a.empty() {
		return b
	}
	s, cut := capString(a.s+"\n\n"+b.s, MaxBodyBytes)
	return text{s: s, cut: cut || b.cut, plain: a.plain || b.plain}
}

// attach records p as an attachment; only its size is kept.
func (w *walker) attach(p part, mediaType, name string) {
	n, err := io.Copy(io.Discard, w.decoded(p, ""))
	if err != nil {
		w.warn(fmt.Sprintf("reading attachment %q: %v", name, err))
	}
	if len(w.attachments) >= maxAttachments {
		w.dropped++
		if w.dropped == 1 {
			w.warn(fmt.Sprintf("more than %d attachments; the rest are not recorded", maxAttachments))
		}
		return
	}
	w.attachments = append(w.attachments, record.Attachment{Name: name, ContentType: mediaType, Size: n})
}

// decoded is p's body with its transfer encoding undone and, when charset
// is not empty, converted from it to UTF-8: go-message does both, handed a
// header that says only that (p's own may hold what it cannot parse).
func (w *walker) decoded(p part, charset string) io.Reader {
	h := textproto.Header{}
	if cte := transferEncoding(p.header); cte != "" {
		h.Set("Content-Transfer-Encoding", cte)
	}
	if charset != "" {
		if ct := mime.FormatMediaType("text/plain", map[string]string{"charset": charset}); ct != "" {
			h.Set("Content-Type", ct)
		}
	}
	e, err := message.New(message.Header{Header: h}, bytes.NewReader(p.body))
	if err != nil {
		// The part still reads, undecoded; decodeText and htmlReader
		// repair what is not UTF-8.
		w.warn(err.Error() + "; read undecoded")
	}
	return e.Body
}

// splitter cuts a multipart body into its parts' bytes (RFC 2046 5.1.1),
// one at a time: a delimiter is "--boundary" at the start of a line, with
// only white space after it, and the line break before it belongs to it;
// the close delimiter adds "--". The preamble and the epilogue are
// dropped. A body that ends without a close delimiter ends its last part.
type splitter struct {
	body  []byte
	delim []byte
	start int // where the next part's bytes begin
	done  bool
}

// newSplitter is nil when body holds no delimiter of boundary.
func newSplitter(body []byte, boundary string) *splitter {
	if boundary == "" || len(boundary) > 200 {
		return nil
	}
	s := &splitter{body: body, delim: []byte("--" + boundary)}
	_, after, closing, ok := s.find(0)
	if !ok {
		return nil
	}
	s.start, s.done = after, closing
	return s
}

// next returns the next part's bytes; false after the last part.
func (s *splitter) next() ([]byte, bool) {
	if s.done {
		return nil, false
	}
	at, after, closing, ok := s.find(s.start)
	if !ok {
		s.done = true
		return s.body[s.start:], true
	}
	end := at
	if end > s.start && s.body[end-1] == '\n' {
		end--
		if end > s.start && s.body[end-1] == '\r' {
			end--
		}
	}
	part := s.body[s.start:end]
	s.start, s.done = after, closing
	return part, true
}

// find returns the next delimiter line at or after from: where it starts,
// where the line after it starts, and whether it closes the multipart.
func (s *splitter) find(from int) (at, after int, closing, ok bool) {
	for pos := from; pos < len(s.body); {
		i := bytes.Index(s.body[pos:], s.delim)
		if i < 0 {
			return 0, 0, false, false
		}
		at = pos + i
		pos = at + 1
		if at > 0 && s.body[at-1] != '\n' {
			continue
		}
		rest := s.body[at+len(s.delim):]
		closing = bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		tail, after := rest, len(s.body)
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			tail, after = rest[:j], len(s.body)-len(rest)+j+1
		}
		if !closing && len(bytes.Trim(tail, " \t\r")) != 0 {
			continue // a longer boundary that starts with this one
		}
		return at, after, closing, true
	}
	return 0, 0, false, false
}

// guessBoundary finds the boundary a multipart body really uses when its
// header names none or another: the first "--token" line for which a
// "--token--" line follows. A few candidates are tried, not every line.
func guessBoundary(body []byte) string {
	tries := 0
	for pos := 0; pos < len(body) && tries < 5; {
		i := bytes.Index(body[pos:], []byte("--"))
		if i < 0 {
			return ""
		}
		at := pos + i
		pos = at + 2
		if at > 0 && body[at-1] != '\n' {
			continue
		}
		end := bytes.IndexByte(body[at:], '\n')
		if end < 0 {
			end = len(body) - at
		}
		token := string(bytes.TrimRight(body[at+2:at+end], " \t\r"))
		if token == "" || len(token) > 200 || strings.ContainsAny(token, " \t") || strings.HasSuffix(token, "--") {
			continue
		}
		tries++
		if bytes.Contains(body[at+end:], []byte("\n--"+token+"--")) {
			return token
		}
	}
	return ""
}
