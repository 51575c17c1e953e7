package githubfake

import (
	"strconv"
	"strings"
	"time"
)

// The JSON GitHub sends, field for field for what karkas reads and the
// fields around them that a client might look at. Null fields are sent as
// null (pointers without omitempty), as GitHub does; fields GitHub sends
// only in some answers are omitempty here.

const tsLayout = "2006-01-02T15:04:05Z"

type ts struct{ t time.Time }

func (t ts) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.t.UTC().Format(tsLayout) + `"`), nil
}

func tsp(t *time.Time) *ts {
	if t == nil {
		return nil
	}
	return &ts{*t}
}

// urls builds the API and web addresses of one request's host.
type urls struct {
	api, web string // http://host/api/v3 and http://host
}

func (u urls) repo(full string) string { return u.api + "/repos/" + full }

type userJSON struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	ReposURL          string `json:"repos_url"`
	Type              string `json:"type"`
	SiteAdmin         bool   `json:"site_admin"`
	Name              any    `json:"name,omitempty"` // only GET /user
	PublicRepos       *int   `json:"public_repos,omitempty"`
	CreatedAtOnlyUser *ts    `json:"created_at,omitempty"`
}

func (u urls) user(x *User) *userJSON {
	if x == nil {
		return nil
	}
	return &userJSON{
		Login: x.Login, ID: x.ID, NodeID: nodeID("U_", x.ID),
		AvatarURL: u.web + "/avatars/u/" + strconv.FormatInt(x.ID, 10), URL: u.api + "/users/" + x.Login,
		HTMLURL: u.web + "/" + x.Login, ReposURL: u.api + "/users/" + x.Login + "/repos", Type: x.Type,
	}
}

func nodeID(prefix string, id int64) string { return prefix + "kgDO" + strconv.FormatInt(id, 36) }

type labelJSON struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

func (u urls) label(r *repo, l *Label) labelJSON {
	var desc *string
	if l.Description != "" {
		desc = &l.Description
	}
	return labelJSON{ID: l.ID, NodeID: nodeID("LA_", l.ID), URL: u.repo(r.FullName()) + "/labels/" + pathEscape(l.Name),
		Name: l.Name, Color: l.Color, Description: desc}
}

func pathEscape(s string) string { return strings.ReplaceAll(s, " ", "%20") }

type milestoneJSON struct {
	URL          string    `json:"url"`
	HTMLURL      string    `json:"html_url"`
	LabelsURL    string    `json:"labels_url"`
	ID           int64     `json:"id"`
	NodeID       string    `json:"node_id"`
	Number       int       `json:"number"`
	Title        string    `json:"title"`
	Description  *string   `json:"description"`
	Creator      *userJSON `json:"creator"`
	OpenIssues   int       `json:"open_issues"`
	ClosedIssues int       `json:"closed_issues"`
	State        string    `json:"state"`
	CreatedAt    ts        `json:"created_at"`
	UpdatedAt    ts        `json:"updated_at"`
	DueOn        *ts       `json:"due_on"`
	ClosedAt     *ts       `json:"closed_at"`
}

type prLinksJSON struct {
	URL      string `json:"url"`
	HTMLURL  string `json:"html_url"`
	DiffURL  string `json:"diff_url"`
	PatchURL string `json:"patch_url"`
	MergedAt *ts    `json:"merged_at"`
}

type issueJSON struct {
	URL                   string         `json:"url"`
	RepositoryURL         string         `json:"repository_url"`
	LabelsURL             string         `json:"labels_url"`
	CommentsURL           string         `json:"comments_url"`
	EventsURL             string         `json:"events_url"`
	HTMLURL               string         `json:"html_url"`
	ID                    int64          `json:"id"`
	NodeID                string         `json:"node_id"`
	Number                int            `json:"number"`
	Title                 string         `json:"title"`
	User                  *userJSON      `json:"user"`
	Labels                []labelJSON    `json:"labels"`
	State                 string         `json:"state"`
	Locked                bool           `json:"locked"`
	Assignee              *userJSON      `json:"assignee"`
	Assignees             []*userJSON    `json:"assignees"`
	Milestone             *milestoneJSON `json:"milestone"`
	Comments              int            `json:"comments"`
	CreatedAt             ts             `json:"created_at"`
	UpdatedAt             ts             `json:"updated_at"`
	ClosedAt              *ts            `json:"closed_at"`
	AuthorAssociation     string         `json:"author_association"`
	ActiveLockReason      *string        `json:"active_lock_reason"`
	Draft                 *bool          `json:"draft,omitempty"`
	PullRequest           *prLinksJSON   `json:"pull_request,omitempty"`
	Body                  *string        `json:"body"`
	ClosedBy              *userJSON      `json:"closed_by,omitempty"`
	TimelineURL           string         `json:"timeline_url"`
	PerformedViaGitHubApp *struct{}      `json:"performed_via_github_app"`
	StateReason           *string        `json:"state_reason"`
}

// issue renders an issue; single adds what only GET of one issue carries
// (closed_by).
func (w *World) issueJSON(u urls, r *repo, is *Issue, single bool) issueJSON {
	base := u.repo(r.FullName()) + "/issues/" + strconv.Itoa(is.Number)
	kind := "issues"
	if is.PullRequest {
		kind = "pull"
	}
	out := issueJSON{
		URL: base, RepositoryURL: u.repo(r.FullName()), LabelsURL: base + "/labels{/name}", CommentsURL: base + "/comments",
		EventsURL: base + "/events", HTMLURL: u.web + "/" + r.FullName() + "/" + kind + "/" + strconv.Itoa(is.Number),
		ID: is.ID, NodeID: nodeID("I_", is.ID), Number: is.Number, Title: is.Title, User: u.user(w.users[lower(is.User)]),
		Labels: []labelJSON{}, State: is.State, Assignees: []*userJSON{}, Comments: is.Comments,
		CreatedAt: ts{is.CreatedAt}, UpdatedAt: ts{is.UpdatedAt}, ClosedAt: tsp(is.ClosedAt),
		AuthorAssociation: w.association(r, is.User), Body: is.Body, TimelineURL: base + "/timeline",
	}
	for _, name := range is.Labels {
		out.Labels = append(out.Labels, u.label(r, w.label(r, name, "")))
	}
	for _, a := range is.Assignees {
		out.Assignees = append(out.Assignees, u.user(w.users[lower(a)]))
	}
	if len(out.Assignees) > 0 {
		out.Assignee = out.Assignees[0]
	}
	if is.Milestone > 0 {
		m := w.milestoneJSON(u, r, r.milestones[is.Milestone-1])
		out.Milestone = &m
	}
	if is.PullRequest {
		pr := u.repo(r.FullName()) + "/pulls/" + strconv.Itoa(is.Number)
		web := u.web + "/" + r.FullName() + "/pull/" + strconv.Itoa(is.Number)
		out.PullRequest = &prLinksJSON{URL: pr, HTMLURL: web, DiffURL: web + ".diff", PatchURL: web + ".patch", MergedAt: tsp(is.MergedAt)}
		draft := false
		out.Draft = &draft
	}
	if is.StateReason != "" {
		out.StateReason = &is.StateReason
	}
	if single && is.ClosedBy != "" {
		out.ClosedBy = u.user(w.users[lower(is.ClosedBy)])
	}
	return out
}

func lower(s string) string { return strings.ToLower(s) }

func (w *World) association(r *repo, login string) string {
	if strings.EqualFold(login, r.Owner) {
		return "OWNER"
	}
	return "NONE"
}

func (w *World) milestoneJSON(u urls, r *repo, m *Milestone) milestoneJSON {
	out := milestoneJSON{
		URL: u.repo(r.FullName()) + "/milestones/" + strconv.Itoa(m.Number), HTMLURL: u.web + "/" + r.FullName() + "/milestone/" + strconv.Itoa(m.Number),
		LabelsURL: u.repo(r.FullName()) + "/milestones/" + strconv.Itoa(m.Number) + "/labels",
		ID:        m.ID, NodeID: nodeID("MI_", m.ID), Number: m.Number, Title: m.Title, Creator: u.user(w.users[lower(m.Creator)]),
		State: m.State, CreatedAt: ts{m.CreatedAt}, UpdatedAt: ts{m.UpdatedAt}, DueOn: tsp(m.DueOn),
	}
	for _, is := range r.issues {
		if is.Milestone == m.Number {
			if is.State == "open" {
				out.OpenIssues++
			} else {
				out.ClosedIssues++
			}
		}
	}
	return out
}

type commentJSON struct {
	URL                   string    `json:"url"`
	HTMLURL               string    `json:"html_url"`
	IssueURL              string    `json:"issue_url"`
	ID                    int64     `json:"id"`
	NodeID                string    `json:"node_id"`
	User                  *userJSON `json:"user"`
	CreatedAt             ts        `json:"created_at"`
	UpdatedAt             ts        `json:"updated_at"`
	AuthorAssociation     string    `json:"author_association"`
	Body                  string    `json:"body"`
	PerformedViaGitHubApp *struct{} `json:"performed_via_github_app"`
}

func (w *World) commentJSON(u urls, r *repo, c *Comment) commentJSON {
	kind := "issues"
	if r.issues[c.IssueNumber-1].PullRequest {
		kind = "pull"
	}
	return commentJSON{
		URL:      u.repo(r.FullName()) + "/issues/comments/" + strconv.FormatInt(c.ID, 10),
		HTMLURL:  u.web + "/" + r.FullName() + "/" + kind + "/" + strconv.Itoa(c.IssueNumber) + "#issuecomment-" + strconv.FormatInt(c.ID, 10),
		IssueURL: u.repo(r.FullName()) + "/issues/" + strconv.Itoa(c.IssueNumber),
		ID:       c.ID, NodeID: nodeID("IC_", c.ID), User: u.user(w.users[lower(c.User)]),
		CreatedAt: ts{c.CreatedAt}, UpdatedAt: ts{c.UpdatedAt}, AuthorAssociation: w.association(r, c.User), Body: c.Body,
	}
}

type eventLabelJSON struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

type titleJSON struct {
	Title string `json:"title"`
}

type renameJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type eventJSON struct {
	ID                    int64           `json:"id"`
	NodeID                string          `json:"node_id"`
	URL                   string          `json:"url"`
	Actor                 *userJSON       `json:"actor"`
	Event                 string          `json:"event"`
	CommitID              *string         `json:"commit_id"`
	CommitURL             *string         `json:"commit_url"`
	CreatedAt             ts              `json:"created_at"`
	Label                 *eventLabelJSON `json:"label,omitempty"`
	Assignee              *userJSON       `json:"assignee,omitempty"`
	Assigner              *userJSON       `json:"assigner,omitempty"`
	Milestone             *titleJSON      `json:"milestone,omitempty"`
	Rename                *renameJSON     `json:"rename,omitempty"`
	StateReason           *string         `json:"state_reason,omitempty"`
	Issue                 *issueJSON      `json:"issue,omitempty"`
	PerformedViaGitHubApp *struct{}       `json:"performed_via_github_app"`
}

func (w *World) eventJSON(u urls, r *repo, e *Event) eventJSON {
	out := eventJSON{
		ID: e.ID, NodeID: nodeID("E_", e.ID), URL: u.repo(r.FullName()) + "/issues/events/" + strconv.FormatInt(e.ID, 10),
		Actor: u.user(w.users[lower(e.Actor)]), Event: e.Event, CreatedAt: ts{e.CreatedAt},
	}
	if e.Label != "" {
		out.Label = &eventLabelJSON{Name: e.Label, Color: e.LabelColor}
	}
	if e.Assignee != "" {
		out.Assignee = u.user(w.users[lower(e.Assignee)])
		out.Assigner = out.Actor
	}
	if e.Milestone != "" {
		out.Milestone = &titleJSON{e.Milestone}
	}
	if e.RenameFrom != "" || e.RenameTo != "" {
		out.Rename = &renameJSON{From: e.RenameFrom, To: e.RenameTo}
	}
	if e.StateReason != "" {
		out.StateReason = &e.StateReason
	}
	// The repository's event listing embeds each event's issue as it is
	// now [unverified: as it is now rather than as it was].
	is := w.issueJSON(u, r, r.issues[e.IssueNumber-1], false)
	out.Issue = &is
	return out
}

type permissionsJSON struct {
	Admin bool `json:"admin"`
	Push  bool `json:"push"`
	Pull  bool `json:"pull"`
}

type repoJSON struct {
	ID              int64            `json:"id"`
	NodeID          string           `json:"node_id"`
	Name            string           `json:"name"`
	FullName        string           `json:"full_name"`
	Private         bool             `json:"private"`
	Owner           *userJSON        `json:"owner"`
	HTMLURL         string           `json:"html_url"`
	Description     *string          `json:"description"`
	Fork            bool             `json:"fork"`
	URL             string           `json:"url"`
	IssuesURL       string           `json:"issues_url"`
	CreatedAt       ts               `json:"created_at"`
	UpdatedAt       ts               `json:"updated_at"`
	PushedAt        ts               `json:"pushed_at"`
	HasIssues       bool             `json:"has_issues"`
	Archived        bool             `json:"archived"`
	Disabled        bool             `json:"disabled"`
	OpenIssuesCount int              `json:"open_issues_count"`
	Visibility      string           `json:"visibility"`
	DefaultBranch   string           `json:"default_branch"`
	Permissions     *permissionsJSON `json:"permissions,omitempty"`
}

func (w *World) repoJSON(u urls, r *repo, login string) repoJSON {
	out := repoJSON{
		ID: r.ID, NodeID: nodeID("R_", r.ID), Name: r.Name, FullName: r.FullName(), Private: r.Private,
		Owner: u.user(w.users[lower(r.Owner)]), HTMLURL: u.web + "/" + r.FullName(), Fork: false, URL: u.repo(r.FullName()),
		IssuesURL: u.repo(r.FullName()) + "/issues{/number}", CreatedAt: ts{r.CreatedAt}, UpdatedAt: ts{r.UpdatedAt},
		PushedAt: ts{r.UpdatedAt}, HasIssues: true, Archived: r.Archived, Visibility: "public", DefaultBranch: "main",
		Permissions: &permissionsJSON{Admin: r.isAdmin(login), Push: true, Pull: true},
	}
	if r.Private {
		out.Visibility = "private"
	}
	if r.Description != "" {
		out.Description = &r.Description
	}
	for _, is := range r.issues {
		if is.State == "open" {
			out.OpenIssuesCount++ // GitHub counts pull requests too
		}
	}
	return out
}

// errorJSON is GitHub's error body.
type errorJSON struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
	Status           string `json:"status,omitempty"`
}
