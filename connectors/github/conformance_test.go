package github_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/testdb"
)

// The github source passes the suite every source runs.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config: fmt.Sprintf(storeCfg, "northwind/acme-site"),
		Info:   ghInfo,
		New: func(t *testing.T) conformance.Upstream {
			f := newFixture(t, githubfake.Limits{})
			return &githubUpstream{f: f, a: newAgency(t, f)}
		},
	})
}

type githubUpstream struct {
	f *fixture
	a *agency
}

func (u *githubUpstream) source(t *testing.T, tok string) connectors.Source {
	u.f.clock.Advance(time.Minute)
	return u.f.source(t, github.Options{Repos: []string{u.a.repo.FullName()}, StatusLabels: statusLabels, Bots: []string{"ci-runner"}, BatchSize: 3},
		u.f.client(t, tok))
}

func (u *githubUpstream) Open(t *testing.T) connectors.Source { return u.source(t, u.a.tok) }

func (u *githubUpstream) Change(t *testing.T) func(testdb.Records) bool {
	c := u.f.w.Comment(u.a.repo.ID, u.a.issue1.Number, u.a.john, "Is it live yet?")
	id := strconv.FormatInt(c.ID, 10)
	return func(r testdb.Records) bool {
		for k, m := range r.Messages {
			if k == id || m.Body == "Is it live yet?" {
				return true
			}
		}
		return false
	}
}

func (u *githubUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.f.w.DeleteComment(u.a.question.ID)
	return func(r testdb.Records) bool {
		for _, m := range r.Messages {
			if m.Body == u.a.question.Body {
				return false
			}
		}
		return true
	}
}

func (u *githubUpstream) Fault(t *testing.T) {
	u.f.srv.Arm(fakeapi.Fault{Kind: fakeapi.ServerError, Status: 502})
}

func (u *githubUpstream) RateLimit(t *testing.T) {
	u.f.srv.Arm(fakeapi.Fault{Kind: githubfake.FaultSecondary})
}

func (u *githubUpstream) Refused(t *testing.T) connectors.Source {
	u.f.w.RevokeToken(u.a.tok)
	return u.source(t, u.a.tok)
}
