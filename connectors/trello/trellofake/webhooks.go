package trellofake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
)

// Webhooks, as Trello keeps them: POST /1/webhooks (and POST
// /1/tokens/{token}/webhooks) creates one on a board, card or list after
// a HEAD request to its callback URL got 200; GET /1/tokens/{token}/webhooks
// lists the token's; GET, PUT (active, description, callbackURL) and
// DELETE /1/webhooks/{id} read, change and remove one. Every action
// recorded on a watched model is then delivered to each active webhook
// on it: a POST of {"action": …, "model": …} signed in X-Trello-Webhook
// with the server's WebhookSecret, from a goroutine, so that the change
// never waits for the receiver.
//
// What the fake assumes where Trello documents nothing ([unverified]):
// a delivery the receiver does not answer 2xx is retried
// Options.WebhookRetries times, the first after WebhookRetryDelay and
// doubling (api-facts quotes third parties saying Trello retries three
// times at 30, 60 and 120 s; the defaults here are short so that tests
// stay fast); a run of failed deliveries counts in consecutiveFailures
// and firstConsecutiveFailDate, and a taken one resets them; the fake
// never switches a failing webhook off by itself (World.SetWebhookActive
// does what Trello's own auto-disabling would); deliveries are not
// ordered; editing or deleting a comment, which records no action a
// sync reads, is delivered as an updateComment or deleteComment action.

// DefaultWebhookSecret is the app secret of a server whose options name
// none: 64 hex digits, as Trello's are.
const DefaultWebhookSecret = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e70001"

// Trello's answers to a refused webhook: the text of a duplicate (quoted
// by several clients that treat it as success) [3p]; the JSON of a
// callback whose HEAD did not get 200 (as one client's test quotes it)
// [3p]; the rest [unverified].
const (
	msgWebhookExists  = "A webhook with that callback, model, and token already exists"
	codeValidatorURL  = "VALIDATOR_URL_RETURNED_ERROR"
	maxWebhookDescLen = 16384
)

func init() {
	addRoute("POST", "webhooks", (*call).postWebhook)
	addRoute("POST", "tokens/{token}/webhooks", (*call).postTokenWebhook)
	addRoute("GET", "tokens/{token}/webhooks", (*call).getTokenWebhooks)
	addRoute("GET", "webhooks/{id}", (*call).getWebhook)
	addRoute("PUT", "webhooks/{id}", (*call).putWebhook)
	addRoute("DELETE", "webhooks/{id}", (*call).deleteWebhook)
}

type webhook struct {
	id, description, idModel, callbackURL string
	token                                 string
	active                                bool
	failures                              int
	firstFail                             time.Time
	srv                                   *Server // delivers it, with its secret
}

// Webhook is a webhook the world holds, as its callers see it.
type Webhook struct {
	ID, Description, IDModel, CallbackURL string
	Active                                bool
	ConsecutiveFailures                   int
}

func (h *webhook) public() Webhook {
	return Webhook{ID: h.id, Description: h.description, IDModel: h.idModel, CallbackURL: h.callbackURL, Active: h.active, ConsecutiveFailures: h.failures}
}

func (h *webhook) render() obj {
	return obj{
		{"id", h.id},
		{"description", h.description},
		{"idModel", h.idModel},
		{"callbackURL", h.callbackURL},
		{"active", h.active},
		{"consecutiveFailures", h.failures},
		{"firstConsecutiveFailDate", timeOrNull(h.firstFail)},
	}
}

// Webhooks returns every webhook, by id.
func (w *World) Webhooks() []Webhook {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Webhook, 0, len(w.webhooks))
	for _, h := range w.sortedWebhooks() {
		out = append(out, h.public())
	}
	return out
}

// SetWebhookActive switches a webhook on or off, as its owner can, and
// as Trello does to one that kept failing.
func (w *World) SetWebhookActive(id string, active bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.webhooks[id]
	if !ok {
		panic("trellofake: unknown webhook " + id)
	}
	h.active = active
}

func (w *World) sortedWebhooks() []*webhook {
	out := make([]*webhook, 0, len(w.webhooks))
	for _, h := range w.webhooks {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// ---- routes

func (c *call) postWebhook(_ []string) reply { return c.createWebhook() }

// postTokenWebhook is the token route's create; the token in the path
// must be the request's.
func (c *call) postTokenWebhook(p []string) reply {
	if p[0] != c.tok {
		return textReply(http.StatusUnauthorized, msgInvalidToken)
	}
	return c.createWebhook()
}

// createWebhook checks the parameters, then the callback (without the
// world's lock: the receiver may call the fake while it answers), then
// creates the webhook unless another request made the same one meanwhile.
func (c *call) createWebhook() reply {
	idModel, callback, desc := c.q.Get("idModel"), c.q.Get("callbackURL"), c.q.Get("description")
	if e := c.read(func() reply { return c.checkWebhook(idModel, callback, desc, "") }); e.status != 0 {
		return e
	}
	if e := c.headCheck(callback); e.status != 0 {
		return e
	}
	return c.write(func() reply {
		if e := c.checkWebhook(idModel, callback, desc, ""); e.status != 0 {
			return e
		}
		w := c.world()
		h := &webhook{id: w.ids.next(w.clock.Now()), description: desc, idModel: idModel, callbackURL: callback, token: c.tok,
			active: c.q.Get("active") != "false", srv: c.s}
		w.webhooks[h.id] = h
		return jsonReply(h.render())
	})
}

// checkWebhook validates a webhook's fields (Trello: idModel 24 hex
// digits, description up to 16384 characters, a URL reachable by HEAD and
// POST) and refuses a duplicate of the token's other than except. The
// texts but the duplicate's are [unverified]. The zero reply means fine.
func (c *call) checkWebhook(idModel, callback, desc, except string) reply {
	w := c.world()
	if !IsObjectID(idModel) {
		return *invalidValue("idModel")
	}
	var b *board
	switch {
	case w.boards[idModel] != nil:
		b = w.boards[idModel]
	case w.cards[idModel] != nil:
		b = w.cards[idModel].board
	case w.lists[idModel] != nil:
		b = w.lists[idModel].board
	}
	if b == nil || b.deleted {
		return *invalidValue("idModel")
	}
	if !b.canSee(c.me) {
		return textReply(http.StatusUnauthorized, msgNoPermission)
	}
	if u, err := url.Parse(callback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return *invalidValue("callbackURL")
	}
	if len(desc) > maxWebhookDescLen {
		return *invalidValue("description")
	}
	for _, h := range w.webhooks {
		if h.id != except && h.token == c.tok && h.idModel == idModel && h.callbackURL == callback {
			return textReply(http.StatusBadRequest, msgWebhookExists)
		}
	}
	return reply{}
}

// headCheck sends the HEAD request Trello sends to a new callback and
// answers the 400 Trello does unless it gets 200.
func (c *call) headCheck(callback string) reply {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	got := "no answer"
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, callback, nil)
	if err == nil {
		var resp *http.Response
		resp, err = c.s.hooks.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return reply{}
			}
			got = fmt.Sprint(resp.StatusCode)
		}
	}
	body, _ := marshal(obj{
		{"message", "URL (" + callback + ") did not return 200 status code, got " + got},
		{"error", codeValidatorURL},
	})
	return reply{status: http.StatusBadRequest, body: body}
}

func (c *call) getTokenWebhooks(p []string) reply {
	if p[0] != c.tok {
		return textReply(http.StatusUnauthorized, msgInvalidToken)
	}
	return c.read(func() reply {
		out := []obj{}
		for _, h := range c.world().sortedWebhooks() {
			if h.token == c.tok {
				out = append(out, h.render())
			}
		}
		return jsonReply(out)
	})
}

// findWebhook finds one of the token's webhooks: malformed 400, unknown
// 404, another token's 401 [unverified].
func (c *call) findWebhook(id string) (*webhook, errReply) {
	if !IsObjectID(id) {
		return nil, fail(http.StatusBadRequest, msgInvalidID)
	}
	h, ok := c.world().webhooks[id]
	if !ok {
		return nil, fail(http.StatusNotFound, msgNotFound)
	}
	if h.token != c.tok {
		return nil, fail(http.StatusUnauthorized, msgNoPermission)
	}
	return h, nil
}

func (c *call) getWebhook(p []string) reply {
	return c.read(func() reply {
		h, e := c.findWebhook(p[0])
		if e != nil {
			return *e
		}
		return jsonReply(h.render())
	})
}

// putWebhook changes active, description or callbackURL; a new callback
// is checked with a HEAD request as at creation.
func (c *call) putWebhook(p []string) reply {
	var callback string
	rep := c.read(func() reply {
		h, e := c.findWebhook(p[0])
		if e != nil {
			return *e
		}
		callback = h.callbackURL
		if v, ok := c.q["callbackURL"]; ok && v[0] != h.callbackURL {
			callback = v[0]
			return c.checkWebhook(h.idModel, callback, h.description, h.id)
		}
		return reply{}
	})
	if rep.status != 0 {
		return rep
	}
	if _, ok := c.q["callbackURL"]; ok {
		if e := c.headCheck(callback); e.status != 0 {
			return e
		}
	}
	return c.write(func() reply {
		h, e := c.findWebhook(p[0])
		if e != nil {
			return *e
		}
		if v, ok := c.q["active"]; ok {
			switch v[0] {
			case "true":
				h.active = true
			case "false":
				h.active = false
			default:
				return *invalidValue("active")
			}
		}
		if v, ok := c.q["description"]; ok {
			if len(v[0]) > maxWebhookDescLen {
				return *invalidValue("description")
			}
			h.description = v[0]
		}
		h.callbackURL = callback
		return jsonReply(h.render())
	})
}

func (c *call) deleteWebhook(p []string) reply {
	return c.write(func() reply {
		h, e := c.findWebhook(p[0])
		if e != nil {
			return *e
		}
		delete(c.world().webhooks, h.id)
		return jsonReply(obj{{"_value", nil}})
	})
}

// ---- deliveries

// deliver sends a to every active webhook on its board, card or list.
// Callers hold w.mu; the body is rendered now, so that a delivery shows
// the world as the change left it.
func (w *World) deliver(a *action) {
	if len(w.webhooks) == 0 {
		return
	}
	lists := map[string]bool{}
	for _, k := range []string{"list", "listBefore", "listAfter"} {
		if v, ok := a.data.get(k); ok {
			if o, ok := v.(obj); ok {
				if id, ok := o.get("id"); ok {
					lists[fmt.Sprint(id)] = true
				}
			}
		}
	}
	for _, h := range w.sortedWebhooks() {
		if !h.active || h.srv == nil {
			continue
		}
		var model obj
		switch {
		case h.idModel == a.board.id:
			model = a.board.render().pick(boardDefaultFields)
		case a.card != nil && h.idModel == a.card.id:
			model = a.card.render()
		case lists[h.idModel] && w.lists[h.idModel] != nil:
			model = w.lists[h.idModel].render()
		default:
			continue
		}
		body, err := marshal(obj{{"action", a.render(true)}, {"model", model}})
		if err != nil {
			panic("trellofake: encoding a webhook delivery: " + err.Error())
		}
		h.srv.send(h, a.typ, body)
	}
}

// send hands one delivery to the server's sender.
func (s *Server) send(h *webhook, event string, body []byte) {
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("X-Trello-Webhook", sign([]byte(s.webhookSecret), body, h.callbackURL))
	id, w := h.id, s.world
	s.hooks.Send(fakeapi.Delivery{Hook: id, Event: event, URL: h.callbackURL, Header: header, Body: body,
		Done: func(a fakeapi.Attempt) {
			w.mu.Lock()
			defer w.mu.Unlock()
			h, ok := w.webhooks[id]
			switch {
			case !ok:
			case a.OK():
				h.failures, h.firstFail = 0, time.Time{}
			default:
				if h.failures == 0 {
					h.firstFail = w.clock.Now() // the world's time, as every date it shows
				}
				h.failures++
			}
		}})
}

// sign is base64(HMAC-SHA1(secret, body + callbackURL)), what Trello
// sends in X-Trello-Webhook.
func sign(secret, body []byte, callbackURL string) string {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	m.Write([]byte(callbackURL))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// commentChanged delivers the edit or deletion of a comment: Trello
// records no action a sync reads, but tells webhooks with an
// updateComment or deleteComment action naming the comment's action
// [unverified: the types and data are as third-party webhook handlers
// read them].
func (w *World) commentChanged(at time.Time, a *action, typ, oldText string) {
	if len(w.webhooks) == 0 {
		return
	}
	ref := obj{{"id", a.id}}
	data := obj{}
	if typ == "updateComment" {
		text, _ := a.data.get("text")
		ref = append(ref, field{"text", text})
		data = append(data, field{"old", obj{{"text", oldText}}})
	}
	data = append(data, field{"action", ref})
	for _, k := range []string{"card", "board", "list"} {
		if v, ok := a.data.get(k); ok {
			data = append(data, field{k, v})
		}
	}
	n := &action{id: w.ids.next(at), typ: typ, creator: a.creator, date: at.UTC().Truncate(time.Millisecond), data: data, board: a.board, card: a.card}
	w.deliver(n)
}

// Deliveries returns the log of delivery attempts, in the order they
// ended.
func (s *Server) Deliveries() []fakeapi.Attempt { return s.hooks.Attempts() }

// WaitDeliveries blocks until no delivery is under way, its retries
// included, or ctx ends. Deliveries start within the change that causes
// them, so after a mutator returns, WaitDeliveries covers its deliveries.
func (s *Server) WaitDeliveries(ctx context.Context) error { return s.hooks.Wait(ctx) }

// PendingDeliveries is how many deliveries are under way.
func (s *Server) PendingDeliveries() int { return s.hooks.Pending() }

// WebhookSecret is the app secret deliveries are signed with.
func (s *Server) WebhookSecret() string { return s.webhookSecret }
