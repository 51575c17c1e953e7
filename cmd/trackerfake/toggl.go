package main

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
)

// startToggl serves the agency as a Toggl workspace: members in their
// profile zones (which decide the day an entry is filed under), clients,
// projects with tasks, tags.
func startToggl(a *agency, o options) *tracker {
	quota := cmp.Or(o.quota, togglfake.Quota)
	srv := togglfake.NewServer(togglfake.Options{Quota: quota})
	var users, projects []int64
	var tasks [][]int64
	for _, p := range a.people {
		users = append(users, srv.AddUser(p.name, p.email, p.zone))
	}
	clients := map[string]int64{}
	for _, p := range a.projects {
		if p.client != "" && clients[p.client] == 0 {
			clients[p.client] = srv.AddClient(p.client)
		}
		id := srv.AddProject(p.name, clients[p.client])
		projects = append(projects, id)
		var ts []int64
		for _, name := range p.tasks {
			ts = append(ts, srv.AddTask(name, id))
		}
		tasks = append(tasks, ts)
	}
	tags := map[string]int64{}
	for _, name := range a.tags {
		tags[name] = srv.AddTag(name)
	}
	toEntry := func(e entry) togglfake.Entry {
		te := togglfake.Entry{UserID: users[e.person], Description: e.note, Billable: e.billable,
			Start: e.start, Stop: e.start.Add(time.Duration(e.seconds) * time.Second)}
		if e.project >= 0 {
			te.ProjectID = projects[e.project]
			if e.task >= 0 {
				te.TaskID = tasks[e.project][e.task]
			}
		}
		for _, name := range e.tags {
			te.TagIDs = append(te.TagIDs, tags[name])
		}
		return te
	}
	for _, e := range a.entries {
		srv.AddEntry(toEntry(e))
	}

	plan := "the Free plan's"
	switch quota {
	case 240:
		plan = "the Starter plan's"
	case 600:
		plan = "the Premium plan's"
	case togglfake.Quota:
	default:
		plan = "-quota's"
	}
	t := &tracker{
		title: "Toggl Track", kind: toggl.KindName, handler: srv, path: pathOf(srv.BaseURL()), close: srv.Close, arm: srv.Arm,
		env: toggl.EnvHint, token: srv.Token(), account: strconv.FormatInt(srv.Workspace(), 10),
		clients: a.clients(),
		summary: fmt.Sprintf("workspace %d: %d people, %d clients, %d projects, %d tags, %d time entries since %s",
			srv.Workspace(), len(a.people), len(clients), len(a.projects), len(a.tags), len(a.entries), a.first.Format(time.DateOnly)),
		limits: fmt.Sprintf("%s %d requests an hour, then 402 until the hour is over (karkas waits it out: a sync"+
			" that seems stuck is waiting for the quota; -quota 240 or 600 for the paid plans); karkas also keeps to a request a second",
			plan, quota),
	}
	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	t.recent = func(since time.Time) []string {
		var ids []string
		for _, e := range srv.Entries() {
			if !e.Start.Before(since) {
				ids = append(ids, strconv.FormatInt(e.ID, 10))
			}
		}
		return ids
	}
	t.edit = func(s string, more time.Duration, note string) {
		srv.Edit(id(s), func(e *togglfake.Entry) { e.Stop, e.Description = e.Stop.Add(more), note })
	}
	t.remove = func(s string) { srv.Delete(id(s)) }
	t.add = func(r *rand.Rand, now time.Time) (string, string) {
		e := a.recentEntry(r, now)
		return strconv.FormatInt(srv.AddEntry(toEntry(e)), 10), a.describe(e) + ", " + hm(e.seconds)
	}
	return t
}
