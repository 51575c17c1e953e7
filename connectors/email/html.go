package email

import (
	"io"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// htmlToText renders HTML mail as readable plain text of at most limit
// bytes: script, style and head are dropped, block elements and <br> break
// lines, a link whose text is not its address reads "text (url)", entities
// are decoded and runs of white space collapse to one. It streams r through
// the tokenizer and stops reading once limit is reached.
func htmlToText(r io.Reader, limit int) (string, bool, error) {
	z := html.NewTokenizer(r)
	// One token larger than this is not mail anyone reads; stop there
	// rather than buffer it.
	z.SetMaxBuf(1 << 20)
	w := &textWriter{limit: limit}
	var (
		skip    int // inside script, style, title, noscript, template
		inHead  bool
		pre     int
		linkAt  = -1
		linkURL string
	)
	for !w.full {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			text, cut := w.String()
			if err := z.Err(); err != io.EOF {
				return text, cut, err
			}
			return text, cut, nil
		case html.TextToken:
			if skip > 0 || inHead {
				continue
			}
			if pre > 0 {
				w.raw(string(z.Text()))
			} else {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			start := tt != html.EndTagToken
			switch tag {
			case "script", "style", "title", "noscript", "template":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			case "head":
				inHead = tt == html.StartTagToken
				continue
			case "body":
				// A missing </head> must not hide the whole mail.
				inHead = false
			}
			if skip > 0 || inHead {
				continue
			}
			switch tag {
			case "br":
				w.newline(1)
			case "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl", "hr":
				w.newline(2)
			case "div", "tr", "section", "article", "header", "footer", "address", "center",
				"dd", "dt", "form", "fieldset", "figure", "main", "nav", "aside", "caption":
				w.newline(1)
			case "li":
				w.newline(1)
				if start {
					w.raw("- ")
				}
			case "td", "th":
				w.space()
			case "pre":
				w.newline(1)
				if tt == html.StartTagToken {
					pre++
				} else if tt == html.EndTagToken && pre > 0 {
					pre--
				}
			case "a":
				if tt == html.StartTagToken {
					linkAt, linkURL = w.len(), ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							linkURL = strings.TrimSpace(string(v))
						}
					}
				} else if tt == html.EndTagToken && linkAt >= 0 {
					if text := w.since(linkAt); linkURL != "" && !sameLink(text, linkURL) {
						if text == "" {
							w.text(linkURL)
						} else {
							w.text(" (" + linkURL + ")")
						}
					}
					linkAt = -1
				}
			}
		}
	}
	text, cut := w.String()
	return text, cut, nil
}

// sameLink says whether a link's text already shows its address, so that
// "example.com" linking to https://example.com/ is not written twice.
func sameLink(text, href string) bool {
	lower := strings.ToLower(href)
	if strings.HasPrefix(lower, "javascript:") || strings.HasPrefix(lower, "#") {
		return true
	}
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"mailto:", "https://", "http://", "www."} {
			s = strings.TrimPrefix(s, p)
		}
		return strings.TrimSuffix(s, "/")
	}
	return norm(text) == norm(href)
}

// textWriter collects text, collapsing white space and holding line breaks
// back until there is something to write after them, so the output has no
// trailing blanks and at most one empty line in a row.
type textWriter struct {
	b       strings.Builder
	limit   int
	nl      int
	pending bool
	full    bool
}

func (w *textWriter) len() int { return w.b.Len() }

// since returns the text written from offset at on, trimmed.
func (w *textWriter) since(at int) string {
	s := w.b.String()
	if at > len(s) {
		return ""
	}
	return strings.TrimSpace(s[at:])
}

func (w *textWriter) newline(n int) {
	if n > w.nl {
		w.nl = n
	}
	w.pending = false
}

func (w *textWriter) space() { w.pending = true }

// flush writes the breaks or the space held back before new text.
func (w *textWriter) flush() {
	if w.b.Len() > 0 {
		switch {
		case w.nl > 0:
			w.b.WriteString(strings.Repeat("\n", w.nl))
		case w.pending:
			w.b.WriteByte(' ')
		}
	}
	w.nl, w.pending = 0, false
}

func (w *textWriter) text(s string) {
	for _, r := range s {
		switch {
		case invisible(r):
		case unicode.IsSpace(r):
			if w.nl == 0 {
				w.pending = true
			}
		default:
			w.flush()
			w.b.WriteRune(r)
		}
	}
	w.check()
}

// raw writes s keeping its white space, for <pre> and list bullets.
func (w *textWriter) raw(s string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if strings.TrimSpace(s) == "" && w.b.Len() == 0 {
		return
	}
	w.flush()
	w.b.WriteString(s)
	w.check()
}

func (w *textWriter) check() {
	if w.b.Len() > w.limit {
		w.full = true
	}
}

// String returns the text, cut to the limit; the flag says it was cut.
func (w *textWriter) String() (string, bool) {
	s, cut := capString(w.b.String(), w.limit)
	// The tokenizer passes NUL bytes of the text through; no store column
	// (PostgreSQL text above all) takes them, and the plain-text path
	// drops them too. Found by FuzzParse.
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.ToValidUTF8(strings.TrimRightFunc(s, unicode.IsSpace), "\uFFFD"), cut
}

// invisible reports characters that newsletters pad preview text with and
// that a reader never sees.
func invisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u034f', '\u00ad':
		return true
	}
	return false
}
