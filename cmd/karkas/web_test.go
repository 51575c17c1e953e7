package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// hostileTitle is a card title written to break a page that does not
// escape: a script, an attribute breakout, an image with a handler and a
// right-to-left override.
const hostileTitle = `<script>alert("x")</script>"onmouseover="alert(1)" <img src=x onerror=alert(2)> ` + "\u202e" + `gnp.exe`

// webDemo is the demo synced into a SQLite store, with a hostile card on
// Acme's board, accounts of every kind, and karkas serve running on it.
type webDemo struct {
	bin, config, data, storeURL string
	env                         map[string]string
	base                        string
	passwords                   map[string]string
	daemon                      *daemon
}

func startWebDemo(t *testing.T, bin, dialect string) *webDemo {
	return startWebDemoEdited(t, bin, dialect, nil)
}

// startWebDemoEdited is startWebDemo with the demo config's text changed
// by edit first (nil: as it is).
func startWebDemoEdited(t *testing.T, bin, dialect string, edit func(t *testing.T, config string) string) *webDemo {
	t.Helper()
	w := &webDemo{passwords: map[string]string{}, bin: bin}
	w.config, w.data = demoSetup(t, 1, 500)
	if edit != nil {
		text, err := os.ReadFile(w.config)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(w.config, []byte(edit(t, string(text))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plantHostileCard(t, w.data)
	w.storeURL = testdb.URL(t, dialect)
	if out, err := syncCmd(w.bin, w.config, w.data, w.storeURL).CombinedOutput(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	w.env = map[string]string{"KARKAS_DEMO_DATA": w.data, "KARKAS_STORE": w.storeURL}
	for _, u := range [][]string{
		{"admin", "--role", "admin"},
		{"chloe", "--role", "pm", "--person", "chloe", "--clients", "cobalt"},
		{"viewer", "--role", "viewer"},
		{"locked", "--role", "viewer"},
	} {
		code, out, errOut := runCLI(t, w.env, append([]string{"users", "add", "-c", w.config, "--generate-password"}, u...)...)
		m := regexp.MustCompile(`(?m)^password: (\S+)$`).FindStringSubmatch(out)
		if code != exitOK || m == nil {
			t.Fatalf("users add %v: exit %d\n%s%s", u, code, out, errOut)
		}
		w.passwords[u[0]] = m[1]
	}
	env := os.Environ()
	for k, v := range w.env {
		env = append(env, k+"="+v)
	}
	w.daemon = startServe(t, w.bin, w.config, env, "web")
	t.Cleanup(func() { w.daemon.stop(t) })
	w.base = "http://" + w.daemon.addr
	return w
}

// plantHostileCard renames a card in progress on Acme's board to
// hostileTitle, with a javascript: link, and returns its id.
func plantHostileCard(t *testing.T, data string) string {
	t.Helper()
	file := filepath.Join(data, "trello", "acme.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var board map[string]any
	if err := json.Unmarshal(raw, &board); err != nil {
		t.Fatal(err)
	}
	doing := ""
	for _, l := range board["lists"].([]any) {
		if l := l.(map[string]any); l["name"] == "Doing" {
			doing = l["id"].(string)
		}
	}
	for _, c := range board["cards"].([]any) {
		c := c.(map[string]any)
		if c["idList"] == doing && c["closed"] == false {
			c["name"] = hostileTitle
			c["url"] = "javascript:alert(document.cookie)"
			out, _ := json.Marshal(board)
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return c["id"].(string)
		}
	}
	t.Fatal("no open card in Doing on Acme's board")
	return ""
}

// client is a browser-like HTTP client with its own cookies, that does
// not follow redirects (so that a test sees them).
func (w *webDemo) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs an account in through the form; it returns the client and
// the session's CSRF token.
func (w *webDemo) signIn(t *testing.T, name, password string) (*http.Client, string) {
	t.Helper()
	c := w.client(t)
	code, _, body := get(t, c, w.base+"/login")
	m := csrfRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET /login: %d\n%.500s", code, body)
	}
	code, _ = post(t, c, w.base+"/login", url.Values{"csrf": {m[1]}, "name": {name}, "password": {password}}, w.base)
	if code != http.StatusSeeOther {
		t.Fatalf("signing in as %s: %d, want 303", name, code)
	}
	code, _, body = get(t, c, w.base+"/")
	m = csrfRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("the overview after signing in as %s: %d\n%.500s", name, code, body)
	}
	return c, m[1]
}

// TestWebUI is the web UI of karkas serve on the demo, over HTTP on both
// stores, and in a real browser on SQLite.
func TestWebUI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			testWebUI(t, startWebDemo(t, bin, dialect), dialect == store.SQLite)
		})
	}
}

func testWebUI(t *testing.T, w *webDemo, browser bool) {
	st := openStore(t, w.storeURL)
	ctx := context.Background()
	var clock struct {
		ID     string `db:"id"`
		Detail string `db:"detail"`
	}
	if err := st.Get(ctx, &clock, `SELECT id, detail FROM sla_clocks WHERE state = 'breached' AND client_id = 'acme'
		AND subject_kind = 'task' ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	clockID := clock.ID
	var detail struct{ Title string }
	if json.Unmarshal([]byte(clock.Detail), &detail); detail.Title == "" {
		t.Fatalf("clock %s has no title: the test would look for nothing", clockID)
	}

	t.Run("unauthenticated", func(t *testing.T) {
		c := w.client(t)
		for _, p := range []string{"/", "/clients/acme", "/clients/betta?period=2026-10", "/clients/acme/report?period=2026-10",
			"/clocks/" + clockID, "/capacity", "/deliveries", "/deliveries?status=failed"} {
			code, h, body := get(t, c, w.base+p)
			if code != http.StatusUnauthorized || !strings.Contains(body, `action="/login"`) {
				t.Errorf("GET %s without a session: %d, want 401 and the sign-in form", p, code)
			}
			// (The path asked for comes back in the form, to return to.)
			for _, secret := range []string{"Acme Foods", "Бетта Строй", "Cobalt Labs", detail.Title, "Anna Petrova"} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s without a session shows %q", p, secret)
				}
			}
			checkHeaders(t, p, h)
		}
		for _, p := range []string{"/clocks/" + clockID + "/waive", "/deliveries/1/retry", "/logout"} {
			if code, _ := post(t, c, w.base+p, url.Values{"reason": {"x"}}, w.base); code != http.StatusUnauthorized {
				t.Errorf("POST %s without a session: %d, want 401", p, code)
			}
		}
	})

	t.Run("csrf", func(t *testing.T) {
		c, token := w.signIn(t, "admin", w.passwords["admin"])
		waive := w.base + "/clocks/" + clockID + "/waive"
		for name, tc := range map[string]struct {
			form   url.Values
			origin string
		}{
			"no token":      {url.Values{"reason": {"agreed"}}, w.base},
			"wrong token":   {url.Values{"reason": {"agreed"}, "csrf": {token + "x"}}, w.base},
			"other origin":  {url.Values{"reason": {"agreed"}, "csrf": {token}}, "https://evil.example"},
			"another token": {url.Values{"reason": {"agreed"}, "csrf": {strings.Repeat("A", len(token))}}, w.base},
		} {
			if code, _ := post(t, c, waive, tc.form, tc.origin); code != http.StatusForbidden {
				t.Errorf("%s: POST waive %d, want 403", name, code)
			}
		}
		var waived bool
		st.Get(ctx, &waived, `SELECT waived FROM sla_clocks WHERE id = ?`, clockID)
		if waived {
			t.Fatal("a refused POST waived the clock")
		}
		// A login form without its token is refused too.
		if code, _ := post(t, w.client(t), w.base+"/login", url.Values{"name": {"admin"}, "password": {w.passwords["admin"]}}, w.base); code != http.StatusForbidden {
			t.Errorf("POST /login without the form's token: %d, want 403", code)
		}
	})

	t.Run("session", func(t *testing.T) {
		c, token := w.signIn(t, "viewer", w.passwords["viewer"])
		u, _ := url.Parse(w.base)
		var session *http.Cookie
		for _, k := range c.Jar.Cookies(u) {
			if k.Name == "karkas_session" {
				session = k
			}
		}
		if session == nil {
			t.Fatal("no session cookie")
		}
		// The jar hides the attributes: read them off a fresh sign-in.
		code, hdr := rawSignIn(t, w, "viewer", w.passwords["viewer"])
		sc := hdr.Get("Set-Cookie")
		if code != http.StatusSeeOther || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/") {
			t.Errorf("session cookie: %d %q, want HttpOnly, SameSite=Lax, Path=/", code, sc)
		}
		// A viewer sees, and cannot act.
		if code, _ := post(t, c, w.base+"/clocks/"+clockID+"/waive", url.Values{"reason": {"x"}, "csrf": {token}}, w.base); code != http.StatusForbidden {
			t.Errorf("a viewer's waive: %d, want 403", code)
		}
		// Signing out ends the session on the server.
		if code, _ := post(t, c, w.base+"/logout", url.Values{"csrf": {token}}, w.base); code != http.StatusSeeOther {
			t.Errorf("sign out: %d, want 303", code)
		}
		stale := w.client(t)
		stale.Jar.SetCookies(u, []*http.Cookie{{Name: "karkas_session", Value: session.Value}})
		if code, _, _ := get(t, stale, w.base+"/"); code != http.StatusUnauthorized {
			t.Errorf("the signed-out session's cookie still opens the overview: %d", code)
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		for i := range 5 {
			if code, _ := rawSignIn(t, w, "locked", "wrong password "+fmt.Sprint(i)); code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d, want 401", i, code)
			}
		}
		if code, _ := rawSignIn(t, w, "locked", w.passwords["locked"]); code != http.StatusTooManyRequests {
			t.Errorf("the right password after 5 failures: %d, want 429", code)
		}
		// Another account from the same address is not locked out.
		if code, _ := rawSignIn(t, w, "viewer", w.passwords["viewer"]); code != http.StatusSeeOther {
			t.Errorf("another account: %d, want 303", code)
		}
	})

	t.Run("roles", func(t *testing.T) {
		c, _ := w.signIn(t, "chloe", w.passwords["chloe"])
		if code, _, _ := get(t, c, w.base+"/clients/acme"); code != http.StatusNotFound {
			t.Errorf("a pm of cobalt opens acme's page: %d, want 404", code)
		}
		if code, _, _ := get(t, c, w.base+"/clocks/"+clockID); code != http.StatusNotFound {
			t.Errorf("a pm of cobalt opens an acme clock: %d, want 404", code)
		}
		code, _, body := get(t, c, w.base+"/")
		if code != http.StatusOK || strings.Contains(body, "Acme Foods") || strings.Contains(body, "Бетта Строй") || !strings.Contains(body, "Cobalt Labs") {
			t.Errorf("a pm of cobalt's overview: %d, shows other clients or not theirs", code)
		}
	})

	t.Run("hostile title", func(t *testing.T) {
		c, _ := w.signIn(t, "admin", w.passwords["admin"])
		code, h, body := get(t, c, w.base+"/clients/acme")
		if code != http.StatusOK {
			t.Fatalf("acme's page: %d", code)
		}
		checkHeaders(t, "/clients/acme", h)
		escaped := `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#34;onmouseover=&#34;alert(1)&#34; &lt;img src=x onerror=alert(2)&gt; ` + "\u202e" + `gnp.exe`
		if !strings.Contains(body, escaped) {
			t.Errorf("the hostile title is not on acme's page as text (escaped)")
		}
		for _, raw := range []string{"<script", "<img src=x", `"onmouseover="`, "javascript:"} {
			if strings.Contains(body, raw) {
				t.Errorf("acme's page holds %q unescaped", raw)
			}
		}
	})

	t.Run("cabinet", func(t *testing.T) { testCabinet(t, w, st) })

	if !browser {
		return
	}
	t.Run("browser", func(t *testing.T) {
		code, out, errOut := runCLI(t, w.env, "cabinet", "link", "-c", w.config, "--client", "acme", "--base-url", w.base)
		if code != exitOK {
			t.Fatalf("cabinet link: %d\n%s", code, errOut)
		}
		testWebInBrowser(t, w, clockID, strings.TrimSpace(out))
		var by string
		st.Get(ctx, &by, `SELECT waived_by FROM sla_clocks WHERE id = ?`, clockID)
		if by != "admin" {
			t.Errorf("the waived clock's waived_by is %q, want admin", by)
		}
	})
}

// rawSignIn posts the sign-in form once and returns the status and the
// headers.
func rawSignIn(t *testing.T, w *webDemo, name, password string) (int, http.Header) {
	t.Helper()
	c := w.client(t)
	_, _, body := get(t, c, w.base+"/login")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no token on the sign-in page")
	}
	req, _ := http.NewRequest(http.MethodPost, w.base+"/login", strings.NewReader(url.Values{"csrf": {m[1]}, "name": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// checkHeaders wants the security headers on a page.
func checkHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q", path, csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if h.Get(k) != v {
			t.Errorf("%s: %s %q, want %q", path, k, h.Get(k), v)
		}
	}
	if h.Get("Referrer-Policy") == "" {
		t.Errorf("%s: no Referrer-Policy", path)
	}
}

// testCabinet opens Acme's cabinet on every route and finds nothing of
// the other clients there; a tampered, an expired and a revoked link get
// a page that says so and no data.
func testCabinet(t *testing.T, w *webDemo, st *store.Store) {
	ctx := context.Background()
	link := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, w.env, append([]string{"cabinet", "link", "-c", w.config, "--base-url", w.base}, args...)...)
		m := regexp.MustCompile(`^link (\S+) to the cabinet`).FindStringSubmatch(errOut)
		if code != exitOK || m == nil {
			t.Fatalf("cabinet link %v: %d\n%s%s", args, code, out, errOut)
		}
		return strings.TrimSpace(out), m[1]
	}
	acme, _ := link("--client", "acme")
	// What must never show in Acme's cabinet: the other clients' names,
	// contacts and task titles (those Acme has no task of the same name).
	var own, others []string
	st.Select(ctx, &own, `SELECT title FROM tasks WHERE client_id = 'acme'`)
	st.Select(ctx, &others, `SELECT title FROM tasks WHERE client_id IN ('betta', 'cobalt')`)
	forbidden := []string{"Бетта Строй", "Cobalt Labs", "Ольга", "Игорь", "Maya Chen", "bettastroy", "cobaltlabs"}
	for _, title := range others {
		if !slices.Contains(own, title) && len(title) > 8 {
			forbidden = append(forbidden, title)
		}
	}
	c := w.client(t)
	code, h, body := get(t, c, acme)
	if code != http.StatusOK || !strings.Contains(body, "Acme Foods") {
		t.Fatalf("Acme's cabinet: %d\n%.800s", code, body)
	}
	if h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the cabinet's Referrer-Policy is %q: the link's token would leak to the sites it links to", h.Get("Referrer-Policy"))
	}
	pages := map[string]string{acme: body}
	for _, m := range regexp.MustCompile(`href="(/cabinet/[^"]+/reports/\d{4}-\d\d)"`).FindAllStringSubmatch(body, -1) {
		code, _, b := get(t, c, w.base+m[1])
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", m[1], code)
		}
		pages[m[1]] = b
	}
	if len(pages) < 3 {
		t.Errorf("Acme's cabinet links %d past months, want the demo's several", len(pages)-1)
	}
	// A month the cabinet does not list is still only Acme's.
	u, _ := url.Parse(acme)
	for _, p := range []string{u.Path + "/reports/2026-10", u.Path + "/reports/2025-01"} {
		_, _, b := get(t, c, w.base+p)
		pages[p] = b
	}
	for p, b := range pages {
		for _, f := range forbidden {
			if strings.Contains(b, f) {
				t.Errorf("Acme's cabinet page %s shows %q", p, f)
			}
		}
	}
	// A link whose payload names another client, with Acme's signature.
	token := strings.TrimPrefix(u.Path, "/cabinet/")
	payload, mac, _ := strings.Cut(token, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "|acme|", "|betta|", 1))) + "." + mac
	flipped := token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
	for name, p := range map[string]string{"forged": "/cabinet/" + forged, "flipped": "/cabinet/" + flipped,
		"forged report": "/cabinet/" + forged + "/reports/2026-10", "garbage": "/cabinet/nonsense"} {
		code, _, b := get(t, c, w.base+p)
		if code != http.StatusNotFound || !strings.Contains(b, "not a valid cabinet link") || strings.Contains(b, "Бетта Строй") || strings.Contains(b, "Acme Foods") {
			t.Errorf("%s link: %d, want 404 with a page that says so and no data\n%.300s", name, code, b)
		}
	}
	short, _ := link("--client", "acme", "--expires", "1s")
	time.Sleep(1100 * time.Millisecond)
	if code, _, b := get(t, c, short); code != http.StatusGone || !strings.Contains(b, "expired") || strings.Contains(b, "Acme Foods") {
		t.Errorf("expired link: %d, want 410 saying it expired, no data\n%.300s", code, b)
	}
	revoked, id := link("--client", "acme")
	if code, out, errOut := runCLI(t, w.env, "cabinet", "revoke", "-c", w.config, id); code != exitOK {
		t.Fatalf("cabinet revoke: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, w.env, "cabinet", "list", "-c", w.config, "--client", "acme")
	if code != exitOK || strings.Count(out, "\n") != 4 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(id)+`\s+acme\s.*\srevoked `).MatchString(out) ||
		!strings.Contains(out, "expired") {
		t.Errorf("cabinet list: %d, want 3 links of acme, one revoked and one expired\n%s%s", code, out, errOut)
	}
	if code, _, b := get(t, c, revoked); code != http.StatusGone || !strings.Contains(b, "withdrawn") || strings.Contains(b, "Acme Foods") {
		t.Errorf("revoked link: %d, want 410 saying it was withdrawn\n%.300s", code, b)
	}
	if code, _, _ := get(t, c, acme); code != http.StatusOK {
		t.Errorf("revoking one link closed another: %d", code)
	}
}

// The agency's pages speak agency.language: the demo with language: bg
// signs in, shows the overview, a client, a clock, capacity and the
// deliveries in Bulgarian, with none of the English page words left.
func TestAgencyPagesInLanguage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	w := startWebDemoEdited(t, buildBinary(t), store.SQLite, func(t *testing.T, text string) string {
		bg := strings.Replace(text, "agency:\n  name: Northwind Digital\n", "agency:\n  name: Northwind Digital\n  language: bg\n", 1)
		if bg == text {
			t.Fatal("the demo config's agency block moved: the test cannot set its language")
		}
		return bg
	})

	_, _, login := get(t, w.client(t), w.base+"/login")
	if !strings.Contains(login, `<html lang="bg">`) || !strings.Contains(login, "Парола") {
		t.Errorf("the sign-in page is not in Bulgarian:\n%.800s", login)
	}
	c, _ := w.signIn(t, "admin", w.passwords["admin"])
	clock := ""
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"Преглед", "Нарушени и застрашени, най-близките срокове първи", "Източници", "Изход"}},
		// The policy filter names each policy by its row's label.
		{"/clients/betta?period=2026-10", []string{"Разход на часове", "Задачи по етапи", "Месецът в числа", "бюджет от часове",
			`<option value="stage_limit">време в етап</option>`, `<option value="untracked_work">без отчетено време</option>`}},
		{"/capacity?period=2026-10", []string{"Натовареност", "Служители", "Капацитет досега"}},
		{"/deliveries", []string{"Изпращания", "Създадено", "Канал"}},
	} {
		code, _, body := get(t, c, w.base+tc.path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d\n%.500s", tc.path, code, body)
			continue
		}
		if os.Getenv("KARKAS_DUMP_PAGES") != "" {
			t.Logf("%s:\n%s", tc.path, regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`).ReplaceAllString(body, " "))
		}
		for _, s := range tc.want {
			if !strings.Contains(body, s) {
				t.Errorf("GET %s: no %q", tc.path, s)
			}
		}
		for _, en := range []string{"Overview", "Sign out", "Breached and at risk", "Hour burn", "Next move", "Last error", "page made"} {
			if strings.Contains(body, en) {
				t.Errorf("GET %s: English %q left", tc.path, en)
			}
		}
		if id := regexp.MustCompile(`href="/clocks/([^"]+)"`).FindStringSubmatch(body); id != nil && clock == "" {
			clock = id[1]
		}
	}
	if clock == "" {
		t.Fatal("no clock linked from the pages")
	}
	code, _, body := get(t, c, w.base+"/clocks/"+clock)
	if code != http.StatusOK || !strings.Contains(body, "Следваща стъпка") || !strings.Contains(body, "Часовник") {
		t.Errorf("the clock page is not in Bulgarian: %d\n%.800s", code, body)
	}
	if code, _, body := get(t, c, w.base+"/clients/nobody"); code != http.StatusNotFound || !strings.Contains(body, "Няма достъпен за вас клиент nobody") {
		t.Errorf("an unknown client: %d\n%.800s", code, body)
	}
}
