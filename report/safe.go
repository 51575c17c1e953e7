package report

import (
	"strings"
	"unicode"
)

// Everything a report shows that came from a client or a source (task
// titles, names, subjects, waiver reasons, labels) passes through one of
// these before it is written as Markdown, CSV or a mail subject. HTML goes
// through html/template, which escapes by context; JSON through
// encoding/json, which escapes <, > and & as well.

// oneLine makes s one line of plain text: line breaks and tabs become
// spaces, other control characters and the bidirectional overrides that
// can make text read differently from what it holds are dropped.
func oneLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case unicode.IsControl(r), isBidiControl(r), r == '\ufeff':
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func isBidiControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// mdText neutralises s for Markdown as Trello and GitHub render it: one
// line; every character that opens inline syntax is backslash-escaped
// (brackets, so no link, image or hidden marker "[karkas:…]: #" can form;
// emphasis, code, strikethrough, table pipes), a leading character that
// would start a block (a list, a heading, a quote) too; '<', '>' and '&'
// become entities (GitHub passes some HTML through); and '@' is followed
// by a zero-width space so that "@board" or "@someone" mentions nobody.
// Bare URLs stay text that Markdown autolinks only when they are http(s),
// never javascript:.
func mdText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '@':
			// A zero-width space after @ breaks every mention syntax
			// (Trello's @board/@card, GitHub's @user/@org/team).
			b.WriteString("@\u200b")
		case '-', '+', '#', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '.', ')':
			// "1. " or "1) " at the start opens an ordered list.
			if i > 0 && strings.Trim(s[:i], "0123456789") == "" {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdURL is u (already SafeURL-checked) as a Markdown link destination:
// the characters that could end it or start a title are percent-encoded.
// Angle-bracket destinations would be simpler, but not every renderer of
// card comments knows them.
func mdURL(u string) string {
	r := strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20", "(", "%28", ")", "%29", "\"", "%22", "'", "%27",
		"\\", "%5C", "\n", "", "\r", "")
	return r.Replace(u)
}

// csvCell keeps a spreadsheet from reading text as a formula: a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which Excel and LibreOffice hide and treat as "this is
// text" (OWASP's advice for CSV injection). Numbers are written apart and
// never pass through here.
func csvCell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		if unicode.IsControl(r) && r != '\t' || isBidiControl(r) {
			return -1
		}
		return r
	}, s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// headerText is s as a mail subject line: one line, no control
// characters, so that no header can be injected through it.
func headerText(s string) string { return oneLine(s) }

// fileSafe keeps letters, digits, '-', '_' and '.' of an id for a file
// name; anything else becomes '-'.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
