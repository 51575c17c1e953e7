package toggl_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
)

// The source's Check asks GET /api/v9/me/workspaces once: the right token
// and workspace pass; a wrong token is refused with Toggl's message and
// without the token; a workspace the token's user is not in is named,
// with the workspaces it is in.
func TestCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t, togglfake.Options{WorkspaceName: "Северный ветер"})
	check := func(token, workspace string) error {
		tr, err := toggl.New(toggl.Config{BaseURL: w.fake.BaseURL(), Token: token, Workspace: workspace,
			HTTPClient: w.fake.Client(), Clock: w.clock})
		if err != nil {
			t.Fatal(err)
		}
		src := timetrack.NewSource(tr, *toggl.Kind().NewOptions().(*timetrack.Options), connectors.Env{})
		return src.Check(context.Background())
	}
	ws := fmt.Sprint(w.fake.Workspace())
	if err := check(w.fake.Token(), ws); err != nil {
		t.Errorf("the right token: %v", err)
	}
	err := check("wrong-secret-token", ws)
	if !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "Incorrect username and/or password") || strings.Contains(err.Error(), "wrong-secret-token") {
		t.Errorf("a wrong token: %v", err)
	}
	err = check(w.fake.Token(), "1234")
	if err == nil || errors.Is(err, connectors.ErrUnauthorized) ||
		!strings.Contains(err.Error(), "not in Toggl workspace 1234 (its workspaces: "+ws+` "Северный ветер")`) {
		t.Errorf("a wrong workspace: %v", err)
	}
	reqs := w.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests for three checks", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != "GET" || r.Path != "/api/v9/me/workspaces" {
			t.Errorf("request %s %s", r.Method, r.Path)
		}
	}
}

// A spent hourly quota does not make a check wait for the next hour: it
// ends at once with the wait Toggl asks for.
func TestCheckQuotaSpent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, togglfake.Options{})
	w.fake.Arm(togglfake.Fault{Kind: togglfake.FaultQuota, RetryAfter: 3590})
	tr := w.tracker(t, w.fake.Token())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := tr.Check(ctx)
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 3591*time.Second || !w.clock.Now().Equal(start) {
		t.Errorf("err %v after waiting %v", err, w.clock.Now().Sub(start))
	}
}
