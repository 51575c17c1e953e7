package trello

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/secret"
)

// The signature of a known delivery: the expected value is computed here
// over one buffer holding body and URL (not the two writes the code
// makes), and, for the second case, was computed outside Go with
//
//	printf '%s' '{"hello":"world"}https://example.com/webhooks' | openssl dgst -sha1 -hmac secret -binary | base64
func TestVerifyWebhookKnownAnswer(t *testing.T) {
	t.Parallel()
	body := []byte(`{"action":{"id":"5f1d3a2b9c8e7f6a5b4c3d2e","type":"commentCard"},"model":{"id":"5f1d3a2b9c8e7f6a5b4c3d20"}}`)
	const cb = "https://karkas.example.com/hooks/trello?board=5f1d3a2b9c8e7f6a5b4c3d20"
	sec := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	mac := hmac.New(sha1.New, sec)
	mac.Write(append(append([]byte{}, body...), cb...))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, c := range []struct {
		name       string
		secret     []byte
		body       []byte
		cb, header string
	}{
		{"computed here", sec, body, cb, want},
		{"openssl", []byte("secret"), []byte(`{"hello":"world"}`), "https://example.com/webhooks", "FwPAcuGe9EP/+SbXFWjnEVTa0zw="},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SignWebhook(c.secret, c.body, c.cb); got != c.header {
				t.Errorf("SignWebhook = %q, want %q", got, c.header)
			}
			if !VerifyWebhook(c.secret, c.body, c.cb, c.header) {
				t.Error("the genuine signature does not verify")
			}
		})
	}
}

// Anything but the exact body, URL and secret is refused: a forger who
// changes a byte, a receiver that rebuilds the URL differently, a
// signature of another scheme.
func TestVerifyWebhookRefuses(t *testing.T) {
	t.Parallel()
	sec := []byte("app-secret-app-secret")
	body := []byte(`{"action":{"id":"a1","type":"updateCard"},"model":{"id":"m1"}}`)
	const cb = "https://karkas.example.com/hooks/trello"
	good := SignWebhook(sec, body, cb)
	sha256Sig := func() string {
		m := hmac.New(sha256.New, sec)
		m.Write(body)
		m.Write([]byte(cb))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}()
	for _, c := range []struct {
		name   string
		secret []byte
		body   []byte
		cb     string
		header string
	}{
		{"body altered", sec, []byte(strings.Replace(string(body), "updateCard", "deleteCard", 1)), cb, good},
		{"body with a trailing newline", sec, append(append([]byte{}, body...), '\n'), cb, good},
		{"URL with a trailing slash", sec, body, cb + "/", good},
		{"URL over http", sec, body, "http://karkas.example.com/hooks/trello", good},
		{"URL with a query", sec, body, cb + "?board=m1", good},
		{"another secret", []byte("app-secret-app-secreT"), body, cb, good},
		{"empty secret", nil, body, cb, good},
		{"empty header", sec, body, cb, ""},
		{"header not base64", sec, body, cb, "not base64!"},
		{"header cut short", sec, body, cb, good[:len(good)-4]},
		{"HMAC-SHA256 instead", sec, body, cb, sha256Sig},
		{"signature of the body alone", sec, body, cb, SignWebhook(sec, body, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if VerifyWebhook(c.secret, c.body, c.cb, c.header) {
				t.Error("verified")
			}
		})
	}
	if !VerifyWebhook(sec, body, cb, good) {
		t.Fatal("the genuine delivery itself does not verify")
	}
}

// A delivery as Trello posts it: a card moved on a watched board, with
// the board as model and fields karkas does not read.
const movedDelivery = `{
  "model": {"id": "60a1b2c3d4e5f60718293a4b", "name": "Acme — Website", "desc": "", "descData": null,
    "closed": false, "idOrganization": null, "pinned": false,
    "url": "https://trello.com/b/Xy12Ab34/acme-website", "shortUrl": "https://trello.com/b/Xy12Ab34",
    "prefs": {"permissionLevel": "private", "background": "blue", "cardCovers": true},
    "labelNames": {"green": "", "red": "urgent"}},
  "action": {"id": "60a1b2c3d4e5f60718293a99", "idMemberCreator": "60a1b2c3d4e5f60718293a01",
    "data": {"listAfter": {"name": "Doing", "id": "60a1b2c3d4e5f60718293a12"},
      "listBefore": {"name": "To Do", "id": "60a1b2c3d4e5f60718293a11"},
      "board": {"shortLink": "Xy12Ab34", "name": "Acme — Website", "id": "60a1b2c3d4e5f60718293a4b"},
      "card": {"shortLink": "Cd56Ef78", "idShort": 7, "name": "Hero banner", "id": "60a1b2c3d4e5f60718293a77", "idList": "60a1b2c3d4e5f60718293a12"},
      "old": {"idList": "60a1b2c3d4e5f60718293a11"}},
    "type": "updateCard", "date": "2026-11-02T09:15:41.007Z",
    "display": {"translationKey": "action_move_card_from_list_to_list", "entities": {}},
    "memberCreator": {"id": "60a1b2c3d4e5f60718293a01", "avatarHash": "0f", "fullName": "John Carter", "initials": "JC", "username": "johncarter"}}
}`

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	ev, err := ParseWebhook([]byte(movedDelivery))
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookEvent{ModelID: "60a1b2c3d4e5f60718293a4b", ModelType: "board", ActionID: "60a1b2c3d4e5f60718293a99", ActionType: "updateCard",
		ActionDate: "2026-11-02T09:15:41.007Z", BoardID: "60a1b2c3d4e5f60718293a4b", CardID: "60a1b2c3d4e5f60718293a77", ListID: "60a1b2c3d4e5f60718293a12"}
	got := ev
	got.Action = Action{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if ev.Action.MemberCreator == nil || ev.Action.MemberCreator.Username != "johncarter" || string(ev.Action.Data.Old["idList"]) != `"60a1b2c3d4e5f60718293a11"` {
		t.Errorf("action %+v", ev.Action)
	}
}

// A body that is not a delivery is an error, never a panic or an empty
// event.
func TestParseWebhookMalformed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, body string }{
		{"empty", ""},
		{"not JSON", "action=1"},
		{"null", "null"},
		{"an array", "[]"},
		{"no action", `{"model":{"id":"m1"}}`},
		{"action without type", `{"action":{"id":"a1"},"model":{"id":"m1"}}`},
		{"action without id", `{"action":{"type":"commentCard"},"model":{"id":"m1"}}`},
		{"no model", `{"action":{"id":"a1","type":"commentCard"}}`},
		{"model without id", `{"action":{"id":"a1","type":"commentCard"},"model":{}}`},
		{"model id a number", `{"action":{"id":"a1","type":"commentCard"},"model":{"id":5}}`},
		{"action id a number", `{"action":{"id":5,"type":"commentCard"},"model":{"id":"m1"}}`},
		{"cut off", movedDelivery[:len(movedDelivery)/2]},
	} {
		t.Run(c.name, func(t *testing.T) {
			if ev, err := ParseWebhook([]byte(c.body)); err == nil {
				t.Errorf("no error; got %+v", ev)
			}
		})
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(movedDelivery))
	f.Add([]byte(`{"action":{"id":"a","type":"t","data":{"card":null}},"model":{"id":"m"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseWebhook(b)
		if err == nil && (ev.ModelID == "" || ev.ActionID == "" || ev.ActionType == "") {
			t.Errorf("accepted %q as %+v", b, ev)
		}
	})
}

// hookReceiver is a webhook endpoint: HEAD answers headStatus (200 when
// 0), POST is recorded.
type hookReceiver struct {
	*httptest.Server
	headStatus atomic.Int32
	mu         sync.Mutex
	posts      []hookPost
}

type hookPost struct {
	path, header string
	body         []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			if s := rc.headStatus.Load(); s != 0 {
				w.WriteHeader(int(s))
			}
			return
		}
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.posts = append(rc.posts, hookPost{path: r.URL.RequestURI(), header: r.Header.Get(WebhookHeader), body: b})
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) received() []hookPost {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookPost(nil), rc.posts...)
}

func (rc *hookReceiver) callbackFor(board string) string { return rc.URL + "/hooks/trello/" + board }

func waitDeliveries(t *testing.T, s *trellofake.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
}

// A second EnsureWebhooks with the same arguments creates nothing: the
// webhooks of the first are found on the same model and callback. A
// board named by short link is watched by its id.
func TestEnsureWebhooksIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	b1 := e.world.AddBoard("Acme")
	b2 := e.world.AddBoard("Globex")
	ctx := context.Background()
	boards := []string{b1.ID, b2.ShortLink, b1.ID}
	created, kept, err := e.client.EnsureWebhooks(ctx, boards, rc.callbackFor, "karkas serve")
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || len(kept) != 0 {
		t.Fatalf("first call: created %d, kept %d; want 2 and 0", len(created), len(kept))
	}
	for i, want := range []string{b1.ID, b2.ID} {
		h := created[i]
		if h.IDModel != want || h.CallbackURL != rc.callbackFor(want) || !h.Active || h.Description != "karkas serve" || !isObjectID(h.ID) {
			t.Errorf("created[%d] = %+v", i, h)
		}
	}
	creates := e.fake.RouteCount("POST /1/webhooks")
	created2, kept2, err := e.client.EnsureWebhooks(ctx, boards, rc.callbackFor, "karkas serve")
	if err != nil {
		t.Fatal(err)
	}
	if len(created2) != 0 || len(kept2) != 2 {
		t.Errorf("second call: created %d, kept %d; want 0 and 2", len(created2), len(kept2))
	}
	if n := e.fake.RouteCount("POST /1/webhooks"); n != creates {
		t.Errorf("second call sent %d creates", n-creates)
	}
	if n := len(e.world.Webhooks()); n != 2 {
		t.Errorf("the fake holds %d webhooks, want 2", n)
	}
	// Another callback on the same board is another webhook.
	other := func(board string) string { return rc.URL + "/other/" + board }
	created3, _, err := e.client.EnsureWebhooks(ctx, []string{b1.ID}, other, "")
	if err != nil || len(created3) != 1 {
		t.Errorf("a new callback: created %d, err %v", len(created3), err)
	}
}

// A webhook switched off (by Trello, after failures) is kept and
// switched back on rather than duplicated.
func TestEnsureWebhooksReactivates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	b := e.world.AddBoard("Acme")
	ctx := context.Background()
	created, _, err := e.client.EnsureWebhooks(ctx, []string{b.ID}, rc.callbackFor, "")
	if err != nil || len(created) != 1 {
		t.Fatalf("created %d, err %v", len(created), err)
	}
	e.world.SetWebhookActive(created[0].ID, false)
	created, kept, err := e.client.EnsureWebhooks(ctx, []string{b.ID}, rc.callbackFor, "")
	if err != nil || len(created) != 0 || len(kept) != 1 {
		t.Fatalf("created %d, kept %d, err %v", len(created), len(kept), err)
	}
	if !kept[0].Active || !e.world.Webhooks()[0].Active {
		t.Errorf("kept %+v, fake %+v", kept[0], e.world.Webhooks()[0])
	}
}

// When Trello's HEAD check of the callback fails, nothing is created and
// the error says why; the other boards are still done.
func TestEnsureWebhooksCallbackRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	bad := newHookReceiver(t)
	bad.headStatus.Store(http.StatusNotFound)
	b1 := e.world.AddBoard("Acme")
	b2 := e.world.AddBoard("Globex")
	cb := func(board string) string {
		if board == b1.ID {
			return bad.callbackFor(board)
		}
		return rc.callbackFor(board)
	}
	created, _, err := e.client.EnsureWebhooks(context.Background(), []string{b1.ID, b2.ID}, cb, "")
	ae, ok := errors.AsType[*APIError](err)
	// The message is cut at connectors.BodyExcerpt, before the status.
	if !ok || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "VALIDATOR_URL_RETURNED_ERROR") {
		t.Fatalf("err = %v, want Trello's 400 refusing the callback", err)
	}
	if len(created) != 1 || created[0].IDModel != b2.ID {
		t.Errorf("created %+v, want b2's only", created)
	}
	if hs := e.world.Webhooks(); len(hs) != 1 || hs[0].IDModel != b2.ID {
		t.Errorf("fake holds %+v", hs)
	}
}

// A create Trello refuses as a duplicate (another process made it after
// the list) is settled by listing again: kept, not an error.
func TestEnsureWebhookDuplicateRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	b := e.world.AddBoard("Acme")
	ctx := context.Background()
	first, err := e.client.CreateWebhook(ctx, b.ID, rc.callbackFor(b.ID), "other process")
	if err != nil {
		t.Fatal(err)
	}
	h, made, err := e.client.ensureWebhook(ctx, nil, b.ID, rc.callbackFor(b.ID), "")
	if err != nil || made || h.ID != first.ID {
		t.Errorf("got %+v made %v err %v; want the other process's webhook, kept", h, made, err)
	}
}

// Deleting removes the webhook; deleting it again is not an error.
func TestDeleteWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	b := e.world.AddBoard("Acme")
	ctx := context.Background()
	h, err := e.client.CreateWebhook(ctx, b.ID, rc.callbackFor(b.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.client.DeleteWebhook(ctx, h.ID); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := e.client.Webhooks(ctx)
	if err != nil || len(hs) != 0 {
		t.Errorf("after delete: %+v, %v", hs, err)
	}
}

// The webhooks of a token are listed under a path naming the token; an
// error of that listing must not carry it.
func TestWebhooksErrorHidesToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: http.StatusBadRequest, Route: "/1/tokens/*/webhooks", Times: -1})
	_, err := e.client.Webhooks(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), e.fake.Token()) || !strings.Contains(err.Error(), "/tokens/[redacted]/webhooks") {
		t.Errorf("error %q", err)
	}
	if strings.Contains(e.logs.String(), e.fake.Token()) {
		t.Errorf("the log shows the token: %s", e.logs.String())
	}
}

// End to end: the webhook EnsureWebhooks made hears of a comment, and the
// delivery verifies with the app secret and parses to the comment.
func TestDeliveryVerifiesAndParses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	b := e.world.AddBoard("Acme")
	l := e.world.AddList(b.ID, "To Do")
	card := e.world.CreateCard(e.world.Me().ID, l.ID, "Hero banner")
	if _, _, err := e.client.EnsureWebhooks(context.Background(), []string{b.ID}, rc.callbackFor, ""); err != nil {
		t.Fatal(err)
	}
	comment := e.world.CommentCard(e.world.Me().ID, card.ID, "Looks good")
	waitDeliveries(t, e.fake)
	posts := rc.received()
	if len(posts) != 1 {
		t.Fatalf("%d deliveries, want 1", len(posts))
	}
	p := posts[0]
	cb := rc.URL + p.path
	if !VerifyWebhook([]byte(e.fake.WebhookSecret()), p.body, cb, p.header) {
		t.Fatal("the delivery does not verify with the app secret")
	}
	if VerifyWebhook([]byte(e.fake.WebhookSecret()), p.body, rc.URL+"/hooks/trello/other", p.header) {
		t.Error("the delivery verifies against another callback URL")
	}
	ev, err := ParseWebhook(p.body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ModelID != b.ID || ev.ModelType != "board" || ev.ActionID != comment.ID || ev.ActionType != "commentCard" || ev.CardID != card.ID ||
		ev.ListID != l.ID || ev.Action.Data.Text != "Looks good" {
		t.Errorf("parsed %+v", ev)
	}
}

// OpenWebhooks reads the source's credentials and the webhook secret
// through env.Secrets (so that they are redacted), requires the secret,
// and selects the boards the source would pull.
func TestOpenWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	rc := newHookReceiver(t)
	b := e.world.AddBoard("Acme")
	const appSecret = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
	opts := func() *APIOptions {
		o := DefaultOptions()
		o.Key, o.Token, o.BaseURL, o.Boards = secret.Inline(e.fake.Key()), secret.Inline(e.fake.Token()), e.fake.BaseURL(), []string{b.ShortLink}
		return o
	}
	secrets := secret.NewSet()
	env := connectors.Env{HTTPClient: e.fake.Client(), Secrets: secrets}

	_, err := OpenWebhooks(opts(), env)
	if err == nil || !strings.Contains(err.Error(), "webhook_secret") {
		t.Fatalf("without a secret: %v, want an error naming webhook_secret", err)
	}
	// The config's decoder reads webhook_secret_file (mapping's
	// TestSecretValues); the secret reaches the handler and the set.
	o := opts()
	o.WebhookSecret = secret.FromFile(appSecret, "trello-webhook")
	h, err := OpenWebhooks(o, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := secrets.Redact("sig " + appSecret); strings.Contains(got, appSecret) {
		t.Errorf("the webhook secret is not redacted: %q", got)
	}
	ctx := context.Background()
	boards, err := h.Boards(ctx)
	if err != nil || len(boards) != 1 || boards[0] != b.ID {
		t.Fatalf("Boards = %v, %v; want [%s]", boards, err, b.ID)
	}
	created, _, err := h.Ensure(ctx, rc.callbackFor, "karkas")
	if err != nil || len(created) != 1 || created[0].IDModel != b.ID {
		t.Fatalf("Ensure created %+v, %v", created, err)
	}
	body := []byte(`{"action":{"id":"a","type":"t"},"model":{"id":"m"}}`)
	cb := rc.callbackFor(b.ID)
	if !h.Verify(body, cb, SignWebhook([]byte(appSecret), body, cb)) {
		t.Error("Verify refuses a delivery signed with the file's secret")
	}
	if h.Verify(body, cb, SignWebhook([]byte(trellofake.DefaultWebhookSecret), body, cb)) {
		t.Error("Verify accepts a delivery signed with another secret")
	}
	if _, err := OpenWebhooks(&ExportOptions{}, env); err == nil {
		t.Error("options of another kind: no error")
	}
}
