package githubfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/vclock"
)

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const tok = "ghp_faketoken0001"

type env struct {
	srv   *githubfake.Server
	w     *githubfake.World
	clock *vclock.Virtual
	repo  githubfake.Repo
	gh    *gh.Client
}

func newEnv(t *testing.T, limits githubfake.Limits) *env {
	t.Helper()
	clock := vclock.NewVirtual(epoch)
	w := githubfake.NewWorld(clock)
	w.AddUser("anna", "Anna")
	w.AddUser("john", "John")
	repo := w.AddRepo("northwind", "site", true)
	w.AddToken(tok, "anna")
	srv := githubfake.New(t, githubfake.Options{World: w, Limits: limits})
	c, err := gh.NewClient(srv.Client()).WithAuthToken(tok).WithEnterpriseURLs(srv.URL(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, w: w, clock: clock, repo: repo, gh: c}
}

// get sends a raw GET under /api/v3 with the token and headers.
func (e *env) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.APIURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := *e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// go-github v60, built with enterprise URLs, lists issues and pull
// requests with Link paging, since on updated_at, and sorts as asked.
func TestIssuesThroughGoGitHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	for i := range 7 {
		e.clock.Advance(time.Minute)
		e.w.OpenIssue(e.repo.ID, "john", "Issue "+strconv.Itoa(i), "body", "todo")
	}
	pr := e.w.OpenPullRequest(e.repo.ID, "anna", "Fix", "")
	e.clock.Advance(time.Minute)
	e.w.Comment(e.repo.ID, 2, "anna", "moved to the end of updated order")
	e.w.Close(e.repo.ID, 3, "anna", "not_planned")
	ctx := context.Background()
	var got []*gh.Issue
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "updated", Direction: "asc", ListOptions: gh.ListOptions{PerPage: 3}}
	pages := 0
	for {
		page, resp, err := e.gh.Issues.ListByRepo(ctx, "northwind", "site", opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, page...)
		if pages == 1 && resp.LastPage != 3 {
			t.Errorf("first page: LastPage %d, want 3", resp.LastPage)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	var order []int
	for _, is := range got {
		order = append(order, is.GetNumber())
	}
	if want := "[1 4 5 6 7 8 2 3]"; itoas(order) != want {
		t.Errorf("updated ascending: %v, want %s", order, want)
	}
	last := got[len(got)-1]
	if last.GetState() != "closed" || last.GetStateReason() != "not_planned" || last.ClosedAt == nil {
		t.Errorf("closed issue: %+v", last)
	}
	for _, is := range got {
		if is.IsPullRequest() != (is.GetNumber() == pr.Number) {
			t.Errorf("#%d: IsPullRequest %v", is.GetNumber(), is.IsPullRequest())
		}
	}
	// since keeps issues updated at or after it; state defaults to open.
	since := e.clock.Now().Truncate(time.Second)
	page, _, err := e.gh.Issues.ListByRepo(ctx, "northwind", "site", &gh.IssueListByRepoOptions{Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].GetNumber() != 2 {
		t.Errorf("open issues since the last change: %v", itoas(numbers(page)))
	}
}

func numbers(is []*gh.Issue) []int {
	var out []int
	for _, i := range is {
		out = append(out, i.GetNumber())
	}
	return out
}

func itoas(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.Itoa(n))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Every 200 GET has an ETag; the same request with it is 304 without a
// body and spends nothing, and a change makes it 200 again.
func TestETagAnd304(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	e.w.OpenIssue(e.repo.ID, "john", "A", "b")
	path := "/repos/northwind/site/issues?state=all&per_page=100"
	resp, _ := e.get(t, path)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("first answer %d, ETag %q", resp.StatusCode, etag)
	}
	rem := resp.Header.Get("X-RateLimit-Remaining")
	resp, body := e.get(t, path, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("X-RateLimit-Remaining") != rem {
		t.Errorf("conditional: %d, %d bytes, remaining %s (was %s)", resp.StatusCode, len(body), resp.Header.Get("X-RateLimit-Remaining"), rem)
	}
	if e.srv.Spent() != 1 || e.srv.NotModified() != 1 {
		t.Errorf("spent %d, 304s %d; want 1 and 1", e.srv.Spent(), e.srv.NotModified())
	}
	e.clock.Advance(time.Second)
	e.w.Comment(e.repo.ID, 1, "anna", "ok")
	if resp, _ := e.get(t, path, "If-None-Match", etag); resp.StatusCode != 200 {
		t.Errorf("after a change: %d, want 200", resp.StatusCode)
	}
	// go-github sees a 304 as an *ErrorResponse whose response says 304.
	ctx := context.Background()
	_, r, err := e.gh.Repositories.Get(ctx, "northwind", "site")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := e.gh.NewRequest(http.MethodGet, "repos/northwind/site", nil)
	req.Header.Set("If-None-Match", r.Header.Get("ETag"))
	r2, err := e.gh.Do(ctx, req, nil)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || r2.StatusCode != http.StatusNotModified {
		t.Errorf("go-github on a 304: %v, %v", err, r2)
	}
}

// A renamed repository: the old name answers 301 to /repositories/{id},
// which go-github follows; the id route works directly too.
func TestRenameRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	e.w.OpenIssue(e.repo.ID, "john", "A", "b")
	e.w.RenameRepo(e.repo.ID, "website")
	resp, _ := e.get(t, "/repos/northwind/site/issues?state=all")
	want := e.srv.APIURL() + "/repositories/" + strconv.FormatInt(e.repo.ID, 10) + "/issues?state=all"
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("old name: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	ctx := context.Background()
	issues, _, err := e.gh.Issues.ListByRepo(ctx, "northwind", "site", &gh.IssueListByRepoOptions{State: "all"})
	if err != nil || len(issues) != 1 {
		t.Fatalf("listing by the old name: %v, %d issues", err, len(issues))
	}
	r, _, err := e.gh.Repositories.GetByID(ctx, e.repo.ID)
	if err != nil || r.GetFullName() != "northwind/website" {
		t.Errorf("by id: %v, %q", err, r.GetFullName())
	}
	if _, _, err := e.gh.Repositories.Get(ctx, "northwind", "nothing"); !isStatus(err, 404) {
		t.Errorf("unknown repository: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == status
}

// Comments: the repository listing with since, sort and direction; an
// edit moves updated_at; both label bodies are accepted; writes show in
// the world with their events.
func TestCommentsLabelsAndWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{})
	ctx := context.Background()
	is, _, err := e.gh.Issues.Create(ctx, "northwind", "site", &gh.IssueRequest{Title: gh.String("From the API"), Body: gh.String("text"), Labels: &[]string{"ops"}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	c1, _, err := e.gh.Issues.CreateComment(ctx, "northwind", "site", is.GetNumber(), &gh.IssueComment{Body: gh.String("first")})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	c2 := e.w.Comment(e.repo.ID, is.GetNumber(), "john", "second")
	e.clock.Advance(time.Minute)
	e.w.EditComment(c1.GetID(), "first, edited")
	cs, _, err := e.gh.Issues.ListComments(ctx, "northwind", "site", 0, &gh.IssueListCommentsOptions{Sort: gh.String("updated"), Direction: gh.String("asc")})
	if err != nil || len(cs) != 2 || cs[0].GetID() != c2.ID || cs[1].GetBody() != "first, edited" || !cs[1].GetUpdatedAt().After(cs[1].GetCreatedAt().Time) {
		t.Errorf("comments by updated: %v %+v", err, cs)
	}
	since := e.clock.Now()
	cs, _, _ = e.gh.Issues.ListComments(ctx, "northwind", "site", 0, &gh.IssueListCommentsOptions{Since: &since})
	if len(cs) != 1 || cs[0].GetID() != c1.GetID() {
		t.Errorf("comments since the edit: %+v", cs)
	}
	if _, _, err := e.gh.Issues.AddLabelsToIssue(ctx, "northwind", "site", is.GetNumber(), []string{"urgent"}); err != nil {
		t.Fatal(err)
	}
	resp := e.post(t, "/repos/northwind/site/issues/1/labels", `{"labels":["client"]}`)
	if resp.StatusCode != 200 {
		t.Errorf(`{"labels": [...]}: %d`, resp.StatusCode)
	}
	got := e.w.Issue(e.repo.ID, is.GetNumber())
	if strings.Join(got.Labels, ",") != "ops,urgent,client" || got.Comments != 2 {
		t.Errorf("issue after writes: %+v", got)
	}
	var kinds []string
	for _, ev := range e.w.Events(e.repo.ID) {
		kinds = append(kinds, ev.Event+":"+ev.Label)
	}
	if strings.Join(kinds, " ") != "labeled:ops labeled:urgent labeled:client" {
		t.Errorf("events: %v", kinds)
	}
	evs, _, err := e.gh.Issues.ListRepositoryEvents(ctx, "northwind", "site", nil)
	if err != nil || len(evs) != 3 || evs[0].GetLabel().GetName() != "client" || evs[0].GetIssue().GetNumber() != 1 {
		t.Errorf("events newest first: %v %+v", err, evs)
	}
}

func (e *env) post(t *testing.T, path, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.APIURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// The limits: headers on every answer; the hour spent answers 403 with
// Remaining 0 until the reset; the secondary limit answers 403 with
// Retry-After and the secondary documentation; 401, 404 and 403 bodies.
func TestLimitsAndErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, githubfake.Limits{PerHour: 3, PointsPerMinute: -1})
	for i := range 3 {
		resp, _ := e.get(t, "/repos/northwind/site")
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) || resp.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("request %d: %d, remaining %s", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
	}
	resp, body := e.get(t, "/repos/northwind/site")
	reset, _ := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if resp.StatusCode != 403 || resp.Header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(string(body), "API rate limit exceeded") ||
		time.Unix(reset, 0).Sub(epoch) != time.Hour {
		t.Errorf("hour spent: %d %s %s reset %v", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"), body, time.Unix(reset, 0).UTC())
	}
	e.clock.AdvanceTo(time.Unix(reset, 0))
	if resp, _ := e.get(t, "/repos/northwind/site"); resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("after the reset: %d, remaining %s", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}

	e2 := newEnv(t, githubfake.Limits{PointsPerMinute: 2})
	e2.get(t, "/repos/northwind/site")
	e2.get(t, "/repos/northwind/site")
	resp, body = e2.get(t, "/repos/northwind/site")
	var er struct {
		Doc string `json:"documentation_url"`
	}
	_ = json.Unmarshal(body, &er)
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "60" || !strings.HasSuffix(er.Doc, "secondary-rate-limits") ||
		resp.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Errorf("secondary: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	_, _, err := e2.gh.Repositories.Get(context.Background(), "northwind", "site")
	var abuse *gh.AbuseRateLimitError
	if !errors.As(err, &abuse) {
		t.Errorf("go-github reads the secondary refusal as %T %v", err, err)
	}

	e3 := newEnv(t, githubfake.Limits{})
	e3.w.DenyIssues(tok, e3.repo.ID)
	resp, body = e3.get(t, "/repos/northwind/site/issues")
	if resp.StatusCode != 403 || !strings.Contains(string(body), "Resource not accessible") || resp.Header.Get("X-RateLimit-Remaining") == "" {
		t.Errorf("permission: %d %s remaining %q", resp.StatusCode, body, resp.Header.Get("X-RateLimit-Remaining"))
	}
	e3.srv.Arm(fakeapi.Fault{Kind: fakeapi.Unauthorized})
	if resp, body := e3.get(t, "/repos/northwind/site"); resp.StatusCode != 401 || !strings.Contains(string(body), "Bad credentials") {
		t.Errorf("401: %d %s", resp.StatusCode, body)
	}
	e3.srv.Arm(fakeapi.Fault{Kind: fakeapi.RateLimited})
	if resp, _ := e3.get(t, "/repos/northwind/site"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" {
		t.Errorf("429: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	priv := e3.w.AddRepo("northwind", "secret", true)
	e3.w.AddToken("ghp_narrow", "john", e3.repo.ID)
	req, _ := http.NewRequest(http.MethodGet, e3.srv.APIURL()+"/repositories/"+strconv.FormatInt(priv.ID, 10), nil)
	req.Header.Set("Authorization", "token ghp_narrow")
	r, err := e3.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 404 {
		t.Errorf("a private repository the token cannot see: %d, want 404", r.StatusCode)
	}
	if resp, _ := e3.get(t, "/repos/northwind/site/pulls"); resp.StatusCode != 500 {
		t.Errorf("a route the fake lacks: %d, want 500", resp.StatusCode)
	}
}
