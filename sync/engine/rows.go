package engine

import (
	"cmp"
	"encoding/json"
	"strings"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
)

// builder turns a record batch into store rows through the resolver. It
// updates the lookup with the batch's containers and tasks first, so that
// comments and entries in the same batch link to them.
type builder struct {
	res  *mapping.Resolver
	look *lookup
	src  mapping.SourceInfo
	now  time.Time
}

func rawJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("engine: record not encodable: " + err.Error()) // records hold only plain fields
	}
	return string(b)
}

// clean makes free text storable everywhere: PostgreSQL refuses NUL bytes
// and invalid UTF-8 in text columns.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func jsonList(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	return rawJSON(s)
}

func (b *builder) deletedAt(deleted bool) *time.Time {
	if !deleted {
		return nil
	}
	t := b.now
	return &t
}

func (b *builder) build(in *record.Batch) *store.Batch {
	// Problems are copied: the source may reuse its slices once Emit returns.
	out := &store.Batch{Problems: append([]record.Problem(nil), in.Problems...)}
	for _, c := range in.Containers {
		out.Containers = append(out.Containers, b.container(c))
		if c.History != nil && !c.Deleted {
			out.HistorySpans = append(out.HistorySpans, store.HistorySpanRow{SourceID: b.src.ID, ContainerID: c.ExternalID,
				From: utc(c.History.From), To: utc(c.History.To), Fields: strings.Join(c.History.Fields, ",")})
		}
	}
	for _, r := range out.Containers {
		if r.DeletedAt == nil {
			b.look.addContainer(b.src.ID, r.ExternalID, r.ClientID)
		}
	}
	for _, p := range in.People {
		out.People = append(out.People, b.person(p))
		// Records of the same batch name people by id; the mapping may
		// know them by username.
		b.look.addPerson(b.src.ID, p)
	}
	for _, t := range in.Tasks {
		out.Tasks = append(out.Tasks, b.task(t))
	}
	for _, t := range out.Tasks {
		if t.DeletedAt == nil {
			b.look.addTask(t)
		}
	}
	for _, sc := range in.StatusChanges {
		out.StatusChanges = append(out.StatusChanges, b.statusChange(sc))
	}
	for _, fc := range in.FieldChanges {
		out.FieldChanges = append(out.FieldChanges, b.fieldChange(fc))
	}
	for _, m := range in.Messages {
		out.Messages = append(out.Messages, b.message(m))
	}
	for _, e := range in.TimeEntries {
		out.TimeEntries = append(out.TimeEntries, b.timeEntry(e))
	}
	return out
}

func (b *builder) container(c record.Container) store.ContainerRow {
	r := store.ContainerRow{
		SourceID: b.src.ID, ExternalID: c.ExternalID, Kind: c.Kind, Name: clean(c.Name), URL: c.URL,
		ClientID: b.res.Container(b.src, c), Closed: c.Closed, Raw: rawJSON(c), DeletedAt: b.deletedAt(c.Deleted),
	}
	r.Hash = store.Hash(r)
	return r
}

func (b *builder) person(p record.Person) store.SourcePersonRow {
	res := b.res.Person(b.src, p)
	r := store.SourcePersonRow{
		SourceID: b.src.ID, ExternalID: p.ExternalID, Username: p.Username, Name: clean(p.Name), Email: p.Email,
		PersonID: res.PersonID, Side: res.Side, ClientID: res.ClientID, Raw: rawJSON(p), DeletedAt: b.deletedAt(p.Deleted),
	}
	r.Hash = store.Hash(r)
	return r
}

func (b *builder) task(t record.Task) store.TaskRow {
	if t.CreatorID == "" {
		// Who created a task never changes: a read that no longer shows
		// it (a board export whose newest actions no longer hold the
		// card's creation) keeps what an earlier read stored, and the
		// creation time that came with it.
		if c, ok := b.look.creator(b.src.ID, t.ExternalID); ok {
			t.CreatorID = c.by
			if !c.at.IsZero() {
				t.CreatedAt = c.at
			}
		}
	}
	client, _ := b.look.ContainerClient(b.src.ID, t.ContainerID)
	res := b.res.Task(b.src, t, client, b.look)
	r := store.TaskRow{
		SourceID: b.src.ID, ExternalID: t.ExternalID, ContainerID: t.ContainerID, ShortRef: t.ShortRef,
		ClientID: res.ClientID, Title: clean(t.Title), Description: clean(t.Description), SourceStatus: t.Status, Status: res.Status,
		Labels: jsonList(t.Labels), AssigneeIDs: jsonList(res.AssigneeIDs),
		CreatorPersonID: res.Creator.PersonID, CreatorSide: res.Creator.Side, CreatorRef: t.CreatorID, AssigneeRefs: jsonList(t.Assignees),
		CreatedAt: utc(t.CreatedAt), DueAt: utcPtr(t.DueAt), DueDone: t.DueDone, Closed: t.Closed, URL: t.URL,
		Raw: rawJSON(t), DeletedAt: b.deletedAt(t.Deleted),
	}
	r.Hash = store.Hash(r)
	return r
}

func (b *builder) statusChange(sc record.StatusChange) store.StatusChangeRow {
	res := b.res.StatusChange(b.src, sc, b.look)
	task, _ := b.look.Task(b.src.ID, sc.TaskID)
	r := store.StatusChangeRow{
		SourceID: b.src.ID, ExternalID: sc.ExternalID, TaskID: sc.TaskID, ClientID: task.ClientID,
		FromSource: sc.From, ToSource: sc.To, FromStatus: res.FromStatus, ToStatus: res.ToStatus, At: utc(sc.At),
		ActorPersonID: res.Actor.PersonID, ActorSide: res.Actor.Side, ActorRef: sc.ActorID, Raw: rawJSON(sc), DeletedAt: b.deletedAt(sc.Deleted),
	}
	if r.ActorSide == "" {
		r.ActorSide = mapping.SideUnknown
	}
	r.Hash = store.Hash(r)
	return r
}

func (b *builder) fieldChange(fc record.FieldChange) store.FieldChangeRow {
	task, _ := b.look.Task(b.src.ID, fc.TaskID)
	r := store.FieldChangeRow{
		SourceID: b.src.ID, ExternalID: fc.ExternalID, TaskID: fc.TaskID, ClientID: task.ClientID, Field: fc.Field,
		OldValue: fieldValue(fc.Field, fc.Old), NewValue: fieldValue(fc.Field, fc.New), At: utc(fc.At), ActorRef: fc.ActorID,
		Raw: rawJSON(fc), DeletedAt: b.deletedAt(fc.Deleted),
	}
	if fc.ActorID != "" {
		who := b.res.Who(b.src, b.look, fc.ActorID)
		r.ActorPersonID, r.ActorSide = who.PersonID, who.Side
	}
	if r.ActorSide == "" {
		r.ActorSide = mapping.SideUnknown
	}
	r.Hash = store.Hash(r)
	return r
}

// fieldValue is a changed field's value as the task row would hold it: a
// title or description cleaned as the task's are, so that the history and
// the current value agree.
func fieldValue(field, v string) string {
	if field == record.FieldTitle || field == record.FieldDescription {
		return clean(v)
	}
	return v
}

func (b *builder) message(m record.Message) store.MessageRow {
	res := b.res.Message(b.src, m, b.look)
	r := store.MessageRow{
		SourceID: b.src.ID, ExternalID: m.ExternalID, Channel: m.Channel, ThreadKey: m.ThreadKey, ClientID: res.ClientID,
		AuthorName: clean(m.AuthorName), AuthorEmail: m.AuthorEmail, AuthorPersonID: res.Author.PersonID, AuthorSide: res.Author.Side,
		AuthorRef: cmp.Or(m.AuthorID, m.AuthorEmail),
		Direction: res.Direction, Automated: m.Automated, AutomatedReason: m.AutomatedReason, Subject: clean(m.Subject), Body: clean(m.Body),
		SentAt: utc(m.SentAt), EditedAt: utcPtr(m.EditedAt), Folder: m.Folder, Parents: "[]", TaskRefs: jsonList(m.TaskRefs), Raw: rawJSON(m), DeletedAt: b.deletedAt(m.Deleted),
	}
	if m.Channel == record.ChannelEmail {
		r.Fingerprint = m.Fingerprint()
		r.Parents = jsonList(m.Parents())
	}
	if res.Task != nil {
		r.TaskSourceID, r.TaskID = res.Task.SourceID, res.Task.ExternalID
	}
	r.Hash = store.Hash(r)
	return r
}

func (b *builder) timeEntry(e record.TimeEntry) store.TimeEntryRow {
	res := b.res.TimeEntry(b.src, e, b.look)
	project := e.ProjectName
	if project == "" {
		project = e.ProjectID
	}
	r := store.TimeEntryRow{
		SourceID: b.src.ID, ExternalID: e.ExternalID, PersonRef: e.PersonID, PersonName: clean(e.PersonName), PersonID: res.Person.PersonID,
		TaskRef: e.TaskID, Project: project, ClientID: res.ClientID, EntryDate: e.Date, StartAt: utcPtr(e.Start),
		Seconds: e.Seconds, Category: res.Category, Billable: res.Billable, Note: clean(e.Note), Tags: jsonList(e.Tags),
		Locked: e.Locked, Raw: rawJSON(e), DeletedAt: b.deletedAt(e.Deleted),
	}
	if res.Task != nil {
		r.TaskSourceID, r.TaskID = res.Task.SourceID, res.Task.ExternalID
	}
	r.Hash = store.Hash(r)
	return r
}
