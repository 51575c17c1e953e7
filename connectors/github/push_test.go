package github_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/fakeapi"
)

const routeCreateIssue = "POST /repos/{owner}/{repo}/issues"

// withMarker counts the issues of a repository whose body carries the
// delivery's marker.
func withMarker(f *fixture, repo int64, delivery string) int {
	n := 0
	for _, is := range f.w.Issues(repo) {
		if is.Body != nil && strings.Contains(*is.Body, github.Marker(delivery)) {
			n++
		}
	}
	return n
}

// The issue's third "done means": the push is killed between GitHub's
// answer and the store's record (the answer is lost and the process
// dies), the push is run again, and exactly one issue exists. A lost
// answer within one push is found the same way, and a repeat of a push
// that went through finds its issue.
func TestCreateIssueOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c, err := github.NewClient(github.ClientOptions{BaseURL: f.srv.URL(), HTTPClient: f.srv.Client(), Tokens: []string{a.tok},
		Clock: f.clock, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := github.NewPusher(c)
	since := f.clock.Now()
	is := github.NewIssue{Repo: a.repo.FullName(), Title: "SLA breached: Checkout page is slow", Body: "Nobody answered John for 6 business hours.",
		Labels: []string{"sla"}, Assignees: []string{a.anna}, DeliveryID: "clock-1:breached", Since: since}

	// Killed: the answer never comes and the process dies.
	ctx, cancel := context.WithCancel(context.Background())
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultLoseReply, Method: "POST"})
	f.srv.SetAfter(func(route string) {
		if route == routeCreateIssue {
			cancel()
		}
	})
	if _, _, err := p.CreateIssue(ctx, is); err == nil {
		t.Fatal("the killed push reported success")
	}
	f.srv.SetAfter(nil)
	if n := withMarker(f, a.repo.ID, is.DeliveryID); n != 1 {
		t.Fatalf("GitHub holds %d issues of the killed push, want the 1 it made", n)
	}
	f.clock.Advance(time.Minute)
	got, existed, err := p.CreateIssue(context.Background(), is)
	if err != nil || !existed || withMarker(f, a.repo.ID, is.DeliveryID) != 1 {
		t.Fatalf("the push run again: %v, existed %v, %d issues", err, existed, withMarker(f, a.repo.ID, is.DeliveryID))
	}
	if got.GetTitle() != is.Title || len(got.Labels) != 1 || got.Labels[0].GetName() != "sla" || len(got.Assignees) != 1 || got.Assignees[0].GetLogin() != a.anna {
		t.Errorf("found issue: %+v", got)
	}

	// A lost answer within one push: it looks, finds, and does not open
	// a second.
	is2 := is
	is2.DeliveryID = "clock-2:breached"
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultLoseReply, Method: "POST"})
	if _, existed, err := p.CreateIssue(context.Background(), is2); err != nil || !existed {
		t.Fatalf("after a lost answer: %v, existed %v", err, existed)
	}
	if n := withMarker(f, a.repo.ID, is2.DeliveryID); n != 1 || f.srv.Count(routeCreateIssue, 0) != 2 {
		t.Errorf("%d issues and %d creations after a lost answer, want 1 and 2 in all", n, f.srv.Count(routeCreateIssue, 0))
	}

	// A refusal is not retried.
	if _, _, err := p.CreateIssue(context.Background(), github.NewIssue{Repo: "northwind/nothing", Title: "x", DeliveryID: "d3"}); err == nil ||
		f.srv.Count(routeCreateIssue, 0) != 2 {
		t.Errorf("a push to a missing repository: %v, %d creations", err, f.srv.Count(routeCreateIssue, 0))
	}
}

// A comment on the client's issue, with labels, is posted once even when
// its answer is lost; the next pull reads it as karkas's own, never as a
// human reply.
func TestCommentOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	c, err := github.NewClient(github.ClientOptions{BaseURL: f.srv.URL(), HTTPClient: f.srv.Client(), Tokens: []string{a.tok},
		Clock: f.clock, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := github.NewPusher(c)
	cm := github.NewComment{Repo: a.repo.FullName(), Number: a.issue1.Number, Body: "Reminder: we are waiting for your feedback.",
		Labels: []string{"waiting-client"}, DeliveryID: "clock-9:reminder", Since: f.clock.Now()}
	f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultLoseReply, Method: "POST", Route: "/api/v3/repos/*/*/issues/*/comments"})
	if _, existed, err := p.Comment(context.Background(), cm); err != nil || !existed {
		t.Fatalf("after a lost answer: %v, existed %v", err, existed)
	}
	if _, existed, err := p.Comment(context.Background(), cm); err != nil || !existed {
		t.Fatalf("run again: %v, existed %v", err, existed)
	}
	n := 0
	var id int64
	for _, c := range f.w.Comments(a.repo.ID) {
		if strings.Contains(c.Body, github.Marker(cm.DeliveryID)) {
			n++
			id = c.ID
		}
	}
	is := f.w.Issue(a.repo.ID, a.issue1.Number)
	if n != 1 || !strings.Contains(strings.Join(is.Labels, ","), "waiting-client") {
		t.Errorf("%d comments, labels %v", n, is.Labels)
	}

	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}}, c)
	m := newMemStore()
	if err := src.Pull(context.Background(), "", m.emit); err != nil {
		t.Fatal(err)
	}
	if got := m.messages[itoa(id)]; !got.Automated || got.AutomatedReason != "karkas" {
		t.Errorf("karkas's comment as pulled: automated %v (%q)", got.Automated, got.AutomatedReason)
	}
}
