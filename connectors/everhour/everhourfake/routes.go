package everhourfake

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JSON shapes, field for field after the API description's TimeRecord
// (extended with history on the team route), Task, Project, Client and
// User schemas. Users carry email, which one description lists and the
// other omits [unverified].

type taskTimeJSON struct {
	Total int64            `json:"total"`
	Users map[string]int64 `json:"users"`
}

type taskJSON struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Projects    []string     `json:"projects"`
	Labels      []string     `json:"labels"`
	Position    int          `json:"position"`
	Description string       `json:"description"`
	Status      string       `json:"status"`
	Time        taskTimeJSON `json:"time"`
	Unbillable  bool         `json:"unbillable"`
}

type historyJSON struct {
	ID           int64  `json:"id"`
	CreatedBy    int64  `json:"createdBy"`
	Time         int64  `json:"time"`
	PreviousTime int64  `json:"previousTime"`
	Action       string `json:"action"`
	CreatedAt    string `json:"createdAt"`
}

type recordJSON struct {
	ID         int64         `json:"id"`
	Time       int64         `json:"time"`
	User       int64         `json:"user"`
	Date       string        `json:"date"`
	Task       *taskJSON     `json:"task,omitempty"`
	IsLocked   bool          `json:"isLocked"`
	IsInvoiced bool          `json:"isInvoiced"`
	Comment    string        `json:"comment"`
	History    []historyJSON `json:"history"`
}

type userJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Headline  string `json:"headline"`
	AvatarURL string `json:"avatarUrl"`
	Role      string `json:"role"`
	Status    string `json:"status"`
}

type billingJSON struct {
	Type string `json:"type"`
}

type projectJSON struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	WorkspaceID   string      `json:"workspaceId"`
	WorkspaceName string      `json:"workspaceName"`
	Client        int64       `json:"client,omitempty"`
	Type          string      `json:"type"`
	Favorite      bool        `json:"favorite"`
	Users         []int64     `json:"users"`
	Billing       billingJSON `json:"billing"`
}

type clientJSON struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	Projects        []string `json:"projects"`
	BusinessDetails string   `json:"businessDetails"`
}

// timestamp is how the API writes instants ("2018-03-05 16:00:00", as in
// Task.dueAt) [unverified for history.createdAt].
const timestamp = "2006-01-02 15:04:05"

func (w *World) taskJSON(id string) *taskJSON {
	t, ok := w.tasks[id]
	if !ok {
		return nil
	}
	tj := &taskJSON{ID: t.ID, Name: t.Name, Projects: t.Projects, Labels: t.Labels, Status: t.Status, Unbillable: t.Unbillable,
		Time: taskTimeJSON{Users: map[string]int64{}}}
	for u, sec := range w.taskTime[id] {
		tj.Time.Users[strconv.FormatInt(u, 10)] = sec
		tj.Time.Total += sec
	}
	return tj
}

func (e *entry) json(task *taskJSON) recordJSON {
	r := recordJSON{ID: e.ID, Time: e.Time, User: e.User, Date: e.Date, Task: task, IsLocked: e.IsLocked,
		IsInvoiced: e.IsInvoiced, Comment: e.Comment, History: make([]historyJSON, len(e.history))}
	for i, h := range e.history {
		r.History[i] = historyJSON{ID: h.ID, CreatedBy: h.CreatedBy, Time: h.Time, PreviousTime: h.PreviousTime,
			Action: h.Action, CreatedAt: h.CreatedAt.UTC().Format(timestamp)}
	}
	return r
}

func badRequest(msg string) reply { return errReply(http.StatusBadRequest, msg) }

// teamTime is GET /team/time?from&to&limit&page: the team's records dated
// from..to (both inclusive) in the fixed order, page by page. Without
// limit the whole range comes back [unverified: the API's default limit];
// page counts from 1.
func teamTime(s *Server, r *http.Request, _ []string) reply {
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	for _, d := range []string{from, to} {
		if d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return badRequest("invalid date " + strconv.Quote(d))
		}
	}
	limit, page := 0, 1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("invalid limit")
		}
		if n > MaxTimeLimit {
			return badRequest("limit must not exceed " + strconv.Itoa(MaxTimeLimit))
		}
		limit = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("invalid page")
		}
		page = n
	}
	w := s.world
	w.mu.RLock()
	var sel []*entry
	for _, e := range w.entries {
		if (from == "" || e.Date >= from) && (to == "" || e.Date <= to) {
			sel = append(sel, e)
		}
	}
	if limit > 0 {
		start := min((page-1)*limit, len(sel))
		sel = sel[start:min(start+limit, len(sel))]
	} else if page > 1 {
		sel = nil
	}
	tasks := map[string]*taskJSON{}
	out := make([]recordJSON, len(sel))
	for i, e := range sel {
		var tj *taskJSON
		if e.TaskID != "" {
			var ok bool
			if tj, ok = tasks[e.TaskID]; !ok {
				tj = w.taskJSON(e.TaskID)
				tasks[e.TaskID] = tj
			}
		}
		out[i] = e.json(tj)
	}
	w.mu.RUnlock()
	rep := jsonReply(out)
	rep.page = &PageEvent{From: from, To: to, Page: page, Limit: limit, Returned: len(out)}
	return rep
}

func (u User) json() userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, Status: u.Status,
		AvatarURL: "https://www.gravatar.com/avatar/" + strconv.FormatInt(u.ID, 16)}
}

func teamUsers(s *Server, _ *http.Request, _ []string) reply {
	users := s.world.Users()
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = u.json()
	}
	return jsonReply(out)
}

// usersMe is the key's owner: the first user (the team's admin).
func usersMe(s *Server, _ *http.Request, _ []string) reply {
	users := s.world.Users()
	if len(users) == 0 {
		return errReply(http.StatusNotFound, msgNotFound)
	}
	return jsonReply(users[0].json())
}

func (w *World) projectJSON(p *Project) projectJSON {
	typ := "board"
	pj := projectJSON{ID: p.ID, Name: p.Name, WorkspaceID: p.Platform() + ":ws1", WorkspaceName: "Northwind",
		Client: p.Client, Type: typ, Users: []int64{}, Billing: billingJSON{Type: "hourly"}}
	for _, u := range w.users {
		pj.Users = append(pj.Users, u.ID)
	}
	return pj
}

// projects is GET /projects?query&platform&limit. Without limit every
// project comes back [unverified: the API's default limit].
func projects(s *Server, r *http.Request, _ []string) reply {
	q := r.URL.Query()
	query, plat := strings.ToLower(q.Get("query")), q.Get("platform")
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("invalid limit")
		}
		limit = n
	}
	w := s.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := []projectJSON{}
	for _, p := range w.projects {
		if plat != "" && p.Platform() != plat || query != "" && !strings.Contains(strings.ToLower(p.Name), query) {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, w.projectJSON(p))
	}
	return jsonReply(out)
}

func project(s *Server, _ *http.Request, p []string) reply {
	w := s.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, pr := range w.projects {
		if pr.ID == p[0] {
			return jsonReply(w.projectJSON(pr))
		}
	}
	return errReply(http.StatusNotFound, msgNotFound)
}

func clients(s *Server, _ *http.Request, _ []string) reply {
	w := s.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]clientJSON, 0, len(w.clients))
	for _, c := range w.clients {
		cj := clientJSON{ID: c.ID, Name: c.Name, Projects: []string{}}
		for _, p := range w.projects {
			if p.Client == c.ID {
				cj.Projects = append(cj.Projects, p.ID)
			}
		}
		out = append(out, cj)
	}
	return jsonReply(out)
}

func task(s *Server, _ *http.Request, p []string) reply {
	w := s.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	tj := w.taskJSON(p[0])
	if tj == nil {
		return errReply(http.StatusNotFound, msgNotFound)
	}
	return jsonReply(tj)
}
