package trellofake

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// GenerateOptions size a synthetic agency world.
type GenerateOptions struct {
	// Seed makes the world: the same options give the same world, ids
	// included.
	Seed uint64
	// Boards, one per client (default 3).
	Boards int
	// CardsPerBoard (default 50).
	CardsPerBoard int
	// ActionsPerBoard counts every action of a board, the setup ones
	// (createBoard, createList, addMemberToBoard) and one createCard per
	// card included; it is raised to that minimum when smaller (default
	// 10 per card).
	ActionsPerBoard int
	// Span is how far back the history reaches from the clock's now
	// (default 90 days).
	Span time.Duration
	// Clock is the world's clock (default real time). The history ends at
	// its now, so that later mutations sort after it.
	Clock Clock
}

// Lists every generated board has, in order.
var generatedLists = []string{"Backlog", "To Do", "Doing", "Review", "Waiting for client", "Done"}

const (
	listBacklog = iota
	listToDo
	listDoing
	listReview
	listWaiting
	listDone
)

var agencyPeople = []Member{
	{Username: "annapetrova", FullName: "Anna Petrova"},
	{Username: "borisivanov", FullName: "Boris Ivanov"},
	{Username: "chloemartin", FullName: "Chloé Martin"},
	{Username: "dsokolov", FullName: "Dmitri Sokolov"},
	{Username: "elenak", FullName: "Елена Кузнецова"},
}

var clientNames = []struct{ client, project string }{
	{"Acme Foods", "Website"},
	{"Бетта Строй", "Маркетинг"},
	{"Cobalt Labs", "App"},
	{"Delta Logistics", "Portal"},
	{"Эко Ферма", "Интернет-магазин"},
	{"Fjord Travel", "Booking"},
	{"Gamma Bank", "Onboarding"},
}

var clientPeople = [][2]string{
	{"John", "Carter"}, {"Maya", "Chen"}, {"Lena", "Fischer"}, {"Tom", "Becker"},
	{"Ольга", "Смирнова"}, {"Игорь", "Волков"}, {"Наталья", "Орлова"}, {"Павел", "Зайцев"},
}

var cardTitles = []string{
	"Update hero banner", "Fix checkout total rounding", "New pricing page", "Newsletter template",
	"Mobile menu overlaps logo", "Add cookie banner", "Migrate blog to new CMS", "Landing page for spring sale",
	"Speed up product search", "Export orders to CSV", "Password reset email copy", "Accessibility audit fixes",
}

var cardTitlesRu = []string{
	"Обновить баннер на главной", "Исправить форму заявки", "Новая страница тарифов", "Шаблон рассылки",
	"Меню перекрывает логотип на мобильных", "Добавить баннер о cookie", "Перенести блог на новую CMS",
	"Лендинг весенней акции", "Ускорить поиск по каталогу", "Выгрузка заказов в CSV",
}

var commentsEn = []string{
	"Could you check the latest version?", "Looks good to me, thanks!", "When can we expect this?",
	"I pushed a fix, please review.", "Waiting for the copy from the client.", "Can we move the deadline to Friday?",
	"The staging link is updated.", "This is blocking our launch, please prioritise.", "Done on my side.",
}

var commentsRu = []string{
	"Проверьте, пожалуйста, последнюю версию.", "Всё отлично, спасибо!", "Когда будет готово?",
	"Залил исправление, посмотрите.", "Ждём тексты от клиента.", "Можно перенести срок на пятницу?",
	"Ссылка на стенд обновлена.", "Это блокирует запуск, возьмите в приоритет.", "С моей стороны готово.",
}

// Generate builds a synthetic agency world deterministically from the
// seed: boards with the six lists of generatedLists, agency members and
// client-side members, labels (one unnamed), a custom field on every third
// board, and a history of cards created (some by the client), comments
// (Russian on Russian-speaking clients' boards, a few edited), list moves
// along the board's flow and back from review, due dates set and cleared,
// descriptions, labels, members, checklists, archives and unarchives.
// Me is a member of every board, so the default token sees them all.
func Generate(opts GenerateOptions) *World {
	if opts.Boards == 0 {
		opts.Boards = 3
	}
	if opts.CardsPerBoard == 0 {
		opts.CardsPerBoard = 50
	}
	if opts.ActionsPerBoard == 0 {
		opts.ActionsPerBoard = 10 * opts.CardsPerBoard
	}
	if opts.Span == 0 {
		opts.Span = 90 * 24 * time.Hour
	}
	clock := opts.Clock
	if clock == nil {
		clock = RealClock{}
	}
	w := newWorld(clock, opts.Seed)
	end := clock.Now().UTC().Truncate(time.Second)
	start := end.Add(-opts.Span)
	r := rand.New(rand.NewPCG(opts.Seed, 0x67656e))
	agency := make([]*member, len(agencyPeople))
	for i, p := range agencyPeople {
		agency[i] = w.newMember(start.Add(-time.Hour), p.Username, p.FullName)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for bi := range opts.Boards {
		g := &boardGen{w: w, r: r, opts: opts, index: bi}
		g.build(start, end, agency)
	}
	return w
}

// boardGen builds one board's history.
type boardGen struct {
	w       *World
	r       *rand.Rand
	opts    GenerateOptions
	index   int
	b       *board
	russian bool
	lists   []*list
	labels  []*label
	agency  []*member
	client  []*member
	cards   []*card
	open    []*card // cards not archived
	comment []*action
}

func (g *boardGen) build(start, end time.Time, agencyAll []*member) {
	w, r := g.w, g.r
	cn := clientNames[g.index%len(clientNames)]
	name := cn.client + " — " + cn.project
	if g.index >= len(clientNames) {
		name = fmt.Sprintf("%s — %s %d", cn.client, cn.project, g.index/len(clientNames)+1)
	}
	g.russian = g.index%len(clientNames) == 1 || g.index%len(clientNames) == 4
	at := start.Add(time.Duration(g.index) * time.Minute)
	tick := func() time.Time { at = at.Add(time.Second); return at }

	setup := 0
	g.b = w.addBoard(tick(), w.me, name)
	setup++
	for _, ln := range generatedLists {
		g.lists = append(g.lists, w.addList(tick(), w.me, g.b, ln))
		setup++
	}
	for i := range 3 {
		m := agencyAll[(g.index+i)%len(agencyAll)]
		w.addMember(tick(), g.b, m.username, m.fullName, "normal")
		g.agency = append(g.agency, m)
		setup++
	}
	for i := range 2 {
		n := g.index*2 + i
		p := clientPeople[n%4]
		if g.russian {
			p = clientPeople[4+n%4]
		}
		base := slug(p[0] + p[1])
		if base == "" { // Cyrillic names slug to nothing
			base = "client"
		}
		username := fmt.Sprintf("%s%d", base, n)
		g.client = append(g.client, w.addMember(tick(), g.b, username, p[0]+" "+p[1], "normal"))
		setup++
	}
	for _, l := range []struct{ name, color string }{
		{"urgent", "red"}, {"out of scope", "orange"}, {"bug", "purple"}, {"design", "blue"}, {"", "green"},
	} {
		g.labels = append(g.labels, w.addLabel(at, g.b, l.name, l.color))
	}
	if g.russian {
		g.labels = append(g.labels, w.addLabel(at, g.b, "контент", "yellow"))
	}
	var priority, estimate *customField
	if g.index%3 == 0 {
		priority = w.addCustomField(at, g.b, "Priority", "list", []string{"High", "Medium", "Low"})
		estimate = w.addCustomField(at, g.b, "Estimate", "number", nil)
	}

	cards := g.opts.CardsPerBoard
	events := max(g.opts.ActionsPerBoard-setup, cards)
	step := end.Sub(at) / time.Duration(events+1)
	for k := range events {
		t := at.Add(step*time.Duration(k+1) + time.Duration(r.Int64N(int64(max(step/2, 1)))))
		t = t.Truncate(time.Millisecond)
		left := cards - len(g.cards)
		if left > 0 && (len(g.cards) == 0 || r.IntN(events-k) < left) {
			g.createCard(t, priority, estimate)
			continue
		}
		g.event(t)
	}
}

func (g *boardGen) person(client bool) *member {
	if client {
		return g.client[g.r.IntN(len(g.client))]
	}
	return g.agency[g.r.IntN(len(g.agency))]
}

func (g *boardGen) createCard(t time.Time, priority, estimate *customField) {
	w, r := g.w, g.r
	byClient := r.IntN(100) < 15
	titles := cardTitles
	if g.russian {
		titles = cardTitlesRu
	}
	name := fmt.Sprintf("%s #%d", titles[r.IntN(len(titles))], len(g.cards)+1)
	desc := ""
	if r.IntN(100) < 90 {
		desc = "Acceptance: " + name + "."
		if g.russian {
			desc = "Критерии приёмки: " + name + "."
		}
	}
	l := g.lists[listBacklog]
	if byClient || r.IntN(2) == 0 {
		l = g.lists[listToDo]
	}
	c := w.createCard(t, g.person(byClient), l, name, desc)
	if r.IntN(100) < 40 {
		c.labels = append(c.labels, g.labels[r.IntN(len(g.labels))])
	}
	if priority != nil && r.IntN(2) == 0 {
		opt := priority.options[r.IntN(len(priority.options))]
		c.customItems = append(c.customItems, &customFieldItem{id: w.ids.next(t), field: priority, idValue: opt.id})
		if r.IntN(2) == 0 {
			c.customItems = append(c.customItems, &customFieldItem{id: w.ids.next(t), field: estimate, value: obj{{"number", fmt.Sprint(1 + r.IntN(16))}}})
		}
	}
	g.cards = append(g.cards, c)
	g.open = append(g.open, c)
}

// pick returns a card to act on, mostly an open one.
func (g *boardGen) pick() *card {
	if len(g.open) > 0 && g.r.IntN(10) < 9 {
		return g.open[g.r.IntN(len(g.open))]
	}
	return g.cards[g.r.IntN(len(g.cards))]
}

// event records one action on some card. Each branch records exactly one
// action; one that does not apply falls through to a comment.
func (g *boardGen) event(t time.Time) {
	w, r := g.w, g.r
	c := g.pick()
	roll := r.IntN(100)
	switch {
	case roll < 28 && !c.closed:
		if to := g.nextList(c); to != nil {
			w.moveCard(t, g.person(false), c, to)
			return
		}
	case roll < 35:
		var due time.Time
		if c.due.IsZero() || r.IntN(4) > 0 {
			due = t.Add(time.Duration(24+r.IntN(24*14)) * time.Hour).Truncate(time.Hour)
		}
		if !due.Equal(c.due) {
			w.setDue(t, g.person(r.IntN(5) == 0), c, due)
			return
		}
	case roll < 38:
		w.setDesc(t, g.person(false), c, c.desc+" Updated.")
		return
	case roll < 43:
		l := g.labels[r.IntN(len(g.labels))]
		if w.addLabelToCard(t, g.person(false), c, l) || w.removeLabelFromCard(t, g.person(false), c, l) {
			return
		}
	case roll < 46 && len(c.checklists) < 2:
		items := []string{"Design", "Build", "Test", "Deploy"}[:2+r.IntN(3)]
		w.addChecklist(t, g.person(false), c, "Checklist", items)
		return
	case roll < 50:
		for _, cl := range c.checklists {
			for _, it := range cl.items {
				if !it.complete {
					w.setCheckItem(t, g.person(false), it, true)
					return
				}
			}
		}
	case roll < 53:
		m := g.agency[r.IntN(len(g.agency))]
		if !containsMember(c.members, m) {
			c.members = append(c.members, m)
			a := w.record(t, g.person(false), "addMemberToCard", c.board, c, obj{
				{"card", cardRef(c)},
				{"idMember", m.id},
				{"board", boardRef(c.board)},
				{"list", listRef(c.list)},
			})
			a.member = m
			return
		}
	case roll < 56:
		if !c.closed && (c.list == g.lists[listDone] || r.IntN(4) == 0) {
			w.closeCard(t, g.person(false), c, true)
			g.open = deleteCard(g.open, c)
			return
		}
		if c.closed {
			w.closeCard(t, g.person(false), c, false)
			g.open = append(g.open, c)
			return
		}
	}
	g.commentOn(t, c)
}

func (g *boardGen) commentOn(t time.Time, c *card) {
	w, r := g.w, g.r
	byClient := r.IntN(100) < 35
	texts := commentsEn
	if g.russian {
		texts = commentsRu
	}
	text := texts[r.IntN(len(texts))]
	if r.IntN(5) == 0 {
		other := g.person(!byClient)
		text = "@" + other.username + " " + text
	}
	a := w.commentCard(t, g.person(byClient), c, text)
	g.comment = append(g.comment, a)
	// A few comments are edited a little later; an edit is no action.
	if r.IntN(100) < 3 && len(g.comment) > 1 {
		prev := g.comment[r.IntN(len(g.comment)-1)]
		text, _ := prev.data.get("text")
		w.editComment(t.Add(time.Millisecond), prev, text.(string)+" (edited)")
	}
}

// nextList follows the board's flow: Backlog → To Do → Doing → Review →
// Done or back to Doing, Waiting for client ↔ Doing.
func (g *boardGen) nextList(c *card) *list {
	r := g.r
	cur := -1
	for i, l := range g.lists {
		if l == c.list {
			cur = i
		}
	}
	next := cur
	switch cur {
	case listBacklog:
		next = listToDo
	case listToDo:
		next = listDoing
	case listDoing:
		next = listReview
		if r.IntN(5) == 0 {
			next = listWaiting
		}
	case listReview:
		next = listDone
		if r.IntN(5) == 0 {
			next = listDoing
		}
	case listWaiting:
		next = listDoing
	case listDone:
		if r.IntN(10) == 0 {
			next = listDoing
		}
	}
	if next == cur {
		return nil
	}
	return g.lists[next]
}

func containsMember(ms []*member, m *member) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func deleteCard(cs []*card, c *card) []*card {
	for i, x := range cs {
		if x == c {
			return append(cs[:i], cs[i+1:]...)
		}
	}
	return cs
}
