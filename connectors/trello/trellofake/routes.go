package trellofake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The routes, registered once. A var initialised by a function would form
// an initialisation cycle through the batch route, which dispatches back
// into the table.
func init() {
	addRoute("GET", "members/{id}", (*call).getMember)
	addRoute("GET", "members/{id}/boards", (*call).getMemberBoards)
	addRoute("GET", "boards/{id}", (*call).getBoard)
	addRoute("GET", "boards/{id}/lists", (*call).getLists)
	addRoute("GET", "boards/{id}/cards", (*call).getCards)
	addRoute("GET", "boards/{id}/cards/{filter}", (*call).getCards)
	addRoute("GET", "boards/{id}/labels", (*call).getLabels)
	addRoute("POST", "boards/{id}/labels", (*call).postBoardLabel)
	addRoute("GET", "boards/{id}/members", (*call).getBoardMembers)
	addRoute("GET", "boards/{id}/memberships", (*call).getMemberships)
	addRoute("GET", "boards/{id}/checklists", (*call).getBoardChecklists)
	addRoute("GET", "boards/{id}/customFields", (*call).getCustomFields)
	addRoute("GET", "boards/{id}/actions", (*call).getBoardActions)
	addRoute("GET", "cards/{id}", (*call).getCard)
	addRoute("GET", "cards/{id}/actions", (*call).getCardActions)
	addRoute("GET", "cards/{id}/checklists", (*call).getCardChecklists)
	addRoute("GET", "cards/{id}/customFieldItems", (*call).getCardCustomFieldItems)
	addRoute("POST", "cards/{id}/actions/comments", (*call).postComment)
	addRoute("PUT", "cards/{id}/actions/{idAction}/comments", (*call).putCardComment)
	addRoute("DELETE", "cards/{id}/actions/{idAction}/comments", (*call).deleteCardComment)
	addRoute("POST", "cards/{id}/idLabels", (*call).postCardLabel)
	addRoute("DELETE", "cards/{id}/idLabels/{idLabel}", (*call).deleteCardLabel)
	addRoute("GET", "actions/{id}", (*call).getAction)
	addRoute("PUT", "actions/{id}", (*call).putAction)
	addRoute("PUT", "actions/{id}/text", (*call).putActionText)
	addRoute("DELETE", "actions/{id}", (*call).deleteAction)
	addRoute("GET", "labels/{id}", (*call).getLabel)
	addRoute("POST", "labels", (*call).postLabel)
	addRoute("GET", "batch", (*call).getBatch)
}

// Limits of the paged routes. Actions: default 50, at most 1000
// (api-facts; rwjdk wiki). Labels: default 50 (trello-archive/api-docs#61),
// at most 1000. Cards: no default (every card in range), at most 1000
// [unverified; Trello documents limit only for actions].
const (
	maxLimit           = 1000
	defaultActionLimit = 50
	defaultLabelLimit  = 50
	defaultCardFilter  = "commentCard,updateCard:idList"
)

// errReply is a failed lookup's answer.
type errReply = *reply

func fail(status int, msg string) errReply {
	r := textReply(status, msg)
	return &r
}

// invalidValue is Trello's text for a parameter it cannot read
// ("invalid value for limit") [unverified].
func invalidValue(name string) errReply {
	return fail(http.StatusBadRequest, "invalid value for "+name)
}

func (c *call) world() *World { return c.s.world }

// findBoard resolves an id or short link: malformed 400, unknown or
// deleted 404, not a member 401.
func (c *call) findBoard(id string) (*board, errReply) {
	w := c.world()
	var b *board
	switch {
	case IsObjectID(id):
		b = w.boards[id]
	case isShortLink(id):
		b = w.boardsShort[id]
	default:
		return nil, fail(http.StatusBadRequest, msgInvalidID)
	}
	if b == nil || b.deleted {
		return nil, fail(http.StatusNotFound, msgNotFound)
	}
	if !b.canSee(c.me) {
		return nil, fail(http.StatusUnauthorized, msgNoPermission)
	}
	return b, nil
}

func (c *call) findCard(id string) (*card, errReply) {
	w := c.world()
	var cd *card
	switch {
	case IsObjectID(id):
		cd = w.cards[id]
	case isShortLink(id):
		cd = w.cardsShort[id]
	default:
		return nil, fail(http.StatusBadRequest, msgInvalidID)
	}
	if cd == nil || cd.board.deleted {
		return nil, fail(http.StatusNotFound, msgNotFound)
	}
	if !cd.board.canSee(c.me) {
		return nil, fail(http.StatusUnauthorized, msgNoPermission)
	}
	return cd, nil
}

func (c *call) findAction(id string) (*action, errReply) {
	if !IsObjectID(id) {
		return nil, fail(http.StatusBadRequest, msgInvalidID)
	}
	a, ok := c.world().actions[id]
	if !ok || a.board.deleted {
		return nil, fail(http.StatusNotFound, msgNotFound)
	}
	if !a.board.canSee(c.me) {
		return nil, fail(http.StatusUnauthorized, msgNoPermission)
	}
	return a, nil
}

func (c *call) findLabel(id string) (*label, errReply) {
	if !IsObjectID(id) {
		return nil, fail(http.StatusBadRequest, msgInvalidID)
	}
	l, ok := c.world().labels[id]
	if !ok || l.board.deleted {
		return nil, fail(http.StatusNotFound, msgNotFound)
	}
	if !l.board.canSee(c.me) {
		return nil, fail(http.StatusUnauthorized, msgNoPermission)
	}
	return l, nil
}

func (c *call) read(fn func() reply) reply {
	w := c.world()
	w.mu.RLock()
	defer w.mu.RUnlock()
	return fn()
}

func (c *call) write(fn func() reply) reply {
	w := c.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	return fn()
}

// limit reads the limit parameter: def when absent, 400 when not a number
// from 0 to maxLimit (Trello answers a plain-text 400 above the maximum).
func (c *call) limit(def int) (int, errReply) {
	s := c.q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxLimit {
		return 0, invalidValue("limit")
	}
	return n, nil
}

// bound is a before= or since= parameter: an id or a date.
type bound struct {
	set  bool
	id   string
	date time.Time
}

func (c *call) bound(name string) (bound, errReply) {
	s := c.q.Get(name)
	if s == "" || s == "null" {
		return bound{}, nil
	}
	if IsObjectID(s) {
		return bound{set: true, id: s}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return bound{set: true, date: t}, nil
		}
	}
	return bound{}, invalidValue(name)
}

// below reports whether an item with id and date lies before b.
func (b bound) below(id string, date time.Time) bool {
	if b.id != "" {
		return id < b.id
	}
	return date.Before(b.date)
}

// above reports whether an item lies after b.
func (b bound) above(id string, date time.Time) bool {
	if b.id != "" {
		return id > b.id
	}
	return date.After(b.date)
}

func (c *call) flag(name string) bool {
	v := c.q.Get(name)
	return v == "true" || v == "all"
}

// ---- members

func (c *call) getMember(p []string) reply {
	return c.read(func() reply {
		m, ok := c.world().memberByName(p[0], c.me)
		if !ok {
			return textReply(http.StatusNotFound, "model not found")
		}
		return jsonReply(m.render().pick(c.q.Get("fields")))
	})
}

func (c *call) getMemberBoards(p []string) reply {
	return c.read(func() reply {
		w := c.world()
		m, ok := w.memberByName(p[0], c.me)
		if !ok {
			return textReply(http.StatusNotFound, "model not found")
		}
		filter := c.q.Get("filter")
		switch filter {
		case "", "all", "members", "open", "closed":
		default:
			return *invalidValue("filter")
		}
		var boards []*board
		for _, b := range w.boards {
			if b.deleted || !b.canSee(m) || !b.canSee(c.me) {
				continue
			}
			if (filter == "open" && b.closed) || (filter == "closed" && !b.closed) {
				continue
			}
			boards = append(boards, b)
		}
		sort.Slice(boards, func(i, j int) bool { return boards[i].id < boards[j].id })
		out := make([]obj, 0, len(boards))
		for _, b := range boards {
			out = append(out, b.render().pick(c.q.Get("fields")))
		}
		return jsonReply(out)
	})
}

// ---- boards

func (c *call) getBoard(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		fields := c.q.Get("fields")
		if fields == "" {
			fields = boardDefaultFields
		}
		return jsonReply(b.render().pick(fields))
	})
}

func (c *call) getLists(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		filter := c.q.Get("filter")
		if filter == "" {
			filter = "open"
		}
		out := []obj{}
		for _, l := range b.lists {
			switch filter {
			case "all":
			case "open":
				if l.closed {
					continue
				}
			case "closed":
				if !l.closed {
					continue
				}
			case "none":
				continue
			default:
				return *invalidValue("filter")
			}
			out = append(out, l.render().pick(c.q.Get("fields")))
		}
		return jsonReply(out)
	})
}

// getCards serves /boards/{id}/cards and /boards/{id}/cards/{filter}.
// Without paging parameters it answers every card the filter admits, in
// list and then card order; with before, since or limit it pages by id,
// newest first, as the actions route does [order unverified: adlio's
// GetCards only relies on before=<smallest id> excluding what it has].
func (c *call) getCards(p []string) reply {
	rep := c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		filter := c.q.Get("filter")
		if len(p) > 1 {
			filter = p[1]
		}
		if filter == "" {
			filter = "open"
		}
		switch filter {
		case "all", "open", "closed", "visible", "none":
		default:
			return *invalidValue("filter")
		}
		limit, e := c.limit(-1)
		if e != nil {
			return *e
		}
		before, e := c.bound("before")
		if e != nil {
			return *e
		}
		since, e := c.bound("since")
		if e != nil {
			return *e
		}
		keep := func(cd *card) bool {
			switch filter {
			case "open":
				return !cd.closed
			case "closed":
				return cd.closed
			case "visible":
				return !cd.closed && !cd.list.closed
			case "none":
				return false
			}
			return true
		}
		var cards []*card
		paged := limit >= 0 || before.set || since.set
		if paged {
			for i := len(b.cards) - 1; i >= 0 && (limit < 0 || len(cards) < limit); i-- {
				cd := b.cards[i]
				at, _ := IDTime(cd.id)
				if before.set && !before.below(cd.id, at) {
					continue
				}
				if since.set && !since.above(cd.id, at) {
					continue
				}
				if keep(cd) {
					cards = append(cards, cd)
				}
			}
		} else {
			for _, cd := range b.cards {
				if keep(cd) {
					cards = append(cards, cd)
				}
			}
			sort.SliceStable(cards, func(i, j int) bool {
				a, b := cards[i], cards[j]
				if a.list.pos != b.list.pos {
					return a.list.pos < b.list.pos
				}
				return a.pos < b.pos
			})
		}
		out := make([]obj, 0, len(cards))
		for _, cd := range cards {
			out = append(out, c.renderCard(cd))
		}
		rep := jsonReply(out)
		if paged {
			rep.page = &PageEvent{Route: c.route, Path: c.path, Before: c.q.Get("before"), Since: c.q.Get("since"), Limit: limit, Returned: len(cards)}
		}
		return rep
	})
	return rep
}

// renderCard is a card with the nested arrays the query asks for
// (checklists=all, customFieldItems=true) after fields= is applied.
func (c *call) renderCard(cd *card) obj {
	o := cd.render().pick(c.q.Get("fields"))
	if c.q.Get("checklists") == "all" {
		cls := make([]obj, 0, len(cd.checklists))
		for _, cl := range cd.checklists {
			cls = append(cls, cl.render())
		}
		o = append(o, field{"checklists", cls})
	}
	if c.flag("customFieldItems") {
		items := make([]obj, 0, len(cd.customItems))
		for _, it := range cd.customItems {
			items = append(items, it.render(cd))
		}
		o = append(o, field{"customFieldItems", items})
	}
	return o
}

func (c *call) getLabels(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		limit, e := c.limit(defaultLabelLimit)
		if e != nil {
			return *e
		}
		uses := map[*label]int{}
		for _, cd := range b.cards {
			for _, l := range cd.labels {
				uses[l]++
			}
		}
		out := []obj{}
		for _, l := range b.labels {
			if len(out) == limit {
				break
			}
			out = append(out, l.render(uses[l]).pick(c.q.Get("fields")))
		}
		return jsonReply(out)
	})
}

func (c *call) getBoardMembers(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		out := make([]obj, 0, len(b.memberships))
		for _, ms := range b.memberships {
			out = append(out, ms.member.renderBoardMember(c.q.Get("fields")))
		}
		return jsonReply(out)
	})
}

func (c *call) getMemberships(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		out := make([]obj, 0, len(b.memberships))
		for _, ms := range b.memberships {
			out = append(out, ms.render())
		}
		return jsonReply(out)
	})
}

func (c *call) getBoardChecklists(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		out := []obj{}
		for _, cd := range b.cards {
			for _, cl := range cd.checklists {
				out = append(out, c.renderChecklist(cl))
			}
		}
		return jsonReply(out)
	})
}

func (c *call) renderChecklist(cl *checklist) obj {
	o := cl.render()
	if c.q.Get("checkItems") == "none" {
		o = slices.DeleteFunc(o, func(f field) bool { return f.k == "checkItems" })
	}
	return o.pick(c.q.Get("fields"))
}

func (c *call) getCustomFields(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		out := make([]obj, 0, len(b.customFields))
		for _, f := range b.customFields {
			out = append(out, f.render())
		}
		return jsonReply(out)
	})
}

func (c *call) postBoardLabel(p []string) reply {
	return c.write(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		return c.createLabel(b)
	})
}

// ---- actions

// actionFilter is a filter= value: action types, each optionally narrowed
// to the field an updateCard changed ("updateCard:idList").
type actionFilter struct {
	all   bool
	types map[string][]string
}

func parseActionFilter(s string) actionFilter {
	f := actionFilter{types: map[string][]string{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "all" {
			f.all = true
		}
		typ, fld, _ := strings.Cut(part, ":")
		f.types[typ] = append(f.types[typ], fld)
	}
	return f
}

func (f actionFilter) match(a *action) bool {
	if f.all {
		return true
	}
	for _, fld := range f.types[a.typ] {
		if fld == "" {
			return true
		}
		if old, ok := a.data.get("old"); ok {
			if o, ok := old.(obj); ok && o.has(fld) {
				return true
			}
		}
	}
	return false
}

// actionsPage answers a page of actions newest first: filter= (default
// def), since= and before= (ids or dates, both exclusive), limit= (default
// 50, at most 1000). With both since and before it is the newest limit
// actions between them.
func (c *call) actionsPage(all []*action, def string) reply {
	filter := c.q.Get("filter")
	if filter == "" {
		filter = def
	}
	f := parseActionFilter(filter)
	limit, e := c.limit(defaultActionLimit)
	if e != nil {
		return *e
	}
	before, e := c.bound("before")
	if e != nil {
		return *e
	}
	since, e := c.bound("since")
	if e != nil {
		return *e
	}
	hi := len(all)
	if before.id != "" {
		hi = sort.Search(len(all), func(i int) bool { return all[i].id >= before.id })
	}
	var page []*action
	for i := hi - 1; i >= 0 && len(page) < limit; i-- {
		a := all[i]
		if before.set && !before.below(a.id, a.date) {
			continue
		}
		if since.set && !since.above(a.id, a.date) {
			if since.id != "" {
				break // ids only fall from here
			}
			continue
		}
		if f.match(a) {
			page = append(page, a)
		}
	}
	withCreator := c.q.Get("memberCreator") != "false"
	fields := c.q.Get("fields")
	if fields != "" && fields != "all" {
		fields += ",member,memberCreator"
	}
	out := make([]obj, 0, len(page))
	for _, a := range page {
		out = append(out, a.render(withCreator).pick(fields))
	}
	rep := jsonReply(out)
	rep.page = &PageEvent{Route: c.route, Path: c.path, Before: c.q.Get("before"), Since: c.q.Get("since"), Limit: limit, Returned: len(page)}
	return rep
}

func (c *call) getBoardActions(p []string) reply {
	return c.read(func() reply {
		b, e := c.findBoard(p[0])
		if e != nil {
			return *e
		}
		return c.actionsPage(b.actions, "all")
	})
}

// getCardActions defaults to commentCard,updateCard:idList when no filter
// is given (rwjdk/trello-dotnet wiki) [3p].
func (c *call) getCardActions(p []string) reply {
	return c.read(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		return c.actionsPage(cd.actions, defaultCardFilter)
	})
}

func (c *call) getAction(p []string) reply {
	return c.read(func() reply {
		a, e := c.findAction(p[0])
		if e != nil {
			return *e
		}
		return jsonReply(a.render(c.q.Get("memberCreator") != "false"))
	})
}

// ---- cards

func (c *call) getCard(p []string) reply {
	return c.read(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		o := c.renderCard(cd)
		if filter := c.q.Get("actions"); filter != "" {
			limit := defaultActionLimit
			if s := c.q.Get("actions_limit"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 || n > maxLimit {
					return *invalidValue("actions_limit")
				}
				limit = n
			}
			f := parseActionFilter(filter)
			acts := []obj{}
			for i := len(cd.actions) - 1; i >= 0 && len(acts) < limit; i-- {
				if a := cd.actions[i]; f.match(a) {
					acts = append(acts, a.render(true))
				}
			}
			o = append(o, field{"actions", acts})
		}
		return jsonReply(o)
	})
}

func (c *call) getCardChecklists(p []string) reply {
	return c.read(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		out := make([]obj, 0, len(cd.checklists))
		for _, cl := range cd.checklists {
			out = append(out, c.renderChecklist(cl))
		}
		return jsonReply(out)
	})
}

func (c *call) getCardCustomFieldItems(p []string) reply {
	return c.read(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		out := make([]obj, 0, len(cd.customItems))
		for _, it := range cd.customItems {
			out = append(out, it.render(cd))
		}
		return jsonReply(out)
	})
}

// postComment adds a comment by the token's member and answers the new
// commentCard action (adlio card.go AddComment).
func (c *call) postComment(p []string) reply {
	return c.write(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		text := c.q.Get("text")
		if strings.TrimSpace(text) == "" {
			return *invalidValue("text")
		}
		a := c.world().commentCard(c.s.world.clock.Now(), c.me, cd, text)
		return jsonReply(a.render(true))
	})
}

// editComment changes a comment's text; only its author may [unverified:
// the trello.js docs say so, the 401 text is a guess].
func (c *call) editComment(a *action, text string) reply {
	if a.typ != "commentCard" {
		return *invalidValue("idAction")
	}
	if a.creator != c.me {
		return textReply(http.StatusUnauthorized, msgNoPermission)
	}
	if strings.TrimSpace(text) == "" {
		return *invalidValue("text")
	}
	c.world().editComment(c.s.world.clock.Now(), a, text)
	return jsonReply(a.render(true))
}

func (c *call) putAction(p []string) reply {
	return c.write(func() reply {
		a, e := c.findAction(p[0])
		if e != nil {
			return *e
		}
		return c.editComment(a, c.q.Get("text"))
	})
}

// putActionText is PUT /actions/{id}/text?value=, which trello.js's
// UpdateActionText calls [3p].
func (c *call) putActionText(p []string) reply {
	return c.write(func() reply {
		a, e := c.findAction(p[0])
		if e != nil {
			return *e
		}
		return c.editComment(a, c.q.Get("value"))
	})
}

func (c *call) putCardComment(p []string) reply {
	return c.write(func() reply {
		a, e := c.cardAction(p)
		if e != nil {
			return *e
		}
		return c.editComment(a, c.q.Get("text"))
	})
}

func (c *call) cardAction(p []string) (*action, errReply) {
	cd, e := c.findCard(p[0])
	if e != nil {
		return nil, e
	}
	a, e := c.findAction(p[1])
	if e != nil {
		return nil, e
	}
	if a.card != cd {
		return nil, fail(http.StatusNotFound, msgNotFound)
	}
	return a, nil
}

func (c *call) deleteComment(a *action) reply {
	if a.typ != "commentCard" {
		return *invalidValue("idAction")
	}
	if a.creator != c.me {
		return textReply(http.StatusUnauthorized, msgNoPermission)
	}
	c.world().deleteComment(a)
	return jsonReply(obj{{"_value", nil}})
}

func (c *call) deleteAction(p []string) reply {
	return c.write(func() reply {
		a, e := c.findAction(p[0])
		if e != nil {
			return *e
		}
		return c.deleteComment(a)
	})
}

func (c *call) deleteCardComment(p []string) reply {
	return c.write(func() reply {
		a, e := c.cardAction(p)
		if e != nil {
			return *e
		}
		return c.deleteComment(a)
	})
}

// postCardLabel adds a board label to a card and answers the card's
// idLabels (adlio card.go AddIDLabel). The 400 texts are [unverified].
func (c *call) postCardLabel(p []string) reply {
	return c.write(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		l, e := c.findLabel(c.q.Get("value"))
		if e != nil {
			if e.status == http.StatusBadRequest {
				return *invalidValue("value")
			}
			return *e
		}
		if l.board != cd.board {
			return *invalidValue("value")
		}
		if !c.world().addLabelToCard(c.s.world.clock.Now(), c.me, cd, l) {
			return textReply(http.StatusBadRequest, "that label is already on the card")
		}
		ids := make([]string, 0, len(cd.labels))
		for _, l := range cd.labels {
			ids = append(ids, l.id)
		}
		return jsonReply(ids)
	})
}

func (c *call) deleteCardLabel(p []string) reply {
	return c.write(func() reply {
		cd, e := c.findCard(p[0])
		if e != nil {
			return *e
		}
		l, e := c.findLabel(p[1])
		if e != nil {
			return *e
		}
		if !c.world().removeLabelFromCard(c.s.world.clock.Now(), c.me, cd, l) {
			return textReply(http.StatusBadRequest, "that label is not on the card")
		}
		return jsonReply(obj{{"_value", nil}})
	})
}

// ---- labels

func (c *call) getLabel(p []string) reply {
	return c.read(func() reply {
		l, e := c.findLabel(p[0])
		if e != nil {
			return *e
		}
		return jsonReply(l.render(0).pick(c.q.Get("fields")))
	})
}

func (c *call) postLabel(_ []string) reply {
	return c.write(func() reply {
		b, e := c.findBoard(c.q.Get("idBoard"))
		if e != nil {
			if e.status == http.StatusBadRequest {
				return *invalidValue("idBoard")
			}
			return *e
		}
		return c.createLabel(b)
	})
}

// labelColors are the colors Trello accepts for a label; empty or "null"
// makes a label without color.
var labelColors = map[string]bool{}

func init() {
	for _, c := range []string{"green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"} {
		labelColors[c] = true
		labelColors[c+"_dark"] = true
		labelColors[c+"_light"] = true
	}
}

func (c *call) createLabel(b *board) reply {
	color := c.q.Get("color")
	if color == "null" {
		color = ""
	}
	if color != "" && !labelColors[color] {
		return *invalidValue("color")
	}
	l := c.world().addLabel(c.s.world.clock.Now(), b, c.q.Get("name"), color)
	return jsonReply(obj{
		{"id", l.id},
		{"idBoard", b.id},
		{"name", l.name},
		{"color", strOrNull(l.color)},
		{"limits", obj{}},
	})
}

// ---- batch

// batchURLs reads urls=, comma-separated (and repeatable). Each route's own
// query must escape its commas (%2C) or they would split it; how Trello
// parses a route whose query holds a comma is [unverified].
func batchURLs(form url.Values) []string {
	var out []string
	for _, v := range form["urls"] {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

// getBatch answers up to 10 GET routes in one response, in request order:
// {"200": body} for each that succeeded (trello.js, cjr.dev's write-up).
// A failed route is keyed by its status instead, holding its message:
// {"404": {"message": "…", "statusCode": 404}} [unverified: the shape is
// not documented; one client reads .message == "invalid id"]. Routes must
// start with "/" and leave out /1; a nested batch is refused.
func (c *call) getBatch(_ []string) reply {
	urls := batchURLs(c.q)
	switch {
	case len(urls) == 0:
		return *invalidValue("urls")
	case len(urls) > 10:
		return textReply(http.StatusBadRequest, "too many urls: at most 10 routes per batch")
	}
	out := make([]obj, 0, len(urls))
	for _, raw := range urls {
		rep := c.subRequest(raw)
		if rep.status == http.StatusOK {
			out = append(out, obj{{"200", json.RawMessage(rep.body)}})
			continue
		}
		msg := string(rep.body)
		out = append(out, obj{{strconv.Itoa(rep.status), obj{{"message", msg}, {"statusCode", rep.status}}}})
	}
	return jsonReply(out)
}

func (c *call) subRequest(raw string) reply {
	if !strings.HasPrefix(raw, "/") {
		return textReply(http.StatusBadRequest, "invalid url: routes start with /")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return textReply(http.StatusBadRequest, "invalid url")
	}
	p := "/1" + u.Path
	rt, params := routes.Match("GET", p)
	if rt == nil {
		return textReply(http.StatusInternalServerError, "no route in fake: GET "+p)
	}
	if rt.Name == "GET /1/batch" {
		return textReply(http.StatusBadRequest, "batch requests cannot be nested")
	}
	c.s.mu.Lock()
	c.s.batched["batch "+rt.Name]++
	c.s.mu.Unlock()
	sub := &call{s: c.s, ctx: c.ctx, method: "GET", path: p, q: u.Query(), me: c.me, tok: c.tok, now: c.now, route: rt.Name}
	return rt.Handler(sub, params)
}
