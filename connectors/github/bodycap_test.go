package github_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/vclock"
)

// TestAnswerCap: an answer that never ends is an error of that request
// once the client has read the cap of it, on every attempt. Not parallel:
// it lowers the cap.
func TestAnswerCap(t *testing.T) {
	defer github.SetMaxBody(1 << 20)()
	endless := &fakeapi.Endless{}
	c, err := github.NewClient(github.ClientOptions{HTTPClient: &http.Client{Transport: endless}, Tokens: []string{"t"},
		Clock: vclock.NewVirtual(epoch), BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.GitHub().Repositories.Get(context.Background(), "acme", "site")
	if err == nil || !strings.Contains(err.Error(), "answer larger than 1048576 bytes") {
		t.Fatalf("got %v, want an answer too large", err)
	}
	if read, most := endless.Read(), int64(2*(1<<20+64<<10)); read > most {
		t.Errorf("read %d bytes of endless answers, more than %d", read, most)
	}
}
