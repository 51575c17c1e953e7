package sinks_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
)

// What each kind promises the config's rules: mapping's validator tests
// use the same table (testSinks), so a declaration that drifts from it
// fails here.
func TestKindsDeclareTheirCapabilities(t *testing.T) {
	type caps struct{ digests, client, addressed, reports, leaving, bind, report bool }
	want := map[string]caps{
		"trello":  {client: true, reports: true, leaving: true, bind: true, report: true},
		"email":   {digests: true, client: true, addressed: true, reports: true, bind: true, report: true},
		"github":  {digests: true, bind: true},
		"webhook": {digests: true},
		"file":    {digests: true, reports: true},
		"planfix": {client: true, bind: true},
	}
	kinds := sinks.Kinds()
	if len(kinds) != len(want) {
		t.Errorf("%d kinds registered, %d expected", len(kinds), len(want))
	}
	for _, k := range kinds {
		w, ok := want[k.Name]
		if !ok {
			t.Errorf("kind %q is registered but not expected here", k.Name)
			continue
		}
		got := caps{k.Digests, k.ClientReminders, k.Addressed, k.Reports, k.HearsLeaving, k.Bind != nil, k.BindReport != nil}
		if got != w {
			t.Errorf("%s: capabilities %+v, want %+v", k.Name, got, w)
		}
		if k.Doc == "" || k.Options == nil || k.Open == nil {
			t.Errorf("%s: a kind needs a doc, options and Open", k.Name)
		}
		if o1, o2 := k.Options(), k.Options(); o1 == o2 {
			t.Errorf("%s: Options returns one shared value, not a fresh one", k.Name)
		}
		if _, err := k.Open(&struct{}{}, connectors.Env{}); err == nil || !strings.Contains(err.Error(), "options are a") {
			t.Errorf("%s: options of the wrong type: %v", k.Name, err)
		}
		if got, ok := sinks.Lookup(k.Name); !ok || got.Name != k.Name {
			t.Errorf("Lookup(%q) = %v", k.Name, ok)
		}
	}
	if _, ok := sinks.Lookup("slack"); ok {
		t.Error("Lookup finds a kind that is not registered")
	}
}

// The rules' checks speak of the registered kinds: the lists in their
// messages are the registry's, in its order.
func TestKindsInConfig(t *testing.T) {
	text := `agency: {name: A, domains: [a.example], calendar: c}
calendars:
  c: {time_zone: Europe/Berlin, hours: {mon-fri: ["09:00-18:00"]}}
people:
  - {id: ann, name: Ann, side: agency, role: pm, emails: [ann@a.example]}
  - {id: joe, name: Joe, side: client, role: contact, client: acme, emails: [joe@acme.example]}
clients:
  - {id: acme, name: Acme, pm: ann, contacts: [joe], calendar: c}
routing:
  sinks:
    cards: {kind: trello, options: {key: k, token: t}}
    hook: {kind: webhook, options: {url: "https://h.example/x", secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}}
    chat: {kind: slack}
  defaults:
    - {sink: cards, digest: ["09:00"]}
  clients:
    acme:
      rules:
        - {policies: [waiting_client], sink: hook, to: [contacts]}
  reports:
    - {report: hours, sinks: [hook]}
`
	_, err := mapping.Parse("karkas.yaml", []byte(text), mapping.LoadOptions{Sinks: sinks.ConfigKinds(), LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil {
		t.Fatal("the config's mistakes pass")
	}
	for _, want := range []string{
		`karkas.yaml:13:18: routing.sinks["chat"].kind: "slack" is not one of: trello, email, github, webhook, file, planfix`,
		`routing.defaults[0].digest: a trello sink sends each notice on its own; digests are for email, github, webhook or file sinks`,
		`routing.clients["acme"].rules[0].sink: client-side people are reminded through trello, email or planfix sinks, not through a webhook sink`,
		`routing.reports[0].sinks[0]: a report goes through trello, email or file sinks, not webhook`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// The README's routing section has a paragraph on every kind.
func TestKindsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Routing: who hears of what")
	end := strings.Index(text[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("the README has no routing section")
	}
	section := text[start : start+1+end]
	for _, k := range sinks.Kinds() {
		if !regexp.MustCompile(`(?mi)^- \*\*` + regexp.QuoteMeta(k.Name) + `\*\*:`).MatchString(section) {
			t.Errorf("the README's routing section has no paragraph - **%s**: on the %s sink", k.Name, k.Name)
		}
	}
}
