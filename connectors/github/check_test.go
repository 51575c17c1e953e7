package github_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
)

// Check finds what validate --online should: a misspelt or hidden
// repository, one renamed, one whose issues the token may not read, a
// status label one repository lacks, one that none has (said once); and a
// refused token, whichever of several it is, without naming it.
func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	w := f.w
	for _, l := range statusLabels {
		w.AddLabel(a.repo.ID, l, "")
	}
	renamed := w.AddRepo("northwind", "beta-app", true)
	w.RenameRepo(renamed.ID, "beta-mobile")
	for _, l := range statusLabels[:2] {
		w.AddLabel(renamed.ID, l, "")
	}
	denied := w.AddRepo("northwind", "cobalt-api", true)
	hidden := w.AddRepo("someone-else", "secret", true)
	// A fine-grained token: it sees three of the private repositories,
	// and may not read the issues of one.
	w.AddUser("boris", "Boris")
	w.AddToken("ghp_boris0001", "boris", a.repo.ID, renamed.ID, denied.ID)
	w.DenyIssues("ghp_boris0001", denied.ID)

	repos := []string{a.repo.FullName(), "northwind/acme-stie", "northwind/beta-app", denied.FullName(), hidden.FullName()}
	opts := github.Options{Repos: repos, StatusLabels: append(slices.Clone(statusLabels), "QA")}
	ps, err := f.source(t, opts, f.client(t, "ghp_boris0001")).CheckDetails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, p := range ps {
		kind := "error"
		if p.Warning {
			kind = "warning"
		}
		got[p.Repo] = append(got[p.Repo], kind+": "+p.Message)
	}
	want := map[string][]string{
		"northwind/acme-stie":  {"error: no repository northwind/acme-stie visible to the token"},
		"northwind/beta-app":   {"warning: repository northwind/beta-app was renamed to northwind/beta-mobile", `warning: no label "review" in northwind/beta-app`},
		"northwind/cobalt-api": {"error: the token may not read the issues of northwind/cobalt-api"},
		"someone-else/secret":  {"error: no repository someone-else/secret visible to the token"},
		"northwind/acme-site":  nil,
		"":                     {`error: no repository has the status label "QA"`},
	}
	for repo, ws := range want {
		if len(got[repo]) != len(ws) {
			t.Errorf("%s: %q, want %d problem(s) like %q", repo, got[repo], len(ws), ws)
			continue
		}
		for i, w := range ws {
			if !strings.HasPrefix(got[repo][i], w) {
				t.Errorf("%s: %q, want it to start %q", repo, got[repo][i], w)
			}
		}
	}

	for repo, ps := range got {
		if _, ok := want[repo]; !ok {
			t.Errorf("problems of %q, which is not configured: %q", repo, ps)
		}
	}

	// A revoked token is an error naming its place, never its value, and
	// what to fix.
	w.RevokeToken("ghp_boris0001")
	_, err = f.source(t, opts, f.client(t, a.tok, "ghp_boris0001")).CheckDetails(context.Background())
	var ue *github.UnauthorizedError
	if !errors.Is(err, connectors.ErrUnauthorized) || !errors.As(err, &ue) || ue.Token != 1 ||
		strings.Contains(err.Error(), "ghp_") || !strings.Contains(err.Error(), "token_file") {
		t.Errorf("a revoked second token: %v", err)
	}
}
