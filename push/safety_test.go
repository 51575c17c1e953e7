package push

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// evil is what a client may write in a card's title or an email's
// subject: markup, a mention of the whole board, a javascript: link, a
// fake marker and a line break that would start a mail header.
const evil = "<script>alert(1)</script> @board [click](javascript:alert(1)) [karkas:x]: # \r\nBcc: eve@evil.example"

// Everything client-controlled arrives escaped in every sink: no markup,
// no mention, no javascript: link, no second marker, no header.
func TestClientTextArrivesEscaped(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, `  sinks:
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
    ops: {kind: github, options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repo: northwind/ops}}
    mail: {kind: email, options: {host: "${SMTP_HOST}", port: "${SMTP_PORT}", tls: none, from: sla@northwind.agency}}
    hook: {kind: webhook, options: {url: "${HOOK_URL}", secret: "${HOOK_SECRET}"}}
    slack: {kind: webhook, options: {url: "${HOOK_URL}/slack", secret: "${HOOK_SECRET}", format: slack}}
    telegram: {kind: webhook, options: {url: "${HOOK_URL}/tg", secret: "${HOOK_SECRET}", format: telegram, chat_id: "-100123"}}
    json: {kind: file, options: {dir: "${FOLDER}/json"}}
    md: {kind: file, options: {dir: "${FOLDER}/md", format: md}}
  defaults:
    - {sink: cards, to: [assignee]}
    - {sink: ops, to: [pm]}
    - {sink: mail, to: [pm]}
    - {sink: hook}
    - {sink: slack}
    - {sink: telegram}
    - {sink: json}
    - {sink: md}
`)
	c := w.cardClock(sla.PolicyResponse, sla.Breached)
	c.Subject.Title, c.Subject.URL = evil, "javascript:alert(1)"
	w.queue(c)
	rep := w.run(w.worker("one"))
	if rep.Delivered != 8 {
		t.Fatalf("%+v, want 8 deliveries", rep)
	}
	// bad are what must never arrive: live markup, a link to
	// javascript:, a mention of the board, a header from the title.
	check := func(where, text string, bad ...string) {
		t.Helper()
		if !strings.Contains(text, "alert") {
			t.Errorf("%s: the title did not arrive at all:\n%s", where, text)
		}
		for _, b := range bad {
			if strings.Contains(text, b) {
				t.Errorf("%s holds %q:\n%s", where, b, text)
			}
		}
	}
	markdownBad := []string{"<script>", "@board", "](javascript:", "<javascript:", "[karkas:x]"}

	// Trello: the comment, through the API.
	tc, err := trello.NewClient(trello.ClientOptions{BaseURL: w.trello.BaseURL(), Key: w.trello.Key(), Token: w.trello.Token()})
	if err != nil {
		t.Fatal(err)
	}
	acts, err := tc.CardActions(context.Background(), w.card.ID, "commentCard")
	if err != nil || len(acts) != 1 {
		t.Fatalf("card comments: %v %d", err, len(acts))
	}
	comment := acts[0].Data.Text
	check("trello comment", comment, markdownBad...)
	if strings.Count(comment, "[karkas:") != 1 || !strings.HasSuffix(comment, trello.Marker(w.rows()[0].IdempotencyKey)) {
		t.Errorf("trello comment: the only marker must be the delivery's, last:\n%s", comment)
	}
	if !strings.HasPrefix(comment, "@chloemartin ") {
		t.Errorf("trello comment does not mention the assignee first:\n%s", comment)
	}

	// GitHub: the issue's title and body.
	issues := w.github.World().Issues(w.ops.ID)
	if len(issues) != 1 || issues[0].Body == nil {
		t.Fatalf("ops issues: %+v", issues)
	}
	check("github body", *issues[0].Body, markdownBad...)
	check("github title", issues[0].Title, "@board", "\n")
	if strings.Count(*issues[0].Body, "[karkas:") != 1 {
		t.Errorf("github body carries a second marker:\n%s", *issues[0].Body)
	}

	// Mail: subject on one line, no header from the title, HTML escaped.
	msgs := w.mail.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d mails", len(msgs))
	}
	m := w.mail.Message(t, msgs[0].ID)
	if len(m.Bcc) != 0 || len(m.Headers["Bcc"]) != 0 || len(m.To) != 1 || m.To[0].Address != "anna@northwind.agency" {
		t.Errorf("mail recipients: to %+v, bcc %+v %v", m.To, m.Bcc, m.Headers["Bcc"])
	}
	if strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Subject, "Bcc: eve@evil.example") {
		t.Errorf("mail subject %q: the title's line break must be a space", m.Subject)
	}
	check("mail html", m.HTML, "<script>", `href="javascript:`, "href=javascript:")
	if !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("mail html does not show the escaped title:\n%s", m.HTML)
	}

	// Webhooks: the JSON carries the title as data (no markup in the
	// bytes); Slack and Telegram get it escaped for their formats.
	bodies := map[string]string{}
	for _, r := range w.hook.requests {
		bodies[r.ID[strings.LastIndex(r.ID, ":")+1:]] = string(r.Body)
	}
	check("json webhook", bodies["hook"], "<script>", "\r\n")
	var ev struct {
		Data struct {
			Items []struct {
				Subject struct{ Title, URL string }
			}
		}
	}
	if err := json.Unmarshal([]byte(bodies["hook"]), &ev); err != nil || len(ev.Data.Items) != 1 || ev.Data.Items[0].Subject.Title != evil {
		t.Errorf("the json webhook's data is not the client's text as written: %v %+v", err, ev)
	}
	var slack struct {
		Text   string
		Blocks []struct{ Text struct{ Text string } }
	}
	if err := json.Unmarshal([]byte(bodies["slack"]), &slack); err != nil || len(slack.Blocks) != 1 {
		t.Fatalf("slack body: %v\n%s", err, bodies["slack"])
	}
	for _, s := range []string{slack.Text, slack.Blocks[0].Text.Text} {
		check("slack", s, "<script>", "@board", "<javascript:", "<!")
		if !strings.Contains(s, "&lt;script&gt;") {
			t.Errorf("slack text does not escape <: %s", s)
		}
	}
	var tg struct {
		ChatID    string `json:"chat_id"`
		Text      string
		ParseMode string `json:"parse_mode"`
	}
	if err := json.Unmarshal([]byte(bodies["telegram"]), &tg); err != nil || tg.ParseMode != "HTML" || tg.ChatID != "-100123" {
		t.Fatalf("telegram body: %v\n%s", err, bodies["telegram"])
	}
	check("telegram", tg.Text, "<script>", "@board", `href="javascript:`)
	if !strings.Contains(tg.Text, "&lt;script&gt;") {
		t.Errorf("telegram text does not escape <: %s", tg.Text)
	}

	// Files: the JSON like the webhook's, the Markdown like a comment.
	for _, f := range []struct{ dir, ext string }{{"json", ".json"}, {"md", ".md"}} {
		files, _ := filepath.Glob(filepath.Join(w.folder, f.dir, "*"+f.ext))
		if len(files) != 1 {
			t.Fatalf("%s files: %v", f.dir, files)
		}
		b, _ := os.ReadFile(files[0])
		if f.dir == "json" {
			check("json file", string(b), "<script>")
		} else {
			check("markdown file", string(b), markdownBad...)
		}
	}
}

// A client-facing reminder says nothing of SLAs and goes out only in the
// client's business hours.
func TestReminderWaitsForBusinessHours(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, dialect, `  sinks:
    mail: {kind: email, options: {host: "${SMTP_HOST}", port: "${SMTP_PORT}", tls: none, from: sla@northwind.agency}}
  defaults: []
  clients:
    acme:
      rules:
        - {policies: [waiting_client], states: [breached], sink: mail, to: [contacts]}
`)
			// Tuesday 20:00 in Berlin: after hours.
			w.clock.Advance(10 * time.Hour)
			w.queue(w.cardClock(sla.PolicyWaitingClient, sla.Breached))
			if rep := w.run(w.worker("one")); rep.Delivered != 0 {
				t.Fatalf("a reminder went out after hours: %+v", rep)
			}
			r := w.rows()[0]
			if r.NextAttemptAt == nil || !r.NextAttemptAt.Equal(epoch.Add(23*time.Hour)) {
				t.Fatalf("the reminder waits until %v, want Wednesday 09:00 Berlin", r.NextAttemptAt)
			}
			w.clock.Advance(13 * time.Hour) // Wednesday 09:00 in Berlin
			if rep := w.run(w.worker("two")); rep.Delivered != 1 {
				t.Fatalf("the reminder did not go out in business hours: %+v", rep)
			}
			msgs := w.mail.Messages(t)
			if len(msgs) != 1 || msgs[0].To[0].Address != "john@acme.example" || msgs[0].Subject != "Waiting for your input: Fix the banner" {
				t.Fatalf("mails: %+v", msgs)
			}
			m := w.mail.Message(t, msgs[0].ID)
			if strings.Contains(m.Text, "SLA") || strings.Contains(m.HTML, "SLA") || !strings.Contains(m.Text, "waiting for your input") {
				t.Errorf("a reminder to the client speaks of SLAs or is not a reminder:\n%s", m.Text)
			}
		})
	}
}
