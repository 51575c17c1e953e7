package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const base = `agency:
  name: Northwind
  domains: [northwind.agency]
  calendar: berlin
calendars:
  berlin:
    time_zone: Europe/Berlin
    hours:
      mon-fri: ["09:00-13:00", "14:00-18:00"]
policy_sets:
  standard:
    response: {target: 6h, warn: 3h}
people:
  - {id: anna, name: Anna, side: agency, role: pm, emails: [anna@northwind.agency], trello: [annap]}
  - {id: john, name: John, side: client, client: acme, emails: [john@acme.com]}
clients:
  - id: acme
    name: Acme
    domains: [acme.com]
    contacts: [john]
    pm: anna
    calendar: berlin
    policy_set: standard
    boards: [b1]
statuses:
  - {match: [Doing], status: in_progress}
sources:
  - id: trello
    kind: trello_export
`

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// testSinks are sink kinds with the capabilities push/sinks declares for
// them (push/sinks's TestKindsDeclareTheirCapabilities pins the real
// declarations to this table, and TestKindsInConfig runs them through
// Parse), so that the validator's rules are tested here without the sinks.
func testSinks() []SinkKind {
	o := func() any { return &yaml.Node{} } // options left as they are
	return []SinkKind{
		{Name: "trello", Options: o, ClientReminders: true, Reports: true},
		{Name: "email", Options: o, Digests: true, ClientReminders: true, Addressed: true, Reports: true},
		{Name: "github", Options: o, Digests: true},
		{Name: "webhook", Options: o, Digests: true},
		{Name: "file", Options: o, Digests: true, Reports: true},
		{Name: "planfix", Options: o, ClientReminders: true},
	}
}

func parse(t *testing.T, text string, vars map[string]string) (*Loaded, Problems) {
	t.Helper()
	l, err := Parse("karkas.yaml", []byte(text), LoadOptions{LookupEnv: env(vars), Countries: []string{"DE", "RU"}, Sinks: testSinks()})
	if err == nil {
		return l, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error is %T, want Problems: %v", err, err)
	}
	return l, ps
}

func TestValidConfig(t *testing.T) {
	t.Parallel()
	l, ps := parse(t, base, nil)
	if ps != nil {
		t.Fatalf("unexpected problems:\n%v", ps)
	}
	if got := l.Clients[0].Boards[0]; got != "b1" {
		t.Errorf("boards[0] = %q", got)
	}
	if l.Calendars["berlin"].Hours["mon-fri"][1] != "14:00-18:00" {
		t.Errorf("hours not decoded: %+v", l.Calendars["berlin"])
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		old  string // replaced in base
		new  string
		want []string // each a whole problem line
	}{
		{
			name: "unknown key with a hint",
			old:  "    domains: [acme.com]\n", new: "    domain: [acme.com]\n",
			want: []string{`karkas.yaml:19:5: clients[0].domain: unknown key; did you mean "domains"? (typo, or not supported in this version)`},
		},
		{
			name: "enum lists the valid values",
			old:  "side: agency, role: pm", new: "side: agncy, role: pm",
			want: []string{`karkas.yaml:14:34: people[0].side: "agncy" is not one of: agency, client`},
		},
		{
			name: "unknown policy set and calendar",
			old:  "    calendar: berlin\n    policy_set: standard\n", new: "    calendar: paris\n    policy_set: gold\n",
			want: []string{
				`karkas.yaml:22:15: clients[0].calendar: no calendar "paris" (known: berlin)`,
				`karkas.yaml:23:17: clients[0].policy_set: no policy set "gold" (known: standard)`,
			},
		},
		{
			name: "identity claimed twice",
			old:  "emails: [john@acme.com]", new: "emails: [Anna@northwind.agency]",
			want: []string{`karkas.yaml:15:65: people[1].emails[0]: email identity "Anna@northwind.agency" is already claimed by people[0].emails[0]`},
		},
		{
			name: "bad interval and time zone",
			old:  "    time_zone: Europe/Berlin\n    hours:\n      mon-fri: [\"09:00-13:00\", \"14:00-18:00\"]\n",
			new:  "    time_zone: Europe/Berlyn\n    hours:\n      mon-fri: [\"09:00-13:00\", \"18:00-14:00\"]\n",
			want: []string{
				`karkas.yaml:7:16: calendars["berlin"].time_zone: "Europe/Berlyn" is not an IANA time zone (e.g. Europe/Berlin)`,
				`karkas.yaml:9:32: calendars["berlin"].hours["mon-fri"][1]: "18:00-14:00" ends before it starts`,
			},
		},
		{
			name: "country without known holidays",
			old:  "    time_zone: Europe/Berlin\n", new: "    time_zone: Europe/Berlin\n    country: XX\n",
			want: []string{`karkas.yaml:8:14: calendars["berlin"].country: no public holidays known for "XX" (known: DE, RU); list them under holidays:`},
		},
		{
			name: "wrong type",
			old:  "    boards: [b1]\n", new: "    boards: b1\n",
			want: []string{`karkas.yaml:24:13: clients[0].boards: expected a list, got "b1"`},
		},
		{
			name: "business duration",
			old:  "{target: 6h, warn: 3h}", new: "{target: 6 hours, warn: 8h}",
			want: []string{`karkas.yaml:12:24: policy_sets["standard"].response.target: "6 hours" is not a business duration (examples: 30m, 6h, 2d, 1d4h)`},
		},
		{
			name: "unknown policy with a hint",
			old:  "    response: {target: 6h, warn: 3h}\n", new: "    response: {target: 6h, warn: 3h}\n    stage_limit: {todo: 2d}\n",
			want: []string{`karkas.yaml:13:5: policy_sets["standard"].stage_limit: unknown policy; did you mean "stage_limits"? (typo, or not supported in this version) ` +
				`(policies: response, stage_limits, waiting_client, due_date, brief, hygiene, client_contact, hour_budget, untracked_work)`},
		},
		{
			name: "each policy checks its rule",
			old:  "    response: {target: 6h, warn: 3h}\n",
			new: "    response: {target: 6h, warn: 6h}\n    stage_limits: {todo: 2d, doing: 1d}\n    client_contact: {max_days: 0}\n" +
				"    hour_budget: {thresholds: [0.8, 80]}\n    waiting_client: {}\n",
			want: []string{
				`karkas.yaml:12:34: policy_sets["standard"].response.warn: the warning (6h) must come before the target (6h)`,
				`karkas.yaml:13:37: policy_sets["standard"].stage_limits["doing"]: "doing" is not one of: backlog, todo, in_progress, review, waiting_client, done, archived`,
				`karkas.yaml:14:32: policy_sets["standard"].client_contact.max_days: must be at least 1`,
				`karkas.yaml:15:37: policy_sets["standard"].hour_budget.thresholds[1]: a threshold is a fraction of the budget, e.g. 0.8 or 1.0`,
				`karkas.yaml:16:21: policy_sets["standard"].waiting_client: missing required key "remind_every"`,
			},
		},
		{
			name: "missing required key",
			old:  "  - id: trello\n    kind: trello_export\n", new: "  - id: trello\n",
			want: []string{`karkas.yaml:28:5: sources[0]: missing required key "kind"`},
		},
		{
			name: "contact on the wrong side",
			old:  "    contacts: [john]\n", new: "    contacts: [anna]\n",
			want: []string{`karkas.yaml:20:16: clients[0].contacts[0]: "anna" is on the agency side, not a client contact`},
		},
		{
			name: "oidc without a public URL, with an http issuer and both secrets",
			old:  "sources:\n", new: "serve:\n  web:\n    oidc:\n      issuer: http://accounts.example.com\n      client_id: karkas\n" +
				"      client_secret: abc\n      client_secret_file: oidc-secret\n    cabinet: {notes: some}\nsources:\n",
			want: []string{
				`karkas.yaml:30:7: serve.web.oidc: needs serve.public_url: the provider sends people back to PUBLIC_URL/login/oidc/callback`,
				`karkas.yaml:30:15: serve.web.oidc.issuer: expected the provider's https URL, such as https://accounts.google.com`,
				`karkas.yaml:33:7: serve.web.oidc.client_secret_file: give client_secret or client_secret_file, not both`,
				`karkas.yaml:34:22: serve.web.cabinet.notes: expected none, billable or all`,
			},
		},
		{
			name: "oidc needs its client id",
			old:  "sources:\n", new: "serve:\n  public_url: https://karkas.example.com\n  web:\n    oidc: {issuer: https://accounts.google.com}\nsources:\n",
			want: []string{`karkas.yaml:30:11: serve.web.oidc: missing required key "client_id"`},
		},
		{
			name: "budget edges",
			old:  "    policy_set: standard\n", new: "    policy_set: standard\n    budget: {monthly_hours: 10, rollover_max: 4, start: 2026-13}\n",
			want: []string{
				`karkas.yaml:24:47: clients[0].budget.rollover_max: needs rollover: true`,
				`karkas.yaml:24:57: clients[0].budget.start: "2026-13" is not a month like 2026-10`,
			},
		},
		{
			name: "a language karkas does not speak",
			old:  "    policy_set: standard\n", new: "    policy_set: standard\n    language: fr\n",
			want: []string{`karkas.yaml:24:15: clients[0].language: "fr" is not a language karkas speaks (en, ru, bg, de)`},
		},
		{
			name: "bad pattern",
			old:  "  - {match: [Doing], status: in_progress}\n", new: "  - {status: in_progress, pattern: \"(\"}\n",
			want: []string{
				`karkas.yaml:26:36: statuses[0].pattern: bad regular expression: error parsing regexp: missing closing ): ` + "`(`",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(base, tc.old) {
				t.Fatalf("base has no %q", tc.old)
			}
			_, ps := parse(t, strings.Replace(base, tc.old, tc.new, 1), nil)
			got := strings.Split(ps.Error(), "\n")
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					if g == w {
						found = true
					}
				}
				if !found {
					t.Errorf("missing problem\n want: %s\n  got: %s", w, strings.Join(got, "\n       "))
				}
			}
		})
	}
}

// The acceptance case: three different mistakes, three positioned
// errors, in file order.
func TestThreeMistakes(t *testing.T) {
	t.Parallel()
	text := strings.NewReplacer(
		"  name: Northwind\n", "  nmae: Northwind\n", // a typo: reported once, not also as "name" missing
		"role: pm", "role: boss", // enum
		"policy_set: standard", "policy_set: gold", // reference
	).Replace(base)
	_, ps := parse(t, text, nil)
	lines := strings.Split(ps.Error(), "\n")
	want := []string{
		`karkas.yaml:2:3: agency.nmae: unknown key; did you mean "name"? (typo, or not supported in this version)`,
		`karkas.yaml:14:48: people[0].role: "boss" is not one of: pm, lead, specialist, manager, contact, bot`,
		`karkas.yaml:23:17: clients[0].policy_set: no policy set "gold" (known: standard)`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSyntaxError(t *testing.T) {
	t.Parallel()
	_, ps := parse(t, "agency:\n  name: [unclosed\n", nil)
	if len(ps) != 1 || !strings.HasPrefix(ps[0].String(), "karkas.yaml:1:1: did not find expected ',' or ']'") {
		t.Fatalf("got %v", ps)
	}
}

func TestEmptyFile(t *testing.T) {
	t.Parallel()
	_, ps := parse(t, "", nil)
	if len(ps) != 1 || ps[0].String() != "karkas.yaml:1:1: the file is empty" {
		t.Fatalf("got %v", ps)
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Parallel()
	text := strings.Replace(base, "agency:\n", "store:\n  url: ${DB_URL:-sqlite:default.db}\nagency:\n", 1)
	text = strings.Replace(text, "  name: Northwind\n", "  name: ${AGENCY} $$5\n", 1)
	l, ps := parse(t, text, map[string]string{"AGENCY": "Northwind Digital"})
	if ps != nil {
		t.Fatalf("problems: %v", ps)
	}
	if l.Agency.Name != "Northwind Digital $5" {
		t.Errorf("name = %q", l.Agency.Name)
	}
	if l.Store.URL != "sqlite:default.db" {
		t.Errorf("store url = %q, want the default", l.Store.URL)
	}
	if got := l.StoreURL(); got != "sqlite:default.db" {
		t.Errorf("StoreURL = %q", got)
	}
	_, ps = parse(t, text, nil)
	if ps == nil || !strings.Contains(ps.Error(), "agency.name: environment variable AGENCY is not set") {
		t.Errorf("unset variable: %v", ps)
	}
}

func TestStoreURLWithoutPasswordDoesNotWarn(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"sqlite:///tmp/k.db", "sqlite:karkas.db", "postgres://karkas@db/k?sslmode=disable"} {
		text := strings.Replace(base, "agency:\n", "store:\n  url: "+u+"\nagency:\n", 1)
		l, ps := parse(t, text, nil)
		if ps != nil {
			t.Fatalf("%s: %v", u, ps)
		}
		if len(l.Warnings) != 0 {
			t.Errorf("%s: warnings = %v", u, l.Warnings)
		}
	}
	for _, u := range []string{"postgres://u:hunter2@db/k", "host=db user=u password=hunter2 dbname=k"} {
		text := strings.Replace(base, "agency:\n", "store:\n  url: \""+u+"\"\nagency:\n", 1)
		l, _ := parse(t, text, nil)
		if l == nil || len(l.Warnings) != 1 {
			t.Errorf("%s: want one warning, got %v", u, l)
		}
	}
}

func TestSecretInFileWarns(t *testing.T) {
	t.Parallel()
	text := strings.Replace(base, "agency:\n", "store:\n  url: postgres://u:hunter2@db/k\nagency:\n", 1)
	l, ps := parse(t, text, nil)
	if ps != nil {
		t.Fatalf("a warning must not fail: %v", ps)
	}
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0].String(), "karkas.yaml:2:8: store.url: warning: secret written in the file") {
		t.Errorf("warnings = %v", l.Warnings)
	}
	if strings.Contains(l.Warnings[0].String(), "hunter2") {
		t.Error("the warning prints the secret")
	}
}

func TestSourceOptionsDecoded(t *testing.T) {
	t.Parallel()
	type opts struct {
		Files     []string `yaml:"files"`
		BatchSize int      `yaml:"batch_size"`
	}
	text := base + "    options:\n      files: [a.json]\n      batchsize: 10\n"
	l, err := Parse("karkas.yaml", []byte(text), LoadOptions{
		Kinds: []string{"trello_export"},
		SourceOptions: func(kind string) (any, bool) {
			if kind != "trello_export" {
				return nil, false
			}
			return &opts{BatchSize: 500}, true
		},
	})
	if err == nil || !strings.Contains(err.Error(), `karkas.yaml:32:7: sources[0].options.batchsize: unknown key; did you mean "batch_size"?`) {
		t.Fatalf("err = %v", err)
	}
	if o := l.SourceOptions["trello"].(*opts); o.Files[0] != "a.json" || o.BatchSize != 500 {
		t.Errorf("options = %+v", o)
	}
}

// Hours with a leading zero read as decimal: 09:00 is nine, not midnight
// (fmt.Sscan once took "09" for an octal prefix).
func TestParseInterval(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in       string
		from, to int
		bad      bool
	}{
		{in: "09:00-18:00", from: 9 * 60, to: 18 * 60},
		{in: "08:09-09:08", from: 8*60 + 9, to: 9*60 + 8},
		{in: "00:00-24:00", from: 0, to: 24 * 60},
		{in: " 14:30-17:45 ", from: 14*60 + 30, to: 17*60 + 45},
		{in: "18:00-09:00", bad: true},
		{in: "9:00-18:00", bad: true},
		{in: "24:00-24:30", bad: true},
	} {
		from, to, err := ParseInterval(c.in)
		if (err != nil) != c.bad || (!c.bad && (from != c.from || to != c.to)) {
			t.Errorf("ParseInterval(%q) = %d, %d, %v; want %d, %d (bad %v)", c.in, from, to, err, c.from, c.to, c.bad)
		}
	}
}

func TestConfigTooLarge(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, append([]byte(base), bytes.Repeat([]byte("# padding\n"), MaxConfigBytes/10)...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		big,
		"/dev/zero", // endless: Load must stop at the cap, not run out of memory
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			_, err := Load(path, LoadOptions{})
			want := "reading config " + path + ": larger than 2 MiB"
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("Load(%s) = %v, want an error starting %q", path, err, want)
			}
		})
	}
}

// tree nests without end, as no config type does, so that aliases can
// expand in it as far as a bomb wants.
type tree struct {
	Kids []tree `yaml:"kids"`
}

func TestAliasBomb(t *testing.T) {
	t.Parallel()
	// Each anchor is ten aliases of the one before: the last expands to a
	// million nodes, ten times MaxAliasedNodes, in a file of 400 bytes.
	var b strings.Builder
	b.WriteString("kids:\n  - &a0 {kids: []}\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "  - &a%d {kids: [%s]}\n", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	for _, c := range []struct{ name, doc, want string }{
		{"bomb", b.String(), "aliases expand to more than 100000 values"},
		{"cycle", "kids: &a [{kids: *a}]\n", "alias *a is inside its own anchor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(c.doc), &root); err != nil {
				t.Fatal(err)
			}
			d := &Decoder{File: "bomb.yaml"}
			var v tree
			d.Decode(&root, &v, "")
			if len(d.Problems) != 1 || !strings.Contains(d.Problems[0].Message, c.want) {
				t.Fatalf("problems %v, want one saying %q", d.Problems, c.want)
			}
		})
	}
}

// A client with policies but no calendar to count them in (its own or
// the agency's) would get no clock at all: validation says so.
func TestPoliciesWithoutCalendarWarn(t *testing.T) {
	t.Parallel()
	text := `agency: {name: Northwind}
policy_sets:
  standard: {response: {target: 6h}}
clients:
  - {id: acme, name: Acme, policy_set: standard}
`
	l, ps := parse(t, text, nil)
	if ps != nil {
		t.Fatalf("a warning must not fail: %v", ps)
	}
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0].String(), "karkas.yaml:5:40: clients[0].policy_set: warning: no calendar for its clocks") {
		t.Errorf("warnings = %v", l.Warnings)
	}
	withCal := strings.Replace(text, "agency: {name: Northwind}", "agency: {name: Northwind, calendar: work}\ncalendars:\n  work: {time_zone: UTC, hours: {mon-fri: [\"09:00-17:00\"]}}", 1)
	if l, ps := parse(t, withCal, nil); ps != nil || len(l.Warnings) != 0 {
		t.Errorf("with the agency's calendar: %v %v", ps, l.Warnings)
	}
}
