package mapping

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/karkas/karkas/record"
)

// Identity namespaces: which kind of name a source's person ids are.
const (
	IdentityTrello      = "trello"
	IdentityGitHub      = "github"
	IdentityTimeTracker = "time_tracker"
	IdentityEmail       = "email"
)

// Message directions.
const (
	DirectionInbound  = "inbound"  // from the client's side to the agency
	DirectionOutbound = "outbound" // from the agency to the client
	DirectionInternal = "internal" // among the agency
	DirectionUnknown  = "unknown"  // from someone the config does not know
)

// SourceInfo tells the resolver which source a record came from.
type SourceInfo struct {
	ID   string
	Kind string
	// Identity is the namespace of the source's person ids (trello,
	// github, time_tracker, email).
	Identity string
}

// TaskLink is what the resolver needs to know of a stored task.
type TaskLink struct {
	SourceID   string
	ExternalID string
	ClientID   string
	Labels     []string
}

// Lookup answers questions about records already stored, so that a record
// of one source can be linked to a task of another (an Everhour entry to its
// Trello card, an email to the card it links). The resolver itself does no
// I/O; the engine backs Lookup with the store and the batch at hand.
type Lookup interface {
	// Task finds a task by its source and external id.
	Task(sourceID, externalID string) (TaskLink, bool)
	// TaskByRef finds a task of any source by external id or short ref.
	TaskByRef(ref string) (TaskLink, bool)
	// ContainerClient is the client of a stored container.
	ContainerClient(sourceID, externalID string) (string, bool)
	// Person is a person the source lists (a board member, a repository
	// user), so that a record naming them by id resolves through every
	// name the config may know them by.
	Person(sourceID, externalID string) (record.Person, bool)
}

// Resolver maps neutral records onto the agency's model. Build one per
// config with NewResolver; it is safe for concurrent use.
type Resolver struct {
	cfg           *Config
	people        map[string]*Person // id -> person
	byIdentity    map[string]*Person // "trello:annap" -> person
	clientOf      map[string]string  // "boards:x", "domains:x", ... -> client id
	clientByName  map[string]string
	agencyDomains map[string]bool
	statuses      []statusRule
	categories    []categoryRule
}

type statusRule struct {
	source  string
	names   map[string]bool
	pattern *regexp.Regexp
	status  string
}

type categoryRule struct {
	category string
	tags     map[string]bool
	task     *regexp.Regexp
	projects map[string]bool
	labels   map[string]bool
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func set(values []string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[norm(v)] = true
	}
	return m
}

// NewResolver indexes a validated config.
func NewResolver(cfg *Config) *Resolver {
	r := &Resolver{
		cfg:           cfg,
		people:        map[string]*Person{},
		byIdentity:    map[string]*Person{},
		clientOf:      map[string]string{},
		clientByName:  map[string]string{},
		agencyDomains: set(cfg.Agency.Domains),
	}
	for i := range cfg.People {
		p := &cfg.People[i]
		r.people[p.ID] = p
		for _, f := range IdentityFields() {
			for _, v := range f.Values(p) {
				r.byIdentity[f.Namespace+":"+norm(v)] = p
			}
		}
	}
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		r.clientByName[norm(c.Name)] = c.ID
		for _, f := range ContainerFields() {
			for _, v := range f.Values(c) {
				r.clientOf[f.YAML+":"+norm(v)] = c.ID
			}
		}
	}
	for _, s := range cfg.Statuses {
		rule := statusRule{source: s.Source, names: set(s.Match), status: s.Status}
		if s.Pattern != "" {
			rule.pattern = regexp.MustCompile(s.Pattern) // validated by Load
		}
		r.statuses = append(r.statuses, rule)
	}
	for _, c := range cfg.TimeCategories {
		rule := categoryRule{category: c.Category, tags: set(c.Tags), projects: set(c.Projects), labels: set(c.Labels)}
		if c.TaskPattern != "" {
			rule.task = regexp.MustCompile(c.TaskPattern)
		}
		r.categories = append(r.categories, rule)
	}
	return r
}

// Config is the config the resolver was built from.
func (r *Resolver) Config() *Config { return r.cfg }

// PersonRes is who a source's person is.
type PersonRes struct {
	PersonID string
	Side     string
	ClientID string
}

func (r *Resolver) known(p *Person) PersonRes {
	return PersonRes{PersonID: p.ID, Side: p.Side, ClientID: p.Client}
}

// Identify resolves a person from any of their source identities. The
// first name that matches wins; an unknown email is placed by its domain.
func (r *Resolver) Identify(namespace string, ids ...string) PersonRes {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if p, ok := r.byIdentity[namespace+":"+norm(id)]; ok {
			return r.known(p)
		}
		if p, ok := r.byIdentity[IdentityEmail+":"+norm(id)]; ok {
			return r.known(p)
		}
	}
	for _, id := range ids {
		if _, domain, ok := strings.Cut(norm(id), "@"); ok {
			if r.agencyDomains[domain] {
				return PersonRes{Side: SideAgency}
			}
			if c, ok := r.clientOf["domains:"+domain]; ok {
				return PersonRes{Side: SideClient, ClientID: c}
			}
		}
	}
	return PersonRes{Side: SideUnknown}
}

// Person resolves a person record.
func (r *Resolver) Person(src SourceInfo, p record.Person) PersonRes {
	return r.Identify(src.Identity, forms(src, p)...)
}

// forms are the names of a source's person that the config's identity
// field for the source may hold: for Trello "member ids or usernames", for
// GitHub logins, for time trackers "user ids, names or emails", and the
// email address anywhere (Identify also tries every name as an email).
func forms(src SourceInfo, p record.Person) []string {
	ids := []string{p.ExternalID, p.Username, p.Email}
	if f, ok := IdentityFieldOf(src.Identity); ok && f.Names {
		ids = append(ids, p.Name)
	}
	return ids
}

// Who resolves a person a record names by the source's own reference (a
// member id, a login, a user id): by the reference, then by the other
// names the source lists for it (Lookup.Person), then by more, names the
// record itself carries. A comment whose author the config knows only by
// Trello username resolves so, whether it came from the API, an export or
// a webhook.
func (r *Resolver) Who(src SourceInfo, look Lookup, ref string, more ...string) PersonRes {
	ids := []string{ref}
	if look != nil && ref != "" {
		if p, ok := look.Person(src.ID, ref); ok {
			ids = append(ids, forms(src, p)[1:]...)
		}
	}
	return r.Identify(src.Identity, append(ids, more...)...)
}

// Container returns the client a container belongs to, or "".
func (r *Resolver) Container(src SourceInfo, c record.Container) string {
	field := containerYAML(c.Kind)
	names := []string{c.ExternalID, c.Name}
	if c.Kind == record.ContainerBoard {
		names = append(names, trelloShortLink(c.URL))
	}
	for _, n := range names {
		if id, ok := r.clientOf[field+":"+norm(n)]; ok && n != "" {
			return id
		}
	}
	return ""
}

// trelloShortLink takes "https://trello.com/b/AbCd1234/name" to "AbCd1234".
func trelloShortLink(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(pu.Path, "/"), "/")
	if len(parts) >= 2 && (parts[0] == "b" || parts[0] == "c") {
		return parts[1]
	}
	return ""
}

// Status maps a source status to a normalized one; "" when no rule matches.
func (r *Resolver) Status(src SourceInfo, status string) string {
	n := norm(status)
	for _, rule := range r.statuses {
		if rule.source != "" && rule.source != src.ID && rule.source != src.Kind {
			continue
		}
		if rule.names[n] || (rule.pattern != nil && rule.pattern.MatchString(status)) {
			return rule.status
		}
	}
	return ""
}

// TaskRes is a resolved task.
type TaskRes struct {
	ClientID string
	// Status is the normalized status: archived for archived tasks,
	// otherwise the mapped source status ("" when unmapped).
	Status      string
	AssigneeIDs []string
	// UnmappedAssignees are the source's references of assignees the
	// config names nobody for.
	UnmappedAssignees []string
	Creator           PersonRes
}

// Task resolves a task whose container belongs to containerClient.
func (r *Resolver) Task(src SourceInfo, t record.Task, containerClient string, look Lookup) TaskRes {
	res := TaskRes{ClientID: containerClient, Status: r.Status(src, t.Status)}
	if t.Closed || t.Deleted {
		res.Status = StatusArchived
	}
	for _, a := range t.Assignees {
		if p := r.Who(src, look, a); p.PersonID != "" {
			res.AssigneeIDs = append(res.AssigneeIDs, p.PersonID)
		} else if a != "" {
			res.UnmappedAssignees = append(res.UnmappedAssignees, a)
		}
	}
	if t.CreatorID != "" {
		res.Creator = r.Who(src, look, t.CreatorID)
	}
	return res
}

// StatusChangeRes is a resolved status change.
type StatusChangeRes struct {
	FromStatus string
	ToStatus   string
	Actor      PersonRes
}

// StatusChange resolves a move between source statuses.
func (r *Resolver) StatusChange(src SourceInfo, sc record.StatusChange, look Lookup) StatusChangeRes {
	res := StatusChangeRes{ToStatus: r.Status(src, sc.To)}
	if sc.From != "" {
		res.FromStatus = r.Status(src, sc.From)
	}
	if sc.ActorID != "" {
		res.Actor = r.Who(src, look, sc.ActorID)
	}
	return res
}

// MessageRes is a resolved message.
type MessageRes struct {
	ClientID  string
	Author    PersonRes
	Direction string
	// Task is the task the message belongs to, when known.
	Task *TaskLink
}

// Message resolves a message. For comments the task (and so the client)
// comes from the message's task; an email's client comes from its
// correspondents, and its task from a card it links.
func (r *Resolver) Message(src SourceInfo, m record.Message, look Lookup) MessageRes {
	res := MessageRes{Author: r.Who(src, look, m.AuthorID, m.AuthorEmail)}
	if m.TaskID != "" {
		if t, ok := look.Task(src.ID, m.TaskID); ok {
			res.Task = &t
		}
	}
	if res.Task == nil {
		for _, ref := range m.TaskRefs {
			if t, ok := look.TaskByRef(ref); ok {
				res.Task = &t
				break
			}
		}
	}
	switch {
	case res.Task != nil && res.Task.ClientID != "":
		res.ClientID = res.Task.ClientID
	case m.ContainerID != "":
		res.ClientID, _ = look.ContainerClient(src.ID, m.ContainerID)
	}
	if res.ClientID == "" {
		res.ClientID = res.Author.ClientID
	}
	recipientClient := ""
	for _, addr := range append(append([]string(nil), m.To...), m.Cc...) {
		if p := r.Identify(IdentityEmail, addr); p.Side == SideClient && p.ClientID != "" {
			recipientClient = p.ClientID
			break
		}
	}
	if res.ClientID == "" {
		res.ClientID = recipientClient
	}
	if res.ClientID == "" && m.Folder != "" {
		res.ClientID = r.clientOf["mailboxes:"+norm(m.Folder)]
	}
	switch res.Author.Side {
	case SideClient:
		res.Direction = DirectionInbound
	case SideAgency:
		res.Direction = DirectionInternal
		if m.Channel != record.ChannelEmail && res.ClientID != "" || recipientClient != "" {
			res.Direction = DirectionOutbound
		}
	default:
		res.Direction = DirectionUnknown
	}
	return res
}

// TimeEntryRes is a resolved time entry.
type TimeEntryRes struct {
	ClientID string
	Person   PersonRes
	Task     *TaskLink
	Category string
	Billable bool
}

// TimeEntry resolves a time entry: its person, the task it was logged on
// (a tracker task id "tr:<card id or short link>" links to the Trello card),
// its client and its category.
func (r *Resolver) TimeEntry(src SourceInfo, e record.TimeEntry, look Lookup) TimeEntryRes {
	res := TimeEntryRes{Person: r.Who(src, look, e.PersonID, e.PersonEmail, e.PersonName)}
	if ref := trackerTaskRef(e.TaskID); ref != "" {
		if t, ok := look.TaskByRef(ref); ok {
			res.Task = &t
		}
	}
	if res.Task != nil {
		res.ClientID = res.Task.ClientID
	}
	for _, key := range []string{e.ProjectID, e.ProjectName} {
		if res.ClientID == "" && key != "" {
			res.ClientID = r.clientOf["projects:"+norm(key)]
		}
	}
	if res.ClientID == "" && e.ClientName != "" {
		res.ClientID = r.clientByName[norm(e.ClientName)]
	}
	res.Category = r.category(e, res.Task)
	res.Billable = res.Category != CategoryNonBillable
	if e.Billable != nil {
		res.Billable = *e.Billable
	}
	return res
}

// trackerTaskRef takes a tracker's task id to a reference another source
// may hold: "tr:abc" (Everhour's Trello tasks) becomes "abc". Other
// platform prefixes ("ev:", "as:") name tasks only the tracker knows.
func trackerTaskRef(id string) string {
	if rest, ok := strings.CutPrefix(id, "tr:"); ok {
		return rest
	}
	return ""
}

func (r *Resolver) category(e record.TimeEntry, t *TaskLink) string {
	for _, rule := range r.categories {
		if matchAny(rule.tags, e.Tags) || (rule.task != nil && rule.task.MatchString(e.TaskName)) ||
			rule.projects[norm(e.ProjectID)] || rule.projects[norm(e.ProjectName)] ||
			(t != nil && matchAny(rule.labels, t.Labels)) {
			return rule.category
		}
	}
	return CategoryProduction
}

func matchAny(set map[string]bool, values []string) bool {
	for _, v := range values {
		if set[norm(v)] {
			return true
		}
	}
	return false
}
