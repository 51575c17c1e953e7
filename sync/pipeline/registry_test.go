package pipeline

import (
	"testing"

	"github.com/karkas/karkas/mapping"
)

// Every kind's person ids have a people: field to be mapped by, so that
// a source with a new identity namespace cannot be registered without
// one (mapping/identity.go).
func TestEveryIdentityHasAPeopleField(t *testing.T) {
	reg := Registry()
	for _, name := range reg.Names() {
		k, _ := reg.Lookup(name)
		if _, ok := mapping.IdentityFieldOf(k.Identity); !ok {
			t.Errorf("kind %s: identity %q has no people: field tagged identity:%q in mapping.Person", name, k.Identity, k.Identity)
		}
	}
	if len(reg.Names()) < 10 {
		t.Errorf("only %d kinds registered: %v", len(reg.Names()), reg.Names())
	}
}
