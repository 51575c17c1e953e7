package githubfake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors/github/githubfake"
)

// receiver is a hook endpoint that records every delivery and answers
// status (200 when 0).
type receiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []got
}

type got struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, got{header: r.Header.Clone(), body: b})
		rc.mu.Unlock()
		if s := rc.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []got {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// events lists the deliveries as "event action", sorted.
func (rc *receiver) events(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, g := range rc.deliveries() {
		var p struct{ Action string }
		if err := json.Unmarshal(g.body, &p); err != nil {
			t.Fatalf("delivery %s: %v", g.body, err)
		}
		out = append(out, strings.TrimSpace(g.header.Get("X-GitHub-Event")+" "+p.Action))
	}
	slices.Sort(out)
	return out
}

func waitDeliveries(t *testing.T, s *githubfake.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
}

const hookSecret = "It's a Secret to Everybody"

func (e *env) createHook(t *testing.T, url string, events ...string) *gh.Hook {
	t.Helper()
	h, _, err := e.gh.Repositories.CreateHook(context.Background(), "northwind", "site", &gh.Hook{
		Config: &gh.HookConfig{URL: gh.String(url), ContentType: gh.String("json"), Secret: gh.String(hookSecret)},
		Events: events, Active: gh.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// A hook made through go-github answers GitHub's shape, hides its secret,
// and gets a ping signed as GitHub signs: sha256= and sha1= HMACs of the
// body with the hook's secret.
func TestHookCreatePing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	e.w.AddAdmin(e.repo.ID, "anna")
	rc := newReceiver(t)
	h := e.createHook(t, rc.URL+"/github", "issues", "issue_comment", "label")
	if h.GetID() == 0 || h.GetName() != "web" || !h.GetActive() || h.GetType() != "Repository" ||
		h.Config.GetURL() != rc.URL+"/github" || h.Config.GetContentType() != "json" || h.Config.GetSecret() != "********" {
		t.Errorf("created %s", h)
	}
	if !slices.Equal(h.Events, []string{"issue_comment", "issues", "label"}) {
		t.Errorf("events %v", h.Events)
	}
	waitDeliveries(t, e.srv)
	ds := rc.deliveries()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries after create, want the ping", len(ds))
	}
	d := ds[0]
	mac256 := hmac.New(sha256.New, []byte(hookSecret))
	mac256.Write(d.body)
	mac1 := hmac.New(sha1.New, []byte(hookSecret))
	mac1.Write(d.body)
	for k, want := range map[string]string{
		"X-GitHub-Event":                         "ping",
		"X-Hub-Signature-256":                    "sha256=" + hex.EncodeToString(mac256.Sum(nil)),
		"X-Hub-Signature":                        "sha1=" + hex.EncodeToString(mac1.Sum(nil)),
		"Content-Type":                           "application/json",
		"X-GitHub-Hook-ID":                       jsonNumber(h.GetID()),
		"X-GitHub-Hook-Installation-Target-Type": "repository",
		"X-GitHub-Hook-Installation-Target-ID":   jsonNumber(e.repo.ID),
	} {
		if got := d.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !guid.MatchString(d.header.Get("X-GitHub-Delivery")) {
		t.Errorf("X-GitHub-Delivery %q is not a GUID", d.header.Get("X-GitHub-Delivery"))
	}
	if !strings.HasPrefix(d.header.Get("User-Agent"), "GitHub-Hookshot/") {
		t.Errorf("User-Agent %q", d.header.Get("User-Agent"))
	}
	ev, err := gh.ParseWebHook("ping", d.body)
	if err != nil {
		t.Fatal(err)
	}
	ping := ev.(*gh.PingEvent)
	if ping.GetHookID() != h.GetID() || ping.GetZen() == "" || ping.GetHook().GetID() != h.GetID() || ping.GetRepo().GetFullName() != "northwind/site" {
		t.Errorf("ping %s", d.body)
	}
	if bytes.Contains(d.body, []byte(hookSecret)) {
		t.Error("the ping shows the secret")
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Listing, duplicates, deleting, and who may: only an admin, others get
// 404 as from GitHub.
func TestHookListDeleteAndRights(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	ctx := context.Background()
	rc := newReceiver(t)
	if _, resp, err := e.gh.Repositories.ListHooks(ctx, "northwind", "site", nil); err == nil || resp.StatusCode != 404 {
		t.Fatalf("a non-admin lists hooks: %v", err)
	}
	e.w.AddAdmin(e.repo.ID, "anna")
	h := e.createHook(t, rc.URL, "issues")
	_, resp, err := e.gh.Repositories.CreateHook(ctx, "northwind", "site", &gh.Hook{Config: &gh.HookConfig{URL: gh.String(rc.URL), ContentType: gh.String("json")}})
	if err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate URL: %v", err)
	}
	hs, _, err := e.gh.Repositories.ListHooks(ctx, "northwind", "site", nil)
	if err != nil || len(hs) != 1 || hs[0].GetID() != h.GetID() || hs[0].Config.GetSecret() != "********" {
		t.Fatalf("list %v, %v", hs, err)
	}
	if resp, err := e.gh.Repositories.DeleteHook(ctx, "northwind", "site", h.GetID()); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.gh.Repositories.DeleteHook(ctx, "northwind", "site", h.GetID()); err == nil {
		t.Error("a second delete succeeded")
	}
	if hs := e.w.Hooks(e.repo.ID); len(hs) != 0 {
		t.Errorf("hooks after delete: %+v", hs)
	}
}

// Changes reach the hooks subscribed to their events, in GitHub's
// payload shape; a pull request's own changes reach none but comments.
func TestHookDeliveriesOnChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	e.w.AddAdmin(e.repo.ID, "anna")
	all := newReceiver(t)
	issuesOnly := newReceiver(t)
	e.createHook(t, all.URL, "issues", "issue_comment", "label")
	e.createHook(t, issuesOnly.URL, "issues")
	waitDeliveries(t, e.srv)
	before := len(all.deliveries())

	is := e.w.OpenIssue(e.repo.ID, "john", "Checkout is slow", "10 s", "bug")
	e.w.Comment(e.repo.ID, is.Number, "anna", "Looking")
	e.w.EditIssue(e.repo.ID, is.Number, "john", "Checkout is very slow", "10 s")
	pr := e.w.OpenPullRequest(e.repo.ID, "anna", "Fix", "")
	e.w.AddLabels(e.repo.ID, pr.Number, "anna", "bug")
	e.w.Comment(e.repo.ID, pr.Number, "john", "Thanks")
	e.w.Close(e.repo.ID, is.Number, "anna", "")
	waitDeliveries(t, e.srv)

	want := []string{"issue_comment created", "issue_comment created", "issues closed", "issues edited", "issues labeled", "issues opened", "label created", "ping"}
	if got := all.events(t); !slices.Equal(got, want) {
		t.Errorf("all events got\n%v, want\n%v", got, want)
	}
	if got, want := issuesOnly.events(t), []string{"issues closed", "issues edited", "issues labeled", "issues opened", "ping"}; !slices.Equal(got, want) {
		t.Errorf("issues hook got %v, want %v", got, want)
	}
	for _, d := range all.deliveries()[before:] {
		ev, err := gh.ParseWebHook(d.header.Get("X-GitHub-Event"), d.body)
		if err != nil {
			t.Fatalf("%s: %v", d.body, err)
		}
		switch ev := ev.(type) {
		case *gh.IssuesEvent:
			if ev.GetRepo().GetFullName() != "northwind/site" || ev.GetIssue().GetNumber() != is.Number || ev.GetSender().GetLogin() == "" {
				t.Errorf("issues %s: %s", ev.GetAction(), d.body)
			}
			if ev.GetAction() == "edited" && ev.GetChanges().GetTitle().GetFrom() != "Checkout is slow" {
				t.Errorf("edited without the old title: %s", d.body)
			}
			if ev.GetAction() == "labeled" && ev.GetLabel().GetName() != "bug" {
				t.Errorf("labeled without the label: %s", d.body)
			}
		case *gh.IssueCommentEvent:
			if ev.GetComment().GetBody() == "" || ev.GetIssue().GetNumber() == 0 || ev.GetRepo().GetFullName() != "northwind/site" {
				t.Errorf("comment %s", d.body)
			}
		case *gh.LabelEvent:
			if ev.GetLabel().GetName() != "bug" {
				t.Errorf("label %s", d.body)
			}
		}
	}
}

// A delivery is redelivered with its X-GitHub-Delivery and body; the
// deliveries route lists both, the second as a redelivery. A hook
// switched off gets nothing.
func TestHookRedeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	e.w.AddAdmin(e.repo.ID, "anna")
	rc := newReceiver(t)
	rc.status.Store(http.StatusServiceUnavailable)
	h := e.createHook(t, rc.URL, "issue_comment")
	e.w.Comment(e.repo.ID, e.w.OpenIssue(e.repo.ID, "john", "Q", "").Number, "john", "Any news?")
	waitDeliveries(t, e.srv)
	ds := rc.deliveries()
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want the ping and the comment (GitHub does not retry)", len(ds))
	}
	// The ping and the comment are sent at once: either may arrive
	// first.
	first := ds[1]
	if first.header.Get("X-GitHub-Event") != "issue_comment" {
		first = ds[0]
	}
	if first.header.Get("X-GitHub-Event") != "issue_comment" {
		t.Fatalf("no issue_comment among the deliveries: %s, %s", ds[0].header.Get("X-GitHub-Event"), ds[1].header.Get("X-GitHub-Event"))
	}
	id := first.header.Get("X-GitHub-Delivery")
	rc.status.Store(0)
	if err := e.srv.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, e.srv)
	ds = rc.deliveries()
	if len(ds) != 3 {
		t.Fatalf("%d deliveries after the redelivery, want 3", len(ds))
	}
	again := ds[2]
	if again.header.Get("X-GitHub-Delivery") != id || !bytes.Equal(again.body, first.body) ||
		again.header.Get("X-Hub-Signature-256") != first.header.Get("X-Hub-Signature-256") {
		t.Errorf("redelivery differs: %s %s", again.header.Get("X-GitHub-Delivery"), again.body)
	}
	if err := e.srv.Redeliver("00000000-0000-4000-8000-000000000000"); err == nil {
		t.Error("redelivering an unknown delivery: no error")
	}

	ctx := context.Background()
	list, _, err := e.gh.Repositories.ListHookDeliveries(ctx, "northwind", "site", h.GetID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].GetGUID() != id || !list[0].GetRedelivery() || list[0].GetStatusCode() != 200 ||
		list[1].GetGUID() != id || list[1].GetRedelivery() || list[1].GetStatusCode() != 503 || list[1].GetEvent() != "issue_comment" {
		t.Errorf("deliveries %v", list)
	}
	// GitHub's own redelivery route: 202, the same GUID once more.
	req, _ := http.NewRequest(http.MethodPost, e.srv.APIURL()+"/repos/northwind/site/hooks/"+jsonNumber(h.GetID())+"/deliveries/"+jsonNumber(list[1].GetID())+"/attempts", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("attempts route: %d", resp.StatusCode)
	}
	waitDeliveries(t, e.srv)
	if ds := rc.deliveries(); len(ds) != 4 || ds[3].header.Get("X-GitHub-Delivery") != id {
		t.Errorf("after the attempts route: %d deliveries", len(ds))
	}

	e.w.SetHookActive(e.repo.ID, h.GetID(), false)
	e.w.Comment(e.repo.ID, 1, "john", "Hello?")
	waitDeliveries(t, e.srv)
	if n := len(rc.deliveries()); n != 4 {
		t.Errorf("an inactive hook got %d deliveries", n-4)
	}
}

// A hook with content_type form gets payload=<JSON>, signed over the form
// body, which go-github's ValidatePayload reads.
func TestHookFormContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	e.w.AddAdmin(e.repo.ID, "anna")
	rc := newReceiver(t)
	if _, _, err := e.gh.Repositories.CreateHook(context.Background(), "northwind", "site", &gh.Hook{
		Config: &gh.HookConfig{URL: gh.String(rc.URL), Secret: gh.String(hookSecret)}, Events: []string{"issues"}}); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, e.srv)
	d := rc.deliveries()[0]
	if ct := d.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Fatalf("Content-Type %q", ct)
	}
	form, err := url.ParseQuery(string(d.body))
	if err != nil || !json.Valid([]byte(form.Get("payload"))) {
		t.Fatalf("body %q", d.body)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(d.body))
	req.Header = d.header.Clone()
	payload, err := gh.ValidatePayload(req, []byte(hookSecret))
	if err != nil || string(payload) != form.Get("payload") {
		t.Errorf("ValidatePayload: %v", err)
	}
}
