package everhourfake

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

var (
	firstNames  = []string{"Anna", "Boris", "Chloé", "Dmitri", "Елена", "Farid", "Grace", "Hiro", "Ирина", "Jonas", "Katya", "Lena", "Максим", "Nora", "Oskar", "Priya"}
	lastNames   = []string{"Petrova", "Ivanov", "Martin", "Sokolov", "Кузнецова", "Haddad", "Okafor", "Tanaka", "Смирнова", "Berg", "Orlova", "Novak", "Волков", "Lind", "Weber", "Rao"}
	clientNames = []string{"Acme Foods", "Бетта Строй", "Cobalt Labs", "Delta Print", "Эко Ферма", "Fjord Travel", "Globex", "Horizon Bank", "Инвест Групп", "Juniper Health"}
	taskWords   = []string{"Landing page", "Логотип", "SEO audit", "Checkout flow", "Баннеры", "Newsletter", "API integration", "Отчёт за месяц", "Bug fixes", "Onboarding", "Design review", "Созвон с клиентом"}
	comments    = []string{"", "", "", "call with client", "правки по макету", "code review", "deploy", "встреча", "research", "fixes after QA"}
	labelNames  = []string{"дизайн", "bug", "созвон", "SEO", "срочно", "content"}
)

// Generate fills the world with a synthetic agency: users members (some
// with Cyrillic names), a client for every four of them (at least three),
// two projects per client, every second one a Trello board whose tasks
// are "tr:<24-hex card id>" or, for a third of them, "tr:<short link>",
// labels on about half of the tasks (one or two of a few names, Cyrillic
// among them), a few unbillable tasks, and entries time records spread
// over the months whole months up to the clock's today, never in the
// future. The records of months before the current one are locked, a
// fifth of them also invoiced. The same seed gives the same world.
func (w *World) Generate(seed uint64, users, entries, months int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w.mu.Lock()
	w.rnd = rand.New(rand.NewPCG(seed+1, seed+2))
	w.mu.Unlock()
	var us []User
	for i := range users {
		name := firstNames[i%len(firstNames)] + " " + lastNames[(i/len(firstNames)+i)%len(lastNames)]
		if i >= len(firstNames) {
			name += fmt.Sprintf(" %d", i/len(firstNames)+1)
		}
		us = append(us, w.AddUser(name, fmt.Sprintf("user%d@northwind.agency", i+1)))
	}
	nClients := max(3, users/4)
	var tasks []Task
	for i := range nClients {
		name := clientNames[i%len(clientNames)]
		if i >= len(clientNames) {
			name += fmt.Sprintf(" %d", i/len(clientNames)+1)
		}
		c := w.AddClient(name)
		for j := range 2 {
			platform := "ev"
			if (i+j)%2 == 0 {
				platform = "tr"
			}
			p := w.AddProject(platform, fmt.Sprintf("%s — %s", name, []string{"Website", "Маркетинг"}[j]), c.ID)
			for k := range 8 + r.IntN(12) {
				id := ""
				if platform == "tr" && k%3 == 2 {
					id = "tr:" + w.TrelloShortLink()
				}
				t := w.AddTask(p.ID, id, fmt.Sprintf("%s #%d", taskWords[r.IntN(len(taskWords))], k+1))
				// Chosen by position, not by r: worlds of earlier versions
				// keep their tasks and entries.
				var labels []string
				if k%2 == 0 {
					labels = append(labels, labelNames[(i+j+k/2)%len(labelNames)])
				}
				if k%6 == 4 {
					labels = append(labels, labelNames[(i+k)%len(labelNames)])
				}
				if len(labels) > 0 {
					w.SetLabels(t.ID, labels...)
					t.Labels = labels
				}
				if r.IntN(10) == 0 {
					w.SetUnbillable(t.ID, true)
					t.Unbillable = true
				}
				tasks = append(tasks, t)
			}
		}
	}
	internal := w.AddProject("ev", "Northwind — Internal", 0)
	tasks = append(tasks, w.AddTask(internal.ID, "", "Internal meetings"))

	now := w.clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := time.Date(now.Year(), now.Month()-time.Month(months-1), 1, 0, 0, 0, 0, time.UTC)
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	days := int(today.Sub(first)/(24*time.Hour)) + 1

	w.mu.Lock()
	defer w.mu.Unlock()
	for range entries {
		u := us[r.IntN(len(us))]
		t := tasks[r.IntN(len(tasks))]
		d := first.AddDate(0, 0, r.IntN(days))
		e := w.addLocked(u.ID, t.ID, d.Format(time.DateOnly), int64(15+r.IntN(32)*15)*60, comments[r.IntN(len(comments))])
		if d.Before(monthStart) {
			e.IsLocked = true
			e.IsInvoiced = r.IntN(5) == 0
		}
		w.entries = append(w.entries, e)
	}
	slices.SortFunc(w.entries, less)
}
