package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Rows of the normalized tables. Each keeps the neutral record as pulled
// (Raw, JSON) beside the columns the mapping resolved, and a Hash of both:
// the store rewrites a row only when its hash changed.

// ContainerRow is a row of containers.
type ContainerRow struct {
	SourceID   string     `db:"source_id" json:"-"`
	ExternalID string     `db:"external_id" json:"-"`
	Kind       string     `db:"kind"`
	Name       string     `db:"name"`
	URL        string     `db:"url"`
	ClientID   string     `db:"client_id"`
	Closed     bool       `db:"closed"`
	Raw        string     `db:"raw"`
	Hash       string     `db:"hash" json:"-"`
	DeletedAt  *time.Time `db:"deleted_at" json:"-"`
	SyncedAt   time.Time  `db:"synced_at" json:"-"`
}

// SourcePersonRow is a row of source_people.
type SourcePersonRow struct {
	SourceID   string     `db:"source_id" json:"-"`
	ExternalID string     `db:"external_id" json:"-"`
	Username   string     `db:"username"`
	Name       string     `db:"name"`
	Email      string     `db:"email"`
	PersonID   string     `db:"person_id"`
	Side       string     `db:"side"`
	ClientID   string     `db:"client_id"`
	Raw        string     `db:"raw"`
	Hash       string     `db:"hash" json:"-"`
	DeletedAt  *time.Time `db:"deleted_at" json:"-"`
	SyncedAt   time.Time  `db:"synced_at" json:"-"`
}

// TaskRow is a row of tasks.
type TaskRow struct {
	SourceID        string `db:"source_id" json:"-"`
	ExternalID      string `db:"external_id" json:"-"`
	ContainerID     string `db:"container_id"`
	ShortRef        string `db:"short_ref"`
	ClientID        string `db:"client_id"`
	Title           string `db:"title"`
	Description     string `db:"description"`
	SourceStatus    string `db:"source_status"`
	Status          string `db:"status"`
	Labels          string `db:"labels"`
	AssigneeIDs     string `db:"assignee_ids"`
	CreatorPersonID string `db:"creator_person_id"`
	CreatorSide     string `db:"creator_side"`
	// CreatorRef and AssigneeRefs are the source's references of the
	// creator and the assignees (ids, logins), resolved or not.
	CreatorRef   string     `db:"creator_ref"`
	AssigneeRefs string     `db:"assignee_refs"`
	CreatedAt    time.Time  `db:"created_at"`
	DueAt        *time.Time `db:"due_at"`
	DueDone      bool       `db:"due_done"`
	Closed       bool       `db:"closed"`
	URL          string     `db:"url"`
	Raw          string     `db:"raw"`
	Hash         string     `db:"hash" json:"-"`
	DeletedAt    *time.Time `db:"deleted_at" json:"-"`
	SyncedAt     time.Time  `db:"synced_at" json:"-"`
}

// StatusChangeRow is a row of task_status_changes.
type StatusChangeRow struct {
	SourceID      string    `db:"source_id" json:"-"`
	ExternalID    string    `db:"external_id" json:"-"`
	TaskID        string    `db:"task_id"`
	ClientID      string    `db:"client_id"`
	FromSource    string    `db:"from_source"`
	ToSource      string    `db:"to_source"`
	FromStatus    string    `db:"from_status"`
	ToStatus      string    `db:"to_status"`
	At            time.Time `db:"at"`
	ActorPersonID string    `db:"actor_person_id"`
	ActorSide     string    `db:"actor_side"`
	// ActorRef is the source's reference of who moved the task.
	ActorRef  string     `db:"actor_ref"`
	Raw       string     `db:"raw"`
	Hash      string     `db:"hash" json:"-"`
	DeletedAt *time.Time `db:"deleted_at" json:"-"`
	SyncedAt  time.Time  `db:"synced_at" json:"-"`
}

// FieldChangeRow is a row of task_field_changes: one change of a task's
// field (record.FieldChange).
type FieldChangeRow struct {
	SourceID      string     `db:"source_id" json:"-"`
	ExternalID    string     `db:"external_id" json:"-"`
	TaskID        string     `db:"task_id"`
	ClientID      string     `db:"client_id"`
	Field         string     `db:"field"`
	OldValue      string     `db:"old_value"`
	NewValue      string     `db:"new_value"`
	At            time.Time  `db:"at"`
	ActorRef      string     `db:"actor_ref"`
	ActorPersonID string     `db:"actor_person_id"`
	ActorSide     string     `db:"actor_side"`
	Raw           string     `db:"raw"`
	Hash          string     `db:"hash" json:"-"`
	DeletedAt     *time.Time `db:"deleted_at" json:"-"`
	SyncedAt      time.Time  `db:"synced_at" json:"-"`
}

// HistorySpanRow is a row of history_spans: a span of a container's past
// over which a read held every change of its tasks. The zero From is the
// beginning, the zero To is now.
type HistorySpanRow struct {
	SourceID    string    `db:"source_id"`
	ContainerID string    `db:"container_id"`
	From        time.Time `db:"from_at"`
	To          time.Time `db:"to_at"`
	// Fields are the fields whose changes the read held, comma-separated;
	// "" for all of them.
	Fields string `db:"fields"`
}

// MessageRow is a row of messages.
type MessageRow struct {
	SourceID   string `db:"source_id" json:"-"`
	ExternalID string `db:"external_id" json:"-"`
	Channel    string `db:"channel"`
	// ThreadKey is the conversation: the task for comments, the thread's
	// root for email. An email's is kept by the threader (SetThreadKeys),
	// which follows the parents of every stored message of the source, so
	// it is not in the hash, and an upsert of an email leaves the stored
	// key alone (the record's own key is in Raw).
	ThreadKey      string `db:"thread_key" json:"-"`
	TaskSourceID   string `db:"task_source_id"`
	TaskID         string `db:"task_id"`
	ClientID       string `db:"client_id"`
	AuthorName     string `db:"author_name"`
	AuthorEmail    string `db:"author_email"`
	AuthorPersonID string `db:"author_person_id"`
	AuthorSide     string `db:"author_side"`
	// AuthorRef is the source's reference of the author: a member id, a
	// login, an email address.
	AuthorRef       string     `db:"author_ref"`
	Direction       string     `db:"direction"`
	Automated       bool       `db:"automated"`
	AutomatedReason string     `db:"automated_reason"`
	Subject         string     `db:"subject"`
	Body            string     `db:"body"`
	SentAt          time.Time  `db:"sent_at"`
	EditedAt        *time.Time `db:"edited_at"`
	Folder          string     `db:"folder"`
	// Fingerprint is an email's record.Message.Fingerprint: a different
	// message under a Message-ID already stored is stored apart.
	Fingerprint string `db:"fingerprint"`
	// Parents is the JSON list of the ids an email names as its parents:
	// References in order, then In-Reply-To.
	Parents string `db:"parents"`
	// TaskRefs is the JSON list of the task references in the text.
	TaskRefs  string     `db:"task_refs"`
	Raw       string     `db:"raw"`
	Hash      string     `db:"hash" json:"-"`
	DeletedAt *time.Time `db:"deleted_at" json:"-"`
	SyncedAt  time.Time  `db:"synced_at" json:"-"`
}

// TimeEntryRow is a row of time_entries.
type TimeEntryRow struct {
	SourceID     string     `db:"source_id" json:"-"`
	ExternalID   string     `db:"external_id" json:"-"`
	PersonRef    string     `db:"person_ref"`
	PersonName   string     `db:"person_name"`
	PersonID     string     `db:"person_id"`
	TaskRef      string     `db:"task_ref"`
	TaskSourceID string     `db:"task_source_id"`
	TaskID       string     `db:"task_id"`
	Project      string     `db:"project"`
	ClientID     string     `db:"client_id"`
	EntryDate    string     `db:"entry_date"`
	StartAt      *time.Time `db:"start_at"`
	Seconds      int64      `db:"seconds"`
	Category     string     `db:"category"`
	Billable     bool       `db:"billable"`
	Note         string     `db:"note"`
	Tags         string     `db:"tags"`
	Locked       bool       `db:"locked"`
	Raw          string     `db:"raw"`
	Hash         string     `db:"hash" json:"-"`
	DeletedAt    *time.Time `db:"deleted_at" json:"-"`
	SyncedAt     time.Time  `db:"synced_at" json:"-"`
}

// Hash returns the content hash of a row: every column but the keys, the
// hash itself, deleted_at and synced_at (the fields tagged json:"-"; the raw
// record says whether the source deleted it). Two rows with equal hashes hold
// the same data. Fields are fed to SHA-256 directly, length-prefixed, rather
// than through a JSON encoding: the row's raw record is already JSON, and
// encoding it again costs more than the rest of resolving a row.
func Hash(row any) string {
	h := sha256.New()
	hashValue(h, reflect.ValueOf(row))
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

var timeType = reflect.TypeOf(time.Time{})

func hashValue(h hash.Hash, v reflect.Value) {
	var buf [8]byte
	putInt := func(n int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	switch {
	case v.Type() == timeType:
		putInt(v.Interface().(time.Time).UnixNano())
		return
	}
	switch v.Kind() {
	case reflect.String:
		putInt(int64(v.Len()))
		io.WriteString(h, v.String())
	case reflect.Bool:
		if v.Bool() {
			putInt(1)
		} else {
			putInt(0)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		putInt(v.Int())
	case reflect.Float64, reflect.Float32:
		putInt(int64(math.Float64bits(v.Float())))
	case reflect.Pointer:
		if v.IsNil() {
			putInt(-1 << 63)
			return
		}
		putInt(0)
		hashValue(h, v.Elem())
	case reflect.Slice:
		putInt(int64(v.Len()))
		for i := range v.Len() {
			hashValue(h, v.Index(i))
		}
	case reflect.Struct:
		for _, i := range hashLayout(v.Type()) {
			hashValue(h, v.Field(i))
		}
	default:
		panic(fmt.Sprintf("store: Hash cannot hash a %s", v.Type())) // rows hold only the kinds above
	}
}

var (
	hashMu      sync.Mutex
	hashLayouts = map[reflect.Type][]int{}
)

// hashLayout lists the fields of a row type that Hash covers.
func hashLayout(t reflect.Type) []int {
	hashMu.Lock()
	defer hashMu.Unlock()
	if l, ok := hashLayouts[t]; ok {
		return l
	}
	var l []int
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && f.Tag.Get("json") != "-" {
			l = append(l, i)
		}
	}
	hashLayouts[t] = l
	return l
}

// table describes a normalized table from its row type.
type table struct {
	name    string
	columns []string
	fields  []int
	// jsonLists are the fields of JSON list columns, which an empty
	// string would not fit.
	jsonLists []int
}

// jsonListFields name the row fields of JSON list columns.
var jsonListFields = map[string]bool{"Labels": true, "AssigneeIDs": true, "AssigneeRefs": true, "Tags": true, "Parents": true, "TaskRefs": true}

var (
	tablesMu sync.Mutex
	tables   = map[reflect.Type]*table{}
)

var tableNames = map[reflect.Type]string{
	reflect.TypeOf(ContainerRow{}):    "containers",
	reflect.TypeOf(SourcePersonRow{}): "source_people",
	reflect.TypeOf(TaskRow{}):         "tasks",
	reflect.TypeOf(StatusChangeRow{}): "task_status_changes",
	reflect.TypeOf(FieldChangeRow{}):  "task_field_changes",
	reflect.TypeOf(MessageRow{}):      "messages",
	reflect.TypeOf(TimeEntryRow{}):    "time_entries",
}

// Tables lists the normalized tables in the order a batch is written:
// containers before the tasks in them, tasks before what links to them.
var Tables = []string{"containers", "source_people", "tasks", "task_status_changes", "task_field_changes", "messages", "time_entries"}

func tableOf(t reflect.Type) *table {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if tb, ok := tables[t]; ok {
		return tb
	}
	tb := &table{name: tableNames[t]}
	for i := range t.NumField() {
		if col := t.Field(i).Tag.Get("db"); col != "" {
			tb.columns = append(tb.columns, strings.Split(col, ",")[0])
			tb.fields = append(tb.fields, i)
		}
		if jsonListFields[t.Field(i).Name] {
			tb.jsonLists = append(tb.jsonLists, i)
		}
	}
	tables[t] = tb
	return tb
}

func (tb *table) values(v reflect.Value, out []any) []any {
	for _, f := range tb.fields {
		out = append(out, v.Field(f).Interface())
	}
	return out
}
