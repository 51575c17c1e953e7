package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/oidcfake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// TestWebConfigured is the built karkas serve with serve.web set. It signs
// agency people in through an OpenID Connect provider (a fake that answers
// as Google's does): the whole browser round trip, the account matched by
// its email, and every way a sign-in must be refused. And its cabinet
// lists the month's billable entries with their notes (cabinet.notes:
// billable), never a non-billable one's.
func TestWebConfigured(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	const public = "http://karkas.test"
	idp := oidcfake.New("karkas-client", "s3cret-oidc-client", public+"/login/oidc/callback")
	t.Cleanup(idp.Close)

	config, data := demoSetup(t, 1, 500)
	dir := filepath.Dir(config)
	if err := os.WriteFile(filepath.Join(dir, "oidc-secret"), []byte("s3cret-oidc-client\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(config)
	text = append(text, []byte(`
serve:
  public_url: `+public+`
  web:
    oidc:
      issuer: `+idp.URL+`
      client_id: karkas-client
      client_secret_file: oidc-secret
      label: Sign in with Google
    cabinet: {notes: billable}
`)...)
	if err := os.WriteFile(config, text, 0o644); err != nil {
		t.Fatal(err)
	}
	// Two entries of this month on Acme (whose calendar is Berlin's): one
	// billable, one not.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	today := time.Now().In(berlin).Format("2006-01-02")
	csv := filepath.Join(data, "time", "everhour.csv")
	f, err := os.OpenFile(csv, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(today + ",Anna Petrova,anna@northwind.agency,Acme Foods,Acme Foods — Website,Checkout,,,Сверстала форму оплаты,1:30,yes\n" +
		today + ",Anna Petrova,anna@northwind.agency,Acme Foods,Acme Foods — Website,Checkout,,,internal: they never pay on time,0:45,no\n")
	f.Close()
	storeURL := testdb.URL(t, store.SQLite)
	if out, err := syncCmd(bin, config, data, storeURL).CombinedOutput(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": storeURL}
	for _, u := range [][]string{
		{"anna", "--role", "pm", "--person", "anna", "--email", "Anna@Northwind.Agency", "--no-password"},
		{"ops", "--role", "admin", "--generate-password"},
		{"boris", "--role", "lead", "--person", "boris", "--email", "boris@northwind.agency", "--no-password"},
	} {
		if code, out, errOut := runCLI(t, env, append([]string{"users", "add", "-c", config}, u...)...); code != exitOK {
			t.Fatalf("users add %v: exit %d\n%s%s", u, code, out, errOut)
		}
	}
	procEnv := os.Environ()
	for k, v := range env {
		procEnv = append(procEnv, k+"="+v)
	}
	d := startServe(t, bin, config, procEnv, "oidc")
	t.Cleanup(func() { d.stop(t) })
	w := &webDemo{base: "http://" + d.addr}

	// signIn goes the browser's way: the button, the provider, back to
	// karkas (the provider sends the browser to the public URL, which is
	// this listener), and returns the callback's answer.
	signIn := func(t *testing.T, c *http.Client, tamper func(callback *url.URL)) (int, string, string) {
		t.Helper()
		code, h, _ := get(t, c, w.base+"/login/oidc?next=/clients/acme")
		if code != http.StatusSeeOther {
			t.Fatalf("GET /login/oidc: %d", code)
		}
		authURL := h.Get("Location")
		if !strings.HasPrefix(authURL, idp.URL+"/o/oauth2/v2/auth?") {
			t.Fatalf("sent to %q, not the provider", authURL)
		}
		au, _ := url.Parse(authURL)
		q := au.Query()
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if len(q.Get(k)) < 20 {
				t.Errorf("the authorization request's %s is %q", k, q.Get(k))
			}
		}
		if q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != public+"/login/oidc/callback" || q.Get("scope") != "openid email profile" {
			t.Errorf("the authorization request: %s", au.RawQuery)
		}
		code, h, body := get(t, c, authURL)
		if code != http.StatusFound {
			t.Fatalf("the provider: %d %s", code, body)
		}
		cb, _ := url.Parse(h.Get("Location"))
		if !strings.HasPrefix(cb.String(), public+"/login/oidc/callback?") {
			t.Fatalf("the provider sent the browser to %s", cb)
		}
		if tamper != nil {
			tamper(cb)
		}
		local, _ := url.Parse(w.base)
		cb.Scheme, cb.Host = local.Scheme, local.Host
		code, h, body = get(t, c, cb.String())
		return code, h.Get("Location"), body
	}
	verified, unverified := true, false

	t.Run("signs in the account its email names", func(t *testing.T) {
		c := w.client(t)
		code, _, body := get(t, c, w.base+"/login")
		if code != http.StatusOK || !strings.Contains(body, `href="/login/oidc?next=%2f"`) || !strings.Contains(body, "Sign in with Google") {
			t.Fatalf("the sign-in page has no single sign-on button: %d\n%.800s", code, body)
		}
		idp.SignIn(&oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Name: "Anna", Verified: &verified})
		code, loc, body := signIn(t, c, nil)
		if code != http.StatusSeeOther || loc != "/clients/acme" {
			t.Fatalf("the callback: %d to %q\n%.500s", code, loc, body)
		}
		code, _, body = get(t, c, w.base+"/clients/acme")
		if code != http.StatusOK || !strings.Contains(body, "Acme") {
			t.Fatalf("Acme's page after signing in: %d", code)
		}
		// anna is a pm: her clients only, as with a password.
		if code, _, _ := get(t, c, w.base+"/clients/cobalt"); code != http.StatusNotFound && code != http.StatusForbidden {
			t.Errorf("another pm's client after an OIDC sign-in: %d", code)
		}
		// The account has no password: the form cannot sign it in.
		if code, _ := rawSignIn(t, w, "anna", ""); code == http.StatusSeeOther {
			t.Error("an account without a password signed in with an empty one")
		}
		st := openStore(t, storeURL)
		log, err := st.AuditLog(context.Background(), "user:anna", 10)
		if err != nil || len(log) == 0 || log[0].Action != "sign_in" || !strings.Contains(log[0].Detail, "oidc") {
			t.Errorf("the audit log of anna: %+v %v", log, err)
		}
	})

	// Microsoft's tokens carry no email_verified: the domain stands for it.
	t.Run("a token without email_verified, in the agency's domain", func(t *testing.T) {
		idp.SignIn(&oidcfake.User{Subject: "ms-1", Email: "boris@northwind.agency"})
		if code, loc, body := signIn(t, w.client(t), nil); code != http.StatusSeeOther || loc != "/clients/acme" {
			t.Fatalf("the callback: %d to %q\n%.500s", code, loc, body)
		}
	})

	refused := []struct {
		name   string
		user   *oidcfake.User
		spoil  oidcfake.Spoil
		tamper func(*url.URL)
		code   int
		says   string
	}{
		{name: "an address no account has", user: &oidcfake.User{Subject: "2", Email: "vera@northwind.agency", Verified: &verified},
			code: http.StatusForbidden, says: "No karkas account has the address vera@northwind.agency"},
		{name: "the address of an account bound to another identity", user: &oidcfake.User{Subject: "someone-new", Email: "anna@northwind.agency", Verified: &verified},
			code: http.StatusForbidden, says: "signs in as another identity at the provider"},
		{name: "an address the provider has not verified", user: &oidcfake.User{Subject: "3", Email: "anna@northwind.agency", Verified: &unverified},
			code: http.StatusUnauthorized, says: "has not verified the address"},
		{name: "another domain", user: &oidcfake.User{Subject: "4", Email: "anna@gmail.com", Verified: &verified},
			code: http.StatusUnauthorized, says: "Addresses at gmail.com may not sign in here"},
		{name: "the person cancels at the provider", code: http.StatusUnauthorized, says: "The user cancelled the sign-in"},
		{name: "a token for another client", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			spoil: oidcfake.Spoil{Audience: "someone-else"}, code: http.StatusUnauthorized, says: "did not verify"},
		{name: "a token from another issuer", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			spoil: oidcfake.Spoil{Issuer: "https://evil.example"}, code: http.StatusUnauthorized, says: "did not verify"},
		{name: "an expired token", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			spoil: oidcfake.Spoil{Expired: true}, code: http.StatusUnauthorized, says: "did not verify"},
		{name: "a token signed with a key the provider does not publish", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			spoil: oidcfake.Spoil{OtherKey: true}, code: http.StatusUnauthorized, says: "did not verify"},
		{name: "a token made for another sign-in (nonce)", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			spoil: oidcfake.Spoil{Nonce: "replayed-nonce-of-another-sign-in"}, code: http.StatusUnauthorized, says: "made for another sign-in"},
		{name: "a callback whose state is not this browser's", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			tamper: func(u *url.URL) {
				q := u.Query()
				q.Set("state", "forged-state-of-another-browser")
				u.RawQuery = q.Encode()
			},
			code: http.StatusUnauthorized, says: "not started in this browser"},
		{name: "a code someone else made up", user: &oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified},
			tamper: func(u *url.URL) { q := u.Query(); q.Set("code", "made-up"); u.RawQuery = q.Encode() },
			code:   http.StatusUnauthorized, says: "did not accept the code it gave"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			idp.SignIn(tc.user)
			idp.SpoilTokens(tc.spoil)
			defer idp.SpoilTokens(oidcfake.Spoil{})
			c := w.client(t)
			code, _, body := signIn(t, c, tc.tamper)
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Fatalf("%d, want %d saying %q:\n%.1500s", code, tc.code, tc.says, body)
			}
			if code, _, _ := get(t, c, w.base+"/"); code == http.StatusOK {
				t.Error("the overview opens after a refused sign-in")
			}
		})
	}

	// An admin releases the binding: the new identity signs in, and binds.
	t.Run("unbound, the account takes the new identity", func(t *testing.T) {
		if code, out, errOut := runCLI(t, env, "users", "add", "-c", config, "anna", "--update", "--role", "pm", "--person", "anna",
			"--email", "Anna@Northwind.Agency", "--unbind-oidc"); code != exitOK {
			t.Fatalf("users add --update --unbind-oidc: exit %d\n%s%s", code, out, errOut)
		}
		idp.SignIn(&oidcfake.User{Subject: "someone-new", Email: "anna@northwind.agency", Verified: &verified})
		if code, loc, body := signIn(t, w.client(t), nil); code != http.StatusSeeOther || loc != "/clients/acme" {
			t.Fatalf("after unbinding: %d to %q\n%.500s", code, loc, body)
		}
		idp.SignIn(&oidcfake.User{Subject: "1001", Email: "anna@northwind.agency", Verified: &verified})
		if code, _, body := signIn(t, w.client(t), nil); code != http.StatusForbidden || !strings.Contains(body, "another identity") {
			t.Fatalf("the old identity after the new one bound the account: %d\n%.500s", code, body)
		}
	})
	t.Run("a callback with no sign-in started", func(t *testing.T) {
		code, _, body := get(t, w.client(t), w.base+"/login/oidc/callback?code=x&state=y")
		if code != http.StatusUnauthorized || !strings.Contains(body, "not started in this browser") {
			t.Fatalf("%d\n%.500s", code, body)
		}
	})
	t.Run("the cabinet shows billable notes only", func(t *testing.T) {
		code, out, errOut := runCLI(t, env, "cabinet", "link", "-c", config, "--client", "acme")
		link := regexp.MustCompile(`/cabinet/\S+`).FindString(out)
		if code != exitOK || link == "" {
			t.Fatalf("cabinet link: exit %d\n%s%s", code, out, errOut)
		}
		code, _, body := get(t, w.client(t), w.base+link)
		if code != http.StatusOK || !strings.Contains(body, "Time logged") || !strings.Contains(body, "Сверстала форму оплаты") {
			t.Fatalf("the cabinet does not list the billable entry's note: %d\n%.3000s", code, body)
		}
		if strings.Contains(body, "never pay on time") {
			t.Error("the cabinet shows a non-billable entry's note")
		}
	})
	// Бетта Строй's config says language: ru: its cabinet, its past
	// months' reports and its expired links speak Russian; Acme's English.
	t.Run("the cabinet in the client's language", func(t *testing.T) {
		link := func(client, expires string) string {
			code, out, errOut := runCLI(t, env, "cabinet", "link", "-c", config, "--client", client, "--expires", expires)
			l := regexp.MustCompile(`/cabinet/\S+`).FindString(out)
			if code != exitOK || l == "" {
				t.Fatalf("cabinet link %s: exit %d\n%s%s", client, code, out, errOut)
			}
			return l
		}
		betta := link("betta", "90d")
		code, _, body := get(t, w.client(t), w.base+betta)
		for _, want := range []string{`<html lang="ru">`, "Часы этого месяца", "Ждёт вас", "Наши ответы", "Прошлые месяцы", "Данные на "} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("Бетта's cabinet: %d, no %q", code, want)
			}
		}
		for _, english := range []string{"Waiting on you", "Our replies", "Past months", "Figures as of"} {
			if strings.Contains(body, english) {
				t.Errorf("Бетта's cabinet says %q", english)
			}
		}
		code, _, body = get(t, w.client(t), w.base+betta+"/reports/2026-10")
		if code != http.StatusOK || !strings.Contains(body, "Отчёт о часах: Бетта Строй, Октябрь 2026") {
			t.Errorf("Бетта's October report in the cabinet: %d\n%.600s", code, body)
		}
		if _, _, body := get(t, w.client(t), w.base+link("acme", "90d")); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Waiting on you") {
			t.Errorf("Acme's cabinet is not English:\n%.600s", body)
		}
		expired := link("betta", "1s")
		time.Sleep(1500 * time.Millisecond)
		code, _, body = get(t, w.client(t), w.base+expired)
		if code != http.StatusGone || !strings.Contains(body, "Срок действия ссылки истёк") {
			t.Errorf("Бетта's expired link: %d\n%.600s", code, body)
		}
	})
	t.Run("the secret is not in the log", func(t *testing.T) {
		if strings.Contains(d.out.String(), "s3cret-oidc-client") {
			t.Error("the client secret is in karkas serve's output")
		}
		if regexp.MustCompile(`code=[A-Za-z0-9_-]{20,}`).MatchString(d.out.String()) {
			t.Error("an authorization code is in karkas serve's output")
		}
	})
}
