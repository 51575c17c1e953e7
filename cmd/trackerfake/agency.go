package main

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// agency is the agency the Toggl, Clockify and Harvest fakes are filled
// with (Everhour's fake builds its own with World.Generate): people with
// English and Russian names, each in a time zone, three clients (one
// Russian) with their projects and tasks, an internal project of no
// client, tags, and time entries. Each fake stores what its API has of it.
type agency struct {
	people   []person
	projects []project
	tags     []string
	entries  []entry
	// first is the first day entries may be dated (UTC).
	first time.Time
}

type person struct {
	name, email string
	zone        *time.Location
}

// project is a project of client ("" for the agency's own time) with its
// tasks and the Trello cards time on it may be logged from.
type project struct {
	name, client string
	tasks        []string
	cards        []string
}

// entry is a span of work as the team logged it.
type entry struct {
	person  int
	project int // -1: no project, where the tracker allows it
	task    int // -1: no task, where the tracker allows it
	start   time.Time
	seconds int64
	// billable is false for the agency's own time and, now and then, for
	// client work the agency does not bill.
	billable bool
	note     string
	tags     []string
	// card is the Trello card (short link) the entry was logged from
	// through the tracker's power-up, or "".
	card string
}

var (
	agencyPeople = []struct{ name, email, zone string }{
		{"Anna Smith", "anna@northwind.agency", "Europe/London"},
		{"Борис Иванов", "boris@northwind.agency", "Europe/Moscow"},
		{"Chloé Martin", "chloe@northwind.agency", "Europe/Paris"},
		{"Дмитрий Соколов", "dmitri@northwind.agency", "Asia/Yekaterinburg"},
		{"Grace Okafor", "grace@northwind.agency", "America/New_York"},
		{"Елена Кузнецова", "elena@northwind.agency", "Europe/Moscow"},
	}
	agencyProjects = []project{
		{name: "Acme Website", client: "Acme Foods", tasks: []string{"Landing page", "Checkout flow", "Bug fixes", "Созвон с клиентом"}},
		{name: "Acme SEO", client: "Acme Foods", tasks: []string{"SEO audit", "Content plan"}},
		{name: "Сайт Ромашки", client: "ООО Ромашка", tasks: []string{"Главная страница", "Каталог", "Правки по макету", "Созвон с клиентом"}},
		{name: "Ромашка — реклама", client: "ООО Ромашка", tasks: []string{"Баннеры", "Отчёт за месяц"}},
		{name: "Cobalt App", client: "Cobalt Labs", tasks: []string{"API integration", "Onboarding", "Design review"}},
		{name: "Northwind — Internal", tasks: []string{"Internal meetings", "Hiring"}},
	}
	agencyTags  = []string{"дизайн", "bug", "созвон", "SEO", "срочно"}
	agencyNotes = []string{"", "", "", "call with client", "правки по макету", "code review", "deploy", "встреча", "research",
		"fixes after QA", "созвон с клиентом", "draft for review"}
)

const linkChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newAgency builds the agency and entries entries dated over the months
// whole months up to now, none ending after now. The same seed gives the
// same agency.
func newAgency(seed uint64, entries, months int, now time.Time) (*agency, error) {
	r := rand.New(rand.NewPCG(seed, 0x7e4c))
	a := &agency{tags: agencyTags}
	for _, p := range agencyPeople {
		zone, err := time.LoadLocation(p.zone)
		if err != nil {
			return nil, fmt.Errorf("time zone of %s: %w", p.name, err)
		}
		a.people = append(a.people, person{name: p.name, email: p.email, zone: zone})
	}
	for _, p := range agencyProjects {
		p.tasks = slices.Clone(p.tasks)
		if p.client != "" {
			for range 3 {
				card := make([]byte, 8)
				for i := range card {
					card[i] = linkChars[r.IntN(len(linkChars))]
				}
				p.cards = append(p.cards, string(card))
			}
		}
		a.projects = append(a.projects, p)
	}
	now = now.UTC()
	a.first = time.Date(now.Year(), now.Month()-time.Month(months-1), 1, 0, 0, 0, 0, time.UTC)
	days := int(now.Sub(a.first)/(24*time.Hour)) + 1
	for range entries {
		e := a.entry(r, a.first.AddDate(0, 0, r.IntN(days)))
		if end := e.start.Add(time.Duration(e.seconds) * time.Second); end.After(now) {
			// Today's work that has not happened yet happened yesterday.
			e.start = e.start.AddDate(0, 0, -1)
		}
		a.entries = append(a.entries, e)
	}
	slices.SortStableFunc(a.entries, func(x, y entry) int { return x.start.Compare(y.start) })
	return a, nil
}

// entry makes one entry of a random person, started on day (a date at
// midnight UTC) in office hours of the person's zone.
func (a *agency) entry(r *rand.Rand, day time.Time) entry {
	e := entry{person: r.IntN(len(a.people)), project: -1, task: -1}
	zone := a.people[e.person].zone
	e.start = time.Date(day.Year(), day.Month(), day.Day(), 9+r.IntN(9), r.IntN(12)*5, 0, 0, zone).UTC()
	// 15 minutes to 4 hours, the seconds as a running timer leaves them.
	e.seconds = int64(3+r.IntN(46))*300 + int64(r.IntN(60))
	e.note = agencyNotes[r.IntN(len(agencyNotes))]
	if r.IntN(25) != 0 {
		e.project = r.IntN(len(a.projects))
		p := a.projects[e.project]
		if r.IntN(5) != 0 {
			e.task = r.IntN(len(p.tasks))
		}
		e.billable = p.client != "" && r.IntN(10) != 0
		if len(p.cards) > 0 && r.IntN(6) == 0 {
			e.card = p.cards[r.IntN(len(p.cards))]
		}
	}
	if r.IntN(3) == 0 {
		e.tags = append(e.tags, a.tags[r.IntN(len(a.tags))])
	}
	if e.task >= 0 && a.projects[e.project].tasks[e.task] == "Созвон с клиентом" && !slices.Contains(e.tags, "созвон") {
		e.tags = append(e.tags, "созвон")
	}
	return e
}

// recentEntry is an entry of work that ended a little before now.
func (a *agency) recentEntry(r *rand.Rand, now time.Time) entry {
	e := a.entry(r, now)
	e.start = now.Add(-time.Duration(e.seconds)*time.Second - time.Duration(r.IntN(30))*time.Minute).Truncate(time.Second)
	return e
}

// clients are the agency's clients, each with its projects, in the order
// first named.
func (a *agency) clients() []configClient {
	var out []configClient
	for _, p := range a.projects {
		if p.client == "" {
			continue
		}
		i := slices.IndexFunc(out, func(c configClient) bool { return c.name == p.client })
		if i < 0 {
			out = append(out, configClient{name: p.client})
			i = len(out) - 1
		}
		out[i].projects = append(out[i].projects, p.name)
	}
	return out
}

// describe is one line about an entry, for the activity log.
func (a *agency) describe(e entry) string {
	what := "no project"
	if e.project >= 0 {
		what = a.projects[e.project].name
	}
	return fmt.Sprintf("%s, %s, %s", a.people[e.person].name, what, cmp.Or(e.note, "no note"))
}
