package email

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "paragraphs and breaks", in: "<p>one</p><p>two<br>three</p>", want: "one\n\ntwo\nthree"},
		{name: "whitespace collapses", in: "<div>  a \n\t b  </div>\n\n<div>c</div>", want: "a b\nc"},
		{name: "entities", in: "<p>&laquo;Ёлка&raquo; &amp; &lt;tag&gt; &#1046;&nbsp;x</p>", want: "«Ёлка» & <tag> Ж x"},
		{name: "script style head dropped", in: "<html><head><title>T</title><style>.a{}</style></head><body><script>var x=1;</script>text</body></html>", want: "text"},
		{name: "missing </head> does not hide the body", in: "<head><meta charset=utf-8><body>visible", want: "visible"},
		{name: "link text differs from address", in: `<a href="https://x.example/a">here</a>`, want: "here (https://x.example/a)"},
		{name: "link text is the address", in: `<a href="https://x.example/">x.example</a> and <a href="mailto:a@x.example">a@x.example</a>`, want: "x.example and a@x.example"},
		{name: "link without text shows the address", in: `see <a href="https://x.example/img"><img src="i.png"></a>`, want: "see https://x.example/img"},
		{name: "anchors and javascript are not shown", in: `<a href="#top">up</a> <a href="javascript:void(0)">go</a>`, want: "up go"},
		{name: "lists", in: "<ul><li>one</li><li>two</li></ul>after", want: "- one\n- two\n\nafter"},
		{name: "table cells", in: "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", want: "a b\nc"},
		{name: "pre keeps spacing", in: "<pre>a  b\n  c</pre>d", want: "a  b\n  c\nd"},
		{name: "preheader padding vanishes", in: "<div>Hi&zwnj;&nbsp;&zwnj;&nbsp;\u200b</div>there", want: "Hi\nthere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, cut, err := htmlToText(strings.NewReader(tt.in), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || cut {
				t.Errorf("got %q (cut %v), want %q", got, cut, tt.want)
			}
		})
	}
}

func TestHTMLToTextLimit(t *testing.T) {
	t.Parallel()
	in := "<p>" + strings.Repeat("Жжж ", 1000) + "</p>"
	got, cut, err := htmlToText(strings.NewReader(in), 101)
	if err != nil {
		t.Fatal(err)
	}
	if !cut || len(got) > 101 || !utf8.ValidString(got) {
		t.Errorf("got %d bytes, cut %v, valid %v", len(got), cut, utf8.ValidString(got))
	}
}
