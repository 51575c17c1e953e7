package clockify_test

import (
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/secret"
)

func TestKind(t *testing.T) {
	t.Parallel()
	k := clockify.Kind()
	if k.Name != clockify.KindName || k.Identity != "time_tracker" {
		t.Fatalf("kind %+v", k)
	}
	o := k.NewOptions().(*timetrack.Options)
	if o.BaseURL != clockify.DefaultBaseURL {
		t.Errorf("default base_url %q", o.BaseURL)
	}
	o.Token = secret.Inline("secret-token-value")
	if _, err := k.Open(o, connectors.Env{}); err == nil || !strings.Contains(err.Error(), "account") || strings.Contains(err.Error(), o.Token.Reveal()) {
		t.Errorf("no account: err = %v", err)
	}
	o.Account = "64a1f0c2e4b0a1b2c3d4e5f6"
	src, err := k.Open(o, connectors.Env{})
	if err != nil || src == nil {
		t.Fatalf("open: %v", err)
	}
	o.Token = secret.Value{}
	if _, err := k.Open(o, connectors.Env{}); err == nil || !strings.Contains(err.Error(), clockify.EnvHint) {
		t.Errorf("no token: err = %v", err)
	}
}
