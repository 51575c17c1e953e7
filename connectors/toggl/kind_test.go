package toggl_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/internal/secret"
)

func TestKind(t *testing.T) {
	t.Parallel()
	k := toggl.Kind()
	if k.Name != toggl.KindName || k.Identity != "time_tracker" {
		t.Fatalf("kind %+v", k)
	}
	o := k.NewOptions().(*timetrack.Options)
	if o.BaseURL != toggl.DefaultBaseURL {
		t.Errorf("default base_url %q", o.BaseURL)
	}
	// The deadline's doc says toggl's default outlasts an hour's quota.
	if o.Deadline != 2*time.Hour || o.RequestTimeout != connectors.DefaultRequestTimeout {
		t.Errorf("default deadline %s, request_timeout %s", o.Deadline, o.RequestTimeout)
	}
	o.Token = secret.Inline("secret-token-value")
	if _, err := k.Open(o, connectors.Env{}); err == nil || !strings.Contains(err.Error(), "account") || strings.Contains(err.Error(), o.Token.Reveal()) {
		t.Errorf("no account: err = %v", err)
	}
	o.Account = "4567890"
	src, err := k.Open(o, connectors.Env{})
	if err != nil || src == nil {
		t.Fatalf("open: %v", err)
	}
	o.Token = secret.Value{}
	if _, err := k.Open(o, connectors.Env{}); err == nil || !strings.Contains(err.Error(), toggl.EnvHint) {
		t.Errorf("no token: err = %v", err)
	}
}
