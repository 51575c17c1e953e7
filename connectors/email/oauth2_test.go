package email

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/karkas/karkas/internal/secret"
	"golang.org/x/oauth2"
)

// One OAuth2 block for IMAP and SMTP: the provider fills in the endpoint
// and, for Microsoft, the scope of what the block is for; every problem of
// a block is reported at once.
func TestOAuth2Block(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		o      OAuth2
		use    oauthUse
		url    string
		scopes []string
		wants  []string
	}{
		{name: "google", o: OAuth2{Provider: "google", ClientID: secret.Inline(" id "), RefreshToken: secret.Inline("rt")}, use: oauthIMAP, url: googleTokenURL},
		{name: "microsoft imap", o: OAuth2{Provider: "microsoft", ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}, use: oauthIMAP,
			url: "https://login.microsoftonline.com/common/oauth2/v2.0/token", scopes: []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"}},
		{name: "microsoft smtp, tenant", o: OAuth2{Provider: "microsoft", Tenant: "agency.example", ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}, use: oauthSMTP,
			url: "https://login.microsoftonline.com/agency.example/oauth2/v2.0/token", scopes: []string{"https://outlook.office.com/SMTP.Send", "offline_access"}},
		{name: "own scopes", o: OAuth2{Provider: "microsoft", ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt"), Scopes: []string{"x"}}, use: oauthSMTP,
			url: "https://login.microsoftonline.com/common/oauth2/v2.0/token", scopes: []string{"x"}},
		{name: "token_url", o: OAuth2{TokenURL: "https://idp.example/token", ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}, use: oauthIMAP, url: "https://idp.example/token"},
		{name: "everything wrong", o: OAuth2{Provider: "yahoo", Tenant: "x", ClientSecret: secret.Inline("s")}, use: oauthSMTP,
			wants: []string{`provider: "yahoo" is not one of: google, microsoft`, "tenant: only applies with provider microsoft",
				"client_id: required; set client_id (e.g. ${SMTP_CLIENT_ID})",
				"refresh_token: set refresh_token (e.g. ${SMTP_REFRESH_TOKEN}) or refresh_token_file"}},
		{name: "no endpoint", o: OAuth2{ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}, use: oauthIMAP, wants: []string{"provider or token_url: set provider"}},
		{name: "bad endpoint", o: OAuth2{TokenURL: "ftp://idp.example", ClientID: secret.Inline("id"), RefreshToken: secret.Inline("rt")}, use: oauthIMAP, wants: []string{`token_url: "ftp://idp.example" is not an http(s) URL`}},
	} {
		ts, err := tc.o.tokens(tc.use, nil, t.TempDir(), http.DefaultClient)
		if len(tc.wants) > 0 {
			for _, w := range tc.wants {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %v lacks %q", tc.name, err, w)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if ts.tokenURL != tc.url || !reflect.DeepEqual(ts.scopes, tc.scopes) || ts.clientID != "id" || ts.refresh != "rt" {
			t.Errorf("%s: tokens %+v", tc.name, ts)
		}
	}
}

// The token source names its scopes, reuses a token until it is about to
// expire, asks again when told to, follows a rotated refresh token, and
// reports a refusal by the endpoint's code without its body or a secret.
func TestOAuth2Tokens(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var forms []map[string]string
	expiresIn := 3600
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		f := map[string]string{}
		for k := range r.PostForm {
			f[k] = r.PostForm.Get(k)
		}
		forms = append(forms, f)
		w.Header().Set("Content-Type", "application/json")
		if f["refresh_token"] != fmt.Sprintf("rt-%d", len(forms)) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked.","echo":%q}`, f["client_secret"])
			return
		}
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":%d,"refresh_token":"rt-%d"}`, len(forms), expiresIn, len(forms)+1)
	}))
	t.Cleanup(srv.Close)
	o := OAuth2{Provider: "microsoft", TokenURL: srv.URL, ClientID: secret.Inline("app"), ClientSecret: secret.Inline("app-secret"), RefreshToken: secret.Inline("rt-1")}
	ts, err := o.tokens(oauthIMAP, nil, "", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(fresh bool) string {
		t.Helper()
		tok, err := ts.token(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	if a, b := get(false), get(false); a != "at-1" || b != "at-1" {
		t.Errorf("tokens %s, %s: want at-1 reused", a, b)
	}
	if c := get(true); c != "at-2" {
		t.Errorf("a fresh token: %s", c)
	}
	if forms[0]["scope"] != "https://outlook.office.com/IMAP.AccessAsUser.All offline_access" || forms[0]["client_secret"] != "app-secret" || forms[1]["refresh_token"] != "rt-2" {
		t.Errorf("token requests %v", forms)
	}
	ts.refresh = "rt-revoked"
	_, err = ts.token(ctx, true)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || strings.Contains(err.Error(), "app-secret") || strings.Contains(err.Error(), "rt-") {
		t.Errorf("a refused refresh: %v", err)
	}
}
