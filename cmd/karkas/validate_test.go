package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/vclock"
)

// TestValidateOnline: validate --online asks every kind of source its
// service, against the fakes and a real Dovecot. With the right
// credentials every source answers; with a wrong token, key, password or
// account each failing source is one line at its options, with the
// service's words and without the secret, and validate exits 1; a GitHub
// repository the token cannot see is said at the line naming it.
func TestValidateOnline(t *testing.T) {
	t.Parallel()
	clock := vclock.NewVirtual(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))

	ew := everhourfake.NewWorld(clock)
	ew.AddUser("Anna Smith", "anna@northwind.agency")
	ev := everhourfake.New(t, everhourfake.Options{World: ew})
	tg := togglfake.New(t, togglfake.Options{})
	ck := clockifyfake.New(t, clockifyfake.Options{})
	hv := harvestfake.New(t, harvestfake.Options{})
	imap := mailtest.Dovecot(t)

	gw := githubfake.NewWorld(clock)
	gw.AddUser("northwind-karkas", "")
	repo := gw.AddRepo("northwind", "acme-site", false)
	const ghToken = "ghp_validate0000000000000000000000000000"
	gw.AddToken(ghToken, "northwind-karkas")
	gh := githubfake.New(t, githubfake.Options{World: gw})

	tw := trellofake.Generate(trellofake.GenerateOptions{Seed: 3, Boards: 1, CardsPerBoard: 2, Clock: trellofake.NewVirtualClock(clock.Now())})
	tr := trellofake.New(t, trellofake.Options{World: tw, Limits: trellofake.Limits{Off: true}})

	right := map[string]string{
		"EVERHOUR_TOKEN": ev.APIKey(),
		"TOGGL_TOKEN":    tg.Token(), "TOGGL_WORKSPACE": fmt.Sprint(tg.Workspace()),
		"CLOCKIFY_TOKEN": ck.Key(), "CLOCKIFY_WORKSPACE": ck.Workspace(),
		"HARVEST_TOKEN": hv.Token(), "HARVEST_ACCOUNT": hv.Account(),
		"IMAP_PASSWORD": imap.Password, "IMAP_PASSWORD_2": imap.Password,
		"GITHUB_TOKEN": ghToken, "GITHUB_REPO": repo.FullName(),
		"TRELLO_KEY": tr.Key(), "TRELLO_TOKEN": tr.Token(),
	}
	config := fmt.Sprintf(`agency: {name: Northwind, domains: [northwind.agency]}
clients:
  - {id: acme, name: Acme, repos: ["${GITHUB_REPO}"]}
sources:
  - id: ev
    kind: everhour
    options:
      token: ${EVERHOUR_TOKEN}
      base_url: %s
  - id: tg
    kind: toggl
    options:
      token: ${TOGGL_TOKEN}
      account: "${TOGGL_WORKSPACE}"
      base_url: %s
  - id: ck
    kind: clockify
    options:
      token: ${CLOCKIFY_TOKEN}
      account: ${CLOCKIFY_WORKSPACE}
      base_url: %s
  - id: hv
    kind: harvest
    options:
      token: ${HARVEST_TOKEN}
      account: "${HARVEST_ACCOUNT}"
      base_url: %s
  - id: mail
    kind: imap
    options:
      timeout: 10s
      accounts:
        - {host: %s, port: %d, tls: none, username: anna@northwind.agency, password: "${IMAP_PASSWORD}"}
        - {host: %s, port: %d, tls: none, username: boris@northwind.agency, password: "${IMAP_PASSWORD_2}"}
  - id: gh
    kind: github
    options:
      token: ${GITHUB_TOKEN}
      base_url: %s
  - id: boards
    kind: trello
    options:
      key: ${TRELLO_KEY}
      token: ${TRELLO_TOKEN}
      board_names: "."
      base_url: %s
  - id: old-mail
    kind: mail_files
    options:
      files: [{path: mail}]
`, ev.BaseURL(), tg.BaseURL(), ck.BaseURL()+"/", hv.BaseURL(), imap.Host, imap.Port, imap.Host, imap.Port, gh.URL(), tr.BaseURL())
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "karkas.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	// line is the 1-based line of the nth (from 0) source's options, the
	// line after its "options:": where a source's problems are said.
	line := func(n int) int {
		for i, l := range strings.Split(config, "\n") {
			if strings.TrimSpace(l) == "options:" {
				if n == 0 {
					return i + 2
				}
				n--
			}
		}
		t.Fatalf("no options %d", n)
		return 0
	}

	code, out, errOut := runCLI(t, right, "--config", cfg, "validate", "--online")
	if code != exitOK || !strings.Contains(out, ": ok (1 client, 0 people, 8 sources), online: 7 sources answered (ev, tg, ck, hv, mail, gh, boards)\n") {
		t.Fatalf("the right credentials: exit %d\n%s%s", code, out, errOut)
	}

	wrong := maps.Clone(right)
	wrong["EVERHOUR_TOKEN"] = "ev-wrong-secret-key"
	wrong["TOGGL_WORKSPACE"] = "1234"
	wrong["CLOCKIFY_TOKEN"] = "clockify-wrong-secret"
	wrong["HARVEST_ACCOUNT"] = "7654321"
	wrong["IMAP_PASSWORD"] = "imap-wrong-secret"
	wrong["GITHUB_TOKEN"] = "ghp_wrongsecret000000000000000000000000"
	wrong["TRELLO_TOKEN"] = "trello-wrong-secret"
	code, out, _ = runCLI(t, wrong, "--config", cfg, "validate", "--online")
	if code != exitFailed {
		t.Fatalf("wrong credentials: exit %d\n%s", code, out)
	}
	for i, want := range []string{
		`source ev \(everhour\): asking Everhour whose API key it is: GET /users/me: 401 Unauthorized: .*Invalid API key`,
		`source tg \(toggl\): account: the token's user is not in Toggl workspace 1234 \(its workspaces: \d+ "Northwind Agency"\)`,
		`source ck \(clockify\): asking Clockify for the key's workspaces: GET /api/v1/workspaces: 401 Unauthorized: .*Full authentication is required`,
		`source hv \(harvest\): asking Harvest whose token it is in account 7654321: GET /v2/users/me: 403 Forbidden: .*The account is not accessible with this token`,
		`source mail \(imap\): account anna@northwind.agency: 127.0.0.1:\d+ refused the password login of anna@northwind.agency: \[AUTHENTICATIONFAILED\]`,
		`source gh \(github\): GitHub refused token 0 of the configured ones: Bad credentials: fix token, token_file or tokens`,
		`source boards \(trello\): listing boards: GET /members/me/boards: unauthorized: invalid token`,
	} {
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^\S*karkas\.yaml:%d:7: sources\[%d\]\.options: %s.*$`, line(i), i, want))
		if !re.MatchString(out) {
			t.Errorf("the output lacks a line like %s:\n%s", re, out)
		}
	}
	if n := errorLines(out); n != 7 {
		t.Errorf("%d lines for 7 failing sources (the second mail account, the mail files and Trello's names say nothing):\n%s", n, out)
	}
	if strings.Contains(out, "wrong-secret") || strings.Contains(out, "wrongsecret") || strings.Contains(out, imap.Password) {
		t.Errorf("the output shows a secret:\n%s", out)
	}

	// A misspelt repository, named by a client.
	typo := maps.Clone(right)
	typo["GITHUB_REPO"] = "northwind/acme-stie"
	code, out, _ = runCLI(t, typo, "--config", cfg, "validate", "--online")
	re := regexp.MustCompile(`(?m)^\S*karkas\.yaml:3:\d+: clients\[0\]\.repos\[0\]: source gh: no repository northwind/acme-stie visible to the token`)
	if code != exitFailed || !re.MatchString(out) || errorLines(out) != 1 {
		t.Errorf("a hidden repository: exit %d\n%s", code, out)
	}
	// The config names nobody: every Trello member is a warning of its own.
	if !regexp.MustCompile(`(?m)^\S*karkas\.yaml:\d+:\d+: people: warning: member \S+ ".+" \([0-9a-f]{24}\) of board ".+" is named by no person`).MatchString(out) {
		t.Errorf("validate --online does not list the members no person names:\n%s", out)
	}
}

// errorLines counts the lines of validate's output that are not warnings.
func errorLines(out string) int {
	n := 0
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l != "" && !strings.Contains(l, ": warning: ") {
			n++
		}
	}
	return n
}
