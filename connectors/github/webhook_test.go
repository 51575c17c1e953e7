package github_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/secret"
)

func sign256(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery builds a request as GitHub sends it; sig "" leaves the
// signature out.
func delivery(event, id, sig string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if event != "" {
		r.Header.Set("X-GitHub-Event", event)
	}
	if id != "" {
		r.Header.Set("X-GitHub-Delivery", id)
	}
	if sig != "" {
		r.Header.Set("X-Hub-Signature-256", sig)
	}
	r.Header.Set("X-GitHub-Hook-ID", "4242")
	return r
}

const issuesOpened = `{"action":"opened","issue":{"id":9001,"number":12,"title":"Checkout is slow","state":"open",
 "user":{"login":"john-acme","id":77,"type":"User"},"labels":[{"id":5,"name":"bug","color":"d73a4a"}],
 "body":"10 s. Можно быстрее?","created_at":"2026-03-02T09:00:00Z","updated_at":"2026-03-02T09:00:00Z","reactions":{"+1":0}},
 "repository":{"id":1004,"name":"acme-site","full_name":"northwind/acme-site","private":true,
  "owner":{"login":"northwind","id":1,"type":"Organization"},"topics":[]},
 "sender":{"login":"john-acme","id":77,"type":"User"},"installation":null}`

// GitHub's documented test vector ("Validating webhook deliveries"):
// secret "It's a Secret to Everybody", payload "Hello, World!". The
// vector's body is no JSON, so the delivery fails, but past the
// signature; one byte off in the signature fails at it. And a JSON body
// signed here, independently of the code, passes.
func TestParseWebhookKnownAnswer(t *testing.T) {
	t.Parallel()
	sec := []byte("It's a Secret to Everybody")
	const docSig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := sign256(sec, []byte("Hello, World!")); got != docSig {
		t.Fatalf("the test's own HMAC %s is not GitHub's %s", got, docSig)
	}
	_, err := github.ParseWebhook(delivery("ping", "d1", docSig, []byte("Hello, World!")), sec)
	if err == nil || errors.Is(err, github.ErrSignature) {
		t.Errorf("the docs' vector: %v, want a payload error past the signature", err)
	}
	bad := docSig[:len(docSig)-1] + "f"
	if _, err := github.ParseWebhook(delivery("ping", "d1", bad, []byte("Hello, World!")), sec); !errors.Is(err, github.ErrSignature) {
		t.Errorf("the docs' vector, last digit changed: %v, want ErrSignature", err)
	}
	body := []byte(issuesOpened)
	ev, err := github.ParseWebhook(delivery("issues", "72d3162e-cc78-11e3-81ab-4c9367dc0958", sign256(sec, body), body), sec)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != "issues" || ev.Action != "opened" || ev.DeliveryID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || ev.HookID != 4242 ||
		ev.Repo != "northwind/acme-site" || ev.RepoID != 1004 || !ev.Relevant || ev.Ping || !bytes.Equal(ev.Raw, body) {
		t.Errorf("event %+v", ev)
	}
	is, ok := ev.Payload.(*gh.IssuesEvent)
	if !ok || is.GetIssue().GetNumber() != 12 || is.GetIssue().Labels[0].GetName() != "bug" || is.GetSender().GetLogin() != "john-acme" {
		t.Errorf("payload %#v", ev.Payload)
	}
}

// Every way a delivery can fail to prove it is GitHub's is ErrSignature
// (a 401), and nothing else is.
func TestParseWebhookSignatureRefused(t *testing.T) {
	t.Parallel()
	sec := []byte("hook-secret-0001")
	body := []byte(issuesOpened)
	good := sign256(sec, body)
	sha1Sig := func() string {
		m := hmac.New(sha1.New, sec)
		m.Write(body)
		return "sha1=" + hex.EncodeToString(m.Sum(nil))
	}()
	for _, c := range []struct {
		name   string
		req    func() *http.Request
		secret []byte
	}{
		{"no signature", func() *http.Request { return delivery("issues", "d", "", body) }, sec},
		{"only the SHA-1 header", func() *http.Request {
			r := delivery("issues", "d", "", body)
			r.Header.Set("X-Hub-Signature", sha1Sig)
			return r
		}, sec},
		{"SHA-1 in the SHA-256 header", func() *http.Request { return delivery("issues", "d", sha1Sig, body) }, sec},
		{"not hex", func() *http.Request { return delivery("issues", "d", "sha256=zz", body) }, sec},
		{"body altered", func() *http.Request {
			return delivery("issues", "d", good, bytes.Replace(body, []byte(`"opened"`), []byte(`"closed"`), 1))
		}, sec},
		{"another secret", func() *http.Request { return delivery("issues", "d", good, body) }, []byte("hook-secret-0002")},
		{"signature of an empty body", func() *http.Request { return delivery("issues", "d", sign256(sec, nil), body) }, sec},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := github.ParseWebhook(c.req(), c.secret); !errors.Is(err, github.ErrSignature) {
				t.Errorf("err = %v, want ErrSignature", err)
			}
		})
	}
	if _, err := github.ParseWebhook(delivery("issues", "d", good, body), nil); err == nil || errors.Is(err, github.ErrSignature) {
		t.Errorf("no secret: %v, want a configuration error, not ErrSignature", err)
	}
	if _, err := github.ParseWebhook(delivery("issues", "d", good, body), sec); err != nil {
		t.Fatalf("the genuine delivery: %v", err)
	}
}

// Signed but unusable deliveries are errors other than ErrSignature (a
// 400); other event types parse and are reported as not relevant.
func TestParseWebhookKinds(t *testing.T) {
	t.Parallel()
	sec := []byte("hook-secret-0001")
	parse := func(event, id string, body []byte, mod func(*http.Request)) (github.Event, error) {
		r := delivery(event, id, sign256(sec, body), body)
		if mod != nil {
			mod(r)
		}
		return github.ParseWebhook(r, sec)
	}
	for _, c := range []struct {
		name, event, body  string
		relevant, ping     bool
		repo, action, kind string
	}{
		{"issue comment", "issue_comment", `{"action":"created","issue":{"number":3},"comment":{"id":5,"body":"hi"},"repository":{"id":9,"full_name":"o/r"}}`, true, false, "o/r", "created", "*github.IssueCommentEvent"},
		{"label", "label", `{"action":"created","label":{"name":"todo"},"repository":{"id":9,"full_name":"o/r"}}`, true, false, "o/r", "created", "*github.LabelEvent"},
		{"ping", "ping", `{"zen":"Keep it logically awesome.","hook_id":7,"hook":{"id":7},"repository":{"id":9,"full_name":"o/r"}}`, true, true, "o/r", "", "*github.PingEvent"},
		{"push", "push", `{"ref":"refs/heads/main","repository":{"id":9,"full_name":"o/r"}}`, false, false, "o/r", "", "*github.PushEvent"},
		{"unknown to go-github", "made_up_event", `{"action":"done","repository":{"id":9,"full_name":"o/r"}}`, false, false, "o/r", "done", "<nil>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := parse(c.event, "d-"+c.event, []byte(c.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			kind := fmt.Sprintf("%T", ev.Payload)
			if ev.Relevant != c.relevant || ev.Ping != c.ping || ev.Repo != c.repo || ev.RepoID != 9 || ev.Action != c.action || kind != c.kind {
				t.Errorf("got %+v (payload %s)", ev, kind)
			}
		})
	}
	for _, c := range []struct {
		name, event, id, body string
		mod                   func(*http.Request)
	}{
		{"no event type", "", "d", issuesOpened, nil},
		{"no delivery id", "issues", "", issuesOpened, nil},
		{"payload not JSON", "issues", "d", `{"action":`, nil},
		{"payload of the wrong shape", "issues", "d", `{"action":5}`, nil},
		{"unknown content type", "issues", "d", issuesOpened, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(c.event, c.id, []byte(c.body), c.mod)
			if err == nil || errors.Is(err, github.ErrSignature) {
				t.Errorf("err = %v, want an error that is not ErrSignature", err)
			}
		})
	}
	// A form-encoded delivery is signed over the form and read from its
	// payload field.
	form := []byte(url.Values{"payload": {issuesOpened}}.Encode())
	ev, err := parse("issues", "d", form, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") })
	if err != nil || ev.Repo != "northwind/acme-site" || string(ev.Raw) != issuesOpened {
		t.Errorf("form: %+v, %v", ev, err)
	}
}

// hookReceiver is karkas serve's side in miniature: it verifies and
// parses each delivery with the secret, answers 401 to a bad signature
// and status (200 when 0) otherwise, and keeps the events.
type hookReceiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	events []github.Event
	errs   []error
}

func newHookReceiver(t *testing.T, sec []byte) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := github.ParseWebhook(r, sec)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.errs = append(rc.errs, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.events = append(rc.events, ev)
		if s := rc.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) got() ([]github.Event, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events), slices.Clone(rc.errs)
}

func (rc *hookReceiver) urlFor(repo string) string { return rc.URL + "/hooks/github/" + repo }

func waitDeliveries(t *testing.T, s *githubfake.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
}

// hookWorld is an agency's two repositories, the token's account an
// admin of both.
func hookWorld(t *testing.T) (*fixture, *github.Client, []githubfake.Repo) {
	t.Helper()
	f := newFixture(t, githubfake.Limits{})
	f.w.AddUser("anna", "Anna")
	f.w.AddUser("john", "John")
	a := f.w.AddRepo("northwind", "acme-site", true)
	b := f.w.AddRepo("northwind", "globex-app", true)
	f.w.AddToken("ghp_annatoken0001", "anna")
	f.w.AddAdmin(a.ID, "anna")
	f.w.AddAdmin(b.ID, "anna")
	return f, f.client(t, "ghp_annatoken0001"), []githubfake.Repo{a, b}
}

// A second EnsureHooks creates nothing; each new hook is pinged, and the
// ping verifies with the secret.
func TestEnsureHooksIdempotentAndPinged(t *testing.T) {
	t.Parallel()
	f, c, repos := hookWorld(t)
	sec := []byte("hook-secret-0001")
	rc := newHookReceiver(t, sec)
	ctx := context.Background()
	names := []string{repos[0].FullName(), repos[1].FullName(), strings.ToUpper(repos[0].FullName())}
	created, kept, err := c.EnsureHooks(ctx, names, rc.urlFor, sec)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || len(kept) != 0 {
		t.Fatalf("first call: created %d, kept %d; want 2 and 0", len(created), len(kept))
	}
	for i, h := range created {
		if h.Repo != repos[i].FullName() || h.URL != rc.urlFor(repos[i].FullName()) || h.ContentType != "json" || !h.Active ||
			!slices.Equal(h.Events, []string{"issue_comment", "issues", "label"}) {
			t.Errorf("created[%d] = %+v", i, h)
		}
	}
	const createRoute = "POST /repos/{owner}/{repo}/hooks"
	creates := f.srv.Count(createRoute, 0)
	created2, kept2, err := c.EnsureHooks(ctx, names, rc.urlFor, sec)
	if err != nil || len(created2) != 0 || len(kept2) != 2 {
		t.Errorf("second call: created %d, kept %d, err %v; want 0 and 2", len(created2), len(kept2), err)
	}
	if n := f.srv.Count(createRoute, 0); n != creates {
		t.Errorf("second call sent %d creates", n-creates)
	}
	waitDeliveries(t, f.srv)
	evs, errs := rc.got()
	if len(errs) > 0 {
		t.Fatalf("deliveries refused: %v", errs)
	}
	if len(evs) != 2 {
		t.Fatalf("%d deliveries, want two pings", len(evs))
	}
	for _, ev := range evs {
		if !ev.Ping || ev.Type != "ping" || !ev.Relevant || ev.DeliveryID == "" {
			t.Errorf("ping %+v", ev)
		}
		if i := slices.IndexFunc(created, func(h github.Hook) bool { return h.ID == ev.HookID && h.Repo == ev.Repo }); i < 0 {
			t.Errorf("ping of hook %d on %s, which EnsureHooks did not create", ev.HookID, ev.Repo)
		}
	}
}

// A hook switched off, or missing karkas's events, is kept and fixed;
// its other events stay.
func TestEnsureHooksFixes(t *testing.T) {
	t.Parallel()
	f, c, repos := hookWorld(t)
	sec := []byte("hook-secret-0001")
	rc := newHookReceiver(t, sec)
	ctx := context.Background()
	full := repos[0].FullName()
	owner, name, _ := strings.Cut(full, "/")
	h, _, err := c.GitHub().Repositories.CreateHook(ctx, owner, name, &gh.Hook{
		Config: &gh.HookConfig{URL: gh.String(rc.urlFor(full)), ContentType: gh.String("json"), Secret: gh.String(string(sec))},
		Events: []string{"push", "issues"}, Active: gh.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	created, kept, err := c.EnsureHooks(ctx, []string{full}, rc.urlFor, sec)
	if err != nil || len(created) != 0 || len(kept) != 1 {
		t.Fatalf("created %d kept %d err %v", len(created), len(kept), err)
	}
	got := f.w.Hooks(repos[0].ID)[0]
	if got.ID != h.GetID() || !got.Active || !slices.Equal(got.Events, []string{"issue_comment", "issues", "label", "push"}) {
		t.Errorf("fixed hook %+v", got)
	}
}

// A repository the token may not manage fails alone; a hook already gone
// deletes without error.
func TestEnsureHooksPartialAndDelete(t *testing.T) {
	t.Parallel()
	f, c, repos := hookWorld(t)
	sec := []byte("hook-secret-0001")
	rc := newHookReceiver(t, sec)
	other := f.w.AddRepo("someone", "theirs", false)
	ctx := context.Background()
	created, _, err := c.EnsureHooks(ctx, []string{other.FullName(), repos[0].FullName()}, rc.urlFor, sec)
	if err == nil || !strings.Contains(err.Error(), "someone/theirs") {
		t.Errorf("err = %v, want one naming someone/theirs", err)
	}
	if len(created) != 1 || created[0].Repo != repos[0].FullName() {
		t.Fatalf("created %+v", created)
	}
	for range 2 {
		if err := c.DeleteHook(ctx, repos[0].FullName(), created[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	if hs, err := c.Hooks(ctx, repos[0].FullName()); err != nil || len(hs) != 0 {
		t.Errorf("after delete: %+v %v", hs, err)
	}
	if _, _, err := c.EnsureHooks(ctx, []string{repos[0].FullName()}, rc.urlFor, nil); err == nil {
		t.Error("no secret: no error")
	}
}

// A change reaches the receiver verified and parsed; a refused delivery
// redelivered keeps its delivery id, so the receiver can tell it saw it.
func TestDeliveryAndRedelivery(t *testing.T) {
	t.Parallel()
	f, c, repos := hookWorld(t)
	sec := []byte("hook-secret-0001")
	rc := newHookReceiver(t, sec)
	ctx := context.Background()
	if _, _, err := c.EnsureHooks(ctx, []string{repos[0].FullName()}, rc.urlFor, sec); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, f.srv)
	rc.status.Store(http.StatusInternalServerError)
	is := f.w.OpenIssue(repos[0].ID, "john", "Checkout is slow", "10 s")
	waitDeliveries(t, f.srv)
	rc.status.Store(0)
	f.w.AddLabels(repos[0].ID, is.Number, "anna", "todo")
	waitDeliveries(t, f.srv)
	evs, errs := rc.got()
	if len(errs) > 0 {
		t.Fatalf("refused: %v", errs)
	}
	var kinds []string
	var opened github.Event
	for _, ev := range evs {
		kinds = append(kinds, ev.Type+" "+ev.Action)
		if ev.Type == "issues" && ev.Action == "opened" {
			opened = ev
		}
	}
	slices.Sort(kinds)
	if want := []string{"issues labeled", "issues opened", "label created", "ping "}; !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if p, ok := opened.Payload.(*gh.IssuesEvent); !ok || p.GetIssue().GetTitle() != "Checkout is slow" || opened.Repo != repos[0].FullName() {
		t.Errorf("opened %+v", opened)
	}
	if err := f.srv.Redeliver(opened.DeliveryID); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, f.srv)
	evs, _ = rc.got()
	seen := 0
	for _, ev := range evs {
		if ev.DeliveryID == opened.DeliveryID {
			seen++
			if !bytes.Equal(ev.Raw, opened.Raw) {
				t.Error("the redelivery's payload differs")
			}
		}
	}
	if seen != 2 {
		t.Errorf("delivery %s seen %d times, want 2 (the refused one and its redelivery)", opened.DeliveryID, seen)
	}
}

// OpenWebhooks reads the tokens and the webhook secret through
// env.Secrets, requires the secret, and ensures hooks on the source's
// repositories.
func TestOpenWebhooks(t *testing.T) {
	t.Parallel()
	f, _, repos := hookWorld(t)
	const hookSec = "7c1e5d0b9a8f4e3d2c1b0a9f8e7d6c5b"
	opts := func() *github.Options {
		o := github.DefaultOptions()
		o.Token, o.BaseURL, o.Repos = secret.Inline("ghp_annatoken0001"), f.srv.URL(), []string{repos[0].FullName()}
		return o
	}
	secrets := secret.NewSet()
	env := connectors.Env{HTTPClient: f.srv.Client(), Secrets: secrets}
	if _, err := github.OpenWebhooks(opts(), env); err == nil || !strings.Contains(err.Error(), "webhook_secret") {
		t.Fatalf("without a secret: %v", err)
	}
	o := opts()
	o.WebhookSecret = secret.FromFile(hookSec, "github-webhook") // as the decoder reads it
	wh, err := github.OpenWebhooks(o, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := secrets.Redact("secret " + hookSec); strings.Contains(got, hookSec) {
		t.Errorf("the webhook secret is not redacted: %q", got)
	}
	if !slices.Equal(wh.Repos(), []string{repos[0].FullName()}) {
		t.Errorf("Repos = %v", wh.Repos())
	}
	rc := newHookReceiver(t, []byte(hookSec))
	created, _, err := wh.Ensure(context.Background(), rc.urlFor)
	if err != nil || len(created) != 1 {
		t.Fatalf("Ensure: %+v, %v", created, err)
	}
	waitDeliveries(t, f.srv)
	if evs, errs := rc.got(); len(evs) != 1 || !evs[0].Ping || len(errs) != 0 {
		t.Errorf("the hook's ping: %+v %v", evs, errs)
	}
	body := []byte(issuesOpened)
	if _, err := wh.Parse(delivery("issues", "d", sign256([]byte(hookSec), body), body)); err != nil {
		t.Errorf("Parse: %v", err)
	}
	if _, err := wh.Parse(delivery("issues", "d", sign256([]byte("another"), body), body)); !errors.Is(err, github.ErrSignature) {
		t.Errorf("Parse with another secret: %v", err)
	}
}
