package mapping

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/karkas/karkas/internal/secret"
)

type secretOptions struct {
	Token    secret.Value   `yaml:"token" required:"true" env:"PLANFIX_TOKEN" doc:"t"`
	Password secret.Value   `yaml:"password" exact:"true" doc:"p"`
	Tokens   []secret.Value `yaml:"tokens" doc:"more"`
	Account  string         `yaml:"account" doc:"a"`
}

// A secret.Value comes from its key (${ENV} expanded) or its _file key,
// read by the decoder relative to the config's folder, kept in the set,
// and every problem with it is reported at its line.
func TestSecretValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", " tok-from-file-0001 \n")
	write("password", " pass with spaces \r\n")
	write("empty", "\n")
	write("big", strings.Repeat("x", secret.MaxFile+1))
	env := map[string]string{"PLANFIX_TOKEN": "tok-from-env-0002", "MORE": "tok-in-list-0003"}
	decode := func(t *testing.T, text string) (secretOptions, Problems, *secret.Set) {
		t.Helper()
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(text), &n); err != nil {
			t.Fatal(err)
		}
		set := secret.NewSet()
		d := &Decoder{File: filepath.Join(dir, "karkas.yaml"), Secrets: set,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
		var o secretOptions
		d.Decode(&n, &o, "options")
		return o, d.Problems, set
	}

	o, ps, set := decode(t, "token: ${PLANFIX_TOKEN}\ntokens: [\"${MORE}\"]\n")
	if len(ps) != 0 || o.Token.Reveal() != "tok-from-env-0002" || o.Token.File() != "" || len(o.Tokens) != 1 || o.Tokens[0].Reveal() != "tok-in-list-0003" {
		t.Errorf("inline: %+v %v", o, ps)
	}
	if got := set.Redact("a tok-from-env-0002 b tok-in-list-0003"); got != "a [redacted] b [redacted]" {
		t.Errorf("the set does not keep the inline secrets: %q", got)
	}

	o, ps, set = decode(t, "token_file: token\npassword_file: password\n")
	if len(ps) != 0 || o.Token.Reveal() != "tok-from-file-0001" || o.Token.File() != "token" || o.Password.Reveal() != " pass with spaces " {
		t.Errorf("files: token %q password %q, %v", o.Token.Reveal(), o.Password.Reveal(), ps)
	}
	if got := set.Redact("tok-from-file-0001"); got != "[redacted]" {
		t.Errorf("the set does not keep the file's secret: %q", got)
	}

	// Printed, marshalled or dumped, the options never show a secret.
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, shown := range []string{fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), string(js)} {
		if strings.Contains(shown, "tok-from-file") || strings.Contains(shown, "pass with") {
			t.Errorf("a secret shows: %s", shown)
		}
	}

	for _, tc := range []struct{ text, want string }{
		{"account: x\n", `karkas.yaml:1:1: options: set token (e.g. ${PLANFIX_TOKEN}) or token_file`},
		{"token: ${UNSET:-}\n", `karkas.yaml:1:8: options.token: set token (e.g. ${PLANFIX_TOKEN}) or token_file`},
		{"token: ${PLANFIX_TOKEN}\ntoken_file: token\n", `karkas.yaml:2:1: options.token_file: give token or token_file, not both`},
		{"token_file: nope\n", `karkas.yaml:1:13: options.token_file: reading token_file: open ` + filepath.Join(dir, "nope") + `: no such file or directory`},
		{"token_file: empty\n", `karkas.yaml:1:13: options.token_file: token_file empty is empty`},
		{"token_file: big\n", `karkas.yaml:1:13: options.token_file: token_file ` + filepath.Join(dir, "big") + `: more than 64 KiB; a secret file holds one secret`},
		{"token_file: [a]\n", `karkas.yaml:1:13: options.token_file: expected a single value, got a list`},
		{"token: ${PLANFIX_TOKEN}\ntoken_fil: x\n", `karkas.yaml:2:1: options.token_fil: unknown key; did you mean "token_file"? (typo, or not supported in this version)`},
		{"tokn: ${PLANFIX_TOKEN}\n", `karkas.yaml:1:1: options.tokn: unknown key; did you mean "token"? (typo, or not supported in this version)`},
	} {
		_, ps, _ := decode(t, tc.text)
		if len(ps.Errors()) != 1 || !strings.HasSuffix(ps.Errors()[0].String(), tc.want) {
			t.Errorf("%q: problems %v\nwant %s", tc.text, ps, tc.want)
		}
	}

	// An alias of a secret is the secret.
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("a: &t ${PLANFIX_TOKEN}\nb: {token: *t}\n"), &n); err != nil {
		t.Fatal(err)
	}
	var aliased struct {
		A string        `yaml:"a"`
		B secretOptions `yaml:"b"`
	}
	d := &Decoder{File: "karkas.yaml", LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	d.Decode(&n, &aliased, "")
	if len(d.Problems.Errors()) != 0 || aliased.B.Token.Reveal() != "tok-from-env-0002" {
		t.Errorf("alias: %q, %v", aliased.B.Token.Reveal(), d.Problems)
	}

	// A secret written into the file works, with a warning.
	o, ps, _ = decode(t, "token: literal-token-0004\n")
	if o.Token.Reveal() != "literal-token-0004" || len(ps) != 1 || !ps[0].Warning || !strings.Contains(ps[0].Message, "use ${ENV_VAR}") {
		t.Errorf("literal: %v", ps)
	}
}
