package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Servers that echo what they were sent (a debug proxy, a hostile
// endpoint, a misconfigured tracker) put every credential karkas used into
// their answers. None of them may reach karkas's output, its log, its store
// or its files, in any form the server chose to echo it in.
func TestEchoedSecretsStayHidden(t *testing.T) {
	t.Parallel()
	canaries := map[string]string{
		"TRELLO_KEY":     "trellokeyCANARY0a1b2c3d4e5f",
		"TRELLO_TOKEN":   "trellotokenCANARY9f8e7d6c5b4a",
		"EVERHOUR_TOKEN": "everhourCANARY-77aa/88bb+99cc",
		"TOGGL_TOKEN":    "togglCANARY13579bdf02468ace",
		"GITHUB_TOKEN":   "ghp_githubCANARY000111222333444",
		"PLANFIX_TOKEN":  "planfixCANARY5d80e21cb3e1234567",
		"IMAP_PASSWORD":  "imapCANARYpassw0rd-xyzzy42",
		"SMTP_PASSWORD":  "smtpCANARYpassw0rd-plugh17",
		"HOOK_PATH":      "hookpathCANARY5551212abcdef",
		"HOOK_SECRET":    "whsec_" + base64.StdEncoding.EncodeToString([]byte("signingCANARYsecret-0042")),
	}
	// Echo the whole request: as text, or inside a JSON error as the
	// trackers answer.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, _ := httputil.DumpRequest(r, true)
		if strings.HasPrefix(r.URL.Path, "/everhour") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 400, "message": "bad request: " + string(dump)})
			return
		}
		http.Error(w, "you sent: "+string(dump), http.StatusBadRequest)
	}))
	defer echo.Close()
	imapAddr := echoServer(t, "* OK echo IMAP ready", func(line string) string {
		tag, cmd, _ := strings.Cut(line, " ")
		if strings.HasPrefix(strings.ToUpper(cmd), "CAPABILITY") {
			return "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + " OK done"
		}
		return tag + " NO [AUTHENTICATIONFAILED] you sent: " + line
	})
	smtpAddr := echoServer(t, "220 echo ESMTP", func(line string) string {
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "EHLO", "HELO":
			return "250-echo\r\n250 AUTH PLAIN LOGIN"
		case "QUIT":
			return "221 bye"
		}
		return "535 5.7.8 you sent: " + line
	})
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()

	config, data := demoSetup(t, 1, 2000)
	text, _ := os.ReadFile(config)
	imapHost, imapPort, _ := net.SplitHostPort(imapAddr)
	smtpHost, smtpPort, _ := net.SplitHostPort(smtpAddr)
	sources := fmt.Sprintf(`sources:
  - {id: trello-api, kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", board_names: ".", base_url: "%[1]s/1"}}
  - {id: everhour-api, kind: everhour, options: {token: "${EVERHOUR_TOKEN}", base_url: "%[1]s/everhour"}}
  - {id: toggl-api, kind: toggl, options: {token: "${TOGGL_TOKEN}", account: "123", base_url: "%[1]s/toggl"}}
  - {id: github-api, kind: github, options: {token: "${GITHUB_TOKEN}", repos: [acme/site], base_url: "%[1]s"}}
  - {id: planfix-api, kind: planfix, options: {account: northwind, token: "${PLANFIX_TOKEN}", base_url: "%[1]s/planfix/rest"}}
  - id: imap
    kind: imap
    options:
      accounts:
        - {name: support, host: %[2]s, port: %[3]s, tls: none, username: support@northwind.agency, password: "${IMAP_PASSWORD}"}
`, echo.URL, imapHost, imapPort)
	sinks := fmt.Sprintf(`  sinks:
    hook: {kind: webhook, options: {url: "%[1]s/hook/${HOOK_PATH}", secret: "${HOOK_SECRET}"}}
    gone: {kind: webhook, options: {url: "http://%[2]s/services/${HOOK_PATH}", format: slack}}
    mail: {kind: email, options: {host: %[3]s, port: %[4]s, tls: none, from: sla@northwind.agency, password: "${SMTP_PASSWORD}"}}
`, echo.URL, deadAddr, smtpHost, smtpPort)
	routes := "  defaults:\n" +
		"    - {policies: [client_contact], sink: hook}\n" +
		"    - {policies: [client_contact], sink: gone}\n" +
		"    - {policies: [client_contact], sink: mail, to: [pm]}\n"
	cfg := strings.Replace(string(text), "sources:\n", sources, 1)
	cfg = strings.Replace(cfg, "  sinks:\n", sinks, 1)
	cfg = strings.Replace(cfg, "  defaults:\n", routes, 1)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": "sqlite:" + filepath.Join(dir, "demo.db"),
		"KARKAS_DEMO_OUTBOX": filepath.Join(dir, "outbox")}
	for k, v := range canaries {
		env[k] = v
	}

	var said strings.Builder
	for _, args := range [][]string{
		{"--log-level", "debug", "sync", "-c", config},
		{"--log-level", "debug", "--log-format", "json", "sync", "-c", config},
		{"status", "-c", config},
		{"deliveries", "list", "-c", config, "--state", "failed"},
		{"deliveries", "list", "-c", config, "--state", "pending"},
		{"validate", "--online", "-c", config},
	} {
		code, out, errOut := runCLI(t, env, args...)
		fmt.Fprintf(&said, "$ karkas %s (exit %d)\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	// The servers were reached and refused: what follows is not vacuous.
	for _, want := range []string{"trello-api", "everhour-api", "toggl-api", "github-api", "planfix-api", "imap", "400 Bad Request", "535", "[redacted]"} {
		if !strings.Contains(said.String(), want) {
			t.Errorf("the output does not mention %q:\n%s", want, said.String())
		}
	}
	if !regexp.MustCompile(`delivery \d+ through (hook|mail) failed`).MatchString(said.String()) {
		t.Errorf("no failed delivery shown:\n%s", said.String())
	}
	check := func(where, text string) {
		for name, how := range leaked(text, canaries) {
			t.Errorf("%s holds %s (%s):\n%s", where, name, how, excerptAround(text, canaries[name]))
		}
	}
	check("the output", said.String())
	if os.Getenv("ECHO_SHOW") != "" { // to read what an operator sees
		t.Log(said.String())
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			check(path, string(b))
		}
		return nil
	})
}

// leaked says how text holds each of secrets (by name): as is,
// URL-encoded, JSON- or Go-escaped, or base64 at any offset within a
// longer blob; a secret it does not hold is left out. It decodes what it
// finds rather than encoding the secrets, so that it checks the redaction
// without sharing its code.
func leaked(text string, secrets map[string]string) map[string]string {
	found := map[string]string{}
	look := func(how, decoded string) {
		for name, s := range secrets {
			if _, ok := found[name]; !ok && strings.Contains(decoded, s) {
				found[name] = how
			}
		}
	}
	look("as is", text)
	if u, err := url.QueryUnescape(strings.ReplaceAll(text, "%%", "")); err == nil {
		look("URL-encoded", u)
	}
	look("escaped", strings.NewReplacer(`\/`, "/", `\u0026`, "&", `\u002b`, "+", `\"`, `"`, `\\`, `\`, `\x2b`, "+").Replace(text))
	var decoded strings.Builder
	for _, tok := range base64Token.FindAllString(text, -1) {
		for skip := 0; skip < 4 && skip < len(tok); skip++ {
			t := tok[skip:]
			t = t[:len(t)/4*4]
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				if b, err := enc.DecodeString(t); err == nil {
					decoded.Write(b)
					decoded.WriteByte(0)
				}
			}
		}
	}
	look("base64", decoded.String())
	return found
}

var base64Token = regexp.MustCompile(`[A-Za-z0-9+/_-]{16,}`)

func excerptAround(text, secret string) string {
	i := strings.Index(text, secret)
	if i < 0 {
		if len(text) > 2000 {
			return text[:2000] + "…"
		}
		return text
	}
	return text[max(0, i-300):min(len(text), i+len(secret)+300)]
}

// echoServer serves a line protocol on a local port: greeting first, then
// answer(line) to every line, until the client hangs up.
func echoServer(t *testing.T, greeting string, answer func(line string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				fmt.Fprintf(conn, "%s\r\n", greeting)
				r := bufio.NewScanner(conn)
				for r.Scan() {
					fmt.Fprintf(conn, "%s\r\n", answer(strings.TrimRight(r.Text(), "\r")))
				}
			}()
		}
	}()
	return ln.Addr().String()
}
