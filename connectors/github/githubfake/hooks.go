package githubfake

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
)

// Repository webhooks, as GitHub keeps them: GET and POST
// /repos/{owner}/{repo}/hooks list and create them, GET, PATCH and
// DELETE /repos/{owner}/{repo}/hooks/{id} read, change and remove one,
// POST .../hooks/{id}/pings pings it, GET .../hooks/{id}/deliveries lists
// its deliveries and POST .../deliveries/{delivery_id}/attempts
// redelivers one. Only the repository's admins may (World.AddAdmin; the
// owner is one); others get 404, as GitHub answers them. A new hook gets
// a ping event.
//
// A change to the world then reaches every active hook of the repository
// that subscribes to its event: issues (opened, edited, labeled,
// unlabeled, assigned, milestoned, demilestoned, closed, reopened),
// issue_comment (created, edited, deleted; on pull requests too, as
// GitHub sends them) and label (created). It is a POST from a goroutine,
// so that the change never waits for the receiver, with GitHub's headers
// (X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID,
// X-GitHub-Hook-Installation-Target-Type and -ID, User-Agent
// GitHub-Hookshot/…, and with a secret X-Hub-Signature-256 and the SHA-1
// X-Hub-Signature), and a body of GitHub's payload shape (action, the
// issue, comment or label, repository, sender), as JSON or, for
// content_type form, as payload=<JSON>.
//
// GitHub does not retry a failed delivery; it can be redelivered with the
// same X-GitHub-Delivery, which Server.Redeliver (or the attempts route)
// does. What the fake leaves out or assumes ([unverified]): pull
// requests' own events (pull_request) are not delivered, since the fake
// has no pull request JSON, so a label moved on a pull request reaches
// no hook; deliveries are not ordered; a label created as a side effect
// names the repository's owner as sender; the texts of the 422s are from
// memory; a PATCH's config is merged into the hook's, field by field.

// hookEventNames are the events a hook may subscribe to (a subset of
// GitHub's list, with the ones karkas or a test might name).
var hookEventNames = map[string]bool{}

func init() {
	for _, e := range []string{"*", "push", "issues", "issue_comment", "label", "pull_request", "pull_request_review",
		"pull_request_review_comment", "milestone", "create", "delete", "release", "repository", "status", "check_run",
		"check_suite", "workflow_run", "member", "public", "star", "watch", "fork", "discussion", "discussion_comment"} {
		hookEventNames[e] = true
	}
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/hooks", repoRoute(listHooks, false))
	routes.Add(http.MethodPost, "/repos/{owner}/{repo}/hooks", repoRoute(createHook, false))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/hooks/{id}", repoRoute(getHook, false))
	routes.Add(http.MethodPatch, "/repos/{owner}/{repo}/hooks/{id}", repoRoute(editHook, false))
	routes.Add(http.MethodDelete, "/repos/{owner}/{repo}/hooks/{id}", repoRoute(deleteHook, false))
	routes.Add(http.MethodPost, "/repos/{owner}/{repo}/hooks/{id}/pings", repoRoute(pingHook, false))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/hooks/{id}/deliveries", repoRoute(listHookDeliveries, false))
	routes.Add(http.MethodPost, "/repos/{owner}/{repo}/hooks/{id}/deliveries/{delivery}/attempts", repoRoute(redeliverRoute, false))
}

type hook struct {
	ID          int64
	repoID      int64
	active      bool
	events      []string
	url         string
	contentType string // json or form
	secret      string
	insecureSSL string
	createdAt   time.Time
	updatedAt   time.Time
	last        *delivery // the latest delivery ended, for last_response
	deliveries  []*delivery
	srv         *Server
	u           urls // the addresses of the request that made it, for payloads
}

type delivery struct {
	id         int64
	guid       string
	hook       *hook
	event      string
	action     string
	header     http.Header
	body       []byte
	redelivery bool
	at         time.Time
	// Set when it ended (under the world's lock).
	done       bool
	statusCode int
	status     string
	duration   time.Duration
}

// Hook is a repository hook as the fake's callers see it.
type Hook struct {
	ID          int64
	RepoID      int64
	URL         string
	ContentType string
	Events      []string
	Active      bool
}

func (h *hook) public() Hook {
	return Hook{ID: h.ID, RepoID: h.repoID, URL: h.url, ContentType: h.contentType, Events: slices.Clone(h.events), Active: h.active}
}

// AddAdmin makes login an admin of a repository, who may manage its
// hooks (the owner is one already).
func (w *World) AddAdmin(repoID int64, login string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.mustRepo(repoID)
	w.mustUser(login)
	if r.admins == nil {
		r.admins = map[string]bool{}
	}
	r.admins[lower(login)] = true
}

func (r *repo) isAdmin(login string) bool {
	return strings.EqualFold(login, r.Owner) || r.admins[lower(login)]
}

// Hooks returns a repository's hooks, oldest first.
func (w *World) Hooks(repoID int64) []Hook {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := w.mustRepo(repoID)
	out := make([]Hook, len(r.hooks))
	for i, h := range r.hooks {
		out[i] = h.public()
	}
	return out
}

// SetHookActive switches a hook on or off.
func (w *World) SetHookActive(repoID, hookID int64, active bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.mustRepo(repoID).hook(hookID)
	if h == nil {
		panic(fmt.Sprintf("githubfake: no hook %d", hookID))
	}
	h.active = active
}

func (r *repo) hook(id int64) *hook {
	for _, h := range r.hooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

// ---- JSON

type hookConfigJSON struct {
	ContentType string `json:"content_type"`
	InsecureSSL string `json:"insecure_ssl"`
	Secret      string `json:"secret,omitempty"`
	URL         string `json:"url"`
}

type lastResponseJSON struct {
	Code    *int    `json:"code"`
	Status  string  `json:"status"`
	Message *string `json:"message"`
}

type hookJSON struct {
	Type          string           `json:"type"`
	ID            int64            `json:"id"`
	Name          string           `json:"name"`
	Active        bool             `json:"active"`
	Events        []string         `json:"events"`
	Config        hookConfigJSON   `json:"config"`
	UpdatedAt     ts               `json:"updated_at"`
	CreatedAt     ts               `json:"created_at"`
	URL           string           `json:"url"`
	TestURL       string           `json:"test_url"`
	PingURL       string           `json:"ping_url"`
	DeliveriesURL string           `json:"deliveries_url"`
	LastResponse  lastResponseJSON `json:"last_response"`
}

// hookJSON renders a hook; GitHub never shows its secret, only that it
// has one.
func (h *hook) json(u urls, r *repo) hookJSON {
	base := u.repo(r.FullName()) + "/hooks/" + strconv.FormatInt(h.ID, 10)
	out := hookJSON{
		Type: "Repository", ID: h.ID, Name: "web", Active: h.active, Events: slices.Clone(h.events),
		Config:    hookConfigJSON{ContentType: h.contentType, InsecureSSL: h.insecureSSL, URL: h.url},
		UpdatedAt: ts{h.updatedAt}, CreatedAt: ts{h.createdAt},
		URL: base, TestURL: base + "/test", PingURL: base + "/pings", DeliveriesURL: base + "/deliveries",
		LastResponse: lastResponseJSON{Status: "unused"},
	}
	if h.secret != "" {
		out.Config.Secret = "********"
	}
	if d := h.last; d != nil {
		code, msg := d.statusCode, d.status
		out.LastResponse = lastResponseJSON{Code: &code, Status: "active", Message: &msg}
		if !d.ok() {
			out.LastResponse.Status = "failed"
		}
	}
	return out
}

func (d *delivery) ok() bool { return d.statusCode >= 200 && d.statusCode < 300 }

type hookDeliveryJSON struct {
	ID             int64   `json:"id"`
	GUID           string  `json:"guid"`
	DeliveredAt    ts      `json:"delivered_at"`
	Redelivery     bool    `json:"redelivery"`
	Duration       float64 `json:"duration"`
	Status         string  `json:"status"`
	StatusCode     int     `json:"status_code"`
	Event          string  `json:"event"`
	Action         *string `json:"action"`
	InstallationID *int64  `json:"installation_id"`
	RepositoryID   int64   `json:"repository_id"`
	ThrottledAt    *ts     `json:"throttled_at"`
}

func (d *delivery) json() hookDeliveryJSON {
	out := hookDeliveryJSON{ID: d.id, GUID: d.guid, DeliveredAt: ts{d.at}, Redelivery: d.redelivery, Duration: d.duration.Seconds(),
		Status: d.status, StatusCode: d.statusCode, Event: d.event, RepositoryID: d.hook.repoID}
	if !d.done {
		out.Status = "pending"
	}
	if d.action != "" {
		out.Action = &d.action
	}
	return out
}

// ---- routes

func hookValidation(msg string) reply {
	return jsonReply(http.StatusUnprocessableEntity, struct {
		Message          string `json:"message"`
		Errors           []any  `json:"errors"`
		DocumentationURL string `json:"documentation_url"`
		Status           string `json:"status"`
	}{"Validation Failed", []any{map[string]string{"resource": "Hook", "code": "custom", "message": msg}},
		"https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook", "422"})
}

type hookRequest struct {
	Name         *string         `json:"name"`
	Config       *hookConfigJSON `json:"config"`
	Events       *[]string       `json:"events"`
	AddEvents    []string        `json:"add_events"`
	RemoveEvents []string        `json:"remove_events"`
	Active       *bool           `json:"active"`
}

func (c *call) admin(r *repo) bool { return r.isAdmin(c.login) }

func listHooks(c *call, r *repo, _ []string) reply {
	if !c.admin(r) {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	perPage, page, bad := c.pageParams()
	if bad != "" {
		return validation(bad)
	}
	items, h := paged(c, r.hooks, perPage, page)
	out := make([]hookJSON, len(items))
	for i, hk := range items {
		out[i] = hk.json(c.u, r)
	}
	rep := jsonReply(http.StatusOK, out)
	rep.header = h
	return rep
}

func checkEvents(events []string) (string, bool) {
	for _, e := range events {
		if !hookEventNames[e] {
			return e, false
		}
	}
	return "", true
}

func checkHookURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// createHook makes a hook (name web, events push and content_type form
// unless told, as GitHub defaults them) and pings it.
func createHook(c *call, r *repo, _ []string) reply {
	if !c.admin(r) {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	var req hookRequest
	if !c.decode(&req) {
		return problemsParsing()
	}
	if req.Name != nil && *req.Name != "web" {
		return hookValidation("Name must be web") // [unverified] text
	}
	if req.Config == nil || !checkHookURL(req.Config.URL) {
		return hookValidation("Config must contain a valid url") // [unverified] text
	}
	ct := cmp.Or(req.Config.ContentType, "form")
	if ct != "json" && ct != "form" {
		return hookValidation("Config content_type must be json or form")
	}
	events := []string{"push"}
	// Stored sorted and without repeats [unverified: the order GitHub
	// answers them in].
	if req.Events != nil {
		events = slices.Compact(slices.Sorted(slices.Values(*req.Events)))
	}
	if e, ok := checkEvents(events); !ok {
		return hookValidation(fmt.Sprintf("Events %q is not a valid event", e))
	}
	for _, h := range r.hooks {
		if h.url == req.Config.URL {
			return hookValidation("Hook already exists on this repository")
		}
	}
	w := c.s.world
	now := w.now()
	h := &hook{ID: w.id(), repoID: r.ID, active: req.Active == nil || *req.Active, events: events, url: req.Config.URL,
		contentType: ct, secret: req.Config.Secret, insecureSSL: cmp.Or(req.Config.InsecureSSL, "0"), createdAt: now, updatedAt: now,
		srv: c.s, u: c.u}
	r.hooks = append(r.hooks, h)
	w.ping(r, h, c.login)
	rep := jsonReply(http.StatusCreated, h.json(c.u, r))
	rep.location = c.u.repo(r.FullName()) + "/hooks/" + strconv.FormatInt(h.ID, 10)
	return rep
}

func (c *call) findHook(r *repo, id string) (*hook, *reply) {
	if !c.admin(r) {
		rep := errReply(http.StatusNotFound, msgNotFound, "")
		return nil, &rep
	}
	n, err := strconv.ParseInt(id, 10, 64)
	h := r.hook(n)
	if err != nil || h == nil {
		rep := errReply(http.StatusNotFound, msgNotFound, "")
		return nil, &rep
	}
	return h, nil
}

func getHook(c *call, r *repo, p []string) reply {
	h, e := c.findHook(r, p[0])
	if e != nil {
		return *e
	}
	return jsonReply(http.StatusOK, h.json(c.u, r))
}

func editHook(c *call, r *repo, p []string) reply {
	h, e := c.findHook(r, p[0])
	if e != nil {
		return *e
	}
	var req hookRequest
	if !c.decode(&req) {
		return problemsParsing()
	}
	events := slices.Clone(h.events)
	if req.Events != nil {
		events = slices.Clone(*req.Events)
	}
	events = append(events, req.AddEvents...)
	events = slices.DeleteFunc(events, func(e string) bool { return slices.Contains(req.RemoveEvents, e) })
	events = slices.Compact(slices.Sorted(slices.Values(events)))
	if e, ok := checkEvents(events); !ok {
		return hookValidation(fmt.Sprintf("Events %q is not a valid event", e))
	}
	if cf := req.Config; cf != nil {
		if cf.URL != "" && !checkHookURL(cf.URL) {
			return hookValidation("Config must contain a valid url")
		}
		if cf.ContentType != "" && cf.ContentType != "json" && cf.ContentType != "form" {
			return hookValidation("Config content_type must be json or form")
		}
		h.url = cmp.Or(cf.URL, h.url)
		h.contentType = cmp.Or(cf.ContentType, h.contentType)
		h.insecureSSL = cmp.Or(cf.InsecureSSL, h.insecureSSL)
		h.secret = cmp.Or(cf.Secret, h.secret)
	}
	h.events = events
	if req.Active != nil {
		h.active = *req.Active
	}
	h.updatedAt = c.s.world.now()
	return jsonReply(http.StatusOK, h.json(c.u, r))
}

func deleteHook(c *call, r *repo, p []string) reply {
	h, e := c.findHook(r, p[0])
	if e != nil {
		return *e
	}
	r.hooks = slices.DeleteFunc(r.hooks, func(x *hook) bool { return x == h })
	return reply{status: http.StatusNoContent}
}

func pingHook(c *call, r *repo, p []string) reply {
	h, e := c.findHook(r, p[0])
	if e != nil {
		return *e
	}
	c.s.world.ping(r, h, c.login)
	return reply{status: http.StatusNoContent}
}

// listHookDeliveries lists a hook's deliveries, newest first (GitHub's
// cursor paging is left out: every delivery is on one page).
func listHookDeliveries(c *call, r *repo, p []string) reply {
	h, e := c.findHook(r, p[0])
	if e != nil {
		return *e
	}
	out := make([]hookDeliveryJSON, 0, len(h.deliveries))
	for i := len(h.deliveries) - 1; i >= 0; i-- {
		out = append(out, h.deliveries[i].json())
	}
	return jsonReply(http.StatusOK, out)
}

// redeliverRoute redelivers one delivery, named by its numeric id, and
// answers 202 Accepted, as GitHub does.
func redeliverRoute(c *call, r *repo, p []string) reply {
	h, e := c.findHook(r, p[0])
	if e != nil {
		return *e
	}
	n, _ := strconv.ParseInt(p[1], 10, 64)
	for _, d := range h.deliveries {
		if d.id == n {
			c.s.world.redeliver(d)
			return reply{status: http.StatusAccepted, body: []byte("{}")}
		}
	}
	return errReply(http.StatusNotFound, msgNotFound, "")
}

// ---- deliveries

// ping sends a hook GitHub's ping event, whatever its events.
func (w *World) ping(r *repo, h *hook, sender string) {
	payload := map[string]any{
		"zen":        "Keep it logically awesome.",
		"hook_id":    h.ID,
		"hook":       h.json(h.u, r),
		"repository": w.payloadRepo(h.u, r),
		"sender":     h.u.user(w.users[lower(sender)]),
	}
	w.send(r, h, "ping", "", payload)
}

// deliver sends event to every active hook of r subscribed to it; build
// makes the payload (without repository and sender) in a hook's
// addresses. Callers hold w.mu for writing: the payload shows the world
// as the change left it.
func (w *World) deliver(r *repo, event, action, sender string, build func(u urls) map[string]any) {
	for _, h := range r.hooks {
		if !h.active || h.srv == nil || !(slices.Contains(h.events, event) || slices.Contains(h.events, "*")) {
			continue
		}
		payload := build(h.u)
		if action != "" {
			payload["action"] = action
		}
		payload["repository"] = w.payloadRepo(h.u, r)
		payload["sender"] = h.u.user(w.users[lower(sender)])
		w.send(r, h, event, action, payload)
	}
}

func (w *World) payloadRepo(u urls, r *repo) repoJSON {
	j := w.repoJSON(u, r, "")
	j.Permissions = nil
	return j
}

// issueEvent delivers an issues event about is; pull requests have their
// own event, which the fake does not send.
func (w *World) issueEvent(r *repo, is *Issue, action, sender string, extra func(u urls) map[string]any) {
	if is.PullRequest || len(r.hooks) == 0 {
		return
	}
	w.deliver(r, "issues", action, sender, func(u urls) map[string]any {
		p := map[string]any{"issue": w.issueJSON(u, r, is, false)}
		if extra != nil {
			for k, v := range extra(u) {
				p[k] = v
			}
		}
		return p
	})
}

func (w *World) commentEvent(r *repo, c *Comment, action, sender string, changes map[string]any) {
	if len(r.hooks) == 0 {
		return
	}
	is := r.issues[c.IssueNumber-1]
	w.deliver(r, "issue_comment", action, sender, func(u urls) map[string]any {
		p := map[string]any{"issue": w.issueJSON(u, r, is, false), "comment": w.commentJSON(u, r, c)}
		if changes != nil {
			p["changes"] = changes
		}
		return p
	})
}

func (w *World) labelEvent(r *repo, l *Label, action string) {
	if len(r.hooks) == 0 {
		return
	}
	w.deliver(r, "label", action, r.Owner, func(u urls) map[string]any {
		return map[string]any{"label": u.label(r, l)}
	})
}

// send signs and hands one delivery to the hook's server, recording it
// for the deliveries route and Redeliver.
func (w *World) send(r *repo, h *hook, event, action string, payload map[string]any) {
	b, err := json.Marshal(payload)
	if err != nil {
		panic("githubfake: encoding a webhook payload: " + err.Error())
	}
	d := &delivery{id: w.id(), guid: newGUID(), hook: h, event: event, action: action, at: w.now()}
	d.body, d.header = b, http.Header{}
	ct := "application/json"
	if h.contentType == "form" {
		d.body = []byte(url.Values{"payload": {string(b)}}.Encode())
		ct = "application/x-www-form-urlencoded"
	}
	d.header.Set("Content-Type", ct)
	d.header.Set("User-Agent", "GitHub-Hookshot/f4k3f4k")
	d.header.Set("X-GitHub-Event", event)
	d.header.Set("X-GitHub-Delivery", d.guid)
	d.header.Set("X-GitHub-Hook-ID", strconv.FormatInt(h.ID, 10))
	d.header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	d.header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(r.ID, 10))
	if h.secret != "" {
		d.header.Set("X-Hub-Signature", "sha1="+hexMAC(sha1.New, h.secret, d.body))
		d.header.Set("X-Hub-Signature-256", "sha256="+hexMAC(sha256.New, h.secret, d.body))
	}
	w.start(d)
}

// redeliver sends d again: the same body and X-GitHub-Delivery, a new
// delivery id, marked as a redelivery. Callers hold w.mu for writing.
func (w *World) redeliver(d *delivery) {
	n := &delivery{id: w.id(), guid: d.guid, hook: d.hook, event: d.event, action: d.action, header: d.header.Clone(), body: d.body,
		redelivery: true, at: w.now()}
	w.start(n)
}

func (w *World) start(d *delivery) {
	h := d.hook
	h.deliveries = append(h.deliveries, d)
	h.srv.hooks.Send(fakeapi.Delivery{Hook: strconv.FormatInt(h.ID, 10), Event: d.event, ID: d.guid, URL: h.url, Header: d.header.Clone(), Body: d.body,
		Done: func(a fakeapi.Attempt) {
			w.mu.Lock()
			defer w.mu.Unlock()
			d.done, d.statusCode, d.duration = true, a.Status, a.Duration
			switch {
			case a.OK():
				d.status = "OK"
			case a.Status != 0:
				d.status = "Invalid HTTP Response: " + strconv.Itoa(a.Status)
			default:
				d.status = "We couldn't deliver this payload: " + a.Err
			}
			h.last = d
		}})
}

func hexMAC(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// newGUID is a random version 4 UUID, as X-GitHub-Delivery is.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ---- the server's side

// Deliveries returns the log of delivery attempts, in the order they
// ended.
func (s *Server) Deliveries() []fakeapi.Attempt { return s.hooks.Attempts() }

// WaitDeliveries blocks until no delivery is under way or ctx ends.
// Deliveries start within the change that causes them, so after a
// mutator returns, WaitDeliveries covers its deliveries.
func (s *Server) WaitDeliveries(ctx context.Context) error { return s.hooks.Wait(ctx) }

// PendingDeliveries is how many deliveries are under way.
func (s *Server) PendingDeliveries() int { return s.hooks.Pending() }

// Redeliver sends the delivery with X-GitHub-Delivery guid again, as
// GitHub's "Redeliver" does: the same body and headers, the same guid.
func (s *Server) Redeliver(guid string) error {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.repos {
		for _, h := range r.hooks {
			for _, d := range h.deliveries {
				if d.guid == guid && h.srv == s {
					w.redeliver(d)
					return nil
				}
			}
		}
	}
	return errors.New("githubfake: no delivery " + guid)
}
