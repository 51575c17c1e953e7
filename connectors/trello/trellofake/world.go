package trellofake

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// World is the fake's in-memory Trello: members, boards and everything on
// them, the actions that recorded each change, and the API tokens that may
// read them. It is safe for concurrent use: the server reads it while a
// test or a benchmark changes it.
//
// Mutators do what the Trello UI would do and write the actions Trello
// writes for it, dated by the world's clock. They panic when handed an id
// the world does not hold: that is a bug in the test, and a panic names it
// where an ignored error would let the test go on with a world it did not
// mean to build.
type World struct {
	mu    sync.RWMutex
	clock Clock
	ids   *idGen

	me      *member
	members map[string]*member
	byName  map[string]*member // by username

	boards       map[string]*board
	boardsShort  map[string]*board
	lists        map[string]*list
	cards        map[string]*card
	cardsShort   map[string]*card
	labels       map[string]*label
	checklists   map[string]*checklist
	checkItems   map[string]*checkItem
	customFields map[string]*customField
	actions      map[string]*action

	keys   map[string]bool
	tokens map[string]*token

	webhooks map[string]*webhook
}

type member struct {
	id, username, fullName, initials, avatarHash string
}

type token struct {
	key     string
	member  *member
	revoked bool
}

type board struct {
	id, name, desc, shortLink string
	org                       string
	closed, deleted           bool
	created, lastActivity     time.Time
	creator                   *member

	lists        []*list
	cards        []*card // by id
	labels       []*label
	memberships  []*membership
	customFields []*customField
	actions      []*action // by id, oldest first
	nextIDShort  int
}

type membership struct {
	id         string
	member     *member
	memberType string // admin, normal, observer
}

type list struct {
	id, name string
	closed   bool
	pos      float64
	board    *board
}

type card struct {
	id, name, desc, shortLink string
	idShort                   int
	board                     *board
	list                      *list
	closed                    bool
	pos                       float64
	due                       time.Time
	dueComplete               bool
	labels                    []*label
	members                   []*member
	checklists                []*checklist
	customItems               []*customFieldItem
	lastActivity              time.Time
	actions                   []*action // by id, oldest first
	comments                  int
}

type label struct {
	id, name, color string
	board           *board
}

type checklist struct {
	id, name string
	card     *card
	pos      float64
	items    []*checkItem
}

type checkItem struct {
	id, name  string
	complete  bool
	pos       float64
	checklist *checklist
}

type customField struct {
	id, name, typ string // typ: text, number, date, checkbox, list
	board         *board
	pos           float64
	options       []*customOption
}

type customOption struct {
	id, text, color string
	pos             float64
}

type customFieldItem struct {
	id      string
	field   *customField
	value   obj    // {"text": …} / {"number": "…"} / {"date": …} / {"checked": "true"}
	idValue string // the option, for list fields
}

type action struct {
	id, typ string
	creator *member
	date    time.Time
	data    obj
	board   *board
	card    *card   // nil for board-level actions
	member  *member // the member added, for addMemberToBoard
}

// Member is a Trello account as the fake's callers see it.
type Member struct {
	ID, Username, FullName string
}

// Board names a board the world holds.
type Board struct {
	ID, Name, ShortLink, URL string
}

// List names a list.
type List struct {
	ID, Name, BoardID string
}

// Card names a card.
type Card struct {
	ID, Name, ShortLink, URL, BoardID, ListID string
	IDShort                                   int
}

// Label names a label; Name may be empty.
type Label struct {
	ID, Name, Color, BoardID string
}

// Checklist names a checklist and its items, in order.
type Checklist struct {
	ID, Name, CardID string
	ItemIDs          []string
}

// CustomField names a board's custom field; for list fields OptionIDs are
// its options in order.
type CustomField struct {
	ID, Name, Type, BoardID string
	OptionIDs               []string
}

// Action names an action the world recorded.
type Action struct {
	ID, Type string
	Date     time.Time
}

// DefaultMe is the member the default token belongs to: the account an
// agency connects karkas with.
var DefaultMe = Member{Username: "karkas", FullName: "Karkas Sync"}

// NewWorld returns an empty world whose token owner ("me") is DefaultMe.
// A nil clock is the real one.
func NewWorld(clock Clock) *World {
	return newWorld(clock, 1)
}

func newWorld(clock Clock, seed uint64) *World {
	if clock == nil {
		clock = RealClock{}
	}
	w := &World{
		clock:        clock,
		ids:          newIDGen(seed),
		members:      map[string]*member{},
		byName:       map[string]*member{},
		boards:       map[string]*board{},
		boardsShort:  map[string]*board{},
		lists:        map[string]*list{},
		cards:        map[string]*card{},
		cardsShort:   map[string]*card{},
		labels:       map[string]*label{},
		checklists:   map[string]*checklist{},
		checkItems:   map[string]*checkItem{},
		customFields: map[string]*customField{},
		actions:      map[string]*action{},
		keys:         map[string]bool{},
		tokens:       map[string]*token{},
		webhooks:     map[string]*webhook{},
	}
	w.me = w.newMember(w.clock.Now(), DefaultMe.Username, DefaultMe.FullName)
	return w
}

// Clock returns the world's clock.
func (w *World) Clock() Clock { return w.clock }

// Me returns the member the default token belongs to.
func (w *World) Me() Member {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.me.public()
}

func (m *member) public() Member { return Member{ID: m.id, Username: m.username, FullName: m.fullName} }

func (w *World) newMember(at time.Time, username, fullName string) *member {
	m := &member{
		id:         w.ids.next(at),
		username:   username,
		fullName:   fullName,
		initials:   initials(fullName),
		avatarHash: w.ids.hexString(32),
	}
	w.members[m.id] = m
	w.byName[username] = m
	return m
}

// AddToken lets token (issued for key) read and write as the member with
// memberID. The server's default key and token are added by NewServer.
func (w *World) AddToken(key, tok, memberID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.mustMember(memberID)
	w.keys[key] = true
	w.tokens[tok] = &token{key: key, member: m}
}

// RevokeToken makes every later request with token fail with 401.
func (w *World) RevokeToken(tok string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.tokens[tok]
	if !ok {
		panic("trellofake: RevokeToken: unknown token")
	}
	t.revoked = true
}

// AddBoard creates a board with me as its admin, as createBoard does.
func (w *World) AddBoard(name string) Board {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addBoard(w.clock.Now(), w.me, name).public()
}

func (w *World) addBoard(at time.Time, by *member, name string) *board {
	b := &board{
		id:           w.ids.next(at),
		name:         name,
		shortLink:    w.ids.shortLink(),
		created:      at,
		lastActivity: at,
		creator:      by,
		nextIDShort:  1,
	}
	w.boards[b.id] = b
	w.boardsShort[b.shortLink] = b
	b.memberships = append(b.memberships, &membership{id: w.ids.next(at), member: by, memberType: "admin"})
	w.record(at, by, "createBoard", b, nil, obj{{"board", boardRef(b)}})
	return b
}

func (b *board) url() string { return "https://trello.com/b/" + b.shortLink + "/" + slug(b.name) }

func (b *board) public() Board {
	return Board{ID: b.id, Name: b.name, ShortLink: b.shortLink, URL: b.url()}
}

// AddList appends an open list to a board, as createList does.
func (w *World) AddList(boardID, name string) List {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.mustBoard(boardID)
	return w.addList(w.clock.Now(), w.me, b, name).public()
}

func (w *World) addList(at time.Time, by *member, b *board, name string) *list {
	l := &list{id: w.ids.next(at), name: name, board: b, pos: float64(16384 * (len(b.lists) + 1))}
	b.lists = append(b.lists, l)
	w.lists[l.id] = l
	w.record(at, by, "createList", b, nil, obj{{"list", listRef(l)}, {"board", boardRef(b)}})
	return l
}

func (l *list) public() List { return List{ID: l.id, Name: l.name, BoardID: l.board.id} }

// CloseList archives a list (its cards stay open, as in Trello).
func (w *World) CloseList(listID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.mustList(listID)
	at := w.clock.Now()
	old := l.closed
	l.closed = true
	w.record(at, w.me, "updateList", l.board, nil, obj{
		{"list", append(listRef(l), field{"closed", true})},
		{"old", obj{{"closed", old}}},
		{"board", boardRef(l.board)},
	})
}

// AddMember puts a member on a board, creating the account when no member
// has that username yet (an existing account keeps its full name). It
// records addMemberToBoard by me.
func (w *World) AddMember(boardID, username, fullName string) Member {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.mustBoard(boardID)
	return w.addMember(w.clock.Now(), b, username, fullName, "normal").public()
}

func (w *World) addMember(at time.Time, b *board, username, fullName, memberType string) *member {
	m, ok := w.byName[username]
	if !ok {
		m = w.newMember(at, username, fullName)
	}
	for _, ms := range b.memberships {
		if ms.member == m {
			return m
		}
	}
	b.memberships = append(b.memberships, &membership{id: w.ids.next(at), member: m, memberType: memberType})
	a := w.record(at, w.me, "addMemberToBoard", b, nil, obj{
		{"board", boardRef(b)},
		{"idMember", m.id},
		{"memberType", memberType},
	})
	a.member = m
	return m
}

// CreateCard adds an open card at the bottom of a list, created by the
// member with memberID: a createCard action with data.list.
func (w *World) CreateCard(memberID, listID, name string) Card {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.mustMember(memberID)
	l := w.mustList(listID)
	return w.createCard(w.clock.Now(), m, l, name, "").public()
}

func (w *World) createCard(at time.Time, by *member, l *list, name, desc string) *card {
	b := l.board
	c := &card{
		id:           w.ids.next(at),
		name:         name,
		desc:         desc,
		shortLink:    w.ids.shortLink(),
		idShort:      b.nextIDShort,
		board:        b,
		list:         l,
		pos:          float64(16384 * (len(b.cards) + 1)),
		lastActivity: at,
	}
	b.nextIDShort++
	insertByID(&b.cards, c, func(c *card) string { return c.id })
	w.cards[c.id] = c
	w.cardsShort[c.shortLink] = c
	w.record(at, by, "createCard", b, c, obj{
		{"card", cardRef(c)},
		{"list", listRef(l)},
		{"board", boardRef(b)},
	})
	return c
}

func (c *card) url() string {
	return fmt.Sprintf("https://trello.com/c/%s/%d-%s", c.shortLink, c.idShort, slug(c.name))
}

func (c *card) public() Card {
	return Card{ID: c.id, Name: c.name, ShortLink: c.shortLink, URL: c.url(), BoardID: c.board.id, ListID: c.list.id, IDShort: c.idShort}
}

// CommentCard adds a comment by the member with memberID: a commentCard
// action whose data.text is the comment.
func (w *World) CommentCard(memberID, cardID, text string) Action {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commentCard(w.clock.Now(), w.mustMember(memberID), w.mustCard(cardID), text).public()
}

func (w *World) commentCard(at time.Time, by *member, c *card, text string) *action {
	c.comments++
	return w.record(at, by, "commentCard", c.board, c, obj{
		{"text", text},
		{"textData", obj{{"emoji", obj{}}}},
		{"card", cardRef(c)},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
}

func (a *action) public() Action { return Action{ID: a.id, Type: a.typ, Date: a.date} }

// EditComment changes a comment's text in place: the same action id, a new
// data.text and data.dateLastEdited; Trello records no new action, so a
// sync that only asks for actions since its cursor never sees the edit.
func (w *World) EditComment(actionID, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.mustComment(actionID)
	w.editComment(w.clock.Now(), a, text)
}

func (w *World) editComment(at time.Time, a *action, text string) {
	old, _ := a.data.get("text")
	a.data = a.data.set("text", text)
	a.data = a.data.set("dateLastEdited", fmtTime(at))
	w.commentChanged(at, a, "updateComment", fmt.Sprint(old))
}

// DeleteComment removes a comment: the action disappears from every route.
func (w *World) DeleteComment(actionID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deleteComment(w.mustComment(actionID))
}

func (w *World) deleteComment(a *action) {
	w.commentChanged(w.clock.Now(), a, "deleteComment", "")
	delete(w.actions, a.id)
	removeByID(&a.board.actions, a.id, func(a *action) string { return a.id })
	if a.card != nil {
		removeByID(&a.card.actions, a.id, func(a *action) string { return a.id })
		a.card.comments--
	}
}

// MoveCard moves a card to another list of its board: updateCard with
// data.listBefore, data.listAfter and data.old.idList.
func (w *World) MoveCard(memberID, cardID, listID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	l := w.mustList(listID)
	if l.board != c.board {
		panic(fmt.Sprintf("trellofake: MoveCard: list %s is not on the board of card %s", listID, cardID))
	}
	w.moveCard(w.clock.Now(), w.mustMember(memberID), c, l)
}

func (w *World) moveCard(at time.Time, by *member, c *card, to *list) {
	from := c.list
	if from == to {
		return
	}
	c.list = to
	w.record(at, by, "updateCard", c.board, c, obj{
		{"card", append(cardRef(c), field{"idList", to.id})},
		{"old", obj{{"idList", from.id}}},
		{"board", boardRef(c.board)},
		{"listBefore", listRef(from)},
		{"listAfter", listRef(to)},
	})
}

// ArchiveCard archives a card: updateCard with data.card.closed=true and
// data.old.closed=false.
func (w *World) ArchiveCard(memberID, cardID string) {
	w.setClosed(memberID, cardID, true)
}

// UnarchiveCard sends an archived card back to the board: updateCard with
// data.card.closed=false and data.old.closed=true.
func (w *World) UnarchiveCard(memberID, cardID string) {
	w.setClosed(memberID, cardID, false)
}

func (w *World) setClosed(memberID, cardID string, closed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeCard(w.clock.Now(), w.mustMember(memberID), w.mustCard(cardID), closed)
}

func (w *World) closeCard(at time.Time, by *member, c *card, closed bool) {
	if c.closed == closed {
		return
	}
	c.closed = closed
	w.record(at, by, "updateCard", c.board, c, obj{
		{"card", append(cardRef(c), field{"closed", closed})},
		{"old", obj{{"closed", !closed}}},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
}

// SetDue sets a card's due date (the zero time clears it): updateCard with
// data.card.due and data.old.due, either of which may be null.
func (w *World) SetDue(memberID, cardID string, due time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.setDue(w.clock.Now(), w.mustMember(memberID), w.mustCard(cardID), due)
}

func (w *World) setDue(at time.Time, by *member, c *card, due time.Time) {
	old := c.due
	due = due.UTC().Truncate(time.Millisecond)
	if old.Equal(due) {
		return
	}
	c.due = due
	w.record(at, by, "updateCard", c.board, c, obj{
		{"card", append(cardRef(c), field{"due", timeOrNull(due)})},
		{"old", obj{{"due", timeOrNull(old)}}},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
}

// SetDueComplete marks a card's due date done or not: updateCard with
// data.card.dueComplete and data.old.dueComplete.
func (w *World) SetDueComplete(memberID, cardID string, done bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	if c.dueComplete == done {
		return
	}
	c.dueComplete = done
	w.record(w.clock.Now(), w.mustMember(memberID), "updateCard", c.board, c, obj{
		{"card", append(cardRef(c), field{"dueComplete", done})},
		{"old", obj{{"dueComplete", !done}}},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
}

// SetDesc changes a card's description: updateCard with data.card.desc and
// data.old.desc.
func (w *World) SetDesc(memberID, cardID, desc string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.setDesc(w.clock.Now(), w.mustMember(memberID), w.mustCard(cardID), desc)
}

func (w *World) setDesc(at time.Time, by *member, c *card, desc string) {
	old := c.desc
	if old == desc {
		return
	}
	c.desc = desc
	w.record(at, by, "updateCard", c.board, c, obj{
		{"card", append(cardRef(c), field{"desc", desc})},
		{"old", obj{{"desc", old}}},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
}

// RenameCard changes a card's name: updateCard with data.card.name (the new
// one) and data.old.name.
func (w *World) RenameCard(memberID, cardID, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	old := c.name
	if old == name {
		return
	}
	c.name = name
	w.record(w.clock.Now(), w.mustMember(memberID), "updateCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"old", obj{{"name", old}}},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
}

// AddLabel creates a label on a board. Trello records no action a sync
// reads for this [unverified], so none is recorded.
func (w *World) AddLabel(boardID, name, color string) Label {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addLabel(w.clock.Now(), w.mustBoard(boardID), name, color).public()
}

func (w *World) addLabel(at time.Time, b *board, name, color string) *label {
	l := &label{id: w.ids.next(at), name: name, color: color, board: b}
	b.labels = append(b.labels, l)
	w.labels[l.id] = l
	return l
}

func (l *label) public() Label {
	return Label{ID: l.id, Name: l.name, Color: l.color, BoardID: l.board.id}
}

// AddLabelToCard puts a board label on a card: addLabelToCard with
// data.label. It does nothing when the card has the label already.
func (w *World) AddLabelToCard(memberID, cardID, labelID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	l := w.mustLabel(labelID)
	w.addLabelToCard(w.clock.Now(), w.mustMember(memberID), c, l)
}

func (w *World) addLabelToCard(at time.Time, by *member, c *card, l *label) bool {
	if l.board != c.board || slices.Contains(c.labels, l) {
		return false
	}
	c.labels = append(c.labels, l)
	w.record(at, by, "addLabelToCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"label", labelRef(l)},
		{"board", boardRef(c.board)},
	})
	return true
}

// RemoveLabelFromCard takes a label off a card: removeLabelFromCard.
func (w *World) RemoveLabelFromCard(memberID, cardID, labelID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.removeLabelFromCard(w.clock.Now(), w.mustMember(memberID), w.mustCard(cardID), w.mustLabel(labelID))
}

func (w *World) removeLabelFromCard(at time.Time, by *member, c *card, l *label) bool {
	i := slices.Index(c.labels, l)
	if i < 0 {
		return false
	}
	c.labels = slices.Delete(c.labels, i, i+1)
	w.record(at, by, "removeLabelFromCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"label", labelRef(l)},
		{"board", boardRef(c.board)},
	})
	return true
}

// AddMemberToCard assigns a board member to a card: addMemberToCard.
func (w *World) AddMemberToCard(byID, cardID, memberID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	m := w.mustMember(memberID)
	if slices.Contains(c.members, m) {
		return
	}
	c.members = append(c.members, m)
	a := w.record(w.clock.Now(), w.mustMember(byID), "addMemberToCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"idMember", m.id},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
	a.member = m
}

// RemoveMemberFromCard takes a member off a card: removeMemberFromCard.
func (w *World) RemoveMemberFromCard(byID, cardID, memberID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	m := w.mustMember(memberID)
	i := slices.Index(c.members, m)
	if i < 0 {
		return
	}
	c.members = slices.Delete(c.members, i, i+1)
	a := w.record(w.clock.Now(), w.mustMember(byID), "removeMemberFromCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"idMember", m.id},
		{"board", boardRef(c.board)},
		{"list", listRef(c.list)},
	})
	a.member = m
}

// RemoveChecklist deletes a card's checklist and its items:
// removeChecklistFromCard with data.checklist.
func (w *World) RemoveChecklist(memberID, checklistID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cl, ok := w.checklists[checklistID]
	if !ok {
		panic("trellofake: no checklist " + checklistID)
	}
	c := cl.card
	c.checklists = slices.DeleteFunc(c.checklists, func(x *checklist) bool { return x == cl })
	delete(w.checklists, cl.id)
	for _, it := range cl.items {
		delete(w.checkItems, it.id)
	}
	w.record(w.clock.Now(), w.mustMember(memberID), "removeChecklistFromCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"checklist", obj{{"id", cl.id}, {"name", cl.name}}},
		{"board", boardRef(c.board)},
	})
}

// AddChecklist adds a checklist with items (all incomplete) to a card:
// addChecklistToCard with data.checklist.
func (w *World) AddChecklist(memberID, cardID, name string, items ...string) Checklist {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addChecklist(w.clock.Now(), w.mustMember(memberID), w.mustCard(cardID), name, items).public()
}

func (w *World) addChecklist(at time.Time, by *member, c *card, name string, items []string) *checklist {
	cl := &checklist{id: w.ids.next(at), name: name, card: c, pos: float64(16384 * (len(c.checklists) + 1))}
	for i, n := range items {
		it := &checkItem{id: w.ids.next(at), name: n, pos: float64(16384 * (i + 1)), checklist: cl}
		cl.items = append(cl.items, it)
		w.checkItems[it.id] = it
	}
	c.checklists = append(c.checklists, cl)
	w.checklists[cl.id] = cl
	w.record(at, by, "addChecklistToCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"checklist", obj{{"id", cl.id}, {"name", cl.name}}},
		{"board", boardRef(c.board)},
	})
	return cl
}

func (cl *checklist) public() Checklist {
	out := Checklist{ID: cl.id, Name: cl.name, CardID: cl.card.id}
	for _, it := range cl.items {
		out.ItemIDs = append(out.ItemIDs, it.id)
	}
	return out
}

// SetCheckItem marks a checklist item complete or incomplete:
// updateCheckItemStateOnCard with data.checkItem.state.
func (w *World) SetCheckItem(memberID, checkItemID string, complete bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	it, ok := w.checkItems[checkItemID]
	if !ok {
		panic("trellofake: unknown check item " + checkItemID)
	}
	w.setCheckItem(w.clock.Now(), w.mustMember(memberID), it, complete)
}

func (w *World) setCheckItem(at time.Time, by *member, it *checkItem, complete bool) {
	if it.complete == complete {
		return
	}
	it.complete = complete
	c := it.checklist.card
	w.record(at, by, "updateCheckItemStateOnCard", c.board, c, obj{
		{"card", cardRef(c)},
		{"checklist", obj{{"id", it.checklist.id}, {"name", it.checklist.name}}},
		{"checkItem", obj{{"id", it.id}, {"name", it.name}, {"state", it.state()}}},
		{"board", boardRef(c.board)},
	})
}

func (it *checkItem) state() string {
	if it.complete {
		return "complete"
	}
	return "incomplete"
}

// AddCustomField adds a custom field to a board. typ is text, number, date,
// checkbox or list; a list field gets options in order.
func (w *World) AddCustomField(boardID, name, typ string, options ...string) CustomField {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addCustomField(w.clock.Now(), w.mustBoard(boardID), name, typ, options).public()
}

func (w *World) addCustomField(at time.Time, b *board, name, typ string, options []string) *customField {
	switch typ {
	case "text", "number", "date", "checkbox", "list":
	default:
		panic("trellofake: AddCustomField: unknown type " + typ)
	}
	f := &customField{id: w.ids.next(at), name: name, typ: typ, board: b, pos: float64(16384 * (len(b.customFields) + 1))}
	for i, o := range options {
		f.options = append(f.options, &customOption{id: w.ids.next(at), text: o, color: "none", pos: float64(16384 * (i + 1))})
	}
	b.customFields = append(b.customFields, f)
	w.customFields[f.id] = f
	return f
}

func (f *customField) public() CustomField {
	out := CustomField{ID: f.id, Name: f.name, Type: f.typ, BoardID: f.board.id}
	for _, o := range f.options {
		out.OptionIDs = append(out.OptionIDs, o.id)
	}
	return out
}

// SetCustomField sets a card's value of a custom field: for a list field
// value is the option's text, for a checkbox "true" or "false", otherwise
// the text, number or RFC 3339 date. An empty value clears it. It records
// updateCustomFieldItem.
func (w *World) SetCustomField(memberID, cardID, fieldID, value string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.mustCard(cardID)
	f, ok := w.customFields[fieldID]
	if !ok || f.board != c.board {
		panic("trellofake: SetCustomField: unknown field " + fieldID + " on the card's board")
	}
	w.setCustomField(w.clock.Now(), w.mustMember(memberID), c, f, value)
}

func (w *World) setCustomField(at time.Time, by *member, c *card, f *customField, value string) {
	var item *customFieldItem
	for _, it := range c.customItems {
		if it.field == f {
			item = it
		}
	}
	var oldValue any
	if item != nil {
		oldValue = item.valueJSON()
	}
	if value == "" {
		if item != nil {
			c.customItems = slices.DeleteFunc(c.customItems, func(it *customFieldItem) bool { return it == item })
		}
	} else {
		if item == nil {
			item = &customFieldItem{id: w.ids.next(at), field: f}
			c.customItems = append(c.customItems, item)
		}
		item.value, item.idValue = nil, ""
		switch f.typ {
		case "list":
			for _, o := range f.options {
				if o.text == value {
					item.idValue = o.id
				}
			}
			if item.idValue == "" {
				panic("trellofake: SetCustomField: no option " + value)
			}
		case "text":
			item.value = obj{{"text", value}}
		case "number":
			item.value = obj{{"number", value}}
		case "date":
			item.value = obj{{"date", value}}
		case "checkbox":
			item.value = obj{{"checked", value}}
		}
	}
	var newItem obj
	if item != nil && value != "" {
		newItem = item.render(c)
	}
	w.record(at, by, "updateCustomFieldItem", c.board, c, obj{
		{"card", cardRef(c)},
		{"board", boardRef(c.board)},
		{"customField", obj{{"id", f.id}, {"name", f.name}, {"type", f.typ}}},
		{"customFieldItem", newItem},
		{"old", obj{{"value", oldValue}}},
	})
}

func (it *customFieldItem) valueJSON() any {
	if it.idValue != "" {
		return nil
	}
	return it.value
}

// DeleteBoard deletes a board: afterwards every route under it, its cards
// and their actions answer 404.
func (w *World) DeleteBoard(boardID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustBoard(boardID).deleted = true
}

// CloseBoard closes (archives) a board; it stays readable.
func (w *World) CloseBoard(boardID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.mustBoard(boardID)
	if b.closed {
		return
	}
	b.closed = true
	w.record(w.clock.Now(), w.me, "updateBoard", b, nil, obj{
		{"board", append(boardRef(b), field{"closed", true})},
		{"old", obj{{"closed", false}}},
	})
}

// Actions returns a board's actions, newest first, as the board actions
// route would with filter=all and no limit.
func (w *World) Actions(boardID string) []Action {
	w.mu.RLock()
	defer w.mu.RUnlock()
	b := w.mustBoard(boardID)
	out := make([]Action, 0, len(b.actions))
	for i := len(b.actions) - 1; i >= 0; i-- {
		out = append(out, b.actions[i].public())
	}
	return out
}

// Cards returns a board's cards (archived included) by id.
func (w *World) Cards(boardID string) []Card {
	w.mu.RLock()
	defer w.mu.RUnlock()
	b := w.mustBoard(boardID)
	out := make([]Card, 0, len(b.cards))
	for _, c := range b.cards {
		out = append(out, c.public())
	}
	return out
}

// Boards returns every board not deleted, by id.
func (w *World) Boards() []Board {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Board
	for _, b := range w.boards {
		if !b.deleted {
			out = append(out, b.public())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// BoardMembers returns a board's members in membership order.
func (w *World) BoardMembers(boardID string) []Member {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Member
	for _, ms := range w.mustBoard(boardID).memberships {
		out = append(out, ms.member.public())
	}
	return out
}

// Lists returns a board's lists in board order.
func (w *World) Lists(boardID string) []List {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []List
	for _, l := range w.mustBoard(boardID).lists {
		out = append(out, l.public())
	}
	return out
}

// Labels returns a board's labels in creation order.
func (w *World) Labels(boardID string) []Label {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Label
	for _, l := range w.mustBoard(boardID).labels {
		out = append(out, l.public())
	}
	return out
}

// record appends an action dated at, touching the card's and the board's
// last activity. Generated histories come in time order, so the append
// usually lands at the end.
func (w *World) record(at time.Time, by *member, typ string, b *board, c *card, data obj) *action {
	a := &action{id: w.ids.next(at), typ: typ, creator: by, date: at.UTC().Truncate(time.Millisecond), data: data, board: b, card: c}
	w.actions[a.id] = a
	insertByID(&b.actions, a, func(a *action) string { return a.id })
	if at.After(b.lastActivity) {
		b.lastActivity = at
	}
	if c != nil {
		insertByID(&c.actions, a, func(a *action) string { return a.id })
		if at.After(c.lastActivity) {
			c.lastActivity = at
		}
	}
	w.deliver(a)
	return a
}

func insertByID[T any](s *[]T, v T, id func(T) string) {
	n := len(*s)
	if n == 0 || id((*s)[n-1]) < id(v) {
		*s = append(*s, v)
		return
	}
	i := sort.Search(n, func(i int) bool { return id((*s)[i]) >= id(v) })
	*s = slices.Insert(*s, i, v)
}

func removeByID[T any](s *[]T, want string, id func(T) string) {
	i := sort.Search(len(*s), func(i int) bool { return id((*s)[i]) >= want })
	if i < len(*s) && id((*s)[i]) == want {
		*s = slices.Delete(*s, i, i+1)
	}
}

func boardRef(b *board) obj {
	return obj{{"id", b.id}, {"name", b.name}, {"shortLink", b.shortLink}}
}

func cardRef(c *card) obj {
	return obj{{"id", c.id}, {"name", c.name}, {"idShort", c.idShort}, {"shortLink", c.shortLink}}
}

func listRef(l *list) obj { return obj{{"id", l.id}, {"name", l.name}} }

func labelRef(l *label) obj {
	return obj{{"id", l.id}, {"name", l.name}, {"color", strOrNull(l.color)}}
}

func (w *World) mustMember(id string) *member {
	m, ok := w.members[id]
	if !ok {
		panic("trellofake: unknown member " + id)
	}
	return m
}

func (w *World) mustBoard(id string) *board {
	b, ok := w.boards[id]
	if !ok {
		panic("trellofake: unknown board " + id)
	}
	return b
}

func (w *World) mustList(id string) *list {
	l, ok := w.lists[id]
	if !ok {
		panic("trellofake: unknown list " + id)
	}
	return l
}

func (w *World) mustCard(id string) *card {
	c, ok := w.cards[id]
	if !ok {
		panic("trellofake: unknown card " + id)
	}
	return c
}

func (w *World) mustLabel(id string) *label {
	l, ok := w.labels[id]
	if !ok {
		panic("trellofake: unknown label " + id)
	}
	return l
}

func (w *World) mustComment(id string) *action {
	a, ok := w.actions[id]
	if !ok || a.typ != "commentCard" {
		panic("trellofake: no comment " + id)
	}
	return a
}

// canSee reports whether m is a member of b.
func (b *board) canSee(m *member) bool {
	for _, ms := range b.memberships {
		if ms.member == m {
			return true
		}
	}
	return false
}

// memberByName finds a member by id or username ("me" is the caller).
func (w *World) memberByName(s string, me *member) (*member, bool) {
	if s == "me" {
		return me, me != nil
	}
	if m, ok := w.members[s]; ok {
		return m, true
	}
	m, ok := w.byName[strings.ToLower(s)]
	if !ok {
		m, ok = w.byName[s]
	}
	return m, ok
}
