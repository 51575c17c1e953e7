package githubfake

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/fakeapi"
)

// reply is what a route answers.
type reply struct {
	status   int
	body     []byte
	header   http.Header
	location string
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return errReply(http.StatusInternalServerError, "fake could not encode its answer: "+err.Error(), "")
	}
	return reply{status: status, body: b}
}

func errReply(status int, msg, doc string) reply {
	return jsonReply(status, errorJSON{Message: msg, DocumentationURL: cmp.Or(doc, docRoot), Status: strconv.Itoa(status)})
}

// call is one request as a route sees it.
type call struct {
	s     *Server
	r     *http.Request
	login string
	tok   *token
	now   time.Time
	u     urls
}

// handler answers a route; p are the values of its {...} segments.
type handler func(c *call, p []string) reply

// routes are the routes under /api/v3/. Repository routes are written once
// under /repos/{owner}/{repo}; match also serves them under
// /repositories/{id}.
var routes fakeapi.Routes[handler]

func init() {
	routes.Add(http.MethodGet, "/user", getUser)
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}", repoRoute(getRepo, false))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/issues", repoRoute(listIssues, true))
	routes.Add(http.MethodPost, "/repos/{owner}/{repo}/issues", repoRoute(createIssue, true))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/issues/comments", repoRoute(listRepoComments, true))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/issues/events", repoRoute(listRepoEvents, true))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/issues/{number}", repoRoute(getIssue, true))
	routes.Add(http.MethodPatch, "/repos/{owner}/{repo}/issues/{number}", repoRoute(editIssue, true))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/issues/{number}/comments", repoRoute(listIssueComments, true))
	routes.Add(http.MethodPost, "/repos/{owner}/{repo}/issues/{number}/comments", repoRoute(createComment, true))
	routes.Add(http.MethodPost, "/repos/{owner}/{repo}/issues/{number}/labels", repoRoute(addLabels, true))
	routes.Add(http.MethodGet, "/repos/{owner}/{repo}/labels", repoRoute(listLabels, true))
}

// match finds the route for a method and a path under /api/v3. A path
// under /repositories/{id} matches the /repos/{owner}/{repo} route with
// "#" and the id as its first parameter and "-" as its second.
func match(method, p string) (*fakeapi.Route[handler], []string) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(p, "/"), "/api/v3/")
	if !ok {
		return nil, nil
	}
	segs := strings.Split(rest, "/")
	if len(segs) >= 2 && segs[0] == "repositories" {
		segs = append([]string{"repos", "#" + segs[1], "-"}, segs[2:]...)
	}
	return routes.Match(method, strings.Join(segs, "/"))
}

// repoRoute resolves {owner}/{repo} (or a /repositories/{id} path) to a
// repository the token may see, redirecting an old name, and hands the
// route the repository with the world locked. issues says the route
// reads or writes issues, which a token denied them gets 403 for.
func repoRoute(h func(c *call, r *repo, p []string) reply, issues bool) func(c *call, p []string) reply {
	return func(c *call, p []string) reply {
		w := c.s.world
		write := c.r.Method != http.MethodGet
		if write {
			w.mu.Lock()
			defer w.mu.Unlock()
		} else {
			w.mu.RLock()
			defer w.mu.RUnlock()
		}
		var r *repo
		if id, ok := strings.CutPrefix(p[0], "#"); ok {
			n, err := strconv.ParseInt(id, 10, 64)
			if err == nil {
				r = w.repos[n]
			}
		} else {
			full := lower(p[0] + "/" + p[1])
			if id, ok := w.names[full]; ok {
				r = w.repos[id]
			} else if id, ok := w.oldNames[full]; ok && !w.repos[id].deleted && c.visible(w.repos[id]) {
				return c.redirect(id, p)
			}
		}
		if r == nil || r.deleted || !c.visible(r) {
			return errReply(http.StatusNotFound, msgNotFound, "")
		}
		if issues && c.tok.denied[r.ID] {
			return errReply(http.StatusForbidden, msgForbidden, "")
		}
		if write && r.Archived {
			return errReply(http.StatusForbidden, "Repository was archived so is read-only.", "")
		}
		return h(c, r, p[2:])
	}
}

func (c *call) visible(r *repo) bool {
	return !r.Private || c.tok.repos == nil || c.tok.repos[r.ID]
}

// redirect answers a request naming a repository's old name: 301 for GET,
// 307 for the other methods so that the client repeats the method and body
// [unverified: which status GitHub uses for writes], to the same route
// under /repositories/{id}.
func (c *call) redirect(id int64, p []string) reply {
	segs := strings.Split(strings.TrimPrefix(c.r.URL.Path, "/api/v3/"), "/")
	loc := c.u.api + "/repositories/" + strconv.FormatInt(id, 10)
	if len(segs) > 3 {
		loc += "/" + strings.Join(segs[3:], "/")
	}
	if c.r.URL.RawQuery != "" {
		loc += "?" + c.r.URL.RawQuery
	}
	status := http.StatusMovedPermanently
	if c.r.Method != http.MethodGet {
		status = http.StatusTemporaryRedirect
	}
	rep := jsonReply(status, struct {
		Message          string `json:"message"`
		URL              string `json:"url"`
		DocumentationURL string `json:"documentation_url"`
	}{"Moved Permanently", loc, "https://docs.github.com/v3/#http-redirects"})
	rep.location = loc
	return rep
}

func getUser(c *call, _ []string) reply {
	w := c.s.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	u := w.users[lower(c.login)]
	j := c.u.user(u)
	if u.Name != "" {
		j.Name = u.Name
	} else {
		j.Name = nil
	}
	return jsonReply(http.StatusOK, j)
}

func getRepo(c *call, r *repo, _ []string) reply {
	return jsonReply(http.StatusOK, c.s.world.repoJSON(c.u, r, c.login))
}

// ---- paging

// pageParams reads per_page (default 30, at most 100, as GitHub clamps)
// and page (from 1).
func (c *call) pageParams() (perPage, page int, bad string) {
	q := c.r.URL.Query()
	perPage, page = 30, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, "per_page"
		}
		perPage = min(max(n, 1), 100)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, "page"
		}
		page = max(n, 1)
	}
	return perPage, page, ""
}

// paged cuts items to one page and sets the Link header GitHub sends:
// next and last while there are more pages, first and prev after the
// first, each the request's URL with page replaced.
func paged[T any](c *call, items []T, perPage, page int) ([]T, http.Header) {
	pages := max(1, (len(items)+perPage-1)/perPage)
	lo := min((page-1)*perPage, len(items))
	hi := min(lo+perPage, len(items))
	link := func(n int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		if q.Get("per_page") == "" {
			q.Set("per_page", strconv.Itoa(perPage))
		}
		return "<" + c.u.api + strings.TrimPrefix(c.r.URL.Path, "/api/v3") + "?" + q.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if page < pages {
		links = append(links, link(page+1, "next"), link(pages, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, pages), "prev"))
	}
	h := http.Header{}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	return items[lo:hi], h
}

func validation(field string) reply {
	return jsonReply(http.StatusUnprocessableEntity, struct {
		Message          string `json:"message"`
		Errors           []any  `json:"errors"`
		DocumentationURL string `json:"documentation_url"`
		Status           string `json:"status"`
	}{"Validation Failed", []any{map[string]string{"resource": "Search", "field": field, "code": "invalid"}}, docRoot, "422"})
}

// since reads the since parameter: ISO 8601, compared with updated_at
// inclusively ("at or after", as the older v3 documentation put it).
func (c *call) since() (time.Time, bool) {
	v := c.r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ---- issues

func listIssues(c *call, r *repo, _ []string) reply {
	q := c.r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	sortBy := cmp.Or(q.Get("sort"), "created")
	dir := cmp.Or(q.Get("direction"), "desc")
	perPage, page, bad := c.pageParams()
	since, okSince := c.since()
	switch {
	case state != "open" && state != "closed" && state != "all":
		return validation("state")
	case sortBy != "created" && sortBy != "updated" && sortBy != "comments":
		return validation("sort")
	case dir != "asc" && dir != "desc":
		return validation("direction")
	case bad != "":
		return validation(bad)
	case !okSince:
		return validation("since")
	}
	var items []*Issue
	for _, is := range r.issues {
		if (state == "all" || is.State == state) && !is.UpdatedAt.Before(since) {
			items = append(items, is)
		}
	}
	key := func(is *Issue) int64 {
		switch sortBy {
		case "updated":
			return is.UpdatedAt.Unix()
		case "comments":
			return int64(is.Comments)
		}
		return is.CreatedAt.Unix()
	}
	// Ties (same second) fall back to the number, in the same direction
	// [unverified: GitHub's tie order].
	slices.SortStableFunc(items, func(a, b *Issue) int {
		d := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.Number, b.Number))
		if dir == "desc" {
			return -d
		}
		return d
	})
	items, h := paged(c, items, perPage, page)
	out := make([]issueJSON, len(items))
	for i, is := range items {
		out[i] = c.s.world.issueJSON(c.u, r, is, false)
	}
	rep := jsonReply(http.StatusOK, out)
	rep.header = h
	return rep
}

func (c *call) issue(r *repo, p string) (*Issue, bool) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > len(r.issues) {
		return nil, false
	}
	return r.issues[n-1], true
}

func getIssue(c *call, r *repo, p []string) reply {
	is, ok := c.issue(r, p[0])
	if !ok {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	return jsonReply(http.StatusOK, c.s.world.issueJSON(c.u, r, is, true))
}

// issueRequest is the body of POST and PATCH /issues.
type issueRequest struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
	Assignees   *[]string `json:"assignees"`
	Milestone   *int      `json:"milestone"`
}

func (c *call) decode(v any) bool {
	b, err := io.ReadAll(c.r.Body)
	return err == nil && json.Unmarshal(b, v) == nil
}

func problemsParsing() reply {
	return errReply(http.StatusBadRequest, "Problems parsing JSON", "")
}

func createIssue(c *call, r *repo, _ []string) reply {
	var req issueRequest
	if !c.decode(&req) {
		return problemsParsing()
	}
	if req.Title == nil || strings.TrimSpace(*req.Title) == "" {
		return validation("title")
	}
	w := c.s.world
	var labels []string
	if req.Labels != nil {
		labels = *req.Labels
	}
	is := w.open(r.ID, c.login, *req.Title, req.Body, false, labels)
	if req.Assignees != nil {
		for _, a := range *req.Assignees {
			if u, ok := w.users[lower(a)]; ok {
				is.Assignees = append(is.Assignees, u.Login)
			}
		}
	}
	if req.Milestone != nil && *req.Milestone > 0 && *req.Milestone <= len(r.milestones) {
		is.Milestone = *req.Milestone
	}
	rep := jsonReply(http.StatusCreated, w.issueJSON(c.u, r, is, true))
	rep.location = c.u.repo(r.FullName()) + "/issues/" + strconv.Itoa(is.Number)
	return rep
}

func editIssue(c *call, r *repo, p []string) reply {
	is, ok := c.issue(r, p[0])
	if !ok {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	var req issueRequest
	if !c.decode(&req) {
		return problemsParsing()
	}
	w := c.s.world
	now := w.now()
	oldTitle, oldBody := is.Title, is.Body
	if req.Title != nil && *req.Title != is.Title {
		e := w.event(r, is, c.login, "renamed", now)
		e.RenameFrom, e.RenameTo = is.Title, *req.Title
		is.Title = *req.Title
	}
	if req.Body != nil {
		is.Body = req.Body
		if *req.Body == "" {
			is.Body = nil
		}
	}
	if req.Labels != nil {
		for _, have := range slices.Clone(is.Labels) {
			if !slices.ContainsFunc(*req.Labels, func(s string) bool { return strings.EqualFold(s, have) }) {
				w.removeLabel(r, is, c.login, have, now)
			}
		}
		for _, name := range *req.Labels {
			w.addLabel(r, is, c.login, name, now)
		}
	}
	if req.State != nil {
		switch *req.State {
		case "closed":
			w.close(r, is, c.login, cmp.Or(deref(req.StateReason), "completed"), now)
		case "open":
			w.reopen(r, is, c.login, now)
		default:
			return validation("state")
		}
	}
	is.UpdatedAt = now
	w.edited(r, is, c.login, oldTitle, oldBody)
	return jsonReply(http.StatusOK, w.issueJSON(c.u, r, is, true))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// addLabels accepts both bodies GitHub does: {"labels": ["a"]} and the
// bare ["a"] go-github v60 sends.
func addLabels(c *call, r *repo, p []string) reply {
	is, ok := c.issue(r, p[0])
	if !ok {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	b, err := io.ReadAll(c.r.Body)
	if err != nil {
		return problemsParsing()
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		var obj struct {
			Labels []string `json:"labels"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return problemsParsing()
		}
		names = obj.Labels
	}
	w := c.s.world
	now := w.now()
	for _, n := range names {
		w.addLabel(r, is, c.login, n, now)
	}
	out := []labelJSON{}
	for _, n := range is.Labels {
		out = append(out, c.u.label(r, w.label(r, n, "")))
	}
	return jsonReply(http.StatusOK, out)
}

func listLabels(c *call, r *repo, _ []string) reply {
	perPage, page, bad := c.pageParams()
	if bad != "" {
		return validation(bad)
	}
	items, h := paged(c, r.labels, perPage, page)
	out := make([]labelJSON, len(items))
	for i, l := range items {
		out[i] = c.u.label(r, l)
	}
	rep := jsonReply(http.StatusOK, out)
	rep.header = h
	return rep
}

// ---- comments

// listRepoComments lists a repository's issue comments: by id ascending
// without sort [unverified]; with sort=created|updated in direction
// (desc by default); since filters updated_at.
func listRepoComments(c *call, r *repo, _ []string) reply {
	return c.listComments(r, r.comments)
}

func listIssueComments(c *call, r *repo, p []string) reply {
	is, ok := c.issue(r, p[0])
	if !ok {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	var of []*Comment
	for _, cm := range r.comments {
		if cm.IssueNumber == is.Number {
			of = append(of, cm)
		}
	}
	return c.listComments(r, of)
}

func (c *call) listComments(r *repo, all []*Comment) reply {
	q := c.r.URL.Query()
	sortBy := q.Get("sort")
	dir := cmp.Or(q.Get("direction"), "desc")
	perPage, page, bad := c.pageParams()
	since, okSince := c.since()
	switch {
	case sortBy != "" && sortBy != "created" && sortBy != "updated":
		return validation("sort")
	case dir != "asc" && dir != "desc":
		return validation("direction")
	case bad != "":
		return validation(bad)
	case !okSince:
		return validation("since")
	}
	var items []*Comment
	for _, cm := range all {
		if !cm.UpdatedAt.Before(since) {
			items = append(items, cm)
		}
	}
	if sortBy != "" {
		key := func(cm *Comment) int64 {
			if sortBy == "updated" {
				return cm.UpdatedAt.Unix()
			}
			return cm.CreatedAt.Unix()
		}
		slices.SortStableFunc(items, func(a, b *Comment) int {
			d := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.ID, b.ID))
			if dir == "desc" {
				return -d
			}
			return d
		})
	}
	items, h := paged(c, items, perPage, page)
	out := make([]commentJSON, len(items))
	for i, cm := range items {
		out[i] = c.s.world.commentJSON(c.u, r, cm)
	}
	rep := jsonReply(http.StatusOK, out)
	rep.header = h
	return rep
}

type commentRequest struct {
	Body *string `json:"body"`
}

func createComment(c *call, r *repo, p []string) reply {
	is, ok := c.issue(r, p[0])
	if !ok {
		return errReply(http.StatusNotFound, msgNotFound, "")
	}
	var req commentRequest
	if !c.decode(&req) {
		return problemsParsing()
	}
	if req.Body == nil || *req.Body == "" {
		return validation("body")
	}
	cm := c.s.world.comment(r.ID, is.Number, c.login, *req.Body)
	rep := jsonReply(http.StatusCreated, c.s.world.commentJSON(c.u, r, cm))
	rep.location = c.u.repo(r.FullName()) + "/issues/comments/" + strconv.FormatInt(cm.ID, 10)
	return rep
}

// ---- events

// listRepoEvents lists a repository's issue events, newest first
// [unverified: the order is not documented; clients and issue threads
// show newest first].
func listRepoEvents(c *call, r *repo, _ []string) reply {
	perPage, page, bad := c.pageParams()
	if bad != "" {
		return validation(bad)
	}
	items := slices.Clone(r.events)
	slices.Reverse(items)
	items, h := paged(c, items, perPage, page)
	out := make([]eventJSON, len(items))
	for i, e := range items {
		out[i] = c.s.world.eventJSON(c.u, r, e)
	}
	rep := jsonReply(http.StatusOK, out)
	rep.header = h
	return rep
}
