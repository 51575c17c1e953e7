package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/connectors/github/githubfake"
)

// The agency the fake is filled with: its people on GitHub, its clients
// (one of them Russian, who writes in Russian) with their repositories
// and contacts, a bot and a CI account.
var (
	agencyPeople = []member{
		{id: "anna", login: "anna-northwind", name: "Anna Smith"},
		{id: "boris", login: "boris-ivanov", name: "Борис Иванов"},
		{id: "chloe", login: "chloe-codes", name: "Chloé Martin"},
		{id: "dmitri", login: "dsokolov", name: "Дмитрий Соколов"},
	}
	agencyClients = []client{
		{id: "acme", name: "Acme Foods", repos: []string{"acme-site", "acme-app"}, contacts: []member{
			{id: "john", login: "john-acme", name: "John Carter"},
			{id: "sarah", login: "sarah-acmefoods", name: "Sarah Lee"},
		}},
		{id: "romashka", name: "ООО Ромашка", russian: true, repos: []string{"romashka-shop"}, contacts: []member{
			{id: "olga", login: "olga-romashka", name: "Ольга Смирнова"},
			{id: "igor", login: "igor-volkov", name: "Игорь Волков"},
		}},
		{id: "cobalt", name: "Cobalt Labs", repos: []string{"cobalt-api"}, contacts: []member{
			{id: "maya", login: "maya-cobalt", name: "Maya Chen"},
		}},
	}
)

const (
	owner = "northwind"
	// bot is a GitHub App's account (type Bot): never a reply.
	bot = "renovate[bot]"
	// ciAccount is a plain user account that CI comments as; only the
	// config's bots: option tells karkas it is no person.
	ciAccount = "northwind-ci"
	// tokenAccount is the account whose token the printed config uses.
	tokenAccount = "northwind-karkas"
	// token is that token, in the shape of a classic personal token.
	token = "ghp_fakeNorthwindKarkas0000000000000000"
)

type member struct{ id, login, name string }

type client struct {
	id, name string
	russian  bool
	repos    []string
	contacts []member
}

// The words people write, by language: titles and bodies of issues,
// client comments, agency answers.
type words struct {
	titles, bodies, asks, answers, followUps []string
}

var (
	english = words{
		titles: []string{"Checkout button does nothing on Safari", "Update the pricing page", "Add a newsletter signup form",
			"Images load slowly on mobile", "Typo on the About page", "Export orders to CSV", "Login link in the email is broken",
			"New banner for the spring campaign", "Search ignores product codes", "Cookie banner covers the menu"},
		bodies: []string{"Steps: open the page, click the button, nothing happens. Seen by two customers today.",
			"The copy is in the shared doc; please use the new prices from Monday.", "See the screenshot in the thread.",
			"", "Our marketing team needs this before the campaign starts."},
		asks: []string{"Any update on this?", "It still happens on my phone.", "Could you also check the footer?",
			"Thanks! One more thing: the button colour should match the logo.", "Can we have this by Friday?"},
		answers: []string{"On it, a fix will be on staging today.", "Deployed to staging, please check.",
			"Fixed in the last release.", "We need the final copy to go on, could you send it?",
			"Looked into it: it is a cache issue, purged now."},
		followUps: []string{"Works now, thank you!", "Looks good.", "Still broken for me, sorry."},
	}
	russian = words{
		titles: []string{"Не работает форма обратной связи", "Поменять баннер на главной", "Добавить фильтр по цене в каталог",
			"Ошибка при оплате картой", "Обновить контакты в подвале", "Медленно грузится каталог", "Опечатка в карточке товара",
			"Выгрузка заказов в 1С", "Новая акция к 8 марта", "Не приходит письмо о заказе"},
		bodies: []string{"Клиенты пишут, что после нажатия «Отправить» ничего не происходит.", "Текст и картинки в общей папке.",
			"", "Скриншот приложили. Срочно, пожалуйста.", "Нужно до запуска рекламы."},
		asks: []string{"Есть новости по задаче?", "Всё ещё воспроизводится, проверьте, пожалуйста.", "И ещё: поправьте, пожалуйста, шрифт.",
			"Когда будет готово?", "Спасибо! А можно ещё и на мобильной версии?"},
		answers: []string{"Взяли в работу, сегодня поправим.", "Выложили на тестовый сервер, проверьте, пожалуйста.",
			"Исправлено в последнем релизе.", "Нужен финальный текст от вас, пришлёте?", "Разобрались: дело было в кэше, сбросили."},
		followUps: []string{"Всё работает, спасибо!", "Отлично.", "У меня всё ещё не работает."},
	}
	botTitles = []string{"Update dependency eslint to v9", "Update module golang.org/x/net to v0.38.0",
		"Update actions/checkout action to v5", "Lock file maintenance"}
	ciComments = []string{"CI: all checks passed ✅", "CI: 1 test failed, see the log.", "Preview deployed: https://preview.northwind.agency/pr"}
)

func (c client) words() words {
	if c.russian {
		return russian
	}
	return english
}

// seedClock is the world's clock: it stands where the history being
// written is, then runs with the wall clock.
type seedClock struct {
	mu sync.Mutex
	at time.Time // zero: the wall clock
}

func (c *seedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

func (c *seedClock) set(t time.Time) {
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

// agency is the fake's world with what the command knows of it.
type agency struct {
	w *githubfake.World
	// repos are the repositories in config order, with their client.
	repos []agencyRepo
	// side is the client id of a client login, "" for the agency's.
	side map[string]string
}

type agencyRepo struct {
	githubfake.Repo
	client *client
}

// newAgency builds the agency's world with days of history before now:
// per repository about issues issues and pull requests, opened by a
// client or the agency in office hours, answered (mostly), moved through
// the status labels, assigned, put in milestones, closed; a bot's pull
// requests and a CI account's comments among them. The same seed and now
// give the same world. The world's clock runs with the wall clock after.
func newAgency(seed uint64, issues, days int, now time.Time) *agency {
	clock := &seedClock{}
	a := &agency{w: githubfake.NewWorld(clock), side: map[string]string{}}
	r := rand.New(rand.NewPCG(seed, 0x61c8))
	now = now.UTC().Truncate(time.Second)
	start := now.Add(-time.Duration(days) * 24 * time.Hour)
	clock.set(start.Add(-time.Hour))
	a.w.AddUser(owner, "Northwind Digital")
	for _, p := range agencyPeople {
		a.w.AddUser(p.login, p.name)
	}
	a.w.AddUser(ciAccount, "Northwind CI")
	a.w.AddUser(tokenAccount, "karkas at Northwind")
	a.w.AddBot(bot)
	a.w.AddToken(token, tokenAccount)
	for i := range agencyClients {
		c := &agencyClients[i]
		for _, p := range c.contacts {
			a.w.AddUser(p.login, p.name)
			a.side[strings.ToLower(p.login)] = c.id
		}
		for _, name := range c.repos {
			rp := a.w.AddRepo(owner, name, true)
			a.w.AddAdmin(rp.ID, tokenAccount) // so that karkas serve may create its hooks
			for _, l := range githubfake.GenerateStatusLabels {
				a.w.AddLabel(rp.ID, l, "0e8a16")
			}
			a.w.AddLabel(rp.ID, "bug", "d73a4a")
			due := now.Add(time.Duration(3+r.IntN(20)) * 24 * time.Hour).Truncate(24 * time.Hour)
			title := "Release 2.0"
			if c.russian {
				title = "Релиз 2.0"
			}
			a.w.AddMilestone(rp.ID, agencyPeople[0].login, title, &due)
			a.repos = append(a.repos, agencyRepo{Repo: rp, client: c})
		}
	}

	// Every thread as a list of steps at their times; applied in time
	// order with the clock set to each, so ids and numbers grow with
	// time as GitHub's do.
	var plan []step
	for ri := range a.repos {
		for range issues {
			plan = append(plan, a.thread(r, ri, start, now)...)
		}
	}
	slices.SortStableFunc(plan, func(x, y step) int { return x.at.Compare(y.at) })
	for _, s := range plan {
		clock.set(s.at)
		s.do()
	}
	clock.set(time.Time{})
	return a
}

// step is one thing that happens to an issue, at a time.
type step struct {
	at time.Time
	do func()
}

// ref is an issue as the plan knows it before it exists.
type ref struct {
	repo   int64
	number int
}

// officeTime is a random moment of office hours (08:00-18:00 UTC) on one
// of the days after start, before now.
func officeTime(r *rand.Rand, start, now time.Time) time.Time {
	days := max(1, int(now.Sub(start)/(24*time.Hour)))
	d := start.Truncate(24*time.Hour).AddDate(0, 0, 1+r.IntN(days))
	t := d.Add(time.Duration(8*60+r.IntN(10*60)) * time.Minute).Add(time.Duration(r.IntN(60)) * time.Second)
	for !t.Before(now) {
		t = t.AddDate(0, 0, -1)
	}
	return t
}

// later is a moment after t, between lo and hi later.
func later(r *rand.Rand, t time.Time, lo, hi time.Duration) time.Time {
	return t.Add(lo + time.Duration(r.Int64N(int64(hi-lo)))).Truncate(time.Second)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// thread plans one issue or pull request of repository ri and what
// happens to it before now.
func (a *agency) thread(r *rand.Rand, ri int, start, now time.Time) []step {
	rp := a.repos[ri]
	c, wd := rp.client, rp.client.words()
	is := &ref{repo: rp.ID}
	opened := officeTime(r, start, now)
	var out []step
	add := func(at time.Time, do func()) bool {
		if !at.Before(now) {
			return false
		}
		out = append(out, step{at: at, do: do})
		return true
	}
	dev := pick(r, agencyPeople).login

	if r.IntN(8) == 0 {
		// A pull request: a bot's dependency update or the agency's work,
		// with CI's comment, usually merged.
		author, title := bot, pick(r, botTitles)
		if r.IntN(2) == 0 {
			author, title = dev, "Fix: "+pick(r, wd.titles)
		}
		add(opened, func() { is.number = a.w.OpenPullRequest(is.repo, author, title, "").Number })
		t := later(r, opened, 5*time.Minute, 30*time.Minute)
		add(t, func() { a.w.Comment(is.repo, is.number, ciAccount, pick(r, ciComments)) })
		if r.IntN(4) != 0 {
			add(later(r, t, time.Hour, 48*time.Hour), func() { a.w.Merge(is.repo, is.number, dev) })
		}
		return out
	}

	fromClient := r.IntN(5) < 3
	author := dev
	if fromClient {
		author = pick(r, c.contacts).login
	}
	title, body := pick(r, wd.titles), pick(r, wd.bodies)
	var labels []string
	if r.IntN(5) < 3 {
		labels = append(labels, "todo")
	}
	if r.IntN(4) == 0 {
		labels = append(labels, "bug")
	}
	add(opened, func() { is.number = a.w.OpenIssue(is.repo, author, title, body, labels...).Number })
	t := opened
	// The conversation: a client's message is answered within minutes to
	// a day, now and then not at all (yet).
	waiting := fromClient
	for turn := 0; turn < 4; turn++ {
		if waiting {
			if r.IntN(8) == 0 {
				break // unanswered
			}
			t = later(r, t, 20*time.Minute, 20*time.Hour)
			if !add(t, func() { a.w.Comment(is.repo, is.number, dev, pick(r, wd.answers)) }) {
				return out
			}
			waiting = false
			continue
		}
		if r.IntN(2) == 0 {
			break
		}
		who, text := pick(r, c.contacts).login, pick(r, wd.asks)
		if turn > 0 && r.IntN(2) == 0 {
			text = pick(r, wd.followUps)
		}
		t = later(r, t, time.Hour, 48*time.Hour)
		var id int64
		if !add(t, func() { id = a.w.Comment(is.repo, is.number, who, text).ID }) {
			return out
		}
		if r.IntN(10) == 0 {
			// The client corrects the comment: an edit, not a new message.
			add(later(r, t, time.Minute, 10*time.Minute), func() { a.w.EditComment(id, text+" (upd)") })
		}
		waiting = true
	}
	// The work: taken, moved through the labels, closed.
	if !slices.Contains(labels, "todo") && r.IntN(2) == 0 {
		return out
	}
	t = later(r, opened, 30*time.Minute, 72*time.Hour)
	if !add(t, func() {
		a.w.Assign(is.repo, is.number, dev, dev)
		if !slices.Contains(labels, "todo") {
			a.w.AddLabels(is.repo, is.number, dev, "todo")
		}
		if r.IntN(3) == 0 {
			a.w.SetMilestone(is.repo, is.number, dev, 1)
		}
	}) {
		return out
	}
	prev := "todo"
	for _, next := range githubfake.GenerateStatusLabels[1:] {
		if r.IntN(4) == 0 {
			return out
		}
		t = later(r, t, time.Hour, 72*time.Hour)
		from := prev
		if !add(t, func() { a.w.MoveLabel(is.repo, is.number, dev, from, next) }) {
			return out
		}
		prev = next
	}
	if r.IntN(5) != 0 {
		add(later(r, t, time.Hour, 48*time.Hour), func() { a.w.Close(is.repo, is.number, dev, "") })
	}
	return out
}

// waiting lists the open issues whose last human message is a client's:
// what the agency owes an answer to, longest waiting first.
func (a *agency) waiting() []waitingIssue {
	var out []waitingIssue
	for _, rp := range a.repos {
		last := map[int]githubfake.Comment{}
		for _, cm := range a.w.Comments(rp.ID) {
			if !a.automated(cm.User) {
				last[cm.IssueNumber] = cm
			}
		}
		for _, is := range a.w.Issues(rp.ID) {
			if is.State != "open" || is.PullRequest {
				continue
			}
			who, since := is.User, is.CreatedAt
			if cm, ok := last[is.Number]; ok {
				who, since = cm.User, cm.CreatedAt
			}
			if a.side[strings.ToLower(who)] != "" {
				out = append(out, waitingIssue{repo: rp, number: is.Number, since: since})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y waitingIssue) int { return x.since.Compare(y.since) })
	return out
}

type waitingIssue struct {
	repo   agencyRepo
	number int
	since  time.Time
}

func (a *agency) automated(login string) bool {
	return strings.HasSuffix(login, "[bot]") || strings.EqualFold(login, ciAccount)
}

// act is one round of activity: a client opens an issue, the agency
// answers the client who waited longest, moves an open issue on to its
// next status label, and closes one in review. It says what it did.
func (a *agency) act(r *rand.Rand, n int) string {
	var done []string
	rp := pick(r, a.repos)
	wd := rp.client.words()
	who := pick(r, rp.client.contacts).login
	title := fmt.Sprintf("%s (%d)", pick(r, wd.titles), n)
	is := a.w.OpenIssue(rp.ID, who, title, pick(r, wd.bodies))
	done = append(done, fmt.Sprintf("%s#%d opened by %s", rp.Name, is.Number, who))

	// The newest issue waits for the next round, so a sync in between
	// sees it unanswered.
	if ws := a.waiting(); len(ws) > 1 {
		w := ws[0]
		dev := pick(r, agencyPeople).login
		a.w.Comment(w.repo.ID, w.number, dev, pick(r, w.repo.client.words().answers))
		done = append(done, fmt.Sprintf("%s#%d answered by %s", w.repo.Name, w.number, dev))
	}

	type open struct {
		repo   agencyRepo
		number int
		label  string
	}
	var opens []open
	for _, rp := range a.repos {
		for _, is := range a.w.Issues(rp.ID) {
			if is.State != "open" || is.PullRequest {
				continue
			}
			label := ""
			for _, l := range githubfake.GenerateStatusLabels {
				if slices.Contains(is.Labels, l) {
					label = l
				}
			}
			opens = append(opens, open{rp, is.Number, label})
		}
	}
	dev := pick(r, agencyPeople).login
	if len(opens) > 0 {
		o := pick(r, opens)
		labels := githubfake.GenerateStatusLabels
		switch i := slices.Index(labels, o.label); {
		case i < 0:
			a.w.AddLabels(o.repo.ID, o.number, dev, labels[0])
			done = append(done, fmt.Sprintf("%s#%d labelled %s", o.repo.Name, o.number, labels[0]))
		case i+1 < len(labels):
			a.w.MoveLabel(o.repo.ID, o.number, dev, o.label, labels[i+1])
			done = append(done, fmt.Sprintf("%s#%d moved %s -> %s", o.repo.Name, o.number, o.label, labels[i+1]))
		}
	}
	var review []open
	for _, o := range opens {
		if o.label == "review" {
			review = append(review, o)
		}
	}
	if len(review) > 0 {
		o := pick(r, review)
		a.w.Close(o.repo.ID, o.number, dev, "")
		done = append(done, fmt.Sprintf("%s#%d closed", o.repo.Name, o.number))
	}
	return strings.Join(done, ", ")
}

// summary says what the world holds.
func (a *agency) summary() string {
	var issues, prs, comments int
	for _, rp := range a.repos {
		for _, is := range a.w.Issues(rp.ID) {
			if is.PullRequest {
				prs++
			} else {
				issues++
			}
		}
		comments += len(a.w.Comments(rp.ID))
	}
	return fmt.Sprintf("%d repositories of %d clients, %d issues, %d pull requests, %d comments, %d waiting for an answer",
		len(a.repos), len(agencyClients), issues, prs, comments, len(a.waiting()))
}
