package email

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// splitHeader cuts an entity (a message or a MIME part) into its header and
// its body. The header ends at the first empty line, or before the first
// line that is neither a header field nor the continuation of one: a mailer
// that forgot the blank line before the body wrote that line, and it and
// everything after it are the body. bad is that line, nil when the header
// ended properly (or at the end of raw).
//
// go-message's textproto.ReadHeader refuses such a header whole ("malformed
// MIME header line"), and inside a multipart its reader loses the part and
// every part after it; mail programs show what they could read. This
// applies ReadHeader's own rules for a field line, so that what it is handed
// it always reads.
func splitHeader(raw []byte) (header, body, bad []byte) {
	pos, fields := 0, 0
	for pos < len(raw) {
		next := len(raw)
		end := len(raw)
		if i := bytes.IndexByte(raw[pos:], '\n'); i >= 0 {
			end, next = pos+i, pos+i+1
		}
		line := raw[pos:end]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		switch {
		case len(line) == 0:
			return raw[:pos], raw[next:], nil
		case line[0] == ' ' || line[0] == '\t':
			if fields == 0 {
				return raw[:pos], raw[pos:], line
			}
		case !isFieldLine(line):
			return raw[:pos], raw[pos:], line
		default:
			fields++
		}
		pos = next
	}
	return raw, nil, nil
}

// isFieldLine reports a "Name: value" line as textproto.ReadHeader reads
// one: a name of printable ASCII without a colon, white space allowed
// before the colon.
func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return false
	}
	for _, c := range bytes.TrimRight(line[:i], " \t") {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// readHeader parses a header block that splitHeader cut.
func readHeader(header []byte) (textproto.Header, error) {
	end := "\r\n"
	if len(header) > 0 && header[len(header)-1] != '\n' {
		end = "\r\n\r\n"
	}
	return textproto.ReadHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(header), strings.NewReader(end))))
}

// badLineNote quotes a line for a warning, short and printable.
func badLineNote(line []byte) string {
	s, cut := capString(cleanLine(fixText(string(line))), 60)
	if cut {
		s += "..."
	}
	return strconv.Quote(s)
}

// headerParams parses a structured header value, "value; name=param; ...",
// as Content-Type and Content-Disposition hold it. The value comes back
// lower case, names lower case, params decoded: RFC 2045 quoted strings and
// tokens, RFC 2231 extended values (name*=charset'lang'%XX) and their
// continuations (name*0*=...; name*1=...), in any charset go-message knows.
//
// It is written by hand because mime.ParseMediaType, which go-message uses,
// drops or refuses what real mail holds. Of these it keeps no boundary or
// the wrong one, or refuses the whole value:
//
//	boundary*=''Sig_%2FiZ5mP               (mutt: an empty charset)
//	boundary*0*=''abc; boundary*1="def"    (continued: it keeps "def")
//	filename*=windows-1251''%D1%F7%E5%F2   (a charset other than UTF-8)
//	boundary==_x?y; boundary=other         (unquoted specials, a duplicate)
//
// Mutt and Outlook write such boundaries and file names; without the
// boundary the body is empty. Here the first of a duplicated parameter
// wins, an unquoted value runs to the next ';', an unclosed quote to the
// end, and a value in an unknown charset is read as 8-bit text (see
// decode8bit).
func headerParams(v string) (string, map[string]string) {
	segs := splitParams(v)
	value := strings.ToLower(strings.TrimSpace(segs[0]))
	type part struct {
		val      string
		extended bool
	}
	plain := map[string]string{}
	single := map[string]string{}      // name*=
	conts := map[string]map[int]part{} // name*N and name*N*
	for _, s := range segs[1:] {
		name, val, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = unquoteParam(strings.TrimSpace(val))
		if name == "" {
			continue
		}
		base, star, isExt := strings.Cut(name, "*")
		switch {
		case !isExt:
			if _, dup := plain[name]; !dup {
				plain[name] = val
			}
		case star == "":
			if _, dup := single[base]; !dup {
				single[base] = val
			}
		default:
			num, ext := strings.CutSuffix(star, "*")
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 999 {
				continue
			}
			if conts[base] == nil {
				conts[base] = map[int]part{}
			}
			if _, dup := conts[base][n]; !dup {
				conts[base][n] = part{val: val, extended: ext}
			}
		}
	}
	params := map[string]string{}
	for k, v := range plain {
		params[k] = v
	}
	for base, segs := range conts {
		first, ok := segs[0]
		if !ok {
			continue
		}
		var raw []byte
		charset := ""
		for n := 0; ; n++ {
			p, ok := segs[n]
			if !ok {
				break
			}
			val := p.val
			if p.extended {
				if n == 0 {
					charset, val = splitExtended(val)
				}
				raw = append(raw, percentDecode(val)...)
			} else {
				raw = append(raw, val...)
			}
		}
		if first.extended {
			params[base] = decodeCharset(raw, charset)
		} else {
			params[base] = string(raw)
		}
	}
	for base, v := range single {
		charset, val := splitExtended(v)
		params[base] = decodeCharset(percentDecode(val), charset)
	}
	return value, params
}

// splitParams splits at the semicolons outside quoted strings.
func splitParams(v string) []string { return splitOutside(v, ';', false) }

// splitOutside splits v at sep where it stands outside quoted strings
// and, with angles, outside angle brackets (an address list's <addr>).
func splitOutside(v string, sep byte, angles bool) []string {
	var out []string
	start, quoted, angle := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case angles && c == '<' && !quoted:
			angle++
		case angles && c == '>' && !quoted && angle > 0:
			angle--
		case c == sep && !quoted && angle == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// unquoteParam undoes a quoted string (an unclosed one runs to the end, and
// what follows the closing quote is dropped); a token is kept as written.
func unquoteParam(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitExtended splits an RFC 2231 value charset'language'text.
func splitExtended(v string) (charset, text string) {
	c, rest, ok := strings.Cut(v, "'")
	if !ok {
		return "", v
	}
	_, text, ok = strings.Cut(rest, "'")
	if !ok {
		return c, rest
	}
	return c, text
}

// percentDecode undoes %XX; a '%' not followed by two hex digits stays.
func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// isUnknownCharset says a charset label means "not known": RFC 1428's
// unknown-8bit and what other mailers write for it.
func isUnknownCharset(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "", "unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "8bit", "x-binaryenc":
		return true
	}
	return false
}

// decodeCharset turns b, labelled charset, into UTF-8. An unknown or wrong
// label falls back to decode8bit's order.
func decodeCharset(b []byte, charset string) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if !isUnknownCharset(charset) && message.CharsetReader != nil {
		if r, err := message.CharsetReader(strings.ToLower(charset), bytes.NewReader(b)); err == nil {
			if out, err := io.ReadAll(r); err == nil && utf8.Valid(out) {
				return string(out)
			}
		}
	}
	return decode8bit(b, "")
}

// decode8bit reads raw 8-bit text in a header, as mail programs do: UTF-8
// when it is valid, else the message's declared charset (the charset of its
// Content-Type), else a guess among the legacy charsets (guessEncoding).
func decode8bit(b []byte, declared string) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if !isUnknownCharset(declared) && !strings.EqualFold(declared, "utf-8") && !strings.EqualFold(declared, "us-ascii") && message.CharsetReader != nil {
		if r, err := message.CharsetReader(strings.ToLower(declared), bytes.NewReader(b)); err == nil {
			if out, err := io.ReadAll(r); err == nil && utf8.Valid(out) {
				return string(out)
			}
		}
	}
	return legacyText(b)
}

// headerDecoder decodes header text: raw 8-bit bytes and RFC 2047 encoded
// words, whatever charset they claim.
type headerDecoder struct {
	// declared is the message's own charset, for raw 8-bit text and for
	// encoded words labelled unknown-8bit.
	declared string
}

// text decodes a header value. Raw 8-bit bytes are decoded first (the
// encoded words are ASCII, and survive it), then the encoded words: those
// in a charset go-message does not know, unknown-8bit among them, are read
// as raw 8-bit text rather than left undecoded, which is what
// mime.WordDecoder does with the whole value when one word's charset is
// unknown.
func (d headerDecoder) text(v string) string {
	if !utf8.ValidString(v) {
		v = decode8bit([]byte(v), d.declared)
	}
	if !strings.Contains(v, "=?") {
		return v
	}
	out, err := d.words().DecodeHeader(v)
	if err != nil {
		return v
	}
	if !utf8.ValidString(out) {
		// An encoded word in UTF-8 whose bytes are not.
		out = decode8bit([]byte(out), d.declared)
	}
	return out
}

func (d headerDecoder) words() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		if isUnknownCharset(charset) {
			return strings.NewReader(decode8bit(b, d.declared)), nil
		}
		return strings.NewReader(decodeCharset(b, charset)), nil
	}}
}

// contentType returns the lower-case media type of a part and its
// parameters. A missing or malformed type is def (text/plain, RFC 2045; in
// a multipart/digest, message/rfc822, RFC 2046 5.1.5).
func contentType(h message.Header, def string) (string, map[string]string) {
	v := h.Get("Content-Type")
	t, params := headerParams(v)
	t = strings.ReplaceAll(cleanLine(t), " ", "")
	if i := strings.IndexByte(t, '/'); i <= 0 || i == len(t)-1 || strings.Count(t, "/") != 1 {
		return def, params
	}
	return t, params
}

// disposition returns the lower-case Content-Disposition ("inline",
// "attachment", or "" when there is none) and its parameters.
func disposition(h message.Header) (string, map[string]string) {
	d, params := headerParams(h.Get("Content-Disposition"))
	if d == "" && len(params) == 0 {
		return "", nil
	}
	return strings.Join(strings.Fields(d), ""), params
}

// transferEncoding normalizes Content-Transfer-Encoding: lower case, no
// quotes, comments or parameters.
func transferEncoding(h message.Header) string {
	v := commentRe.ReplaceAllString(h.Get("Content-Transfer-Encoding"), " ")
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if i := strings.IndexAny(v, "; \t"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}

// charsetOf is a text part's declared charset, "" when it names none or
// says it does not know.
func charsetOf(params map[string]string) string {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(params["charset"]), `"'`))
	if isUnknownCharset(cs) {
		return ""
	}
	return cs
}

// fileName is a part's file name: Content-Disposition's filename, else
// Content-Type's name, with encoded words (which Outlook and Gmail put
// there, against RFC 2047) decoded.
func fileName(d headerDecoder, dparams, tparams map[string]string) string {
	for _, name := range []string{dparams["filename"], tparams["name"]} {
		if strings.TrimSpace(name) != "" {
			return cleanLine(d.text(name))
		}
	}
	return ""
}
