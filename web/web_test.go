package web

import (
	"github.com/karkas/karkas/internal/locale"
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("hash %q is not an argon2id PHC string at the RFC 9106 parameters", h)
	}
	if !CheckPassword(h, "correct horse battery") {
		t.Error("the password does not check against its own hash")
	}
	if HashPassword("correct horse battery") == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"correct horse batterY", "", "correct horse battery "} {
		if CheckPassword(h, bad) {
			t.Errorf("%q checks against the hash of another password", bad)
		}
	}
	parts := strings.Split(h, "$")
	for name, phc := range map[string]string{
		"other algorithm": strings.Replace(h, "argon2id", "argon2i", 1),
		"huge memory":     strings.Replace(h, "m=65536", "m=99999999", 1),
		"cut hash":        strings.Join(parts[:5], "$"),
		"empty":           "",
		"bcrypt":          "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	} {
		if CheckPassword(phc, "correct horse battery") {
			t.Errorf("%s: a malformed hash checks", name)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/clients/acme?period=2026-10": "/clients/acme?period=2026-10",
		"":                             "/",
		"//evil.example/":              "/",
		"/\\evil.example":              "/",
		"https://evil.example/":        "/",
		"javascript:alert(1)":          "/",
		"/login?next=/x":               "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSafeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://trello.com/c/abc":          "https://trello.com/c/abc",
		"http://example.com/x?y=1":          "http://example.com/x?y=1",
		"javascript:alert(document.cookie)": "",
		" JAVASCRIPT:alert(1)":              "",
		"data:text/html,<script>":           "",
		"//evil.example":                    "",
		"https:///nohost":                   "",
	} {
		if got := safeURL(in); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:              "under a minute",
		12 * time.Minute:              "12m",
		4*time.Hour + 10*time.Minute:  "4h 10m",
		3 * time.Hour:                 "3h",
		50 * time.Hour:                "2d 2h",
		-(26*time.Hour + time.Minute): "1d 2h",
		48*time.Hour + 59*time.Minute: "2d",
	} {
		if got := humanDuration(locale.For("en"), d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	ru := locale.For("ru")
	for d, want := range map[time.Duration]string{50 * time.Hour: "2 д 2 ч", 30 * time.Second: "меньше минуты"} {
		if got := humanDuration(ru, d); got != want {
			t.Errorf("in Russian, humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestRandomString(t *testing.T) {
	const alphabet = "ab3"
	seen := map[rune]int{}
	for range 200 {
		s := RandomString(20, alphabet)
		if len(s) != 20 {
			t.Fatalf("RandomString(20) has %d characters", len(s))
		}
		for _, r := range s {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("%q is not of the alphabet", r)
			}
			seen[r]++
		}
	}
	for _, r := range alphabet {
		if n := seen[r]; n < 1000 || n > 1670 {
			t.Errorf("%q drawn %d times of 4000: not uniform", r, n)
		}
	}
}
