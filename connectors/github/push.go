package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/karkas/karkas/connectors"
)

// The push side: the writes the outbox worker makes on GitHub. Each is
// idempotent although GitHub has no idempotency key: what karkas writes
// carries a marker naming its delivery, and before writing, the pusher
// looks for the marker among what was written since the delivery's first
// attempt, so a retry after a crash or a lost answer finds the issue or
// comment it already made instead of making a second one. Labels are
// idempotent by nature (adding one an issue has does nothing).
//
// A write is never retried blindly: after one that may have reached
// GitHub (a transport error, a timeout, a 5xx), the pusher looks for its
// marker before trying again.

// Pusher creates issues and comments.
type Pusher struct {
	c *Client
	// attempts bounds the tries of one write (3).
	attempts int
	now      func() time.Time
}

// NewPusher returns a pusher writing through c (and so within its
// budgets).
func NewPusher(c *Client) *Pusher {
	return &Pusher{c: c, attempts: 3, now: c.tr.clock.Now}
}

// markerRef matches what Marker accepts as a delivery id.
var markerRef = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// Marker is the hidden tag a body written for delivery id carries: a
// Markdown link reference definition on the body's last line,
//
//	[karkas:<id>]: #
//
// which GitHub's Markdown (CommonMark) does not show when nothing uses
// it; it stays in the body's source, which the API returns, so the search
// for it is a substring match. The pull reads a message carrying it as
// karkas's own (Automated), so it never counts as a human reply.
func Marker(deliveryID string) string { return "[karkas:" + deliveryID + "]: #" }

// DefaultLookback is how far back a delivery without a first attempt's
// time looks for its marker.
const DefaultLookback = 7 * 24 * time.Hour

// NewIssue is an issue to open.
type NewIssue struct {
	// Repo is owner/name.
	Repo      string
	Title     string
	Body      string
	Labels    []string
	Assignees []string
	// DeliveryID names the delivery; its Marker ends the body.
	DeliveryID string
	// Since is when the delivery was first attempted: issues opened
	// before it are not searched (zero: DefaultLookback ago).
	Since time.Time
}

// NewComment is a comment to post on an issue or pull request, with
// labels to put on it.
type NewComment struct {
	Repo       string
	Number     int
	Body       string
	Labels     []string
	DeliveryID string
	Since      time.Time
}

func withMarker(body, id string) string {
	return strings.TrimRight(body, "\n") + "\n\n" + Marker(id)
}

func (p *Pusher) since(t time.Time) time.Time {
	if t.IsZero() {
		t = p.now().Add(-DefaultLookback)
	}
	// GitHub's clock and ours differ; a minute either way costs a few
	// issues more to look through.
	return t.Add(-time.Minute).UTC().Truncate(time.Second)
}

func splitRepo(repo string) (owner, name string, err error) {
	if !repoRef.MatchString(repo) {
		return "", "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	owner, name, _ = strings.Cut(repo, "/")
	return owner, name, nil
}

// mayHaveReached says a failed write's fate is unknown: GitHub may have
// done it. A refusal (4xx, a rate limit that was not waited out, an
// unauthorized token) did nothing.
func mayHaveReached(err error) bool {
	var er *gh.ErrorResponse
	var rl *connectors.RateLimitError
	switch {
	case errors.As(err, &er):
		return er.Response == nil || er.Response.StatusCode >= 500
	case errors.As(err, &rl), errors.Is(err, connectors.ErrUnauthorized), errors.Is(err, context.Canceled):
		return false
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

// CreateIssue opens is unless an issue carrying its marker was opened
// since is.Since, and returns the issue; existed says it was found rather
// than opened. It costs one read per page of issues opened since then and
// at most one write per attempt.
func (p *Pusher) CreateIssue(ctx context.Context, is NewIssue) (issue *gh.Issue, existed bool, err error) {
	owner, name, err := splitRepo(is.Repo)
	if err != nil {
		return nil, false, fmt.Errorf("opening an issue: %w", err)
	}
	if strings.TrimSpace(is.Title) == "" {
		return nil, false, fmt.Errorf("opening an issue in %s: title is required", is.Repo)
	}
	if !markerRef.MatchString(is.DeliveryID) {
		return nil, false, fmt.Errorf("opening an issue in %s: delivery id %q must be 1-100 letters, digits or ._:-", is.Repo, is.DeliveryID)
	}
	marker := Marker(is.DeliveryID)
	since := p.since(is.Since)
	req := &gh.IssueRequest{Title: gh.String(is.Title), Body: gh.String(withMarker(is.Body, is.DeliveryID))}
	if len(is.Labels) > 0 {
		req.Labels = &is.Labels
	}
	if len(is.Assignees) > 0 {
		req.Assignees = &is.Assignees
	}
	for attempt := 1; ; attempt++ {
		found, err := p.findIssue(ctx, owner, name, marker, since)
		if err != nil {
			return nil, false, err
		}
		if found != nil {
			return found, true, nil
		}
		created, _, err := p.c.gh.Issues.Create(ctx, owner, name, req)
		if err == nil {
			return created, false, nil
		}
		if !mayHaveReached(err) || attempt >= p.attempts || ctx.Err() != nil {
			return nil, false, fmt.Errorf("opening an issue in %s: %w", is.Repo, err)
		}
		// Unknown fate: the next round looks before it writes.
	}
}

// findIssue looks for marker among the issues of owner/name opened since
// since (newest first, so the search stops at the first older one).
func (p *Pusher) findIssue(ctx context.Context, owner, name, marker string, since time.Time) (*gh.Issue, error) {
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "desc", Since: since, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := p.c.gh.Issues.ListByRepo(ctx, owner, name, opts)
		if err != nil {
			return nil, fmt.Errorf("looking for an earlier issue in %s/%s: %w", owner, name, err)
		}
		for _, is := range page {
			if strings.Contains(is.GetBody(), marker) {
				return is, nil
			}
			if is.GetCreatedAt().Before(since) {
				return nil, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// Comment posts c unless a comment carrying its marker was posted on the
// issue since c.Since, then puts c.Labels on the issue; existed says the
// comment was found rather than posted.
func (p *Pusher) Comment(ctx context.Context, c NewComment) (comment *gh.IssueComment, existed bool, err error) {
	owner, name, err := splitRepo(c.Repo)
	if err != nil {
		return nil, false, fmt.Errorf("commenting: %w", err)
	}
	if c.Number <= 0 || strings.TrimSpace(c.Body) == "" {
		return nil, false, fmt.Errorf("commenting in %s: an issue number and a body are required", c.Repo)
	}
	if !markerRef.MatchString(c.DeliveryID) {
		return nil, false, fmt.Errorf("commenting on %s#%d: delivery id %q must be 1-100 letters, digits or ._:-", c.Repo, c.Number, c.DeliveryID)
	}
	marker := Marker(c.DeliveryID)
	since := p.since(c.Since)
	body := withMarker(c.Body, c.DeliveryID)
	for attempt := 1; ; attempt++ {
		comment, err = p.findComment(ctx, owner, name, c.Number, marker, since)
		if err != nil {
			return nil, false, err
		}
		if comment != nil {
			existed = true
			break
		}
		comment, _, err = p.c.gh.Issues.CreateComment(ctx, owner, name, c.Number, &gh.IssueComment{Body: &body})
		if err == nil {
			break
		}
		if !mayHaveReached(err) || attempt >= p.attempts || ctx.Err() != nil {
			return nil, false, fmt.Errorf("commenting on %s#%d: %w", c.Repo, c.Number, err)
		}
	}
	if err := p.AddLabels(ctx, c.Repo, c.Number, c.Labels...); err != nil {
		return comment, existed, err
	}
	return comment, existed, nil
}

// findComment looks for marker among the issue's comments updated since
// since.
func (p *Pusher) findComment(ctx context.Context, owner, name string, number int, marker string, since time.Time) (*gh.IssueComment, error) {
	opts := &gh.IssueListCommentsOptions{Since: &since, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := p.c.gh.Issues.ListComments(ctx, owner, name, number, opts)
		if err != nil {
			return nil, fmt.Errorf("looking for an earlier comment on %s/%s#%d: %w", owner, name, number, err)
		}
		for _, c := range page {
			if strings.Contains(c.GetBody(), marker) {
				return c, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// AddLabels puts labels on an issue (GitHub makes the ones the repository
// lacks); labels it has already stay as they are. Adding is idempotent, so
// an attempt whose fate is unknown is simply repeated.
func (p *Pusher) AddLabels(ctx context.Context, repo string, number int, labels ...string) error {
	if len(labels) == 0 {
		return nil
	}
	owner, name, err := splitRepo(repo)
	if err != nil {
		return fmt.Errorf("adding labels: %w", err)
	}
	for attempt := 1; ; attempt++ {
		_, _, err := p.c.gh.Issues.AddLabelsToIssue(ctx, owner, name, number, labels)
		if err == nil {
			return nil
		}
		if !mayHaveReached(err) || attempt >= p.attempts || ctx.Err() != nil {
			var er *gh.ErrorResponse
			if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
				return fmt.Errorf("adding labels to %s#%d: no such issue: %w", repo, number, err)
			}
			return fmt.Errorf("adding labels to %s#%d: %w", repo, number, err)
		}
	}
}
