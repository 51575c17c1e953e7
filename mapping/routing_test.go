package mapping

import (
	"strings"
	"testing"

	"github.com/karkas/karkas/internal/secret"
)

// routingBase is base with a routing block that validates.
const routingBase = base + `routing:
  sinks:
    cards: {kind: trello, options: {key: k, token: t}}
    mail:
      kind: email
      rate: {max: 20, per: 1h}
    folder: {kind: file, options: {dir: out}}
  defaults:
    - {policies: [response], sink: cards, to: [assignee]}
    - {sink: mail, to: [pm, lead], digest: ["09:00"]}
  clients:
    acme:
      rules:
        - {policies: [waiting_client], states: [breached], sink: mail, to: [john], after: 1d}
`

func TestRoutingValid(t *testing.T) {
	t.Parallel()
	l, ps := parse(t, routingBase, nil)
	if ps != nil {
		t.Fatalf("unexpected problems:\n%v", ps)
	}
	r := l.Routing
	if r.Sinks["mail"].Rate.Max != 20 || r.Sinks["mail"].Rate.Per.Hours() != 1 {
		t.Errorf("rate not decoded: %+v", r.Sinks["mail"].Rate)
	}
	rules := r.RulesFor("acme")
	if len(rules) != 3 || rules[0].To[0] != "john" || !rules[0].ClientFacing(l.People) || rules[1].ClientFacing(l.People) {
		t.Errorf("acme's rules: %+v", rules)
	}
	if got := r.RulesFor("other"); len(got) != 2 {
		t.Errorf("a client without rules follows the %d defaults, got %d", 2, len(got))
	}
}

// Every routing mistake is reported at its line and column, like the
// rest of the config.
func TestRoutingProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{
			name: "unknown sink, policy, state and person",
			old:  "    - {policies: [response], sink: cards, to: [assignee]}\n",
			new:  "    - {policies: [respons], states: [late], sink: card, to: [asignee]}\n",
			want: []string{
				`karkas.yaml:38:19: routing.defaults[0].policies[0]: "respons" is not one of: response, stage_limit, waiting_client, due_date, brief, hygiene, client_contact, hour_budget, untracked_work`,
				`karkas.yaml:38:38: routing.defaults[0].states[0]: "late" is not one of: at_risk, breached, met, resolved, running, paused`,
				`karkas.yaml:38:51: routing.defaults[0].sink: no sink "card" under routing.sinks (known: cards, folder, mail)`,
				`karkas.yaml:38:62: routing.defaults[0].to[0]: "asignee" is neither a role (assignee, pm, lead, contacts) nor a person id`,
			},
		},
		{
			name: "a client's person in the defaults, a reminder that is not one",
			old:  "    - {sink: mail, to: [pm, lead], digest: [\"09:00\"]}\n",
			new:  "    - {sink: mail, to: [john]}\n",
			want: []string{`karkas.yaml:39:25: routing.defaults[1].to[0]: "john" is a client's person: name them in routing.clients["acme"], not in defaults`},
		},
		{
			name: "client-side people get reminders only, by mail or on the card, one at a time",
			old:  "policies: [waiting_client], states: [breached], sink: mail, to: [john], after: 1d}",
			new:  "policies: [response], sink: folder, to: [john, pm], digest: [\"9am\"]}",
			want: []string{
				`karkas.yaml:43:22: routing.clients["acme"].rules[0].policies: client-side people get reminders only: set policies: [waiting_client]`,
				`karkas.yaml:43:40: routing.clients["acme"].rules[0].sink: client-side people are reminded through trello, email or planfix sinks, not through a file sink`,
				`karkas.yaml:43:52: routing.clients["acme"].rules[0].to: a rule writes either to the client or to the agency, not both: split it in two`,
				`karkas.yaml:43:72: routing.clients["acme"].rules[0].digest: digests are internal: a client gets each reminder on its own`,
				`karkas.yaml:43:73: routing.clients["acme"].rules[0].digest[0]: "9am" is not a time of day like 09:00`,
			},
		},
		{
			name: "bad sink name, rate and kind; unknown client; bad after",
			old:  "    mail:\n      kind: email\n      rate: {max: 20, per: 1h}\n",
			new:  "    Mail:\n      kind: mail\n      rate: {max: 0, per: 48h}\n",
			want: []string{
				`karkas.yaml:34:7: routing.sinks["Mail"]: "Mail": sink names use lowercase letters, digits, '-' and '_', at most 32`,
				`karkas.yaml:34:13: routing.sinks["Mail"].kind: "mail" is not one of: trello, email, github, webhook, file, planfix`,
				`karkas.yaml:35:19: routing.sinks["Mail"].rate.max: must be at least 1`,
				`karkas.yaml:35:27: routing.sinks["Mail"].rate.per: must be from 1m to 24h, got 48h0m0s`,
				`karkas.yaml:39:14: routing.defaults[1].sink: no sink "mail" under routing.sinks (known: Mail, cards, folder)`,
				`karkas.yaml:43:66: routing.clients["acme"].rules[0].sink: no sink "mail" under routing.sinks (known: Mail, cards, folder)`,
			},
		},
		{
			name: "trello digests, email without recipients, unknown client, bad after",
			old:  "    - {policies: [response], sink: cards, to: [assignee]}\n    - {sink: mail, to: [pm, lead], digest: [\"09:00\"]}\n  clients:\n    acme:\n",
			new:  "    - {policies: [response], sink: cards, digest: [\"09:00\"], after: soon}\n    - {sink: mail}\n  clients:\n    acmee: {}\n    acme:\n",
			want: []string{
				`karkas.yaml:38:51: routing.defaults[0].digest: a trello sink sends each notice on its own; digests are for email, github, webhook or file sinks`,
				`karkas.yaml:38:69: routing.defaults[0].after: "soon" is not a business duration (examples: 30m, 6h, 2d, 1d4h)`,
				`karkas.yaml:39:7: routing.defaults[1]: a rule through an email sink names who gets it (to: pm, lead, assignee, contacts or person ids)`,
				`karkas.yaml:41:12: routing.clients["acmee"]: no client "acmee"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text := strings.Replace(routingBase, tt.old, tt.new, 1)
			if text == routingBase {
				t.Fatalf("%q is not in the base config", tt.old)
			}
			_, ps := parse(t, text, nil)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Sink options are decoded against the sink kind's own options, with
// positions, when the loader is told how.
func TestRoutingSinkOptions(t *testing.T) {
	t.Parallel()
	type fileOptions struct {
		Dir string `yaml:"dir" required:"true"`
	}
	type trelloOptions struct {
		Key   secret.Value `yaml:"key"`
		Token secret.Value `yaml:"token"`
	}
	kinds := testSinks()
	for i := range kinds {
		switch kinds[i].Name {
		case "file":
			kinds[i].Options = func() any { return &fileOptions{} }
		case "trello":
			kinds[i].Options = func() any { return &trelloOptions{} }
		}
	}
	opts := LoadOptions{LookupEnv: env(nil), Countries: []string{"DE"}, Sinks: kinds}
	text := strings.Replace(routingBase, "{dir: out}", "{dri: out}", 1)
	l, err := Parse("karkas.yaml", []byte(text), opts)
	if err == nil || !strings.Contains(err.Error(), `karkas.yaml:36:36: routing.sinks["folder"].options.dri: unknown key; did you mean "dir"?`) {
		t.Fatalf("a misspelt sink option: %v", err)
	}
	var warned []string
	for _, w := range l.Warnings {
		warned = append(warned, w.String())
	}
	if len(warned) != 2 || !strings.Contains(warned[0], `routing.sinks["cards"].options.key: warning: secret written in the file`) {
		t.Errorf("secrets written in the file are not warned about: %q", warned)
	}
	if l, err := Parse("karkas.yaml", []byte(routingBase), opts); err != nil || l.SinkOptions["folder"].(*fileOptions).Dir != "out" {
		t.Errorf("sink options: %v %+v", err, l.SinkOptions)
	}
}
