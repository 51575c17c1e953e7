package harvest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/timetrack"
)

// The source's Check asks GET /v2/users/me once, in the configured
// account: the right token and account pass; a wrong token, or an account
// the token cannot reach, is refused with Harvest's message and without
// the token.
func TestCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{})
	check := func(token, account string) error {
		tr, err := harvest.New(harvest.Config{BaseURL: w.fake.BaseURL(), Token: token, Account: account,
			HTTPClient: w.fake.Client(), Clock: w.clock})
		if err != nil {
			t.Fatal(err)
		}
		src := timetrack.NewSource(tr, *harvest.Kind().NewOptions().(*timetrack.Options), connectors.Env{})
		return src.Check(context.Background())
	}
	if err := check(w.fake.Token(), w.fake.Account()); err != nil {
		t.Errorf("the right token: %v", err)
	}
	for _, tc := range []struct{ name, token, account, want string }{
		{"wrong token", "9999999.pt.wrongSecretToken", w.fake.Account(), "invalid_token"},
		{"wrong account", w.fake.Token(), "7654321", "The account is not accessible with this token."},
	} {
		err := check(tc.token, tc.account)
		if !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "account "+tc.account) || strings.Contains(err.Error(), "wrongSecret") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := w.fake.Count("/v2/users/me", 0); n != 3 || len(w.fake.Requests()) != 3 {
		t.Errorf("%d requests to /v2/users/me, %d in all; want one per check", n, len(w.fake.Requests()))
	}
}

// The fake's GET /v2/users/me is the token's owner: the first user.
func TestFakeMe(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harvestfake.Options{})
	tr := w.tracker(t, w.fake.Token())
	var me struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		IsActive  bool   `json:"is_active"`
	}
	if _, err := tr.HTTP().Get(context.Background(), "users/me", nil, &me); err != nil || me.ID != w.anna || me.FirstName != "Anna" || !me.IsActive {
		t.Errorf("me %+v, err %v", me, err)
	}
}
