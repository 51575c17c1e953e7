package email

import (
	"maps"
	"testing"
)

// TestHeaderParams holds parameters as mailers write them, the ones
// mime.ParseMediaType drops or refuses among them.
func TestHeaderParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		value  string
		params map[string]string
	}{
		{in: `multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="abc"`, value: "multipart/signed",
			params: map[string]string{"micalg": "pgp-sha256", "protocol": "application/pgp-signature", "boundary": "abc"}},
		{in: `multipart/signed; boundary*=''Sig_%2FiZ5mP`, value: "multipart/signed", params: map[string]string{"boundary": "Sig_/iZ5mP"}},
		{in: `multipart/signed; boundary*=us-ascii'en'abc%20def`, value: "multipart/signed", params: map[string]string{"boundary": "abc def"}},
		{in: "multipart/mixed; boundary*0*=''abc;\r\n\tboundary*1=\"def ghi\"", value: "multipart/mixed", params: map[string]string{"boundary": "abcdef ghi"}},
		{in: `multipart/mixed; boundary*1=second; boundary*0=first`, value: "multipart/mixed", params: map[string]string{"boundary": "firstsecond"}},
		{in: `multipart/mixed; boundary*0=first; boundary*2=gap`, value: "multipart/mixed", params: map[string]string{"boundary": "first"}},
		{in: `attachment; filename*=windows-1251''%D1%F7%E5%F2.pdf`, value: "attachment", params: map[string]string{"filename": "Счет.pdf"}},
		{in: `attachment; filename*=x-unknown''%D1%F7%E5%F2.pdf`, value: "attachment", params: map[string]string{"filename": "Счет.pdf"}},
		{in: `attachment; filename="plain.pdf"; filename*=utf-8''%D0%90.pdf`, value: "attachment", params: map[string]string{"filename": "А.pdf"}},
		{in: `multipart/mixed; boundary==_x?y; boundary=other`, value: "multipart/mixed", params: map[string]string{"boundary": "=_x?y"}},
		{in: `multipart/mixed; boundary="a;b \"c\""; charset=utf-8`, value: "multipart/mixed", params: map[string]string{"boundary": `a;b "c"`, "charset": "utf-8"}},
		{in: `Multipart/Mixed; BOUNDARY="unclosed`, value: "multipart/mixed", params: map[string]string{"boundary": "unclosed"}},
		{in: `text/plain; ; =x; novalue; charset = koi8-r `, value: "text/plain", params: map[string]string{"charset": "koi8-r"}},
		{in: ``, value: "", params: map[string]string{}},
	}
	for _, tt := range tests {
		value, params := headerParams(tt.in)
		if value != tt.value || !maps.Equal(params, tt.params) {
			t.Errorf("headerParams(%q) = %q %q, want %q %q", tt.in, value, params, tt.value, tt.params)
		}
	}
}

// TestSplitHeader checks the header ends where ReadHeader would stop
// reading, and what it would refuse is the body.
func TestSplitHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, header, body, bad string
	}{
		{name: "blank line", in: "A: 1\r\nB: 2\r\n\r\nbody\r\n", header: "A: 1\r\nB: 2\r\n", body: "body\r\n"},
		{name: "continuation", in: "A: 1\n 2\n\tthree\n\nbody", header: "A: 1\n 2\n\tthree\n", body: "body"},
		{name: "line without a colon", in: "A: 1\nno colon here\nB: 2\n\nbody", header: "A: 1\n", body: "no colon here\nB: 2\n\nbody", bad: "no colon here"},
		{name: "space in a field name", in: "A: 1\nX Bad: 2\n", header: "A: 1\n", body: "X Bad: 2\n", bad: "X Bad: 2"},
		{name: "8-bit field name", in: "A: 1\n\xd0\x96: 2\n", header: "A: 1\n", body: "\xd0\x96: 2\n", bad: "\xd0\x96: 2"},
		{name: "space before the colon is allowed", in: "Subject : x\n\nb", header: "Subject : x\n", body: "b"},
		{name: "leading space on the first line", in: " A: 1\n\nb", header: "", body: " A: 1\n\nb", bad: " A: 1"},
		{name: "header only", in: "A: 1\nB: 2", header: "A: 1\nB: 2", body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, b, bad := splitHeader([]byte(tt.in))
			if string(h) != tt.header || string(b) != tt.body || string(bad) != tt.bad {
				t.Errorf("splitHeader = %q, %q, %q; want %q, %q, %q", h, b, bad, tt.header, tt.body, tt.bad)
			}
			if _, err := readHeader(h); err != nil {
				t.Errorf("readHeader refused what splitHeader passed: %v", err)
			}
		})
	}
}
