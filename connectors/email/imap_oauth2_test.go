package email

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/secret"
)

// fakeTokenEndpoint is an OAuth2 token endpoint that answers the refresh
// grant like Google's and Microsoft's, and registers each access token it
// issues with the test Dovecot.
type fakeTokenEndpoint struct {
	srv  *httptest.Server
	imap *mailtest.IMAPServer
	user string

	mu        sync.Mutex
	refresh   string // the refresh token it accepts
	expiresIn int
	rotate    bool // hand out a new refresh token each time, retiring the old
	down      bool
	unknown   bool // issue tokens the IMAP server does not know
	issued    []string
}

func newFakeTokenEndpoint(t *testing.T, imapSrv *mailtest.IMAPServer, user string) *fakeTokenEndpoint {
	f := &fakeTokenEndpoint{imap: imapSrv, user: user, refresh: "rt-1", expiresIn: 3600}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fail := func(code int, errCode, desc string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": errCode, "error_description": desc})
	}
	if f.down {
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", "try later")
		return
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		fail(http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case id != "karkas-client" || secret != "client-secret-xyz":
		fail(http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	case r.PostForm.Get("grant_type") != "refresh_token":
		fail(http.StatusBadRequest, "unsupported_grant_type", "")
		return
	case r.PostForm.Get("refresh_token") != f.refresh:
		fail(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	// Names unique across endpoints: the test Dovecot is shared.
	at := fmt.Sprintf("%s-at-%d", f.srv.URL, len(f.issued)+1)
	f.issued = append(f.issued, at)
	if !f.unknown {
		f.imap.AllowToken(at, f.user)
	}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": f.expiresIn, "scope": r.PostForm.Get("scope")}
	if f.rotate {
		f.refresh = fmt.Sprintf("rt-%d", len(f.issued)+1)
		resp["refresh_token"] = f.refresh
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeTokenEndpoint) set(edit func(f *fakeTokenEndpoint)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f)
}

func (f *fakeTokenEndpoint) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.issued)
}

func TestIMAPXOAuth2(t *testing.T) {
	t.Parallel()
	const user = "anna@gmail.example"
	srv := mailtest.Dovecot(t, mailtest.DovecotOAuth2())
	srv.Append(t, user, "INBOX", testMail("a@client.example", olga, user, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})

	setup := func(t *testing.T) (*fakeTokenEndpoint, *IMAPSource) {
		tokens := newFakeTokenEndpoint(t, srv, user)
		acc := IMAPAccount{Name: "gmail", Host: srv.Host, Port: srv.Port, TLS: TLSNone, Username: user, OAuth2: &OAuth2{
			TokenURL: tokens.srv.URL + "/token", ClientID: secret.Inline("karkas-client"), ClientSecret: secret.Inline("client-secret-xyz"), RefreshToken: secret.Inline("rt-1"),
			Scopes: []string{"https://mail.google.com/"},
		}}
		return tokens, openTestIMAP(t, nil, acc)
	}

	t.Run("token reused until it expires", func(t *testing.T) {
		tokens, s := setup(t)
		c, cursor := mustPull(t, s, "")
		if len(c.messages()) != 1 {
			t.Fatalf("messages %q", ids(c.messages()))
		}
		mustPull(t, s, cursor)
		if got := tokens.tokens(); len(got) != 1 {
			t.Errorf("tokens issued %q, want one for two pulls", got)
		}
	})

	// oauth2 renews a token 10s before it expires: one of 5s is stale at once.
	t.Run("expiring token refreshed", func(t *testing.T) {
		tokens, s := setup(t)
		tokens.set(func(f *fakeTokenEndpoint) { f.expiresIn = 5 })
		_, cursor := mustPull(t, s, "")
		mustPull(t, s, cursor)
		if got := tokens.tokens(); len(got) != 2 {
			t.Errorf("tokens issued %q, want a new one for the second pull", got)
		}
	})

	t.Run("revoked token replaced, rotated refresh token used", func(t *testing.T) {
		tokens, s := setup(t)
		tokens.set(func(f *fakeTokenEndpoint) { f.rotate = true })
		_, cursor := mustPull(t, s, "")
		srv.RevokeToken(tokens.tokens()[0])
		// The cached token is refused; a fresh one comes from rt-2, the
		// refresh token the provider rotated to.
		mustPull(t, s, cursor)
		if got := tokens.tokens(); len(got) != 2 {
			t.Errorf("tokens issued %q", got)
		}
	})

	t.Run("refresh token revoked", func(t *testing.T) {
		tokens, s := setup(t)
		tokens.set(func(f *fakeTokenEndpoint) { f.refresh = "rt-other" })
		_, _, err := pullAll(t, s, "")
		if !errors.Is(err, connectors.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		for _, want := range []string{"account gmail", "refused to refresh the OAuth2 token of anna@gmail.example", "invalid_grant", "/token"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		for _, secret := range []string{"rt-1", "client-secret-xyz"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows a secret", err)
			}
		}
	})

	t.Run("token refused by the server", func(t *testing.T) {
		tokens, s := setup(t)
		_, cursor := mustPull(t, s, "")
		// Every token the endpoint hands out from now on is refused.
		srv.RevokeToken(tokens.tokens()[0])
		tokens.set(func(f *fakeTokenEndpoint) { f.unknown = true })
		_, _, err := pullAll(t, s, cursor)
		if !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "XOAUTH2") || !strings.Contains(err.Error(), `"status":"401"`) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("token endpoint down", func(t *testing.T) {
		tokens, s := setup(t)
		tokens.set(func(f *fakeTokenEndpoint) { f.down = true })
		_, _, err := pullAll(t, s, "")
		if err == nil || errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "refreshing the OAuth2 token") {
			t.Errorf("err = %v, want a retried, temporary failure", err)
		}
	})
}
