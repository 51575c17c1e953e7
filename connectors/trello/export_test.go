package trello_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/record"
)

// Ids in testdata/board.json.
const (
	boardID = "659bb990c0ffee0000000001"

	anna  = "5eabf320c0ffee0000000a01"
	boris = "5eabf320c0ffee0000000a02"
	olga  = "603df080c0ffee0000000a03"
	bot   = "62c68470c0ffee0000000a04"

	listBacklog = "659bb9ccc0ffee0000000101"
	listDoing   = "659bba08c0ffee0000000102" // renamed from "Doing" to "В работе"
	listReview  = "659bba44c0ffee0000000103"
	listDone    = "659bba80c0ffee0000000104"
	listOld     = "659bbabcc0ffee0000000105" // closed

	cardLanding   = "659d1920c0ffee0000000301"
	cardLogo      = "65a10da0c0ffee0000000302" // no creation action, no description
	cardBanner    = "659d2730c0ffee0000000303" // archived
	cardSEO       = "659e4e80c0ffee0000000304"
	cardNewsltr   = "65a68be0c0ffee0000000305"
	cardAnalytics = "65a3b0a0c0ffee0000000306" // copied
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tp(s string) *time.Time {
	t := ts(s)
	return &t
}

// testdataPath returns the absolute path of a fixture.
func testdataPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T, opts trello.ExportOptions, baseDir string) *trello.Export {
	t.Helper()
	if opts.BatchSize == 0 {
		opts.BatchSize = trello.DefaultBatchSize
	}
	src, err := trello.NewExport(opts, connectors.Env{BaseDir: baseDir})
	if err != nil {
		t.Fatalf("NewExport: %v", err)
	}
	return src
}

// pull runs one pull and returns the batches it emitted.
func pull(t *testing.T, src connectors.Source, cursor string) []*record.Batch {
	t.Helper()
	var got []*record.Batch
	err := src.Pull(context.Background(), cursor, func(_ context.Context, b *record.Batch) error {
		got = append(got, b)
		return nil
	})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	return got
}

// merged joins the batches of a pull into one, cursor, end mark and
// snapshot scopes from the last.
func merged(bs []*record.Batch) record.Batch {
	var m record.Batch
	for _, b := range bs {
		m.Containers = append(m.Containers, b.Containers...)
		m.People = append(m.People, b.People...)
		m.Tasks = append(m.Tasks, b.Tasks...)
		m.StatusChanges = append(m.StatusChanges, b.StatusChanges...)
		m.Messages = append(m.Messages, b.Messages...)
		m.TimeEntries = append(m.TimeEntries, b.TimeEntries...)
		m.Problems = append(m.Problems, b.Problems...)
		m.Cursor, m.EndOfSnapshot, m.Snapshot = b.Cursor, b.EndOfSnapshot, b.Snapshot
	}
	return m
}

func pullBoard(t *testing.T) record.Batch {
	t.Helper()
	src := open(t, trello.ExportOptions{Files: []string{"board.json"}}, testdataPath(t, ""))
	bs := pull(t, src, "")
	if len(bs) != 1 {
		t.Fatalf("got %d batches, want 1", len(bs))
	}
	return merged(bs)
}

func TestExportContainer(t *testing.T) {
	t.Parallel()
	b := pullBoard(t)
	want := []record.Container{{
		ExternalID: boardID,
		Kind:       record.ContainerBoard,
		Name:       "Acme Foods — сайт",
		URL:        "https://trello.com/b/AcMeB0rd/acme-foods-sait",
		Lists: []record.List{
			{ExternalID: listBacklog, Name: "Backlog"},
			{ExternalID: listDoing, Name: "В работе"},
			{ExternalID: listReview, Name: "Review"},
			{ExternalID: listDone, Name: "Done"},
			{ExternalID: listOld, Name: "Old ideas", Closed: true},
		},
		// 23 actions, under the export's cap: the whole history, up to
		// just after the newest action.
		History: &record.History{To: time.Date(2024, 1, 17, 10, 30, 0, int(time.Millisecond), time.UTC)},
	}}
	if !reflect.DeepEqual(b.Containers, want) {
		t.Errorf("containers:\n got %+v\nwant %+v", b.Containers, want)
	}
	if len(b.Problems) != 0 {
		t.Errorf("problems: %+v", b.Problems)
	}
}

func TestExportPeople(t *testing.T) {
	t.Parallel()
	b := pullBoard(t)
	// Members by id, and the bot that is no member but wrote a comment.
	want := []record.Person{
		{ExternalID: anna, Username: "annapetrova", Name: "Anna Petrova"},
		{ExternalID: boris, Username: "borisivanov", Name: "Boris Ivanov"},
		{ExternalID: olga, Username: "olgasmirnova", Name: "Ольга Смирнова"},
		{ExternalID: bot, Username: "deploybot", Name: "Deploy Bot"},
	}
	if !reflect.DeepEqual(b.People, want) {
		t.Errorf("people:\n got %+v\nwant %+v", b.People, want)
	}
}

func TestExportTasks(t *testing.T) {
	t.Parallel()
	b := pullBoard(t)
	tests := []struct {
		name string
		want record.Task
	}{
		{
			name: "created by a client member, moved to done, due met",
			want: record.Task{
				ExternalID: cardLanding, ContainerID: boardID, ShortRef: "Crd00001",
				Title: "Landing page", Description: "Hero block, pricing table, contact form.",
				Status: "Done", StatusID: listDone, Labels: []string{"Urgent"}, Assignees: []string{anna},
				CreatorID: olga, CreatedAt: ts("2024-01-09T10:00:00Z"), UpdatedAt: ts("2024-01-16T08:30:00Z"),
				DueAt: tp("2024-02-01T17:00:00Z"), DueDone: true,
				URL: "https://trello.com/c/Crd00001/1-landing-page",
			},
		},
		{
			name: "no creation action: created at the id's time; no description; label without name",
			want: record.Task{
				ExternalID: cardLogo, ContainerID: boardID, ShortRef: "Crd00002", Title: "Логотип",
				Status: "В работе", StatusID: listDoing, Labels: []string{"green", "Клиент"}, Assignees: []string{anna, boris},
				CreatedAt: ts("2024-01-12T10:00:00Z"), UpdatedAt: ts("2024-01-18T09:00:00Z"),
				Checklists: []record.Checklist{{Name: "Steps", Items: 3, Done: 2}},
				URL:        "https://trello.com/c/Crd00002/2-логотип",
			},
		},
		{
			name: "archived card in a closed list",
			want: record.Task{
				ExternalID: cardBanner, ContainerID: boardID, ShortRef: "Crd00003", Title: "Old banner",
				Description: "Winter sale banner.", Status: "Old ideas", StatusID: listOld,
				CreatorID: boris, CreatedAt: ts("2024-01-09T11:00:00Z"), UpdatedAt: ts("2024-01-17T10:00:00Z"),
				URL: "https://trello.com/c/Crd00003/3-old-banner", Closed: true,
			},
		},
		{
			name: "created at the action's time, not the id's",
			want: record.Task{
				ExternalID: cardSEO, ContainerID: boardID, ShortRef: "Crd00004", Title: "SEO audit",
				Description: "Audit of the current site.", Status: "Review", StatusID: listReview, Assignees: []string{boris},
				CreatorID: anna, CreatedAt: ts("2024-01-10T08:00:00.123Z"), UpdatedAt: ts("2024-01-11T13:00:00Z"),
				URL: "https://trello.com/c/Crd00004/4-seo-audit",
			},
		},
		{
			name: "due not done",
			want: record.Task{
				ExternalID: cardNewsltr, ContainerID: boardID, ShortRef: "Crd00005", Title: "Newsletter",
				Description: "February issue.", Status: "Backlog", StatusID: listBacklog, Labels: []string{"Urgent"},
				CreatorID: anna, CreatedAt: ts("2024-01-16T14:00:00Z"), UpdatedAt: ts("2024-01-16T14:06:00Z"),
				DueAt: tp("2024-02-05T09:00:00Z"), URL: "https://trello.com/c/Crd00005/5-newsletter",
			},
		},
		{
			name: "copied card; checklists in position order",
			want: record.Task{
				ExternalID: cardAnalytics, ContainerID: boardID, ShortRef: "Crd00006", Title: "Analytics",
				Description: "GA4 and goals.", Status: "Review", StatusID: listReview, Assignees: []string{anna},
				CreatorID: boris, CreatedAt: ts("2024-01-14T10:00:00Z"), UpdatedAt: ts("2024-01-14T10:00:00Z"),
				Checklists: []record.Checklist{{Name: "Setup", Items: 3, Done: 3}, {Name: "QA", Items: 2, Done: 0}},
				URL:        "https://trello.com/c/Crd00006/6-analytics",
			},
		},
	}
	if len(b.Tasks) != len(tests) {
		t.Fatalf("got %d tasks, want %d", len(b.Tasks), len(tests))
	}
	for i := 1; i < len(b.Tasks); i++ {
		if b.Tasks[i-1].ExternalID >= b.Tasks[i].ExternalID {
			t.Errorf("tasks not in id order: %s before %s", b.Tasks[i-1].ExternalID, b.Tasks[i].ExternalID)
		}
	}
	byID := map[string]record.Task{}
	for _, task := range b.Tasks {
		byID[task.ExternalID] = task
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := byID[tt.want.ExternalID]
			if !ok {
				t.Fatalf("no task %s", tt.want.ExternalID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
			if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
				t.Errorf("times not in UTC: %v %v", got.CreatedAt, got.UpdatedAt)
			}
		})
	}
}

func TestExportStatusChanges(t *testing.T) {
	t.Parallel()
	b := pullBoard(t)
	// Oldest first. The renamed list reads by its current name in every
	// change; the list that left the board keeps the action's name.
	want := []record.StatusChange{
		{ExternalID: "659d1920c0ffee0000000401", TaskID: cardLanding, From: "", To: "Backlog", At: ts("2024-01-09T10:00:00Z"), ActorID: olga},
		{ExternalID: "659d2730c0ffee0000000402", TaskID: cardBanner, From: "", To: "Old ideas", At: ts("2024-01-09T11:00:00Z"), ActorID: boris},
		{ExternalID: "659e4e80c0ffee0000000403", TaskID: cardSEO, From: "", To: "Inbox", At: ts("2024-01-10T08:00:00.123Z"), ActorID: anna},
		{ExternalID: "659e6014c0ffee0000000404", TaskID: cardLanding, From: "Backlog", To: "В работе", At: ts("2024-01-10T09:15:00Z"), ActorID: anna},
		{ExternalID: "659fae10c0ffee0000000406", TaskID: cardSEO, From: "Inbox", To: "Review", At: ts("2024-01-11T09:00:00Z"), ActorID: anna},
		{ExternalID: "65a01080c0ffee000000040a", TaskID: cardLanding, From: "В работе", To: "Review", At: ts("2024-01-11T16:00:00Z"), ActorID: anna},
		{ExternalID: "65a11bb0c0ffee000000040b", TaskID: cardLanding, From: "Review", To: "В работе", At: ts("2024-01-12T11:00:00Z"), ActorID: boris},
		{ExternalID: "65a3b0a0c0ffee0000000410", TaskID: cardAnalytics, From: "", To: "Review", At: ts("2024-01-14T10:00:00Z"), ActorID: boris},
		{ExternalID: "65a51e40c0ffee0000000411", TaskID: cardLanding, From: "В работе", To: "Review", At: ts("2024-01-15T12:00:00Z"), ActorID: anna},
		{ExternalID: "65a63e88c0ffee0000000412", TaskID: cardLanding, From: "Review", To: "Done", At: ts("2024-01-16T08:30:00Z"), ActorID: boris},
		{ExternalID: "65a68be0c0ffee0000000413", TaskID: cardNewsltr, From: "", To: "Backlog", At: ts("2024-01-16T14:00:00Z"), ActorID: anna},
	}
	if len(b.StatusChanges) != len(want) {
		t.Fatalf("got %d status changes, want %d:\n%+v", len(b.StatusChanges), len(want), b.StatusChanges)
	}
	for i := range want {
		if !reflect.DeepEqual(b.StatusChanges[i], want[i]) {
			t.Errorf("status change %d:\n got %+v\nwant %+v", i, b.StatusChanges[i], want[i])
		}
	}
}

func TestExportMessages(t *testing.T) {
	t.Parallel()
	b := pullBoard(t)
	comment := func(id, author, name, body, at string, edited *time.Time) record.Message {
		return record.Message{
			ExternalID: id, Channel: record.ChannelCardComment, ThreadKey: cardSEO, TaskID: cardSEO,
			ContainerID: boardID, AuthorID: author, AuthorName: name, Body: body, SentAt: ts(at), EditedAt: edited,
		}
	}
	// The comment on the deleted card is left out; the bot's is kept.
	want := []record.Message{
		comment("659fbc20c0ffee0000000407", olga, "Ольга Смирнова", "Добрый день! Когда будет готов аудит?", "2024-01-11T10:00:00Z", nil),
		comment("659fdf48c0ffee0000000408", anna, "Anna Petrova", "Tomorrow by noon, sorry for the wait.", "2024-01-11T12:30:00Z", tp("2024-01-11T12:45:10.5Z")),
		comment("659fe650c0ffee0000000409", bot, "Deploy Bot", "Deployed preview to https://staging.acme.test", "2024-01-11T13:00:00Z", nil),
	}
	if !reflect.DeepEqual(b.Messages, want) {
		t.Errorf("messages:\n got %+v\nwant %+v", b.Messages, want)
	}
}

func TestExportBatchesAndCursor(t *testing.T) {
	t.Parallel()
	base := testdataPath(t, "")
	whole := pullBoard(t)
	for _, size := range []int{1, 4, 7, 25, 26} {
		src := open(t, trello.ExportOptions{Files: []string{"board.json"}, BatchSize: size}, base)
		bs := pull(t, src, "")
		for i, b := range bs {
			if n := b.Len() + len(b.Problems); n > size {
				t.Errorf("size %d: batch %d holds %d records", size, i, n)
			}
			last := i == len(bs)-1
			if last != (b.Cursor != "") || last != b.EndOfSnapshot {
				t.Errorf("size %d: batch %d of %d: cursor %q, end of snapshot %v", size, i, len(bs), b.Cursor, b.EndOfSnapshot)
			}
		}
		if got := merged(bs); !reflect.DeepEqual(got, whole) {
			t.Errorf("size %d: batches differ from a single batch", size)
		}
	}
	// The cursor holds the files' fingerprint (a hex sha256) and the boards
	// they held.
	if !regexp.MustCompile(`^\{"files":"[0-9a-f]{64}","boards":\{"` + boardID + `":\{"file":"board.json"`).MatchString(whole.Cursor) {
		t.Errorf("cursor %q does not hold the fingerprint and the board", whole.Cursor)
	}
}

func TestExportDeterministic(t *testing.T) {
	t.Parallel()
	src := open(t, trello.ExportOptions{Files: []string{"*.json"}, BatchSize: 5}, testdataPath(t, ""))
	first := pull(t, src, "")
	second := pull(t, src, "")
	if !reflect.DeepEqual(first, second) {
		t.Error("two pulls of the same files differ")
	}
}

func TestExportCursorNoChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, testdataPath(t, "board.json"), filepath.Join(dir, "board.json"))
	src := open(t, trello.ExportOptions{Files: []string{"board.json"}}, dir)

	bs := pull(t, src, "")
	cursor := bs[len(bs)-1].Cursor
	if cursor == "" {
		t.Fatal("first pull left no cursor")
	}
	if again := pull(t, src, cursor); len(again) != 0 {
		t.Errorf("unchanged files: got %d batches, want none", len(again))
	}

	// A touched file is read again and moves the cursor.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "board.json"), later, later); err != nil {
		t.Fatal(err)
	}
	touched := pull(t, src, cursor)
	if len(touched) == 0 {
		t.Fatal("touched file: nothing emitted")
	}
	if last := touched[len(touched)-1]; last.Cursor == cursor || last.Cursor == "" || !last.EndOfSnapshot {
		t.Errorf("touched file: cursor %q (was %q), end of snapshot %v", last.Cursor, cursor, last.EndOfSnapshot)
	}
}

func TestExportBrokenFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(testdataPath(t, "board.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		message string
	}{
		{name: "truncated", content: string(data[:len(data)*2/3]), message: "unexpected EOF"},
		{name: "not JSON", content: "Subject: not a board\n\nhello", message: "invalid character"},
		{name: "array", content: `[{"id":"x"}]`, message: `expected "{"`},
		{name: "no board id", content: `{"name":"x","cards":[]}`, message: "no board id"},
		{name: "cards not an array", content: `{"id":"65b000000000000000000b07","cards":{}}`, message: "cards is not an array"},
		{name: "broken unused field", content: `{"id":"65b000000000000000000b07","prefs":{"a":[}}`, message: "invalid character '}'"},
		{name: "two objects", content: `{"id":"65b000000000000000000b07"}{"id":"65b000000000000000000b08"}`, message: "data after the board object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyFile(t, testdataPath(t, "problems.json"), filepath.Join(dir, "a.json"))
			if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			src := open(t, trello.ExportOptions{Files: []string{"*.json"}}, dir)
			bs := pull(t, src, "")
			last := bs[len(bs)-1]
			if last.EndOfSnapshot || last.Cursor != "" {
				t.Errorf("last batch: end of snapshot %v, cursor %q; want neither", last.EndOfSnapshot, last.Cursor)
			}
			m := merged(bs)
			if len(m.Containers) != 1 || m.Containers[0].Name != "Betta Stroy" {
				t.Errorf("the good file's board was not emitted: %+v", m.Containers)
			}
			var found bool
			for _, p := range m.Problems {
				if p.Where == "b.json" {
					found = true
					if !strings.Contains(p.Message, tt.message) {
						t.Errorf("problem %q does not mention %q", p.Message, tt.message)
					}
				}
			}
			if !found {
				t.Errorf("no problem for b.json in %+v", m.Problems)
			}
			// The broken file must be read again next time, not skipped.
			if again := pull(t, src, last.Cursor); len(again) == 0 {
				t.Error("second pull emitted nothing")
			}
		})
	}
}

func TestExportProblems(t *testing.T) {
	t.Parallel()
	src := open(t, trello.ExportOptions{Files: []string{"problems.json"}}, testdataPath(t, ""))
	m := merged(pull(t, src, ""))

	// Bad items do not make the file unreadable: its cursor is kept, so an
	// unchanged file is not read again. But a card or a mapped action that
	// cannot be read could be any stored row, so nothing of the board is
	// deleted on this file's account, and a warning says so.
	if m.Cursor == "" || len(m.Snapshot) != 0 || m.EndOfSnapshot {
		t.Errorf("cursor %q, snapshot %v, end %v; want a cursor and nothing to delete", m.Cursor, m.Snapshot, m.EndOfSnapshot)
	}
	// Warnings are notes on what was stored anyway (a card with its bad
	// due left empty); the rest is input refused.
	wantProblems := []struct {
		where, message string
		warning        bool
	}{
		// addMemberToCard is mapped (the card's assignees' history), so
		// its bad date makes it unreadable too.
		{"problems.json", "5 of the file's cards and actions cannot be read", true},
		{"problems.json#lists[1]", "list without id", false},
		{"problems.json#cards[1]", "card without id", false},
		{"problems.json#cards[3]", "cannot unmarshal string", false},
		{"problems.json#cards[4]", "appears twice", false},
		{"problems.json#actions[0]", `bad date: parsing time "yesterday"`, false},
		{"problems.json#actions[1]", "commentCard action without id", false},
		{"problems.json#actions[4]", `bad date: parsing time "whenever"`, false},
		{"problems.json#cards[2]", `bad due: parsing time "next week"`, true},
		{"problems.json#cards[5]", `unknown list "65b0000000000000000009ff"`, true},
		{"problems.json#cards[5]", "no creation action and the id holds no time", true},
		{"problems.json#actions[3]", "names no card", false},
		{"problems.json#actions[2]", `bad dateLastEdited: parsing time "soon"`, true},
	}
	if len(m.Problems) != len(wantProblems) {
		t.Fatalf("got %d problems, want %d:\n%+v", len(m.Problems), len(wantProblems), m.Problems)
	}
	for i, w := range wantProblems {
		p := m.Problems[i]
		if p.Where != w.where || !strings.Contains(p.Message, w.message) || p.Warning != w.warning {
			t.Errorf("problem %d: got %s: %s (warning %v)\nwant %s: ...%s... (warning %v)", i, p.Where, p.Message, p.Warning, w.where, w.message, w.warning)
		}
	}

	wantContainer := record.Container{
		ExternalID: "65b000000000000000000b02", Kind: record.ContainerBoard, Name: "Betta Stroy",
		URL: "https://trello.com/b/BeTTa001/betta-stroy", Closed: true,
		Lists: []record.List{{ExternalID: "65b000000000000000000101", Name: "Задачи"}},
	}
	if len(m.Containers) != 1 || !reflect.DeepEqual(m.Containers[0], wantContainer) {
		t.Errorf("containers: %+v", m.Containers)
	}
	wantPeople := []record.Person{
		{ExternalID: "65b000000000000000000a01", Username: "ivan", Name: "Иван Петров"},
		{ExternalID: "65b000000000000000000a09"}, // only an idMemberCreator
	}
	if !reflect.DeepEqual(m.People, wantPeople) {
		t.Errorf("people: %+v", m.People)
	}
	var titles []string
	for _, task := range m.Tasks {
		titles = append(titles, task.Title)
	}
	if want := []string{"Good card", "Bad due", "Odd id"}; !reflect.DeepEqual(titles, want) {
		t.Errorf("tasks %q, want %q", titles, want)
	}
	if m.Tasks[1].DueAt != nil {
		t.Errorf("bad due kept: %v", m.Tasks[1].DueAt)
	}
	wantChanges := []record.StatusChange{{
		ExternalID: "65b000200000000000000406", TaskID: "65b000100000000000000301", To: "Задачи",
		At: ts("2024-01-19T07:00:00Z"), ActorID: "65b000000000000000000a01",
	}}
	if !reflect.DeepEqual(m.StatusChanges, wantChanges) {
		t.Errorf("status changes: %+v", m.StatusChanges)
	}
	if len(m.Messages) != 1 || m.Messages[0].Body != "Хорошо" || m.Messages[0].EditedAt != nil {
		t.Errorf("messages: %+v", m.Messages)
	}
}

func TestExportSeveralFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, testdataPath(t, "board.json"), filepath.Join(dir, "acme.json"))
	copyFile(t, testdataPath(t, "problems.json"), filepath.Join(dir, "betta.json"))
	// An older export of the same board beside the new one.
	copyFile(t, testdataPath(t, "board.json"), filepath.Join(dir, "old", "acme.json"))

	src := open(t, trello.ExportOptions{Files: []string{"*.json", "old/*.json", "acme.json"}, BatchSize: 10}, dir)
	m := merged(pull(t, src, ""))
	var names []string
	for _, c := range m.Containers {
		names = append(names, c.Name)
	}
	if want := []string{"Acme Foods — сайт", "Betta Stroy"}; !reflect.DeepEqual(names, want) {
		t.Errorf("containers %q, want %q", names, want)
	}
	if !m.EndOfSnapshot {
		t.Error("a skipped duplicate board must not stop the snapshot")
	}
	var dup bool
	for _, p := range m.Problems {
		if p.Where == "old/acme.json" && strings.Contains(p.Message, "already read from acme.json") {
			dup = true
		}
	}
	if !dup {
		t.Errorf("no problem for the duplicate board: %+v", m.Problems)
	}
	seen := map[string]bool{}
	for _, p := range m.People {
		if seen[p.ExternalID] {
			t.Errorf("person %s emitted twice", p.ExternalID)
		}
		seen[p.ExternalID] = true
	}
	if len(m.Tasks) != 9 {
		t.Errorf("got %d tasks, want 6 + 3", len(m.Tasks))
	}
}

func TestExportPullErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "locked.json")
	copyFile(t, testdataPath(t, "board.json"), unreadable)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{name: "missing file", files: []string{"nope.json"}, want: "nope.json"},
		{name: "pattern matches nothing", files: []string{"*.export"}, want: "no files match"},
		{name: "directory", files: []string{"."}, want: "is a directory"},
	}
	if f, err := os.Open(unreadable); err == nil {
		f.Close() // running as root: permissions do not stop us
	} else {
		tests = append(tests, struct {
			name  string
			files []string
			want  string
		}{name: "unreadable", files: []string{"locked.json"}, want: "locked.json"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := open(t, trello.ExportOptions{Files: tt.files}, dir)
			emitted := 0
			err := src.Pull(context.Background(), "", func(context.Context, *record.Batch) error {
				emitted++
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
			if emitted != 0 {
				t.Errorf("emitted %d batches before failing", emitted)
			}
		})
	}
}

func TestExportStops(t *testing.T) {
	t.Parallel()
	base := testdataPath(t, "")
	t.Run("emit error", func(t *testing.T) {
		t.Parallel()
		src := open(t, trello.ExportOptions{Files: []string{"board.json"}, BatchSize: 3}, base)
		boom := errors.New("disk full")
		calls := 0
		err := src.Pull(context.Background(), "", func(context.Context, *record.Batch) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("got %v after %d calls, want %v after 1", err, calls, boom)
		}
	})
	t.Run("cancelled between batches", func(t *testing.T) {
		t.Parallel()
		src := open(t, trello.ExportOptions{Files: []string{"board.json"}, BatchSize: 3}, base)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := src.Pull(ctx, "", func(context.Context, *record.Batch) error {
			calls++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("got %v after %d calls, want context.Canceled after 1", err, calls)
		}
	})
}

func TestNewExportOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts trello.ExportOptions
		want string
	}{
		{name: "no files", opts: trello.ExportOptions{BatchSize: 10}, want: "at least one"},
		{name: "empty path", opts: trello.ExportOptions{Files: []string{""}, BatchSize: 10}, want: "empty path"},
		{name: "zero batch", opts: trello.ExportOptions{Files: []string{"a.json"}}, want: "batch_size"},
		{name: "bad pattern", opts: trello.ExportOptions{Files: []string{"[a.json"}, BatchSize: 10}, want: "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trello.NewExport(tt.opts, connectors.Env{BaseDir: "/tmp"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestExportKind(t *testing.T) {
	t.Parallel()
	k := trello.ExportKind()
	if k.Name != "trello_export" || k.Identity != "trello" || k.Doc == "" {
		t.Errorf("kind %q identity %q doc %q", k.Name, k.Identity, k.Doc)
	}
	opts, ok := k.NewOptions().(*trello.ExportOptions)
	if !ok || opts.BatchSize != 2000 {
		t.Fatalf("NewOptions gave %#v", k.NewOptions())
	}
	opts.Files = []string{"board.json"}
	src, err := k.Open(opts, connectors.Env{BaseDir: testdataPath(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	if m := merged(pull(t, src, "")); len(m.Tasks) != 6 {
		t.Errorf("got %d tasks through the kind, want 6", len(m.Tasks))
	}
	if _, err := k.Open(struct{}{}, connectors.Env{}); err == nil {
		t.Error("Open accepted options of the wrong type")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExportOversizedValue: a card far over the cap on one value is
// refused as a problem and read past without being held, and the rest of
// the board is read. Not parallel, so that the allocations it counts are
// its own.
func TestExportOversizedValue(t *testing.T) {
	data, err := os.ReadFile(testdataPath(t, "board.json"))
	if err != nil {
		t.Fatal(err)
	}
	var board map[string]any
	if err := json.Unmarshal(data, &board); err != nil {
		t.Fatal(err)
	}
	const huge = 8 << 20
	cards := board["cards"].([]any)
	bigID := cards[1].(map[string]any)["id"].(string)
	cards[1].(map[string]any)["desc"] = strings.Repeat("описание \\\" ", huge/20)
	board["desc"] = strings.Repeat("x", huge)
	data, err = json.Marshal(board)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "board.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	src := open(t, trello.ExportOptions{Files: []string{"board.json"}, MaxElementBytes: 64 << 10}, dir)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := merged(pull(t, src, ""))
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > huge/2 {
		t.Errorf("the pull allocated %d bytes for a file of two %d-byte values; the values were held", alloc, huge)
	}

	var ids []string
	for _, task := range m.Tasks {
		ids = append(ids, task.ExternalID)
	}
	if len(m.Tasks) != len(cards)-1 || slices.Contains(ids, bigID) {
		t.Errorf("tasks %v; want every card but %s", ids, bigID)
	}
	var msgs []string
	for _, p := range m.Problems {
		msgs = append(msgs, p.Where+": "+p.Message)
	}
	for _, want := range []string{
		"board.json#desc: board field desc is 8388610 bytes, more than the 65536 bytes karkas reads of one value of an export; skipped",
		"board.json#cards[1]: card is ",
	} {
		if !slices.ContainsFunc(msgs, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("no problem %q in:\n%s", want, strings.Join(msgs, "\n"))
		}
	}
	if len(m.Containers) != 1 || m.Containers[0].Name == "" {
		t.Errorf("board: %+v", m.Containers)
	}
}
