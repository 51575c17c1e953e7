package connectors

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLine bounds an error line: what `karkas sync` prints for a failure,
// what is logged at WARN or ERROR, what sync_runs and problems store.
const MaxLine = 200

// BodyExcerpt bounds the part of a server's answer an error line quotes.
const BodyExcerpt = 100

// maxDebugBody bounds the answer a debug line carries whole.
const maxDebugBody = 64 << 10

// Line is s as one line of at most MaxLine characters (see Excerpt).
func Line(s string) string { return Excerpt(s, MaxLine) }

// Excerpt is s on one line of at most n characters: every run of
// whitespace (newlines, tabs) becomes one space, and a longer text is cut
// with "…".
func Excerpt(s string, n int) string {
	if len(s) > maxDebugBody {
		s = s[:maxDebugBody] // enough for any line; a rune cut here lies past the cut below
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimRight(string([]rune(s)[:max(n-1, 0)]), " ") + "…"
}

// Request is a request as an error line names it: method and path, the
// query left off (a Trello /batch carries a whole list of URLs in it; the
// debug log has them).
func Request(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	return method + " " + path
}

// HTTPFailure is a failed answer as one line: request, status and an
// excerpt of the body, e.g. `GET /1/batch: 502 Bad Gateway: <html>
// <head><title>502 Bad Gateway</title>…`.
func HTTPFailure(method, path string, status int, body string) string {
	s := Request(method, path) + ": " + statusText(status)
	if body = Excerpt(body, BodyExcerpt); body != "" {
		s += ": " + body
	}
	return s
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return strconv.Itoa(status) + " " + t
	}
	return strconv.Itoa(status)
}

// LogFailure puts what an error line leaves out at debug level: the whole
// URL and the answer's body (its first 64 KiB). Nothing here is a secret
// the line does not show: the HTTP connectors send credentials only in
// headers.
func LogFailure(ctx context.Context, log *slog.Logger, method, url string, status int, body []byte) {
	if log == nil || !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	if len(body) > maxDebugBody {
		body = body[:maxDebugBody]
	}
	log.DebugContext(ctx, "request failed", "method", method, "url", url, "status", status, "body", string(body))
}
