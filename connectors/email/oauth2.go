package email

import (
	"context"
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

	"github.com/karkas/karkas/internal/secret"
)

// OAuth2 is how a mail account logs in with XOAUTH2 (Gmail, Microsoft 365)
// instead of a password, for IMAP and SMTP alike: a long-lived refresh
// token of an OAuth2 client, traded at the provider's token endpoint for
// access tokens, each reused until shortly before it expires. The refresh
// token comes from a one-time consent outside karkas: for Gmail the scope
// https://mail.google.com/; for Microsoft 365
// https://outlook.office.com/IMAP.AccessAsUser.All (reading) or
// https://outlook.office.com/SMTP.Send (sending), and offline_access.
type OAuth2 struct {
	Provider     string       `yaml:"provider" enum:"google,microsoft" doc:"google or microsoft: sets token_url and scopes"`
	Tenant       string       `yaml:"tenant" doc:"Microsoft tenant id or domain (default common)"`
	TokenURL     string       `yaml:"token_url" doc:"token endpoint, instead of the provider's (a single-tenant app: https://login.microsoftonline.com/TENANT/oauth2/v2.0/token)"`
	ClientID     secret.Value `yaml:"client_id" exact:"true" doc:"OAuth2 client id of the app the refresh token was issued to; write ${VAR} so it comes from the environment (or client_id_file)"`
	ClientSecret secret.Value `yaml:"client_secret" exact:"true" doc:"OAuth2 client secret (none for a public client); write ${VAR} so it comes from the environment (or client_secret_file)"`
	RefreshToken secret.Value `yaml:"refresh_token" exact:"true" doc:"the account's refresh token; write ${VAR} so it comes from the environment (or refresh_token_file)"`
	Scopes       []string     `yaml:"scopes" doc:"scopes named when refreshing (default: Microsoft's IMAP or SMTP scope with provider microsoft; none otherwise, which keeps the consent's)"`
}

// oauthUse is what an OAuth2 block is for: it picks Microsoft's scope and
// the environment variable the errors suggest.
type oauthUse struct {
	microsoftScope string
	envPrefix      string // IMAP or SMTP
}

var (
	oauthIMAP = oauthUse{microsoftScope: "https://outlook.office.com/IMAP.AccessAsUser.All", envPrefix: "IMAP"}
	oauthSMTP = oauthUse{microsoftScope: "https://outlook.office.com/SMTP.Send", envPrefix: "SMTP"}
)

// Token endpoints of the providers. Google's is written out because
// golang.org/x/oauth2/google pulls in Google Cloud modules karkas does not
// need; Microsoft's takes the tenant between the host and the path.
const (
	googleTokenURL    = "https://oauth2.googleapis.com/token"
	microsoftTokenURL = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
)

// tokens checks the block, reads its secrets (relative to baseDir) and
// returns the account's token source; every problem is reported at once.
// Microsoft's endpoint may refuse a refresh that names no scope
// (golang/oauth2#540), so its scope for use is sent; Google keeps the
// scopes of the consent.
func (o *OAuth2) tokens(use oauthUse, secrets *secret.Set, baseDir string, client *http.Client) (*oauthTokens, error) {
	var errs []error
	t := &oauthTokens{tokenURL: strings.TrimSpace(o.TokenURL), scopes: o.Scopes, client: client, kept: secrets}
	switch o.Provider {
	case "google":
		if t.tokenURL == "" {
			t.tokenURL = googleTokenURL
		}
	case "microsoft":
		tenant := strings.TrimSpace(o.Tenant)
		if tenant == "" {
			tenant = "common"
		}
		if t.tokenURL == "" {
			t.tokenURL = fmt.Sprintf(microsoftTokenURL, url.PathEscape(tenant))
		}
		if len(t.scopes) == 0 {
			// offline_access keeps refresh tokens coming.
			t.scopes = []string{use.microsoftScope, "offline_access"}
		}
	case "":
	default:
		errs = append(errs, fmt.Errorf("provider: %q is not one of: google, microsoft", o.Provider))
	}
	if o.Tenant != "" && o.Provider != "microsoft" {
		errs = append(errs, errors.New("tenant: only applies with provider microsoft"))
	}
	if t.tokenURL == "" {
		if o.Provider == "" {
			errs = append(errs, errors.New("provider or token_url: set provider (google or microsoft) or token_url"))
		}
	} else if u, err := url.Parse(t.tokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("token_url: %q is not an http(s) URL", t.tokenURL))
	}
	if t.clientID = strings.TrimSpace(secrets.Optional(o.ClientID)); t.clientID == "" {
		errs = append(errs, fmt.Errorf("client_id: required; set client_id (e.g. ${%s_CLIENT_ID}) or client_id_file", use.envPrefix))
	}
	t.clientSecret = strings.TrimSpace(secrets.Optional(o.ClientSecret))
	if t.refresh = strings.TrimSpace(secrets.Optional(o.RefreshToken)); t.refresh == "" {
		errs = append(errs, fmt.Errorf("refresh_token: set refresh_token (e.g. ${%s_REFRESH_TOKEN}) or refresh_token_file", use.envPrefix))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// oauthTokens hands out an account's access tokens: the cached one until
// it is about to expire, else a new one for the refresh token (the newest,
// when the provider rotates them), or a new one at once when the server
// refused the cached one. It is an oauth2.TokenSource.
//
// golang.org/x/oauth2's own refresher cannot name scopes, which Microsoft
// may require, so the refresh grant (RFC 6749 section 6) is sent here; the
// package's token type, validity rule (10 s early) and error type are used.
type oauthTokens struct {
	tokenURL     string
	clientID     string
	clientSecret string
	scopes       []string
	client       *http.Client
	// kept keeps every access and refresh token handed out.
	kept *secret.Set

	mu      sync.Mutex
	refresh string // replaced when the provider rotates it
	cached  *oauth2.Token
}

// Token returns a valid access token (oauth2.TokenSource).
func (t *oauthTokens) Token() (*oauth2.Token, error) {
	return t.token(context.Background(), false)
}

// token returns a valid access token; fresh asks for a new one even if the
// cached one has not expired.
func (t *oauthTokens) token(ctx context.Context, fresh bool) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !fresh && t.cached.Valid() {
		return t.cached, nil
	}
	tok, err := t.exchange(ctx)
	if err != nil {
		return nil, err
	}
	t.cached = tok
	return tok, nil
}

// secrets returns what must never appear in an error: the client secret
// and the current refresh token.
func (t *oauthTokens) secrets() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return []string{t.clientSecret, t.refresh}
}

// exchange asks the endpoint for a fresh access token; t.mu is held. A
// refusal is an *oauth2.RetrieveError carrying the response, whose text
// is the endpoint's error code and description, never its body (it may
// echo what was sent).
func (t *oauthTokens) exchange(ctx context.Context) (*oauth2.Token, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {t.refresh},
		"client_id":     {t.clientID},
	}
	if t.clientSecret != "" {
		form.Set("client_secret", t.clientSecret)
	}
	if len(t.scopes) > 0 {
		form.Set("scope", strings.Join(t.scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: %w", t.tokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, below
		}
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: %w", t.tokenURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: reading the answer: %w", t.tokenURL, err)
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
			code = resp.Status
		}
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: code, ErrorDescription: j.ErrorDescription}
	}
	if jsonErr != nil || j.AccessToken == "" {
		return nil, fmt.Errorf("refreshing the OAuth2 token at %s: the answer holds no access_token", t.tokenURL)
	}
	t.kept.Add(j.AccessToken)
	t.kept.Add(j.RefreshToken)
	tok := &oauth2.Token{AccessToken: j.AccessToken, TokenType: j.TokenType, RefreshToken: t.refresh}
	if j.ExpiresIn > 0 {
		// Real time, not an injected clock: oauth2.Token.Valid reads it.
		tok.Expiry = time.Now().Add(time.Duration(j.ExpiresIn) * time.Second)
	}
	if j.RefreshToken != "" {
		t.refresh = j.RefreshToken
		tok.RefreshToken = j.RefreshToken
	}
	return tok, nil
}

// tokenHTTPClient returns a client for token requests: base's transport
// (nil: the default) and at most timeout per request.
func tokenHTTPClient(base *http.Client, timeout time.Duration) *http.Client {
	c := &http.Client{Timeout: timeout}
	if base != nil {
		c.Transport = base.Transport
		if base.Timeout > 0 && base.Timeout < timeout {
			c.Timeout = base.Timeout
		}
	}
	return c
}
