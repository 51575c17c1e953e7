package clockify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/timetrack"
)

// The source's Check asks GET /api/v1/workspaces once: the right key and
// workspace pass; a wrong key is refused with Clockify's message and
// without the key; a workspace the key's user is not in is named, with
// the workspaces it is in.
func TestCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clockifyfake.Options{})
	check := func(key, workspace string) error {
		tr, err := clockify.New(clockify.Config{BaseURL: w.fake.BaseURL(), Key: key, Workspace: workspace,
			HTTPClient: w.fake.Client(), Clock: w.clock})
		if err != nil {
			t.Fatal(err)
		}
		src := timetrack.NewSource(tr, *clockify.Kind().NewOptions().(*timetrack.Options), connectors.Env{})
		return src.Check(context.Background())
	}
	if err := check(w.fake.Key(), w.fake.Workspace()); err != nil {
		t.Errorf("the right key: %v", err)
	}
	err := check("wrong-secret-key", w.fake.Workspace())
	if !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "Full authentication is required") || strings.Contains(err.Error(), "wrong-secret-key") {
		t.Errorf("a wrong key: %v", err)
	}
	err = check(w.fake.Key(), "64a1f0c2e4b0a1b2c3d4ffff")
	if err == nil || errors.Is(err, connectors.ErrUnauthorized) ||
		!strings.Contains(err.Error(), "not in Clockify workspace 64a1f0c2e4b0a1b2c3d4ffff (its workspaces: "+w.fake.Workspace()+` "`+clockifyfake.DefaultWorkspaceName+`")`) {
		t.Errorf("a wrong workspace: %v", err)
	}
	reqs := w.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests for three checks", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != "GET" || r.Path != "/api/v1/workspaces" {
			t.Errorf("request %s %s", r.Method, r.Path)
		}
	}
}
