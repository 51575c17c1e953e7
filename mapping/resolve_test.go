package mapping

import (
	"testing"

	"github.com/karkas/karkas/record"
)

// fakeLookup is a Lookup over fixed tasks.
type fakeLookup struct {
	tasks      map[string]TaskLink // by external id and short ref
	containers map[string]string
}

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
	res := r.Task(trello, record.Task{Status: "Doing", Assignees: []string{"annap", "ghost"}, CreatorID: "john@acme.com"}, "acme")
	if res.Status != StatusInProgress || len(res.AssigneeIDs) != 1 || res.AssigneeIDs[0] != "anna" || res.Creator.Side != SideClient {
		t.Errorf("task = %+v", res)
	}
	if res := r.Task(trello, record.Task{Status: "Doing", Closed: true}, "acme"); res.Status != StatusArchived {
		t.Errorf("archived card status = %q", res.Status)
	}
	if got := r.Container(trello, record.Container{Kind: record.ContainerBoard, ExternalID: "zzz", URL: "https://trello.com/b/B1/acme"}); got != "acme" {
		t.Errorf("board by short link in URL = %q", got)
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
