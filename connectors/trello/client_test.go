package trello

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello/trellofake"
)

var testEpoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// env is a fake Trello on a virtual clock and a client of it whose logs go
// to a buffer.
type env struct {
	fake   *trellofake.Server
	world  *trellofake.World
	clock  *trellofake.VirtualClock
	client *Client
	budget *Budget
	logs   *syncBuffer
	urls   *urlLog
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// urlLog records every URL and Authorization header the client sends.
type urlLog struct {
	mu   sync.Mutex
	urls []string
	auth []string
	next http.RoundTripper
}

func (l *urlLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.urls = append(l.urls, r.URL.String())
	l.auth = append(l.auth, r.Header.Get("Authorization"))
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

type envOptions struct {
	world   *trellofake.World
	limits  trellofake.Limits
	timeout time.Duration
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	w := o.world
	if w == nil {
		w = trellofake.NewWorld(trellofake.NewVirtualClock(testEpoch))
	}
	clock := w.Clock().(*trellofake.VirtualClock)
	fake := trellofake.New(t, trellofake.Options{World: w, Limits: o.limits})
	e := &env{fake: fake, world: w, clock: clock, logs: &syncBuffer{}}
	e.urls = &urlLog{next: fake.Client().Transport}
	e.budget = NewBudget(TrelloLimits, clock)
	e.client = e.newClient(t, fake.Key(), fake.Token(), o.timeout)
	return e
}

func (e *env) newClient(t *testing.T, key, token string, timeout time.Duration) *Client {
	t.Helper()
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c, err := NewClient(ClientOptions{
		BaseURL:    e.fake.BaseURL(),
		HTTPClient: &http.Client{Transport: e.urls},
		Key:        key,
		Token:      token,
		Budget:     e.budget,
		Clock:      e.clock,
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Timeout:    timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// board adds a board with the generated lists and one card.
func (e *env) board(t *testing.T) (trellofake.Board, trellofake.Card) {
	t.Helper()
	b := e.world.AddBoard("Acme — Website")
	l := e.world.AddList(b.ID, "To Do")
	return b, e.world.CreateCard(e.world.Me().ID, l.ID, "Hero")
}

func TestClientReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	w, me := e.world, e.world.Me()
	b := w.AddBoard("Acme — Website")
	todo := w.AddList(b.ID, "To Do")
	old := w.AddList(b.ID, "Old ideas")
	w.CloseList(old.ID)
	client := w.AddMember(b.ID, "johncarter", "John Carter")
	for i := range 60 {
		w.AddLabel(b.ID, fmt.Sprintf("l%d", i), "green")
	}
	prio := w.AddCustomField(b.ID, "Priority", "list", "High", "Low")
	var cards []trellofake.Card
	for i := range 1500 {
		if i%100 == 0 {
			e.clock.Advance(time.Second)
		}
		cards = append(cards, w.CreateCard(me.ID, todo.ID, fmt.Sprintf("card %d", i)))
	}
	w.ArchiveCard(me.ID, cards[7].ID)
	w.AddChecklist(me.ID, cards[0].ID, "Steps", "a", "b")
	w.SetCustomField(me.ID, cards[1].ID, prio.ID, "High")
	for i := range 1000 {
		w.CommentCard(client.ID, cards[i%3].ID, fmt.Sprintf("c%d", i))
	}
	ctx := context.Background()
	c := e.client
	count := func() int64 { return c.Requests() }

	boards, err := c.Boards(ctx, "open")
	if err != nil || len(boards) != 1 || boards[0].ShortLink != b.ShortLink {
		t.Fatalf("Boards: %v %+v", err, boards)
	}
	board, err := c.Board(ctx, b.ID)
	if err != nil || board.Name != "Acme — Website" || board.URL == "" {
		t.Fatalf("Board: %v %+v", err, board)
	}
	lists, err := c.Lists(ctx, b.ID)
	if err != nil || len(lists) != 2 || !lists[1].Closed {
		t.Fatalf("Lists (closed included): %v %+v", err, lists)
	}
	labels, err := c.Labels(ctx, b.ID)
	if err != nil || len(labels) != 60 {
		t.Fatalf("Labels past Trello's default 50: %v %d", err, len(labels))
	}
	members, err := c.Members(ctx, b.ID)
	if err != nil || len(members) != 2 || members[1].Username != "johncarter" || members[1].FullName != "John Carter" {
		t.Fatalf("Members: %v %+v", err, members)
	}
	cls, err := c.Checklists(ctx, b.ID)
	if err != nil || len(cls) != 1 || len(cls[0].CheckItems) != 2 || cls[0].IDCard != cards[0].ID {
		t.Fatalf("Checklists: %v %+v", err, cls)
	}
	fields, err := c.CustomFields(ctx, b.ID)
	if err != nil || len(fields) != 1 || len(fields[0].Options) != 2 || fields[0].Options[0].Value.Text != "High" {
		t.Fatalf("CustomFields: %v %+v", err, fields)
	}
	if n := count(); n != 7 {
		t.Errorf("%d requests for 7 reads", n)
	}

	got, err := c.Cards(ctx, b.ID, CardsOptions{CustomFieldItems: true})
	if err != nil || len(got) != 1500 {
		t.Fatalf("Cards: %v, %d cards", err, len(got))
	}
	if n := count(); n != 9 {
		t.Errorf("1500 cards took %d requests, want 2", n-7)
	}
	archived, items := 0, 0
	for _, cd := range got {
		if cd.Closed {
			archived++
		}
		items += len(cd.CustomFieldItems)
	}
	if archived != 1 || items != 1 {
		t.Errorf("Cards: %d archived (want 1), %d custom field items (want 1)", archived, items)
	}

	acts, err := c.AllActions(ctx, ActionsQuery{BoardID: b.ID, Filter: "commentCard"})
	if err != nil || len(acts) != 1000 {
		t.Fatalf("AllActions: %v, %d", err, len(acts))
	}
	// 1000 comments fill one page exactly, so a second, empty page ends it.
	if n := count(); n != 11 {
		t.Errorf("1000 comments took %d requests, want 2", n-9)
	}
	for i := 1; i < len(acts); i++ {
		if acts[i].ID >= acts[i-1].ID {
			t.Fatalf("actions not newest first at %d", i)
		}
	}
	since := acts[10].ID
	newer, err := c.AllActions(ctx, ActionsQuery{BoardID: b.ID, Since: since, Limit: 4})
	if err != nil || len(newer) != 10 {
		t.Fatalf("since with 4 per page: %v, %d actions, want 10", err, len(newer))
	}
	if n := count(); n != 14 {
		t.Errorf("10 actions at 4 a page took %d requests, want 3", n-11)
	}
	onCard, err := c.CardActions(ctx, cards[0].ID, "commentCard")
	if err != nil || len(onCard) != 334 {
		t.Fatalf("CardActions: %v %d", err, len(onCard))
	}

	res, err := c.Batch(ctx, []string{
		BatchURL(nil, "boards", b.ID, "lists"),
		BatchURL(url.Values{"filter": {"commentCard,updateCard:idList"}, "limit": {"5"}}, "boards", b.ID, "actions"),
		BatchURL(nil, "boards", "0123456789abcdef01234567"),
	})
	if err != nil || len(res) != 3 {
		t.Fatalf("Batch: %v %d", err, len(res))
	}
	var bl []List
	var ba []Action
	var nf *NotFoundError
	if err := res[0].Decode(&bl); err != nil || len(bl) != 1 {
		t.Errorf("batch lists: %v %d", err, len(bl))
	}
	if err := res[1].Decode(&ba); err != nil || len(ba) != 5 {
		t.Errorf("batch actions: %v %d", err, len(ba))
	}
	if err := res[2].Decode(&struct{}{}); !errors.As(err, &nf) {
		t.Errorf("batch 404: %v", err)
	}
	if _, err := c.Batch(ctx, []string{"/1/boards/x"}); err == nil {
		t.Error("Batch took a route with /1")
	}
	if e.fake.TooMany() != 0 {
		t.Errorf("%d 429s", e.fake.TooMany())
	}
}

func TestClient429(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a few 429s are waited out", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		b, _ := e.board(t)
		e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultRateLimited, Times: 2})
		start := e.clock.Now()
		if _, err := e.client.Lists(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if e.fake.TooMany() != 2 || e.fake.Total() != 3 {
			t.Errorf("%d 429s in %d requests, want 2 in 3", e.fake.TooMany(), e.fake.Total())
		}
		if waited := e.clock.Now().Sub(start); waited < 20*time.Second {
			t.Errorf("waited %v after two 429s, want a window each", waited)
		}
	})

	t.Run("a storm gives up with a RateLimitError", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		b, _ := e.board(t)
		e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultRateLimited, Times: -1})
		_, err := e.client.Lists(ctx, b.ID)
		var rl *connectors.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 10*time.Second {
			t.Fatalf("got %v, want a RateLimitError to retry after 10s", err)
		}
		if n := e.fake.TooMany(); n > 4 {
			t.Errorf("%d 429s before giving up, want a handful", n)
		}
	})

	t.Run("another process spending the token is read from the headers", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		b, _ := e.board(t)
		e.fake.Spend(90)
		start := e.clock.Now()
		for range 30 {
			if _, err := e.client.Lists(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.fake.TooMany(); n != 0 {
			t.Errorf("%d 429s: the remaining header was not heeded", n)
		}
		if waited := e.clock.Now().Sub(start); waited < 10*time.Second {
			t.Errorf("30 requests after 90 spent took %v, want a window's wait", waited)
		}
	})

	t.Run("429 on a write is retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		_, card := e.board(t)
		e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultRateLimited, Method: "POST"})
		if _, err := e.client.AddComment(ctx, card.ID, "hi"); err != nil {
			t.Fatal(err)
		}
		if n := len(e.world.Actions(card.BoardID)); n != 4 { // createBoard, createList, createCard, comment
			t.Errorf("%d actions, want one comment more", n)
		}
	})
}

func TestClientRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault trellofake.Fault
	}{
		{"5xx then success", trellofake.Fault{Kind: trellofake.FaultStatus, Status: 503, Times: 2}},
		{"502 HTML then success", trellofake.Fault{Kind: trellofake.FaultStatus, Status: 502}},
		{"hang then success", trellofake.Fault{Kind: trellofake.FaultHang}},
		{"truncated JSON then success", trellofake.Fault{Kind: trellofake.FaultTruncate, Times: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{timeout: 100 * time.Millisecond})
			b, _ := e.board(t)
			for range 20 {
				e.world.AddLabel(b.ID, "a label with a long enough name", "red")
			}
			e.fake.Arm(tc.fault)
			labels, err := e.client.Labels(ctx, b.ID)
			if err != nil || len(labels) != 20 {
				t.Fatalf("got %v, %d labels", err, len(labels))
			}
			times := max(tc.fault.Times, 1)
			if got := e.fake.Total(); got != times+1 {
				t.Errorf("%d requests, want %d", got, times+1)
			}
		})
	}

	t.Run("attempts are bounded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		b, _ := e.board(t)
		e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 500, Times: -1})
		_, err := e.client.Lists(ctx, b.ID)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 500 || !strings.Contains(err.Error(), "giving up after 5 attempts") {
			t.Fatalf("got %v", err)
		}
		if e.fake.Total() != 5 {
			t.Errorf("%d requests, want 5", e.fake.Total())
		}
	})

	t.Run("cancelled context stops the retries", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{timeout: time.Minute})
		b, _ := e.board(t)
		e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultHang, Times: -1})
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := e.client.Lists(cctx, b.ID); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
		if e.fake.Total() != 1 {
			t.Errorf("%d requests after the context ended", e.fake.Total())
		}
	})
}

func TestClientTypedErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	b, _ := e.board(t)
	gone := e.world.AddBoard("Gone")
	e.world.DeleteBoard(gone.ID)

	_, err := e.client.Lists(ctx, gone.ID)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Message != "The requested resource was not found." {
		t.Errorf("deleted board: %v", err)
	}
	_, err = e.client.Board(ctx, "not-an-id")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Message != "invalid id" {
		t.Errorf("malformed id: %v", err)
	}
	if n := e.fake.Total(); n != 2 {
		t.Errorf("%d requests: 4xx answers were retried", n)
	}

	e.world.RevokeToken(e.fake.Token())
	_, err = e.client.Lists(ctx, b.ID)
	var ua *UnauthorizedError
	if !errors.Is(err, connectors.ErrUnauthorized) || !errors.As(err, &ua) || ua.Message != "invalid token" {
		t.Errorf("revoked token: %v", err)
	}
}

func TestClientWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, envOptions{timeout: 100 * time.Millisecond})
	b, card := e.board(t)
	c := e.client

	long := strings.Repeat("Длинный комментарий, ", 400) + "<!-- karkas:abc -->"
	a, err := c.AddComment(ctx, card.ID, long)
	if err != nil || a.Type != "commentCard" || a.Data.Text != long || a.IDMemberCreator != e.world.Me().ID {
		t.Fatalf("AddComment: %v %+v", err, a.Data)
	}
	found, err := c.CardActions(ctx, card.ID, "commentCard")
	if err != nil || len(found) != 1 || found[0].ID != a.ID {
		t.Fatalf("CardActions: %v %d", err, len(found))
	}
	label, err := c.CreateLabel(ctx, b.ID, "waiting", "sky")
	if err != nil || label.ID == "" || label.Color != "sky" {
		t.Fatalf("CreateLabel: %v %+v", err, label)
	}
	ids, err := c.AddLabel(ctx, card.ID, label.ID)
	if err != nil || len(ids) != 1 || ids[0] != label.ID {
		t.Fatalf("AddLabel: %v %v", err, ids)
	}
	_, err = c.AddLabel(ctx, card.ID, label.ID)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Errorf("AddLabel twice: %v", err)
	}
	if err := c.RemoveLabel(ctx, card.ID, label.ID); err != nil {
		t.Fatalf("RemoveLabel: %v", err)
	}

	for _, tc := range []struct {
		name  string
		fault trellofake.FaultKind
	}{
		{"5xx", trellofake.FaultStatus},
		{"timeout", trellofake.FaultHang},
	} {
		before := e.fake.Total()
		e.fake.Arm(trellofake.Fault{Kind: tc.fault, Method: "POST"})
		_, err := c.AddComment(ctx, card.ID, "again")
		var we *WriteError
		if !errors.As(err, &we) || !we.MayHaveReached {
			t.Errorf("%s on a write: %v, want a WriteError that may have reached Trello", tc.name, err)
		}
		if n := e.fake.Total() - before; n != 1 {
			t.Errorf("%s on a write: %d requests, want 1 (no blind retry)", tc.name, n)
		}
	}

	// A write that never left is known not to have reached Trello.
	dead := newEnv(t, envOptions{})
	dc := dead.client
	dead.fake.Close()
	_, err = dc.AddComment(ctx, card.ID, "x")
	var we *WriteError
	if !errors.As(err, &we) || we.MayHaveReached {
		t.Errorf("write to a closed server: %v, want a WriteError that did not reach Trello", err)
	}
}

// TestClientCredentials checks that the key and token travel only in the
// Authorization header and never show in URLs, errors or logs.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	b, _ := e.board(t)
	key, token := e.fake.Key(), e.fake.Token()
	var errs []error

	e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 503}) // logged retry
	if _, err := e.client.Lists(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	e.world.RevokeToken(token)
	_, err := e.client.Lists(ctx, b.ID)
	if !errors.Is(err, connectors.ErrUnauthorized) {
		t.Fatalf("401: %v", err)
	}
	errs = append(errs, err)

	e.fake.Close()
	_, err = e.client.Lists(ctx, b.ID) // transport errors, retried and logged
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	errs = append(errs, err)
	_, err = e.client.AddComment(ctx, "0123456789abcdef01234567", "x")
	errs = append(errs, err)

	for _, err := range errs {
		if msg := err.Error(); strings.Contains(msg, key) || strings.Contains(msg, token) {
			t.Errorf("error holds a credential: %s", msg)
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "retrying") {
		t.Errorf("no retry logged: %s", logs)
	}
	if strings.Contains(logs, key) || strings.Contains(logs, token) {
		t.Errorf("logs hold a credential:\n%s", logs)
	}
	e.urls.mu.Lock()
	defer e.urls.mu.Unlock()
	for i, u := range e.urls.urls {
		if strings.Contains(u, key) || strings.Contains(u, token) {
			t.Errorf("URL holds a credential: %s", u)
		}
		if want := fmt.Sprintf(`OAuth oauth_consumer_key="%s", oauth_token="%s"`, key, token); e.urls.auth[i] != want {
			t.Errorf("Authorization %q", e.urls.auth[i])
		}
	}
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts ClientOptions
	}{
		{"no key", ClientOptions{Token: "t"}},
		{"relative base", ClientOptions{Key: "k", Token: "t", BaseURL: "/1"}},
		{"own clock without budget", ClientOptions{Key: "k", Token: "t", Clock: trellofake.NewVirtualClock(testEpoch)}},
	} {
		if _, err := NewClient(tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	c, err := NewClient(ClientOptions{Key: "k1", Token: "t"})
	if err != nil || c.budget != SharedBudget("k1") || c.budget == SharedBudget("k2") {
		t.Errorf("clients of one key must share the process budget: %v", err)
	}
}

// A pull (a context from connectors.WithDeadline) waits out a storm of
// 429s window after window until its deadline, never a fixed count of
// them, and then says the deadline ended it.
func TestClientStormInAPullLastsUntilTheDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b, _ := e.board(t)
	e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultRateLimited, Times: -1})
	start := e.clock.Now()
	ctx, cancel := connectors.WithDeadline(context.Background(), start, 5*time.Minute)
	defer cancel()
	_, err := e.client.Lists(ctx, b.ID)
	var te *connectors.TimeoutError
	var rl *connectors.RateLimitError
	if !errors.As(err, &te) || te.Limit != connectors.LimitDeadline || !errors.As(err, &rl) {
		t.Fatalf("got %v, want the deadline wrapping the rate limit", err)
	}
	if !strings.Contains(err.Error(), ": source deadline 5m reached: rate limited, retry after 10s: GET /boards/"+b.ID+"/lists: 429 Too Many Requests: API_TOKEN_LIMIT_EXCEEDED") {
		t.Errorf("error %q", err)
	}
	if n := e.fake.TooMany(); n < 20 {
		t.Errorf("%d 429s waited out in 5 minutes of 10 s windows, want about 30", n)
	}
	if waited := e.clock.Now().Sub(start); waited < 4*time.Minute || waited > 5*time.Minute {
		t.Errorf("waited %v, want nearly the 5m deadline and not past it", waited)
	}
}

// A server that takes a read and never answers costs two attempts, and
// the error names the request_timeout.
func TestClientHangIsTriedTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{timeout: 50 * time.Millisecond})
	b, _ := e.board(t)
	e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultHang, Times: -1})
	_, err := e.client.Lists(context.Background(), b.ID)
	var te *connectors.TimeoutError
	if !errors.As(err, &te) || te.Limit != connectors.LimitRequestTimeout {
		t.Fatalf("got %v, want the request timeout", err)
	}
	if want := "reading lists of board " + b.ID + ": GET /boards/" + b.ID + "/lists: giving up after 2 attempts: no answer within request_timeout 50ms"; err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	if e.fake.Total() != 2 {
		t.Errorf("%d requests, want 2", e.fake.Total())
	}
}

// A failing /batch is one short line: the path without its list of URLs
// and an excerpt of the gateway's page; the debug log has both whole.
func TestClientBatchErrorIsOneLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	b, _ := e.board(t)
	e.fake.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 502, Route: "/1/batch", Times: -1})
	var urls []string
	for range 10 {
		urls = append(urls, BatchURL(url.Values{"filter": {"all"}, "fields": {"name,idList,closed,dateLastActivity"}}, "boards", b.ID, "cards"))
	}
	_, err := e.client.Batch(context.Background(), urls)
	if err == nil {
		t.Fatal("no error")
	}
	line := err.Error()
	if !strings.HasPrefix(line, "batch of 10 routes: GET /batch: giving up after 5 attempts: GET /batch: 502 Bad Gateway: <html> <head><title>502 Bad Gateway</title>") ||
		strings.Contains(line, "urls=") || strings.Contains(line, "\n") || len([]rune(line)) > connectors.MaxLine {
		t.Errorf("error line (%d characters): %q", len([]rune(line)), line)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=DEBUG msg=\"request failed\" method=GET url=") || !strings.Contains(logs, "urls=") {
		t.Errorf("the debug log lacks the whole URL:\n%s", logs)
	}
}
