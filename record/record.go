// Package record holds the neutral record types that every stage of karkas
// exchanges: connectors emit them, mapping resolves them, the store keeps them.
//
// A record carries the source's own references (board id, list name, member
// id, email address), never the agency's model: which client, which person or
// which normalized status is decided later by the mapping package.
//
// This package must not import any other karkas package, nor anything outside
// the standard library, so that every connector can depend on it cheaply.
package record

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Container kinds.
const (
	ContainerBoard   = "board"
	ContainerRepo    = "repo"
	ContainerMailbox = "mailbox"
	ContainerProject = "tracker_project"
)

// Message channels.
const (
	ChannelCardComment  = "card_comment"
	ChannelIssueComment = "issue_comment"
	ChannelEmail        = "email"
)

// Container is a board, a repository, a mailbox or a time-tracker project:
// the unit the mapping assigns to a client.
type Container struct {
	ExternalID string `json:"external_id"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	URL        string `json:"url,omitempty"`
	// Closed is true for a closed board, an archived repo or project.
	Closed bool `json:"closed,omitempty"`
	// Lists are the board's columns (or a tracker's statuses), in order.
	Lists []List `json:"lists,omitempty"`
	// Deleted marks a container gone upstream; the store soft-deletes it.
	Deleted bool `json:"deleted,omitempty"`
	// History says which span of the container's past this read holds
	// every change of its tasks for (status moves and FieldChanges). Nil:
	// the source reports no field history, only current values.
	History *History `json:"history,omitempty"`
}

// History is the span of a container's past over which a read holds every
// change of its tasks: From the zero time means from the beginning (an API
// read of every action, an export holding less than its cap); To the zero
// time means up to now, the read being continued by the next pull (an API
// source with a cursor). A board export cut at its cap of newest actions
// holds [its oldest action, its newest action]. Fields names the fields
// whose changes the read holds (FieldTitle...); empty means all of them.
// A source whose API shows some changes and not others (GitHub's issue
// events name labels, assignees, titles and closing, never an edit of the
// body) lists the ones it holds.
type History struct {
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Fields []string  `json:"fields,omitempty"`
}

// List is one column of a board.
type List struct {
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	Closed     bool   `json:"closed,omitempty"`
}

// Person is someone a source knows: a Trello member, a tracker user, a
// GitHub login, an email correspondent.
type Person struct {
	ExternalID string `json:"external_id"`
	Username   string `json:"username,omitempty"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Deleted    bool   `json:"deleted,omitempty"`
}

// Checklist is a named checklist on a task.
type Checklist struct {
	Name  string `json:"name"`
	Items int    `json:"items"`
	Done  int    `json:"done"`
}

// Task is a card, an issue or a tracker task.
type Task struct {
	ExternalID  string `json:"external_id"`
	ContainerID string `json:"container_id"`
	// ShortRef is a second way the source names the task (a Trello short
	// link, an issue number) that other sources may use to link to it.
	ShortRef    string `json:"short_ref,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Status is the source's own status: a list name, an issue state.
	Status     string      `json:"status"`
	StatusID   string      `json:"status_id,omitempty"`
	Labels     []string    `json:"labels,omitempty"`
	Assignees  []string    `json:"assignees,omitempty"`
	CreatorID  string      `json:"creator_id,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at,omitzero"`
	DueAt      *time.Time  `json:"due_at,omitempty"`
	DueDone    bool        `json:"due_done,omitempty"`
	Checklists []Checklist `json:"checklists,omitempty"`
	// Fields are the task's custom fields by name, each value as the
	// source shows it (a list field's chosen option, a number, a date).
	Fields map[string]string `json:"fields,omitempty"`
	URL    string            `json:"url,omitempty"`
	// Closed is true for an archived card or a closed issue.
	Closed  bool `json:"closed,omitempty"`
	Deleted bool `json:"deleted,omitempty"`
}

// StatusChange is one move of a task between source statuses (a list move).
type StatusChange struct {
	ExternalID string    `json:"external_id"`
	TaskID     string    `json:"task_id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actor_id,omitempty"`
	Deleted    bool      `json:"deleted,omitempty"`
}

// Task fields whose changes sources report (FieldChange.Field). Single
// values (title, description, due, closed) carry Old and New; lists
// (assignees, labels, checklists) carry one element a change added (New)
// or removed (Old). A due date is RFC 3339 in UTC, or "" for none; closed
// and due_done (the due date marked complete) are "true" or "false"; assignees are the source's person ids, as in
// Task.Assignees; labels and checklists are names, as in Task.Labels and
// Task.Checklists.
const (
	FieldTitle       = "title"
	FieldDescription = "description"
	FieldDue         = "due"
	FieldDueDone     = "due_done"
	FieldClosed      = "closed"
	FieldAssignees   = "assignees"
	FieldLabels      = "labels"
	FieldChecklists  = "checklists"
)

// FieldChange is one change of a task's field as its source reports it
// (a Trello updateCard with its old value, addMemberToCard, an issue's
// labeled event), so that what a task carried at an instant can be told
// from what it carries now. Status moves are StatusChanges.
type FieldChange struct {
	// ExternalID is unique within the source: the action or event id,
	// with "/" and the field when one action changes several fields.
	ExternalID string    `json:"external_id"`
	TaskID     string    `json:"task_id"`
	Field      string    `json:"field"`
	Old        string    `json:"old,omitempty"`
	New        string    `json:"new,omitempty"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actor_id,omitempty"`
	Deleted    bool      `json:"deleted,omitempty"`
}

// DueValue is a due date as a FieldChange holds it.
func DueValue(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Attachment is recorded by name and size only; karkas never keeps the bytes.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
}

// Message is a card comment, an issue comment or an email.
type Message struct {
	ExternalID string `json:"external_id"`
	Channel    string `json:"channel"`
	// ThreadKey groups messages of one conversation: the task id for
	// comments, the root Message-ID for email.
	ThreadKey   string    `json:"thread_key"`
	TaskID      string    `json:"task_id,omitempty"`
	ContainerID string    `json:"container_id,omitempty"`
	AuthorID    string    `json:"author_id,omitempty"`
	AuthorName  string    `json:"author_name,omitempty"`
	AuthorEmail string    `json:"author_email,omitempty"`
	To          []string  `json:"to,omitempty"`
	Cc          []string  `json:"cc,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Body        string    `json:"body"`
	SentAt      time.Time `json:"sent_at"`
	// SentAtFrom says where SentAt came from when it is not the message's
	// own date (an email's Date header, a comment's time): one of the
	// SentAtFrom* values. Empty means the message's own date.
	SentAtFrom string     `json:"sent_at_from,omitempty"`
	EditedAt   *time.Time `json:"edited_at,omitempty"`
	// Automated is true for auto-replies, bounces, bulk mail and bots; such a
	// message never counts as a human reply. AutomatedReason says why.
	Automated       bool         `json:"automated,omitempty"`
	AutomatedReason string       `json:"automated_reason,omitempty"`
	InReplyTo       string       `json:"in_reply_to,omitempty"`
	References      []string     `json:"references,omitempty"`
	Folder          string       `json:"folder,omitempty"`
	Attachments     []Attachment `json:"attachments,omitempty"`
	// TaskRefs are references to tasks found in the text (Trello card
	// URLs or short links) that mapping may use to link the message.
	TaskRefs []string `json:"task_refs,omitempty"`
	Deleted  bool     `json:"deleted,omitempty"`
}

// Where an email's SentAt came from when it had no readable Date header,
// in the order they are tried.
const (
	SentAtFromReceived  = "received"     // the newest Received: header's date
	SentAtFromMboxLine  = "mbox_from"    // the date on the mbox "From " line
	SentAtFromDelivery  = "internaldate" // the IMAP server's INTERNALDATE
	SentAtFromFileMTime = "file_mtime"   // the .eml file's modification time
)

// Fingerprint identifies a message's content, whatever folder or file it
// was read from: its author, recipients, date, subject and text. Two
// copies of one message (INBOX and Archive) have the same fingerprint; two
// different messages a mailer gave the same Message-ID do not. It is 12
// hex digits of a SHA-256.
//
// A date the copy itself does not carry (SentAtFrom the mbox line, the
// server's INTERNALDATE, the file's time) differs between copies of one
// message, so it is left out: only a Date or Received header, which every
// copy holds alike, counts.
func (m *Message) Fingerprint() string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(strings.ToLower(m.AuthorEmail))
	field(strings.ToLower(strings.Join(m.To, ",")))
	field(strings.ToLower(strings.Join(m.Cc, ",")))
	if m.SentAtFrom == "" || m.SentAtFrom == SentAtFromReceived {
		field(m.SentAt.UTC().Format(time.RFC3339Nano))
	} else {
		field("")
	}
	field(m.Subject)
	field(m.Body)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Parents lists the ids an email names as its parents, oldest first:
// References in order, then In-Reply-To when it is not already the last of
// them. The message's own id and repeats are left out.
func (m *Message) Parents() []string {
	out := make([]string, 0, len(m.References)+1)
	add := func(id string) {
		if id != "" && id != m.ExternalID && (len(out) == 0 || out[len(out)-1] != id) {
			out = append(out, id)
		}
	}
	for _, r := range m.References {
		add(r)
	}
	add(m.InReplyTo)
	return out
}

// TimeEntry is one logged span of work.
type TimeEntry struct {
	ExternalID string `json:"external_id"`
	// PersonID is the tracker's user id, or a name or email where an
	// export has no ids.
	PersonID    string `json:"person_id"`
	PersonName  string `json:"person_name,omitempty"`
	PersonEmail string `json:"person_email,omitempty"`
	// TaskID is the tracker's task id; for Everhour tasks linked to Trello
	// it reads "tr:<card id or short link>".
	TaskID      string     `json:"task_id,omitempty"`
	TaskName    string     `json:"task_name,omitempty"`
	ProjectID   string     `json:"project_id,omitempty"`
	ProjectName string     `json:"project_name,omitempty"`
	ClientName  string     `json:"client_name,omitempty"`
	Date        string     `json:"date"` // YYYY-MM-DD in the tracker's zone
	Start       *time.Time `json:"start,omitempty"`
	Seconds     int64      `json:"seconds"`
	Billable    *bool      `json:"billable,omitempty"`
	Note        string     `json:"note,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	Locked      bool       `json:"locked,omitempty"`
	Deleted     bool       `json:"deleted,omitempty"`
}

// Problem is a piece of input that could not be turned into a record: a
// malformed email, a bad CSV row. It is stored and reported; the rest of the
// run goes on.
type Problem struct {
	// Where names the input: a file and line, a message number, an API route.
	Where   string `json:"where"`
	Message string `json:"message"`
	// Warning says the input was stored anyway and the problem is a note
	// on it (a repaired header, a date taken from elsewhere), not a
	// refusal: a reader counts it among what was stored, never among what
	// was skipped.
	Warning bool `json:"warning,omitempty"`
}

// Tally counts what a source read in its own units of input (messages,
// files, rows), for the run's summary: every unit read is stored, refused
// (with a Problem saying where and why) or merged into one read before as
// the same (a message in INBOX and in Archive). Stored + Refused + Merged
// is Read. Warned counts the stored units that came with a warning
// Problem. A batch carries the counts of what it adds, not running totals.
type Tally struct {
	// Unit names what is counted, plural: "messages".
	Unit                                  string
	Read, Stored, Refused, Merged, Warned int
}

// Add adds o's counts into t; t takes o's unit when it has none.
func (t *Tally) Add(o Tally) {
	if t.Unit == "" {
		t.Unit = o.Unit
	}
	t.Read += o.Read
	t.Stored += o.Stored
	t.Refused += o.Refused
	t.Merged += o.Merged
	t.Warned += o.Warned
}

// Adds reports whether the counts add up: Stored + Refused + Merged = Read
// and no more than Stored were warned about.
func (t Tally) Adds() bool {
	return t.Stored+t.Refused+t.Merged == t.Read && t.Warned <= t.Stored && min(t.Read, t.Stored, t.Refused, t.Merged, t.Warned) >= 0
}

// Batch is what a source hands to the engine at once. The engine stores
// every record of a batch and the batch's cursor in one transaction.
type Batch struct {
	Containers    []Container
	People        []Person
	Tasks         []Task
	StatusChanges []StatusChange
	FieldChanges  []FieldChange
	Messages      []Message
	TimeEntries   []TimeEntry
	Problems      []Problem
	// Cursor, when not empty, is the source's position after this batch;
	// the engine saves it with the batch and hands it back on the next run.
	Cursor string
	// EndOfSnapshot says that this pull emitted everything the source holds
	// (a file export read whole): rows of this source that the pull did not
	// emit are gone upstream, and the engine soft-deletes them. Only the
	// last batch of a pull may set it.
	EndOfSnapshot bool
	// Snapshot, on the batch that sets EndOfSnapshot, narrows what the
	// pull holds whole to these scopes: only rows inside them that the
	// pull did not emit are soft-deleted, and the rest of what the source
	// holds is kept. A board export, which holds only the newest actions,
	// names the span its actions cover, so history older than that is
	// never taken for deleted. Empty means the whole source.
	Snapshot []Scope
	// Complete lists parts of the source that this batch holds whole: a
	// card's comments re-read, a window of time entries re-pulled. Live
	// rows of the source inside such a scope that the batch does not hold
	// are gone upstream, and the engine soft-deletes them in the batch's
	// transaction. A scope must fit in one batch; split a large one by
	// container or time window.
	Complete []Scope
	// Tally counts the input this batch's records and problems came from,
	// for sources that read units of their own (see Tally). Zero for
	// sources that do not count.
	Tally Tally
}

// Scope names a part of a source's records; see Batch.Complete. Empty
// fields do not narrow it.
type Scope struct {
	// Kind is the records in scope: ScopeTasks, ScopeStatusChanges (a
	// task's history: its status changes and its field changes, which
	// sources read from one stream of actions or events),
	// ScopeMessages or ScopeTimeEntries.
	Kind string
	// ContainerID keeps the records of one container (a board): tasks
	// in it, and status changes and messages of its tasks. Not for time
	// entries.
	ContainerID string
	// TaskID keeps the records of one task of the same source: the task,
	// its status changes, its messages. Not for time entries.
	TaskID string
	// From and To keep records whose own time lies in [From, To): a
	// task's CreatedAt, a status change's At, a message's SentAt, a time
	// entry's Date (compared as dates in UTC). Zero means unbounded.
	From, To time.Time
}

// Scope kinds.
const (
	ScopeTasks         = "tasks"
	ScopeStatusChanges = "status_changes"
	ScopeMessages      = "messages"
	ScopeTimeEntries   = "time_entries"
)

// Validate reports a scope the engine cannot apply.
func (s Scope) Validate() error {
	switch s.Kind {
	case ScopeTasks, ScopeStatusChanges, ScopeMessages:
	case ScopeTimeEntries:
		if s.ContainerID != "" || s.TaskID != "" {
			return fmt.Errorf("scope %s: only From and To narrow time entries", s.Kind)
		}
	default:
		return fmt.Errorf("scope kind %q is not one of tasks, status_changes, messages, time_entries", s.Kind)
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.To.After(s.From) {
		return fmt.Errorf("scope %s: To %s is not after From %s", s.Kind, s.To.Format(time.RFC3339), s.From.Format(time.RFC3339))
	}
	return nil
}

// Len is the number of records in the batch, problems excluded.
func (b *Batch) Len() int {
	return len(b.Containers) + len(b.People) + len(b.Tasks) + len(b.StatusChanges) + len(b.FieldChanges) +
		len(b.Messages) + len(b.TimeEntries)
}

// Split cuts a batch into batches of at most size records, in the order
// containers, people, tasks, status changes, field changes, messages, time entries, so
// that what a record refers to is stored no later than the record. The
// batch's problems, cursor, scopes and flags are not carried over: Split is
// for a batch of records only, whose parts the caller then dresses.
func (b *Batch) Split(size int) []*Batch {
	if b.Len() <= size {
		return []*Batch{b}
	}
	var out []*Batch
	cur := &Batch{}
	flush := func() {
		if cur.Len() >= size {
			out = append(out, cur)
			cur = &Batch{}
		}
	}
	for _, x := range b.Containers {
		cur.Containers = append(cur.Containers, x)
		flush()
	}
	for _, x := range b.People {
		cur.People = append(cur.People, x)
		flush()
	}
	for _, x := range b.Tasks {
		cur.Tasks = append(cur.Tasks, x)
		flush()
	}
	for _, x := range b.StatusChanges {
		cur.StatusChanges = append(cur.StatusChanges, x)
		flush()
	}
	for _, x := range b.FieldChanges {
		cur.FieldChanges = append(cur.FieldChanges, x)
		flush()
	}
	for _, x := range b.Messages {
		cur.Messages = append(cur.Messages, x)
		flush()
	}
	for _, x := range b.TimeEntries {
		cur.TimeEntries = append(cur.TimeEntries, x)
		flush()
	}
	if cur.Len() > 0 || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}
