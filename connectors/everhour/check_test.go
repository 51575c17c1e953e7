package everhour_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/internal/vclock"
)

// The source's Check asks GET /users/me once: the right key passes, a
// wrong one is refused with Everhour's message and without the key.
func TestCheck(t *testing.T) {
	t.Parallel()
	w := everhourfake.NewWorld(vclock.NewVirtual(start))
	w.AddUser("Anna Smith", "anna@northwind.agency")
	srv := everhourfake.New(t, everhourfake.Options{World: w})
	check := func(token string) error {
		o := everhour.Kind().NewOptions().(*timetrack.Options)
		o.BaseURL, o.Token = srv.BaseURL(), secret.Inline(token)
		src, err := everhour.Kind().Open(o, connectors.Env{HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return src.(connectors.Checker).Check(context.Background())
	}
	if err := check(srv.APIKey()); err != nil {
		t.Errorf("the right key: %v", err)
	}
	err := check("wrong-secret-key")
	if !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid API key") || strings.Contains(err.Error(), "wrong-secret-key") {
		t.Errorf("a wrong key: %v", err)
	}
	if n := srv.RouteCount("GET /users/me"); n != 2 {
		t.Errorf("%d requests to GET /users/me, want one per check", n)
	}
	if srv.Total() != 2 {
		t.Errorf("%d requests for two checks", srv.Total())
	}
}
