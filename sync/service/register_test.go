package service_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/sync/service"
)

// foreignHooks makes, on the board and the repository, a webhook of the
// same token and account posting somewhere else than karkas: what
// register, list and delete must leave alone.
func (e *env) foreignHooks(t *testing.T) (trelloID string, githubID int64) {
	t.Helper()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(other.Close)
	q := url.Values{"idModel": {e.board.ID}, "callbackURL": {other.URL + "/zapier"}, "description": {"someone else's"},
		"key": {e.trello.Key()}, "token": {e.trello.Token()}}
	req, _ := http.NewRequest(http.MethodPost, e.trello.BaseURL()+"/webhooks?"+q.Encode(), nil)
	if status, body := do(t, req); status != http.StatusOK {
		t.Fatalf("a foreign trello webhook: %d %s", status, body)
	}
	body := fmt.Sprintf(`{"name":"web","active":true,"events":["push"],"config":{"url":%q,"content_type":"json"}}`, other.URL+"/ci")
	req, _ = http.NewRequest(http.MethodPost, e.github.APIURL()+"/repos/"+ghRepo+"/hooks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ghToken)
	if status, body := do(t, req); status != http.StatusCreated {
		t.Fatalf("a foreign github hook: %d %s", status, body)
	}
	ws, hs := e.tw.Webhooks(), e.gw.Hooks(e.repo.ID)
	if len(ws) != 1 || len(hs) != 1 {
		t.Fatalf("the fakes hold %+v and %+v", ws, hs)
	}
	return ws[0].ID, hs[0].ID
}

// hookIDs are the ids of hooks, sorted, each as kind:id.
func hookIDs(hooks []service.Hook) []string {
	var out []string
	for _, h := range hooks {
		out = append(out, h.Kind+":"+h.ID)
	}
	slices.Sort(out)
	return out
}

// The fakes' webhooks other than the foreign ones, as kind:id, sorted.
func (e *env) karkasHooks(foreignTrello string, foreignGitHub int64) []string {
	var out []string
	for _, w := range e.tw.Webhooks() {
		if w.ID != foreignTrello {
			out = append(out, "trello:"+w.ID)
		}
	}
	for _, h := range e.gw.Hooks(e.repo.ID) {
		if h.ID != foreignGitHub {
			out = append(out, fmt.Sprintf("github:%d", h.ID))
		}
	}
	slices.Sort(out)
	return out
}

// register, list and delete against the fakes, with the daemon's handler
// at serve.public_url (Trello's fake checks the callback with a HEAD
// request before it makes a webhook): one hook per board and repository,
// posting to the source's callback; a second register creates nothing
// and switches back on what was switched off; list shows karkas's and no
// other; delete removes karkas's and no other. A source without
// webhook_secret is an error naming it, and its route answers 404.
func TestRegisterListDelete(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{extraSources: func(e *env) string {
			return fmt.Sprintf(`  - id: unsigned
    kind: trello
    options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", boards: [%s], base_url: %q}
`, e.board.ID, e.trello.BaseURL())
		}})
		ctx := context.Background()

		// The source without a secret: named in the error, the others
		// open; asked for alone, nothing opens.
		hooks, err := service.Hooks(e.app, nil)
		if err == nil || !strings.Contains(err.Error(), "source unsigned") || !strings.Contains(err.Error(), "webhook_secret") {
			t.Errorf("Hooks with a source lacking webhook_secret: %v", err)
		}
		if len(hooks) != 2 || hooks["trello"] == nil || hooks["github"] == nil {
			t.Fatalf("Hooks opened %v, want trello and github", hooks)
		}
		if only, err := service.Hooks(e.app, []string{"unsigned"}); err == nil || !strings.Contains(err.Error(), "source unsigned") || len(only) != 0 {
			t.Errorf("Hooks of the unsigned source alone: %v, %v", only, err)
		}
		if _, err := service.Hooks(e.app, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("Hooks of an unknown source: %v", err)
		}
		for _, method := range []string{http.MethodHead, http.MethodPost} {
			req, _ := http.NewRequest(method, e.callback("trello", "unsigned"), strings.NewReader("{}"))
			if status, _ := do(t, req); status != http.StatusNotFound {
				t.Errorf("%s to the unsigned source's route: %d, want 404", method, status)
			}
		}
		if _, err := service.Register(ctx, hooks, ""); err == nil || !strings.Contains(err.Error(), "public_url") {
			t.Errorf("Register without a public URL: %v", err)
		}

		foreignTrello, foreignGitHub := e.foreignHooks(t)
		created, err := service.Register(ctx, hooks, e.public.URL)
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		mine := e.karkasHooks(foreignTrello, foreignGitHub)
		if got := hookIDs(created); len(created) != 2 || !slices.Equal(got, mine) {
			t.Fatalf("register returned %v, the fakes hold %v besides the foreign hooks", got, mine)
		}
		for _, h := range created {
			if !h.Created || !h.Active || h.URL != e.callback(h.Kind, h.Source) || h.Kind != h.Source {
				t.Errorf("registered %+v", h)
			}
		}
		for _, w := range e.tw.Webhooks() {
			if w.ID != foreignTrello && (w.IDModel != e.board.ID || w.CallbackURL != e.callback("trello", "trello") || !w.Active || w.Description != "karkas serve") {
				t.Errorf("the trello fake holds %+v", w)
			}
		}
		for _, h := range e.gw.Hooks(e.repo.ID) {
			if h.ID != foreignGitHub && (h.URL != e.callback("github", "github") || !h.Active || h.ContentType != "json" ||
				!slices.Equal(h.Events, slices.Sorted(slices.Values(github.HookEvents)))) {
				t.Errorf("the github fake holds %+v", h)
			}
		}
		// GitHub pinged the new hook, signed with the secret karkas gave
		// it: the daemon took it.
		e.waitDeliveries(t)
		var pings []string
		for _, d := range e.githubDeliveries() {
			if d.URL == e.callback("github", "github") {
				pings = append(pings, fmt.Sprint(d.Event, " ", d.Status))
			}
		}
		if !slices.Equal(pings, []string{"ping 200"}) {
			t.Errorf("github's deliveries to karkas: %v, want the ping answered 200", pings)
		}

		// Again: nothing created. Switched off, then again: switched
		// back on, still nothing created.
		again, err := service.Register(ctx, hooks, e.public.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := hookIDs(again); !slices.Equal(got, mine) || slices.ContainsFunc(again, func(h service.Hook) bool { return h.Created }) {
			t.Errorf("a second register returned %+v, want %v kept", again, mine)
		}
		for _, w := range e.tw.Webhooks() {
			if w.ID != foreignTrello {
				e.tw.SetWebhookActive(w.ID, false)
			}
		}
		for _, h := range e.gw.Hooks(e.repo.ID) {
			if h.ID != foreignGitHub {
				e.gw.SetHookActive(e.repo.ID, h.ID, false)
			}
		}
		again, err = service.Register(ctx, hooks, e.public.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := hookIDs(again); !slices.Equal(got, mine) || slices.ContainsFunc(again, func(h service.Hook) bool { return h.Created || !h.Active }) {
			t.Errorf("register after switching them off returned %+v, want %v kept and on", again, mine)
		}
		if got := e.karkasHooks(foreignTrello, foreignGitHub); !slices.Equal(got, mine) {
			t.Errorf("after three registers the fakes hold %v besides the foreign hooks, want %v", got, mine)
		}
		for _, w := range e.tw.Webhooks() {
			if !w.Active {
				t.Errorf("trello webhook %s is still off", w.ID)
			}
		}
		for _, h := range e.gw.Hooks(e.repo.ID) {
			if !h.Active {
				t.Errorf("github hook %d is still off", h.ID)
			}
		}

		// list: karkas's, by this public URL and by path alone.
		for _, public := range []string{e.public.URL, ""} {
			listed, err := service.List(ctx, hooks, public)
			if err != nil {
				t.Fatal(err)
			}
			if got := hookIDs(listed); !slices.Equal(got, mine) {
				t.Errorf("list (public URL %q): %v, want %v", public, got, mine)
			}
		}
		// Another deployment's URL lists none.
		if listed, err := service.List(ctx, hooks, "https://old.example.com"); err != nil || len(listed) != 0 {
			t.Errorf("list for another public URL: %+v, %v", listed, err)
		}

		// delete: karkas's go, the foreign ones stay.
		deleted, err := service.Delete(ctx, hooks, e.public.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := hookIDs(deleted); !slices.Equal(got, mine) {
			t.Errorf("delete returned %v, want %v", got, mine)
		}
		if ws, hs := e.tw.Webhooks(), e.gw.Hooks(e.repo.ID); len(ws) != 1 || ws[0].ID != foreignTrello || len(hs) != 1 || hs[0].ID != foreignGitHub {
			t.Errorf("after delete the fakes hold %+v and %+v, want only the foreign hooks", ws, hs)
		}
		if listed, err := service.List(ctx, hooks, e.public.URL); err != nil || len(listed) != 0 {
			t.Errorf("list after delete: %+v, %v", listed, err)
		}
		if deleted, err := service.Delete(ctx, hooks, e.public.URL); err != nil || len(deleted) != 0 {
			t.Errorf("a second delete: %+v, %v", deleted, err)
		}
	})
}
