package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
)

// everhourPeople is the team World.Generate makes: six people make its
// three clients.
const everhourPeople = 6

// startEverhour serves World.Generate's agency: Trello boards among the
// projects, tasks linked to their cards, labels, unbillable tasks, and
// records of past months locked (some invoiced).
func startEverhour(o options, now time.Time) *tracker {
	w := everhourfake.NewWorld(nil)
	w.Generate(o.seed, everhourPeople, o.entries, o.months)
	srv := everhourfake.NewServer(everhourfake.Options{World: w})
	t := &tracker{
		title: "Everhour", kind: everhour.KindName, handler: srv, path: pathOf(srv.BaseURL()), close: srv.Close, arm: srv.Arm,
		env: everhour.EnvHint, token: srv.APIKey(),
		limits: fmt.Sprintf("%d requests per %s per key, then 429 with Retry-After (Everhour's stated limit)",
			everhourfake.EverhourLimits.Max, everhourfake.EverhourLimits.Interval),
	}
	projects := w.Projects()
	for _, c := range w.Clients() {
		cc := configClient{name: c.Name}
		for _, p := range projects {
			if p.Client == c.ID {
				cc.projects = append(cc.projects, p.Name)
			}
		}
		t.clients = append(t.clients, cc)
	}
	linked := 0
	for _, tk := range w.Tasks() {
		if strings.HasPrefix(tk.ID, "tr:") {
			linked++
		}
	}
	t.summary = fmt.Sprintf("%d people, %d clients, %d projects, %d tasks (%d linked to Trello cards), %d time records since %s",
		len(w.Users()), len(t.clients), len(projects), len(w.Tasks()), linked, len(w.Entries()),
		time.Date(now.Year(), now.Month()-time.Month(o.months-1), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))

	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	t.recent = func(since time.Time) []string {
		var ids []string
		for _, e := range w.Entries() {
			// Locked records (an approved or invoiced week) stay as they are.
			if e.Date >= since.Format(time.DateOnly) && !e.IsLocked {
				ids = append(ids, strconv.FormatInt(e.ID, 10))
			}
		}
		return ids
	}
	t.edit = func(s string, more time.Duration, note string) {
		if e, ok := w.Entry(id(s)); ok {
			w.EditEntry(e.ID, e.Time+int64(more/time.Second), note)
		}
	}
	t.remove = func(s string) { w.DeleteEntry(id(s)) }
	t.add = func(r *rand.Rand, now time.Time) (string, string) {
		users, tasks := w.Users(), w.Tasks()
		u, tk := users[r.IntN(len(users))], tasks[r.IntN(len(tasks))]
		secs := int64(1+r.IntN(16)) * 15 * 60
		e := w.AddEntry(u.ID, tk.ID, now.UTC().Format(time.DateOnly), secs, "созвон с клиентом")
		return strconv.FormatInt(e.ID, 10), fmt.Sprintf("%s, %q %s, %s", u.Name, tk.Name, tk.ID, hm(secs))
	}
	return t
}
