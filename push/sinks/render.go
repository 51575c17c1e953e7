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

	"github.com/karkas/karkas/internal/locale"
)

// What a delivery says, written for each format. Everything a client
// controls (titles of tasks and threads, names) passes through one of
// the escapers below before it reaches a format that interprets it.

// What a notice says is in the catalogs of internal/locale (push.*): a
// delivery is written in its Target's Language, English by default.

// policyText says what a policy watches, in a few words.
func policyText(l *locale.Locale, policy string) string { return l.Or("push.policy."+policy, policy) }

// stateText says what a state means for people.
func stateText(l *locale.Locale, state string) string { return l.Or("push.state."+state, state) }

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

// headline is a transition in one plain line: "[Acme Foods] SLA breached:
// client waiting for a reply: Fix the banner".
func headline(l *locale.Locale, it Item) string {
	return fmt.Sprintf("[%s] %s: %s: %s", Plain(it.ClientName), stateText(l, it.To), policyText(l, it.Policy), Plain(it.Subject.Title))
}

// Title is a message's one-line title: a mail's subject, an issue's
// title, in the target's language. A reminder to a client says what it
// waits for, in the client's words, and nothing of SLAs.
func (m Message) Title(t Target) string {
	l := locale.For(t.Language)
	switch {
	case m.Kind == KindReport && m.Report != nil:
		return m.Report.title()
	case t.ClientFacing && len(m.Items) > 0:
		return l.T("push.waiting_title", "Title", Plain(m.Items[0].Subject.Title))
	case m.Kind == KindDigest:
		return l.N("push.digest_title", len(m.Items))
	case m.Kind == KindSummary:
		return l.N("push.summary_title", len(m.Items))
	case len(m.Items) == 0:
		return l.T("push.notice_title")
	}
	return headline(l, m.Items[0])
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
// the client's name, the first, is not karkas's own text.
func (it Item) facts(l *locale.Locale) [][2]string {
	out := [][2]string{{l.T("push.fact.client"), Plain(it.ClientName)}}
	if !it.StartedAt.IsZero() {
		out = append(out, [2]string{l.T("push.fact.since"), it.when(it.StartedAt)})
	}
	if it.DueAt != nil {
		out = append(out, [2]string{l.T("push.fact.due"), it.when(*it.DueAt)})
	}
	if it.BusinessSeconds > 0 {
		d := time.Duration(it.BusinessSeconds) * time.Second
		out = append(out, [2]string{l.T("push.fact.business_time"),
			l.T("unit.hours_minutes", "H", l.Int(int(d.Hours())), "M", fmt.Sprintf("%02d", int(d.Minutes())%60))})
	}
	return out
}

// Text renders m as plain text (the text part of a mail).
func (m Message) Text(t Target) string {
	if r := m.Report; m.Kind == KindReport && r != nil {
		return r.Markdown
	}
	l := locale.For(t.Language)
	var b strings.Builder
	if t.ClientFacing && len(m.Items) > 0 {
		it := m.Items[0]
		fmt.Fprintf(&b, "%s\n\n%s\n\n%s\n", l.T("push.hello"), capitalize(l.T("push.reminder")), Plain(it.Subject.Title))
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
		fmt.Fprintf(&b, "%s\n", headline(l, it))
		for _, f := range it.facts(l) {
			fmt.Fprintf(&b, "  %s: %s\n", f[0], f[1])
		}
		if u := SafeURL(it.Subject.URL); u != "" {
			fmt.Fprintf(&b, "  %s: %s\n", l.T("push.fact.link"), u)
		}
	}
	fmt.Fprintf(&b, "\n-- \n%s\n", l.T("push.signature", "Agency", Plain(m.Agency)))
	return b.String()
}

// Markdown renders m for a Trello comment or a GitHub body. mentions
// come first, as the tool writes them (already checked handles).
func (m Message) Markdown(t Target, mentions []string) string {
	if r := m.Report; m.Kind == KindReport && r != nil {
		return r.Markdown
	}
	l := locale.For(t.Language)
	var b strings.Builder
	for _, h := range mentions {
		b.WriteString("@" + h + " ")
	}
	if t.ClientFacing && len(m.Items) > 0 {
		it := m.Items[0]
		fmt.Fprintf(&b, "%s %s\n\n%s\n\n%s\n", l.T("push.hello"), l.T("push.reminder"), Markdown(it.Subject.Title), Markdown(m.Agency))
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
		fmt.Fprintf(&b, "**%s** · %s · %s\n", stateText(l, it.To), policyText(l, it.Policy), title)
		var facts []string
		for i, f := range it.facts(l) {
			if i == 0 {
				f[1] = Markdown(f[1]) // the client's name is the config's, the rest is karkas's
			}
			facts = append(facts, f[0]+": "+f[1])
		}
		fmt.Fprintf(&b, "%s\n\n", strings.Join(facts, " · "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// capitalize is s with its first letter upper case: the reminder's line
// follows "Hello," in a Markdown comment, and starts a paragraph in mail.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// markdownURL keeps a checked URL inside a Markdown link destination.
func markdownURL(u string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u)
}

var mailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
{{- if .ClientFacing}}
<p>{{.Hello}}</p>
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
<p style="color: #666">{{.Signature}}</p>
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
	l := locale.For(t.Language)
	data := struct {
		Lang, Subject, Agency, Note, Hello, Reminder, Signature string
		ClientFacing                                            bool
		Items                                                   []htmlItem
	}{Lang: l.Code(), Subject: m.Title(t), Agency: Plain(m.Agency), Note: Plain(m.Note), Hello: l.T("push.hello"),
		Reminder: capitalize(l.T("push.reminder")), Signature: l.T("push.signature", "Agency", Plain(m.Agency)), ClientFacing: t.ClientFacing}
	for _, it := range m.Items {
		data.Items = append(data.Items, htmlItem{State: stateText(l, it.To), Policy: policyText(l, it.Policy),
			Title: Plain(it.Subject.Title), URL: SafeURL(it.Subject.URL), Facts: it.facts(l)})
	}
	var b bytes.Buffer
	if err := mailHTML.Execute(&b, data); err != nil {
		// The template and its data are ours; an error is a bug.
		panic("sinks: mail template: " + err.Error())
	}
	return b.String()
}
