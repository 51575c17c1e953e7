package report

import "testing"

func TestMdText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Баннер для Директа", "Баннер для Директа"},
		{"mention", "ping @board and @anna", "ping @\u200bboard and @\u200banna"},
		{"link", "[x](javascript:alert(1))", `\[x\](javascript:alert(1))`},
		{"image", "![a](http://t/x.png)", `!\[a\](http://t/x.png)`},
		{"html", "<script>&amp;", "&lt;script&gt;&amp;amp;"},
		{"emphasis and code", "*a* _b_ `c` ~d~ |e|", "\\*a\\* \\_b\\_ \\`c\\` \\~d\\~ \\|e\\|"},
		{"marker", "[karkas:abc]: #", `\[karkas:abc\]: #`},
		{"list start", "- item", `\- item`},
		{"heading start", "# title", `\# title`},
		{"ordered list start", "12. point", `12\. point`},
		{"ordered list paren", "3) point", `3\) point`},
		{"dots inside", "v2.5 - final", "v2.5 - final"},
		{"lines", "one\r\ntwo\tthree\u2028four", "one two three four"},
		{"bidi and controls", "abc\u202edcba\u0007\ufeff", "abcdcba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mdText(tc.in); got != tc.want {
				t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCSVCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"=SUM(A1:A9)", "'=SUM(A1:A9)"},
		{"+1", "'+1"},
		{"-cmd", "'-cmd"},
		{"@board", "'@board"},
		{"\tx", "'\tx"},
		{"a=b", "a=b"},
		{"line\nbreak", "line break"},
		{"Ольга", "Ольга"},
		{"", ""},
	} {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSafeURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://trello.com/c/abc/1-x", "https://trello.com/c/abc/1-x"},
		{"http://example.com/a b", "http://example.com/a%20b"},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{" javascript:alert(1)", ""},
		{"data:text/html,<script>", ""},
		{"//evil.example/x", ""},
		{"/relative", ""},
		{"", ""},
	} {
		if got := SafeURL(tc.in); got != tc.want {
			t.Errorf("SafeURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := mdURL("https://x.example/a_(b)"); got != "https://x.example/a_%28b%29" {
		t.Errorf("mdURL: %q", got)
	}
}
