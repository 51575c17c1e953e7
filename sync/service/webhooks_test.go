package service_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/sync/service"
)

// tally counts the webhook requests a test sends, by service and
// result, as karkas_webhook_events_total should.
type tally map[[2]string]int

func (tl tally) check(t *testing.T, e *env) {
	t.Helper()
	fams := scrape(t, e.svc.Handler(true))
	for k, want := range tl {
		got, ok := value(fams, "karkas_webhook_events_total", "service="+k[0], "result="+k[1])
		if !ok || int(got) != want {
			t.Errorf("karkas_webhook_events_total{service=%q,result=%q} = %v (present %v), want %d", k[0], k[1], got, ok, want)
		}
	}
	n := 0
	for _, m := range fams["karkas_webhook_events_total"].GetMetric() {
		n += int(m.GetCounter().GetValue())
	}
	sent := 0
	for _, v := range tl {
		sent += v
	}
	if n != sent {
		t.Errorf("karkas_webhook_events_total sums to %d over every label, the test sent %d requests", n, sent)
	}
}

// trelloBody is a delivery of a comment on the env's card, as Trello
// sends one for a webhook on its board (the fake's shape, trimmed).
func (e *env) trelloBody(actionID string) []byte {
	return fmt.Appendf(nil, `{"action":{"id":%q,"idMemberCreator":%q,"type":"commentCard","date":"2026-03-02T09:00:00.000Z",`+
		`"data":{"text":"Any news?","card":{"id":%q,"name":"Checkout is broken"},"board":{"id":%[4]q,"name":"Acme Website"}}},`+
		`"model":{"id":%[4]q,"name":"Acme Website","prefs":{}}}`, actionID, e.john.ID, e.card.ID, e.board.ID)
}

// postTrello posts body to the trello source's route with signature sig.
func (e *env) postTrello(t *testing.T, source string, body []byte, sig string) (int, string) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}}
	if sig != "" {
		h.Set(trello.WebhookHeader, sig)
	}
	return e.post(t, "/webhooks/trello/"+source, h, body)
}

// Trello's deliveries: its check of the callback, a genuine delivery the
// fake sends when the board changes (one pull queued), its redelivery
// (nothing more), and what is refused: a forged signature, a body
// altered after signing, a signature for another callback URL, a body
// that is no delivery, an unknown source. None of it makes a request to
// Trello, and the counters say what came in.
func TestTrelloWebhooks(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		ctx := context.Background()
		cb := e.callback("trello", "trello")
		secret := []byte(e.trello.WebhookSecret())
		sent := tally{}

		// Trello's HEAD check when a webhook is made, through the
		// fake: it creates the webhook only when the check got 200.
		hooks, err := service.Hooks(e.app, []string{"trello"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := service.Register(ctx, hooks, e.public.URL); err != nil {
			t.Fatalf("register: %v", err)
		}
		if ws := e.tw.Webhooks(); len(ws) != 1 || ws[0].CallbackURL != cb {
			t.Fatalf("the fake holds %+v, want one webhook posting to %s", ws, cb)
		}
		for _, c := range []struct {
			method, source string
			want           int
		}{
			{http.MethodHead, "trello", 200},
			{http.MethodHead, "nope", 404},
			{http.MethodHead, "github", 404}, // not a trello source
		} {
			req, _ := http.NewRequest(c.method, e.callback("trello", c.source), nil)
			if got, _ := do(t, req); got != c.want {
				t.Errorf("%s %s: %d, want %d", c.method, c.source, got, c.want)
			}
		}
		if n := len(e.jobs(t, "")); n != 0 {
			t.Fatalf("%d jobs before any delivery", n)
		}

		// A comment on the board: the fake posts it, signed, and the
		// daemon queues one pull of that board and answers 202.
		e.resetAPILogs()
		e.tw.CommentCard(e.john.ID, e.card.ID, "Any news?")
		e.waitDeliveries(t)
		got := e.trelloDeliveries()
		if len(got) != 1 || got[0].Status != http.StatusAccepted {
			t.Fatalf("the fake's deliveries: %v, want one answered 202", got)
		}
		sent[[2]string{"trello", "accepted"}]++
		real := got[0]
		if want := trello.SignWebhook(secret, real.Body, cb); real.Header.Get(trello.WebhookHeader) != want {
			t.Fatalf("the fake signed %q, trello.SignWebhook over the callback gives %q", real.Header.Get(trello.WebhookHeader), want)
		}
		wantJob := containerJob{State: "available", Args: service.SyncContainerArgs{Source: "trello", Container: e.board.ID}}
		checkJobs := func(what string, want ...containerJob) {
			t.Helper()
			got := e.containerJobs(t)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: sync_container jobs %+v, want %+v", what, got, want)
			}
			if all := e.jobs(t, ""); len(all) != len(got) {
				t.Errorf("%s: River holds other jobs too: %+v", what, all)
			}
		}
		checkJobs("after the delivery", wantJob)

		// The same delivery again (Trello retries one it thinks lost):
		// answered, nothing queued.
		status, body := e.postTrello(t, "trello", real.Body, real.Header.Get(trello.WebhookHeader))
		if status != http.StatusOK || !strings.Contains(body, `"duplicate":true`) {
			t.Errorf("the same delivery again: %d %s", status, body)
		}
		sent[[2]string{"trello", "duplicate"}]++
		checkJobs("after the redelivery", wantJob)

		// Refused with 401, nothing queued nor remembered.
		other := e.trelloBody("5f00000000000000000000a1")
		for _, c := range []struct {
			name string
			body []byte
			sig  string
		}{
			{"no signature", other, ""},
			{"signed with another secret", other, trello.SignWebhook([]byte("not the app secret"), other, cb)},
			{"altered after signing", other, trello.SignWebhook(secret, e.trelloBody("5f00000000000000000000a2"), cb)},
			{"signed for another callback", other, trello.SignWebhook(secret, other, e.callback("trello", "other"))},
			{"signed for the callback over https", other, trello.SignWebhook(secret, other, strings.Replace(cb, "http:", "https:", 1))},
			{"not base64", other, "%%%"},
		} {
			status, body := e.postTrello(t, "trello", c.body, c.sig)
			if status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", c.name, status, body)
			}
			sent[[2]string{"trello", "rejected"}]++
		}
		checkJobs("after the refused deliveries", wantJob)

		// The delivery the forgeries copied is taken when it comes
		// signed: the refusals did not mark it seen. Its pull is the
		// one already queued.
		if status, body := e.postTrello(t, "trello", other, trello.SignWebhook(secret, other, cb)); status != http.StatusAccepted {
			t.Errorf("a genuine delivery after forgeries of it: %d %s", status, body)
		}
		sent[[2]string{"trello", "accepted"}]++
		checkJobs("after a second delivery for the board", wantJob)

		// Signed but not a delivery; an unknown source; a source that
		// is not Trello's.
		junk := []byte(`{"hello":"world"}`)
		if status, body := e.postTrello(t, "trello", junk, trello.SignWebhook(secret, junk, cb)); status != http.StatusBadRequest {
			t.Errorf("a signed body that is no delivery: %d %s", status, body)
		}
		sent[[2]string{"trello", "rejected"}]++
		for _, src := range []string{"nope", "github"} {
			if status, body := e.postTrello(t, src, other, trello.SignWebhook(secret, other, e.callback("trello", src))); status != http.StatusNotFound {
				t.Errorf("source %s: %d %s, want 404", src, status, body)
			}
			sent[[2]string{"trello", "rejected"}]++
		}
		checkJobs("at the end", wantJob)

		// Every answer was given without asking Trello (or GitHub)
		// anything: the pull is the job's.
		if calls := e.apiCalls(); len(calls) != 0 {
			t.Errorf("the webhook handler called the APIs: %v", calls)
		}
		sent.check(t, e)
	})
}

// GitHub's deliveries: the ping a new hook gets, a genuine issue_comment
// delivery the fake sends (one pull of the repository), its redelivery
// with the same X-GitHub-Delivery (nothing more), a delivery signed by
// hand as GitHub signs, what is refused (a wrong, missing or SHA-1
// signature; an unknown source) and an event karkas does not act on. None
// of it makes a request to GitHub.
func TestGitHubWebhooks(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		ctx := context.Background()
		cb := e.callback("github", "github")
		sent := tally{}

		hooks, err := service.Hooks(e.app, []string{"github"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := service.Register(ctx, hooks, e.public.URL); err != nil {
			t.Fatalf("register: %v", err)
		}
		e.waitDeliveries(t)
		// The new hook's ping: 200, nothing queued.
		pings := e.githubDeliveries()
		if len(pings) != 1 || pings[0].Event != "ping" || pings[0].Status != http.StatusOK || pings[0].URL != cb {
			t.Fatalf("the fake's deliveries after register: %v, want its ping answered 200 at %s", pings, cb)
		}
		sent[[2]string{"github", "ignored"}]++
		if n := len(e.jobs(t, "")); n != 0 {
			t.Fatalf("%d jobs after a ping", n)
		}

		e.resetAPILogs()
		e.gw.Comment(e.repo.ID, e.issue.Number, "johnc", "Any news?")
		e.waitDeliveries(t)
		got := e.githubDeliveries()[1:]
		if len(got) != 1 || got[0].Event != "issue_comment" || got[0].Status != http.StatusAccepted {
			t.Fatalf("the fake's deliveries after a comment: %v, want one issue_comment answered 202", got)
		}
		sent[[2]string{"github", "accepted"}]++
		real := got[0]
		if want := githubSign(ghSecret, real.Body); real.Header.Get("X-Hub-Signature-256") != want {
			t.Fatalf("the fake signed %q, HMAC-SHA256 gives %q", real.Header.Get("X-Hub-Signature-256"), want)
		}
		wantJob := containerJob{State: "available", Args: service.SyncContainerArgs{Source: "github", Container: ghRepo}}
		checkJobs := func(what string, want ...containerJob) {
			t.Helper()
			got := e.containerJobs(t)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: sync_container jobs %+v, want %+v", what, got, want)
			}
			if all := e.jobs(t, ""); len(all) != len(got) {
				t.Errorf("%s: River holds other jobs too: %+v", what, all)
			}
		}
		checkJobs("after the delivery", wantJob)

		// GitHub's redelivery keeps X-GitHub-Delivery: answered,
		// nothing queued.
		if err := e.github.Redeliver(real.ID); err != nil {
			t.Fatal(err)
		}
		e.waitDeliveries(t)
		got = e.githubDeliveries()[2:]
		if len(got) != 1 || got[0].ID != real.ID || got[0].Status != http.StatusOK {
			t.Errorf("the redelivery: %v, want it answered 200", got)
		}
		sent[[2]string{"github", "duplicate"}]++
		checkJobs("after the redelivery", wantJob)

		send := func(event, delivery, sig string, body []byte) (int, string) {
			t.Helper()
			h := http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {event}, "X-Github-Delivery": {delivery}}
			if sig != "" {
				h.Set("X-Hub-Signature-256", sig)
			}
			return e.post(t, "/webhooks/github/github", h, body)
		}
		// A delivery made by hand as GitHub makes one, with a new
		// delivery id: taken; its pull is the one already queued.
		if status, body := send("issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958", githubSign(ghSecret, real.Body), real.Body); status != http.StatusAccepted {
			t.Errorf("a delivery signed by hand: %d %s", status, body)
		}
		sent[[2]string{"github", "accepted"}]++
		for _, c := range []struct{ name, sig string }{
			{"wrong secret", githubSign("another secret", real.Body)},
			{"no signature", ""},
			{"SHA-1 only", "sha1=" + strings.Repeat("0", 40)},
			{"not hex", "sha256=zz"},
		} {
			if status, body := send("issue_comment", "0e5a3c4e-0000-4000-8000-000000000001", c.sig, real.Body); status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", c.name, status, body)
			}
			sent[[2]string{"github", "rejected"}]++
		}
		// A star on the repository: verified, answered, not acted on.
		star := fmt.Appendf(nil, `{"action":"created","starred_at":"2026-03-02T09:00:00Z","repository":{"id":%d,"full_name":%q},"sender":{"login":"johnc"}}`, e.repo.ID, ghRepo)
		if status, body := send("star", "0e5a3c4e-0000-4000-8000-000000000002", githubSign(ghSecret, star), star); status != http.StatusOK {
			t.Errorf("a star: %d %s, want 200", status, body)
		}
		sent[[2]string{"github", "ignored"}]++
		for _, src := range []string{"nope", "trello"} {
			h := http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"issue_comment"}, "X-Github-Delivery": {"0e5a3c4e-0000-4000-8000-000000000003"},
				"X-Hub-Signature-256": {githubSign(ghSecret, real.Body)}}
			if status, body := e.post(t, "/webhooks/github/"+src, h, real.Body); status != http.StatusNotFound {
				t.Errorf("source %s: %d %s, want 404", src, status, body)
			}
			sent[[2]string{"github", "rejected"}]++
		}
		checkJobs("at the end", wantJob)
		if calls := e.apiCalls(); len(calls) != 0 {
			t.Errorf("the webhook handler called the APIs: %v", calls)
		}
		sent.check(t, e)
	})
}

// A delivery arriving while the pull it asks for runs queues one
// follow-up behind it, since the running pull may have passed the
// change; more deliveries meanwhile add nothing. The running job is
// River's own row, moved to running as a worker's fetch would (the
// daemon is not started, so no worker races the test).
func TestWebhookWhileRunningQueuesOneFollowUp(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		cb := e.callback("trello", "trello")
		secret := []byte(e.trello.WebhookSecret())
		deliver := func(actionID string) {
			t.Helper()
			body := e.trelloBody(actionID)
			if status, resp := e.postTrello(t, "trello", body, trello.SignWebhook(secret, body, cb)); status != http.StatusAccepted {
				t.Fatalf("delivery %s: %d %s", actionID, status, resp)
			}
		}
		args := service.SyncContainerArgs{Source: "trello", Container: e.board.ID}
		follow := args
		follow.FollowUp = true

		deliver("5f00000000000000000000b1")
		jobs := e.jobs(t, "")
		if len(jobs) != 1 {
			t.Fatalf("jobs after one delivery: %+v", jobs)
		}
		if _, err := e.app.Store.Exec(context.Background(), `UPDATE river_job SET state = 'running', attempt = 1 WHERE id = ?`, jobs[0].ID); err != nil {
			t.Fatal(err)
		}
		deliver("5f00000000000000000000b2")
		want := []containerJob{{State: "running", Args: args}, {State: "available", Args: follow}}
		if got := e.containerJobs(t); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after a delivery while the pull runs: %+v, want %+v", got, want)
		}
		deliver("5f00000000000000000000b3")
		deliver("5f00000000000000000000b4")
		if got := e.containerJobs(t); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after more deliveries while the pull runs: %+v, want %+v (one follow-up)", got, want)
		}
	})
}

// countingBody is an endless request body that counts what was read of
// it.
type countingBody struct{ n atomic.Int64 }

func (b *countingBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	b.n.Add(int64(len(p)))
	return len(p), nil
}

func (b *countingBody) Close() error { return nil }

// A body over MaxWebhookBody is refused with 413, unread when its length
// is announced and read no further than the bound when it is not
// (chunked), on both services' routes; nothing is queued.
func TestWebhookBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOptions{})
	h := e.svc.Handler(true)
	for _, c := range []struct {
		name, path string
		length     int64 // -1: not announced
		maxRead    int64
	}{
		{"trello, 10 MB announced", "/webhooks/trello/trello", 10 << 20, 0},
		{"trello, chunked", "/webhooks/trello/trello", -1, service.MaxWebhookBody + 1},
		{"github, 10 MB announced", "/webhooks/github/github", 10 << 20, 0},
		{"github, chunked", "/webhooks/github/github", -1, service.MaxWebhookBody + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := &countingBody{}
			req := httptest.NewRequest(http.MethodPost, c.path, body)
			req.ContentLength = c.length
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(trello.WebhookHeader, "c2lnbmF0dXJl")
			req.Header.Set("X-Hub-Signature-256", githubSign(ghSecret, nil))
			req.Header.Set("X-GitHub-Event", "issue_comment")
			req.Header.Set("X-GitHub-Delivery", "0e5a3c4e-0000-4000-8000-000000000009")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("%d %s, want 413", rec.Code, rec.Body)
			}
			if n := body.n.Load(); n > c.maxRead {
				t.Errorf("read %d bytes of the body, at most %d wanted", n, c.maxRead)
			}
		})
	}
	if jobs := e.jobs(t, ""); len(jobs) != 0 {
		t.Errorf("jobs after refused bodies: %+v", jobs)
	}
	tally{{"trello", "rejected"}: 2, {"github", "rejected"}: 2}.check(t, e)
}

// Two sources may watch one board (two accounts' boards overlap): Trello
// delivers the same action, with the same id, to each source's webhook,
// and each source pulls. What makes a delivery a redelivery is its action
// id for the same source.
func TestTrelloSameActionToTwoSources(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{extraSources: func(e *env) string {
			return fmt.Sprintf(`  - id: trello-b
    kind: trello
    options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", webhook_secret: "${TRELLO_WEBHOOK_SECRET}", boards: [%s], base_url: %q}
`, e.board.ID, e.trello.BaseURL())
		}})
		hooks, err := service.Hooks(e.app, []string{"trello", "trello-b"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := service.Register(context.Background(), hooks, e.public.URL); err != nil {
			t.Fatal(err)
		}
		e.tw.CommentCard(e.john.ID, e.card.ID, "Any news?")
		e.waitDeliveries(t)
		var got []string
		for _, d := range e.trelloDeliveries() {
			got = append(got, fmt.Sprint(strings.TrimPrefix(d.URL, e.public.URL), " ", d.Status))
		}
		slices.Sort(got)
		if want := []string{"/webhooks/trello/trello 202", "/webhooks/trello/trello-b 202"}; !slices.Equal(got, want) {
			t.Errorf("the deliveries of one action: %v, want %v", got, want)
		}
		var sources []string
		for _, j := range e.containerJobs(t) {
			sources = append(sources, j.Args.Source)
		}
		slices.Sort(sources)
		if want := []string{"trello", "trello-b"}; !slices.Equal(sources, want) {
			t.Errorf("pulls queued for %v, want %v", sources, want)
		}
		// Each source's redelivery is still a duplicate.
		for _, d := range e.trelloDeliveries() {
			if status, body := e.post(t, strings.TrimPrefix(d.URL, e.public.URL), d.Header, d.Body); status != http.StatusOK || !strings.Contains(body, "duplicate") {
				t.Errorf("redelivery to %s: %d %s", d.URL, status, body)
			}
		}
	})
}
