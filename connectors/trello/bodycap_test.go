package trello

import (
	"context"
	"strings"
	"testing"

	"github.com/karkas/karkas/internal/fakeapi"
)

// TestClientBodyCap: an answer that never ends is an error of that
// request once the client has read maxBody of it, on every attempt. Not
// parallel: it lowers maxBody.
func TestClientBodyCap(t *testing.T) {
	defer func(n int64) { maxBody = n }(maxBody)
	maxBody = 1 << 20
	e := newEnv(t, envOptions{})
	endless := &fakeapi.Endless{}
	e.urls.next = endless
	_, err := e.client.Lists(context.Background(), "65b000000000000000000b07")
	if err == nil || !strings.Contains(err.Error(), "response larger than 1048576 bytes") {
		t.Fatalf("got %v, want a response too large", err)
	}
	if read, most := endless.Read(), 5*(maxBody+64<<10); read > most {
		t.Errorf("read %d bytes of endless answers, more than %d", read, most)
	}
}
