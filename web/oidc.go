package web

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/karkas/karkas/store"
	"golang.org/x/oauth2"
)

// OIDC is the OpenID Connect provider agency people may sign in through,
// beside their passwords. Discovery, the ID token's signature, issuer,
// audience and expiry are go-oidc's; the code exchange (with PKCE) is
// x/oauth2's. What is karkas's: state and nonce bound to the browser, the
// email's domain, and the account the address names.
type OIDC struct {
	Issuer, ClientID, ClientSecret string
	// Label is the button's text.
	Label string
	// Domains are the email domains that may sign in (lowercase).
	Domains []string
	// HTTPClient reaches the provider (discovery, keys, token); nil is
	// one with a 30 s timeout.
	HTTPClient *http.Client
}

// oidcCookie carries a sign-in's state, nonce, PKCE verifier and target
// from /login/oidc to the callback: the browser that started a sign-in is
// the only one that can finish it.
const oidcCookie = "karkas_oidc"

// oidcFlowTime is how long a started sign-in may take at the provider.
const oidcFlowTime = 10 * time.Minute

// oidcClient is the provider, discovered on the first sign-in (a provider
// down when karkas starts does not stop it serving passwords).
type oidcClient struct {
	o        OIDC
	redirect string
	mu       sync.Mutex
	provider *oidc.Provider
}

func (c *oidcClient) ctx(ctx context.Context) context.Context {
	hc := c.o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return oidc.ClientContext(ctx, hc)
}

func (c *oidcClient) discover(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider == nil {
		p, err := oidc.NewProvider(c.ctx(ctx), c.o.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("discovering the sign-in provider %s: %w", c.o.Issuer, err)
		}
		c.provider = p
	}
	return c.provider, &oauth2.Config{ClientID: c.o.ClientID, ClientSecret: c.o.ClientSecret, Endpoint: c.provider.Endpoint(),
		RedirectURL: c.redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

func (s *Server) ssoLabel() string {
	if s.oidc == nil {
		return ""
	}
	return s.oidc.o.Label
}

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.notFound(w, r)
		return
	}
	_, conf, err := s.oidc.discover(r.Context())
	if err != nil {
		s.log.Error("oidc sign-in", "err", err)
		s.showLogin(w, r, http.StatusBadGateway, s.agencyLocale().T("agency.login.provider_unreachable"), r.URL.Query().Get("next"))
		return
	}
	state, nonce, verifier := randomToken(24), randomToken(24), oauth2.GenerateVerifier()
	next := base64.RawURLEncoding.EncodeToString([]byte(localPath(r.URL.Query().Get("next"))))
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: strings.Join([]string{state, nonce, verifier, next}, "."), Path: "/login/oidc",
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(oidcFlowTime.Seconds())})
	http.Redirect(w, r, conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

// errSignIn is a sign-in the provider or the browser got wrong: shown to
// the person, counted against the address.
type errSignIn struct{ msg string }

func (e errSignIn) Error() string { return e.msg }

// oidcCallback is where the provider sends the browser back.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.notFound(w, r)
		return
	}
	ctx, now, ip := r.Context(), s.now(), clientIP(r)
	ipKey := "ip:" + ip
	if s.refuseOverLimit(w, r, "", limit{ipKey, maxIPFailures}) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/oidc", MaxAge: -1})
	email, subject, next, err := s.oidcIdentity(r)
	if err != nil {
		var bad errSignIn
		if !errors.As(err, &bad) {
			s.log.Error("oidc sign-in", "err", err)
			s.showLogin(w, r, http.StatusBadGateway, s.agencyLocale().T("agency.login.provider_odd"), next)
			return
		}
		if err := s.st.AddLoginFailures(ctx, now, ipKey); err != nil {
			s.log.Error("recording a failed sign-in", "err", err)
		}
		s.log.Info("oidc sign-in refused", "why", bad.msg, "ip", ip)
		s.showLogin(w, r, http.StatusUnauthorized, bad.msg, next)
		return
	}
	u, ok, err := s.st.WebUserByEmail(ctx, email)
	if err != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, err, "store_read")
		return
	}
	if !ok {
		s.st.AddLoginFailures(ctx, now, ipKey)
		s.log.Info("oidc sign-in: no account", "email", email, "ip", ip)
		s.showLogin(w, r, http.StatusForbidden, s.agencyLocale().T("agency.login.no_account", "Email", email), next)
		return
	}
	// The first sign-in binds the account to the provider's identity; an
	// address the provider later gives someone else does not open it.
	switch {
	case u.OIDCSubject == "":
		bound, err := s.st.BindOIDC(ctx, u.ID, subject)
		if err != nil {
			s.fail(w, r, nil, http.StatusServiceUnavailable, err, "account_update")
			return
		}
		if !bound { // another sign-in bound it a moment ago: read it again
			if u, ok, err = s.st.WebUser(ctx, u.ID); err != nil || !ok || u.OIDCSubject != subject {
				s.showLogin(w, r, http.StatusForbidden, s.agencyLocale().T("agency.login.just_bound"), next)
				return
			}
		} else {
			s.st.Audit(ctx, store.AuditEntry{At: now, Actor: u.ID, Action: "oidc_bind", Subject: "user:" + u.ID, IP: ip})
		}
	case u.OIDCSubject != subject:
		s.st.AddLoginFailures(ctx, now, ipKey, "user:"+u.ID)
		s.log.Warn("oidc sign-in: the address's account is bound to another identity", "account", u.ID, "ip", ip)
		s.showLogin(w, r, http.StatusForbidden, s.agencyLocale().T("agency.login.other_identity", "Email", email, "ID", u.ID), next)
		return
	}
	if s.startSession(w, r, u, "oidc") {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// oidcIdentity checks the provider's answer and returns the proven email
// address, the identity ("issuer subject"), and where to go after. An errSignIn is the person's or the
// provider's refusal; any other error is the provider misbehaving.
func (s *Server) oidcIdentity(r *http.Request) (email, subject, next string, err error) {
	q := r.URL.Query()
	next = "/"
	c, cerr := r.Cookie(oidcCookie)
	parts := []string{}
	if cerr == nil {
		parts = strings.Split(c.Value, ".")
	}
	if len(parts) == 4 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[3]); err == nil {
			next = localPath(string(b))
		}
	}
	if e := q.Get("error"); e != "" {
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.refused", "Why", truncate(cmp.Or(q.Get("error_description"), e), 200))}
	}
	if len(parts) != 4 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 || q.Get("state") == "" {
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.not_started")}
	}
	nonce, verifier := parts[1], parts[2]
	provider, conf, err := s.oidc.discover(r.Context())
	if err != nil {
		return "", "", next, err
	}
	ctx := s.oidc.ctx(r.Context())
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return "", "", next, errSignIn{s.agencyLocale().T("agency.login.code_refused")}
		}
		return "", "", next, fmt.Errorf("exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", next, errors.New("the provider's answer has no id_token")
	}
	idt, err := provider.VerifierContext(ctx, &oidc.Config{ClientID: s.oidc.o.ClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.token_unverified", "Why", truncate(err.Error(), 200))}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.other_sign_in")}
	}
	var claims struct {
		Email string `json:"email"`
		// Verified is a boolean, or the string "true" some providers
		// send; Microsoft's tokens leave it out, and then the domain
		// check alone stands.
		Verified json.RawMessage `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", next, fmt.Errorf("reading the token's claims: %w", err)
	}
	verified := len(claims.Verified) == 0 || string(claims.Verified) == "true" || string(claims.Verified) == `"true"`
	email = strings.ToLower(strings.TrimSpace(claims.Email))
	at := strings.LastIndexByte(email, '@')
	switch {
	case idt.Subject == "":
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.no_subject")}
	case email == "" || at < 1:
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.no_email")}
	case !verified:
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.unverified", "Email", email)}
	case !slices.Contains(s.oidc.o.Domains, email[at+1:]):
		return "", "", next, errSignIn{s.agencyLocale().T("agency.login.domain", "Domain", email[at+1:])}
	}
	return email, idt.Issuer + " " + idt.Subject, next, nil
}
