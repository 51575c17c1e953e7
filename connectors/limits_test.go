package connectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTimeoutErrorSaysWhichLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"request", &TimeoutError{Limit: LimitRequestTimeout, After: 30 * time.Second}, "no answer within request_timeout 30s"},
		{"deadline", &TimeoutError{Limit: LimitDeadline, After: 30 * time.Minute}, "source deadline 30m reached"},
		{"deadline with cause", &TimeoutError{Limit: LimitDeadline, After: 90 * time.Minute, Err: errors.New("GET /x: 429")}, "source deadline 1h30m reached: GET /x: 429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWaitPassesTheDeadlineOnTheSourcesClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // a virtual clock's: the wall deadline is far
	ctx, cancel := WithDeadline(context.Background(), start, 10*time.Minute)
	defer cancel()
	if !HasDeadline(ctx) || HasDeadline(context.Background()) {
		t.Fatal("HasDeadline wrong")
	}
	if err := WaitPasses(ctx, start.Add(10*time.Minute), nil); err != nil {
		t.Errorf("a wait ending at the deadline: %v", err)
	}
	why := errors.New("GET /team/time: 429 Too Many Requests")
	err := WaitPasses(ctx, start.Add(10*time.Minute+time.Second), why)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Limit != LimitDeadline || !errors.Is(err, why) {
		t.Fatalf("got %v, want the deadline wrapping the 429", err)
	}
	if WaitPasses(context.Background(), start.Add(time.Hour), why) != nil {
		t.Error("no deadline: no wait passes it")
	}
}

func TestTimedOutNamesTheLimitThatHit(t *testing.T) {
	t.Parallel()
	pull, cancel := WithDeadline(context.Background(), time.Now(), time.Hour)
	defer cancel()
	req, cancelReq := WithRequestTimeout(pull, time.Millisecond)
	defer cancelReq()
	<-req.Done()
	err := TimedOut(req, req.Err())
	if err == nil || err.Error() != "no answer within request_timeout 1ms" {
		t.Errorf("request timeout: got %v", err)
	}

	short, cancel2 := WithDeadline(context.Background(), time.Now(), time.Millisecond)
	defer cancel2()
	req2, cancelReq2 := WithRequestTimeout(short, time.Hour)
	defer cancelReq2()
	<-req2.Done()
	if err := TimedOut(req2, req2.Err()); err == nil || err.Error() != "source deadline 1ms reached" {
		t.Errorf("deadline during a request: got %v", err)
	}
	got := DeadlineReached(short, fmt.Errorf("fetching: %w", context.DeadlineExceeded))
	var te *TimeoutError
	if !errors.As(got, &te) || te.Limit != LimitDeadline || !strings.HasPrefix(got.Error(), "source deadline 1ms reached: fetching") {
		t.Errorf("DeadlineReached: got %v", got)
	}
	if other := errors.New("boom"); TimedOut(context.Background(), other) != other || DeadlineReached(context.Background(), other) != other {
		t.Error("an error of a live context must pass through")
	}
}

func TestExcerptIsOneShortLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "  invalid token\n", 100, "invalid token"},
		{"collapsed", "<html>\r\n<head>\t<title>502 Bad Gateway</title></head>\n\n<body>", 100, "<html> <head> <title>502 Bad Gateway</title></head> <body>"},
		{"cut", "abcdefghij", 5, "abcd…"},
		{"cut before a space", "abc defgh", 5, "abc…"},
		{"runes", "приветмир", 4, "при…"},
		{"empty", " \n ", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Excerpt(tt.in, tt.n); got != tt.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestHTTPFailureLeavesTheQueryOut(t *testing.T) {
	t.Parallel()
	batch := "/1/batch?urls=" + strings.Repeat("%2Fboards%2F5f1c000000000000000000aa%2Factions%3Flimit%3D1000,", 20)
	body := "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n" + strings.Repeat("<!-- padding -->\n", 40) + "</body></html>"
	got := HTTPFailure("GET", batch, 502, body)
	if !strings.HasPrefix(got, "GET /1/batch: 502 Bad Gateway: <html> <head><title>502 Bad Gateway</title>") {
		t.Errorf("got %q", got)
	}
	if strings.Contains(got, "urls=") || strings.Contains(got, "\n") || utf8.RuneCountInString(got) > MaxLine {
		t.Errorf("not one short line without the query (%d runes): %q", utf8.RuneCountInString(got), got)
	}
	if got := Line(strings.Repeat("x ", 500)); utf8.RuneCountInString(got) != MaxLine {
		t.Errorf("Line kept %d runes", utf8.RuneCountInString(got))
	}
}
