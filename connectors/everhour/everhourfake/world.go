package everhourfake

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/karkas/karkas/internal/vclock"
)

// Clock tells the fake what time it is: the rate-limit window and the
// history of time records read it.
type Clock = vclock.Clock

// RealClock is the wall clock, the default.
type RealClock = vclock.Real

// User is a team member.
type User struct {
	ID     int64
	Name   string
	Email  string
	Role   string // admin, supervisor or member
	Status string // active, invited, pending or removed
}

// Client is a client of the team.
type Client struct {
	ID   int64
	Name string
}

// Project is a project: a native one ("ev:…") or one synced from an
// integration ("tr:…" for a Trello board).
type Project struct {
	ID     string
	Name   string
	Client int64 // 0: no client
}

// Platform is the project's integration code, the part of its id before
// the colon ("ev", "tr", "as", …).
func (p Project) Platform() string { return platform(p.ID) }

// Task is a task. A Trello-linked task's id is "tr:" and the card's id or
// short link. Labels are the task's tags, by name: the API's Task.labels
// is an array of strings; that they are the names the app shows (and the
// export's Tags column lists), not ids, is [unverified].
type Task struct {
	ID         string
	Name       string
	Projects   []string
	Labels     []string
	Status     string // open or closed
	Unbillable bool
}

func (t *Task) clone() Task {
	c := *t
	c.Projects, c.Labels = slices.Clone(t.Projects), slices.Clone(t.Labels)
	return c
}

// Entry is a time record.
type Entry struct {
	ID         int64
	User       int64
	TaskID     string // empty for time without a task
	Date       string // YYYY-MM-DD
	Time       int64  // seconds
	Comment    string
	IsLocked   bool
	IsInvoiced bool
}

type history struct {
	ID           int64
	CreatedBy    int64
	Time         int64
	PreviousTime int64
	Action       string
	CreatedAt    time.Time
}

type entry struct {
	Entry
	history []history
}

// World is the state the server serves. Its methods are safe for
// concurrent use.
type World struct {
	clock Clock

	mu       sync.RWMutex
	rnd      *rand.Rand
	users    []User
	clients  []Client
	projects []*Project
	tasks    map[string]*Task
	taskList []string
	// entries in the server's fixed order (see less); byID indexes them.
	entries []*entry
	byID    map[int64]*entry
	// taskTime[task][user] is the task's time per user, for Task.time.
	taskTime map[string]map[int64]int64

	nextUser, nextClient, nextEntry, nextHistory, nextNative int64
}

// NewWorld returns an empty world on clock (nil: the wall clock).
func NewWorld(clock Clock) *World {
	if clock == nil {
		clock = RealClock{}
	}
	return &World{
		clock:       clock,
		rnd:         rand.New(rand.NewPCG(1, 2)),
		tasks:       map[string]*Task{},
		byID:        map[int64]*entry{},
		taskTime:    map[string]map[int64]int64{},
		nextUser:    1304,
		nextClient:  4021,
		nextEntry:   2660155,
		nextHistory: 9100001,
		nextNative:  3000010034,
	}
}

// Clock returns the world's clock.
func (w *World) Clock() Clock { return w.clock }

// less is the server's fixed order of time records: newest date first,
// then newest record first. The API has no sort parameter; which order it
// keeps is [unverified], but any fixed order pages the same way, and this
// one puts a record added today in front of everything, the worst case
// for a client paging by offset.
func less(a, b *entry) int {
	if a.Date != b.Date {
		if a.Date > b.Date {
			return -1
		}
		return 1
	}
	switch {
	case a.ID > b.ID:
		return -1
	case a.ID < b.ID:
		return 1
	}
	return 0
}

func platform(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] == ':' {
			return id[:i]
		}
	}
	return ""
}

const hexDigits = "0123456789abcdef"
const linkChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (w *World) randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[w.rnd.IntN(len(alphabet))]
	}
	return string(b)
}

// TrelloCardID returns a fresh id shaped like a Trello card's (24 hex
// digits), for "tr:" task ids.
func (w *World) TrelloCardID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.randString(24, hexDigits)
}

// TrelloShortLink returns a fresh 8-character Trello short link.
func (w *World) TrelloShortLink() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.randString(8, linkChars)
}

// AddUser adds an active member.
func (w *World) AddUser(name, email string) User {
	w.mu.Lock()
	defer w.mu.Unlock()
	u := User{ID: w.nextUser, Name: name, Email: email, Role: "member", Status: "active"}
	if len(w.users) == 0 {
		u.Role = "admin"
	}
	w.nextUser += 7
	w.users = append(w.users, u)
	return u
}

// AddClient adds a client.
func (w *World) AddClient(name string) Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := Client{ID: w.nextClient, Name: name}
	w.nextClient += 3
	w.clients = append(w.clients, c)
	return c
}

// AddProject adds a project of platform "ev" (native) or "tr" (a Trello
// board, id "tr:" and a 24-hex board id [unverified: which board id
// Everhour keeps]) for client (0: none).
func (w *World) AddProject(platform, name string, client int64) Project {
	w.mu.Lock()
	defer w.mu.Unlock()
	var id string
	switch platform {
	case "tr":
		id = "tr:" + w.randString(24, hexDigits)
	case "ev", "":
		id = "ev:" + strconv.FormatInt(w.nextNative*1000+1, 10)
		w.nextNative++
	default:
		id = platform + ":" + strconv.FormatInt(w.nextNative, 10)
		w.nextNative++
	}
	p := &Project{ID: id, Name: name, Client: client}
	w.projects = append(w.projects, p)
	return *p
}

// AddTask adds a task to a project. id "" makes one for the project's
// platform: "ev:<number>" for native projects, "tr:<24-hex card id>" for
// Trello ones; a test linking a card passes "tr:" and the card's id or
// short link.
func (w *World) AddTask(projectID, id, name string) Task {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id == "" {
		switch platform(projectID) {
		case "tr":
			id = "tr:" + w.randString(24, hexDigits)
		default:
			id = "ev:" + strconv.FormatInt(w.nextNative, 10)
			w.nextNative++
		}
	}
	t := &Task{ID: id, Name: name, Projects: []string{projectID}, Status: "open", Labels: []string{}}
	if _, ok := w.tasks[id]; !ok {
		w.taskList = append(w.taskList, id)
	}
	w.tasks[id] = t
	return *t
}

// SetUnbillable marks a task unbillable (or billable again).
func (w *World) SetUnbillable(taskID string, unbillable bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.tasks[taskID]; ok {
		t.Unbillable = unbillable
	}
}

// SetLabels replaces a task's labels, as PUT /tasks/{id} with labels
// does; false if there is no such task. Records already listed keep the
// labels they were served with; the next listing shows the new ones.
func (w *World) SetLabels(taskID string, labels ...string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.tasks[taskID]
	if !ok {
		return false
	}
	// A fresh slice: answers being encoded outside the lock keep the old one.
	t.Labels = append([]string{}, labels...)
	return true
}

// RenameProject renames a project.
func (w *World) RenameProject(id, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.projects {
		if p.ID == id {
			p.Name = name
		}
	}
}

// AddEntry records seconds of user on task (may be "") dated date
// (YYYY-MM-DD), as POST /time does.
func (w *World) AddEntry(user int64, taskID, date string, seconds int64, comment string) Entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.addLocked(user, taskID, date, seconds, comment)
	w.insertLocked(e)
	return e.Entry
}

func (w *World) addLocked(user int64, taskID, date string, seconds int64, comment string) *entry {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		panic(fmt.Sprintf("everhourfake: bad date %q", date))
	}
	e := &entry{Entry: Entry{ID: w.nextEntry, User: user, TaskID: taskID, Date: date, Time: seconds, Comment: comment}}
	w.nextEntry++
	e.history = append(e.history, history{ID: w.nextHistory, CreatedBy: user, Time: seconds, Action: "ADD", CreatedAt: w.clock.Now()})
	w.nextHistory++
	w.byID[e.ID] = e
	w.addTaskTime(e, 1)
	return e
}

func (w *World) insertLocked(e *entry) {
	i, _ := slices.BinarySearchFunc(w.entries, e, less)
	w.entries = slices.Insert(w.entries, i, e)
}

func (w *World) addTaskTime(e *entry, sign int64) {
	if e.TaskID == "" {
		return
	}
	m := w.taskTime[e.TaskID]
	if m == nil {
		m = map[int64]int64{}
		w.taskTime[e.TaskID] = m
	}
	m[e.User] += sign * e.Time
	if m[e.User] == 0 {
		delete(m, e.User)
	}
}

// EditEntry changes a record's time and comment, as PUT /time/{id} does;
// false if there is no such record.
func (w *World) EditEntry(id, seconds int64, comment string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.byID[id]
	if !ok {
		return false
	}
	w.addTaskTime(e, -1)
	e.history = append(e.history, history{ID: w.nextHistory, CreatedBy: e.User, Time: seconds - e.Time, PreviousTime: e.Time, Action: "EDIT", CreatedAt: w.clock.Now()})
	w.nextHistory++
	e.Time, e.Comment = seconds, comment
	w.addTaskTime(e, 1)
	return true
}

// DeleteEntry removes a record, as DELETE /time/{id} does; false if there
// is no such record.
func (w *World) DeleteEntry(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.byID[id]
	if !ok {
		return false
	}
	delete(w.byID, id)
	w.addTaskTime(e, -1)
	i, found := slices.BinarySearchFunc(w.entries, e, less)
	if found {
		w.entries = slices.Delete(w.entries, i, i+1)
	}
	return true
}

// LockEntry locks a record (its timesheet week approved or closed).
func (w *World) LockEntry(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.byID[id]
	if ok {
		e.IsLocked = true
	}
	return ok
}

// InvoiceEntry marks a record invoiced.
func (w *World) InvoiceEntry(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.byID[id]
	if ok {
		e.IsInvoiced = true
	}
	return ok
}

// Users returns the team.
func (w *World) Users() []User {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.users)
}

// Clients returns the clients.
func (w *World) Clients() []Client {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.clients)
}

// Projects returns the projects.
func (w *World) Projects() []Project {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Project, len(w.projects))
	for i, p := range w.projects {
		out[i] = *p
	}
	return out
}

// Tasks returns the tasks, in the order added.
func (w *World) Tasks() []Task {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Task, 0, len(w.taskList))
	for _, id := range w.taskList {
		out = append(out, w.tasks[id].clone())
	}
	return out
}

// Task returns a task.
func (w *World) Task(id string) (Task, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	t, ok := w.tasks[id]
	if !ok {
		return Task{}, false
	}
	return t.clone(), true
}

// Entries returns every record in the server's order.
func (w *World) Entries() []Entry {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Entry, len(w.entries))
	for i, e := range w.entries {
		out[i] = e.Entry
	}
	return out
}

// Entry returns a record.
func (w *World) Entry(id int64) (Entry, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	e, ok := w.byID[id]
	if !ok {
		return Entry{}, false
	}
	return e.Entry, true
}

// ClientOf returns the client of a task (through its first project), or
// a zero Client.
func (w *World) ClientOf(taskID string) Client {
	w.mu.RLock()
	defer w.mu.RUnlock()
	t, ok := w.tasks[taskID]
	if !ok || len(t.Projects) == 0 {
		return Client{}
	}
	for _, p := range w.projects {
		if p.ID == t.Projects[0] {
			for _, c := range w.clients {
				if c.ID == p.Client {
					return c
				}
			}
		}
	}
	return Client{}
}
