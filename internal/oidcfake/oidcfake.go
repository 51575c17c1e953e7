// Package oidcfake is an OpenID Connect provider for tests: discovery,
// the authorization endpoint (the person signed in at the provider is the
// test's to choose), the token endpoint with PKCE and both client
// authentications, and the signing keys. It answers as Google's and
// Microsoft's providers do (the discovery document's fields, RFC 6749's
// error bodies), and can be told to spoil what it signs: another audience
// or issuer, an expired token, another nonce, a key it does not publish.
package oidcfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// User is who signs in at the provider.
type User struct {
	Subject, Email, Name string
	// Verified is email_verified; nil leaves the claim out, as
	// Microsoft's tokens do.
	Verified *bool
}

// Spoil names what the next ID tokens get wrong.
type Spoil struct {
	Audience, Issuer, Nonce string
	Expired                 bool
	// OtherKey signs with a key the provider does not publish.
	OtherKey bool
}

// Provider is a running fake provider.
type Provider struct {
	*httptest.Server
	ClientID, ClientSecret, RedirectURL string

	mu        sync.Mutex
	key, evil *rsa.PrivateKey
	user      *User
	spoil     Spoil
	codes     map[string]grant
	// Requests counts the calls of each endpoint path.
	requests map[string]int
}

type grant struct {
	user                     User
	nonce, challenge, method string
	redirect                 string
	issued                   time.Time
}

// New starts a provider that knows one client.
func New(clientID, clientSecret, redirectURL string) *Provider {
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		codes: map[string]grant{}, requests: map[string]int{}}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if p.evil, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /o/oauth2/v2/auth", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /oauth2/v3/certs", p.keys)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests[r.URL.Path]++
		p.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	return p
}

// SignIn makes u the person signed in at the provider: the next
// authorization request is theirs. nil signs nobody in, and the provider
// answers access_denied, as when the person cancels.
func (p *Provider) SignIn(u *User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SpoilTokens makes the next ID tokens wrong in the ways s names.
func (p *Provider) SpoilTokens(s Spoil) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spoil = s
}

// Requests is how many times path was asked for.
func (p *Provider) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[path]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// discovery is Google's document, less what karkas never asks.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/o/oauth2/v2/auth",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/oauth2/v3/certs",
		"response_types_supported":              []string{"code", "token", "id_token", "code token", "code id_token", "none"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported":                      []string{"aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
	})
}

// authorize checks the request as a provider does (the client, the
// registered redirect, the scope) and sends the browser back with a code,
// or with the error a provider gives.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID || q.Get("redirect_uri") != p.RedirectURL {
		// A provider shows its own error page, never redirecting to an
		// address it does not know.
		http.Error(w, "Error 400: redirect_uri_mismatch", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(p.RedirectURL)
	v := url.Values{"state": {q.Get("state")}}
	p.mu.Lock()
	u := p.user
	switch {
	case q.Get("response_type") != "code":
		v.Set("error", "unsupported_response_type")
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		v.Set("error", "invalid_scope")
	case u == nil:
		v.Set("error", "access_denied")
		v.Set("error_description", "The user cancelled the sign-in")
	default:
		code := randomString()
		p.codes[code] = grant{user: *u, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
			redirect: q.Get("redirect_uri"), issued: time.Now()}
		v.Set("code", code)
	}
	p.mu.Unlock()
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token redeems a code once, checking the client, the redirect and the
// PKCE verifier, and signs the ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "The OAuth client was not found."})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	p.mu.Lock()
	code := r.PostForm.Get("code")
	g, ok := p.codes[code]
	delete(p.codes, code) // a code is good once
	spoil := p.spoil
	p.mu.Unlock()
	if !ok || time.Since(g.issued) > 10*time.Minute || r.PostForm.Get("redirect_uri") != g.redirect {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Bad Request"})
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if g.method != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid code verifier."})
			return
		}
	}
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "aud": p.ClientID, "sub": g.user.Subject, "email": g.user.Email, "name": g.user.Name,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": g.nonce}
	if g.user.Verified != nil {
		claims["email_verified"] = *g.user.Verified
	}
	if spoil.Audience != "" {
		claims["aud"] = spoil.Audience
	}
	if spoil.Issuer != "" {
		claims["iss"] = spoil.Issuer
	}
	if spoil.Nonce != "" {
		claims["nonce"] = spoil.Nonce
	}
	if spoil.Expired {
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	key := p.key
	if spoil.OtherKey {
		key = p.evil
	}
	idToken, err := sign(key, claims)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 3599,
		"scope": "openid email profile", "id_token": idToken})
}

func (p *Provider) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func sign(key *rsa.PrivateKey, claims map[string]any) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func randomString() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
