package mapping

import (
	"testing"

	"github.com/karkas/karkas/record"
)

// fakeLookup is a Lookup over fixed tasks.
type fakeLookup struct {
	tasks      map[string]TaskLink // by external id and short ref
	containers map[string]string
	people     map[string]record.Person // by external id
}

func (f fakeLookup) Person(_, id string) (record.Person, bool) { p, ok := f.people[id]; return p, ok }

func (f fakeLookup) Task(_, id string) (TaskLink, bool)    { t, ok := f.tasks[id]; return t, ok }
func (f fakeLookup) TaskByRef(ref string) (TaskLink, bool) { t, ok := f.tasks[ref]; return t, ok }
func (f fakeLookup) ContainerClient(_, id string) (string, bool) {
	c, ok := f.containers[id]
	return c, ok
}

func resolver(t *testing.T) *Resolver {
	t.Helper()
	text := base + `time_categories:
  - {category: communication, tags: [call, Communication]}
  - {category: non_billable, projects: [Internal]}
  - {category: meeting, labels: [meetings]}
`
	l, ps := parse(t, text, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	return NewResolver(l.Config)
}

var (
	trello = SourceInfo{ID: "trello", Kind: "trello_export", Identity: IdentityTrello}
	mail   = SourceInfo{ID: "mail", Kind: "mail_files", Identity: IdentityEmail}
	csv    = SourceInfo{ID: "everhour", Kind: "time_csv", Identity: IdentityTimeTracker}
	card   = TaskLink{SourceID: "trello", ExternalID: "5f00000000000000000000c1", ClientID: "acme", Labels: []string{"Meetings"}}
	look   = fakeLookup{
		tasks:      map[string]TaskLink{"5f00000000000000000000c1": card, "AbCd1234": card},
		containers: map[string]string{"b1": "acme"},
		// Anna is mapped by her Trello username only; her comments and
		// moves name her by member id.
		people: map[string]record.Person{
			"5f1a00000000000000000001": {ExternalID: "5f1a00000000000000000001", Username: "annap", Name: "Anna"},
			"u42":                      {ExternalID: "u42", Name: "John", Email: "john@acme.com"},
		},
	}
)

func TestIdentify(t *testing.T) {
	t.Parallel()
	r := resolver(t)
	tests := []struct {
		name string
		ns   string
		ids  []string
		want PersonRes
	}{
		{"trello username, any case", IdentityTrello, []string{"x", "AnnaP"}, PersonRes{PersonID: "anna", Side: SideAgency}},
		{"email in another namespace", IdentityTimeTracker, []string{"john@acme.com"}, PersonRes{PersonID: "john", Side: SideClient, ClientID: "acme"}},
		{"unknown agency address by domain", IdentityEmail, []string{"new@northwind.agency"}, PersonRes{Side: SideAgency}},
		{"unknown client address by domain", IdentityEmail, []string{"cfo@ACME.com"}, PersonRes{Side: SideClient, ClientID: "acme"}},
		{"stranger", IdentityEmail, []string{"spam@example.org"}, PersonRes{Side: SideUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := r.Identify(tc.ns, tc.ids...); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStatusAndTask(t *testing.T) {
	t.Parallel()
	r := resolver(t)
	if got := r.Status(trello, "  doing "); got != StatusInProgress {
		t.Errorf("Status(doing) = %q", got)
	}
	if got := r.Status(trello, "Someday"); got != "" {
		t.Errorf("unmapped status = %q, want empty", got)
	}
	res := r.Task(trello, record.Task{Status: "Doing", Assignees: []string{"annap", "ghost"}, CreatorID: "john@acme.com"}, "acme", look)
	if res.Status != StatusInProgress || len(res.AssigneeIDs) != 1 || res.AssigneeIDs[0] != "anna" || res.Creator.Side != SideClient ||
		len(res.UnmappedAssignees) != 1 || res.UnmappedAssignees[0] != "ghost" {
		t.Errorf("task = %+v", res)
	}
	if res := r.Task(trello, record.Task{Status: "Doing", Closed: true}, "acme", look); res.Status != StatusArchived {
		t.Errorf("archived card status = %q", res.Status)
	}
	if got := r.Container(trello, record.Container{Kind: record.ContainerBoard, ExternalID: "zzz", URL: "https://trello.com/b/B1/acme"}); got != "acme" {
		t.Errorf("board by short link in URL = %q", got)
	}
}

// A person the config names by one of the forms its field promises (a
// Trello username, a tracker user's email) is recognised in every record
// kind that names them by the source's id, through the people the source
// lists.
func TestIdentityThroughSourcePeople(t *testing.T) {
	t.Parallel()
	r := resolver(t)
	const anna = "5f1a00000000000000000001"
	comment := r.Message(trello, record.Message{Channel: record.ChannelCardComment, AuthorID: anna, TaskID: "5f00000000000000000000c1"}, look)
	move := r.StatusChange(trello, record.StatusChange{To: "Doing", ActorID: anna}, look)
	task := r.Task(trello, record.Task{Status: "Doing", Assignees: []string{anna}, CreatorID: anna}, "acme", look)
	entry := r.TimeEntry(csv, record.TimeEntry{PersonID: "u42"}, look)
	for name, got := range map[string]PersonRes{"comment author": comment.Author, "move actor": move.Actor, "task creator": task.Creator} {
		if got.PersonID != "anna" || got.Side != SideAgency {
			t.Errorf("%s: %+v, want anna of the agency", name, got)
		}
	}
	if comment.Direction != DirectionOutbound {
		t.Errorf("comment direction %q, want outbound", comment.Direction)
	}
	if len(task.AssigneeIDs) != 1 || task.AssigneeIDs[0] != "anna" || len(task.UnmappedAssignees) != 0 {
		t.Errorf("assignees %v (unmapped %v), want anna", task.AssigneeIDs, task.UnmappedAssignees)
	}
	if entry.Person.PersonID != "john" {
		t.Errorf("tracker user by the email the tracker lists: %+v, want john", entry.Person)
	}
	// Without the source's people, the id alone is nobody.
	if got := r.Message(trello, record.Message{Channel: record.ChannelCardComment, AuthorID: anna}, fakeLookup{}); got.Author.PersonID != "" {
		t.Errorf("an id the source does not list resolved to %+v", got.Author)
	}
}

func TestMessageDirection(t *testing.T) {
	t.Parallel()
	r := resolver(t)
	tests := []struct {
		name       string
		src        SourceInfo
		m          record.Message
		wantDir    string
		wantClient string
		wantTask   bool
	}{
		{"client email", mail, record.Message{Channel: record.ChannelEmail, AuthorEmail: "john@acme.com", To: []string{"anna@northwind.agency"}}, DirectionInbound, "acme", false},
		{"agency reply", mail, record.Message{Channel: record.ChannelEmail, AuthorEmail: "anna@northwind.agency", To: []string{"john@acme.com"}}, DirectionOutbound, "acme", false},
		{"agency internal", mail, record.Message{Channel: record.ChannelEmail, AuthorEmail: "anna@northwind.agency", To: []string{"x@northwind.agency"}}, DirectionInternal, "", false},
		{"email linking a card", mail, record.Message{Channel: record.ChannelEmail, AuthorEmail: "boss@acme.com", TaskRefs: []string{"AbCd1234"}}, DirectionInbound, "acme", true},
		{"agency card comment", trello, record.Message{Channel: record.ChannelCardComment, AuthorID: "annap", TaskID: "5f00000000000000000000c1"}, DirectionOutbound, "acme", true},
		{"stranger", mail, record.Message{Channel: record.ChannelEmail, AuthorEmail: "a@b.c"}, DirectionUnknown, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := r.Message(tc.src, tc.m, look)
			if got.Direction != tc.wantDir || got.ClientID != tc.wantClient || (got.Task != nil) != tc.wantTask {
				t.Errorf("got %+v (task %v), want %s %q task=%v", got, got.Task, tc.wantDir, tc.wantClient, tc.wantTask)
			}
		})
	}
}

func TestTimeEntry(t *testing.T) {
	t.Parallel()
	r := resolver(t)
	no := false
	tests := []struct {
		name         string
		e            record.TimeEntry
		wantClient   string
		wantCategory string
		wantBillable bool
		wantTask     bool
	}{
		{"linked by card id", record.TimeEntry{PersonID: "Anna@northwind.agency", TaskID: "tr:5f00000000000000000000c1"}, "acme", CategoryMeeting, true, true},
		{"linked by short link", record.TimeEntry{TaskID: "tr:AbCd1234", Tags: []string{"CALL"}}, "acme", CategoryCommunication, true, true},
		{"project of no client", record.TimeEntry{ProjectName: "Internal"}, "", CategoryNonBillable, false, false},
		{"client by name", record.TimeEntry{ClientName: "acme", Billable: &no, TaskID: "ev:1"}, "acme", CategoryProduction, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := r.TimeEntry(csv, tc.e, look)
			if got.ClientID != tc.wantClient || got.Category != tc.wantCategory || got.Billable != tc.wantBillable || (got.Task != nil) != tc.wantTask {
				t.Errorf("got %+v", got)
			}
		})
	}
}
