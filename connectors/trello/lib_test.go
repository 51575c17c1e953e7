package trello

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/fakeapi"
)

// The calls lib.go names go through adlio: each sends its requests
// through the library (counted by its transport), with the credentials
// in the Authorization header only and a write's text in the body, never
// in a URL.
func TestLibraryCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	b, card := e.board(t)
	rc := newHookReceiver(t)
	src := &Source{client: e.client, opts: APIOptions{Boards: []string{b.ID}}}
	var label Label
	var hook Webhook
	const text = "The fix is live — проверьте, пожалуйста."
	calls := []struct {
		name string
		run  func() error
	}{
		{"check", func() error { return src.Check(ctx) }},
		{"discover", func() error {
			d, err := src.Discover(ctx)
			if err == nil && (len(d) != 1 || d[0].Board.Name != b.Name || len(d[0].Lists) == 0 || len(d[0].Members) == 0) {
				t.Errorf("discover: %+v", d)
			}
			return err
		}},
		{"comment", func() error {
			a, err := e.client.AddComment(ctx, card.ID, text)
			if err == nil && (a.ID == "" || a.Data.Text != text || a.Date == "") {
				t.Errorf("comment: %+v", a)
			}
			return err
		}},
		{"create label", func() (err error) {
			label, err = e.client.CreateLabel(ctx, b.ID, "karkas: late", "red")
			if err == nil && (label.ID == "" || label.Name != "karkas: late" || label.Color != "red") {
				t.Errorf("label: %+v", label)
			}
			return err
		}},
		{"add label", func() error {
			ids, err := e.client.AddLabel(ctx, card.ID, label.ID)
			if err == nil && !strings.Contains(strings.Join(ids, ","), label.ID) {
				t.Errorf("card labels %v lack %s", ids, label.ID)
			}
			return err
		}},
		{"remove label", func() error { return e.client.RemoveLabel(ctx, card.ID, label.ID) }},
		{"create webhook", func() (err error) {
			hook, err = e.client.CreateWebhook(ctx, b.ID, rc.callbackFor(b.ID), "karkas")
			if err == nil && (hook.ID == "" || hook.IDModel != b.ID || !hook.Active) {
				t.Errorf("webhook: %+v", hook)
			}
			return err
		}},
		{"delete webhook", func() error { return e.client.DeleteWebhook(ctx, hook.ID) }},
	}
	for _, c := range calls {
		before := e.client.libRequests.Load()
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if e.client.libRequests.Load() == before {
			t.Errorf("%s did not go through adlio", c.name)
		}
	}
	if cs, err := e.client.CardActions(ctx, card.ID, "commentCard"); err != nil || len(cs) != 1 || cs[0].Data.Text != text {
		t.Errorf("the card's comments: %+v %v", cs, err)
	}
	if hs, err := e.client.Webhooks(ctx); err != nil || len(hs) != 0 {
		t.Errorf("webhooks after delete: %+v %v", hs, err)
	}
	e.urls.mu.Lock()
	defer e.urls.mu.Unlock()
	for i, u := range e.urls.urls {
		if strings.Contains(u, "/1/tokens/") {
			continue // Trello's listing of a token's webhooks names it (Client.Webhooks)
		}
		for _, s := range []string{e.fake.Key(), e.fake.Token(), "key=", "token=", "text="} {
			if strings.Contains(u, s) {
				t.Errorf("URL %s holds %q", u, s)
			}
		}
		if !strings.HasPrefix(e.urls.auth[i], "OAuth oauth_consumer_key=") {
			t.Errorf("%s sent without the Authorization header", u)
		}
	}
}

// The library's failures are the client's own typed errors, so the push
// side and the check tell them apart as before.
func TestLibraryTypedErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, envOptions{limits: trellofake.Limits{Off: true}})
	_, card := e.board(t)

	e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultLoseReply, Method: "POST", Route: "/1/cards/*/actions/comments"})
	_, err := e.client.AddComment(ctx, card.ID, "x")
	if we, ok := errors.AsType[*WriteError](err); !ok || !we.MayHaveReached {
		t.Errorf("a lost reply: %v, want a WriteError that may have reached Trello", err)
	}
	err = e.client.RemoveLabel(ctx, "0123456789abcdef01234567", "0123456789abcdef01234568")
	if _, ok := errors.AsType[*NotFoundError](err); !ok {
		t.Errorf("a card that does not exist: %v, want a NotFoundError", err)
	}
	e.world.RevokeToken(e.fake.Token())
	src := &Source{client: e.client}
	if err := src.Check(ctx); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("a revoked token: %v, want ErrUnauthorized", err)
	}
}

// A canary key and token never show in an error or a log line of the
// library's calls: not from a server echoing the whole request back, not
// from one that hangs up, not from one that is not there.
func TestLibraryCanary(t *testing.T) {
	t.Parallel()
	const key, token = "keyCANARY5f4e3d2c1b0a99887766", "tokenCANARYa1b2c3d4e5f60718293a4b5c6d7e8f"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, _ := httputil.DumpRequest(r, true)
		status := http.StatusBadRequest
		if strings.Contains(r.URL.Path, "/members/me/boards") {
			status = http.StatusUnauthorized
		}
		http.Error(w, "you sent: "+string(dump), status)
	}))
	defer echo.Close()
	hangup := fakeapi.HangUp()
	defer hangup.Close()
	deadURL := fakeapi.DeadURL() + "/1"

	for _, base := range []string{echo.URL + "/1", hangup.URL + "/1", deadURL} {
		e := newEnv(t, envOptions{})
		logs := &syncBuffer{}
		c, err := NewClient(ClientOptions{BaseURL: base, Key: key, Token: token, Budget: e.budget, Clock: e.clock,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), MaxAttempts: 2, BackoffBase: 1, BackoffMax: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		src := &Source{client: c, opts: APIOptions{Boards: []string{"0123456789abcdef01234567"}}}
		var errs []error
		errs = append(errs, src.Check(ctx))
		_, err = src.Discover(ctx)
		errs = append(errs, err)
		_, err = c.AddComment(ctx, "0123456789abcdef01234567", "a comment")
		errs = append(errs, err)
		_, err = c.AddLabel(ctx, "0123456789abcdef01234567", "0123456789abcdef01234568")
		errs = append(errs, err)
		_, err = c.CreateWebhook(ctx, "0123456789abcdef01234567", "https://karkas.example/hooks/trello", "")
		errs = append(errs, err)
		errs = append(errs, c.DeleteWebhook(ctx, "0123456789abcdef01234569"))
		for i, err := range errs {
			if err == nil {
				t.Errorf("%s: call %d: no error", base, i)
				continue
			}
			if msg := err.Error(); strings.Contains(msg, key) || strings.Contains(msg, token) {
				t.Errorf("%s: error holds a credential: %s", base, msg)
			}
		}
		if l := logs.String(); strings.Contains(l, key) || strings.Contains(l, token) {
			t.Errorf("%s: the log holds a credential:\n%s", base, l)
		}
		if base == echo.URL+"/1" && !strings.Contains(errs[2].Error(), "you sent") {
			t.Errorf("the echo server's answer is not in the error: %v", errs[2])
		}
	}
}

// A 2xx with an empty body (a DELETE answered so) is a success through
// adlio too, not a decoding failure.
func TestLibraryEmptyAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	e := newEnv(t, envOptions{})
	c, err := NewClient(ClientOptions{BaseURL: srv.URL + "/1", Key: "k3y-0000", Token: "t0ken-0000", Budget: e.budget, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveLabel(context.Background(), "0123456789abcdef01234567", "0123456789abcdef01234568"); err != nil {
		t.Errorf("an empty 200: %v", err)
	}
}
