package githubfake

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Clock tells the fake what time it is: timestamps, ids' order and the
// rate-limit windows read it.
type Clock interface {
	Now() time.Time
}

// RealClock is the wall clock, the default.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// User is a GitHub account: a person ("User"), an app's bot ("Bot", its
// login ending in "[bot]") or an organization.
type User struct {
	ID    int64
	Login string
	// Type is "User", "Bot" or "Organization".
	Type string
	// Name is the profile's name; listings of issues and comments do not
	// carry it, only GET /user does.
	Name string
}

// Repo is a repository.
type Repo struct {
	ID          int64
	Owner       string
	Name        string
	Description string
	Private     bool
	Archived    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// OldNames are the full names it had before renames; requests naming
	// them are redirected.
	OldNames []string
}

// FullName is "owner/name".
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

// Label is a repository's label.
type Label struct {
	ID          int64
	Name        string
	Color       string
	Description string
}

// Milestone is a repository's milestone.
type Milestone struct {
	ID        int64
	Number    int
	Title     string
	State     string // open or closed
	DueOn     *time.Time
	Creator   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Issue is an issue or a pull request (GitHub lists both as issues).
type Issue struct {
	ID     int64
	RepoID int64
	Number int
	Title  string
	// Body is nil for an issue opened without one (GitHub sends null).
	Body        *string
	User        string
	Labels      []string // names, in the order added
	Assignees   []string // logins
	Milestone   int      // number; 0 for none
	State       string   // open or closed
	StateReason string   // completed, not_planned, reopened or ""
	PullRequest bool
	MergedAt    *time.Time
	Comments    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    *time.Time
	ClosedBy    string
}

// Comment is an issue comment (a pull request's conversation comments are
// issue comments too).
type Comment struct {
	ID          int64
	RepoID      int64
	IssueNumber int
	User        string
	Body        string
	CreatedAt   time.Time
	// UpdatedAt moves when the comment is edited.
	UpdatedAt time.Time
}

// Event is an issue event: labeled, unlabeled, closed, reopened,
// assigned, milestoned, renamed, merged...
type Event struct {
	ID          int64
	RepoID      int64
	IssueNumber int
	Actor       string
	Event       string
	// Label is the label's name and color at the time, for labeled and
	// unlabeled.
	Label, LabelColor string
	// Assignee is the login assigned or unassigned.
	Assignee string
	// StateReason is a closed event's reason.
	StateReason string
	// Milestone is the title of a milestoned or demilestoned event.
	Milestone string
	// RenameFrom and RenameTo are a renamed event's titles.
	RenameFrom, RenameTo string
	CreatedAt            time.Time
}

type repo struct {
	Repo
	deleted    bool
	labels     []*Label
	milestones []*Milestone
	issues     []*Issue // by number-1
	comments   []*Comment
	events     []*Event
	hooks      []*hook
	admins     map[string]bool // lower-case logins besides the owner
}

type token struct {
	user    string
	revoked bool
	// repos, when not nil, are the private repositories the token may see.
	repos map[int64]bool
	// denied are repositories the token sees but may not read issues of.
	denied map[int64]bool
}

// World is the state the server serves. Its methods are safe for
// concurrent use; they panic on a reference to something that does not
// exist, which in a test is a bug in the test.
type World struct {
	clock Clock

	mu       sync.RWMutex
	nextID   int64
	users    map[string]*User // by lower-case login
	repos    map[int64]*repo
	names    map[string]int64 // lower-case full name -> id
	oldNames map[string]int64
	tokens   map[string]*token
	comments map[int64]*Comment
}

// NewWorld returns an empty world on clock (nil: the wall clock).
func NewWorld(clock Clock) *World {
	if clock == nil {
		clock = RealClock{}
	}
	return &World{
		clock:    clock,
		nextID:   1000,
		users:    map[string]*User{},
		repos:    map[int64]*repo{},
		names:    map[string]int64{},
		oldNames: map[string]int64{},
		tokens:   map[string]*token{},
		comments: map[int64]*Comment{},
	}
}

// Clock is the world's clock.
func (w *World) Clock() Clock { return w.clock }

// now is the clock's time in whole seconds, as GitHub writes timestamps.
func (w *World) now() time.Time { return w.clock.Now().UTC().Truncate(time.Second) }

func (w *World) id() int64 {
	w.nextID++
	return w.nextID
}

// ---- users and tokens

// AddUser adds a person's account (or returns it when the login exists).
func (w *World) AddUser(login, name string) User {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.user(login, name, "User")
}

// AddBot adds an app's bot account; login must end in "[bot]", as every
// GitHub App's does.
func (w *World) AddBot(login string) User {
	if !strings.HasSuffix(login, "[bot]") {
		panic("githubfake: a bot's login ends in [bot]: " + login)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.user(login, "", "Bot")
}

func (w *World) user(login, name, typ string) *User {
	if u, ok := w.users[strings.ToLower(login)]; ok {
		return u
	}
	u := &User{ID: w.id(), Login: login, Type: typ, Name: name}
	w.users[strings.ToLower(login)] = u
	return u
}

func (w *World) mustUser(login string) *User {
	u, ok := w.users[strings.ToLower(login)]
	if !ok {
		panic("githubfake: no user " + login)
	}
	return u
}

// User returns the account called login.
func (w *World) User(login string) (User, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	u, ok := w.users[strings.ToLower(login)]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// AddToken lets tok act as login (which must exist). With repos, the
// token sees only those of the private repositories (a fine-grained
// token); without, all of them.
func (w *World) AddToken(tok, login string, repos ...int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustUser(login)
	t := &token{user: login, denied: map[int64]bool{}}
	if len(repos) > 0 {
		t.repos = map[int64]bool{}
		for _, id := range repos {
			t.repos[id] = true
		}
	}
	w.tokens[tok] = t
}

// RevokeToken makes tok answer 401 Bad credentials from now on.
func (w *World) RevokeToken(tok string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.tokens[tok]; ok {
		t.revoked = true
	}
}

// DenyIssues lets tok see the repository but not read or write its
// issues: 403 "Resource not accessible by personal access token", as a
// fine-grained token without the Issues permission gets.
func (w *World) DenyIssues(tok string, repoID int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokens[tok].denied[repoID] = true
}

// ---- repositories

// AddRepo adds a repository owned by owner (an account made if missing).
func (w *World) AddRepo(owner, name string, private bool) Repo {
	w.mu.Lock()
	defer w.mu.Unlock()
	full := strings.ToLower(owner + "/" + name)
	if _, ok := w.names[full]; ok {
		panic("githubfake: repository exists: " + full)
	}
	o := w.user(owner, "", "User")
	now := w.now()
	r := &repo{Repo: Repo{ID: w.id(), Owner: o.Login, Name: name, Private: private, CreatedAt: now, UpdatedAt: now}}
	w.repos[r.ID] = r
	w.names[full] = r.ID
	return r.Repo
}

func (w *World) mustRepo(id int64) *repo {
	r, ok := w.repos[id]
	if !ok || r.deleted {
		panic(fmt.Sprintf("githubfake: no repository %d", id))
	}
	return r
}

// RenameRepo renames a repository (same owner): its id stays, and the old
// name redirects, as GitHub keeps it.
func (w *World) RenameRepo(id int64, newName string) Repo {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.mustRepo(id)
	old := r.FullName()
	delete(w.names, strings.ToLower(old))
	r.OldNames = append(r.OldNames, old)
	w.oldNames[strings.ToLower(old)] = id
	r.Name = newName
	w.names[strings.ToLower(r.FullName())] = id
	delete(w.oldNames, strings.ToLower(r.FullName()))
	r.UpdatedAt = w.now()
	return r.Repo
}

// ArchiveRepo archives a repository: still readable, no longer writable.
func (w *World) ArchiveRepo(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.mustRepo(id)
	r.Archived = true
	r.UpdatedAt = w.now()
}

// DeleteRepo deletes a repository: it answers 404 from now on.
func (w *World) DeleteRepo(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.mustRepo(id)
	r.deleted = true
	delete(w.names, strings.ToLower(r.FullName()))
}

// Repo returns a repository.
func (w *World) Repo(id int64) Repo {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := w.mustRepo(id)
	out := r.Repo
	out.OldNames = slices.Clone(r.OldNames)
	return out
}

// ---- labels and milestones

// AddLabel adds a label to a repository (or returns the one of that name).
func (w *World) AddLabel(repoID int64, name, color string) Label {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.label(w.mustRepo(repoID), name, color)
}

func (w *World) label(r *repo, name, color string) *Label {
	for _, l := range r.labels {
		if strings.EqualFold(l.Name, name) {
			return l
		}
	}
	if color == "" {
		color = "ededed" // what GitHub gives a label created without one
	}
	l := &Label{ID: w.id(), Name: name, Color: color}
	r.labels = append(r.labels, l)
	w.labelEvent(r, l, "created")
	return l
}

// AddMilestone adds an open milestone, due when due is not nil.
func (w *World) AddMilestone(repoID int64, creator, title string, due *time.Time) Milestone {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.mustRepo(repoID)
	w.mustUser(creator)
	now := w.now()
	m := &Milestone{ID: w.id(), Number: len(r.milestones) + 1, Title: title, State: "open", Creator: creator, CreatedAt: now, UpdatedAt: now}
	if due != nil {
		d := due.UTC()
		m.DueOn = &d
	}
	r.milestones = append(r.milestones, m)
	return *m
}

// ---- issues

func (w *World) mustIssue(repoID int64, number int) (*repo, *Issue) {
	r := w.mustRepo(repoID)
	if number < 1 || number > len(r.issues) {
		panic(fmt.Sprintf("githubfake: no issue #%d in repository %d", number, repoID))
	}
	return r, r.issues[number-1]
}

func (w *World) event(r *repo, is *Issue, actor, kind string, at time.Time) *Event {
	e := &Event{ID: w.id(), RepoID: r.ID, IssueNumber: is.Number, Actor: actor, Event: kind, CreatedAt: at}
	r.events = append(r.events, e)
	return e
}

// OpenIssue opens an issue as author with labels (made when missing, each
// with its labeled event, as GitHub writes them).
func (w *World) OpenIssue(repoID int64, author, title, body string, labels ...string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.open(repoID, author, title, &body, false, labels)
}

// OpenPullRequest opens a pull request as author; GitHub lists it among
// the issues, with a pull_request object.
func (w *World) OpenPullRequest(repoID int64, author, title, body string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.open(repoID, author, title, &body, true, nil)
}

func (w *World) open(repoID int64, author, title string, body *string, pr bool, labels []string) *Issue {
	r := w.mustRepo(repoID)
	w.mustUser(author)
	now := w.now()
	if body != nil && *body == "" {
		body = nil // GitHub stores an empty body as null
	}
	is := &Issue{ID: w.id(), RepoID: repoID, Number: len(r.issues) + 1, Title: title, Body: body, User: author,
		State: "open", PullRequest: pr, CreatedAt: now, UpdatedAt: now}
	r.issues = append(r.issues, is)
	for _, name := range labels {
		w.addLabel(r, is, author, name, now)
	}
	w.issueEvent(r, is, "opened", author, nil)
	return is
}

func (w *World) addLabel(r *repo, is *Issue, actor, name string, now time.Time) bool {
	l := w.label(r, name, "")
	for _, have := range is.Labels {
		if strings.EqualFold(have, l.Name) {
			return false
		}
	}
	is.Labels = append(is.Labels, l.Name)
	e := w.event(r, is, actor, "labeled", now)
	e.Label, e.LabelColor = l.Name, l.Color
	is.UpdatedAt = now
	w.issueEvent(r, is, "labeled", actor, func(u urls) map[string]any { return map[string]any{"label": u.label(r, l)} })
	return true
}

// EditIssue changes an issue's title and body (a renamed event when the
// title changes).
func (w *World) EditIssue(repoID int64, number int, actor, title, body string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	w.mustUser(actor)
	now := w.now()
	oldTitle, oldBody := is.Title, is.Body
	if title != is.Title {
		e := w.event(r, is, actor, "renamed", now)
		e.RenameFrom, e.RenameTo = is.Title, title
		is.Title = title
	}
	if body == "" {
		is.Body = nil
	} else {
		is.Body = &body
	}
	is.UpdatedAt = now
	w.edited(r, is, actor, oldTitle, oldBody)
	return *is
}

// AddLabels puts labels on an issue (made when missing); each one the
// issue did not have writes a labeled event.
func (w *World) AddLabels(repoID int64, number int, actor string, labels ...string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	w.mustUser(actor)
	now := w.now()
	for _, name := range labels {
		w.addLabel(r, is, actor, name, now)
	}
	return *is
}

// RemoveLabel takes a label off an issue (an unlabeled event).
func (w *World) RemoveLabel(repoID int64, number int, actor, label string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	w.mustUser(actor)
	w.removeLabel(r, is, actor, label, w.now())
	return *is
}

func (w *World) removeLabel(r *repo, is *Issue, actor, name string, now time.Time) bool {
	i := slices.IndexFunc(is.Labels, func(s string) bool { return strings.EqualFold(s, name) })
	if i < 0 {
		return false
	}
	l := w.label(r, is.Labels[i], "")
	is.Labels = slices.Delete(is.Labels, i, i+1)
	e := w.event(r, is, actor, "unlabeled", now)
	e.Label, e.LabelColor = l.Name, l.Color
	is.UpdatedAt = now
	w.issueEvent(r, is, "unlabeled", actor, func(u urls) map[string]any { return map[string]any{"label": u.label(r, l)} })
	return true
}

// MoveLabel is the usual status move on a board of labels: from comes
// off, to goes on, in one second.
func (w *World) MoveLabel(repoID int64, number int, actor, from, to string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	w.mustUser(actor)
	now := w.now()
	w.removeLabel(r, is, actor, from, now)
	w.addLabel(r, is, actor, to, now)
	return *is
}

// Assign adds assignees (assigned events).
func (w *World) Assign(repoID int64, number int, actor string, logins ...string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	now := w.now()
	for _, l := range logins {
		u := w.mustUser(l)
		if slices.Contains(is.Assignees, u.Login) {
			continue
		}
		is.Assignees = append(is.Assignees, u.Login)
		e := w.event(r, is, actor, "assigned", now)
		e.Assignee = u.Login
		is.UpdatedAt = now
		w.issueEvent(r, is, "assigned", actor, func(us urls) map[string]any { return map[string]any{"assignee": us.user(u)} })
	}
	return *is
}

// SetMilestone puts an issue in milestone number (0 takes it out).
func (w *World) SetMilestone(repoID int64, number int, actor string, milestone int) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	now := w.now()
	if is.Milestone != 0 {
		e := w.event(r, is, actor, "demilestoned", now)
		m := r.milestones[is.Milestone-1]
		e.Milestone = m.Title
		is.Milestone, is.UpdatedAt = 0, now
		w.issueEvent(r, is, "demilestoned", actor, func(u urls) map[string]any { return map[string]any{"milestone": w.milestoneJSON(u, r, m)} })
	}
	is.Milestone = milestone
	if milestone != 0 {
		e := w.event(r, is, actor, "milestoned", now)
		m := r.milestones[milestone-1]
		e.Milestone = m.Title
		is.UpdatedAt = now
		w.issueEvent(r, is, "milestoned", actor, func(u urls) map[string]any { return map[string]any{"milestone": w.milestoneJSON(u, r, m)} })
	}
	is.UpdatedAt = now
	return *is
}

// Close closes an issue; reason is completed (when empty) or not_planned.
func (w *World) Close(repoID int64, number int, actor, reason string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	w.mustUser(actor)
	w.close(r, is, actor, reason, w.now())
	return *is
}

func (w *World) close(r *repo, is *Issue, actor, reason string, now time.Time) {
	if is.State == "closed" {
		return
	}
	if reason == "" {
		reason = "completed"
	}
	is.State, is.StateReason, is.ClosedAt, is.ClosedBy, is.UpdatedAt = "closed", reason, &now, actor, now
	e := w.event(r, is, actor, "closed", now)
	e.StateReason = reason
	w.issueEvent(r, is, "closed", actor, nil)
}

// Reopen reopens a closed issue.
func (w *World) Reopen(repoID int64, number int, actor string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	w.mustUser(actor)
	w.reopen(r, is, actor, w.now())
	return *is
}

func (w *World) reopen(r *repo, is *Issue, actor string, now time.Time) {
	if is.State == "open" {
		return
	}
	is.State, is.StateReason, is.ClosedAt, is.ClosedBy, is.UpdatedAt = "open", "reopened", nil, "", now
	w.event(r, is, actor, "reopened", now)
	w.issueEvent(r, is, "reopened", actor, nil)
}

// Merge merges a pull request: merged and closed events.
func (w *World) Merge(repoID int64, number int, actor string) Issue {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, is := w.mustIssue(repoID, number)
	if !is.PullRequest {
		panic(fmt.Sprintf("githubfake: #%d is not a pull request", number))
	}
	now := w.now()
	is.MergedAt = &now
	w.event(r, is, actor, "merged", now)
	w.close(r, is, actor, "completed", now)
	return *is
}

// Issue returns an issue.
func (w *World) Issue(repoID int64, number int) Issue {
	w.mu.RLock()
	defer w.mu.RUnlock()
	_, is := w.mustIssue(repoID, number)
	return copyIssue(is)
}

func copyIssue(is *Issue) Issue {
	out := *is
	out.Labels = slices.Clone(is.Labels)
	out.Assignees = slices.Clone(is.Assignees)
	return out
}

// Issues returns a repository's issues and pull requests by number.
func (w *World) Issues(repoID int64) []Issue {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := w.mustRepo(repoID)
	out := make([]Issue, len(r.issues))
	for i, is := range r.issues {
		out[i] = copyIssue(is)
	}
	return out
}

// Milestones returns a repository's milestones by number.
func (w *World) Milestones(repoID int64) []Milestone {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := w.mustRepo(repoID)
	out := make([]Milestone, len(r.milestones))
	for i, m := range r.milestones {
		out[i] = *m
	}
	return out
}

// edited delivers an issues "edited" event when the title or the body
// changed, with what they were.
func (w *World) edited(r *repo, is *Issue, actor, oldTitle string, oldBody *string) {
	changes := map[string]any{}
	if is.Title != oldTitle {
		changes["title"] = map[string]string{"from": oldTitle}
	}
	if deref(is.Body) != deref(oldBody) {
		changes["body"] = map[string]string{"from": deref(oldBody)}
	}
	if len(changes) > 0 {
		w.issueEvent(r, is, "edited", actor, func(urls) map[string]any { return map[string]any{"changes": changes} })
	}
}

// ---- comments

// Comment comments on an issue as author.
func (w *World) Comment(repoID int64, number int, author, body string) Comment {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.comment(repoID, number, author, body)
}

func (w *World) comment(repoID int64, number int, author, body string) *Comment {
	r, is := w.mustIssue(repoID, number)
	w.mustUser(author)
	now := w.now()
	c := &Comment{ID: w.id(), RepoID: repoID, IssueNumber: number, User: author, Body: body, CreatedAt: now, UpdatedAt: now}
	r.comments = append(r.comments, c)
	w.comments[c.ID] = c
	is.Comments++
	is.UpdatedAt = now
	w.commentEvent(r, c, "created", author, nil)
	return c
}

// EditComment changes a comment's body: its updated_at moves, and so does
// its issue's [unverified: that an edited comment moves the issue's
// updated_at].
func (w *World) EditComment(id int64, body string) Comment {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.comments[id]
	if !ok {
		panic(fmt.Sprintf("githubfake: no comment %d", id))
	}
	now := w.now()
	old := c.Body
	c.Body, c.UpdatedAt = body, now
	r, is := w.mustIssue(c.RepoID, c.IssueNumber)
	is.UpdatedAt = now
	w.commentEvent(r, c, "edited", c.User, map[string]any{"body": map[string]string{"from": old}})
	return *c
}

// DeleteComment deletes a comment; GitHub's listings simply stop showing
// it.
func (w *World) DeleteComment(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.comments[id]
	if !ok {
		panic(fmt.Sprintf("githubfake: no comment %d", id))
	}
	delete(w.comments, id)
	r, is := w.mustIssue(c.RepoID, c.IssueNumber)
	r.comments = slices.DeleteFunc(r.comments, func(x *Comment) bool { return x.ID == id })
	is.Comments--
	is.UpdatedAt = w.now()
	w.commentEvent(r, c, "deleted", c.User, nil)
}

// Comments returns a repository's comments, oldest first.
func (w *World) Comments(repoID int64) []Comment {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := w.mustRepo(repoID)
	out := make([]Comment, len(r.comments))
	for i, c := range r.comments {
		out[i] = *c
	}
	return out
}

// Events returns a repository's issue events, oldest first.
func (w *World) Events(repoID int64) []Event {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := w.mustRepo(repoID)
	out := make([]Event, len(r.events))
	for i, e := range r.events {
		out[i] = *e
	}
	return out
}
