package trellofake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/record"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// fixture is a small world: one board with two lists, a client member and
// a few cards, served on a virtual clock.
type fixture struct {
	s      *trellofake.Server
	w      *trellofake.World
	clock  *trellofake.VirtualClock
	board  trellofake.Board
	todo   trellofake.List
	done   trellofake.List
	client trellofake.Member
	me     trellofake.Member
}

func newFixture(t *testing.T, limits trellofake.Limits) *fixture {
	t.Helper()
	clock := trellofake.NewVirtualClock(epoch)
	w := trellofake.NewWorld(clock)
	f := &fixture{w: w, clock: clock, me: w.Me()}
	f.board = w.AddBoard("Acme — Website")
	f.todo = w.AddList(f.board.ID, "To Do")
	f.done = w.AddList(f.board.ID, "Done")
	f.client = w.AddMember(f.board.ID, "johncarter", "John Carter")
	f.s = trellofake.New(t, trellofake.Options{World: w, Limits: limits})
	return f
}

// response is what get and send return.
type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// send makes a request with the default credentials in the OAuth header.
func (f *fixture) send(t *testing.T, method, path string, q url.Values) response {
	t.Helper()
	u := f.s.BaseURL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", fmt.Sprintf(`OAuth oauth_consumer_key="%s", oauth_token="%s"`, f.s.Key(), f.s.Token()))
	return do(t, f.s.Client(), req)
}

func (f *fixture) get(t *testing.T, path string, q url.Values) response {
	t.Helper()
	return f.send(t, http.MethodGet, path, q)
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

func ids(as []trello.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func TestActionPaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	card := f.w.CreateCard(f.me.ID, f.todo.ID, "Hero banner")
	var comments []string // oldest first
	for i := range 120 {
		f.clock.Advance(time.Minute)
		comments = append(comments, f.w.CommentCard(f.client.ID, card.ID, fmt.Sprintf("comment %d", i)).ID)
	}
	newest := func(n int) []string { // the n newest comments, newest first
		var out []string
		for i := len(comments) - 1; i >= len(comments)-n; i-- {
			out = append(out, comments[i])
		}
		return out
	}
	path := "/boards/" + f.board.ID + "/actions"
	commentsOnly := url.Values{"filter": {"commentCard"}}
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for k, v := range commentsOnly {
			q[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}

	var page []trello.Action
	f.get(t, path, with()).decode(t, &page)
	if got, want := ids(page), newest(50); !equal(got, want) {
		t.Fatalf("default page: got %d ids %v..., want the 50 newest", len(got), got[:1])
	}

	f.get(t, path, with("limit", "10")).decode(t, &page)
	if !equal(ids(page), newest(10)) {
		t.Fatalf("limit=10 is not the 10 newest, newest first")
	}
	f.get(t, path, with("limit", "10", "before", page[9].ID)).decode(t, &page)
	if !equal(ids(page), newest(20)[10:]) {
		t.Fatalf("before=<oldest of page 1> is not the next 10")
	}

	// since alone gives the newest limit after it, not the oldest.
	f.get(t, path, with("limit", "5", "since", comments[100])).decode(t, &page)
	if !equal(ids(page), newest(5)) {
		t.Fatalf("since=c100&limit=5 = %v, want the 5 newest", ids(page))
	}
	// since and before: the newest limit between them, both exclusive.
	f.get(t, path, with("limit", "3", "since", comments[10], "before", comments[20])).decode(t, &page)
	if want := []string{comments[19], comments[18], comments[17]}; !equal(ids(page), want) {
		t.Fatalf("since=c10&before=c20&limit=3 = %v, want %v", ids(page), want)
	}
	f.get(t, path, with("limit", "1000", "since", comments[10], "before", comments[13])).decode(t, &page)
	if want := []string{comments[12], comments[11]}; !equal(ids(page), want) {
		t.Fatalf("since=c10&before=c13 = %v, want %v", ids(page), want)
	}
	// A date works as a bound too.
	at, _ := trellofake.IDTime(comments[117])
	f.get(t, path, with("since", at.Format(time.RFC3339))).decode(t, &page)
	if !equal(ids(page), newest(2)) {
		t.Fatalf("since=<date of c117> = %d actions, want c118 and c119", len(page))
	}

	// The card route pages the same way; its default filter is comments and
	// list moves, so the createCard action is left out.
	f.get(t, "/cards/"+card.ID+"/actions", url.Values{"limit": {"1000"}}).decode(t, &page)
	if len(page) != 120 {
		t.Fatalf("card actions with the default filter: %d, want 120 comments", len(page))
	}

	for _, tc := range []struct {
		limit  string
		status int
	}{
		{"1000", http.StatusOK},
		{"0", http.StatusOK},
		{"1001", http.StatusBadRequest},
		{"-1", http.StatusBadRequest},
		{"ten", http.StatusBadRequest},
	} {
		r := f.get(t, path, url.Values{"limit": {tc.limit}})
		if r.status != tc.status {
			t.Errorf("limit=%s: status %d, want %d", tc.limit, r.status, tc.status)
		}
		if tc.status == http.StatusBadRequest && (!strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || string(r.body) != "invalid value for limit") {
			t.Errorf("limit=%s: body %q (%s), want plain-text invalid value for limit", tc.limit, r.body, r.header.Get("Content-Type"))
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestActionFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	c := f.w.CreateCard(f.client.ID, f.todo.ID, "Card")
	f.w.MoveCard(f.me.ID, c.ID, f.done.ID)
	f.w.SetDue(f.me.ID, c.ID, epoch.Add(48*time.Hour))
	f.w.ArchiveCard(f.me.ID, c.ID)
	f.w.CommentCard(f.me.ID, c.ID, "done")
	for _, tc := range []struct {
		filter string
		want   []string // types, newest first
	}{
		{"updateCard:idList", []string{"updateCard"}},
		{"updateCard:closed,updateCard:due", []string{"updateCard", "updateCard"}},
		{"updateCard", []string{"updateCard", "updateCard", "updateCard"}},
		{"createCard,commentCard", []string{"commentCard", "createCard"}},
	} {
		var page []trello.Action
		f.get(t, "/cards/"+c.ID+"/actions", url.Values{"filter": {tc.filter}}).decode(t, &page)
		var got []string
		for _, a := range page {
			got = append(got, a.Type)
		}
		if !equal(got, tc.want) {
			t.Errorf("filter=%s: %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestLabelsDefaultLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	for i := range 60 {
		f.w.AddLabel(f.board.ID, fmt.Sprintf("label %d", i), "green")
	}
	f.w.AddLabel(f.board.ID, "", "red") // a label may have no name
	var labels []trello.Label
	f.get(t, "/boards/"+f.board.ID+"/labels", nil).decode(t, &labels)
	if len(labels) != 50 {
		t.Errorf("default: %d labels, want 50", len(labels))
	}
	f.get(t, "/boards/"+f.board.ID+"/labels", url.Values{"limit": {"1000"}}).decode(t, &labels)
	if len(labels) != 61 || labels[60].Name != "" || labels[60].Color != "red" {
		t.Errorf("limit=1000: %d labels, last %+v; want 61, the last unnamed red", len(labels), labels[len(labels)-1])
	}
	if r := f.get(t, "/boards/"+f.board.ID+"/labels", url.Values{"limit": {"1001"}}); r.status != http.StatusBadRequest {
		t.Errorf("limit=1001: status %d, want 400", r.status)
	}
}

func TestCardsFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	var all []string
	for i := range 5 {
		f.clock.Advance(time.Second)
		all = append(all, f.w.CreateCard(f.me.ID, f.todo.ID, fmt.Sprintf("card %d", i)).ID)
	}
	f.w.ArchiveCard(f.me.ID, all[1])
	f.w.ArchiveCard(f.me.ID, all[3])
	count := func(path string, q url.Values) int {
		var cards []trello.Card
		f.get(t, path, q).decode(t, &cards)
		return len(cards)
	}
	base := "/boards/" + f.board.ID + "/cards"
	for _, tc := range []struct {
		name string
		path string
		q    url.Values
		want int
	}{
		{"default is open", base, nil, 3},
		{"filter=all", base, url.Values{"filter": {"all"}}, 5},
		{"filter=closed", base, url.Values{"filter": {"closed"}}, 2},
		{"path all", base + "/all", nil, 5},
		{"path closed", base + "/closed", nil, 2},
		{"limit pages newest first", base, url.Values{"filter": {"all"}, "limit": {"2"}}, 2},
		{"before the third card", base, url.Values{"filter": {"all"}, "before": {all[2]}}, 2},
		{"since the third card", base, url.Values{"filter": {"all"}, "since": {all[2]}}, 2},
	} {
		if got := count(tc.path, tc.q); got != tc.want {
			t.Errorf("%s: %d cards, want %d", tc.name, got, tc.want)
		}
	}
	var page []trello.Card
	f.get(t, base, url.Values{"filter": {"all"}, "limit": {"2"}}).decode(t, &page)
	if page[0].ID != all[4] || page[1].ID != all[3] || !page[1].Closed {
		t.Errorf("limit=2: %s %s, want the two newest (the older archived)", page[0].ID, page[1].ID)
	}
	if r := f.get(t, base, url.Values{"limit": {"1001"}}); r.status != http.StatusBadRequest {
		t.Errorf("limit=1001: status %d, want 400", r.status)
	}
}

// TestMutatorActions checks that each mutator writes the action Trello
// writes, decoded with karkas's own types.
func TestMutatorActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	w := f.w
	step := func() { f.clock.Advance(90 * time.Second) }
	step()
	card := w.CreateCard(f.client.ID, f.todo.ID, "Новая карточка")
	step()
	comment := w.CommentCard(f.client.ID, card.ID, "Когда будет готово?")
	step()
	w.MoveCard(f.me.ID, card.ID, f.done.ID)
	step()
	due := epoch.Add(72 * time.Hour)
	w.SetDue(f.me.ID, card.ID, due)
	step()
	w.SetDue(f.me.ID, card.ID, time.Time{})
	step()
	w.ArchiveCard(f.me.ID, card.ID)
	step()
	w.UnarchiveCard(f.me.ID, card.ID)
	step()
	w.SetDesc(f.me.ID, card.ID, "new desc")
	step()
	label := w.AddLabel(f.board.ID, "urgent", "red")
	w.AddLabelToCard(f.me.ID, card.ID, label.ID)
	step()
	cl := w.AddChecklist(f.me.ID, card.ID, "Steps", "a", "b")
	step()
	w.SetCheckItem(f.me.ID, cl.ItemIDs[0], true)

	var acts []trello.Action
	f.get(t, "/boards/"+f.board.ID+"/actions", url.Values{"limit": {"1000"}}).decode(t, &acts)
	// Newest first; reverse to the order made, skipping board setup.
	var made []trello.Action
	for i := len(acts) - 1; i >= 0; i-- {
		if acts[i].Data.Card != nil {
			made = append(made, acts[i])
		}
	}
	if len(made) != 11 {
		t.Fatalf("%d card actions, want 11: %+v", len(made), made)
	}
	for _, a := range made {
		at, ok := trellofake.IDTime(a.ID)
		date, err := time.Parse(time.RFC3339Nano, a.Date)
		if !ok || err != nil || !at.Equal(date.Truncate(time.Second)) {
			t.Errorf("%s %s: id time %v, date %q", a.Type, a.ID, at, a.Date)
		}
		if a.MemberCreator == nil || a.MemberCreator.ID != a.IDMemberCreator || a.MemberCreator.Username == "" {
			t.Errorf("%s: memberCreator %+v for %s", a.Type, a.MemberCreator, a.IDMemberCreator)
		}
		if a.Data.Card.ID != card.ID || a.Data.Card.ShortLink != card.ShortLink || a.Data.Card.IDShort != 1 {
			t.Errorf("%s: data.card %+v", a.Type, a.Data.Card)
		}
		if a.Data.Board == nil || a.Data.Board.ID != f.board.ID {
			t.Errorf("%s: data.board %+v", a.Type, a.Data.Board)
		}
	}
	old := func(a trello.Action, key string) string { return string(a.Data.Old[key]) }
	checks := []struct {
		name string
		ok   bool
	}{
		{"createCard by the client with data.list", made[0].Type == "createCard" && made[0].IDMemberCreator == f.client.ID && made[0].Data.List != nil && made[0].Data.List.ID == f.todo.ID},
		{"commentCard with data.text", made[1].Type == "commentCard" && made[1].ID == comment.ID && made[1].Data.Text == "Когда будет готово?"},
		{"move with listBefore, listAfter, old.idList", made[2].Type == "updateCard" && made[2].Data.ListBefore.ID == f.todo.ID && made[2].Data.ListAfter.ID == f.done.ID &&
			made[2].Data.ListAfter.Name == "Done" && old(made[2], "idList") == `"`+f.todo.ID+`"` && made[2].Data.Card.IDList == f.done.ID},
		{"due set, old.due null", made[3].Type == "updateCard" && old(made[3], "due") == "null"},
		{"due cleared, old.due the date", made[4].Type == "updateCard" && old(made[4], "due") == `"`+due.Format("2006-01-02T15:04:05.000Z")+`"`},
		{"archive: card.closed=true, old.closed=false", made[5].Data.Card.Closed != nil && *made[5].Data.Card.Closed && old(made[5], "closed") == "false"},
		{"unarchive: card.closed=false, old.closed=true", made[6].Data.Card.Closed != nil && !*made[6].Data.Card.Closed && old(made[6], "closed") == "true"},
		{"desc: old.desc", made[7].Type == "updateCard" && old(made[7], "desc") == `""`},
		{"addLabelToCard", made[8].Type == "addLabelToCard"},
		{"addChecklistToCard", made[9].Type == "addChecklistToCard"},
		{"updateCheckItemStateOnCard", made[10].Type == "updateCheckItemStateOnCard"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not as Trello writes it", c.name)
		}
	}
	// The raw JSON of a due change carries the new due in data.card.
	var raw []map[string]any
	f.get(t, "/cards/"+card.ID+"/actions", url.Values{"filter": {"updateCard:due"}}).decode(t, &raw)
	if len(raw) != 2 || raw[1]["data"].(map[string]any)["card"].(map[string]any)["due"] != due.Format("2006-01-02T15:04:05.000Z") ||
		raw[0]["data"].(map[string]any)["card"].(map[string]any)["due"] != nil {
		t.Errorf("due actions: %v", raw)
	}

	// Editing a comment changes it in place, with no new action.
	before := len(w.Actions(f.board.ID))
	step()
	w.EditComment(comment.ID, "Когда будет готово? Срочно")
	var edited trello.Action
	f.get(t, "/actions/"+comment.ID, nil).decode(t, &edited)
	if edited.Data.Text != "Когда будет готово? Срочно" || edited.Data.DateLastEdited != f.clock.Now().Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("edited comment: text %q, dateLastEdited %q", edited.Data.Text, edited.Data.DateLastEdited)
	}
	if after := len(w.Actions(f.board.ID)); after != before {
		t.Errorf("an edit added %d actions", after-before)
	}
	// Deleting it removes the action everywhere.
	w.DeleteComment(comment.ID)
	if r := f.get(t, "/actions/"+comment.ID, nil); r.status != http.StatusNotFound {
		t.Errorf("deleted comment: status %d, want 404", r.status)
	}
	f.get(t, "/cards/"+card.ID+"/actions", url.Values{"filter": {"commentCard"}}).decode(t, &acts)
	if len(acts) != 0 {
		t.Errorf("deleted comment still listed: %d", len(acts))
	}

	// The card's own JSON follows.
	var got trello.Card
	f.get(t, "/cards/"+card.ID, nil).decode(t, &got)
	if got.IDList != f.done.ID || got.Closed || got.Due != "" || got.Desc != "new desc" || len(got.IDLabels) != 1 ||
		len(got.IDChecklists) != 1 || got.ShortLink != card.ShortLink || !strings.HasPrefix(got.URL, "https://trello.com/c/"+card.ShortLink+"/1-") {
		t.Errorf("card: %+v", got)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{})
	path := "/boards/" + f.board.ID
	for i := range 100 {
		r := f.get(t, path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i+1, r.status)
		}
		if got := r.header.Get("X-Rate-Limit-Api-Token-Remaining"); got != strconv.Itoa(99-i) {
			t.Fatalf("request %d: token remaining %s, want %d", i+1, got, 99-i)
		}
		if got := r.header.Get("X-Rate-Limit-Api-Key-Remaining"); got != strconv.Itoa(299-i) {
			t.Fatalf("request %d: key remaining %s, want %d", i+1, got, 299-i)
		}
	}
	r := f.get(t, path, nil)
	if r.status != http.StatusTooManyRequests || string(r.body) != `{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}` {
		t.Fatalf("request 101: %d %s", r.status, r.body)
	}
	if r.header.Get("Retry-After") != "" {
		t.Errorf("429 carries Retry-After; Trello's does not")
	}
	for _, h := range []string{"Interval-Ms", "Max", "Remaining"} {
		for _, which := range []string{"Key", "Token"} {
			if r.header.Get("X-Rate-Limit-Api-"+which+"-"+h) == "" {
				t.Errorf("429 lacks x-rate-limit-api-%s-%s", which, h)
			}
		}
	}
	if f.s.TooMany() != 1 {
		t.Errorf("TooMany = %d, want 1", f.s.TooMany())
	}
	f.clock.Advance(10 * time.Second)
	if r := f.get(t, path, nil); r.status != http.StatusOK {
		t.Fatalf("after the window: status %d", r.status)
	}

	// The key limit spans tokens: three more tokens of the key fill it.
	w := f.w
	for i := range 3 {
		w.AddToken(f.s.Key(), fmt.Sprintf("tok%d", i), f.me.ID)
	}
	f.clock.Advance(10 * time.Second)
	withToken := func(tok string) response {
		req, _ := http.NewRequest(http.MethodGet, f.s.BaseURL()+path+"?key="+f.s.Key()+"&token="+tok, nil)
		return do(t, f.s.Client(), req)
	}
	for i := range 300 {
		if r := withToken(fmt.Sprintf("tok%d", i%3)); r.status != http.StatusOK {
			t.Fatalf("key request %d: %d %s", i+1, r.status, r.body)
		}
	}
	r = f.get(t, path, nil)
	if r.status != http.StatusTooManyRequests || !strings.Contains(string(r.body), "API_KEY_LIMIT_EXCEEDED") {
		t.Fatalf("301st request of the key: %d %s", r.status, r.body)
	}

	// Over 200 429s in a window lock the key out for the rest of it, even
	// once the token's own window has room.
	for range 200 {
		f.get(t, path, nil)
	}
	f.clock.Advance(5 * time.Second)
	if r := f.get(t, path, nil); r.status != http.StatusTooManyRequests {
		t.Errorf("locked-out key: status %d, want 429", r.status)
	}
	f.clock.Advance(5 * time.Second)
	if r := f.get(t, path, nil); r.status != http.StatusOK {
		t.Errorf("next window: status %d, want 200", r.status)
	}
}

func TestMemberRouteLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{TokenMax: 1000, KeyMax: 1000})
	for range 100 {
		if r := f.get(t, "/members/me", nil); r.status != http.StatusOK {
			t.Fatalf("member route: %d", r.status)
		}
	}
	if r := f.get(t, "/members/me/boards", nil); r.status != http.StatusOK {
		t.Errorf("nested member route limited with the member route: %d", r.status)
	}
	r := f.get(t, "/members/me", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("X-Rate-Limit-Member-Remaining") != "0" {
		t.Errorf("101st /members/me: %d, member remaining %q", r.status, r.header.Get("X-Rate-Limit-Member-Remaining"))
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	other := f.w.AddBoard("Secret")
	path := f.s.BaseURL() + "/boards/" + f.board.ID
	f.w.AddToken(f.s.Key(), "revoked-token", f.me.ID)
	f.w.RevokeToken("revoked-token")
	stranger := f.w.AddMember(other.ID, "stranger", "Stranger") // on the other board only
	f.w.AddToken(f.s.Key(), "stranger-token", stranger.ID)
	for _, tc := range []struct {
		name   string
		url    string
		header string
		status int
		body   string
	}{
		{"header", path, fmt.Sprintf(`OAuth oauth_consumer_key="%s", oauth_token="%s"`, f.s.Key(), f.s.Token()), 200, ""},
		{"query", path + "?key=" + f.s.Key() + "&token=" + f.s.Token(), "", 200, ""},
		{"nothing", path, "", 401, "invalid key"},
		{"no token", path + "?key=" + f.s.Key(), "", 401, "unauthorized permission requested"},
		{"wrong token", path + "?key=" + f.s.Key() + "&token=nope", "", 401, "invalid token"},
		{"revoked token", path + "?key=" + f.s.Key() + "&token=revoked-token", "", 401, "invalid token"},
		{"board not shared", path + "?key=" + f.s.Key() + "&token=stranger-token", "", 401, "unauthorized permission requested"},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		r := do(t, f.s.Client(), req)
		if r.status != tc.status || (tc.body != "" && string(r.body) != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.status, r.body, tc.status, tc.body)
		}
	}
	for _, req := range f.s.Requests() {
		if strings.Contains(req.Query, f.s.Token()) || strings.Contains(req.Query, f.s.Key()) {
			t.Errorf("request log holds credentials: %+v", req)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	gone := f.w.AddBoard("Gone")
	f.w.DeleteBoard(gone.ID)
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/boards/not-an-id", 400, "invalid id"},
		{"/boards/0123456789abcdef01234567", 404, "The requested resource was not found."},
		{"/boards/" + gone.ID, 404, "The requested resource was not found."},
		{"/boards/" + gone.ID + "/actions", 404, "The requested resource was not found."},
		{"/boards/" + f.board.ShortLink, 200, ""},
		{"/nowhere", 500, "no route in fake: GET /1/nowhere"},
	} {
		r := f.get(t, tc.path, nil)
		if r.status != tc.status || (tc.body != "" && string(r.body) != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.path, r.status, r.body, tc.status, tc.body)
		}
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{})
	f.w.CreateCard(f.me.ID, f.todo.ID, "One")
	urls := []string{
		"/boards/" + f.board.ID + "/lists",
		"/boards/0123456789abcdef01234567",
		"/boards/" + f.board.ID + "/actions?" + url.Values{"filter": {"createCard,commentCard"}}.Encode(),
	}
	r := f.get(t, "/batch", url.Values{"urls": {strings.Join(urls, ",")}})
	var els []map[string]json.RawMessage
	r.decode(t, &els)
	if len(els) != 3 {
		t.Fatalf("%d elements, want 3", len(els))
	}
	var lists []trello.List
	var acts []trello.Action
	if json.Unmarshal(els[0]["200"], &lists) != nil || len(lists) != 2 {
		t.Errorf("element 0: %s", els[0]["200"])
	}
	if _, ok := els[1]["200"]; ok || !strings.Contains(string(els[1]["404"]), "The requested resource was not found.") {
		t.Errorf("element 1: %v", els[1])
	}
	if json.Unmarshal(els[2]["200"], &acts) != nil || len(acts) != 1 || acts[0].Type != "createCard" {
		t.Errorf("element 2 (a filter with an escaped comma): %s", els[2]["200"])
	}
	if got := r.header.Get("X-Rate-Limit-Api-Token-Remaining"); got != "99" {
		t.Errorf("a batch of 3 left %s requests, want 99 (one request)", got)
	}
	if got := f.s.RouteCount("batch GET /1/boards/{id}/lists"); got != 1 {
		t.Errorf("sub-route count %d", got)
	}

	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "/boards/" + f.board.ID
	}
	if r := f.get(t, "/batch", url.Values{"urls": {strings.Join(eleven, ",")}}); r.status != http.StatusBadRequest {
		t.Errorf("11 routes: status %d, want 400", r.status)
	}
	var nested []map[string]json.RawMessage
	f.get(t, "/batch", url.Values{"urls": {"/batch?urls=/boards/" + f.board.ID}}).decode(t, &nested)
	if _, ok := nested[0]["200"]; ok || len(nested) != 1 {
		t.Errorf("nested batch answered: %v", nested)
	}
	if r := f.send(t, http.MethodPost, "/batch", url.Values{"urls": {urls[0]}}); r.status == http.StatusOK {
		t.Errorf("POST /batch answered 200")
	}
}

func TestBatchCountsEachURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{BatchCountsEachURL: true})
	u := "/boards/" + f.board.ID
	r := f.get(t, "/batch", url.Values{"urls": {u + "," + u + "," + u}})
	if got := r.header.Get("X-Rate-Limit-Api-Token-Remaining"); got != "97" {
		t.Errorf("remaining %s, want 97", got)
	}
}

func TestWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	card := f.w.CreateCard(f.me.ID, f.todo.ID, "Card")
	var a trello.Action
	f.send(t, http.MethodPost, "/cards/"+card.ID+"/actions/comments", url.Values{"text": {"hello <b>"}}).decode(t, &a)
	if a.Type != "commentCard" || a.Data.Text != "hello <b>" || a.IDMemberCreator != f.me.ID || a.MemberCreator == nil {
		t.Fatalf("new comment: %+v", a)
	}
	f.send(t, http.MethodPut, "/actions/"+a.ID, url.Values{"text": {"edited"}}).decode(t, &a)
	if a.Data.Text != "edited" || a.Data.DateLastEdited == "" {
		t.Errorf("PUT /actions/{id}: %+v", a.Data)
	}
	f.send(t, http.MethodPut, "/actions/"+a.ID+"/text", url.Values{"value": {"edited twice"}}).decode(t, &a)
	if a.Data.Text != "edited twice" {
		t.Errorf("PUT /actions/{id}/text: %+v", a.Data)
	}
	// Someone else's comment cannot be edited.
	theirs := f.w.CommentCard(f.client.ID, card.ID, "client")
	if r := f.send(t, http.MethodPut, "/actions/"+theirs.ID, url.Values{"text": {"x"}}); r.status != http.StatusUnauthorized {
		t.Errorf("editing another member's comment: %d", r.status)
	}
	r := f.send(t, http.MethodDelete, "/actions/"+a.ID, nil)
	if r.status != 200 || string(r.body) != `{"_value":null}` {
		t.Errorf("DELETE comment: %d %s", r.status, r.body)
	}

	var label trello.Label
	f.send(t, http.MethodPost, "/labels", url.Values{"name": {"waiting"}, "color": {"sky"}, "idBoard": {f.board.ID}}).decode(t, &label)
	if label.ID == "" || label.Name != "waiting" || label.Color != "sky" || label.IDBoard != f.board.ID {
		t.Errorf("POST /labels: %+v", label)
	}
	if r := f.send(t, http.MethodPost, "/labels", url.Values{"name": {"x"}, "color": {"mauve"}, "idBoard": {f.board.ID}}); r.status != http.StatusBadRequest {
		t.Errorf("bad color: %d", r.status)
	}
	var second trello.Label
	f.send(t, http.MethodPost, "/boards/"+f.board.ID+"/labels", url.Values{"name": {"x"}, "color": {""}}).decode(t, &second)
	var idLabels []string
	f.send(t, http.MethodPost, "/cards/"+card.ID+"/idLabels", url.Values{"value": {label.ID}}).decode(t, &idLabels)
	if len(idLabels) != 1 || idLabels[0] != label.ID {
		t.Errorf("POST idLabels: %v", idLabels)
	}
	if r := f.send(t, http.MethodPost, "/cards/"+card.ID+"/idLabels", url.Values{"value": {label.ID}}); r.status != http.StatusBadRequest {
		t.Errorf("adding a label twice: %d", r.status)
	}
	r = f.send(t, http.MethodDelete, "/cards/"+card.ID+"/idLabels/"+label.ID, nil)
	if r.status != 200 || string(r.body) != `{"_value":null}` {
		t.Errorf("DELETE idLabels: %d %s", r.status, r.body)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{})
	path := "/boards/" + f.board.ID + "/lists"
	f.s.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 502, Route: "/1/boards/*/lists", Times: 2})
	for i := range 2 {
		r := f.get(t, path, nil)
		if r.status != 502 || !strings.Contains(string(r.body), "<html>") {
			t.Fatalf("fault %d: %d %s", i, r.status, r.body)
		}
	}
	if r := f.get(t, "/boards/"+f.board.ID, nil); r.status != 200 {
		t.Errorf("unmatched route hit a fault: %d", r.status)
	}
	// Faulted requests do not count against the rate limit: two requests
	// went through.
	if r := f.get(t, path, nil); r.status != 200 || r.header.Get("X-Rate-Limit-Api-Token-Remaining") != "98" {
		t.Errorf("after the fault: %d, remaining %s", r.status, r.header.Get("X-Rate-Limit-Api-Token-Remaining"))
	}
	if got := f.s.Requests(); len(got) != 4 || got[0].Status != 502 || got[0].Route != "GET /1/boards/{id}/lists" {
		t.Errorf("log: %+v", got)
	}

	f.s.Arm(trellofake.Fault{Kind: trellofake.FaultTruncate})
	resp, err := f.s.Client().Get(f.s.BaseURL() + path + "?key=" + f.s.Key() + "&token=" + f.s.Token())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body read: %v, want unexpected EOF", err)
	}

	f.s.Arm(trellofake.Fault{Kind: trellofake.FaultHang})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.s.BaseURL()+path+"?key="+f.s.Key()+"&token="+f.s.Token(), nil)
	if _, err := f.s.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v, want deadline exceeded", err)
	}

	for _, tc := range []struct {
		kind   trellofake.FaultKind
		status int
	}{
		{trellofake.FaultUnauthorized, 401},
		{trellofake.FaultNotFound, 404},
		{trellofake.FaultRateLimited, 429},
	} {
		f.s.Arm(trellofake.Fault{Kind: tc.kind})
		if r := f.get(t, path, nil); r.status != tc.status {
			t.Errorf("fault %d: status %d, want %d", tc.kind, r.status, tc.status)
		}
	}
}

// TestPageHook changes the world between two pages: a comment deleted
// after page one does not shift page two, as paging by id (not offset)
// promises.
func TestPageHook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, trellofake.Limits{Off: true})
	card := f.w.CreateCard(f.me.ID, f.todo.ID, "Card")
	var all []string
	for i := range 6 {
		f.clock.Advance(time.Second)
		all = append(all, f.w.CommentCard(f.me.ID, card.ID, fmt.Sprint(i)).ID)
	}
	hooked := 0
	f.s.SetPageHook(func(ev trellofake.PageEvent) {
		if ev.Before == "" && ev.Returned == ev.Limit {
			hooked++
			f.w.DeleteComment(all[5]) // the newest, already sent
			f.clock.Advance(time.Second)
			f.w.CommentCard(f.me.ID, card.ID, "new")
		}
	})
	path := "/cards/" + card.ID + "/actions"
	var p1, p2 []trello.Action
	f.get(t, path, url.Values{"limit": {"3"}}).decode(t, &p1)
	f.get(t, path, url.Values{"limit": {"3"}, "before": {p1[2].ID}}).decode(t, &p2)
	if hooked != 1 || !equal(ids(p2), []string{all[2], all[1], all[0]}) {
		t.Errorf("hook ran %d times; page 2 = %v", hooked, ids(p2))
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	opts := trellofake.GenerateOptions{Seed: 7, Boards: 4, CardsPerBoard: 40, ActionsPerBoard: 400, Clock: trellofake.NewVirtualClock(epoch)}
	w1 := trellofake.Generate(opts)
	opts.Clock = trellofake.NewVirtualClock(epoch)
	w2 := trellofake.Generate(opts)
	b1, b2 := w1.Boards(), w2.Boards()
	if len(b1) != 4 || len(b2) != 4 {
		t.Fatalf("%d and %d boards, want 4", len(b1), len(b2))
	}
	cyrillic := false
	for i, b := range b1 {
		e1, err := w1.ExportJSON(b.ID)
		if err != nil {
			t.Fatal(err)
		}
		e2, _ := w2.ExportJSON(b2[i].ID)
		if string(e1) != string(e2) {
			t.Fatalf("board %d differs between two worlds from one seed", i)
		}
		if got := len(w1.Cards(b.ID)); got != 40 {
			t.Errorf("board %d: %d cards, want 40", i, got)
		}
		if got := len(w1.Actions(b.ID)); got != 400 {
			t.Errorf("board %d: %d actions, want 400", i, got)
		}
		var ex struct {
			Actions []trello.Action `json:"actions"`
			Lists   []trello.List   `json:"lists"`
			Members []trello.Member `json:"members"`
			Cards   []trello.Card   `json:"cards"`
		}
		if err := json.Unmarshal(e1, &ex); err != nil {
			t.Fatal(err)
		}
		types := map[string]int{}
		for _, a := range ex.Actions {
			types[a.Type]++
			if a.Type == "commentCard" && strings.ContainsAny(a.Data.Text, "абвгдеёжзийклмнопрстуфхцчшщъыьэюя") {
				cyrillic = true
			}
		}
		for _, typ := range []string{"createCard", "commentCard", "updateCard"} {
			if types[typ] == 0 {
				t.Errorf("board %d has no %s", i, typ)
			}
		}
		if len(ex.Lists) != 6 || ex.Lists[4].Name != "Waiting for client" || len(ex.Members) != 6 {
			t.Errorf("board %d: %d lists, %d members", i, len(ex.Lists), len(ex.Members))
		}
		archived := 0
		for _, c := range ex.Cards {
			if c.Closed {
				archived++
			}
		}
		if archived == 0 {
			t.Errorf("board %d has no archived card", i)
		}
	}
	if !cyrillic {
		t.Error("no Cyrillic comment in the generated world")
	}
	// Mutations after generating sort after the history.
	b := b1[0]
	old := w1.Actions(b.ID)[0]
	cards := w1.Cards(b.ID)
	a := w1.CommentCard(w1.Me().ID, cards[0].ID, "after")
	if a.ID <= old.ID {
		t.Errorf("new action %s sorts before the history's newest %s", a.ID, old.ID)
	}
}

// TestExportReadable checks that the fake's board JSON is what the
// trello_export source reads: the same fields, the same shapes.
func TestExportReadable(t *testing.T) {
	t.Parallel()
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 3, Boards: 2, CardsPerBoard: 30, ActionsPerBoard: 300, Clock: trellofake.NewVirtualClock(epoch)})
	dir := t.TempDir()
	wantTasks := 0
	for _, b := range w.Boards() {
		data, err := w.ExportJSON(b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, b.ID+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		wantTasks += len(w.Cards(b.ID))
	}
	src, err := trello.NewExport(trello.ExportOptions{Files: []string{filepath.Join(dir, "*.json")}, BatchSize: 500}, connectorsEnv())
	if err != nil {
		t.Fatal(err)
	}
	tasks, messages, moves := 0, 0, 0
	err = src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		for _, p := range b.Problems {
			t.Errorf("problem: %s: %s", p.Where, p.Message)
		}
		tasks += len(b.Tasks)
		messages += len(b.Messages)
		moves += len(b.StatusChanges)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tasks != wantTasks || messages == 0 || moves == 0 {
		t.Errorf("export read: %d tasks (want %d), %d messages, %d status changes", tasks, wantTasks, messages, moves)
	}
}

func connectorsEnv() connectors.Env { return connectors.Env{} }
