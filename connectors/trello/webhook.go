package trello

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	adlio "github.com/adlio/trello"

	"github.com/karkas/karkas/connectors"
)

// Webhooks in: what `karkas serve` needs of Trello to hear of a change
// when it happens instead of at the next sync.
//
// Trello checks a callback URL when a webhook is created: it sends a HEAD
// request there and creates the webhook only if that gets 200, so the
// receiver must answer HEAD with 200 before EnsureWebhooks runs. Each
// change on the model (a board, here) then arrives as a POST whose body
// is {"action": {...}, "model": {...}} and whose X-Trello-Webhook header
// signs the body and the callback URL with the app's secret (see
// VerifyWebhook). Trello retries a delivery the receiver did not take;
// how often and when it gives up on a webhook is not documented
// (api-facts: [unverified]), so a receiver should answer 2xx quickly and
// treat a delivery as a hint to pull, never as the only copy of a change.

// WebhookHeader is the header carrying a delivery's signature.
const WebhookHeader = "X-Trello-Webhook"

// VerifyWebhook reports whether header, a delivery's X-Trello-Webhook
// value, is base64(HMAC-SHA1(secret, body + callbackURL)): the signature
// Trello makes with the app's OAuth secret over the raw body and the
// callback URL exactly as it was registered (scheme, host, port, path and
// query as sent to CreateWebhook, not as a proxy in front of the receiver
// rewrote them). The comparison takes the same time wherever the values
// differ. An empty secret or header verifies nothing.
func VerifyWebhook(secret []byte, body []byte, callbackURL string, header string) bool {
	if len(secret) == 0 || header == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		return false
	}
	return hmac.Equal(got, webhookMAC(secret, body, callbackURL))
}

// SignWebhook returns the X-Trello-Webhook value Trello sends for body
// delivered to callbackURL: what a test needs to forge a genuine delivery.
func SignWebhook(secret []byte, body []byte, callbackURL string) string {
	return base64.StdEncoding.EncodeToString(webhookMAC(secret, body, callbackURL))
}

func webhookMAC(secret, body []byte, callbackURL string) []byte {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	m.Write([]byte(callbackURL))
	return m.Sum(nil)
}

// WebhookEvent is what a delivery says.
type WebhookEvent struct {
	// ModelID is the id of the model the webhook is on: the board, for
	// the webhooks EnsureWebhooks makes.
	ModelID string
	// ModelType is "board", "card", "list" or "member", read from the
	// model's fields (a delivery does not name it); "" when they fit
	// none of these.
	ModelType string
	// ActionID and ActionType name the change, e.g. commentCard or
	// updateCard; ActionDate is Trello's time of it (RFC 3339).
	ActionID, ActionType, ActionDate string
	// BoardID, CardID and ListID are the board, card and list the action
	// names, "" for those it does not.
	BoardID, CardID, ListID string
	// Action is the whole action, as the actions routes return it.
	Action Action
}

// ParseWebhook reads a delivery's body. Fields it does not know are
// skipped; a body that is not a delivery (not JSON, no action id or type,
// no model id) is an error. It does not verify the body: call
// VerifyWebhook first, and cap the body's size where it is read.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	var d struct {
		Action *Action                    `json:"action"`
		Model  map[string]json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return WebhookEvent{}, fmt.Errorf("reading trello webhook: %w", err)
	}
	if d.Action == nil || d.Action.ID == "" || d.Action.Type == "" {
		return WebhookEvent{}, errors.New("reading trello webhook: no action with an id and a type")
	}
	var modelID string
	if raw, ok := d.Model["id"]; ok {
		_ = json.Unmarshal(raw, &modelID)
	}
	if modelID == "" {
		return WebhookEvent{}, errors.New("reading trello webhook: no model id")
	}
	a := *d.Action
	ev := WebhookEvent{ModelID: modelID, ModelType: modelType(d.Model), ActionID: a.ID, ActionType: a.Type, ActionDate: a.Date, Action: a}
	if a.Data.Board != nil {
		ev.BoardID = a.Data.Board.ID
	}
	if a.Data.Card != nil {
		ev.CardID = a.Data.Card.ID
	}
	switch {
	case a.Data.List != nil:
		ev.ListID = a.Data.List.ID
	case a.Data.ListAfter != nil:
		ev.ListID = a.Data.ListAfter.ID
	}
	return ev, nil
}

// modelType tells the kind of model from fields only it has: a card has
// idList, a list idBoard without idList, a member username, a board prefs
// or labelNames.
func modelType(m map[string]json.RawMessage) string {
	has := func(k string) bool { _, ok := m[k]; return ok }
	switch {
	case has("idList"):
		return "card"
	case has("idBoard"):
		return "list"
	case has("username"):
		return "member"
	case has("prefs"), has("labelNames"):
		return "board"
	}
	return ""
}

// Webhook is a webhook as Trello lists it.
type Webhook struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	// IDModel is what the webhook watches: a board, card, list or member
	// id (never a short link).
	IDModel     string `json:"idModel"`
	CallbackURL string `json:"callbackURL"`
	// Active is false for a webhook switched off, by its owner or by
	// Trello after failing deliveries for long.
	Active              bool `json:"active"`
	ConsecutiveFailures int  `json:"consecutiveFailures"`
	// FirstConsecutiveFailDate is when the current run of failures began,
	// "" when there is none.
	FirstConsecutiveFailDate string `json:"firstConsecutiveFailDate"`
}

// Webhooks lists the webhooks of the client's token: every webhook it
// created, on any model.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	if err := c.get(ctx, &out, nil, "tokens", c.token, "webhooks"); err != nil {
		return nil, fmt.Errorf("listing webhooks: %w", err)
	}
	return out, nil
}

// CreateWebhook creates a webhook on idModel (an id, not a short link)
// posting to callbackURL, through adlio. Trello first sends a HEAD request
// to callbackURL and refuses with 400 unless it gets 200; it refuses a
// second webhook of the token with the same model and callback with 400
// too. A *WriteError means it may exist: list before creating again (as
// EnsureWebhooks does).
func (c *Client) CreateWebhook(ctx context.Context, idModel, callbackURL, description string) (Webhook, error) {
	if !isObjectID(idModel) {
		return Webhook{}, fmt.Errorf("creating a webhook: model %q is not an id (24 hex digits)", idModel)
	}
	if err := checkCallback(callbackURL); err != nil {
		return Webhook{}, fmt.Errorf("creating a webhook on %s: %w", idModel, err)
	}
	w := &adlio.Webhook{IDModel: idModel, CallbackURL: callbackURL, Description: description}
	if err := c.lib(ctx, func(lc *adlio.Client) error { return lc.CreateWebhook(w) }); err != nil {
		return Webhook{}, fmt.Errorf("creating a webhook on %s: %w", idModel, err)
	}
	return fromLibWebhook(w), nil
}

func checkCallback(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("callback %q is not an http or https URL", s)
	}
	return nil
}

// SetWebhookActive switches a webhook on or off.
func (c *Client) SetWebhookActive(ctx context.Context, id string, active bool) (Webhook, error) {
	q := url.Values{"active": {strconv.FormatBool(active)}}
	var out Webhook
	if err := c.do(ctx, request{method: http.MethodPut, path: []string{"webhooks", id}, query: q}, &out); err != nil {
		return Webhook{}, fmt.Errorf("switching webhook %s on or off: %w", id, err)
	}
	return out, nil
}

// DeleteWebhook deletes a webhook, through adlio; one Trello no longer
// has is not an error, so that a retried delete succeeds.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	err := c.lib(ctx, func(lc *adlio.Client) error {
		w := &adlio.Webhook{ID: id}
		w.SetClient(lc)
		return w.Delete()
	})
	if _, gone := errors.AsType[*NotFoundError](err); err != nil && !gone {
		return fmt.Errorf("deleting webhook %s: %w", id, err)
	}
	return nil
}

// alreadyExists is Trello's 400 text for a second webhook of a token on
// the same model and callback (quoted by several clients that treat it as
// success) [3p].
const alreadyExists = "already exists"

// EnsureWebhooks makes sure the token has a webhook on each board posting
// to callbackFor(board id), creating only the missing ones: a webhook of
// the token on the same model with the same callback URL counts as
// present (kept), and is switched back on if it was off. Boards may be
// ids or short links; a short link costs one request to learn the id,
// which is what callbackFor is given. It lists the token's webhooks once,
// so a second call with the same arguments creates nothing. Webhooks it
// was not asked for are left alone.
//
// A board that fails (deleted, not shared, its callback refused by
// Trello's HEAD check) does not stop the others; the errors are joined.
// Refused credentials, a rate limit handed back or the end of ctx stop
// it. A create whose fate is unknown, or that Trello refuses as a
// duplicate (another process made it meanwhile), is settled by listing
// again.
func (c *Client) EnsureWebhooks(ctx context.Context, boards []string, callbackFor func(board string) string, description string) (created, kept []Webhook, err error) {
	existing, err := c.Webhooks(ctx)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	seen := map[string]bool{}
	for _, ref := range boards {
		id, err := c.boardID(ctx, ref)
		if err == nil && !seen[id] {
			seen[id] = true
			var h Webhook
			var made bool
			h, made, err = c.ensureWebhook(ctx, existing, id, callbackFor(id), description)
			switch {
			case err != nil:
			case made:
				created = append(created, h)
			default:
				kept = append(kept, h)
			}
		}
		if err != nil {
			if connectors.StopsAll(ctx, err) {
				return created, kept, err
			}
			errs = append(errs, err)
		}
	}
	return created, kept, errors.Join(errs...)
}

func (c *Client) boardID(ctx context.Context, ref string) (string, error) {
	if isObjectID(ref) {
		return ref, nil
	}
	b, err := c.Board(ctx, ref)
	if err != nil {
		return "", err
	}
	return b.ID, nil
}

func (c *Client) ensureWebhook(ctx context.Context, existing []Webhook, board, callback, description string) (Webhook, bool, error) {
	if h, ok := findWebhook(existing, board, callback); ok {
		if h.Active {
			return h, false, nil
		}
		h, err := c.SetWebhookActive(ctx, h.ID, true)
		return h, false, err
	}
	h, err := c.CreateWebhook(ctx, board, callback, description)
	if err == nil {
		return h, true, nil
	}
	we, unknown := errors.AsType[*WriteError](err)
	ae, refused := errors.AsType[*APIError](err)
	dup := refused && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, alreadyExists)
	if !(unknown && we.MayHaveReached) && !dup {
		return Webhook{}, false, err
	}
	now, lerr := c.Webhooks(ctx)
	if lerr != nil {
		return Webhook{}, false, errors.Join(err, lerr)
	}
	if h, ok := findWebhook(now, board, callback); ok {
		// Ours if the answer was lost, another process's if refused as a
		// duplicate.
		return h, unknown, nil
	}
	return Webhook{}, false, err
}

func findWebhook(hs []Webhook, model, callback string) (Webhook, bool) {
	for _, h := range hs {
		if h.IDModel == model && h.CallbackURL == callback {
			return h, true
		}
	}
	return Webhook{}, false
}

// Webhooks is what `karkas serve` needs of a trello source to take webhooks
// in: the source's client, to register them, the boards it selects, and
// the app secret, to verify deliveries.
type Webhooks struct {
	src    *Source
	secret []byte
}

// OpenWebhooks builds Webhooks from a trello source's options (as the
// registry's Kind decodes them): the key, token and base URL the source
// uses, and webhook_secret (or webhook_secret_file), which it requires.
// Every secret is read through env.Secrets, so that nothing karkas says
// shows it.
func OpenWebhooks(opts any, env connectors.Env) (*Webhooks, error) {
	o, ok := opts.(*APIOptions)
	if !ok {
		return nil, fmt.Errorf("opening %s webhooks: options are %T, want *trello.APIOptions", KindName, opts)
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
func (h *Webhooks) Client() *Client { return h.src.client }

// Verify checks a delivery's signature (see VerifyWebhook) with the app
// secret.
func (h *Webhooks) Verify(body []byte, callbackURL, header string) bool {
	return VerifyWebhook(h.secret, body, callbackURL, header)
}

// Boards returns the ids of the boards the source selects now: its boards
// option (a short link costs a request), or the token member's boards
// board_names matches, less exclude_boards. A board that cannot be read
// is left out and its error joined to the others'.
func (h *Webhooks) Boards(ctx context.Context) ([]string, error) {
	refs, err := h.refs(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	var errs []error
	for _, ref := range refs {
		id, err := h.src.client.boardID(ctx, ref)
		if err != nil {
			if connectors.StopsAll(ctx, err) {
				return out, err
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, id)
	}
	return out, errors.Join(errs...)
}

// refs are the selected boards, by id where known, else as configured.
func (h *Webhooks) refs(ctx context.Context) ([]string, error) {
	targets, err := h.src.targets(ctx, pullCursor{Boards: map[string]boardCursor{}})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(targets))
	for _, t := range targets {
		out = append(out, cmp.Or(t.id, t.ref))
	}
	return out, nil
}

// Ensure makes sure every board the source selects has a webhook posting
// to callbackFor(board id) (see EnsureWebhooks).
func (h *Webhooks) Ensure(ctx context.Context, callbackFor func(board string) string, description string) (created, kept []Webhook, err error) {
	refs, err := h.refs(ctx)
	if err != nil {
		return nil, nil, err
	}
	return h.src.client.EnsureWebhooks(ctx, refs, callbackFor, description)
}
