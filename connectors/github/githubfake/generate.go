package githubfake

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// GenerateStatusLabels are the status labels Generate moves issues
// through, in workflow order.
var GenerateStatusLabels = []string{"todo", "in progress", "review"}

// Generated names what Generate made.
type Generated struct {
	Owner string
	Repos []Repo
	// Agency and Clients are the logins of the agency's people and of
	// each repository's client contacts; Bot is the bot's.
	Agency  []string
	Clients [][]string
	Bot     string
}

// Generate fills the world with an agency's work over the days before the
// clock's now: repos repositories (one client each, owner "northwind"),
// issues issues and pull requests spread over them, opened by the client
// or the agency, moved through GenerateStatusLabels by label events, most
// of them closed, and comments comments spread over the issues, some of
// them edited, some by a bot. The same seed gives the same world. Ids and
// numbers grow with time, as GitHub's do.
func (w *World) Generate(seed uint64, repos, issues, comments, days int) Generated {
	w.mu.Lock()
	defer w.mu.Unlock()
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	end := w.now()
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	span := end.Sub(start)
	g := Generated{Owner: "northwind", Bot: "renovate[bot]"}
	w.user(g.Owner, "Northwind Digital", "Organization")
	for i := range 6 {
		g.Agency = append(g.Agency, w.user(fmt.Sprintf("nw-dev-%d", i+1), fmt.Sprintf("Developer %d", i+1), "User").Login)
	}
	w.user(g.Bot, "", "Bot")
	var rs []*repo
	for r := range repos {
		rp := &repo{Repo: Repo{ID: w.id(), Owner: g.Owner, Name: fmt.Sprintf("client-%02d-site", r+1), Private: true, CreatedAt: start, UpdatedAt: start}}
		w.repos[rp.ID] = rp
		w.names[lower(rp.FullName())] = rp.ID
		for _, l := range GenerateStatusLabels {
			w.label(rp, l, "0e8a16")
		}
		w.label(rp, "bug", "d73a4a")
		rs = append(rs, rp)
		g.Repos = append(g.Repos, rp.Repo)
		var cl []string
		for c := range 2 {
			cl = append(cl, w.user(fmt.Sprintf("client%02d-contact%d", r+1, c+1), "", "User").Login)
		}
		g.Clients = append(g.Clients, cl)
	}
	at := func(from time.Time) time.Time {
		left := end.Sub(from)
		if left <= time.Second {
			return end
		}
		return from.Add(time.Duration(rnd.Int64N(int64(left)))).Truncate(time.Second)
	}
	// Everything that happens, then applied in time order so that ids
	// grow with time.
	type action struct {
		at   time.Time
		seq  int
		kind string // open, label, unlabel, close, comment, edit
		r    *repo
		is   *Issue
		c    *Comment
		arg  string
	}
	var acts []action
	add := func(a action) { a.seq = len(acts); acts = append(acts, a) }
	var all []*Issue
	for i := range issues {
		rp := rs[i%len(rs)]
		r := i % len(rs)
		opened := start.Add(time.Duration(rnd.Int64N(int64(span)))).Truncate(time.Second)
		author := g.Clients[r][rnd.IntN(2)]
		if rnd.IntN(3) == 0 {
			author = g.Agency[rnd.IntN(len(g.Agency))]
		}
		body := fmt.Sprintf("Issue %d of %s: details follow.", i+1, rp.Name)
		is := &Issue{ID: 0, RepoID: rp.ID, Title: fmt.Sprintf("Task %d", i+1), Body: &body, User: author, State: "open",
			PullRequest: rnd.IntN(10) == 0, CreatedAt: opened, UpdatedAt: opened}
		if is.PullRequest {
			is.User = g.Agency[rnd.IntN(len(g.Agency))]
			if rnd.IntN(2) == 0 {
				is.User = g.Bot
			}
		}
		all = append(all, is)
		add(action{at: opened, kind: "open", r: rp, is: is})
		t := opened
		if rnd.IntN(2) == 0 {
			add(action{at: t, kind: "label", r: rp, is: is, arg: "todo"})
			actor := g.Agency[rnd.IntN(len(g.Agency))]
			prev := "todo"
			for _, next := range GenerateStatusLabels[1:] {
				if rnd.IntN(3) == 0 {
					break
				}
				t = at(t)
				add(action{at: t, kind: "unlabel", r: rp, is: is, arg: prev + "\x00" + actor})
				add(action{at: t, kind: "label", r: rp, is: is, arg: next + "\x00" + actor})
				prev = next
			}
		}
		if rnd.IntN(5) < 3 {
			add(action{at: at(t), kind: "close", r: rp, is: is, arg: g.Agency[rnd.IntN(len(g.Agency))]})
		}
	}
	for range comments {
		is := all[rnd.IntN(len(all))]
		r := slices.IndexFunc(rs, func(x *repo) bool { return x.ID == is.RepoID })
		when := at(is.CreatedAt)
		author := g.Agency[rnd.IntN(len(g.Agency))]
		switch rnd.IntN(10) {
		case 0:
			author = g.Bot
		case 1, 2, 3, 4:
			author = g.Clients[r][rnd.IntN(2)]
		}
		c := &Comment{RepoID: is.RepoID, User: author, Body: "Comment on " + is.Title, CreatedAt: when, UpdatedAt: when}
		add(action{at: when, kind: "comment", r: rs[r], is: is, c: c})
		if rnd.IntN(10) == 0 {
			add(action{at: at(when), kind: "edit", r: rs[r], is: is, c: c})
		}
	}
	slices.SortFunc(acts, func(a, b action) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
	for _, a := range acts {
		is := a.is
		switch a.kind {
		case "open":
			is.ID = w.id()
			is.Number = len(a.r.issues) + 1
			a.r.issues = append(a.r.issues, is)
		case "label", "unlabel":
			name, actor := a.arg, is.User
			if i := slices.Index([]byte(a.arg), 0); i >= 0 {
				name, actor = a.arg[:i], a.arg[i+1:]
			}
			if a.kind == "label" {
				w.addLabel(a.r, is, actor, name, a.at)
			} else {
				w.removeLabel(a.r, is, actor, name, a.at)
			}
		case "close":
			w.close(a.r, is, a.arg, "completed", a.at)
		case "comment":
			a.c.ID, a.c.IssueNumber = w.id(), is.Number
			a.r.comments = append(a.r.comments, a.c)
			w.comments[a.c.ID] = a.c
			is.Comments++
			is.UpdatedAt = maxTime(is.UpdatedAt, a.at)
		case "edit":
			a.c.Body += " (edited)"
			a.c.UpdatedAt = a.at
			is.UpdatedAt = maxTime(is.UpdatedAt, a.at)
		}
	}
	return g
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
