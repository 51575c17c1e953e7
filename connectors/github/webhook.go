package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors"
)

// Webhooks in: what `karkas serve` needs of GitHub to hear of a change
// when it happens instead of at the next sync. Verification and parsing
// are go-github's (ValidateSignature, ValidatePayloadFromBody,
// WebHookType, DeliveryID, ParseWebHook); this file adds the rules
// karkas keeps: only X-Hub-Signature-256 is trusted (never the SHA-1
// X-Hub-Signature go-github falls back to), an empty secret verifies
// nothing (go-github skips the check then), and a wrong or missing
// signature is ErrSignature, so that the receiver can answer 401.
//
// GitHub does not retry a delivery the receiver failed; it can be
// redelivered (by hand, or through the deliveries API) with the same
// X-GitHub-Delivery, which is why a receiver keys what it did by
// DeliveryID.

// ErrSignature marks a delivery whose X-Hub-Signature-256 is missing,
// malformed or not the HMAC-SHA256 of the body with the secret: not from
// GitHub, or from a hook with another secret. Answer 401.
var ErrSignature = errors.New("github webhook: X-Hub-Signature-256 missing or wrong")

// MaxWebhookBody is the largest payload GitHub sends (it drops larger
// ones): 25 MB.
const MaxWebhookBody = 25 << 20

// HookEvents are the events the hooks EnsureHooks makes subscribe to: an
// issue or pull request opened, edited, labeled, closed...; a comment
// made, edited or deleted; a label created, renamed or deleted.
var HookEvents = []string{"issues", "issue_comment", "label"}

// Event is a verified delivery.
type Event struct {
	// Type is X-GitHub-Event: issues, issue_comment, label, ping, ...
	Type string
	// DeliveryID is X-GitHub-Delivery, a GUID that a redelivery keeps.
	DeliveryID string
	// HookID is X-GitHub-Hook-ID, 0 when absent.
	HookID int64
	// Repo is the repository's full name (owner/name) and RepoID its id
	// (which a rename keeps), empty for an event without a repository.
	Repo   string
	RepoID int64
	// Action is the payload's action (opened, created, labeled...), ""
	// for events without one (ping).
	Action string
	// Ping is GitHub's test delivery, sent when a hook is created: it
	// changes nothing, answer it 200.
	Ping bool
	// Relevant says karkas syncs on it: an issues, issue_comment or label
	// event, or a ping. Others are parsed and reported, not acted on.
	Relevant bool
	// Payload is go-github's event (*github.IssuesEvent,
	// *github.IssueCommentEvent, *github.LabelEvent, *github.PingEvent,
	// ...), nil for a type go-github does not know.
	Payload any
	// Raw is the payload's JSON.
	Raw []byte
}

var relevant = map[string]bool{"issues": true, "issue_comment": true, "label": true, "ping": true}

// ParseWebhook reads, verifies and parses a delivery: the body (at most
// MaxWebhookBody) must carry a valid X-Hub-Signature-256 for secret, or
// the error is ErrSignature. A delivery without an event type or a
// delivery id, of a content type GitHub does not send, or whose payload
// does not parse is another error (answer 400); so is an empty secret,
// which would verify nothing.
func ParseWebhook(r *http.Request, secret []byte) (Event, error) {
	if len(secret) == 0 {
		return Event{}, errors.New("github webhook: no secret to verify with (webhook_secret)")
	}
	sig := r.Header.Get(gh.SHA256SignatureHeader)
	if sig == "" {
		return Event{}, fmt.Errorf("%w: no %s header", ErrSignature, gh.SHA256SignatureHeader)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		// ValidateSignature would take sha1= here too.
		return Event{}, fmt.Errorf("%w: %s is not sha256=<hex>", ErrSignature, gh.SHA256SignatureHeader)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return Event{}, fmt.Errorf("github webhook: reading the body: %w", err)
	}
	if len(body) > MaxWebhookBody {
		return Event{}, fmt.Errorf("github webhook: body over %d bytes", MaxWebhookBody)
	}
	if err := gh.ValidateSignature(sig, body, secret); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return Event{}, fmt.Errorf("github webhook: Content-Type: %w", err)
	}
	// The body is verified; this unpacks a form-encoded payload.
	payload, err := gh.ValidatePayloadFromBody(ct, bytes.NewReader(body), sig, secret)
	if err != nil {
		return Event{}, fmt.Errorf("github webhook: %w", err)
	}
	ev := Event{Type: gh.WebHookType(r), DeliveryID: gh.DeliveryID(r), Raw: payload}
	switch {
	case ev.Type == "":
		return Event{}, fmt.Errorf("github webhook: no %s header", gh.EventTypeHeader)
	case ev.DeliveryID == "":
		return Event{}, fmt.Errorf("github webhook: no %s header", gh.DeliveryIDHeader)
	}
	if v := r.Header.Get("X-GitHub-Hook-ID"); v != "" {
		ev.HookID, _ = strconv.ParseInt(v, 10, 64)
	}
	ev.Ping, ev.Relevant = ev.Type == "ping", relevant[ev.Type]
	if gh.EventForType(ev.Type) != nil {
		if ev.Payload, err = gh.ParseWebHook(ev.Type, payload); err != nil {
			return Event{}, fmt.Errorf("github webhook: %s payload: %w", ev.Type, err)
		}
	}
	var common struct {
		Action     string `json:"action"`
		Repository *struct {
			ID       int64  `json:"id"`
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(payload, &common); err != nil {
		return Event{}, fmt.Errorf("github webhook: %s payload: %w", ev.Type, err)
	}
	ev.Action = common.Action
	if common.Repository != nil {
		ev.Repo, ev.RepoID = common.Repository.FullName, common.Repository.ID
	}
	return ev, nil
}

// Hook is a repository hook as karkas reads it.
type Hook struct {
	// Repo is the repository (owner/name) as asked for.
	Repo string
	ID   int64
	// URL is the hook's config.url, where GitHub posts.
	URL         string
	ContentType string
	Events      []string
	Active      bool
}

func hookOf(repo string, h *gh.Hook) Hook {
	out := Hook{Repo: repo, ID: h.GetID(), Events: slices.Clone(h.Events), Active: h.GetActive()}
	if h.Config != nil {
		out.URL, out.ContentType = h.Config.GetURL(), h.Config.GetContentType()
	}
	return out
}

// Hooks lists a repository's hooks (the token needs admin rights on it,
// or a fine-grained token the Webhooks permission).
func (c *Client) Hooks(ctx context.Context, repo string) ([]Hook, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, fmt.Errorf("listing hooks: %w", err)
	}
	var out []Hook
	opts := &gh.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.gh.Repositories.ListHooks(ctx, owner, name, opts)
		if err != nil {
			return nil, fmt.Errorf("listing hooks of %s: %w", repo, short(err))
		}
		for _, h := range page {
			out = append(out, hookOf(repo, h))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateHook creates an active hook on repo posting HookEvents to url as
// JSON, signed with secret. GitHub answers it with a ping event. An
// error whose fate is unknown may leave the hook made: list before
// creating again (as EnsureHooks does).
func (c *Client) CreateHook(ctx context.Context, repo, url string, secret []byte) (Hook, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return Hook{}, fmt.Errorf("creating a hook: %w", err)
	}
	if len(secret) == 0 {
		return Hook{}, fmt.Errorf("creating a hook on %s: a secret is required", repo)
	}
	req := &gh.Hook{
		Config: &gh.HookConfig{URL: gh.String(url), ContentType: gh.String("json"), InsecureSSL: gh.String("0"), Secret: gh.String(string(secret))},
		Events: slices.Clone(HookEvents),
		Active: gh.Bool(true),
	}
	h, _, err := c.gh.Repositories.CreateHook(ctx, owner, name, req)
	if err != nil {
		return Hook{}, fmt.Errorf("creating a hook on %s: %w", repo, short(err))
	}
	return hookOf(repo, h), nil
}

// DeleteHook deletes a hook; one GitHub no longer has is not an error, so
// that a retried delete succeeds.
func (c *Client) DeleteHook(ctx context.Context, repo string, id int64) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return fmt.Errorf("deleting a hook: %w", err)
	}
	if _, err := c.gh.Repositories.DeleteHook(ctx, owner, name, id); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting hook %d of %s: %w", id, repo, short(err))
	}
	return nil
}

func isNotFound(err error) bool {
	er, ok := errors.AsType[*gh.ErrorResponse](err)
	return ok && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

// EnsureHooks makes sure each repository has a hook posting to
// urlFor(repo), creating only the missing ones: a hook with the same
// config.url counts as present (kept). A kept hook that is inactive or
// lacks one of HookEvents is switched on and given them (its other
// events stay); its secret is not checked, as GitHub never shows it: to
// change the secret, delete the hooks and ensure them again. Each
// repository costs one listing, so a second call with the same arguments
// creates nothing. Hooks it was not asked for are left alone.
//
// A repository that fails (gone, no admin rights) does not stop the
// others; the errors are joined. Refused credentials, a rate limit handed
// back or the end of ctx stop it. A create whose fate is unknown is
// settled by listing again.
func (c *Client) EnsureHooks(ctx context.Context, repos []string, urlFor func(repo string) string, secret []byte) (created, kept []Hook, err error) {
	if len(secret) == 0 {
		return nil, nil, errors.New("ensuring hooks: a secret is required")
	}
	var errs []error
	seen := map[string]bool{}
	for _, repo := range repos {
		if seen[strings.ToLower(repo)] {
			continue
		}
		seen[strings.ToLower(repo)] = true
		h, made, err := c.ensureHook(ctx, repo, urlFor(repo), secret)
		switch {
		case err == nil && made:
			created = append(created, h)
		case err == nil:
			kept = append(kept, h)
		case connectors.StopsAll(ctx, err):
			return created, kept, err
		default:
			errs = append(errs, err)
		}
	}
	return created, kept, errors.Join(errs...)
}

func (c *Client) ensureHook(ctx context.Context, repo, url string, secret []byte) (Hook, bool, error) {
	have, err := c.Hooks(ctx, repo)
	if err != nil {
		return Hook{}, false, err
	}
	if h, ok := findHook(have, url); ok {
		h, err := c.fixHook(ctx, h)
		return h, false, err
	}
	h, err := c.CreateHook(ctx, repo, url, secret)
	if err == nil {
		return h, true, nil
	}
	dup := hookExists(err)
	if !dup && !mayHaveReached(err) {
		return Hook{}, false, err
	}
	now, lerr := c.Hooks(ctx, repo)
	if lerr != nil {
		return Hook{}, false, errors.Join(err, lerr)
	}
	if h, ok := findHook(now, url); ok {
		// Ours if the answer was lost, another process's if refused as a
		// duplicate.
		return h, !dup, nil
	}
	return Hook{}, false, err
}

// hookExists reports whether err is GitHub's 422 for a second hook with
// the same URL ("Hook already exists on this repository") [unverified:
// the text is from memory; the 422 is what GitHub answers validation
// failures with].
func hookExists(err error) bool {
	er, ok := errors.AsType[*gh.ErrorResponse](err)
	if !ok || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if strings.Contains(e.Message, "already exists") {
			return true
		}
	}
	return strings.Contains(er.Message, "already exists")
}

// fixHook switches h on and adds the HookEvents it lacks, leaving its
// config (and so its secret) as it is.
func (c *Client) fixHook(ctx context.Context, h Hook) (Hook, error) {
	events := slices.Clone(h.Events)
	for _, e := range HookEvents {
		if !slices.Contains(events, e) && !slices.Contains(events, "*") {
			events = append(events, e)
		}
	}
	if h.Active && len(events) == len(h.Events) {
		return h, nil
	}
	owner, name, _ := splitRepo(h.Repo)
	edited, _, err := c.gh.Repositories.EditHook(ctx, owner, name, h.ID, &gh.Hook{Events: events, Active: gh.Bool(true)})
	if err != nil {
		return Hook{}, fmt.Errorf("switching on hook %d of %s: %w", h.ID, h.Repo, short(err))
	}
	return hookOf(h.Repo, edited), nil
}

func findHook(hs []Hook, url string) (Hook, bool) {
	for _, h := range hs {
		if h.URL == url {
			return h, true
		}
	}
	return Hook{}, false
}

// Webhooks is what `karkas serve` needs of a github source to take webhooks
// in: its client, to register hooks, the repositories it pulls, and the
// hook secret, to verify deliveries.
type Webhooks struct {
	src    *Source
	secret []byte
}

// OpenWebhooks builds Webhooks from a github source's options (as the
// registry's Kind decodes them): the tokens and base URL the source uses,
// the repositories it pulls (env.Repos when the options name none), and
// webhook_secret (or webhook_secret_file), which it requires. Every
// secret is read through env.Secrets, so that nothing karkas says shows
// it.
func OpenWebhooks(opts any, env connectors.Env) (*Webhooks, error) {
	o, ok := opts.(*Options)
	if !ok {
		return nil, fmt.Errorf("opening %s webhooks: options are %T, want *github.Options", KindName, opts)
	}
	sec, err := o.webhookSecret(env)
	if err != nil {
		return nil, fmt.Errorf("opening %s webhooks: %w", KindName, err)
	}
	src, err := NewSource(*o, env, nil)
	if err != nil {
		return nil, err
	}
	return &Webhooks{src: src, secret: []byte(sec)}, nil
}

// Client is the client the source pulls with.
func (w *Webhooks) Client() *Client { return w.src.client }

// Repos are the repositories the source pulls.
func (w *Webhooks) Repos() []string { return slices.Clone(w.src.repos) }

// Parse reads and verifies a delivery with the hook secret (see
// ParseWebhook).
func (w *Webhooks) Parse(r *http.Request) (Event, error) { return ParseWebhook(r, w.secret) }

// Ensure makes sure every repository the source pulls has a hook posting
// to urlFor(repo), signed with the hook secret (see EnsureHooks).
func (w *Webhooks) Ensure(ctx context.Context, urlFor func(repo string) string) (created, kept []Hook, err error) {
	return w.src.client.EnsureHooks(ctx, w.src.repos, urlFor, w.secret)
}
