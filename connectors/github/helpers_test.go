package github_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// statusLabels is the workflow the tests' repositories use.
var statusLabels = []string{"todo", "in progress", "review"}

// memStore applies batches the way the engine does (upserts by external
// id), so that a pull's outcome can be compared with the fake's world.
type memStore struct {
	containers map[string]record.Container
	people     map[string]record.Person
	tasks      map[string]record.Task
	changes    map[string]record.StatusChange
	fields     map[string]record.FieldChange
	messages   map[string]record.Message
	cursor     string
	batches    int
	// records counts the records emitted.
	records int
	// failAt, when set, makes the failAt-th batch and every later one
	// fail, as a kill would: they are not stored.
	failAt int
	killed bool
}

var errKilled = errors.New("killed")

// clone copies the store's records and cursor.
func (m *memStore) clone() *memStore {
	c := newMemStore()
	maps.Copy(c.containers, m.containers)
	maps.Copy(c.people, m.people)
	maps.Copy(c.tasks, m.tasks)
	maps.Copy(c.changes, m.changes)
	maps.Copy(c.fields, m.fields)
	maps.Copy(c.messages, m.messages)
	c.cursor = m.cursor
	return c
}

func newMemStore() *memStore {
	return &memStore{containers: map[string]record.Container{}, people: map[string]record.Person{},
		tasks: map[string]record.Task{}, changes: map[string]record.StatusChange{}, fields: map[string]record.FieldChange{},
		messages: map[string]record.Message{}}
}

func (m *memStore) emit(_ context.Context, b *record.Batch) error {
	if b.EndOfSnapshot {
		return fmt.Errorf("github batches carry no snapshot")
	}
	for _, sc := range b.Complete {
		if sc.Kind != record.ScopeMessages || sc.TaskID == "" || sc.ContainerID != "" || !sc.From.IsZero() || !sc.To.IsZero() {
			return fmt.Errorf("github batches complete only one issue's messages, got %+v", sc)
		}
	}
	if m.killed || m.failAt > 0 && m.batches+1 >= m.failAt {
		m.killed = true
		return errKilled
	}
	m.batches++
	m.records += b.Len()
	for _, c := range b.Containers {
		m.containers[c.ExternalID] = c
	}
	for _, p := range b.People {
		m.people[p.ExternalID] = p
	}
	for _, t := range b.Tasks {
		m.tasks[t.ExternalID] = t
	}
	for _, sc := range b.StatusChanges {
		m.changes[sc.ExternalID] = sc
	}
	for _, fc := range b.FieldChanges {
		m.fields[fc.ExternalID] = fc
	}
	for _, sc := range b.Complete { // as the engine: what the batch lacks of the issue is gone
		held := map[string]bool{}
		for _, msg := range b.Messages {
			held[msg.ExternalID] = true
		}
		for id, msg := range m.messages {
			if msg.TaskID == sc.TaskID && !held[id] {
				delete(m.messages, id)
			}
		}
	}
	for _, msg := range b.Messages {
		m.messages[msg.ExternalID] = msg
	}
	if b.Cursor != "" {
		m.cursor = b.Cursor
	}
	return nil
}

// lines renders the records, sorted, one per line.
func (m *memStore) lines() []string {
	var out []string
	add := func(kind string, v any) {
		b, _ := json.Marshal(v)
		out = append(out, kind+" "+string(b))
	}
	for _, c := range m.containers {
		add("container", c)
	}
	for _, p := range m.people {
		add("person", p)
	}
	for _, t := range m.tasks {
		add("task", t)
	}
	for _, c := range m.changes {
		add("change", c)
	}
	for _, c := range m.fields {
		add("field", c)
	}
	for _, msg := range m.messages {
		add("message", msg)
	}
	slices.Sort(out)
	return out
}

// diff reports every record that differs between got and want.
func diff(t *testing.T, what string, got, want *memStore) {
	t.Helper()
	g, w := got.lines(), want.lines()
	gs, ws := map[string]bool{}, map[string]bool{}
	for _, l := range g {
		gs[l] = true
	}
	for _, l := range w {
		ws[l] = true
	}
	n := 0
	for _, l := range w {
		if !gs[l] && n < 15 {
			t.Errorf("%s: missing  %s", what, l)
			n++
		}
	}
	for _, l := range g {
		if !ws[l] && n < 30 {
			t.Errorf("%s: extra    %s", what, l)
			n++
		}
	}
}

// expected builds, straight from the fake's world, the records a pull of
// repos should have produced: tasks and opening messages from the issues,
// messages from the comments, and status moves by replaying the events
// forward (the source undoes them backward from the listing, so the two
// meet only if both are right).
func expected(w *githubfake.World, labels, bots []string, repos ...int64) *memStore {
	m := newMemStore()
	place := map[string]int{}
	for i, l := range labels {
		place[strings.ToLower(l)] = i
	}
	status := func(ls map[string]bool, closed bool) string {
		if closed {
			return "closed"
		}
		best := -1
		for l := range ls {
			if i, ok := place[l]; ok && i > best {
				best = i
			}
		}
		if best < 0 {
			return "open"
		}
		return labels[best]
	}
	isBot := func(login string) (bool, string) {
		if strings.HasSuffix(login, "[bot]") {
			return true, "bot"
		}
		if slices.ContainsFunc(bots, func(b string) bool { return strings.EqualFold(b, login) }) {
			return true, "bot (configured)"
		}
		return false, ""
	}
	person := func(login string) {
		if login != "" {
			m.people[login] = record.Person{ExternalID: login, Username: login}
		}
	}
	for _, repoID := range repos {
		r := w.Repo(repoID)
		rk := strconv.FormatInt(repoID, 10)
		m.containers[rk] = record.Container{ExternalID: rk, Kind: record.ContainerRepo, Name: r.FullName(),
			URL: "URL", Closed: r.Archived, History: &record.History{Fields: []string{"title", "closed", "assignees", "labels"}}}
		milestones := w.Milestones(repoID)
		for _, is := range w.Issues(repoID) {
			id := rk + "#" + strconv.Itoa(is.Number)
			body := ""
			if is.Body != nil {
				body = *is.Body
			}
			t := record.Task{ExternalID: id, ContainerID: rk,
				Title: is.Title, Description: body, CreatorID: is.User, CreatedAt: is.CreatedAt, UpdatedAt: is.UpdatedAt,
				URL: "URL", Closed: is.State == "closed", Labels: is.Labels, Assignees: is.Assignees}
			ls := map[string]bool{}
			for _, l := range is.Labels {
				ls[strings.ToLower(l)] = true
			}
			t.Status = status(ls, is.State == "closed")
			if is.Milestone > 0 {
				ms := milestones[is.Milestone-1]
				t.Fields = map[string]string{"milestone": ms.Title}
				t.DueAt = ms.DueOn
			}
			if is.PullRequest {
				if t.Fields == nil {
					t.Fields = map[string]string{}
				}
				t.Fields["type"] = "pull_request"
			}
			m.tasks[id] = t
			person(is.User)
			for _, a := range is.Assignees {
				person(a)
			}
			msg := record.Message{ExternalID: "issue:" + id, Channel: record.ChannelIssueComment, ThreadKey: id, TaskID: id,
				ContainerID: rk, AuthorID: is.User, AuthorName: is.User, Subject: is.Title, Body: body, SentAt: is.CreatedAt}
			msg.Automated, msg.AutomatedReason = isBot(is.User)
			m.messages[msg.ExternalID] = msg
			m.changes["opened:"+id] = record.StatusChange{ExternalID: "opened:" + id, TaskID: id, To: "open", At: is.CreatedAt, ActorID: is.User}
		}
		for _, c := range w.Comments(repoID) {
			id := rk + "#" + strconv.Itoa(c.IssueNumber)
			msg := record.Message{ExternalID: strconv.FormatInt(c.ID, 10), Channel: record.ChannelIssueComment, ThreadKey: id,
				TaskID: id, ContainerID: rk, AuthorID: c.User, AuthorName: c.User, Body: c.Body, SentAt: c.CreatedAt}
			if c.UpdatedAt.After(c.CreatedAt) {
				u := c.UpdatedAt
				msg.EditedAt = &u
			}
			msg.Automated, msg.AutomatedReason = isBot(c.User)
			if strings.Contains(c.Body, "\n[karkas:") {
				msg.Automated, msg.AutomatedReason = true, "karkas"
			}
			m.messages[msg.ExternalID] = msg
			person(c.User)
		}
		// Events of one second are one move, keyed by the newest of them
		// that can move the status; those of the second an issue was
		// opened in are part of its opening.
		byIssue := map[int][]githubfake.Event{}
		for _, e := range w.Events(repoID) {
			byIssue[e.IssueNumber] = append(byIssue[e.IssueNumber], e)
			// Every event that names a field's change is that field's
			// history.
			fc := record.FieldChange{TaskID: rk + "#" + strconv.Itoa(e.IssueNumber), At: e.CreatedAt, ActorID: e.Actor}
			switch e.Event {
			case "assigned":
				fc.Field, fc.New = "assignees", e.Assignee
			case "unassigned":
				fc.Field, fc.Old = "assignees", e.Assignee
			case "labeled":
				fc.Field, fc.New = "labels", e.Label
			case "unlabeled":
				fc.Field, fc.Old = "labels", e.Label
			case "renamed":
				fc.Field, fc.Old, fc.New = "title", e.RenameFrom, e.RenameTo
			case "closed":
				fc.Field, fc.Old, fc.New = "closed", "false", "true"
			case "reopened":
				fc.Field, fc.Old, fc.New = "closed", "true", "false"
			default:
				continue
			}
			fc.ExternalID = strconv.FormatInt(e.ID, 10) + "/" + fc.Field
			m.fields[fc.ExternalID] = fc
			person(e.Actor)
			person(e.Assignee)
		}
		for _, is := range w.Issues(repoID) {
			id := rk + "#" + strconv.Itoa(is.Number)
			ls, closed := map[string]bool{}, false
			evs := byIssue[is.Number]
			for i := 0; i < len(evs); {
				at := evs[i].CreatedAt
				before := status(ls, closed)
				var key *githubfake.Event
				for ; i < len(evs) && evs[i].CreatedAt.Equal(at); i++ {
					e := evs[i]
					switch e.Event {
					case "labeled":
						ls[strings.ToLower(e.Label)] = true
					case "unlabeled":
						delete(ls, strings.ToLower(e.Label))
					case "closed":
						closed = true
					case "reopened":
						closed = false
					default:
						continue
					}
					key = &evs[i]
				}
				after := status(ls, closed)
				switch {
				case key == nil:
				case at.Equal(is.CreatedAt):
					o := m.changes["opened:"+id]
					o.To = after
					m.changes["opened:"+id] = o
				case before != after:
					k := strconv.FormatInt(key.ID, 10)
					m.changes[k] = record.StatusChange{ExternalID: k, TaskID: id, From: before, To: after, At: at, ActorID: key.Actor}
					person(key.Actor)
				}
			}
		}
	}
	return m
}

// normalize blanks what the expectation cannot know (URLs) so that the
// rest compares exactly.
func normalize(m *memStore) *memStore {
	for k, c := range m.containers {
		if c.URL != "" {
			c.URL = "URL"
		}
		m.containers[k] = c
	}
	for k, t := range m.tasks {
		if t.URL != "" {
			t.URL = "URL"
		}
		m.tasks[k] = t
	}
	return m
}

// fixture is a fake GitHub on a virtual clock and a source over it.
type fixture struct {
	srv   *githubfake.Server
	w     *githubfake.World
	clock *vclock.Virtual
}

func newFixture(t *testing.T, limits githubfake.Limits) *fixture {
	t.Helper()
	clock := vclock.NewVirtual(epoch)
	w := githubfake.NewWorld(clock)
	srv := githubfake.New(t, githubfake.Options{World: w, Limits: limits})
	return &fixture{srv: srv, w: w, clock: clock}
}

// client builds a client on the fixture's clock with tokens.
func (f *fixture) client(t *testing.T, tokens ...string) *github.Client {
	t.Helper()
	c, err := github.NewClient(github.ClientOptions{BaseURL: f.srv.URL(), HTTPClient: f.srv.Client(), Tokens: tokens,
		Clock: f.clock, BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) source(t *testing.T, opts github.Options, c *github.Client) *github.Source {
	t.Helper()
	if opts.Concurrency == 0 {
		opts.Concurrency = 2
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 50
	}
	if opts.Deadline == 0 {
		opts.Deadline = github.DefaultDeadline
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = connectors.DefaultRequestTimeout
	}
	s, err := github.NewSource(opts, connectors.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// agency is a small world: an agency's repository for a client, with
// people on both sides and a bot.
type agency struct {
	repo           githubfake.Repo
	anna, john     string // agency PM, client contact
	bot, tok       string
	issue1, issue2 githubfake.Issue
	pr             githubfake.Issue
	question       githubfake.Comment
}

func newAgency(t *testing.T, f *fixture) *agency {
	t.Helper()
	w := f.w
	a := &agency{anna: "anna-northwind", john: "john-acme", bot: "dependabot[bot]", tok: "ghp_annatoken0001"}
	w.AddUser(a.anna, "Anna Petrova")
	w.AddUser(a.john, "John Carter")
	w.AddBot(a.bot)
	w.AddUser("ci-runner", "")
	a.repo = w.AddRepo("northwind", "acme-site", true)
	w.AddToken(a.tok, a.anna)
	due := epoch.Add(30 * 24 * time.Hour)
	w.AddMilestone(a.repo.ID, a.anna, "Launch", &due)
	f.clock.Advance(time.Hour)
	a.issue1 = w.OpenIssue(a.repo.ID, a.john, "Checkout page is slow", "It takes 10 s to load. Можно быстрее?", "todo", "bug")
	f.clock.Advance(10 * time.Minute)
	a.question = w.Comment(a.repo.ID, a.issue1.Number, a.john, "Any news?")
	f.clock.Advance(10 * time.Minute)
	w.Comment(a.repo.ID, a.issue1.Number, a.anna, "Looking into it today.")
	w.Assign(a.repo.ID, a.issue1.Number, a.anna, a.anna)
	w.SetMilestone(a.repo.ID, a.issue1.Number, a.anna, 1)
	f.clock.Advance(time.Minute)
	w.MoveLabel(a.repo.ID, a.issue1.Number, a.anna, "todo", "in progress")
	f.clock.Advance(time.Hour)
	a.issue2 = w.OpenIssue(a.repo.ID, a.anna, "Update dependencies", "")
	a.pr = w.OpenPullRequest(a.repo.ID, a.bot, "Bump lodash from 4.17.20 to 4.17.21", "Bumps lodash.")
	w.Comment(a.repo.ID, a.pr.Number, "ci-runner", "Build passed.")
	f.clock.Advance(time.Minute)
	return a
}
