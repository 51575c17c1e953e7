package trello

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	adlio "github.com/adlio/trello"

	"github.com/karkas/karkas/connectors"
)

// The calls where a fixed throttle costs nothing go through
// github.com/adlio/trello, the Trello library the product names: listing
// and reading boards (the credentials check, discover, a push resolving a
// board by name), commenting, labelling and webhook registration. The
// batched pull does not (see Client).
//
// adlio is given no Key and no Token (it would put them in the query
// string, and so into every *url.Error) and an *http.Client whose
// transport is this Client: every request it sends takes from the shared
// Budget, carries the credentials only in the Authorization header, is
// retried as Client.do retries, and fails with Client's own typed, redacted
// error (a *WriteError, an *UnauthorizedError, a
// *connectors.RateLimitError), which lib returns instead of adlio's
// wrapping: adlio wraps with github.com/pkg/errors v0.8.1, whose errors do
// not unwrap, so errors.As could not see through them.
//
// adlio sends the parameters of a write in the query string; the
// transport moves them into a form body (Trello reads write parameters
// from either), so a long comment stays out of URLs, logs and errors.
//
// adlio's types are used where they carry what karkas reads: Member,
// Label, Webhook and Card (for their write helpers) and Action (a new
// comment). The rest stay in types.go: adlio's List holds pos as a
// float32, which rounds Trello's positions; its Board has no shortLink or
// dateLastActivity, which the pull and discover match boards by; its
// Webhook has no consecutiveFailures or firstConsecutiveFailDate, which
// `karkas webhooks` shows from the listing; its Action's data has no raw
// old values, which field history needs.

// libTransport is the http.RoundTripper adlio's requests go through.
type libTransport struct {
	c   *Client
	ctx context.Context
	// err is the typed error of the request that failed, for lib to
	// return.
	err error
}

// RoundTrip sends req through Client.do and answers with the body of its
// 2xx response; any other outcome is Client.do's error.
func (t *libTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close() // adlio's writes carry their parameters in the URL
	}
	t.c.libRequests.Add(1)
	r, err := t.c.libRequest(req)
	if err != nil {
		t.err = err
		return nil, err
	}
	var raw json.RawMessage
	if err := t.c.do(t.ctx, r, &raw); err != nil {
		t.err = err
		return nil, err
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(raw)),
		ContentLength: int64(len(raw)),
		Request:       req,
	}, nil
}

// libRequest is the request adlio built, as Client.do sends it: its path
// under the API root, its query for a read, its query as the form body of
// a write.
func (c *Client) libRequest(req *http.Request) (request, error) {
	rest, ok := strings.CutPrefix(req.URL.Path, c.base.Path)
	if !ok || req.URL.Host != c.base.Host {
		return request{}, fmt.Errorf("trello client: %s %s is not under the API root", req.Method, c.redact(req.URL.Path))
	}
	r := request{method: req.Method}
	for _, seg := range strings.Split(rest, "/") {
		if seg != "" {
			r.path = append(r.path, seg)
		}
	}
	q := req.URL.Query()
	if len(q) == 0 {
		return r, nil
	}
	if req.Method == http.MethodGet {
		r.query = q
	} else {
		r.form = q
	}
	return r, nil
}

// lib runs fn with an adlio client whose requests go through c (see
// above). A failed request's error is c's own; adlio's own failures (a
// body that does not decode into its type) are redacted and cut to one
// line.
func (c *Client) lib(ctx context.Context, fn func(*adlio.Client) error) error {
	t := &libTransport{c: c, ctx: ctx}
	lc := adlio.NewClient("", "") // no credentials: see above
	lc.BaseURL = c.base.String()
	lc.Client = &http.Client{Transport: t} // Client.do bounds each attempt
	err := fn(lc.WithContext(ctx))
	switch {
	case err == nil:
		return nil
	case t.err != nil:
		return t.err
	}
	return errors.New(c.redact(connectors.Excerpt(connectors.Line(err.Error()), connectors.BodyExcerpt)))
}

// fromLibAction is an adlio action (a new comment) as types.go spells it.
func fromLibAction(a *adlio.Action) Action {
	out := Action{ID: a.ID, IDMemberCreator: a.IDMemberCreator, Type: a.Type}
	if !a.Date.IsZero() {
		out.Date = a.Date.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if a.Data != nil {
		out.Data.Text = a.Data.Text
	}
	return out
}

func fromLibMember(m *adlio.Member) Member {
	return Member{ID: m.ID, Username: m.Username, FullName: m.FullName, Initials: m.Initials, AvatarHash: m.AvatarHash}
}

func fromLibWebhook(w *adlio.Webhook) Webhook {
	return Webhook{ID: w.ID, Description: w.Description, IDModel: w.IDModel, CallbackURL: w.CallbackURL, Active: w.Active}
}
