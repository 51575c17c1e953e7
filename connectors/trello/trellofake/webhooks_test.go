package trellofake_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
)

// receiver is a webhook endpoint that records what it gets and answers
// HEAD and POST with the statuses set (200 by default).
type receiver struct {
	*httptest.Server
	head, post atomic.Int32 // statuses; 0 is 200
	mu         sync.Mutex
	got        []received
}

type received struct {
	method string
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{method: r.Method, header: r.Header.Clone(), body: b})
		rc.mu.Unlock()
		status := rc.post.Load()
		if r.Method == http.MethodHead {
			status = rc.head.Load()
		}
		if status != 0 {
			w.WriteHeader(int(status))
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests(method string) []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, g := range rc.got {
		if g.method == method {
			out = append(out, g)
		}
	}
	return out
}

func wait(t *testing.T, s *trellofake.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatalf("deliveries still under way: %v", err)
	}
}

func (f *fixture) createWebhook(t *testing.T, idModel, callback string) response {
	t.Helper()
	return f.send(t, http.MethodPost, "/webhooks", url.Values{"idModel": {idModel}, "callbackURL": {callback}, "description": {"karkas"}})
}

// A created webhook answers with Trello's fields and a 24-hex id, after
// a HEAD request reached the callback; the token's listing has exactly
// those fields.
func TestWebhookCreateAndList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	rc := newReceiver(t)
	cb := rc.URL + "/hooks/trello?board=" + f.board.ID
	r := f.createWebhook(t, f.board.ID, cb)
	var h map[string]any
	r.decode(t, &h)
	id, _ := h["id"].(string)
	if !trellofake.IsObjectID(id) {
		t.Errorf("id %q is not 24 hex digits", id)
	}
	if h["idModel"] != f.board.ID || h["callbackURL"] != cb || h["description"] != "karkas" || h["active"] != true {
		t.Errorf("created webhook %s", r.body)
	}
	if n := len(rc.requests(http.MethodHead)); n != 1 {
		t.Errorf("callback got %d HEAD requests, want 1", n)
	}
	var list []map[string]any
	f.get(t, "/tokens/"+f.s.Token()+"/webhooks", nil).decode(t, &list)
	if len(list) != 1 {
		t.Fatalf("listed %d webhooks, want 1", len(list))
	}
	var keys []string
	for k := range list[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"active", "callbackURL", "consecutiveFailures", "description", "firstConsecutiveFailDate", "id", "idModel"}
	if !slices.Equal(keys, want) {
		t.Errorf("listed fields %v, want %v", keys, want)
	}
	if list[0]["firstConsecutiveFailDate"] != nil || list[0]["consecutiveFailures"] != 0.0 {
		t.Errorf("a new webhook lists %s", list[0])
	}
}

// Trello creates nothing when the callback's HEAD does not get 200, and
// says so in a 400; nor a second webhook of the token on the same model
// and callback; nor one on a model that is not an id.
func TestWebhookCreateRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	rc := newReceiver(t)
	for _, c := range []struct {
		name   string
		head   int32
		model  string
		status int
		text   string
	}{
		{"callback answers 404", 404, f.board.ID, 400, "did not return 200 status code, got 404"},
		{"callback answers 204", 204, f.board.ID, 400, "VALIDATOR_URL_RETURNED_ERROR"},
		{"short link as model", 0, f.board.ShortLink, 400, "invalid value for idModel"},
		{"unknown model", 0, "5f0000000000000000000001", 400, "invalid value for idModel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc.head.Store(c.head)
			r := f.createWebhook(t, c.model, rc.URL+"/"+strings.ReplaceAll(c.name, " ", "-"))
			if r.status != c.status || !strings.Contains(string(r.body), c.text) {
				t.Errorf("got %d %s, want %d with %q", r.status, r.body, c.status, c.text)
			}
		})
	}
	if hs := f.w.Webhooks(); len(hs) != 0 {
		t.Fatalf("refused creates left %d webhooks", len(hs))
	}
	rc.head.Store(0)
	if r := f.createWebhook(t, f.board.ID, rc.URL); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r := f.createWebhook(t, f.board.ID, rc.URL)
	if r.status != 400 || string(r.body) != "A webhook with that callback, model, and token already exists" {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}
	if n := len(f.w.Webhooks()); n != 1 {
		t.Errorf("%d webhooks after a duplicate, want 1", n)
	}
}

// A webhook is its token's: another token neither lists nor deletes it.
// A deleted webhook answers 404 afterwards.
func TestWebhookTokenAndDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	rc := newReceiver(t)
	var h struct{ ID string }
	f.createWebhook(t, f.board.ID, rc.URL).decode(t, &h)
	other := "ATTAothertokenothertokenothertokenothertokenothertokenother0002"
	f.w.AddToken(f.s.Key(), other, f.me.ID)
	as := func(tok, method, path string) response {
		req, _ := http.NewRequest(method, f.s.BaseURL()+path, nil)
		req.Header.Set("Authorization", `OAuth oauth_consumer_key="`+f.s.Key()+`", oauth_token="`+tok+`"`)
		return do(t, f.s.Client(), req)
	}
	if r := as(other, http.MethodGet, "/tokens/"+other+"/webhooks"); r.status != 200 || string(r.body) != "[]" {
		t.Errorf("other token lists %d %s", r.status, r.body)
	}
	if r := as(other, http.MethodGet, "/tokens/"+f.s.Token()+"/webhooks"); r.status != 401 {
		t.Errorf("listing another token's webhooks: %d %s", r.status, r.body)
	}
	if r := as(other, http.MethodDelete, "/webhooks/"+h.ID); r.status != 401 {
		t.Errorf("deleting another token's webhook: %d %s", r.status, r.body)
	}
	if r := f.send(t, http.MethodDelete, "/webhooks/"+h.ID, nil); r.status != 200 || string(r.body) != `{"_value":null}` {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := f.send(t, http.MethodDelete, "/webhooks/"+h.ID, nil); r.status != 404 {
		t.Errorf("second delete: %d %s", r.status, r.body)
	}
}

// Each change on a watched board reaches the callback as Trello posts
// it: the action and the board as model, signed with the app secret over
// the body and the callback URL.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	rc := newReceiver(t)
	cb := rc.URL + "/trello"
	f.createWebhook(t, f.board.ID, cb)
	card := f.w.CreateCard(f.client.ID, f.todo.ID, "Hero banner")
	f.w.MoveCard(f.client.ID, card.ID, f.done.ID)
	comment := f.w.CommentCard(f.client.ID, card.ID, "Ready?")
	f.w.EditComment(comment.ID, "Ready now?")
	wait(t, f.s)

	posts := rc.requests(http.MethodPost)
	var types []string
	for _, p := range posts {
		mac := hmac.New(sha1.New, []byte(f.s.WebhookSecret()))
		mac.Write(p.body)
		mac.Write([]byte(cb))
		if got, want := p.header.Get("X-Trello-Webhook"), base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
			t.Errorf("signature %q, want %q", got, want)
		}
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		var d struct {
			Action struct {
				ID, Type string
				Data     map[string]json.RawMessage
			}
			Model map[string]json.RawMessage
		}
		if err := json.Unmarshal(p.body, &d); err != nil {
			t.Fatalf("delivery %s: %v", p.body, err)
		}
		if string(d.Model["id"]) != `"`+f.board.ID+`"` || d.Model["prefs"] == nil || d.Model["labelNames"] == nil {
			t.Errorf("model is not the board: %s", p.body)
		}
		types = append(types, d.Action.Type)
		if d.Action.Type == "updateCard" && (d.Action.Data["listBefore"] == nil || d.Action.Data["listAfter"] == nil) {
			t.Errorf("a move without listBefore and listAfter: %s", p.body)
		}
	}
	slices.Sort(types)
	if want := []string{"commentCard", "createCard", "updateCard", "updateComment"}; !slices.Equal(types, want) {
		t.Errorf("delivered %v, want %v", types, want)
	}
	if n := len(f.s.Deliveries()); n != 4 {
		t.Errorf("%d attempts logged, want 4", n)
	}
}

// The server's own secret signs, so that a receiver checking with
// another refuses; the connector's VerifyWebhook agrees with the fake.
func TestWebhookSecretOption(t *testing.T) {
	t.Parallel()
	w := trellofake.NewWorld(trellofake.NewVirtualClock(epoch))
	b := w.AddBoard("Acme")
	l := w.AddList(b.ID, "To Do")
	s := trellofake.New(t, trellofake.Options{World: w, Limits: trellofake.Limits{Off: true}, WebhookSecret: "a1b2c3d4e5f6"})
	rc := newReceiver(t)
	c, err := trello.NewClient(trello.ClientOptions{BaseURL: s.BaseURL(), HTTPClient: s.Client(), Key: s.Key(), Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateWebhook(context.Background(), b.ID, rc.URL, "karkas"); err != nil {
		t.Fatal(err)
	}
	w.CreateCard(w.Me().ID, l.ID, "New")
	wait(t, s)
	posts := rc.requests(http.MethodPost)
	if len(posts) != 1 {
		t.Fatalf("%d deliveries, want 1", len(posts))
	}
	p := posts[0]
	if !trello.VerifyWebhook([]byte("a1b2c3d4e5f6"), p.body, rc.URL, p.header.Get("X-Trello-Webhook")) {
		t.Error("the server's secret does not verify its delivery")
	}
	if trello.VerifyWebhook([]byte(trellofake.DefaultWebhookSecret), p.body, rc.URL, p.header.Get("X-Trello-Webhook")) {
		t.Error("the default secret verifies a delivery signed with another")
	}
}

// A delivery the receiver refuses is retried; a run of failures shows in
// consecutiveFailures until one is taken. A webhook switched off gets
// nothing.
func TestWebhookRetriesAndFailures(t *testing.T) {
	t.Parallel()
	w := trellofake.NewWorld(trellofake.NewVirtualClock(epoch))
	b := w.AddBoard("Acme")
	l := w.AddList(b.ID, "To Do")
	s := trellofake.New(t, trellofake.Options{World: w, Limits: trellofake.Limits{Off: true}, WebhookRetries: 1, WebhookRetryDelay: time.Millisecond})
	rc := newReceiver(t)
	c, err := trello.NewClient(trello.ClientOptions{BaseURL: s.BaseURL(), HTTPClient: s.Client(), Key: s.Key(), Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := c.CreateWebhook(ctx, b.ID, rc.URL, "karkas")
	if err != nil {
		t.Fatal(err)
	}
	rc.post.Store(http.StatusInternalServerError)
	w.CreateCard(w.Me().ID, l.ID, "One")
	wait(t, s)
	if n := len(rc.requests(http.MethodPost)); n != 2 {
		t.Errorf("refused delivery tried %d times, want 2 (one retry)", n)
	}
	hs, err := c.Webhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].ConsecutiveFailures != 1 || hs[0].FirstConsecutiveFailDate == "" {
		t.Errorf("after a failed delivery: %+v", hs)
	}
	rc.post.Store(0)
	w.CreateCard(w.Me().ID, l.ID, "Two")
	wait(t, s)
	if hs := w.Webhooks(); hs[0].ConsecutiveFailures != 0 {
		t.Errorf("a taken delivery left %d failures", hs[0].ConsecutiveFailures)
	}
	w.SetWebhookActive(h.ID, false)
	before := len(rc.requests(http.MethodPost))
	w.CreateCard(w.Me().ID, l.ID, "Three")
	wait(t, s)
	if n := len(rc.requests(http.MethodPost)); n != before {
		t.Errorf("an inactive webhook got %d deliveries", n-before)
	}
}

// A webhook on a card hears that card's actions only, with the card as
// model.
func TestWebhookOnCard(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	rc := newReceiver(t)
	watched := f.w.CreateCard(f.me.ID, f.todo.ID, "Watched")
	other := f.w.CreateCard(f.me.ID, f.todo.ID, "Other")
	if r := f.createWebhook(t, watched.ID, rc.URL); r.status != 200 {
		t.Fatalf("create on a card: %d %s", r.status, r.body)
	}
	f.w.CommentCard(f.client.ID, other.ID, "not this one")
	f.w.CommentCard(f.client.ID, watched.ID, "this one")
	wait(t, f.s)
	posts := rc.requests(http.MethodPost)
	if len(posts) != 1 {
		t.Fatalf("%d deliveries, want 1", len(posts))
	}
	ev, err := trello.ParseWebhook(posts[0].body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ModelID != watched.ID || ev.ModelType != "card" || ev.CardID != watched.ID || ev.Action.Data.Text != "this one" {
		t.Errorf("delivery %+v", ev)
	}
}
