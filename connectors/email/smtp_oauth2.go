package email

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/microsoft"

	"github.com/karkas/karkas/connectors"
)

// smtpOAuth2Provider is what SMTPOAuth2.Provider fills in.
type smtpOAuth2Provider struct {
	tokenURL string
	scopes   []string
}

// Google's endpoint is written out because golang.org/x/oauth2/google
// pulls in Google Cloud modules karkas does not need. Microsoft's token
// endpoint may refuse a refresh that names no scope (golang/oauth2#540),
// so its SMTP scope is sent; Google keeps the scopes of the consent.
var smtpOAuth2Providers = map[string]smtpOAuth2Provider{
	"google":    {tokenURL: "https://oauth2.googleapis.com/token"},
	"microsoft": {tokenURL: microsoft.AzureADEndpoint("common").TokenURL, scopes: []string{"https://outlook.office.com/SMTP.Send", "offline_access"}},
}

// SMTPOAuth2 logs a Sender in with XOAUTH2: an access token obtained from
// a long-lived refresh token, refreshed when it expires. The refresh
// token comes from a one-time consent outside karkas (for Gmail the scope
// https://mail.google.com/; for Microsoft 365
// https://outlook.office.com/SMTP.Send and offline_access).
type SMTPOAuth2 struct {
	Provider         string   `yaml:"provider" enum:"google,microsoft" doc:"fills in token_url and scopes: google or microsoft (the common tenant)"`
	TokenURL         string   `yaml:"token_url" doc:"the token endpoint, when provider does not fit (a single-tenant Microsoft app: https://login.microsoftonline.com/TENANT/oauth2/v2.0/token)"`
	ClientID         string   `yaml:"client_id" doc:"OAuth2 client id of the app the refresh token was issued to"`
	ClientSecret     string   `yaml:"client_secret" secret:"true" doc:"its client secret, if it has one; write ${SMTP_CLIENT_SECRET}"`
	ClientSecretFile string   `yaml:"client_secret_file" doc:"file holding the client secret instead of client_secret"`
	RefreshToken     string   `yaml:"refresh_token" secret:"true" doc:"refresh token; write ${SMTP_REFRESH_TOKEN}"`
	RefreshTokenFile string   `yaml:"refresh_token_file" doc:"file holding the refresh token instead of refresh_token"`
	Scopes           []string `yaml:"scopes" doc:"scopes named when refreshing (default: the provider's; none with token_url)"`
}

// tokenSource checks the block, reads its secrets and returns a token
// source that refreshes (each request bounded by timeout) and reuses the
// access token until shortly before it expires.
func (o *SMTPOAuth2) tokenSource(env connectors.Env, timeout time.Duration) (oauth2.TokenSource, *smtpRefresher, error) {
	var errs []error
	r := &smtpRefresher{
		tokenURL: strings.TrimSpace(o.TokenURL),
		clientID: strings.TrimSpace(o.ClientID),
		scopes:   o.Scopes,
		client:   smtpHTTPClient(env.HTTPClient, timeout),
	}
	if o.Provider != "" {
		p, ok := smtpOAuth2Providers[o.Provider]
		if !ok {
			errs = append(errs, fmt.Errorf("provider: %q is not one of: google, microsoft", o.Provider))
		}
		if r.tokenURL == "" {
			r.tokenURL = p.tokenURL
		}
		if r.scopes == nil {
			r.scopes = p.scopes
		}
	}
	if r.tokenURL == "" {
		errs = append(errs, errors.New("provider or token_url: one is needed to refresh tokens"))
	} else if u, err := url.Parse(r.tokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("token_url: %q is not an http(s) URL", r.tokenURL))
	}
	if r.clientID == "" {
		errs = append(errs, errors.New("client_id: required"))
	}
	var err error
	if r.clientSecret, err = readSMTPSecret("client_secret", strings.TrimSpace(o.ClientSecret), o.ClientSecretFile, env.BaseDir); err != nil {
		errs = append(errs, err)
	}
	if r.refresh, err = readSMTPSecret("refresh_token", strings.TrimSpace(o.RefreshToken), o.RefreshTokenFile, env.BaseDir); err != nil {
		errs = append(errs, err)
	} else if r.refresh = strings.TrimSpace(r.refresh); r.refresh == "" {
		errs = append(errs, errors.New("refresh_token: set refresh_token (e.g. ${SMTP_REFRESH_TOKEN}) or refresh_token_file"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return oauth2.ReuseTokenSource(nil, r), r, nil
}

// smtpRefresher trades the refresh token for an access token (RFC 6749
// section 6). golang.org/x/oauth2's own refresher cannot name scopes, which
// Microsoft may require; its token type, reuse and error type are used.
type smtpRefresher struct {
	tokenURL     string
	clientID     string
	clientSecret string
	scopes       []string
	client       *http.Client

	mu      sync.Mutex
	refresh string // replaced when the provider rotates it
}

// secrets returns what must never appear in an error: the client secret
// and the current refresh token.
func (r *smtpRefresher) secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []string{r.clientSecret, r.refresh}
}

// Token asks the endpoint for a fresh access token. A refusal is an
// *oauth2.RetrieveError carrying the response.
func (r *smtpRefresher) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {r.refresh},
		"client_id":     {r.clientID},
	}
	if r.clientSecret != "" {
		form.Set("client_secret", r.clientSecret)
	}
	if len(r.scopes) > 0 {
		form.Set("scope", strings.Join(r.scopes, " "))
	}
	resp, err := r.client.PostForm(r.tokenURL, form)
	if err != nil {
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: %w", r.tokenURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: reading the answer: %w", r.tokenURL, err)
	}
	var j struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		RefreshToken     string `json:"refresh_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	jsonErr := json.Unmarshal(body, &j)
	if resp.StatusCode != http.StatusOK || j.Error != "" {
		code := j.Error
		if code == "" {
			code = resp.Status // never the body: it may echo what was sent
		}
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: code, ErrorDescription: j.ErrorDescription}
	}
	if jsonErr != nil || j.AccessToken == "" {
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: the answer holds no access_token", r.tokenURL)
	}
	tok := &oauth2.Token{AccessToken: j.AccessToken, TokenType: j.TokenType, RefreshToken: r.refresh}
	if j.ExpiresIn > 0 {
		// Real time, not an injected clock: oauth2.Token.Valid reads it.
		tok.Expiry = time.Now().Add(time.Duration(j.ExpiresIn) * time.Second)
	}
	if j.RefreshToken != "" {
		r.refresh = j.RefreshToken
		tok.RefreshToken = j.RefreshToken
	}
	return tok, nil
}
