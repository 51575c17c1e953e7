package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/mapping"
)

// MaxWebhookBody bounds what a webhook request may send. Trello's and
// GitHub's deliveries about a card or an issue are a few kilobytes (an
// issue's body is at most 65,536 characters); a larger request is refused
// unread past the bound, and the periodic pull catches whatever it was
// about.
const MaxWebhookBody = 1 << 20

// hookSource is a source that takes webhooks: its kind's handle, which
// verifies deliveries and registers hooks.
type hookSource struct {
	src    mapping.Source
	trello *trello.Webhooks
	github *github.Webhooks
}

// openHooks opens the webhook handles of the sources that take webhooks.
// One without a webhook_secret cannot verify a delivery: its webhook
// route answers 404 and its scheduled pulls carry on.
func (s *Service) openHooks() (map[string]*hookSource, error) {
	hooks, problems := openHooks(s.app, s.log)
	for id, err := range problems {
		s.log.Warn("webhooks off for this source; its scheduled pulls go on", "source", id, "reason", err.Error())
	}
	if len(hooks) > 0 && s.opts.PublicURL == "" {
		// Trello signs the callback URL: without it nothing verifies.
		s.log.Warn("serve.public_url is not set: Trello deliveries cannot be verified and are refused; set it to the URL the services reach karkas at")
	}
	return hooks, nil
}

// CallbackURL is the URL a service posts a source's webhooks to:
// public_url + /webhooks/{kind}/{source id}. Trello signs it with each
// delivery, so it is built the same way here and at registration.
func CallbackURL(publicURL, kind, sourceID string) string {
	return strings.TrimRight(publicURL, "/") + "/webhooks/" + kind + "/" + sourceID
}

// trelloHead answers Trello's check of a callback URL when a webhook is
// created.
func (s *Service) trelloHead(w http.ResponseWriter, r *http.Request) {
	if h := s.hooks[r.PathValue("source")]; h == nil || h.trello == nil {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// readBody reads a webhook's body up to MaxWebhookBody; a larger one is
// refused (413) without being read whole.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > MaxWebhookBody {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// trelloPost takes a Trello delivery: verified against the app secret and
// the exact callback URL, it queues a pull of its board and answers at
// once.
func (s *Service) trelloPost(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("source")
	h := s.hooks[id]
	if h == nil || h.trello == nil {
		s.metrics.webhooks.WithLabelValues("trello", "rejected").Inc()
		http.NotFound(w, r)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		s.metrics.webhooks.WithLabelValues("trello", "rejected").Inc()
		return
	}
	if !h.trello.Verify(body, CallbackURL(s.opts.PublicURL, "trello", id), r.Header.Get(trello.WebhookHeader)) {
		s.metrics.webhooks.WithLabelValues("trello", "rejected").Inc()
		s.log.Warn("trello webhook refused: bad signature", "source", id, "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	ev, err := trello.ParseWebhook(body)
	if err != nil {
		s.metrics.webhooks.WithLabelValues("trello", "rejected").Inc()
		http.Error(w, "not a webhook delivery", http.StatusBadRequest)
		return
	}
	board := ev.BoardID
	if ev.ModelType == "board" || board == "" {
		board = ev.ModelID
	}
	s.accept(w, r.Context(), "trello", id, deliveryKey("trello", id, ev.ActionID), SyncContainerArgs{Source: id, Container: board})
}

// githubPost takes a GitHub delivery: verified (X-Hub-Signature-256), a
// ping answered, a redelivery (a X-GitHub-Delivery seen before) a no-op,
// an issue, comment or label event a pull of its repository.
func (s *Service) githubPost(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("source")
	h := s.hooks[id]
	if h == nil || h.github == nil {
		s.metrics.webhooks.WithLabelValues("github", "rejected").Inc()
		http.NotFound(w, r)
		return
	}
	if r.ContentLength > MaxWebhookBody {
		s.metrics.webhooks.WithLabelValues("github", "rejected").Inc()
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxWebhookBody)
	ev, err := h.github.Parse(r)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		s.metrics.webhooks.WithLabelValues("github", "rejected").Inc()
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, github.ErrSignature):
		s.metrics.webhooks.WithLabelValues("github", "rejected").Inc()
		s.log.Warn("github webhook refused: bad signature", "source", id, "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	case err != nil:
		s.metrics.webhooks.WithLabelValues("github", "rejected").Inc()
		http.Error(w, "not a webhook delivery", http.StatusBadRequest)
		return
	}
	if ev.Ping || !ev.Relevant || ev.Repo == "" {
		s.metrics.webhooks.WithLabelValues("github", "ignored").Inc()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "queued": false})
		return
	}
	s.accept(w, r.Context(), "github", id, deliveryKey("github", id, ev.DeliveryID), SyncContainerArgs{Source: id, Container: ev.Repo})
}

// deliveryKey is what makes a delivery a redelivery: its id for the same
// source. Trello's is the action's id, which it sends to every webhook on
// the board, so two sources watching one board (two accounts whose boards
// overlap) each get it and must each pull.
func deliveryKey(service, source, id string) string {
	return service + ":" + source + ":" + id
}

// accept queues a verified delivery's pull once: a delivery whose key was
// seen before (a redelivery, a retry) is answered and queues nothing. The
// key is recorded after the pull is queued, so that a failure between
// costs at most a second, harmless pull.
func (s *Service) accept(w http.ResponseWriter, ctx context.Context, service, source, key string, args SyncContainerArgs) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	seen, err := s.app.Store.DeliverySeen(ctx, key)
	if err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if seen {
		s.metrics.webhooks.WithLabelValues(service, "duplicate").Inc()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "queued": false, "duplicate": true})
		return
	}
	if err := s.enqueue(ctx, args); err != nil {
		s.log.Error("webhook not queued", "source", source, "error", err.Error())
		http.Error(w, "not queued", http.StatusServiceUnavailable)
		return
	}
	if _, err := s.app.Store.RememberDelivery(ctx, key, source, time.Now()); err != nil {
		s.log.Warn("webhook delivery not remembered; a redelivery would pull again", "source", source, "error", err.Error())
	}
	s.metrics.webhooks.WithLabelValues(service, "accepted").Inc()
	writeJSON(w, http.StatusAccepted, map[string]any{"ok": true, "queued": true})
}

// source is the configured source id names.
func (s *Service) source(id string) (mapping.Source, bool) {
	for _, src := range s.app.Loaded.Sources {
		if src.ID == id {
			return src, true
		}
	}
	return mapping.Source{}, false
}

// errNoPublicURL says what webhooks register needs.
var errNoPublicURL = fmt.Errorf("serve.public_url is not set: Trello and GitHub need the URL at which they reach karkas serve")
