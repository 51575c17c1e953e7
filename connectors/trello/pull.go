package trello

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// Source pulls Trello boards through the REST API (kind trello).
//
// Requests per board, with every small read folded into one /batch call:
//
//   - first pull (backfill): one batch holding the newest page of actions,
//     the board, its lists, labels, members, custom fields and the first
//     page of cards (checklists nested); then the older pages of actions
//     (before=<oldest id>) and of cards (before=<smallest id>). Records are
//     emitted only once every page is in, so the cursor is right.
//   - each later pull: one batch for up to ten boards asking each for
//     actions?since=<newest action id seen>. A board with nothing new costs
//     that tenth of a request and nothing more. A board with new actions
//     re-reads the cards they name (/cards/{id} with checklists and the
//     card's creation action nested, ten to a batch, with the board's
//     lists in the first slot), and the board, labels and members when an
//     action changed them.
//   - reconcile (every reconcile_every, and on the backfill): comments are
//     mutable and an edit or a deletion writes no action, so the comments of
//     the last reconcile_window are re-read and emitted with a messages
//     Scope (edited ones update, deleted ones are soft-deleted), and every
//     card is re-read with a tasks Scope (deleted cards go), with the
//     creation actions that name the cards' creators.
//
// The cursor is JSON: per board id, the newest action id stored and when
// the board was last reconciled. A board's entry advances only in the last
// batch of that board's records, so a pull killed or failing mid-board
// fetches the board again rather than skipping what was not stored.
type Source struct {
	opts   APIOptions
	names  *regexp.Regexp
	client *Client
	log    *slog.Logger
	now    func() time.Time
}

// NewSource checks opts and returns the source. A nil client is built
// from the options' credentials with env's HTTP client and the key's
// process-wide rate-limit budget; tests pass one on a virtual clock.
func NewSource(opts APIOptions, env connectors.Env, client *Client) (*Source, error) {
	names, err := opts.check()
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", KindName, err)
	}
	if client == nil {
		key, token, err := opts.credentials(env)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", KindName, err)
		}
		client, err = NewClient(ClientOptions{BaseURL: opts.BaseURL, HTTPClient: env.HTTPClient, Key: key, Token: token, Logger: env.Logger,
			Timeout: opts.RequestTimeout})
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", KindName, err)
		}
	}
	s := &Source{opts: opts, names: names, client: client, log: env.Logger, now: env.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = client.clock.Now
	}
	return s, nil
}

// Check lists the boards of the token's member: one request that needs
// both the key and the token (connectors.Checker). The names the mapping
// gives boards, lists and members are checked by discovery after.
func (s *Source) Check(ctx context.Context) error {
	_, err := s.client.Boards(ctx, "open")
	return err
}

// Client returns the client the source pulls with (push and discover use
// the same one, so they share its budget).
func (s *Source) Client() *Client { return s.client }

// ---- cursor

// pullCursor is the JSON cursor.
type pullCursor struct {
	Boards map[string]boardCursor `json:"boards"`
}

// boardCursor is what the cursor keeps of one board.
type boardCursor struct {
	// Ref is the board as the config names it (a short link) when that is
	// not its id.
	Ref  string `json:"ref,omitempty"`
	Name string `json:"name,omitempty"`
	// Newest is the id of the newest action stored; the next pull asks for
	// actions since it.
	Newest     string    `json:"newest"`
	Reconciled time.Time `json:"reconciled"`
}

func parseCursor(s string) (pullCursor, error) {
	c := pullCursor{Boards: map[string]boardCursor{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("reading trello cursor: %w", err)
	}
	if c.Boards == nil {
		c.Boards = map[string]boardCursor{}
	}
	return c, nil
}

func (c pullCursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ---- selection

// target is a board to pull: ref as configured (or the id), the id, its
// short link when the listing gave it, and cursor entry when known.
type target struct {
	ref   string
	id    string
	short string
	name  string
	state *boardCursor
}

func (s *Source) targets(ctx context.Context, cur pullCursor) ([]target, error) {
	byRef := map[string]string{}
	for id, bc := range cur.Boards {
		byRef[id] = id
		if bc.Ref != "" {
			byRef[bc.Ref] = id
		}
	}
	excluded := map[string]bool{}
	for _, ref := range s.opts.ExcludeBoards {
		excluded[ref] = true
	}
	var out []target
	add := func(t target) {
		if id, ok := byRef[t.ref]; ok {
			t.id = id
		}
		if t.id != "" {
			if bc, ok := cur.Boards[t.id]; ok {
				t.state = &bc
				if t.name == "" {
					t.name = bc.Name
				}
			}
		}
		out = append(out, t)
	}
	if s.names == nil {
		seen := map[string]bool{}
		for _, ref := range s.opts.Boards {
			if !seen[ref] && !excluded[ref] {
				seen[ref] = true
				add(target{ref: ref})
			}
		}
		return out, nil
	}
	filter := "open"
	if s.opts.IncludeClosedBoards {
		filter = "all"
	}
	boards, err := s.client.Boards(ctx, filter)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(boards, func(a, b Board) int { return strings.Compare(a.ID, b.ID) })
	listed := map[string]bool{}
	for _, b := range boards {
		listed[b.ID] = true
		if s.names.MatchString(b.Name) && !excluded[b.ID] && !excluded[b.ShortLink] {
			add(target{ref: b.ID, id: b.ID, short: b.ShortLink, name: b.Name})
		}
	}
	// A board pulled before that the listing no longer shows was deleted,
	// unshared or archived: it is asked for as before, so that the first
	// two mark the source for attention and an archived board keeps its
	// final state. A board still listed under a name the pattern no longer
	// matches has left the selection; its data stays.
	var missing []string
	for id, bc := range cur.Boards {
		if !listed[id] && !excluded[id] && (bc.Ref == "" || !excluded[bc.Ref]) {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		add(target{ref: id, id: id})
	}
	return out, nil
}

// Scope returns a source that pulls only the named boards, each a board
// id (a Trello webhook's model is the board, named by id) or a short
// link, of the boards the source selects: boards, or board_names, less
// exclude_boards. Its Pull is Pull narrowed to those boards, on the same
// cursor; see connectors.Scoper.
//
// A scoped board is pulled exactly as Pull pulls it, its reconcile
// included when reconcile_every has passed. That reconcile reads and
// scopes the one board (its Complete scopes name it), so it is as safe
// as the rest of the board's pull; leaving it to the full pull would save
// nothing, since a reconcile skipped here is still due there, and would
// give the board's cursor entry a second way of moving.
func (s *Source) Scope(boards []string) (connectors.Source, error) {
	if len(boards) == 0 {
		return nil, errors.New("scoping a trello source: no board named")
	}
	var bad []string
	for _, b := range boards {
		if !isBoardRef(b) {
			bad = append(bad, b) // neither an id nor a short link: no board the source pulls
		}
	}
	if len(bad) > 0 {
		return nil, &connectors.NotPulledError{What: "trello board", Containers: bad}
	}
	return &scoped{s: s, boards: slices.Compact(slices.Sorted(slices.Values(boards)))}, nil
}

var _ connectors.Scoper = (*Source)(nil)

// scoped is a Source narrowed to some boards (Source.Scope).
type scoped struct {
	s      *Source
	boards []string
}

// Pull emits what changed on the scoped boards since cursor, until the
// deadline option; the other boards' cursor entries go on as they were.
func (sc *scoped) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	return sc.s.run(ctx, cursor, emit, sc.boards)
}

// scope narrows targets to the boards only names, before anything is
// read of them. A board named otherwise than the config and the cursor
// know it (by a short link where the config has the id, by the id of a
// board the config names by a short link no pull has read yet) is asked
// of Trello: one small read of that board. An id is never asked when
// every target's id is known.
func (p *pull) scope(ctx context.Context, targets []target, only []string) ([]target, error) {
	keep := make([]bool, len(targets))
	var unknown []string
	for _, ref := range only {
		i := slices.IndexFunc(targets, func(t target) bool { return ref == t.ref || ref == t.id || ref == t.short })
		if i < 0 && (!isObjectID(ref) || slices.ContainsFunc(targets, func(t target) bool { return t.id == "" })) {
			b, err := p.s.client.Board(ctx, ref)
			switch {
			case err == nil:
				i = slices.IndexFunc(targets, func(t target) bool { return t.id == b.ID || t.ref == b.ID || t.ref == b.ShortLink })
			case !isGone(err):
				return nil, fmt.Errorf("reading board %s: %w", ref, err)
			}
		}
		if i < 0 {
			unknown = append(unknown, ref)
			continue
		}
		keep[i] = true
	}
	if len(unknown) > 0 {
		return nil, &connectors.NotPulledError{What: "trello board", Containers: unknown}
	}
	var out []target
	for i, t := range targets {
		if keep[i] {
			out = append(out, t)
		}
	}
	return out, nil
}

// ---- pull

// pull is one run of Pull.
type pull struct {
	s    *Source
	emit connectors.Emit

	// mu serializes emitting and guards cur: a board's batches go out
	// together, and each batch's cursor holds only boards whose records
	// are all stored.
	mu  sync.Mutex
	cur pullCursor

	amu       sync.Mutex
	attention []string
	causes    []error
}

// Pull emits what changed on the selected boards since cursor, until the
// deadline option; the boards stored by then stay.
func (s *Source) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	return s.run(ctx, cursor, emit, nil)
}

// run is Pull of every selected board (only nil) or of those only names.
func (s *Source) run(ctx context.Context, cursor string, emit connectors.Emit, only []string) error {
	// The client waits on its clock, so the deadline is on that clock.
	ctx, cancel := connectors.WithDeadline(ctx, s.client.clock.Now(), s.opts.Deadline)
	defer cancel()
	return connectors.DeadlineReached(ctx, s.pull(ctx, cursor, emit, only))
}

func (s *Source) pull(ctx context.Context, cursor string, emit connectors.Emit, only []string) error {
	cur, err := parseCursor(cursor)
	switch {
	case err != nil && only != nil:
		// Its cursor would keep only the scoped boards: the other boards'
		// entries are the full pull's to rebuild.
		return fmt.Errorf("pulling boards %s alone: %w; the next full pull reads every board again", strings.Join(only, ", "), err)
	case err != nil:
		// A cursor this version cannot read costs a backfill, not a stuck
		// source.
		s.log.Warn("trello cursor unreadable, pulling every board again", "error", err)
		cur = pullCursor{Boards: map[string]boardCursor{}}
	}
	targets, err := s.targets(ctx, cur)
	if err != nil {
		return err
	}
	p := &pull{s: s, emit: emit, cur: cur}
	if only != nil {
		if targets, err = p.scope(ctx, targets, only); err != nil {
			return err
		}
	}
	first, err := p.probe(ctx, targets)
	if err != nil {
		return err
	}

	var run []int
	for i, t := range targets {
		pr := first[i]
		if pr.gone != nil {
			p.flag(t, pr.gone)
			continue
		}
		if t.state != nil && pr.fetched && len(pr.actions) == 0 && !p.reconcileDue(t.state) {
			continue // nothing new: the probe was the whole cost
		}
		run = append(run, i)
	}
	err = connectors.FanOut(ctx, s.opts.Concurrency, len(run), func(ctx context.Context, k int) error {
		return p.board(ctx, targets[run[k]], first[run[k]])
	}, func(k int, err error) bool {
		if isGone(err) {
			p.flag(targets[run[k]], err)
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	if len(p.attention) > 0 {
		slices.Sort(p.attention)
		return &connectors.AttentionError{Why: strings.Join(p.attention, "; "), Err: errors.Join(p.causes...)}
	}
	return nil
}

func (p *pull) flag(t target, err error) {
	name := t.ref
	if t.name != "" {
		name = fmt.Sprintf("%s (%s)", t.name, cmp.Or(t.id, t.ref))
	}
	p.amu.Lock()
	defer p.amu.Unlock()
	p.attention = append(p.attention, fmt.Sprintf("board %s is gone or no longer shared with the token; its data is kept (list it under exclude_boards to stop syncing it)", name))
	p.causes = append(p.causes, err)
}

func (p *pull) reconcileDue(st *boardCursor) bool {
	return !p.s.now().Before(st.Reconciled.Add(p.s.opts.ReconcileEvery))
}

// isGone says a board-level error means the board was deleted or is no
// longer visible to the token: Trello answers 404 for the first and 401
// "unauthorized permission requested" for the second, while a revoked
// token gets 401 "invalid token" [message texts unverified].
func isGone(err error) bool {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return true
	}
	var ue *UnauthorizedError
	return errors.As(err, &ue) && strings.Contains(ue.Message, "permission")
}

// probed is what the probe learned of one board.
type probed struct {
	fetched bool     // actions holds the newest page since the cursor
	actions []Action // newest first
	gone    error
}

// probe asks every board with a cursor for its actions since that cursor,
// ten boards to a /batch request: a pull where nothing changed costs a
// tenth of a request per board. A route that failed other than by the
// board being gone is left unfetched; the board's own pull asks again and
// retries as reads do.
func (p *pull) probe(ctx context.Context, targets []target) ([]probed, error) {
	out := make([]probed, len(targets))
	var urls []string
	var idx []int
	for i, t := range targets {
		if t.state == nil {
			continue
		}
		q := url.Values{"limit": {strconv.Itoa(MaxPage)}, "since": {t.state.Newest}}
		urls = append(urls, BatchURL(q, "boards", t.id, "actions"))
		idx = append(idx, i)
	}
	if len(urls) == 0 {
		return out, nil
	}
	res, err := p.s.client.Batch(ctx, urls)
	if err != nil {
		return nil, fmt.Errorf("reading new actions of %d boards: %w", len(urls), err)
	}
	for j, r := range res {
		i := idx[j]
		var acts []Action
		err := r.Decode(&acts)
		switch {
		case err == nil:
			out[i] = probed{fetched: true, actions: acts}
		case isGone(err):
			out[i] = probed{gone: err}
		case errors.Is(err, connectors.ErrUnauthorized):
			return nil, fmt.Errorf("reading new actions of board %s: %w", targets[i].id, err)
		default:
			p.s.log.Warn("trello batch route failed, reading it alone", "error", err)
		}
	}
	return out, nil
}

// boardRead is everything read of one board in this pull.
type boardRead struct {
	id       string
	board    *Board // nil when not re-read
	lists    []List
	labels   []Label
	members  []Member
	fields   []CustomField
	cards    []FullCard // re-read cards
	allCards bool       // cards holds every card of the board
	gone     []string   // cards named by new actions that left the board
	actions  []Action   // new actions, newest first
	created  []Action   // creation actions of the cards read
	comments []Action   // reconcile: comments of the window
	window   time.Time  // reconcile: the window's start
	newest   string
}

// board pulls one board and emits it.
func (p *pull) board(ctx context.Context, t target, pr probed) error {
	now := p.s.now()
	reconcile := t.state == nil || p.reconcileDue(t.state)
	rd := &boardRead{id: t.id}
	if t.state != nil {
		acts := pr.actions
		q := ActionsQuery{BoardID: t.id, Since: t.state.Newest}
		if !pr.fetched {
			page, err := p.s.client.Actions(ctx, q)
			if err != nil {
				return fmt.Errorf("reading new actions of board %s: %w", t.id, err)
			}
			acts = page
		}
		acts, err := p.more(ctx, q, acts)
		if err != nil {
			return fmt.Errorf("reading new actions of board %s: %w", t.id, err)
		}
		rd.actions = acts
		rd.newest = t.state.Newest
		if len(acts) > 0 {
			rd.newest = acts[0].ID
		}
	}
	var err error
	if reconcile {
		err = p.readWhole(ctx, t, rd, now)
	} else {
		err = p.readChanged(ctx, t, rd)
	}
	if err != nil {
		return err
	}
	bc := boardCursor{Newest: rd.newest, Name: t.name}
	if t.state != nil {
		bc.Reconciled = t.state.Reconciled
		bc.Name = cmp.Or(bc.Name, t.state.Name)
	}
	if reconcile {
		bc.Reconciled = now
	}
	if rd.board != nil {
		bc.Name = rd.board.Name
	}
	if t.ref != rd.id {
		bc.Ref = t.ref
	}
	return p.emitBoard(ctx, rd, bc)
}

// more pages on from the newest page of a query (newest first, before=
// the oldest id of the page) while pages come back full.
func (p *pull) more(ctx context.Context, q ActionsQuery, page []Action) ([]Action, error) {
	out := page
	for len(page) >= MaxPage {
		oldest := page[len(page)-1].ID
		if q.Before != "" && oldest >= q.Before {
			return nil, fmt.Errorf("page before %s holds no older action", q.Before)
		}
		q.Before = oldest
		var err error
		if page, err = p.s.client.Actions(ctx, q); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// creationFilter asks for the actions that put a card on a board.
const creationFilter = "createCard,copyCard,convertToCardFromCheckItem,moveCardToBoard"

func cardsQuery() url.Values {
	return url.Values{"filter": {"all"}, "limit": {strconv.Itoa(MaxPage)}, "checklists": {"all"}, "customFieldItems": {"true"}}
}

// readWhole reads the whole board in one batch plus the further pages:
// on the backfill every action, on a reconcile the comments of the window
// and the creation actions (for the cards' creators).
func (p *pull) readWhole(ctx context.Context, t target, rd *boardRead, now time.Time) error {
	ref := cmp.Or(t.id, t.ref)
	backfill := t.state == nil
	actQ := ActionsQuery{BoardID: ref}
	if !backfill {
		// since= excludes its own instant and Trello dates actions to the
		// millisecond, so the listing holds the comments from the next
		// millisecond on: that is where the window's scope starts. A
		// comment written at the very instant is not listed and so must
		// not be judged.
		since := now.Add(-p.s.opts.ReconcileWindow).UTC().Truncate(time.Millisecond)
		rd.window = since.Add(time.Millisecond)
		actQ.Filter = "commentCard"
		actQ.Since = since.Format("2006-01-02T15:04:05.000Z")
	}
	creQ := ActionsQuery{BoardID: ref, Filter: creationFilter}
	aq := func(q ActionsQuery) string {
		r, _ := q.request()
		return BatchURL(r.query, r.path...)
	}
	// Actions first: whatever changes after they are read is newer than
	// the cursor this read will store, and the next pull sees it.
	urls := []string{aq(actQ)}
	if !backfill {
		urls = append(urls, aq(creQ))
	}
	urls = append(urls,
		BatchURL(url.Values{"fields": {boardFields}}, "boards", ref),
		BatchURL(url.Values{"filter": {"all"}}, "boards", ref, "lists"),
		BatchURL(url.Values{"limit": {strconv.Itoa(MaxPage)}}, "boards", ref, "labels"),
		BatchURL(url.Values{"fields": {"username,fullName,initials,avatarHash"}}, "boards", ref, "members"),
		BatchURL(nil, "boards", ref, "customFields"),
		BatchURL(cardsQuery(), "boards", ref, "cards"),
	)
	res, err := p.s.client.Batch(ctx, urls)
	if err != nil {
		return fmt.Errorf("reading board %s: %w", ref, err)
	}
	var acts, cre []Action
	var cards []FullCard
	var board Board
	dst := []any{&acts}
	if !backfill {
		dst = append(dst, &cre)
	}
	dst = append(dst, &board, &rd.lists, &rd.labels, &rd.members, &rd.fields, &cards)
	for i, r := range res {
		if err := r.Decode(dst[i]); err != nil {
			if _, ok := dst[i].(*[]CustomField); ok && !isGone(err) && !errors.Is(err, connectors.ErrUnauthorized) {
				continue // a board without the power-up: cards keep no custom field values
			}
			return fmt.Errorf("reading board %s: %w", ref, err)
		}
	}
	rd.board, rd.id = &board, board.ID
	if acts, err = p.more(ctx, actQ, acts); err != nil {
		return fmt.Errorf("reading actions of board %s: %w", rd.id, err)
	}
	if backfill {
		rd.actions = acts
		rd.newest = rd.id // a board without actions: every later action is newer than it
		if len(acts) > 0 {
			rd.newest = acts[0].ID
		}
	} else {
		rd.comments = acts
		if rd.created, err = p.more(ctx, creQ, cre); err != nil {
			return fmt.Errorf("reading card creations of board %s: %w", rd.id, err)
		}
	}
	if rd.cards, err = p.moreCards(ctx, rd.id, cards); err != nil {
		return err
	}
	rd.allCards = true
	if !backfill {
		// A card a new action names (its deleteCard, its move to another
		// board) that the board no longer holds is gone with its moves and
		// comments, as readChanged finds it by a 404; the tasks scope alone
		// would leave them live. (A backfill has stored nothing to clean.)
		held := make(map[string]bool, len(rd.cards))
		for _, c := range rd.cards {
			held[c.ID] = true
		}
		for _, a := range rd.actions {
			if c := a.Data.Card; c != nil && c.ID != "" && !held[c.ID] && !slices.Contains(rd.gone, c.ID) {
				rd.gone = append(rd.gone, c.ID)
			}
		}
		slices.Sort(rd.gone)
	}
	return nil
}

// moreCards pages on from the first page of cards, before=<smallest id>.
func (p *pull) moreCards(ctx context.Context, boardID string, page []FullCard) ([]FullCard, error) {
	out := page
	q := cardsQuery()
	for len(page) >= MaxPage {
		smallest := page[0].ID
		for _, c := range page {
			smallest = min(smallest, c.ID)
		}
		if before := q.Get("before"); before != "" && smallest >= before {
			return nil, fmt.Errorf("reading cards of board %s: page before %s holds no older card", boardID, before)
		}
		q.Set("before", smallest)
		page = nil
		if err := p.s.client.get(ctx, &page, q, "boards", boardID, "cards"); err != nil {
			return nil, fmt.Errorf("reading cards of board %s: %w", boardID, err)
		}
		out = append(out, page...)
	}
	slices.SortFunc(out, func(a, b FullCard) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b FullCard) bool { return a.ID == b.ID }), nil
}

// boardActionTypes are actions that change what the board, its lists,
// labels or members say (rather than one card).
func changesBoard(a Action) bool {
	if a.Data.Card == nil || a.Data.Card.ID == "" {
		return true
	}
	return strings.HasSuffix(a.Type, "Label") || strings.HasSuffix(a.Type, "List") ||
		strings.HasSuffix(a.Type, "Board") || strings.HasPrefix(a.Type, "moveCard")
}

// readChanged re-reads what the new actions say changed: the cards they
// name (with their checklists and creation action nested), the board's
// lists (to name statuses; they share the first batch), and the board,
// labels and members when an action changed them.
func (p *pull) readChanged(ctx context.Context, t target, rd *boardRead) error {
	var ids []string
	seen := map[string]bool{}
	needBoard := false
	for _, a := range rd.actions {
		if changesBoard(a) {
			needBoard = true
		}
		if a.Data.Card != nil && a.Data.Card.ID != "" && !seen[a.Data.Card.ID] {
			seen[a.Data.Card.ID] = true
			ids = append(ids, a.Data.Card.ID)
		}
	}
	slices.Sort(ids)
	urls := []string{BatchURL(url.Values{"filter": {"all"}}, "boards", t.id, "lists")}
	if needBoard {
		urls = append(urls,
			BatchURL(url.Values{"fields": {boardFields}}, "boards", t.id),
			BatchURL(url.Values{"limit": {strconv.Itoa(MaxPage)}}, "boards", t.id, "labels"),
			BatchURL(url.Values{"fields": {"username,fullName,initials,avatarHash"}}, "boards", t.id, "members"),
		)
	}
	if len(ids) > 0 {
		// The cards' custom field values name fields by id.
		urls = append(urls, BatchURL(nil, "boards", t.id, "customFields"))
	}
	fixed := len(urls)
	cq := url.Values{"checklists": {"all"}, "customFieldItems": {"true"}, "actions": {creationFilter}, "actions_limit": {strconv.Itoa(MaxPage)}}
	for _, id := range ids {
		urls = append(urls, BatchURL(cq, "cards", id))
	}
	res, err := p.s.client.Batch(ctx, urls)
	if err != nil {
		return fmt.Errorf("re-reading board %s: %w", t.id, err)
	}
	var board Board
	dst := []any{&rd.lists}
	if needBoard {
		dst = append(dst, &board, &rd.labels, &rd.members)
	}
	if len(ids) > 0 {
		dst = append(dst, &rd.fields)
	}
	for i := range fixed {
		if err := res[i].Decode(dst[i]); err != nil {
			if _, ok := dst[i].(*[]CustomField); ok && !isGone(err) && !errors.Is(err, connectors.ErrUnauthorized) {
				continue
			}
			return fmt.Errorf("re-reading board %s: %w", t.id, err)
		}
	}
	if needBoard {
		rd.board = &board
	}
	for i, id := range ids {
		var c struct {
			FullCard
			Actions []Action `json:"actions"`
		}
		err := res[fixed+i].Decode(&c)
		switch {
		case err == nil && c.IDBoard != "" && c.IDBoard != t.id:
			rd.gone = append(rd.gone, id) // moved to another board
		case err == nil:
			rd.cards = append(rd.cards, c.FullCard)
			rd.created = append(rd.created, c.Actions...)
		case isNotFound(err):
			rd.gone = append(rd.gone, id) // deleted
		default:
			return fmt.Errorf("re-reading card %s of board %s: %w", id, t.id, err)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// ---- emitting

// emitBoard converts what was read and emits it: board, people and tasks
// first (comments and moves link to tasks), then the new actions oldest
// first, then on a reconcile the window's comments with their scope. The
// last batch carries the cursor with this board's entry advanced.
func (p *pull) emitBoard(ctx context.Context, rd *boardRead, bc boardCursor) error {
	board := Board{ID: rd.id}
	if rd.board != nil {
		board = *rd.board
	}
	ix := newBoardIndex(board)
	var problems []record.Problem
	where := "trello board " + rd.id
	bad := func(what string, err error) {
		problems = append(problems, record.Problem{Where: where + " " + what, Message: err.Error()})
	}
	for _, l := range rd.lists {
		if err := ix.addList(l); err != nil {
			bad("lists", err)
		}
	}
	for _, l := range rd.labels {
		if err := ix.addLabel(l); err != nil {
			bad("labels", err)
		}
	}
	for _, m := range rd.members {
		if err := ix.addMember(m); err != nil {
			bad("members", err)
		}
	}
	for _, f := range rd.fields {
		if err := ix.addField(f); err != nil {
			bad("custom fields", err)
		}
	}
	for _, c := range rd.cards {
		ix.addCard(c.ID)
		for _, cl := range c.Checklists {
			if cl.IDCard == "" {
				cl.IDCard = c.ID
			}
			if err := ix.addChecklist(cl); err != nil {
				bad("card "+c.ID, err)
			}
		}
	}
	for _, set := range [][]Action{rd.created, rd.actions, rd.comments} {
		for _, a := range set {
			if err := ix.noteAction(a); err != nil {
				bad("action "+a.ID, err)
			}
		}
	}

	head := &record.Batch{}
	if rd.board != nil {
		c := ix.container()
		// The backfill read every action of the board and each pull
		// reads every one since: the history is whole, up to now.
		c.History = &record.History{}
		head.Containers = append(head.Containers, c)
	}
	head.People = ix.persons()
	for _, id := range rd.gone {
		for _, k := range []string{record.ScopeTasks, record.ScopeStatusChanges, record.ScopeMessages} {
			head.Complete = append(head.Complete, record.Scope{Kind: k, TaskID: id})
		}
	}
	for _, c := range rd.cards {
		t, warnings, err := ix.task(c.Card)
		for _, w := range warnings {
			problems = append(problems, record.Problem{Where: where + " card " + c.ID, Message: w, Warning: true})
		}
		if err != nil {
			bad("card "+c.ID, err)
			continue
		}
		head.Tasks = append(head.Tasks, t)
	}
	if rd.allCards {
		// Every card is in this batch: the board's other stored tasks are
		// gone. The scope must fit one batch, so head is never split.
		head.Complete = append(head.Complete, record.Scope{Kind: record.ScopeTasks, ContainerID: rd.id})
	}
	var fields []record.FieldChange
	convert := func(acts []Action) (changes []record.StatusChange, msgs []record.Message) {
		acts = slices.Clone(acts)
		slices.SortFunc(acts, func(a, b Action) int { return cmp.Or(strings.Compare(a.Date, b.Date), strings.Compare(a.ID, b.ID)) })
		for _, a := range acts {
			if !mapped(a) {
				continue
			}
			out, warnings, err := ix.action(a)
			for _, w := range warnings {
				problems = append(problems, record.Problem{Where: where + " action " + a.ID, Message: w, Warning: true})
			}
			if err != nil {
				bad("action "+a.ID, err)
				continue
			}
			changes = append(changes, out.Changes...)
			fields = append(fields, out.Fields...)
			if out.Message != nil {
				msgs = append(msgs, *out.Message)
			}
		}
		return changes, msgs
	}
	changes, msgs := convert(rd.actions)

	var batches []*record.Batch
	if rd.allCards || len(head.Complete) > 0 {
		batches = append(batches, head)
	} else {
		batches = append(batches, head.Split(p.s.opts.BatchSize)...)
	}
	rest := &record.Batch{StatusChanges: changes, FieldChanges: fields, Messages: msgs}
	batches = append(batches, rest.Split(p.s.opts.BatchSize)...)
	if !rd.window.IsZero() {
		_, window := convert(rd.comments)
		batches = append(batches, &record.Batch{
			Messages: window,
			Complete: []record.Scope{{Kind: record.ScopeMessages, ContainerID: rd.id, From: rd.window}},
		})
	}
	batches[len(batches)-1].Problems = append(batches[len(batches)-1].Problems, problems...)

	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range batches {
		if i == len(batches)-1 {
			old, had := p.cur.Boards[rd.id]
			p.cur.Boards[rd.id] = bc
			b.Cursor = p.cur.String()
			if err := p.emit(ctx, b); err != nil {
				if had {
					p.cur.Boards[rd.id] = old
				} else {
					delete(p.cur.Boards, rd.id)
				}
				return fmt.Errorf("emitting trello board %s: %w", rd.id, err)
			}
			return nil
		}
		if b.Len() == 0 && len(b.Complete) == 0 && len(b.Problems) == 0 {
			continue
		}
		if err := p.emit(ctx, b); err != nil {
			return fmt.Errorf("emitting trello board %s: %w", rd.id, err)
		}
	}
	return nil
}
