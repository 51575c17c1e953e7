package sinks

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// What a delivery says, written for each format. Everything a client
// controls (titles of tasks and threads, names) passes through one of
// the escapers below before it reaches a format that interprets it.

// policyWords says what each policy watches, in a few words.
var policyWords = map[string]string{
	"response":       "client waiting for a reply",
	"stage_limit":    "too long in one stage",
	"waiting_client": "client owes an answer: reminder due",
	"due_date":       "due date",
	"brief":          "work started without a brief",
	"hygiene":        "task without assignee or due date",
	"client_contact": "no update to the client",
	"hour_budget":    "hour budget",
	"untracked_work": "done with no time logged",
}

// stateWords says what a state means for people.
var stateWords = map[string]string{
	"at_risk":  "SLA at risk",
	"breached": "SLA breached",
	"met":      "SLA met",
	"resolved": "SLA resolved after a breach",
	"running":  "SLA back on track",
	"paused":   "SLA paused",
	// The clock's message or task is gone or moved into another
	// conversation (store.SaveEvaluation).
	"withdrawn": "SLA withdrawn: its conversation or task changed",
}

func words(m map[string]string, k string) string {
	if w, ok := m[k]; ok {
		return w
	}
	return k
}

// maxTitle bounds a title shown, in characters.
const maxTitle = 200

// clean makes client text one tidy line: valid UTF-8, every run of
// control characters and line or paragraph separators one space (so it
// cannot start a line of its own: no header, no Markdown block, no
// marker line), trimmed and cut to max characters.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// SafeURL returns u when it is an absolute http or https URL, "" otherwise:
// a javascript: or data: link from a source never becomes a link.
func SafeURL(u string) string {
	u = strings.TrimSpace(u)
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || strings.ContainsAny(u, " \t\r\n<>\"'`") {
		return ""
	}
	return p.String()
}

// fullwidthAt stands for @ in client text where a tool would read a
// mention: Trello's @board and @card notify everyone, GitHub's @login
// and Slack's @channel notify people. It looks like @ and mentions no one.
const fullwidthAt = "＠"

// markdownSpecial are the characters Markdown (CommonMark, GitHub's and
// Trello's) gives a meaning inside a line: emphasis, code, links and
// images, autolinks and HTML, issue references, tables, strikethrough,
// entities, and the colon of a scheme or a reference definition.
const markdownSpecial = "\\`*_{}[]()<>#!|~&:"

// Markdown escapes client text for Markdown (Trello comments, GitHub):
// one line, markdownSpecial backslash-escaped (no link, image, emphasis,
// HTML or reference definition, so no marker either), and @ replaced so
// that it mentions no one. [unverified: that Trello's renderer honours
// backslash escapes as CommonMark does; if not, a title shows its
// backslashes, which is ugly and harmless.]
func Markdown(s string) string {
	s = clean(s, maxTitle)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '@':
			b.WriteString(fullwidthAt)
		case r < utf8.RuneSelf && strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Slack escapes client text for Slack's mrkdwn: &, < and > as entities
// (which is all Slack decodes: no <!channel>, no <@user>, no <url|link>),
// Markdown emphasis characters neutralised with a zero-width joiner and @
// replaced.
func Slack(s string) string {
	s = clean(s, maxTitle)
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "@", fullwidthAt,
		"*", "*\u200d", "_", "_\u200d", "~", "~\u200d", "`", "`\u200d")
	return r.Replace(s)
}

// HTML escapes client text for HTML, Telegram's included (<, >, &, " and '
// as entities), one line, @ replaced.
func HTML(s string) string {
	return html.EscapeString(strings.ReplaceAll(clean(s, maxTitle), "@", fullwidthAt))
}

// Plain is client text for plain text and mail headers: one line, no
// control characters.
func Plain(s string) string { return clean(s, maxTitle) }

// Headline is a transition in one plain line: "[Acme Foods] SLA
// breached: client waiting for a reply: Fix the banner".
func Headline(it Item) string {
	return fmt.Sprintf("[%s] %s: %s: %s", Plain(it.ClientName), words(stateWords, it.To), words(policyWords, it.Policy), Plain(it.Subject.Title))
}

// Title is a message's one-line title: a mail's subject, an issue's
// title. A reminder to a client says what it waits for, in the client's
// words, and nothing of SLAs.
func (m Message) Title(t Target) string {
	switch {
	case m.Kind == KindReport && m.Report != nil:
		return m.Report.title()
	case t.ClientFacing && len(m.Items) > 0:
		return "Waiting for your input: " + Plain(m.Items[0].Subject.Title)
	case m.Kind == KindDigest:
		return fmt.Sprintf("SLA digest: %d notice(s)", len(m.Items))
	case m.Kind == KindSummary:
		return fmt.Sprintf("SLA summary: %d notice(s)", len(m.Items))
	case len(m.Items) == 0:
		return "SLA notice"
	}
	return Headline(m.Items[0])
}

// when shows an instant in the item's zone.
func (it Item) when(t time.Time) string {
	loc := time.UTC
	if l, err := time.LoadLocation(it.Zone); err == nil && it.Zone != "" {
		loc = l
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// facts are the item's details as label and value pairs, plain; only
// the client's name is not karkas's own text.
func (it Item) facts() [][2]string {
	out := [][2]string{{"Client", Plain(it.ClientName)}}
	if !it.StartedAt.IsZero() {
		out = append(out, [2]string{"Since", it.when(it.StartedAt)})
	}
	if it.DueAt != nil {
		out = append(out, [2]string{"Due", it.when(*it.DueAt)})
	}
	if it.BusinessSeconds > 0 {
		d := time.Duration(it.BusinessSeconds) * time.Second
		out = append(out, [2]string{"Business time", fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)})
	}
	return out
}

// reminderText is the polite line a client-facing reminder says.
const reminderText = "we are waiting for your input on this to go on with the work. Could you have a look when you have a moment? Thank you!"

// Text renders m as plain text (the text part of a mail).
func (m Message) Text(t Target) string {
	if r := m.Report; m.Kind == KindReport && r != nil {
		return r.Markdown
	}
	var b strings.Builder
	if t.ClientFacing && len(m.Items) > 0 {
		it := m.Items[0]
		fmt.Fprintf(&b, "Hello,\n\n%s\n\n%s\n", reminderText, Plain(it.Subject.Title))
		if u := SafeURL(it.Subject.URL); u != "" {
			fmt.Fprintf(&b, "%s\n", u)
		}
		fmt.Fprintf(&b, "\n%s\n", Plain(m.Agency))
		return b.String()
	}
	if m.Note != "" {
		fmt.Fprintf(&b, "%s\n\n", Plain(m.Note))
	}
	for i, it := range m.Items {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s\n", Headline(it))
		for _, f := range it.facts() {
			fmt.Fprintf(&b, "  %s: %s\n", f[0], f[1])
		}
		if u := SafeURL(it.Subject.URL); u != "" {
			fmt.Fprintf(&b, "  Link: %s\n", u)
		}
	}
	fmt.Fprintf(&b, "\n-- \nkarkas for %s\n", Plain(m.Agency))
	return b.String()
}

// Markdown renders m for a Trello comment or a GitHub body. mentions
// come first, as the tool writes them (already checked handles).
func (m Message) Markdown(t Target, mentions []string) string {
	if r := m.Report; m.Kind == KindReport && r != nil {
		return r.Markdown
	}
	var b strings.Builder
	for _, h := range mentions {
		b.WriteString("@" + h + " ")
	}
	if t.ClientFacing && len(m.Items) > 0 {
		it := m.Items[0]
		fmt.Fprintf(&b, "Hello, %s\n\n%s\n\n%s\n", reminderText, Markdown(it.Subject.Title), Markdown(m.Agency))
		return b.String()
	}
	if m.Note != "" {
		fmt.Fprintf(&b, "%s\n\n", Markdown(m.Note))
	}
	for _, it := range m.Items {
		title := Markdown(it.Subject.Title)
		if u := SafeURL(it.Subject.URL); u != "" {
			title = "[" + title + "](" + markdownURL(u) + ")"
		}
		fmt.Fprintf(&b, "**%s** · %s · %s\n", words(stateWords, it.To), words(policyWords, it.Policy), title)
		var facts []string
		for _, f := range it.facts() {
			if f[0] == "Client" {
				f[1] = Markdown(f[1]) // the config's, the rest is karkas's
			}
			facts = append(facts, f[0]+": "+f[1])
		}
		fmt.Fprintf(&b, "%s\n\n", strings.Join(facts, " · "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// markdownURL keeps a checked URL inside a Markdown link destination.
func markdownURL(u string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u)
}

var mailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
{{- if .ClientFacing}}
<p>Hello,</p>
<p>{{.Reminder}}</p>
{{- range .Items}}
<p>{{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}</p>
{{- end}}
<p>{{.Agency}}</p>
{{- else}}
{{- if .Note}}<p>{{.Note}}</p>{{end}}
{{- range .Items}}
<h3 style="margin-bottom: 0.2em">{{.State}}: {{.Policy}}</h3>
<p style="margin-top: 0">{{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}<br>
{{- range .Facts}}
{{index . 0}}: {{index . 1}}<br>
{{- end}}</p>
{{- end}}
<p style="color: #666">karkas for {{.Agency}}</p>
{{- end}}
</body></html>
`))

type htmlItem struct {
	State, Policy, Title, URL string
	Facts                     [][2]string
}

// HTML renders m as a mail's HTML part. html/template escapes every value
// for where it stands and keeps unsafe URLs out of href.
func (m Message) HTML(t Target) string {
	if r := m.Report; m.Kind == KindReport && r != nil {
		return r.HTML
	}
	data := struct {
		Subject, Agency, Note, Reminder string
		ClientFacing                    bool
		Items                           []htmlItem
	}{Subject: m.Title(t), Agency: Plain(m.Agency), Note: Plain(m.Note), Reminder: reminderText, ClientFacing: t.ClientFacing}
	for _, it := range m.Items {
		data.Items = append(data.Items, htmlItem{State: words(stateWords, it.To), Policy: words(policyWords, it.Policy),
			Title: Plain(it.Subject.Title), URL: SafeURL(it.Subject.URL), Facts: it.facts()})
	}
	var b bytes.Buffer
	if err := mailHTML.Execute(&b, data); err != nil {
		// The template and its data are ours; an error is a bug.
		panic("sinks: mail template: " + err.Error())
	}
	return b.String()
}
