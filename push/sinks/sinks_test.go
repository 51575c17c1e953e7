package sinks_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/push/sinks"
)

// The Standard Webhooks specification's published test vector: a
// receiver's library verifies what we sign only if this holds.
func TestSignStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	key, err := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := sinks.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestEscapers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in              string
		markdown, slack, html string
	}{
		{"markup", "<b>x</b> & y", `\<b\>x\</b\> \& y`, "&lt;b&gt;x&lt;/b&gt; &amp; y", "&lt;b&gt;x&lt;/b&gt; &amp; y"},
		{"mentions", "@board @card hi", "＠board ＠card hi", "＠board ＠card hi", "＠board ＠card hi"},
		{"link", "[x](javascript:alert(1))", `\[x\]\(javascript\:alert\(1\)\)`, "[x](javascript:alert(1))", "[x](javascript:alert(1))"},
		{"marker", "[karkas:d-1]: #", `\[karkas\:d-1\]\: \#`, "[karkas:d-1]: #", "[karkas:d-1]: #"},
		{"lines", "a\r\nb\u2028c\td", "a b c d", "a b c d", "a b c d"},
		{"slack emphasis", "*bold* _it_", `\*bold\* \_it\_`, "*\u200dbold*\u200d _\u200dit_\u200d", "*bold* _it_"},
		{"cyrillic", "Ответ «клиенту»", "Ответ «клиенту»", "Ответ «клиенту»", "Ответ «клиенту»"},
		{"bad utf-8", "a\xffb", "a\uFFFDb", "a\uFFFDb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sinks.Markdown(tt.in); got != tt.markdown {
				t.Errorf("Markdown(%q) = %q, want %q", tt.in, got, tt.markdown)
			}
			if got := sinks.Slack(tt.in); got != tt.slack {
				t.Errorf("Slack(%q) = %q, want %q", tt.in, got, tt.slack)
			}
			if got := sinks.HTML(tt.in); got != tt.html {
				t.Errorf("HTML(%q) = %q, want %q", tt.in, got, tt.html)
			}
		})
	}
	long := strings.Repeat("я", 500)
	if got := sinks.Plain(long); utf8.RuneCountInString(got) != 201 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long title is not cut to 200 characters: %d", utf8.RuneCountInString(got))
	}
}

func TestSafeURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://trello.com/c/abc":          "https://trello.com/c/abc",
		"http://example.com/a?b=c":          "http://example.com/a?b=c",
		"javascript:alert(1)":               "",
		"JavaScript:alert(1)":               "",
		"data:text/html,<script>":           "",
		"//evil.example/x":                  "",
		"https://ok.example/\"><script>":    "",
		" https://trello.com/c/abc ":        "https://trello.com/c/abc",
		"https://ok.example/a b":            "",
		"vbscript:msgbox":                   "",
		"https://user@ok.example/path#frag": "https://user@ok.example/path#frag",
	} {
		if got := sinks.SafeURL(in); got != want {
			t.Errorf("SafeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func delivery(items int) sinks.Delivery {
	due := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	d := sinks.Delivery{ID: "response-0123456789abcdef:breached:chat", Created: due, Message: sinks.Message{Kind: sinks.KindNotice, Agency: "Northwind"}}
	if items > 1 {
		d.Message.Kind = sinks.KindDigest
	}
	for i := range items {
		d.Message.Items = append(d.Message.Items, sinks.Item{ClockID: fmt.Sprint("c", i), Policy: "response", To: "breached", Client: "acme",
			ClientName: "Acme <Foods>", Subject: sinks.Subject{Kind: "task", Title: strings.Repeat("Карточка & <b> ", 20), URL: "https://trello.com/c/abc"},
			StartedAt: due.Add(-3 * time.Hour), DueAt: &due, BusinessSeconds: 3 * 3600, Zone: "Europe/Berlin"})
	}
	return d
}

// A digest of many notices fits Telegram's 4096 characters and leaves no
// tag open.
func TestTelegramLength(t *testing.T) {
	t.Parallel()
	text := sinks.TelegramHTML(delivery(200))
	if n := utf8.RuneCountInString(text); n > 4096 {
		t.Errorf("%d characters", n)
	}
	for _, tag := range []string{"b", "a"} {
		if open, closed := strings.Count(text, "<"+tag+">")+strings.Count(text, "<"+tag+" "), strings.Count(text, "</"+tag+">"); open != closed {
			t.Errorf("<%s>: %d opened, %d closed", tag, open, closed)
		}
	}
	if strings.Contains(text, "<b> ") && strings.Contains(text, "Карточка & <b>") {
		t.Error("client text is not escaped")
	}
}

// The webhook sink's answers: done, retry (after Retry-After or
// Telegram's retry_after), or permanent; its errors never show the URL,
// which may hold a token.
func TestWebhookAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		header    string
		body      string
		permanent bool
		wait      time.Duration
	}{
		{name: "ok", status: 200},
		{name: "no content", status: 204},
		{name: "rate limited", status: 429, header: "7", wait: 7 * time.Second},
		{name: "telegram flood", status: 429, body: `{"ok":false,"error_code":429,"parameters":{"retry_after":31}}`, wait: 31 * time.Second},
		{name: "server error", status: 502},
		{name: "timeout answer", status: 408},
		{name: "bad request", status: 400, body: `{"ok":false,"description":"Bad Request: can't parse entities"}`, permanent: true},
		{name: "gone", status: 410, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			secretPath := "/bot123456:SECRET-TOKEN/sendMessage"
			s, err := sinks.NewWebhook(sinks.WebhookOptions{URL: secret.Inline(srv.URL + secretPath), Format: sinks.FormatTelegram, ChatID: "42"}, connectors.Env{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Deliver(context.Background(), delivery(1))
			switch {
			case tt.status < 300:
				if err != nil || res.Ref == "" {
					t.Fatalf("%+v %v", res, err)
				}
				return
			case err == nil:
				t.Fatalf("status %d delivered", tt.status)
			}
			if sinks.IsPermanent(err) != tt.permanent || sinks.RetryAfter(err) != tt.wait {
				t.Errorf("%v: permanent %v, wait %v; want %v, %v", err, sinks.IsPermanent(err), sinks.RetryAfter(err), tt.permanent, tt.wait)
			}
			if strings.Contains(err.Error(), "SECRET-TOKEN") {
				t.Errorf("the error shows the URL's token: %v", err)
			}
		})
	}
	// A connection refused is retried, and does not show the URL either.
	s, err := sinks.NewWebhook(sinks.WebhookOptions{URL: secret.Inline("http://127.0.0.1:1/hooks/SECRET-TOKEN"), Secret: secret.Inline("whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")))}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Deliver(context.Background(), delivery(1))
	if err == nil || sinks.IsPermanent(err) || strings.Contains(err.Error(), "SECRET-TOKEN") {
		t.Errorf("refused connection: %v", err)
	}
}

func TestWebhookOptions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		o    sinks.WebhookOptions
		want string
	}{
		{sinks.WebhookOptions{URL: secret.Inline("https://x.example/h")}, "secret: set secret"},
		{sinks.WebhookOptions{URL: secret.Inline("https://x.example/h"), Secret: secret.Inline("plain")}, "secret: expected whsec_"},
		{sinks.WebhookOptions{URL: secret.Inline("https://x.example/h"), Secret: secret.Inline("whsec_c2hvcnQ=")}, "at least 16 bytes"},
		{sinks.WebhookOptions{URL: secret.Inline("ftp://x.example/TOPSECRET"), Format: sinks.FormatSlack}, "url: not an http or https URL"},
		{sinks.WebhookOptions{URL: secret.Inline("https://api.telegram.org/botX/sendMessage"), Format: sinks.FormatTelegram}, "chat_id"},
	} {
		_, err := sinks.NewWebhook(tt.o, connectors.Env{})
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("%+v: %v, want an error saying %q", tt.o, err, tt.want)
		}
	}
}
