package fakeapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestEveryCountsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var got []int
	Every(ctx, time.Millisecond, func(n int) {
		got = append(got, n)
		if n == 3 {
			cancel()
		}
	})
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("calls %v, want [1 2 3]", got)
	}
}

func TestServeUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}
