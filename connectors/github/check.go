package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"
	"github.com/karkas/karkas/connectors"
)

// CheckProblem is something CheckDetails found wrong with the source's
// configuration against GitHub.
type CheckProblem = connectors.CheckProblem

// CheckDetails asks GitHub what `karkas validate --online` needs to know before
// a first sync: that the token is accepted, that every repository to pull
// exists and is visible to it under the configured name, that the token
// may read its issues, and that the status_labels exist there. A refused
// token or an unreachable server is an error (nothing else can be
// checked); the rest are problems, each naming its repository. It costs
// a request per token and three per repository (more for a repository
// with over a hundred labels).
func (s *Source) CheckDetails(ctx context.Context) ([]CheckProblem, error) {
	c := s.client.gh
	for i := range s.client.tr.tokens {
		// Each token in turn (a request sticks to the token its key
		// names), so that a refused one is found before a sync needs it.
		if _, _, err := c.Users.Get(withStick(ctx, int64(i)), ""); err != nil {
			if ue := (*UnauthorizedError)(nil); errors.As(err, &ue) {
				return nil, fmt.Errorf("%w: fix token, token_file or tokens", ue)
			}
			return nil, fmt.Errorf("asking GitHub whose token %d is: %w", i, err)
		}
	}
	var out []CheckProblem
	// missing holds, per status label, the repositories without it.
	missing := map[string][]CheckProblem{}
	read := 0
	for _, ref := range s.repos {
		ps, labels, err := s.checkRepo(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if labels == nil {
			continue
		}
		read++
		for _, want := range s.opts.StatusLabels {
			want = strings.TrimSpace(want)
			if !slices.ContainsFunc(labels, func(h string) bool { return strings.EqualFold(h, want) }) {
				missing[want] = append(missing[want], CheckProblem{Repo: ref, Warning: true,
					Message: fmt.Sprintf("no label %q in %s, so no issue there reaches that status (labels: %s)", want, ref, strings.Join(labels, ", "))})
			}
		}
	}
	for _, want := range s.opts.StatusLabels {
		ps := missing[strings.TrimSpace(want)]
		if len(ps) > 1 && len(ps) == read {
			// A typo rather than a repository set up differently: said once.
			out = append(out, CheckProblem{Message: fmt.Sprintf("no repository has the status label %q", strings.TrimSpace(want))})
			continue
		}
		out = append(out, ps...)
	}
	return out, nil
}

// checkRepo checks one repository and returns its labels' names, nil
// when they could not be read.
func (s *Source) checkRepo(ctx context.Context, ref string) ([]CheckProblem, []string, error) {
	c := s.client.gh
	problem := func(warning bool, format string, args ...any) CheckProblem {
		return CheckProblem{Repo: ref, Message: fmt.Sprintf(format, args...), Warning: warning}
	}
	status := func(err error) int {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil {
			return er.Response.StatusCode
		}
		return 0
	}
	owner, name, _ := strings.Cut(ref, "/")
	r, _, err := c.Repositories.Get(ctx, owner, name)
	switch status(err) {
	case 0:
		if err != nil {
			return nil, nil, fmt.Errorf("reading repository %s: %w", ref, err)
		}
	case http.StatusNotFound:
		return []CheckProblem{problem(false, "no repository %s visible to the token (a typo, a private repository the account cannot see, or one a fine-grained token does not list)", ref)}, nil, nil
	default:
		return []CheckProblem{problem(false, "repository %s cannot be read: %v", ref, err)}, nil, nil
	}
	var out []CheckProblem
	if full := r.GetFullName(); !strings.EqualFold(full, ref) {
		out = append(out, problem(true, "repository %s was renamed to %s; it syncs, but name the new one", ref, full))
		owner, name, _ = strings.Cut(full, "/")
	}
	if _, _, err := c.Issues.ListByRepo(ctx, owner, name, &gh.IssueListByRepoOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 1}}); err != nil {
		switch status(err) {
		case http.StatusForbidden:
			return append(out, problem(false, "the token may not read the issues of %s: give it read access to issues", ref)), nil, nil
		case http.StatusGone:
			return append(out, problem(false, "repository %s has issues switched off", ref)), nil, nil
		case 0:
			return nil, nil, fmt.Errorf("reading issues of %s: %w", ref, err)
		}
		return append(out, problem(false, "the issues of %s cannot be read: %v", ref, err)), nil, nil
	}
	if len(s.opts.StatusLabels) == 0 {
		return out, nil, nil
	}
	labels := []string{}
	for page := 1; page != 0; {
		ls, resp, err := c.Issues.ListLabels(ctx, owner, name, &gh.ListOptions{PerPage: 100, Page: page})
		if err != nil {
			return append(out, problem(true, "the labels of %s cannot be read: %v", ref, err)), nil, nil
		}
		for _, l := range ls {
			labels = append(labels, l.GetName())
		}
		page = resp.NextPage
	}
	return out, labels, nil
}
