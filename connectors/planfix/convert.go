package planfix

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/karkas/karkas/record"
)

// Channel is the channel of a task's comments: PlanFix's task feed is the
// conversation between the client, the manager and the specialists.
const Channel = "planfix_comment"

// ContainerKind is a PlanFix project, which clients[].planfix_projects
// assigns to a client.
const ContainerKind = "planfix_project"

// converter turns PlanFix's objects into records; the API pull and the
// export share it.
type converter struct {
	// site is the account's web root, for task links
	// ("https://northwind.planfix.com"); "" leaves tasks without one.
	site string
	// zone reads a TimePoint that has only date and time.
	zone *time.Location
	// statuses are the statuses of the task processes, by id, to name a
	// comment's status change.
	statuses map[string]Status
}

func (c *converter) person(u User, prefix string) record.Person {
	return record.Person{ExternalID: u.Prefixed(prefix), Username: u.Login, Name: u.FullName(), Email: strings.TrimSpace(u.Email),
		Deleted: u.IsDeleted}
}

func (c *converter) project(p Project) record.Container {
	closed := p.Status != nil && idString(p.Status.ID) == "1" // [unverified] 1 is "completed" in one client's tests
	return record.Container{ExternalID: idString(p.ID), Kind: ContainerKind, Name: p.Name, Closed: closed, Deleted: p.IsDeleted,
		URL: c.link("project", idString(p.ID))}
}

func (c *converter) link(what, id string) string {
	if c.site == "" {
		return ""
	}
	return c.site + "/" + what + "/" + id
}

// task converts a task and its comments (every comment PlanFix lists for
// it, status changes included).
func (c *converter) task(t Task, comments []Comment) (record.Task, []record.Message, []record.StatusChange, []record.Problem) {
	id := idString(t.ID)
	where := "task " + id
	var problems []record.Problem
	rt := record.Task{ExternalID: id, ShortRef: "#" + id, Title: t.Name, Description: htmlText(t.Description),
		URL: c.link("task", id), Deleted: t.IsDeleted}
	if t.Project != nil {
		rt.ContainerID = idString(t.Project.ID)
	}
	if t.Status != nil {
		rt.Status, rt.StatusID = t.Status.Name, idString(t.Status.ID)
		if st, ok := c.statuses[rt.StatusID]; ok {
			if rt.Status == "" {
				rt.Status = st.Name
			}
			// [unverified] a status that is not active is a final one
			// (completed, cancelled): the spec names the flag only.
			rt.Closed = st.IsActive != nil && !*st.IsActive
		}
	}
	if t.Assigner != nil {
		rt.CreatorID = t.Assigner.ID
	}
	if t.Assignees != nil {
		for _, u := range t.Assignees.Users {
			rt.Assignees = append(rt.Assignees, u.ID)
		}
	}
	if at, ok := t.DateTime.Parse(c.zone); ok {
		rt.CreatedAt = at
	} else {
		problems = append(problems, record.Problem{Where: where, Message: "no creation date (dateTime); the task is left out"})
		return record.Task{}, nil, nil, problems
	}
	if at, ok := t.DateOfLastUpdate.Parse(c.zone); ok {
		rt.UpdatedAt = at
	}
	if t.HasEndDate || t.EndDateTime != nil {
		if due, ok := t.EndDateTime.Parse(c.zone); ok {
			rt.DueAt = &due
		}
	}
	var msgs []record.Message
	var moves []record.StatusChange
	for _, cm := range comments {
		cid := idString(cm.ID)
		at, ok := cm.DateTime.Parse(c.zone)
		if cid == "" || !ok {
			problems = append(problems, record.Problem{Where: fmt.Sprintf("%s comment %s", where, cid), Message: "no id or date; the comment is left out"})
			continue
		}
		author := ""
		if cm.Owner != nil {
			author = cm.Owner.ID
		}
		if ch := cm.ChangeStatus; ch != nil && idString(ch.NewStatusID) != "" {
			moves = append(moves, record.StatusChange{ExternalID: "c" + cid, TaskID: id, From: c.statusName(ch.OldStatusID),
				To: c.statusName(ch.NewStatusID), At: at, ActorID: author, Deleted: cm.IsDeleted})
		}
		body := htmlText(cm.Description)
		if body == "" {
			continue // a status change or a reminder with no words
		}
		m := record.Message{ExternalID: cid, Channel: Channel, ThreadKey: id, TaskID: id, ContainerID: rt.ContainerID,
			AuthorID: author, Body: body, SentAt: at, Deleted: cm.IsDeleted}
		if cm.Owner != nil {
			m.AuthorName = cm.Owner.Name
		}
		if cm.Type == "Reminder" {
			m.Automated, m.AutomatedReason = true, "PlanFix reminder"
		}
		msgs = append(msgs, m)
	}
	return rt, msgs, moves, problems
}

func (c *converter) statusName(id json.Number) string {
	if st, ok := c.statuses[idString(id)]; ok && st.Name != "" {
		return st.Name
	}
	return idString(id)
}

// htmlText is the text of PlanFix's HTML (descriptions and comments):
// block elements and <br> end lines, entities decoded, runs of blank
// lines folded. x/net/html tokenizes; what to keep is karkas's rule.
func htmlText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return strings.TrimSpace(s)
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return foldBlank(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch tag := string(name); tag {
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote":
				b.WriteByte('\n')
			}
		}
	}
}

func foldBlank(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(strings.ReplaceAll(l, "\u00a0", " "), " \t")
		if strings.TrimSpace(l) == "" {
			if !blank && len(out) > 0 {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
