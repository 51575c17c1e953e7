package timetrack_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/fakeapi"
	"github.com/karkas/karkas/internal/vclock"
)

// TestAnswerCap: an answer that never ends is an error of that request
// once the client has read the cap of it, on every attempt. Not parallel:
// it lowers the cap.
func TestAnswerCap(t *testing.T) {
	defer timetrack.SetMaxBody(1 << 20)()
	endless := &fakeapi.Endless{}
	base, _ := url.Parse("http://tracker.invalid/api/")
	c := &timetrack.HTTP{Base: base, Client: &http.Client{Transport: endless}, Clock: vclock.NewVirtual(t0), BackoffBase: time.Millisecond, Attempts: 2}
	_, err := c.Get(context.Background(), "team/time", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "answer larger than 1048576 bytes") {
		t.Fatalf("got %v, want an answer too large", err)
	}
	if read, most := endless.Read(), int64(2*(1<<20+64<<10)); read > most {
		t.Errorf("read %d bytes of endless answers, more than %d", read, most)
	}
}
