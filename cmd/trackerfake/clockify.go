package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
)

// startClockify serves the agency as a Clockify workspace: members in
// their profile zones, clients, projects with tasks, tags, and the
// entries of past months locked, as a locked period leaves them.
func startClockify(a *agency, now time.Time) *tracker {
	srv := clockifyfake.NewServer(clockifyfake.Options{})
	var users, projects []string
	var tasks [][]string
	for _, p := range a.people {
		users = append(users, srv.AddUser(p.name, p.email, p.zone))
	}
	clients := map[string]string{}
	for _, p := range a.projects {
		if p.client != "" && clients[p.client] == "" {
			clients[p.client] = srv.AddClient(p.client)
		}
		id := srv.AddProject(p.name, clients[p.client])
		projects = append(projects, id)
		var ts []string
		for _, name := range p.tasks {
			ts = append(ts, srv.AddTask(name, id))
		}
		tasks = append(tasks, ts)
	}
	tags := map[string]string{}
	for _, name := range a.tags {
		tags[name] = srv.AddTag(name)
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	toEntry := func(e entry) clockifyfake.Entry {
		ce := clockifyfake.Entry{UserID: users[e.person], Description: e.note, Billable: e.billable,
			Start: e.start, End: e.start.Add(time.Duration(e.seconds) * time.Second)}
		if e.project >= 0 {
			ce.ProjectID = projects[e.project]
			if e.task >= 0 {
				ce.TaskID = tasks[e.project][e.task]
			}
		}
		for _, name := range e.tags {
			ce.TagIDs = append(ce.TagIDs, tags[name])
		}
		return ce
	}
	for _, e := range a.entries {
		ce := toEntry(e)
		ce.Locked = e.start.Before(month)
		srv.AddEntry(ce)
	}
	t := &tracker{
		title: "Clockify", kind: clockify.KindName, handler: srv, path: pathOf(srv.BaseURL()), close: srv.Close, arm: srv.Arm,
		env: clockify.EnvHint, token: srv.Key(), account: srv.Workspace(),
		clients: a.clients(),
		summary: fmt.Sprintf("workspace %s: %d people, %d clients, %d projects, %d tags, %d time entries since %s (past months locked)",
			srv.Workspace(), len(a.people), len(clients), len(a.projects), len(a.tags), len(a.entries), a.first.Format(time.DateOnly)),
		limits: fmt.Sprintf("%d requests a second per key, then 429 with Retry-After [unverified: Clockify's exact rule]", clockifyfake.Limit),
	}
	t.recent = func(since time.Time) []string {
		var ids []string
		for _, e := range srv.Entries() {
			if !e.Start.Before(since) && !e.Locked {
				ids = append(ids, e.ID)
			}
		}
		return ids
	}
	t.edit = func(id string, more time.Duration, note string) {
		srv.Edit(id, func(e *clockifyfake.Entry) { e.End, e.Description = e.End.Add(more), note })
	}
	t.remove = srv.Delete
	t.add = func(r *rand.Rand, now time.Time) (string, string) {
		e := a.recentEntry(r, now)
		return srv.AddEntry(toEntry(e)), a.describe(e) + ", " + hm(e.seconds)
	}
	return t
}
