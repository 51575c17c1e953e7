package demogen

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// card is the plan of one Trello card. It outlives its board's actions so
// that the time tracker and the mail can refer to it.
type card struct {
	b         *board
	id        string
	shortLink string
	idShort   int
	name      string
	desc      string
	created   time.Time
	creator   int
	list      int // at the end of the history
	closed    bool
	closedAt  time.Time
	labels    []int
	members   []int
	due       time.Time // zero: no due date
	dueDone   bool
	doneAt    time.Time // zero: never reached the last list
	reworkAt  time.Time // first send-back from review, zero if none
	lastAct   time.Time
	checklist *checklist
	timeline  []listAt // list changes, dropped once the board is written
}

type listAt struct {
	at   time.Time
	list int
	by   int // who moved the card there
}

type checklist struct {
	id    string
	name  string
	items []checkItem
}

type checkItem struct {
	id   string
	name string
	done bool
}

// listAtTime returns the card's list at t.
func (c *card) listAtTime(t time.Time) int {
	l := c.timeline[0].list
	for _, s := range c.timeline {
		if s.at.After(t) {
			break
		}
		l = s.list
	}
	return l
}

// aliveOn reports whether the card is open work during the local day
// [day, day+24h): created by then and not finished or archived before.
func (c *card) aliveOn(day time.Time) bool {
	next := day.AddDate(0, 0, 1)
	if !c.created.Before(next) || c.list == lOldIdeas {
		return false
	}
	if !c.doneAt.IsZero() && c.doneAt.Before(day) {
		return false
	}
	return c.closedAt.IsZero() || !c.closedAt.Before(day)
}

// Action kinds.
const (
	aCreate = iota
	aMove
	aArchive
	aComment
	aDue
)

type action struct {
	at     time.Time
	id     string
	kind   uint8
	card   *card
	actor  int
	list   int // the card's list at the time; for moves, the list after
	from   int // for moves, the list before
	text   string
	edited time.Time
	oldDue time.Time
	newDue time.Time
}

// boardPlan is one board's cards and actions.
type boardPlan struct {
	b       *board
	cards   []*card
	actions []*action
	labels  []string // label ids, by label index
	lists   []string // list ids, by list index
}

type planner struct {
	r    rnd
	ids  *idGen
	b    *board
	plan *boardPlan
}

func (p *planner) act(a *action) {
	// Trello stamps actions to the millisecond; the id keeps the second.
	a.at = a.at.Truncate(time.Second).Add(time.Duration(p.r.IntN(1000)) * time.Millisecond)
	a.id = p.ids.next(a.at)
	p.plan.actions = append(p.plan.actions, a)
	if a.at.After(a.card.lastAct) {
		a.card.lastAct = a.at
	}
}

// planBoard simulates the board's history.
func planBoard(seed uint64, scale int, ids *idGen, b *board) *boardPlan {
	p := &planner{r: newRnd(seed, "trello/"+b.key, 0), ids: ids, b: b, plan: &boardPlan{b: b}}
	r := p.r
	// The board and its lists and labels predate the history; their ids
	// carry the board's own creation time.
	boardBorn := time.Unix(0x64b00000, 0).UTC()
	for i := range listCount {
		p.plan.lists = append(p.plan.lists, ids.next(boardBorn.Add(time.Duration(i+1)*time.Minute)))
	}
	for i := range b.labels {
		p.plan.labels = append(p.plan.labels, ids.next(boardBorn.Add(time.Duration(i+1)*time.Second)))
	}

	// Two forgotten cards in the archived list, created before the
	// history: they have no actions in the export at all.
	for i := range 2 {
		born := time.Date(2026, time.Month(5+i), 10+r.IntN(15), 10, r.IntN(60), r.IntN(60), 0, time.UTC)
		c := &card{b: b, idShort: i + 1, created: born, creator: b.pm, list: lOldIdeas,
			name: cardName(r, b), lastAct: born.Add(r.hours(1, 200))}
		c.id = ids.next(born)
		c.shortLink = ids.shortLink(r)
		c.desc = cardDesc(r, b)
		c.timeline = []listAt{{born, lOldIdeas, b.pm}}
		p.plan.cards = append(p.plan.cards, c)
	}

	days := workdays()
	n := 50 * scale
	fresh := make([]*card, 0, n)
	for i := range n {
		c := &card{b: b, creator: b.pm}
		if r.chance(15) {
			c.creator = b.contact
		} else if r.chance(10) {
			c.creator = b.workers[0]
		}
		// Stratified days keep a steady inflow of work: no seed leaves a
		// board idle for its last weeks.
		day := days[(i*len(days)+r.IntN(len(days)))/n]
		c.created = r.bizInstant(day, people[c.creator].zone).UTC()
		if c.created.After(historyEnd) {
			c.created = historyEnd.Add(-r.minutes(60, 600)).UTC()
		}
		fresh = append(fresh, c)
	}
	slices.SortStableFunc(fresh, func(a, b *card) int { return a.created.Compare(b.created) })
	for i, c := range fresh {
		c.idShort = i + 3
		c.id = ids.next(c.created)
		c.shortLink = ids.shortLink(r)
		p.planCard(c)
		p.plan.cards = append(p.plan.cards, c)
	}
	return p.plan
}

// advance moves t on by d of business time in loc; now and then the work
// happens in the evening or on a weekend instead.
func (p *planner) advance(t time.Time, d time.Duration, loc *time.Location) time.Time {
	r := p.r
	switch {
	case r.chance(4):
		l := t.In(loc)
		evening := time.Date(l.Year(), l.Month(), l.Day(), 19, 0, 0, 0, loc).Add(r.minutes(0, 200))
		if evening.After(t) {
			return evening.UTC()
		}
	case r.chance(1):
		l := t.In(loc)
		sat := time.Date(l.Year(), l.Month(), l.Day()+int(time.Saturday-l.Weekday()), 11, 0, 0, 0, loc).Add(r.minutes(0, 300))
		if sat.After(t) {
			return sat.UTC()
		}
	}
	return bizAdd(t, loc, d).UTC()
}

// between returns a business instant of loc inside (a, b), or false.
func (p *planner) between(a, b time.Time, loc *time.Location) (time.Time, bool) {
	if !b.After(a) {
		return time.Time{}, false
	}
	t := a.Add(time.Duration(p.r.Int64N(int64(b.Sub(a)))))
	if open := bizOpen(t, loc); !open.Equal(t) {
		// Not everyone writes at 09:00:00 sharp.
		t = open.Add(p.r.minutes(0, 120))
	}
	t = t.UTC()
	return t, t.After(a) && t.Before(b)
}

func (p *planner) worker() int { return p.b.workers[p.r.weighted(p.b.weights)] }

// doer is who does the work on c: a card member, else a board worker.
func (p *planner) doer(c *card) int {
	if len(c.members) > 0 {
		return pick(p.r, c.members)
	}
	return p.worker()
}

func (p *planner) planCard(c *card) {
	r, b := p.r, p.b
	c.name = cardName(r, b)
	if !r.chance(10) {
		c.desc = cardDesc(r, b)
	}
	c.labels = p.cardLabels(c)
	switch {
	case r.chance(8):
	case r.chance(75):
		c.members = []int{p.worker()}
	default:
		a, w := p.worker(), p.worker()
		c.members = []int{a}
		if w != a {
			c.members = append(c.members, w)
		}
		slices.Sort(c.members)
	}

	start := lTodo
	if c.creator == b.contact || r.chance(40) {
		start = lBacklog
	}
	p.act(&action{at: c.created, kind: aCreate, card: c, actor: c.creator, list: start})
	c.timeline = []listAt{{c.created, start, c.creator}}

	if r.chance(30) {
		p.planChecklist(c)
	}

	sendbacks := 0
	if r.chance(21) {
		sendbacks = 1
		if r.chance(25) {
			sendbacks = 2
		}
	}
	t, cur := c.created, start
	for cur != lDone {
		next, dwell, actor, loc := p.transition(c, cur, &sendbacks)
		if next < 0 {
			break
		}
		tn := p.advance(t, dwell, loc)
		if tn.After(historyEnd) {
			break
		}
		p.act(&action{at: tn, kind: aMove, card: c, actor: actor, from: cur, list: next})
		if cur == lReview && next == lDoing && c.reworkAt.IsZero() {
			c.reworkAt = tn
		}
		t, cur = tn, next
		c.timeline = append(c.timeline, listAt{t, cur, actor})
	}
	c.list = cur
	if cur == lDone {
		c.doneAt = t
	}

	// Archive a few finished cards, and a few abandoned ones in the backlog.
	switch {
	case cur == lDone && r.chance(7):
		at := bizAdd(t, berlin, r.hours(10, 80)).UTC()
		if at.Before(historyEnd) {
			c.closedAt = at
		}
	case cur == lBacklog && c.created.Before(time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)) && r.chance(10):
		if at, ok := p.between(bizAdd(t, berlin, 20*time.Hour), historyEnd, berlin); ok {
			c.closedAt = at
		}
	}
	lifeEnd := historyEnd
	if !c.closedAt.IsZero() {
		lifeEnd = c.closedAt
	}

	p.planDue(c, lifeEnd)
	p.planComments(c, lifeEnd)

	if !c.closedAt.IsZero() {
		c.closed = true
		p.act(&action{at: c.closedAt, kind: aArchive, card: c, actor: b.pm, list: c.list})
	}
	if c.checklist != nil && c.list == lDone {
		for i := range c.checklist.items {
			c.checklist.items[i].done = true
		}
	}
}

// transition decides where a card goes from cur, after how much business
// time, who moves it and in whose calendar the wait is counted.
func (p *planner) transition(c *card, cur int, sendbacks *int) (next int, dwell time.Duration, actor int, loc *time.Location) {
	r, b := p.r, p.b
	loc = berlin
	switch cur {
	case lBacklog:
		switch {
		case r.chance(12):
			return -1, 0, 0, loc // never picked up
		case r.chance(20):
			return lTodo, r.hours(60, 200), b.pm, loc
		case r.chance(5):
			return lDoing, r.hours(8, 50), p.doer(c), loc
		}
		return lTodo, r.hours(8, 70), b.pm, loc
	case lTodo:
		return lDoing, r.hours(4, 60), p.doer(c), loc
	case lDoing:
		return lReview, r.hours(6, 50), p.doer(c), loc
	case lReview:
		d := r.hours(1, 14)
		if r.chance(12) {
			d = r.hours(35, 120) // stuck in review
		}
		switch {
		case *sendbacks > 0:
			*sendbacks--
			lead := b.pm
			if r.chance(30) {
				lead = pBoris
			}
			return lDoing, d, lead, loc
		case r.chance(35):
			return lWaiting, d, b.pm, loc
		}
		return lDone, d, b.pm, loc
	case lWaiting:
		d := r.hours(4, 36)
		if r.chance(25) {
			d = r.hours(45, 160) // the client takes their time
		}
		next, actor = lDone, b.pm
		if r.chance(25) {
			next = lDoing
		} else if r.chance(20) {
			actor = b.contact
		}
		return next, d, actor, b.zone
	}
	return -1, 0, 0, loc
}

func (p *planner) cardLabels(c *card) []int {
	r, b := p.r, p.b
	var out []int
	if r.chance(10) {
		out = append(out, labUrgent)
	}
	if r.chance(8) {
		out = append(out, labOutOfScope)
	}
	if b.key != "betta" && r.chance(15) {
		out = append(out, labBug)
	}
	if r.chance(20) {
		out = append(out, labDesign)
	}
	if r.chance(5) {
		out = append(out, labUnnamed)
	}
	if len(b.labels) > labUnnamed+1 && r.chance(25) {
		out = append(out, labUnnamed+1)
	}
	return out
}

func (p *planner) planChecklist(c *card) {
	r := p.r
	lang := c.b.lang()
	cl := &checklist{name: "Checklist"}
	if lang == "ru" {
		cl.name = "Чек-лист"
	}
	born := c.created.Add(time.Duration(r.between(5, 120)) * time.Second)
	cl.id = p.ids.next(born)
	pool := checkItems[lang]
	n := r.between(2, 5)
	first := r.IntN(len(pool))
	done := r.IntN(n + 1)
	for i := range n {
		cl.items = append(cl.items, checkItem{
			id:   p.ids.next(born),
			name: pool[(first+i)%len(pool)],
			done: i < done,
		})
	}
	c.checklist = cl
}

// planDue gives 60% of cards a due date shortly after creation, and moves
// it later on a fifth of them.
func (p *planner) planDue(c *card, lifeEnd time.Time) {
	r, b := p.r, p.b
	if !r.chance(60) {
		return
	}
	// Clients create cards at night Berlin time; the PM dates them in the
	// morning.
	set := bizAdd(c.created, berlin, r.minutes(1, 30)).UTC()
	if !set.Before(lifeEnd) {
		return
	}
	dueDay := bizAdd(c.created, berlin, r.hours(27, 135)).In(b.zone)
	due := time.Date(dueDay.Year(), dueDay.Month(), dueDay.Day(), 17, 0, 0, 0, b.zone).UTC()
	p.act(&action{at: set, kind: aDue, card: c, actor: b.pm, list: c.listAtTime(set), newDue: due})
	if r.chance(20) {
		if at, ok := p.between(set, lifeEnd, berlin); ok {
			later := due.AddDate(0, 0, r.between(2, 7))
			p.act(&action{at: at, kind: aDue, card: c, actor: b.pm, list: c.listAtTime(at), oldDue: due, newDue: later})
			due = later
		}
	}
	c.due = due
	c.dueDone = c.list == lDone && !r.chance(10)
}

func (p *planner) planComments(c *card, lifeEnd time.Time) {
	r, b := p.r, p.b
	mention := "@" + people[b.contact].username
	comment := func(at time.Time, actor int, kind string) *action {
		russian := people[actor].russian || (b.russian && actor != pChloe)
		a := &action{at: at, kind: aComment, card: c, actor: actor, list: c.listAtTime(at),
			text: commentText(r, kind, russian, mention)}
		if r.chance(4) {
			a.edited = at.Add(r.minutes(2, 40))
		}
		p.act(a)
		return a
	}
	// answer replies to a client comment: mostly within a few business
	// hours, sometimes late, sometimes never.
	answer := func(q time.Time, promptPct, latePct int) {
		var at time.Time
		switch n := r.IntN(100); {
		case n < promptPct:
			at = bizAdd(q, berlin, r.minutes(20, 240))
		case n < promptPct+latePct:
			at = bizAdd(q, berlin, r.hours(6, 30))
		default:
			return
		}
		if at.Before(lifeEnd) {
			comment(at.UTC(), b.pm, "answer")
		}
	}
	for i, st := range c.timeline {
		end := lifeEnd
		if i+1 < len(c.timeline) {
			end = c.timeline[i+1].at
		}
		if !st.at.Before(end) {
			continue
		}
		next := -1
		if i+1 < len(c.timeline) {
			next = c.timeline[i+1].list
		}
		switch st.list {
		case lBacklog:
			if r.chance(12) {
				if at, ok := p.between(st.at, end, berlin); ok {
					comment(at, b.pm, "note")
				}
			}
		case lDoing:
			if r.chance(35) {
				if at, ok := p.between(st.at, end, berlin); ok {
					comment(at, p.doer(c), "progress")
				}
			}
		case lReview:
			if next == lDoing && r.chance(85) {
				at := end.Add(-r.minutes(1, 20))
				if at.After(st.at) {
					comment(at, c.timeline[i+1].by, "sendback")
				}
			}
		case lWaiting:
			if r.chance(70) {
				if at := st.at.Add(r.minutes(1, 20)); at.Before(end) {
					comment(at, b.pm, "ask")
				}
			}
			if next >= 0 && r.chance(60) {
				at := end.Add(-r.minutes(5, 90))
				if at.After(st.at) {
					kind := "approve"
					if next == lDoing {
						kind = "question"
					}
					comment(at, b.contact, kind)
					answer(at, 60, 10)
				}
			}
		}
	}
	// Clients also ask questions at any time of a card's life.
	if r.chance(25) {
		if at, ok := p.between(c.created, lifeEnd, b.zone); ok {
			comment(at, b.contact, "question")
			answer(at, 70, 15)
		}
	}
}

// Export JSON shapes, field for field as Trello's "Export as JSON".

type jsonMember struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	FullName string `json:"fullName"`
	Initials string `json:"initials"`
}

type jsonNamed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type jsonBoardRef struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ShortLink string `json:"shortLink"`
}

type jsonCardRef struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	IDShort   int             `json:"idShort"`
	ShortLink string          `json:"shortLink"`
	IDList    string          `json:"idList,omitempty"`
	Closed    *bool           `json:"closed,omitempty"`
	Due       json.RawMessage `json:"due,omitempty"`
}

type jsonOld struct {
	IDList string          `json:"idList,omitempty"`
	Closed *bool           `json:"closed,omitempty"`
	Due    json.RawMessage `json:"due,omitempty"`
}

type jsonActionData struct {
	Text           string       `json:"text,omitempty"`
	DateLastEdited string       `json:"dateLastEdited,omitempty"`
	Card           jsonCardRef  `json:"card"`
	Old            *jsonOld     `json:"old,omitempty"`
	Board          jsonBoardRef `json:"board"`
	List           *jsonNamed   `json:"list,omitempty"`
	ListBefore     *jsonNamed   `json:"listBefore,omitempty"`
	ListAfter      *jsonNamed   `json:"listAfter,omitempty"`
}

type jsonAction struct {
	ID              string         `json:"id"`
	IDMemberCreator string         `json:"idMemberCreator"`
	Type            string         `json:"type"`
	Date            string         `json:"date"`
	Data            jsonActionData `json:"data"`
	MemberCreator   jsonMember     `json:"memberCreator"`
}

type jsonLabel struct {
	ID      string `json:"id"`
	IDBoard string `json:"idBoard"`
	Name    string `json:"name"`
	Color   string `json:"color"`
}

type jsonCard struct {
	ID               string      `json:"id"`
	Name             string      `json:"name"`
	Desc             string      `json:"desc"`
	Closed           bool        `json:"closed"`
	IDList           string      `json:"idList"`
	IDBoard          string      `json:"idBoard"`
	IDLabels         []string    `json:"idLabels"`
	Labels           []jsonLabel `json:"labels"`
	IDMembers        []string    `json:"idMembers"`
	IDChecklists     []string    `json:"idChecklists"`
	Due              *string     `json:"due"`
	DueComplete      bool        `json:"dueComplete"`
	ShortLink        string      `json:"shortLink"`
	ShortURL         string      `json:"shortUrl"`
	URL              string      `json:"url"`
	DateLastActivity string      `json:"dateLastActivity"`
	Pos              float64     `json:"pos"`
	IDShort          int         `json:"idShort"`
}

type jsonList struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Closed  bool    `json:"closed"`
	Pos     float64 `json:"pos"`
	IDBoard string  `json:"idBoard"`
}

type jsonCheckItem struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	State string  `json:"state"`
	Pos   float64 `json:"pos"`
}

type jsonChecklist struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	IDCard     string          `json:"idCard"`
	IDBoard    string          `json:"idBoard"`
	CheckItems []jsonCheckItem `json:"checkItems"`
}

type jsonPrefs struct {
	PermissionLevel string `json:"permissionLevel"`
	Voting          string `json:"voting"`
	Comments        string `json:"comments"`
	Background      string `json:"background"`
	BackgroundColor string `json:"backgroundColor"`
	CardCovers      bool   `json:"cardCovers"`
	IsTemplate      bool   `json:"isTemplate"`
}

const trelloTime = "2006-01-02T15:04:05.000Z"

func trelloDate(t time.Time) string { return t.UTC().Format(trelloTime) }

func member(i int) jsonMember {
	pp := people[i]
	return jsonMember{ID: pp.trelloID, Username: pp.username, FullName: pp.name, Initials: pp.initials}
}

// jsonWriter streams one JSON document with HTML escaping off, as Trello
// writes it, and remembers the first error.
type jsonWriter struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

func newJSONWriter(w *bufio.Writer) *jsonWriter {
	j := &jsonWriter{w: w}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

func (j *jsonWriter) value(v any) {
	if j.err != nil {
		return
	}
	j.buf.Reset()
	if j.err = j.enc.Encode(v); j.err != nil {
		return
	}
	_, j.err = j.w.Write(bytes.TrimSuffix(j.buf.Bytes(), []byte("\n")))
}

// field writes `,"name":value` (without the comma for the first field).
func (j *jsonWriter) field(first bool, name string, v any) {
	if !first {
		j.raw(",")
	}
	j.value(name)
	j.raw(":")
	j.value(v)
}

func array[T any](j *jsonWriter, name string, xs []T, conv func(T) any) {
	j.raw(",")
	j.value(name)
	j.raw(":[")
	for i, x := range xs {
		if i > 0 {
			j.raw(",")
		}
		j.value(conv(x))
	}
	j.raw("]")
}

// writeBoard writes the plan as a board export and counts what it wrote.
func writeBoard(w *bufio.Writer, p *boardPlan, st *Stats) error {
	b := p.b
	slices.SortFunc(p.actions, func(x, y *action) int {
		if c := y.at.Compare(x.at); c != 0 {
			return c
		}
		return cmp.Compare(y.id, x.id)
	})
	last := time.Unix(0x64b00000, 0)
	if len(p.actions) > 0 {
		last = p.actions[0].at
	}
	boardRef := jsonBoardRef{ID: b.id, Name: b.name, ShortLink: b.shortLink}
	labelNames := map[string]string{}
	for _, c := range []string{"green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"} {
		labelNames[c] = ""
	}
	for _, l := range b.labels {
		labelNames[l.color] = l.name
	}
	desc := "Website work for Acme Foods. Budget: 60 h/month."
	switch b.key {
	case "betta":
		desc = "Маркетинг для «Бетта Строй». Бюджет: 40 ч в месяц."
	case "cobalt":
		desc = "Cobalt Labs mobile app. Budget: 80 h/month."
	}

	j := newJSONWriter(w)
	j.raw("{")
	j.field(true, "id", b.id)
	j.field(false, "name", b.name)
	j.field(false, "desc", desc)
	j.field(false, "closed", false)
	j.field(false, "url", "https://trello.com/b/"+b.shortLink+"/"+b.slug)
	j.field(false, "shortLink", b.shortLink)
	j.field(false, "shortUrl", "https://trello.com/b/"+b.shortLink)
	j.field(false, "dateLastActivity", trelloDate(last))
	j.field(false, "labelNames", labelNames)
	j.field(false, "prefs", jsonPrefs{PermissionLevel: "private", Voting: "disabled", Comments: "members",
		Background: "blue", BackgroundColor: "#0079BF", CardCovers: true})

	array(j, "actions", p.actions, func(a *action) any {
		st.Actions++
		return p.jsonAction(a, boardRef)
	})

	cards := slices.Clone(p.cards)
	slices.SortStableFunc(cards, func(x, y *card) int {
		if c := cmp.Compare(x.list, y.list); c != 0 {
			return c
		}
		return cmp.Compare(x.idShort, y.idShort)
	})
	array(j, "cards", cards, func(c *card) any {
		st.Cards++
		if c.closed {
			st.ArchivedCards++
		}
		return p.jsonCard(c)
	})
	labels := make([]int, len(b.labels))
	for i := range labels {
		labels[i] = i
	}
	array(j, "labels", labels, func(i int) any { return p.jsonLabel(i) })
	lists := make([]int, listCount)
	for i := range lists {
		lists[i] = i
	}
	array(j, "lists", lists, func(i int) any {
		st.Lists++
		return jsonList{ID: p.lists[i], Name: b.lists[i], Closed: i == lOldIdeas, Pos: float64(16384 * (i + 1)), IDBoard: b.id}
	})
	array(j, "members", b.members(), func(i int) any { return member(i) })
	var withChecklist []*card
	for _, c := range p.cards {
		if c.checklist != nil {
			withChecklist = append(withChecklist, c)
		}
	}
	array(j, "checklists", withChecklist, func(c *card) any {
		st.Checklists++
		cl := jsonChecklist{ID: c.checklist.id, Name: c.checklist.name, IDCard: c.id, IDBoard: b.id, CheckItems: []jsonCheckItem{}}
		for i, it := range c.checklist.items {
			state := "incomplete"
			if it.done {
				state = "complete"
			}
			cl.CheckItems = append(cl.CheckItems, jsonCheckItem{ID: it.id, Name: it.name, State: state, Pos: float64(16384 * (i + 1))})
		}
		return cl
	})
	j.raw(`,"customFields":[]}`)
	j.raw("\n")
	if j.err != nil {
		return fmt.Errorf("writing board %s: %w", b.key, j.err)
	}
	return nil
}

func (p *boardPlan) jsonLabel(i int) jsonLabel {
	return jsonLabel{ID: p.labels[i], IDBoard: p.b.id, Name: p.b.labels[i].name, Color: p.b.labels[i].color}
}

func (p *boardPlan) listRef(i int) *jsonNamed {
	return &jsonNamed{ID: p.lists[i], Name: p.b.lists[i]}
}

func dueJSON(t time.Time) json.RawMessage {
	if t.IsZero() {
		return json.RawMessage("null")
	}
	return json.RawMessage(`"` + trelloDate(t) + `"`)
}

func (p *boardPlan) jsonAction(a *action, board jsonBoardRef) jsonAction {
	c := a.card
	out := jsonAction{
		ID: a.id, IDMemberCreator: people[a.actor].trelloID, Date: trelloDate(a.at), MemberCreator: member(a.actor),
		Data: jsonActionData{Card: jsonCardRef{ID: c.id, Name: c.name, IDShort: c.idShort, ShortLink: c.shortLink}, Board: board},
	}
	switch a.kind {
	case aCreate:
		out.Type = "createCard"
		out.Data.List = p.listRef(a.list)
	case aMove:
		out.Type = "updateCard"
		out.Data.Card.IDList = p.lists[a.list]
		out.Data.Old = &jsonOld{IDList: p.lists[a.from]}
		out.Data.ListBefore = p.listRef(a.from)
		out.Data.ListAfter = p.listRef(a.list)
	case aArchive:
		closed, open := true, false
		out.Type = "updateCard"
		out.Data.Card.Closed = &closed
		out.Data.Old = &jsonOld{Closed: &open}
		out.Data.List = p.listRef(a.list)
	case aComment:
		out.Type = "commentCard"
		out.Data.Text = a.text
		if !a.edited.IsZero() {
			out.Data.DateLastEdited = trelloDate(a.edited)
		}
		out.Data.List = p.listRef(a.list)
	case aDue:
		out.Type = "updateCard"
		out.Data.Card.Due = dueJSON(a.newDue)
		out.Data.Old = &jsonOld{Due: dueJSON(a.oldDue)}
		out.Data.List = p.listRef(a.list)
	}
	return out
}

func (p *boardPlan) jsonCard(c *card) jsonCard {
	b := p.b
	out := jsonCard{
		ID: c.id, Name: c.name, Desc: c.desc, Closed: c.closed, IDList: p.lists[c.list], IDBoard: b.id,
		IDLabels: []string{}, Labels: []jsonLabel{}, IDMembers: []string{}, IDChecklists: []string{},
		DueComplete: c.dueDone, ShortLink: c.shortLink, ShortURL: "https://trello.com/c/" + c.shortLink,
		URL:              fmt.Sprintf("https://trello.com/c/%s/%d-%s", c.shortLink, c.idShort, slug(c.name)),
		DateLastActivity: trelloDate(c.lastAct), Pos: float64(16384 * c.idShort), IDShort: c.idShort,
	}
	for _, l := range c.labels {
		out.IDLabels = append(out.IDLabels, p.labels[l])
		out.Labels = append(out.Labels, p.jsonLabel(l))
	}
	for _, m := range c.members {
		out.IDMembers = append(out.IDMembers, people[m].trelloID)
	}
	if c.checklist != nil {
		out.IDChecklists = append(out.IDChecklists, c.checklist.id)
	}
	if !c.due.IsZero() {
		d := trelloDate(c.due)
		out.Due = &d
	}
	return out
}
