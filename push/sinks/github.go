package sinks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/internal/secret"
)

// GitHubOptions configure a github sink.
type GitHubOptions struct {
	Token   secret.Value `yaml:"token" required:"true" env:"GITHUB_TOKEN" doc:"GitHub token allowed to write issues in repo (and in the clients' repositories, for comments); write ${GITHUB_TOKEN} (or token_file)"`
	BaseURL string       `yaml:"base_url" doc:"GitHub Enterprise Server root (default github.com); for tests"`
	Repo    string       `yaml:"repo" doc:"the ops repository (owner/name) where an issue is opened for a notice whose task is not a GitHub issue, and for digests and summaries"`
	Labels  []string     `yaml:"labels" doc:"labels put on the issues opened (default [sla])"`
}

// DefaultGitHubOptions returns the options a config's block is decoded
// into.
func DefaultGitHubOptions() *GitHubOptions { return &GitHubOptions{Labels: []string{"sla"}} }

// GitHub comments on the task's issue when the task is a GitHub issue,
// and otherwise opens an issue in the ops repository, assigned to the
// people addressed. A clock leaving at risk or breached is a comment on
// the issue its earlier notice opened.
type GitHub struct {
	p *github.Pusher
	o GitHubOptions
}

var opsRepo = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// NewGitHub builds a github sink.
func NewGitHub(o GitHubOptions, env connectors.Env) (*GitHub, error) {
	token, err := env.Secrets.Require(o.Token, "token", "GITHUB_TOKEN")
	if err != nil {
		return nil, err
	}
	if o.Repo != "" && !opsRepo.MatchString(o.Repo) {
		return nil, fmt.Errorf("repo: %q is not owner/name", o.Repo)
	}
	c, err := github.NewClient(github.ClientOptions{BaseURL: o.BaseURL, HTTPClient: env.HTTPClient, Tokens: []string{token}, Logger: env.Logger})
	if err != nil {
		return nil, err
	}
	return &GitHub{p: github.NewPusher(c), o: o}, nil
}

// GitHubKind is the github sink kind: a comment on the task's issue when
// the task is a GitHub issue, else an issue in the ops repository.
func GitHubKind() Kind {
	k := newKind("github", "issue in an ops repository, or comment on the linked issue", DefaultGitHubOptions, NewGitHub)
	k.Digests = true
	k.Bind = func(b Binding, t *Target) string {
		t.Issue = githubIssue(b)
		return ""
	}
	k.Handle = func(p Person) string { return at(p.GitHub) }
	return k
}

// githubIssue is the issue of a task pulled from a github source: its
// repository's name and the number after the # of its id.
func githubIssue(b Binding) *Issue {
	if !b.Task("github") || b.Container == "" {
		return nil
	}
	_, num, ok := strings.Cut(b.SubjectID, "#")
	number, err := strconv.Atoi(num)
	if !ok || err != nil || number <= 0 {
		return nil
	}
	return &Issue{Repo: b.Container, Number: number}
}

// Summarizes is true: digests and summaries are issues in the ops
// repository.
func (s *GitHub) Summarizes() bool { return s.o.Repo != "" }

var githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

func (s *GitHub) logins(d Delivery) []string {
	var out []string
	for _, p := range d.Target.People {
		if githubLogin.MatchString(p.GitHub) {
			out = append(out, p.GitHub)
		}
	}
	return out
}

// Deliver comments or opens the issue once: the pusher looks for the
// delivery's marker among what was written since d.Created first.
func (s *GitHub) Deliver(ctx context.Context, d Delivery) (Result, error) {
	if len(d.Message.Items) == 0 {
		return Result{}, Permanent(fmt.Errorf("delivery %s says nothing: no items", d.ID))
	}
	follow := d.Message.Kind == KindNotice && !entering(d.Message.Items[0].To)
	switch {
	case d.Target.Issue != nil:
		return s.comment(ctx, d, *d.Target.Issue, d.Message.Markdown(d.Target, s.logins(d)))
	case follow && d.FollowUp == "":
		return Result{Skipped: "no issue of this clock to follow up"}, nil
	case follow:
		repo, num, ok := parseIssueRef(d.FollowUp)
		if !ok {
			return Result{Skipped: fmt.Sprintf("the earlier delivery's reference %q names no issue", d.FollowUp)}, nil
		}
		return s.comment(ctx, d, Issue{Repo: repo, Number: num}, d.Message.Markdown(d.Target, nil))
	case s.o.Repo == "":
		return Result{}, Permanent(fmt.Errorf("delivery %s: the task is not a GitHub issue and the sink names no repo", d.ID))
	}
	// GitHub does not render a title as Markdown, but a mention in it
	// still notifies.
	title := strings.ReplaceAll(d.Message.Title(d.Target), "@", fullwidthAt)
	is, existed, err := s.p.CreateIssue(ctx, github.NewIssue{Repo: s.o.Repo, Title: title,
		Body: d.Message.Markdown(d.Target, nil), Labels: s.o.Labels, Assignees: s.logins(d), DeliveryID: d.ID, Since: d.Created})
	if err != nil {
		return Result{}, githubError(err)
	}
	return Result{Ref: fmt.Sprintf("%s#%d", s.o.Repo, is.GetNumber()), Existed: existed}, nil
}

func (s *GitHub) comment(ctx context.Context, d Delivery, is Issue, body string) (Result, error) {
	c, existed, err := s.p.Comment(ctx, github.NewComment{Repo: is.Repo, Number: is.Number, Body: body, DeliveryID: d.ID, Since: d.Created})
	if err != nil {
		return Result{}, githubError(err)
	}
	return Result{Ref: fmt.Sprintf("%s#%d comment %d", is.Repo, is.Number, c.GetID()), Existed: existed}, nil
}

// parseIssueRef reads "owner/name#12" (and what follows a space).
func parseIssueRef(ref string) (string, int, bool) {
	ref, _, _ = strings.Cut(ref, " ")
	repo, num, ok := strings.Cut(ref, "#")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || !opsRepo.MatchString(repo) {
		return "", 0, false
	}
	return repo, n, true
}

// githubError sorts a GitHub failure as sortFailure does.
func githubError(err error) error {
	var er *gh.ErrorResponse
	status := 0
	if errors.As(err, &er) && er.Response != nil {
		status = er.Response.StatusCode
	}
	return sortFailure(err, status, false)
}
