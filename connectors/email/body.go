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

// multipart splits p and chooses among its parts.
func (w *walker) multipart(p part, mediaType string, params map[string]string, depth int) (text, error) {
	boundary := params["boundary"]
	bodies := splitMultipart(p.body, boundary)
	if bodies == nil {
		if guess := guessBoundary(p.body); guess != "" {
			w.warn(fmt.Sprintf("%s boundary %q not found in the body; its parts split at %q, the boundary they use", mediaType, boundary, guess))
			bodies = splitMultipart(p.body, guess)
		}
	}
	if bodies == nil {
		// No part to split: the text is not lost, it is the body.
		w.warn(fmt.Sprintf("%s without parts (boundary %q not found); its body read as plain text", mediaType, boundary))
		return w.entity(part{header: message.Header{}, body: p.body, defType: "text/plain"}, depth+1)
	}
	defType := "text/plain"
	if mediaType == "multipart/digest" {
		defType = "message/rfc822"
	}
	parts := make([]part, 0, len(bodies))
	for _, b := range bodies {
		hdr, body, bad := splitHeader(b)
		if bad != nil {
			w.warn(fmt.Sprintf("MIME part header line %s is not a header field; the part's header ends before it and the rest is its body", badLineNote(bad)))
		}
		th, err := readHeader(hdr)
		if err != nil {
			w.warn(fmt.Sprintf("reading MIME part header: %v", err))
			th = textproto.Header{}
			body = b
		}
		parts = append(parts, part{header: message.Header{Header: th}, body: body, defType: defType})
	}

	switch mediaType {
	case "multipart/alternative":
		var firstPlain, last *text
		for _, c := range parts {
			t, err := w.entity(c, depth+1)
			if err != nil {
				return text{}, err
			}
			if t.empty() {
				continue
			}
			if t.plain && firstPlain == nil {
				firstPlain = &t
			}
			last = &t
		}
		switch {
		case firstPlain != nil:
			return *firstPlain, nil
		case last != nil:
			return *last, nil
		}
		return text{}, nil
	case "multipart/related":
		root := 0
		if start := strings.Trim(strings.TrimSpace(params["start"]), "<>"); start != "" {
			for i, c := range parts {
				if strings.Trim(strings.TrimSpace(c.header.Get("Content-Id")), "<>") == start {
					root = i
					break
				}
			}
		}
		var out text
		for i, c := range parts {
			t, err := w.entity(c, depth+1)
			if err != nil {
				return text{}, err
			}
			if i == root {
				out = t
			}
		}
		return out, nil
	}
	var out text
	for _, c := range parts {
		t, err := w.entity(c, depth+1)
		if err != nil {
			return text{}, err
		}
		out = joinText(out, t)
	}
	return out, nil
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

// splitMultipart cuts a multipart body into its parts' bytes (RFC 2046
// 5.1.1): a delimiter is "--boundary" at the start of a line, with only
// white space after it, and the line break before it belongs to it; the
// close delimiter adds "--". The preamble and the epilogue are dropped. A
// body that ends without a close delimiter ends its last part. nil when no
// delimiter is found; empty when only a close delimiter is.
func splitMultipart(body []byte, boundary string) [][]byte {
	if boundary == "" || len(boundary) > 200 {
		return nil
	}
	delim := []byte("--" + boundary)
	var parts [][]byte
	found := false
	start := -1 // where the open part's bytes begin
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + 1
		if at > 0 && body[at-1] != '\n' {
			continue
		}
		rest := body[at+len(delim):]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		lineEnd := bytes.IndexByte(rest, '\n')
		tail := rest
		if lineEnd >= 0 {
			tail = rest[:lineEnd]
		}
		if !closing && len(bytes.Trim(tail, " \t\r")) != 0 {
			continue // a longer boundary that starts with this one
		}
		found = true
		if start >= 0 {
			end := at
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if closing {
			return append([][]byte{}, parts...)
		}
		start = len(body)
		if lineEnd >= 0 {
			start = at + len(delim) + lineEnd + 1
		}
		pos = start
	}
	if !found {
		return nil
	}
	if start >= 0 {
		parts = append(parts, body[start:])
	}
	return parts
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
