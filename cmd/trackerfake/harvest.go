package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
)

// startHarvest serves the agency as a Harvest account. Harvest logs all
// time on a project's task, in decimal hours by spent_date, has no tags,
// and marks the entries its Trello power-up logged with an external
// reference to the card; past months' entries are partly locked (approved
// or invoiced).
func startHarvest(a *agency, now time.Time) *tracker {
	srv := harvestfake.NewServer(harvestfake.Options{})
	var users, projects []int64
	for _, p := range a.people {
		users = append(users, srv.AddUser(p.name))
	}
	clients := map[string]int64{}
	taskID := map[string]int64{} // Harvest's tasks are the account's, shared by projects
	for _, p := range a.projects {
		if p.client != "" && clients[p.client] == 0 {
			clients[p.client] = srv.AddClient(p.client)
		}
		projects = append(projects, srv.AddProject(p.name, clients[p.client]))
		for _, name := range p.tasks {
			if taskID[name] == 0 {
				taskID[name] = srv.AddTask(name)
			}
		}
	}
	toEntry := func(e entry) harvestfake.Entry {
		he := harvestfake.Entry{SpentDate: e.start.In(a.people[e.person].zone).Format(time.DateOnly), UserID: users[e.person],
			Hours: math.Round(float64(e.seconds)/36) / 100, Notes: e.note, Billable: e.billable}
		// Time of no project or task goes on the project's first task, or
		// the agency's own project.
		p, task := e.project, e.task
		if p < 0 {
			p = len(a.projects) - 1
		}
		if task < 0 {
			task = 0
		}
		he.ProjectID, he.TaskID = projects[p], taskID[a.projects[p].tasks[task]]
		if e.card != "" {
			he.External = &harvestfake.ExternalReference{ID: e.card, GroupID: "board", Service: "trello",
				Permalink: "https://trello.com/c/" + e.card}
		}
		return he
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	for i, e := range a.entries {
		he := toEntry(e)
		id := srv.AddEntry(he)
		if he.SpentDate < month && i%3 != 0 {
			srv.Lock(id, []string{"Item Approved", "Item Invoiced"}[i%2])
		}
	}
	t := &tracker{
		title: "Harvest", kind: harvest.KindName, handler: srv, path: pathOf(srv.BaseURL()), close: srv.Close, arm: srv.Arm,
		env: harvest.EnvHint, token: srv.Token(), account: srv.Account(),
		options: []string{"reconcile_every: 10s   # real accounts: the default 6h. Harvest lists changes, not deletions: a whole re-read, at most this often, finds those"},
		clients: a.clients(),
		summary: fmt.Sprintf("account %s: %d people, %d clients, %d projects, %d time entries since %s (some from Trello cards)",
			srv.Account(), len(a.people), len(clients), len(a.projects), len(a.entries), a.first.Format(time.DateOnly)),
		limits: fmt.Sprintf("%d requests per %s per token, then 429 with Retry-After (Harvest's stated limit)",
			harvestfake.Limit, harvestfake.Window),
	}
	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	t.recent = func(since time.Time) []string {
		var ids []string
		for _, e := range srv.Entries() {
			if e.SpentDate >= since.Format(time.DateOnly) && !e.IsLocked {
				ids = append(ids, strconv.FormatInt(e.ID, 10))
			}
		}
		return ids
	}
	t.edit = func(s string, more time.Duration, note string) {
		srv.Edit(id(s), func(e *harvestfake.Entry) { e.Hours, e.Notes = e.Hours+more.Hours(), note })
	}
	t.remove = func(s string) { srv.Delete(id(s)) }
	t.add = func(r *rand.Rand, now time.Time) (string, string) {
		e := a.recentEntry(r, now)
		return strconv.FormatInt(srv.AddEntry(toEntry(e)), 10), a.describe(e) + ", " + hm(e.seconds)
	}
	return t
}
