package harvest_test

import (
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/secret"
)

func TestKind(t *testing.T) {
	t.Parallel()
	k := harvest.Kind()
	if k.Name != harvest.KindName || k.Identity != "time_tracker" {
		t.Fatalf("kind %+v", k)
	}
	o := k.NewOptions().(*timetrack.Options)
	if o.BaseURL != harvest.DefaultBaseURL {
		t.Errorf("default base_url %q", o.BaseURL)
	}
	o.Token = secret.Inline("secret-token-value")
	if _, err := k.Open(o, connectors.Env{}); err == nil || !strings.Contains(err.Error(), "account") || strings.Contains(err.Error(), o.Token.Reveal()) {
		t.Errorf("no account: err = %v", err)
	}
	o.Account = "1121001"
	src, err := k.Open(o, connectors.Env{})
	if err != nil || src == nil {
		t.Fatalf("open: %v", err)
	}
	o.Token = secret.Value{}
	if _, err := k.Open(o, connectors.Env{}); err == nil || !strings.Contains(err.Error(), harvest.EnvHint) {
		t.Errorf("no token: err = %v", err)
	}
}
