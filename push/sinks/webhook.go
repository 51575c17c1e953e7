package sinks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/internal/secret"

	"github.com/karkas/karkas/connectors"
)

// Webhook formats.
const (
	FormatJSON     = "json"     // {type, timestamp, data}: the message as data
	FormatSlack    = "slack"    // a Slack incoming webhook's text and blocks
	FormatTelegram = "telegram" // a Telegram Bot API sendMessage body, parse_mode HTML
)

// WebhookOptions configure a webhook sink.
type WebhookOptions struct {
	URL     secret.Value  `yaml:"url" required:"true" doc:"where to POST: your endpoint, a Slack incoming webhook or https://api.telegram.org/bot<token>/sendMessage; write ${VAR} (or url_file): such URLs are secrets"`
	Secret  secret.Value  `yaml:"secret" doc:"signing secret, whsec_ and base64 (Standard Webhooks); required with format json (or secret_file)"`
	Format  string        `yaml:"format" enum:"json,slack,telegram" doc:"json (default: {type, timestamp, data}), slack (text and blocks), telegram (sendMessage, parse_mode HTML)"`
	ChatID  string        `yaml:"chat_id" doc:"telegram: the chat id or @channelname to post in"`
	Timeout time.Duration `yaml:"timeout" doc:"limit of one request (default 30s)"`
}

// DefaultWebhookOptions returns the options a config's block is decoded
// into.
func DefaultWebhookOptions() *WebhookOptions {
	return &WebhookOptions{Format: FormatJSON, Timeout: defaultTimeout}
}

// Webhook POSTs a JSON body signed the Standard Webhooks way: headers
// webhook-id (the delivery id, the same on every try), webhook-timestamp
// (Unix seconds of the try) and webhook-signature, "v1," and the base64
// HMAC-SHA256, keyed with the secret's bytes, of "id.timestamp.body".
//
// The delivery happens once only if the receiver dedupes on webhook-id,
// as Standard Webhooks asks receivers to: a worker killed after the
// receiver answered and before the store recorded it sends again with the
// same id. Slack and Telegram ignore the header, so there such a kill
// shows the message twice.
type Webhook struct {
	url    *url.URL
	key    []byte
	format string
	chatID string
	http   *http.Client
	now    func() time.Time
}

// defaultTimeout bounds one HTTP exchange of the webhook sink.
const defaultTimeout = 30 * time.Second

// WebhookKind is the webhook sink kind: signed JSON, Slack or Telegram.
func WebhookKind() Kind {
	k := newKind("webhook", "signed JSON, Slack or Telegram", DefaultWebhookOptions, NewWebhook)
	k.Digests = true
	return k
}

// NewWebhook builds a webhook sink.
func NewWebhook(o WebhookOptions, env connectors.Env) (*Webhook, error) {
	raw, err := env.Secrets.Require(o.URL, "url", "")
	if err != nil {
		return nil, err
	}
	// A chat webhook's token is in its path or query.
	env.Secrets.AddSecretURL(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The URL may hold a token: it is not repeated.
		return nil, errors.New("url: not an http or https URL")
	}
	s := &Webhook{url: u, format: o.Format, chatID: o.ChatID, now: env.Now}
	if s.format == "" {
		s.format = FormatJSON
	}
	sec := env.Secrets.Optional(o.Secret)
	if sec == "" && s.format == FormatJSON {
		return nil, errors.New("secret: set secret (e.g. ${SECRET}) or secret_file: a json webhook signs what it sends")
	}
	if sec != "" {
		if s.key, err = webhookKey(sec); err != nil {
			return nil, err
		}
	}
	switch s.format {
	case FormatJSON, FormatSlack:
	case FormatTelegram:
		if s.chatID == "" {
			return nil, errors.New("chat_id: a telegram webhook names the chat to post in")
		}
	default:
		return nil, fmt.Errorf("format: %q is not one of: json, slack, telegram", s.format)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	s.http = &http.Client{Timeout: timeout}
	if env.HTTPClient != nil {
		s.http.Transport = env.HTTPClient.Transport
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// webhookKey decodes a whsec_ secret into the HMAC key.
func webhookKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("secret: expected whsec_ followed by base64 (Standard Webhooks)")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 16 {
		return nil, errors.New("secret: the part after whsec_ must be base64 of at least 16 bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature of body for delivery id at
// timestamp: "v1," and the base64 HMAC-SHA256 of "id.timestamp.body".
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Summarizes is true: a digest or a summary is one message.
func (s *Webhook) Summarizes() bool { return true }

// Deliver POSTs the body. 2xx is done; 408, 429 and 5xx are retried
// (after Retry-After, or Telegram's retry_after); another 4xx is
// permanent. Errors name the host only: the URL's path may be a token.
func (s *Webhook) Deliver(ctx context.Context, d Delivery) (Result, error) {
	body, err := s.body(d)
	if err != nil {
		return Result{}, Permanent(err)
	}
	ts := s.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url.String(), bytes.NewReader(body))
	if err != nil {
		return Result{}, Permanent(errors.New("building the webhook request failed"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "karkas")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	if s.key != nil {
		req.Header.Set("webhook-signature", Sign(s.key, d.ID, ts, body))
	}
	resp, err := s.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the whole URL
		}
		return Result{}, Temporary(fmt.Errorf("webhook to %s: %w", s.url.Host, err), 0)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return Result{Ref: fmt.Sprintf("%s %d", s.url.Host, resp.StatusCode)}, nil
	}
	msg := strings.TrimSpace(string(answer))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	err = fmt.Errorf("webhook to %s: %d %s: %s", s.url.Host, resp.StatusCode, http.StatusText(resp.StatusCode), strings.ToValidUTF8(msg, "?"))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return Result{}, Temporary(err, retryAfter(resp, answer))
	}
	return Result{}, Permanent(err)
}

// retryAfter reads Retry-After (seconds) or Telegram's
// parameters.retry_after.
func retryAfter(resp *http.Response, body []byte) time.Duration {
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	var tg struct {
		Parameters struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if json.Unmarshal(body, &tg) == nil && tg.Parameters.RetryAfter > 0 {
		return time.Duration(tg.Parameters.RetryAfter) * time.Second
	}
	return 0
}

// Event is the body of a json webhook, in the shape Standard Webhooks
// recommends: a type, when it happened, and the data.
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is what a json webhook carries. Client text (titles, names)
// is data here, as the client wrote it: the receiver escapes it for
// wherever it shows it. (Go's encoder writes <, > and & as \u escapes,
// so the body itself holds no markup.)
type EventData struct {
	DeliveryID   string   `json:"delivery_id"`
	Kind         string   `json:"kind"`
	Agency       string   `json:"agency"`
	Note         string   `json:"note,omitempty"`
	Title        string   `json:"title"`
	People       []Person `json:"people,omitempty"`
	ClientFacing bool     `json:"client_facing,omitempty"`
	Items        []Item   `json:"items"`
}

// NewEvent is the json body of d.
func NewEvent(d Delivery) Event {
	return Event{Type: "karkas.sla." + d.Message.Kind, Timestamp: d.Created.UTC(), Data: EventData{DeliveryID: d.ID,
		Kind: d.Message.Kind, Agency: d.Message.Agency, Note: d.Message.Note, Title: d.Message.Title(d.Target),
		People: d.Target.People, ClientFacing: d.Target.ClientFacing, Items: d.Message.Items}}
}

// maxChatItems bounds the items a chat message lists.
const maxChatItems = 40

func (s *Webhook) body(d Delivery) ([]byte, error) {
	switch s.format {
	case FormatSlack:
		return json.Marshal(SlackBody(d))
	case FormatTelegram:
		return json.Marshal(map[string]any{"chat_id": s.chatID, "text": TelegramHTML(d), "parse_mode": "HTML",
			"disable_web_page_preview": true})
	}
	return json.Marshal(NewEvent(d))
}

// SlackBody is a Slack incoming webhook's body for d: a plain fallback
// text and one mrkdwn section per item, client text escaped by Slack.
func SlackBody(d Delivery) map[string]any {
	m := d.Message
	var blocks []map[string]any
	section := func(text string) {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}})
	}
	l := locale.For(d.Target.Language)
	if m.Note != "" {
		section(Slack(m.Note))
	}
	for i, it := range m.Items {
		if i == maxChatItems {
			section(l.N("push.more", len(m.Items)-i))
			break
		}
		title := Slack(it.Subject.Title)
		if u := SafeURL(it.Subject.URL); u != "" {
			title = "<" + strings.ReplaceAll(u, "|", "%7C") + "|" + title + ">"
		}
		var facts []string
		for _, f := range it.facts(l) {
			facts = append(facts, f[0]+": "+Slack(f[1]))
		}
		section(fmt.Sprintf("*%s* · %s · %s\n%s", stateText(l, it.To), policyText(l, it.Policy), title, strings.Join(facts, " · ")))
	}
	return map[string]any{"text": Slack(m.Title(d.Target)), "blocks": blocks}
}

// maxTelegram is the longest text sendMessage takes, in characters.
const maxTelegram = 4096

// TelegramHTML is d's text for Telegram's parse_mode HTML: client text
// escaped, links only to http and https.
func TelegramHTML(d Delivery) string {
	m := d.Message
	l := locale.For(d.Target.Language)
	var b strings.Builder
	fmt.Fprintf(&b, "<b>%s</b>\n", HTML(m.Title(d.Target)))
	if m.Note != "" {
		fmt.Fprintf(&b, "%s\n", HTML(m.Note))
	}
	for i, it := range m.Items {
		if i == maxChatItems {
			fmt.Fprintf(&b, "%s\n", html.EscapeString(l.N("push.more", len(m.Items)-i)))
			break
		}
		title := HTML(it.Subject.Title)
		if u := SafeURL(it.Subject.URL); u != "" {
			title = `<a href="` + html.EscapeString(u) + `">` + title + `</a>`
		}
		var facts []string
		for _, f := range it.facts(l) {
			facts = append(facts, f[0]+": "+HTML(f[1]))
		}
		fmt.Fprintf(&b, "\n<b>%s</b> · %s · %s\n%s\n", html.EscapeString(stateText(l, it.To)),
			html.EscapeString(policyText(l, it.Policy)), title, strings.Join(facts, " · "))
	}
	out := b.String()
	if utf8.RuneCountInString(out) > maxTelegram {
		// Cut at a line end so that no tag is left open.
		r := []rune(out)[:maxTelegram-2]
		out = string(r)
		if i := strings.LastIndex(out, "\n"); i > 0 {
			out = out[:i]
		}
		out += "\n…"
	}
	return out
}
