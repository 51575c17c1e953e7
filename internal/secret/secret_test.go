package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRedactEchoedForms puts a secret into every shape servers and
// libraries were seen to echo it in and expects none to survive.
func TestRedactEchoedForms(t *testing.T) {
	const pw = `p@ss w/rd+"ключ"`
	s := NewSet()
	s.Add(pw)
	s.Add("sk_live_4eC39HqLyjWDarjtT1zdp7dc")
	plain := func(user string) string {
		return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))
	}
	jsonPW, _ := json.Marshal(pw)
	texts := map[string]string{
		"as is":             "535 5.7.8 bad password " + pw,
		"auth plain, 1":     "535 5.7.8 AUTH PLAIN " + plain("u"),
		"auth plain, 2":     "535 echo: " + plain("us"),
		"auth plain, 3":     "535 echo: " + plain("use"),
		"basic auth":        "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("sk_live_4eC39HqLyjWDarjtT1zdp7dc:api_token")),
		"url base64":        base64.RawURLEncoding.EncodeToString([]byte("x" + pw)),
		"query":             "GET /1/boards?token=" + url.QueryEscape(pw) + "&x=1",
		"path":              "POST /hook/" + url.PathEscape(pw),
		"json":              `{"echo":` + string(jsonPW) + `}`,
		"json, slashes":     `{"echo":"` + strings.ReplaceAll(strings.Trim(string(jsonPW), `"`), "/", `\/`) + `"}`,
		"go quoted":         "error: " + strconv.Quote(pw),
		"ascii quoted":      "error: " + strconv.QuoteToASCII(pw),
		"header":            "X-Api-Key: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"query, %20 spaces": "token=" + strings.ReplaceAll(url.QueryEscape(pw), "+", "%20"),
	}
	for name, text := range texts {
		got := s.Redact(text)
		for _, bad := range []string{pw, "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"} {
			for _, f := range forms(bad) {
				if strings.Contains(got, f) {
					t.Errorf("%s: %q still holds %q", name, got, f)
				}
			}
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("%s: %q: nothing redacted", name, got)
		}
	}
}

// An error line quotes a server's answer up to a length: a secret cut
// there is redacted too, its start not left behind.
func TestRedactCutSecret(t *testing.T) {
	s := NewSet()
	s.Add("tok-0123456789abcdef")
	got := s.Redact("400 Bad Request: you sent token=tok-0123456… and more: tok-01… tok… x…")
	if strings.Contains(got, "tok-0") {
		t.Errorf("got %q", got)
	}
	if !strings.Contains(got, "tok…") || !strings.Contains(got, " x…") {
		t.Errorf("got %q: a cut shorter than 4 characters or not a secret's is kept", got)
	}
}

func TestRedactLeavesOtherText(t *testing.T) {
	s := NewSet()
	s.Add("abc") // too short to be worth blanking every "abc"
	s.Add("  tok3n-value  ")
	if got := s.Redact("abc tok3n-value"); got != "abc "+Redacted {
		t.Errorf("got %q", got)
	}
	var nilSet *Set
	if got := nilSet.Redact("tok3n-value"); got != "tok3n-value" {
		t.Errorf("nil set: %q", got)
	}
}

func TestAddURL(t *testing.T) {
	s := NewSet()
	s.AddSecretURL("https://hooks.example.com/services/T000/B000/XXXXcanaryXXXXXXXXXXXX?sig=s3cr3t-sig-value")
	s.AddURL("postgres://karkas:pg-pass-1@db.internal:5432/karkas?sslmode=disable")
	got := s.Redact(`Post "https://hooks.example.com/services/T000/B000/XXXXcanaryXXXXXXXXXXXX?sig=s3cr3t-sig-value": dial tcp: refused; echo XXXXcanaryXXXXXXXXXXXX; s3cr3t-sig-value; login karkas:pg-pass-1 on /karkas, sslmode=disable`)
	for _, bad := range []string{"canary", "s3cr3t", "pg-pass"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q holds %q", got, bad)
		}
	}
	if !strings.Contains(got, "dial tcp: refused") || !strings.Contains(got, "on /karkas, sslmode=disable") || !strings.Contains(got, "https://hooks.example.com") {
		t.Errorf("%q lost the error", got)
	}
}

func TestWriterRedactsEachWrite(t *testing.T) {
	s := NewSet()
	s.Add("hunter2-secret")
	var buf bytes.Buffer
	w := s.Writer(&buf)
	n, err := fmt.Fprintln(w, "login failed: hunter2-secret")
	if err != nil || n != len("login failed: hunter2-secret\n") {
		t.Fatalf("n %d err %v", n, err)
	}
	slog.New(slog.NewJSONHandler(w, nil)).Error("echo", "body", `{"password":"hunter2-secret"}`)
	if strings.Contains(buf.String(), "hunter2") {
		t.Errorf("output: %s", buf.String())
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("token", " tok-from-file\n", 0o600)
	write("open", "tok-world-readable\n", 0o644)
	write("pw", " pass word \r\n", 0o600)
	write("big", strings.Repeat("x", MaxFile+1), 0o600)
	var logs bytes.Buffer
	s := NewSet()
	s.Log = slog.New(slog.NewTextHandler(&logs, nil))

	if v, err := s.Read(Spec{Name: "token", File: "token", BaseDir: dir}); err != nil || v != "tok-from-file" {
		t.Errorf("token: %q %v", v, err)
	}
	if v, err := s.Read(Spec{Name: "password", File: "pw", BaseDir: dir, Exact: true}); err != nil || v != " pass word " {
		t.Errorf("exact: %q %v", v, err)
	}
	if logs.Len() != 0 {
		t.Errorf("warned of mode 600: %s", logs.String())
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Read(Spec{Name: "token", File: "open", BaseDir: dir}); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Count(logs.String(), "chmod 600") != 1 || !strings.Contains(logs.String(), "0644") {
		t.Errorf("want one warning of mode 0644, got %s", logs.String())
	}
	if _, err := s.Read(Spec{Name: "token", File: "big", BaseDir: dir}); err == nil || !strings.Contains(err.Error(), "more than 64 KiB") {
		t.Errorf("big: %v", err)
	}
	// A device that never ends is refused at the cap, not read into
	// memory until the process dies.
	if _, err := s.Read(Spec{Name: "token", File: "/dev/zero"}); err == nil || !strings.Contains(err.Error(), "more than 64 KiB") {
		t.Errorf("/dev/zero: %v", err)
	}
	if got := s.Redact("a tok-from-file b tok-world-readable c"); strings.Contains(got, "tok-") {
		t.Errorf("read secrets not kept: %q", got)
	}
	if _, err := s.Read(Spec{Name: "token", Inline: "x", File: "token"}); err == nil || !strings.Contains(err.Error(), "keep one") {
		t.Errorf("both: %v", err)
	}
	if _, err := s.Require(Value{}, "token", "TRELLO_TOKEN"); err == nil || err.Error() != "token: set token (e.g. ${TRELLO_TOKEN}) or token_file" {
		t.Errorf("missing: %v", err)
	}
	if v, err := s.Require(Inline("tok-built-in-code"), "token", ""); err != nil || v != "tok-built-in-code" || s.Redact(v) != Redacted {
		t.Errorf("required and given: %q %v, not kept", v, err)
	}
	if v, err := s.Read(Spec{Name: "token"}); err != nil || v != "" {
		t.Errorf("optional: %q %v", v, err)
	}
}
