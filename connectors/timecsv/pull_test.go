package timecsv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// pull opens a source on o and collects what one pull emits.
func pull(t *testing.T, o *Options, baseDir, cursor string) ([]*record.Batch, error) {
	t.Helper()
	src, err := Open(o, connectors.Env{BaseDir: baseDir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var got []*record.Batch
	err = src.Pull(context.Background(), cursor, func(_ context.Context, b *record.Batch) error {
		got = append(got, b)
		return nil
	})
	return got, err
}

// mustPull is pull that fails the test on an error.
func mustPull(t *testing.T, o *Options, baseDir, cursor string) []*record.Batch {
	t.Helper()
	got, err := pull(t, o, baseDir, cursor)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	return got
}

func options(files ...string) *Options {
	o := NewOptions()
	o.Files = files
	return o
}

func entriesOf(bs []*record.Batch) []record.TimeEntry {
	var out []record.TimeEntry
	for _, b := range bs {
		out = append(out, b.TimeEntries...)
	}
	return out
}

func problemsOf(bs []*record.Batch) []record.Problem {
	var out []record.Problem
	for _, b := range bs {
		out = append(out, b.Problems...)
	}
	return out
}

func idsOf(es []record.TimeEntry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ExternalID
	}
	return ids
}

func ptr[T any](v T) *T { return &v }

func utc(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// writeFile writes data under dir and returns dir, for cases whose
// fixture needs an encoding a text file cannot show.
func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ruHours is the Russian Excel export that testdata/ru/hours_cp1251.csv
// holds in windows-1251; the KOI8-R case encodes it at run time.
const ruHours = "Дата;Сотрудник;Email;Клиент;Проект;Задача;Task ID;Теги;Комментарий;Время;Оплачиваемое\n" +
	"04.03.2024;Анна Петрова;;ООО «Ромашка»;Сайт;Баннер;;дизайн, срочно;Правки по баннеру;1,5;да\n" +
	"05.03.2024;Пётр Иванов;petr@agency.example;ООО «Ромашка»;Сайт;;;;\"Созвон; итоги\";0:20;нет\n"

var ruColumns = map[string]string{
	"date": "Дата", "person": "Сотрудник", "email": "Email", "client": "Клиент",
	"project": "Проект", "task": "Задача", "task_id": "Task ID", "tags": "Теги",
	"note": "Комментарий", "duration": "Время", "billable": "Оплачиваемое",
}

var ruWant = []record.TimeEntry{
	{
		PersonID: "Анна Петрова", PersonName: "Анна Петрова", TaskName: "Баннер",
		ProjectID: "Сайт", ProjectName: "Сайт", ClientName: "ООО «Ромашка»", Date: "2024-03-04",
		Seconds: 5400, Billable: ptr(true), Note: "Правки по баннеру", Tags: []string{"дизайн", "срочно"},
	},
	{
		PersonID: "petr@agency.example", PersonName: "Пётр Иванов", PersonEmail: "petr@agency.example",
		ProjectID: "Сайт", ProjectName: "Сайт", ClientName: "ООО «Ромашка»", Date: "2024-03-05",
		Seconds: 1200, Billable: ptr(false), Note: "Созвон; итоги",
	},
}

func TestPullFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// dir returns the base dir; nil means testdata.
		dir     func(t *testing.T) string
		options *Options
		want    []record.TimeEntry
	}{
		{
			name:    "everhour default preset",
			options: options("everhour/report.csv"),
			want: []record.TimeEntry{
				{
					PersonID: "anna@agency.example", PersonName: "Анна Петрова", PersonEmail: "Anna@Agency.example",
					TaskID: "tr:5f1a2b3c4d5e6f7a8b9c0d1e", TaskName: "Главная страница",
					ProjectID: "Сайт", ProjectName: "Сайт", ClientName: "ООО Ромашка", Date: "2024-03-04",
					Seconds: 5400, Billable: ptr(true), Note: "Обсуждение макета", Tags: []string{"дизайн", "встреча"},
				},
				{
					PersonID: "Ivan Sidorov", PersonName: "Ivan Sidorov", TaskID: "tr:AbCd1234", TaskName: "Fix header",
					ProjectID: "Website", ProjectName: "Website", ClientName: "Acme", Date: "2024-03-04",
					Seconds: 43500, Billable: ptr(false), Note: `Fixed the header, then "polished" it`,
				},
				{
					PersonID: "Ivan Sidorov", PersonName: "Ivan Sidorov", TaskID: "ev:123",
					ProjectID: "Website", ProjectName: "Website", ClientName: "Acme", Date: "2024-03-05",
					Seconds: 2700, Note: "Line one\nline two",
				},
			},
		},
		{
			name: "toggl with zone",
			options: func() *Options {
				o := options("toggl/detailed.csv")
				o.Preset, o.TimeZone = "toggl", "Europe/Moscow"
				return o
			}(),
			want: []record.TimeEntry{
				{
					PersonID: "jane@agency.example", PersonName: "Jane Doe", PersonEmail: "jane@agency.example",
					TaskName: "Design", ProjectID: "Website", ProjectName: "Website", ClientName: "Acme",
					Date: "2024-03-04", Start: utc("2024-03-04T06:15:00Z"), Seconds: 5430, Billable: ptr(true),
					Note: "Homepage mockup", Tags: []string{"design", "client call"},
				},
				{
					PersonID: "jane@agency.example", PersonName: "Jane Doe", PersonEmail: "jane@agency.example",
					ProjectID: "Website", ProjectName: "Website", ClientName: "Acme",
					Date: "2024-03-05", Start: utc("2024-03-05T20:30:00Z"), Seconds: 1800, Billable: ptr(false),
					Note: "Standup",
				},
			},
		},
		{
			name: "clockify us dates and am pm",
			options: func() *Options {
				o := options("clockify/detailed.csv")
				o.Preset = "clockify"
				return o
			}(),
			want: []record.TimeEntry{
				{
					PersonID: "john@agency.example", PersonName: "John Smith", PersonEmail: "john@agency.example",
					TaskName: "Content", ProjectID: "Website", ProjectName: "Website", ClientName: "Acme",
					Date: "2024-03-04", Start: utc("2024-03-04T14:30:00Z"), Seconds: 2700, Billable: ptr(false),
					Note: "Copy edits",
				},
				{
					PersonID: "john@agency.example", PersonName: "John Smith", PersonEmail: "john@agency.example",
					TaskName: "Content", ProjectID: "Website", ProjectName: "Website", ClientName: "Acme",
					Date: "2024-03-12", Start: utc("2024-03-12T09:05:00Z"), Seconds: 3600, Billable: ptr(true),
					Note: "Review", Tags: []string{"review"},
				},
			},
		},
		{
			name: "harvest first and last name",
			options: func() *Options {
				o := options("harvest/*.csv")
				o.Preset = "harvest"
				return o
			}(),
			want: []record.TimeEntry{
				{
					PersonID: "Maria Ivanova", PersonName: "Maria Ivanova", TaskID: "tr:AbCd1234", TaskName: "Development",
					ProjectID: "Website", ProjectName: "Website", ClientName: "Acme", Date: "2024-03-04",
					Seconds: 5400, Billable: ptr(true), Note: "Header fix",
				},
				{
					PersonID: "Maria Ivanova", PersonName: "Maria Ivanova", TaskName: "Meetings",
					ProjectID: "Website", ProjectName: "Website", ClientName: "Acme", Date: "2024-03-05",
					Seconds: 900, Billable: ptr(false), Locked: true,
				},
			},
		},
		{
			name: "semicolon windows-1251 detected delimiter",
			options: func() *Options {
				o := options("ru/hours_cp1251.csv")
				o.Encoding, o.Columns = "windows-1251", ruColumns
				return o
			}(),
			want: ruWant,
		},
		{
			name: "semicolon koi8-r explicit delimiter",
			dir: func(t *testing.T) string {
				dir := t.TempDir()
				// KOI8-R has no guillemets.
				text := strings.NewReplacer("«", "", "»", "").Replace(ruHours)
				data, err := charmap.KOI8R.NewEncoder().String(text)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, "hours.csv", []byte(data))
				return dir
			},
			options: func() *Options {
				o := options("hours.csv")
				o.Encoding, o.Columns, o.Delimiter = "koi8-r", ruColumns, ";"
				return o
			}(),
			want: func() []record.TimeEntry {
				want := slices.Clone(ruWant)
				for i := range want {
					want[i].ClientName = "ООО Ромашка"
				}
				return want
			}(),
		},
		{
			name:    "utf-8 bom and crlf",
			options: options("bom.csv"),
			want: []record.TimeEntry{{
				PersonID: "Olga", PersonName: "Olga", ProjectID: "Website", ProjectName: "Website",
				ClientName: "Acme", Date: "2024-03-04", Seconds: 7200, Billable: ptr(true),
			}},
		},
		{
			name: "utf-16 with bom and tabs",
			dir: func(t *testing.T) string {
				dir := t.TempDir()
				text := "Date\tMember\tTime\tComment\n2024-03-04\tЮля\t0:15\tзвонок\n"
				data, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(text)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, "unicode.txt", []byte(data))
				return dir
			},
			options: options("unicode.txt"),
			want: []record.TimeEntry{{
				PersonID: "Юля", PersonName: "Юля", Date: "2024-03-04", Seconds: 900, Note: "звонок",
			}},
		},
		{
			name: "explicit formats",
			dir: func(t *testing.T) string {
				dir := t.TempDir()
				writeFile(t, dir, "x.csv", []byte("Day,Who,Secs,Closed\n04/03/2024,Bob,90,yes\n"))
				return dir
			},
			options: func() *Options {
				o := options("x.csv")
				o.DateFormat, o.DurationFormat = "02/01/2006", "seconds"
				o.Columns = map[string]string{"date": "Day", "person": "Who", "duration": "Secs", "locked": "Closed", "email": ""}
				return o
			}(),
			want: []record.TimeEntry{{PersonID: "Bob", PersonName: "Bob", Date: "2024-03-04", Seconds: 90, Locked: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := "testdata"
			if tt.dir != nil {
				dir = tt.dir(t)
			}
			bs := mustPull(t, tt.options, dir, "")
			if ps := problemsOf(bs); len(ps) > 0 {
				t.Errorf("problems: %+v", ps)
			}
			got := entriesOf(bs)
			for i := range got {
				if !strings.HasPrefix(got[i].ExternalID, "csv:") {
					t.Errorf("entry %d ExternalID = %q, want a csv: hash", i, got[i].ExternalID)
				}
				got[i].ExternalID = ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("entries:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
			last := bs[len(bs)-1]
			if last.Cursor == "" || !last.EndOfSnapshot {
				t.Errorf("last batch cursor %q end %v, want a cursor and the end of the snapshot", last.Cursor, last.EndOfSnapshot)
			}
		})
	}
}

func dump(es []record.TimeEntry) string {
	var b strings.Builder
	for _, e := range es {
		start := "<nil>"
		if e.Start != nil {
			start = e.Start.Format(time.RFC3339)
		}
		billable := "<nil>"
		if e.Billable != nil {
			billable = fmt.Sprint(*e.Billable)
		}
		fmt.Fprintf(&b, "\n  %+v start=%s billable=%s", e, start, billable)
	}
	return b.String()
}

func TestPullBadRows(t *testing.T) {
	t.Parallel()
	bs := mustPull(t, options("bad/hours.csv"), "testdata", "")
	want := []struct{ where, msg string }{
		{"bad/hours.csv:4", "bad date"},
		{"bad/hours.csv:5", "bad duration"},
		{"bad/hours.csv:6", "negative duration"},
		{"bad/hours.csv:7", "over 24 hours"},
		{"bad/hours.csv:8", "row has 9 columns, header has 11"},
		{"bad/hours.csv:9", "no person"},
		{"bad/hours.csv:10", "bad duration"},
		{"bad/hours.csv", "7 row(s) could not be read: entries missing from the export are kept"},
	}
	ps := problemsOf(bs)
	if len(ps) != len(want) {
		t.Fatalf("problems = %+v, want %d", ps, len(want))
	}
	for i, w := range want {
		if ps[i].Where != w.where || !strings.Contains(ps[i].Message, w.msg) {
			t.Errorf("problem %d = %+v, want %s: ...%s...", i, ps[i], w.where, w.msg)
		}
	}
	es := entriesOf(bs)
	if len(es) != 2 || es[0].Note != "a note\nover two lines" || es[1].PersonID != "Good" || es[1].Seconds != 7200 {
		t.Errorf("entries = %s, want the two-line note and Good's 2:00", dump(es))
	}
	if !ps[len(ps)-1].Warning {
		t.Errorf("the note on deletions is not a warning: %+v", ps[len(ps)-1])
	}
	// The file was read whole, so the cursor moves; but which entries the
	// bad rows would have replaced is unknown, so nothing is deleted.
	if last := bs[len(bs)-1]; last.Cursor == "" || last.EndOfSnapshot {
		t.Errorf("last batch = %+v, want a cursor and no end of snapshot", last)
	}
}

// A quote left open must not hide the rows after it (their entries and
// their errors), nor let the snapshot delete what they hold.
func TestPullUnterminatedQuote(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "t.csv", []byte("Date,Member,Time,Comment\n"+
		"2024-03-01,A,1:00,\"fine\"\n"+
		"2024-03-02,B,1:00,\"open quote\n"+
		"2024-03-03,C,bad,\n"+
		"2024-03-04,D,2:00,\"ok\"\n"+
		"2024-03-05,E,1:00,\"a note\nover two lines\"\n"))
	bs := mustPull(t, options("t.csv"), dir, "")
	es, ps := entriesOf(bs), problemsOf(bs)
	var who []string
	for _, e := range es {
		who = append(who, e.PersonID+":"+e.Note)
	}
	if want := []string{"A:fine", "D:ok", "E:a note\nover two lines"}; !reflect.DeepEqual(who, want) {
		t.Errorf("entries = %q, want %q", who, want)
	}
	var where []string
	for _, p := range ps {
		where = append(where, p.Where)
	}
	if want := []string{"t.csv:3", "t.csv:4", "t.csv"}; !reflect.DeepEqual(where, want) {
		t.Errorf("problems = %+v, want them at %q", ps, want)
	}
	if len(ps) == 3 && (!strings.Contains(ps[0].Message, "quote is left open") || !strings.Contains(ps[1].Message, "bad duration")) {
		t.Errorf("problems = %+v", ps)
	}
	if last := bs[len(bs)-1]; last.EndOfSnapshot {
		t.Errorf("rows could not be read, yet the pull ends the snapshot")
	}
}

func TestPullBadStartKeepsEntry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "t.csv", []byte("User,Start date,Start time,Duration\nJane,2024-03-04,later,1:00:00\n"))
	o := options("t.csv")
	o.Preset = "toggl"
	bs := mustPull(t, o, dir, "")
	es, ps := entriesOf(bs), problemsOf(bs)
	if len(es) != 1 || es[0].Start != nil || es[0].Seconds != 3600 {
		t.Errorf("entries = %s, want one hour without a start", dump(es))
	}
	if len(ps) != 1 || ps[0].Where != "t.csv:2" || !strings.Contains(ps[0].Message, "start") {
		t.Errorf("problems = %+v, want one about the start at t.csv:2", ps)
	}
}

func TestPullHeaderMissingColumn(t *testing.T) {
	t.Parallel()
	bs := mustPull(t, options("partial/*.csv"), "testdata", "")
	es, ps := entriesOf(bs), problemsOf(bs)
	if len(es) != 1 || es[0].PersonID != "A" {
		t.Errorf("entries = %s, want the good file's one entry", dump(es))
	}
	if len(ps) != 1 || ps[0].Where != "partial/b_no_time.csv:1" || !strings.Contains(ps[0].Message, `duration (expected "Time" or "Hours")`) {
		t.Errorf("problems = %+v, want the missing duration column of b_no_time.csv", ps)
	}
	for i, b := range bs {
		if b.Cursor != "" || b.EndOfSnapshot {
			t.Errorf("batch %d has cursor %q end %v; a file failed, so want neither", i, b.Cursor, b.EndOfSnapshot)
		}
	}
}

func TestPullWrongEncodingIsAProblem(t *testing.T) {
	t.Parallel()
	o := options("ru/hours_cp1251.csv")
	o.Columns = ruColumns
	bs := mustPull(t, o, "testdata", "")
	ps := problemsOf(bs)
	if len(entriesOf(bs)) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, "UTF-8") {
		t.Errorf("entries %d, problems %+v; want none and one about UTF-8", len(entriesOf(bs)), ps)
	}
	if last := bs[len(bs)-1]; last.EndOfSnapshot {
		t.Error("a file that could not be read ended the snapshot")
	}
}

func TestPullProblemsCapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("Date,Member,Time\n")
	for range maxProblemsPerFile + 5 {
		b.WriteString("never,A,1:00\n")
	}
	writeFile(t, dir, "x.csv", []byte(b.String()))
	ps := problemsOf(mustPull(t, options("x.csv"), dir, ""))
	// The rows listed, the note that nothing is deleted, and the summary.
	if len(ps) != maxProblemsPerFile+2 || !strings.Contains(ps[len(ps)-1].Message, "5 more problems") ||
		!strings.Contains(ps[len(ps)-2].Message, "105 row(s) could not be read") {
		t.Errorf("got %d problems ending %+v, want %d and a summary of 5 more", len(ps), ps[len(ps)-1], maxProblemsPerFile+2)
	}
}

func TestExternalIDs(t *testing.T) {
	t.Parallel()
	const header = "Date,Member,Email,Client,Project,Task,Task ID,Tags,Comment,Time,Billable\n"
	const a = "2024-03-04,Anna,,Acme,Site,Banner,,,call,1:00,yes\n"
	const other = "2024-03-04,Ivan,,Acme,Site,Banner,,,call,1:00,yes\n"
	// Billable and tags are not part of the id: this is the same entry as a.
	const aEdited = "2024-03-04,Anna,,Acme,Site,Banner,,urgent,call,1:00,no\n"

	dir := t.TempDir()
	writeFile(t, dir, "v1.csv", []byte(header+a+a+other))
	first := idsOf(entriesOf(mustPull(t, options("v1.csv"), dir, "")))
	again := idsOf(entriesOf(mustPull(t, options("v1.csv"), dir, "")))
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("ids differ between two pulls: %q vs %q", first, again)
	}
	if len(first) != 3 || first[1] != first[0]+"-2" || first[2] == first[0] {
		t.Fatalf("ids = %q, want a, a-2 and a different third", first)
	}

	// A row inserted before them, the file renamed and a non-key edit keep
	// every id: the occurrence counter only numbers identical rows.
	writeFile(t, dir, "renamed.csv", []byte(header+other+a+aEdited+other))
	second := idsOf(entriesOf(mustPull(t, options("renamed.csv"), dir, "")))
	want := []string{first[2], first[0], first[1], first[2] + "-2"}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("ids after edit = %q, want %q", second, want)
	}
}

func TestIDColumn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "x.csv", []byte("Entry ID,Date,Member,Time\n"+
		"e1,2024-03-04,Anna,1:00\n"+
		",2024-03-04,Anna,1:00\n"+
		"e1,2024-03-05,Anna,2:00\n"))
	bs := mustPull(t, options("x.csv"), dir, "")
	ids, ps := idsOf(entriesOf(bs)), problemsOf(bs)
	if len(ids) != 2 || ids[0] != "e1" || !strings.HasPrefix(ids[1], "csv:") {
		t.Errorf("ids = %q, want e1 and a hash for the row without an id", ids)
	}
	if len(ps) != 1 || ps[0].Where != "x.csv:4" || !strings.Contains(ps[0].Message, "repeats") {
		t.Errorf("problems = %+v, want the repeated id at x.csv:4", ps)
	}
}

func TestPullDeterministic(t *testing.T) {
	t.Parallel()
	o := options("everhour/report.csv", "bad/hours.csv", "harvest/time-report.csv")
	o.Columns = map[string]string{"first_name": "First Name", "last_name": "Last Name", "duration": "Time|Hours", "person": "Member"}
	first := mustPull(t, o, "testdata", "")
	second := mustPull(t, o, "testdata", "")
	if !reflect.DeepEqual(first, second) {
		t.Error("two pulls of the same files differ")
	}
	// Files are read in sorted path order whatever order the config gives.
	es := entriesOf(first)
	if len(es) != 3+2+2 || es[0].PersonID != "A" || es[len(es)-1].PersonID != "Maria Ivanova" {
		t.Errorf("entries = %s, want bad/, then everhour/, then harvest/", dump(es))
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/everhour/report.csv")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "report.csv", data)
	o := options("report.csv")

	bs := mustPull(t, o, dir, "")
	cursor := bs[len(bs)-1].Cursor
	if cursor == "" {
		t.Fatal("first pull left no cursor")
	}
	if again := mustPull(t, o, dir, cursor); len(again) != 0 {
		t.Errorf("pull with an unchanged cursor emitted %d batches, want none", len(again))
	}

	// Touching the file is enough to read it again.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "report.csv"), later, later); err != nil {
		t.Fatal(err)
	}
	bs = mustPull(t, o, dir, cursor)
	if len(entriesOf(bs)) != 3 || bs[len(bs)-1].Cursor == cursor {
		t.Errorf("after a touch got %d entries and cursor %q, want 3 and a new cursor", len(entriesOf(bs)), bs[len(bs)-1].Cursor)
	}
	cursor = bs[len(bs)-1].Cursor

	// So is changing how the files parse.
	o2 := options("report.csv")
	o2.TimeZone = "Europe/Moscow"
	if bs := mustPull(t, o2, dir, cursor); len(bs) == 0 {
		t.Error("changed options did not re-read the files")
	}
}

func TestBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rows  int
		bad   int
		size  int
		sizes []int // entries+problems per batch
	}{
		{name: "remainder", rows: 5, size: 2, sizes: []int{2, 2, 1}},
		{name: "exact multiple has no empty tail", rows: 4, size: 2, sizes: []int{2, 2}},
		{name: "header only still ends the snapshot", rows: 0, size: 2, sizes: []int{0}},
		{name: "problems count towards the size", rows: 1, bad: 3, size: 2, sizes: []int{2, 2, 1}},
		{name: "one batch", rows: 3, size: 2000, sizes: []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString("Date,Member,Time\n")
			for i := range tt.bad {
				fmt.Fprintf(&b, "bad,P%d,1:00\n", i)
			}
			for i := range tt.rows {
				fmt.Fprintf(&b, "2024-03-04,P%d,1:00\n", i)
			}
			writeFile(t, dir, "x.csv", []byte(b.String()))
			o := options("x.csv")
			o.BatchSize = tt.size
			bs := mustPull(t, o, dir, "")
			var sizes []int
			for i, b := range bs {
				sizes = append(sizes, len(b.TimeEntries)+len(b.Problems))
				isLast := i == len(bs)-1
				if (b.Cursor != "") != isLast || b.EndOfSnapshot != (isLast && tt.bad == 0) {
					t.Errorf("batch %d of %d: cursor %q end %v; only the last may carry them", i, len(bs), b.Cursor, b.EndOfSnapshot)
				}
			}
			if !reflect.DeepEqual(sizes, tt.sizes) {
				t.Errorf("batch sizes = %v, want %v", sizes, tt.sizes)
			}
		})
	}
}

func TestPullStops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "x.csv", []byte("Date,Member,Time\n2024-03-04,A,1:00\n2024-03-04,B,1:00\n2024-03-04,C,1:00\n"))
	o := options("x.csv")
	o.BatchSize = 1
	src, err := Open(o, connectors.Env{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := src.Pull(ctx, "", func(context.Context, *record.Batch) error {
			calls++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("Pull = %v after %d emits, want context.Canceled after 1", err, calls)
		}
	})
	t.Run("emit error", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		calls := 0
		err := src.Pull(context.Background(), "", func(context.Context, *record.Batch) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("Pull = %v after %d emits, want boom after 1", err, calls)
		}
	})
}

func TestFiles(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	writeFile(t, empty, "notes.txt", []byte("not an export"))
	tests := []struct {
		name    string
		files   []string
		entries int
		wantErr bool
	}{
		{name: "missing file", files: []string{"nope.csv"}, wantErr: true},
		{name: "one missing among good", files: []string{"bom.csv", "nope.csv"}, wantErr: true},
		{name: "glob matching nothing", files: []string{"*.xlsx"}, wantErr: true},
		{name: "folder without csv", files: []string{empty}, wantErr: true},
		{name: "parent path is cleaned", files: []string{"ru/../bom.csv"}, entries: 1},
		{name: "folder reads its csv files", files: []string{"everhour"}, entries: 3},
		{name: "overlapping patterns read once", files: []string{"everhour", "everhour/*.csv", "everhour/report.csv"}, entries: 3},
		{name: "absolute path", files: []string{must(filepath.Abs("testdata/bom.csv"))}, entries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bs, err := pull(t, options(tt.files...), "testdata", "")
			if tt.wantErr {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("Pull = %v, want a not-exist error", err)
				}
				if len(bs) != 0 {
					t.Errorf("emitted %d batches before failing, want none", len(bs))
				}
				return
			}
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if n := len(entriesOf(bs)); n != tt.entries {
				t.Errorf("entries = %d, want %d", n, tt.entries)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestPullRowTooLong: a stray quote that would make the rest of a file one
// field stops the file at a row of maxRowBytes, with a problem, and what
// was read before is kept but deletes nothing. Not parallel: it lowers
// maxRowBytes.
func TestPullRowTooLong(t *testing.T) {
	defer func(n int64) { maxRowBytes = n }(maxRowBytes)
	maxRowBytes = 64 << 10
	rows := strings.SplitAfter(ruHours, "\n")
	data := rows[0] + rows[1] + "06.03.2024;Анна Петрова;;ООО «Ромашка»;Сайт;;;;\"never closed " +
		strings.Repeat("текст без конца\n", 8<<10) + rows[2]
	dir := t.TempDir()
	writeFile(t, dir, "hours.csv", []byte(data))
	o := options("hours.csv")
	o.Columns = ruColumns
	bs := mustPull(t, o, dir, "")
	ps := problemsOf(bs)
	at := len(rows[0]) + len(rows[1])
	if len(ps) != 1 || ps[0].Where != "hours.csv" ||
		ps[0].Message != fmt.Sprintf("the row at byte %d is longer than 64 KiB (an unclosed quote?); it and the rest of the file are not read", at) {
		t.Errorf("problems %+v", ps)
	}
	if es := entriesOf(bs); len(es) != 1 || es[0].Note != "Правки по баннеру" {
		t.Errorf("entries %s, want the row before", dump(es))
	}
	if last := bs[len(bs)-1]; last.EndOfSnapshot {
		t.Error("a file not read to its end ended the snapshot")
	}
}
