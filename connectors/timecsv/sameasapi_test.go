package timecsv_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/timecsv"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/timetrack/timetracktest"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
)

// The agency every tracker below holds: two people, two clients with a
// project and a task each, an internal project of no client, and forty
// entries in the first three weeks of March 2026.
var (
	people = []struct{ first, last, email string }{
		{"Anna", "Smith", "anna@northwind.agency"},
		{"Борис", "Иванов", "boris@northwind.agency"},
	}
	projects = []struct{ name, client, task string }{
		{"Acme site", "Acme", "Header"},
		{"Сайт Ромашки", "ООО Ромашка", "Главная страница"},
		{"Northwind — Internal", "", "Internal meetings"},
	}
	// The day after the last entry: the API sources read March (and
	// February) as their window.
	sameNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
)

// sameConfig names people by email and by name (Harvest's API and its
// export have no email) and clients by project name, which both the API
// records and the exports carry; categories come from tags and task names.
const sameConfig = `agency: {name: Northwind, domains: [northwind.agency]}
people:
  - {id: anna, name: Anna Smith, side: agency, emails: [anna@northwind.agency], time_tracker: [Anna Smith]}
  - {id: boris, name: Борис Иванов, side: agency, emails: [boris@northwind.agency], time_tracker: [Борис Иванов]}
clients:
  - {id: acme, name: Acme, projects: [Acme site]}
  - {id: romashka, name: ООО Ромашка, projects: [Сайт Ромашки]}
time_categories:
  - {category: communication, tags: [созвон]}
  - {category: meeting, task_pattern: "(?i)meetings"}
sources:
  - {id: api, kind: %s}
  - {id: csv, kind: time_csv}
`

// shared is one entry as the agency logged it, before a tracker stores it.
type shared struct {
	person, project int
	// withTask false is time logged on the project alone, noProject
	// time logged on nothing, where the tracker allows it.
	withTask, noProject bool
	start               time.Time
	seconds             int64
	billable            bool
	note                string
	tags                []string
}

func sharedEntries() []shared {
	notes := []string{"дизайн главной", `правки, "срочно"`, "Line one\nline two", "созвон с клиентом", ""}
	out := make([]shared, 40)
	for i := range out {
		e := shared{
			person: i % 2, project: i / 2 % 3, withTask: i%5 != 4, noProject: i%10 == 9,
			// Some start at 23:xx UTC: the next day in Berlin, where the
			// people work and the export is made.
			start:    time.Date(2026, 3, 1+i%19, 7+i%17, i*7%60, 0, 0, time.UTC),
			seconds:  int64(600 + i%37*131),
			billable: i%3 != 0,
			note:     notes[i%len(notes)],
		}
		if i%6 == 0 {
			e.tags = []string{"созвон"}
		}
		if i%4 == 1 {
			e.tags = append(e.tags, "дизайн")
		}
		out[i] = e
	}
	return out
}

// sameCase is one tracker: its fake holding the shared entries, the API
// source reading it, and the same entries as the tracker's CSV export.
type sameCase struct {
	name, kind, preset string
	// refs is which task references the export carries: "all" (an id
	// column), "trello" (only links to Trello cards) or "" (none: the
	// export names tasks, the API gives ids).
	refs  string
	build func(t *testing.T, clock *vclock.Virtual, berlin *time.Location) (connectors.Source, [][]string)
}

// TestSameRecordsAsAPI is issue 6 item 6: the CSV file source keeps
// working and produces the same records. One set of entries lives in a
// tracker's fake; the API source syncs it into one store, the tracker's
// CSV export of the same entries (rendered here in the preset's column
// layout) syncs into another, both through the real engine, and what a
// user sees must be equal: every entry's person, client, project, task,
// date, start, seconds, billable flag, category, note and tags, and so the
// hours per person, task and client.
//
// Where the two paths legitimately differ they are compared on what the
// user sees: an export has names where the API has ids, so people compare
// as the person the mapping finds, tasks by name (and by reference only
// where the export carries one), projects by name; the store's person_ref
// and external ids are not compared at all.
func TestSameRecordsAsAPI(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []sameCase{
		{name: "everhour", kind: everhour.KindName, preset: "everhour", refs: "all", build: everhourSame},
		{name: "toggl", kind: toggl.KindName, preset: "toggl", build: togglSame},
		{name: "clockify", kind: clockify.KindName, preset: "clockify", build: clockifySame},
		{name: "harvest", kind: harvest.KindName, preset: "harvest", refs: "trello", build: harvestSame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := mapping.Parse("karkas.yaml", []byte(fmt.Sprintf(sameConfig, tc.kind)), mapping.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			clock := vclock.NewVirtual(sameNow)
			api, export := tc.build(t, clock, berlin)

			dir := t.TempDir()
			var buf bytes.Buffer
			w := csv.NewWriter(&buf)
			w.UseCRLF = true // as the trackers (and Excel) write it
			if err := w.WriteAll(export); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "export.csv"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			o := timecsv.NewOptions()
			// The export shows times in the zone of the one who made it.
			o.Files, o.Preset, o.TimeZone = []string{"export.csv"}, tc.preset, berlin.String()
			file, err := timecsv.Open(o, connectors.Env{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}

			apiStore, csvStore := testdb.Open(t, store.SQLite), testdb.Open(t, store.SQLite)
			for _, s := range []struct {
				st   *store.Store
				info mapping.SourceInfo
				src  connectors.Source
			}{
				{apiStore, mapping.SourceInfo{ID: "api", Kind: tc.kind, Identity: mapping.IdentityTimeTracker}, api},
				{csvStore, mapping.SourceInfo{ID: "csv", Kind: timecsv.KindName, Identity: mapping.IdentityTimeTracker}, file},
			} {
				res := timetracktest.Sync(t, s.st, l.Config, s.info, s.src)
				if res.Err != nil || res.Problems != 0 {
					t.Fatalf("%s sync: err %v, %d problems", s.info.ID, res.Err, res.Problems)
				}
			}

			fromAPI, fromCSV := userView(t, apiStore, tc.refs), userView(t, csvStore, tc.refs)
			if len(fromAPI) != len(export)-1 {
				t.Errorf("the API source stored %d entries, the tracker has %d", len(fromAPI), len(export)-1)
			}
			for _, v := range fromAPI {
				if !strings.Contains(v, "person anna ") && !strings.Contains(v, "person boris ") {
					t.Errorf("no person found for %s: the comparison would prove little", v)
				}
			}
			sameViews(t, fromAPI, fromCSV)
		})
	}
}

// userView is what a user sees of each live entry in st, one line each,
// sorted. refs is as in sameCase.
func userView(t *testing.T, st *store.Store, refs string) []string {
	t.Helper()
	var rows []store.TimeEntryRow
	if err := st.Select(context.Background(), &rows, `SELECT * FROM time_entries WHERE deleted_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		// The store keeps the task's name only in the raw record.
		var raw struct {
			TaskName string `json:"task_name"`
		}
		if err := json.Unmarshal([]byte(r.Raw), &raw); err != nil {
			t.Fatalf("raw of %s: %v", r.ExternalID, err)
		}
		ref := r.TaskRef
		if refs == "" || (refs == "trello" && !strings.HasPrefix(ref, "tr:")) {
			ref = "-"
		}
		start := "-"
		if r.StartAt != nil {
			start = r.StartAt.UTC().Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("%s start %s person %s client %s project %q task %q ref %s: %d s billable %t %s note %q tags %s",
			r.EntryDate, start, r.PersonID, r.ClientID, r.Project, raw.TaskName, ref, r.Seconds, r.Billable, r.Category, r.Note, r.Tags))
	}
	slices.Sort(out)
	return out
}

// sameViews reports the entries only one path has. Sums per person, task
// and client are equal when the entries are.
func sameViews(t *testing.T, api, file []string) {
	t.Helper()
	count := map[string]int{}
	for _, v := range api {
		count[v]++
	}
	for _, v := range file {
		count[v]--
	}
	var diff []string
	for v, n := range count {
		switch {
		case n > 0:
			diff = append(diff, fmt.Sprintf("only from the API (%d): %s", n, v))
		case n < 0:
			diff = append(diff, fmt.Sprintf("only from the CSV (%d): %s", -n, v))
		}
	}
	slices.Sort(diff)
	if len(diff) > 0 {
		t.Errorf("the API and the CSV export disagree on %d entries:\n%s", len(diff), strings.Join(diff, "\n"))
	}
}

// projectAt is the shared project a tracker's project id stands for; an
// entry of no project has empty names.
func projectAt[K comparable](projectOf map[K]int, id K) (p struct{ name, client, task string }) {
	if i, ok := projectOf[id]; ok {
		p = projects[i]
	}
	return p
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// clockHMS is a duration as the exports write it: H:MM:SS, hours unpadded
// beyond two digits.
func clockHMS(secs int64) string {
	return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}

// everhourSame: Everhour files time by date without a start, takes
// billable from the task, and always logs time on a task. Its export
// writes Time as H:MM, so the world's time is in whole minutes (time the
// API has to the second would round in the export). Tags belong to the
// task (its labels), which the export's Tags column lists: each project
// has a task of the same name for every set of tags its entries carry.
func everhourSame(t *testing.T, clock *vclock.Virtual, berlin *time.Location) (connectors.Source, [][]string) {
	w := everhourfake.NewWorld(clock)
	users := map[int64]int{}
	var userIDs []int64
	for i, p := range people {
		id := w.AddUser(p.first+" "+p.last, p.email).ID
		users[id], userIDs = i, append(userIDs, id)
	}
	var projectIDs []string
	for i, p := range projects {
		var client int64
		if p.client != "" {
			client = w.AddClient(p.client).ID
		}
		// Ромашка's project is a Trello board: its tasks are "tr:" cards.
		projectIDs = append(projectIDs, w.AddProject([]string{"ev", "tr", "ev"}[i], p.name, client).ID)
	}
	taskOf := map[string]int{} // task id -> project index
	labels := map[string][]string{}
	task := map[string]string{} // project index and tags -> task id
	for _, e := range sharedEntries() {
		key := fmt.Sprint(e.project, e.tags)
		id, ok := task[key]
		if !ok {
			id = w.AddTask(projectIDs[e.project], "", projects[e.project].task).ID
			w.SetLabels(id, e.tags...)
			w.SetUnbillable(id, e.project == 2)
			task[key], taskOf[id], labels[id] = id, e.project, e.tags
		}
		w.AddEntry(userIDs[e.person], id, e.start.In(berlin).Format(time.DateOnly), e.seconds/60*60, e.note)
	}
	if len(labels) < 6 {
		t.Fatalf("%d tasks: the entries' tags should make several per project", len(labels))
	}
	export := [][]string{{"Date", "Member", "Email", "Client", "Project", "Task", "Task ID", "Tags", "Comment", "Time", "Billable"}}
	for _, e := range w.Entries() {
		p, who := projects[taskOf[e.TaskID]], people[users[e.User]]
		billable := "yes"
		if taskOf[e.TaskID] == 2 {
			billable = "no"
		}
		export = append(export, []string{e.Date, who.first + " " + who.last, who.email, p.client, p.name, p.task, e.TaskID,
			strings.Join(labels[e.TaskID], ", "), e.Comment, fmt.Sprintf("%d:%02d", e.Time/3600, e.Time/60%60), billable})
	}
	srv := everhourfake.New(t, everhourfake.Options{World: w})
	tr, err := everhour.New(everhour.Config{BaseURL: srv.BaseURL(), Token: everhourfake.DefaultAPIKey, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return apiSource(tr, srv.BaseURL(), clock), export
}

// apiSource is the windowed pull of a tracker at clock's time.
func apiSource(tr timetrack.Tracker, baseURL string, clock *vclock.Virtual) connectors.Source {
	opts := timetrack.NewOptions(baseURL)
	opts.BackfillMonths, opts.ReconcileMonths = 2, 2
	return timetrack.NewSource(tr, *opts, connectors.Env{Now: clock.Now})
}

func togglSame(t *testing.T, clock *vclock.Virtual, berlin *time.Location) (connectors.Source, [][]string) {
	fake := togglfake.New(t, togglfake.Options{Clock: clock})
	users := map[int64]int{}
	var userIDs []int64
	for i, p := range people {
		id := fake.AddUser(p.first+" "+p.last, p.email, berlin)
		users[id], userIDs = i, append(userIDs, id)
	}
	projectOf := map[int64]int{}
	var projectIDs, taskIDs []int64
	for i, p := range projects {
		var client int64
		if p.client != "" {
			client = fake.AddClient(p.client)
		}
		id := fake.AddProject(p.name, client)
		projectOf[id], projectIDs, taskIDs = i, append(projectIDs, id), append(taskIDs, fake.AddTask(p.task, id))
	}
	tags := map[string]int64{}
	tagNames := map[int64]string{}
	for _, e := range sharedEntries() {
		te := togglfake.Entry{UserID: userIDs[e.person], Description: e.note,
			Billable: e.billable, Start: e.start, Stop: e.start.Add(time.Duration(e.seconds) * time.Second)}
		if !e.noProject {
			te.ProjectID = projectIDs[e.project]
			if e.withTask {
				te.TaskID = taskIDs[e.project]
			}
		}
		for _, name := range e.tags {
			if tags[name] == 0 {
				tags[name] = fake.AddTag(name)
				tagNames[tags[name]] = name
			}
			te.TagIDs = append(te.TagIDs, tags[name])
		}
		fake.AddEntry(te)
	}
	tr, err := toggl.New(toggl.Config{BaseURL: fake.BaseURL(), Token: fake.Token(), Workspace: strconv.FormatInt(fake.Workspace(), 10), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}

	export := [][]string{{"User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
		"End date", "End time", "Duration", "Tags", "Amount (USD)"}}
	for _, e := range fake.Entries() {
		p, who := projectAt(projectOf, e.ProjectID), people[users[e.UserID]]
		task := ""
		if e.TaskID != 0 {
			task = p.task
		}
		var names []string
		for _, id := range e.TagIDs {
			names = append(names, tagNames[id])
		}
		start, stop := e.Start.In(berlin), e.Stop.In(berlin)
		export = append(export, []string{who.first + " " + who.last, who.email, p.client, p.name, task, e.Description, yesNo(e.Billable),
			start.Format(time.DateOnly), start.Format(time.TimeOnly), stop.Format(time.DateOnly), stop.Format(time.TimeOnly),
			clockHMS(int64(e.Stop.Sub(e.Start) / time.Second)), strings.Join(names, ", "), "0.00"})
	}
	return apiSource(tr, fake.BaseURL(), clock), export
}

func clockifySame(t *testing.T, clock *vclock.Virtual, berlin *time.Location) (connectors.Source, [][]string) {
	fake := clockifyfake.New(t, clockifyfake.Options{Clock: clock})
	users := map[string]int{}
	var userIDs []string
	for i, p := range people {
		id := fake.AddUser(p.first+" "+p.last, p.email, berlin)
		users[id], userIDs = i, append(userIDs, id)
	}
	projectOf := map[string]int{}
	var projectIDs, taskIDs []string
	for i, p := range projects {
		client := ""
		if p.client != "" {
			client = fake.AddClient(p.client)
		}
		id := fake.AddProject(p.name, client)
		projectOf[id], projectIDs, taskIDs = i, append(projectIDs, id), append(taskIDs, fake.AddTask(p.task, id))
	}
	tags := map[string]string{}
	tagNames := map[string]string{}
	for _, e := range sharedEntries() {
		ce := clockifyfake.Entry{UserID: userIDs[e.person], Description: e.note,
			Billable: e.billable, Start: e.start, End: e.start.Add(time.Duration(e.seconds) * time.Second)}
		if !e.noProject {
			ce.ProjectID = projectIDs[e.project]
			if e.withTask {
				ce.TaskID = taskIDs[e.project]
			}
		}
		for _, name := range e.tags {
			if tags[name] == "" {
				tags[name] = fake.AddTag(name)
				tagNames[tags[name]] = name
			}
			ce.TagIDs = append(ce.TagIDs, tags[name])
		}
		fake.AddEntry(ce)
	}
	tr, err := clockify.New(clockify.Config{BaseURL: fake.BaseURL(), Key: fake.Key(), Workspace: fake.Workspace(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}

	// US dates and 12-hour times: a workspace's default formats.
	export := [][]string{{"Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable", "Start Date",
		"Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)", "Billable Rate (USD)", "Billable Amount (USD)"}}
	for _, e := range fake.Entries() {
		p, who := projectAt(projectOf, e.ProjectID), people[users[e.UserID]]
		task := ""
		if e.TaskID != "" {
			task = p.task
		}
		var names []string
		for _, id := range e.TagIDs {
			names = append(names, tagNames[id])
		}
		secs := int64(e.End.Sub(e.Start) / time.Second)
		start, end := e.Start.In(berlin), e.End.In(berlin)
		export = append(export, []string{p.name, p.client, e.Description, task, who.first + " " + who.last, "", who.email,
			strings.Join(names, ", "), yesNo(e.Billable), start.Format("01/02/2006"), start.Format("03:04:05 PM"),
			end.Format("01/02/2006"), end.Format("03:04:05 PM"), clockHMS(secs), fmt.Sprintf("%.2f", float64(secs)/3600), "0.00", "0.00"})
	}
	return apiSource(tr, fake.BaseURL(), clock), export
}

// harvestSame: Harvest files time by spent_date without a start, keeps
// decimal hours (the export and the API both give two decimals), always
// logs time on a project's task, and has no tags. One entry was logged from a
// Trello card.
func harvestSame(t *testing.T, clock *vclock.Virtual, berlin *time.Location) (connectors.Source, [][]string) {
	fake := harvestfake.New(t, harvestfake.Options{Clock: clock})
	users := map[int64]int{}
	var userIDs []int64
	for i, p := range people {
		id := fake.AddUser(p.first + " " + p.last)
		users[id], userIDs = i, append(userIDs, id)
	}
	projectOf, taskNames := map[int64]int{}, map[int64]string{}
	var projectIDs, taskIDs []int64
	for i, p := range projects {
		var client int64
		if p.client != "" {
			client = fake.AddClient(p.client)
		}
		id, task := fake.AddProject(p.name, client), fake.AddTask(p.task)
		projectOf[id], taskNames[task] = i, p.task
		projectIDs, taskIDs = append(projectIDs, id), append(taskIDs, task)
	}
	for i, e := range sharedEntries() {
		he := harvestfake.Entry{SpentDate: e.start.In(berlin).Format(time.DateOnly), UserID: userIDs[e.person],
			ProjectID: projectIDs[e.project], TaskID: taskIDs[e.project], Hours: math.Round(float64(e.seconds)/36) / 100,
			Notes: e.note, Billable: e.billable}
		if i == 5 {
			he.External = &harvestfake.ExternalReference{ID: "AbCd1234", Service: "trello", Permalink: "https://trello.com/c/AbCd1234/12-header"}
		}
		fake.AddEntry(he)
	}
	tr, err := harvest.New(harvest.Config{BaseURL: fake.BaseURL(), Token: fake.Token(), Account: fake.Account(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}

	export := [][]string{{"Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded", "Billable?",
		"Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?", "Billable Rate", "Billable Amount", "Cost Rate",
		"Cost Amount", "Currency", "External Reference URL"}}
	for _, e := range fake.Entries() {
		p, who := projects[projectOf[e.ProjectID]], people[users[e.UserID]]
		link := ""
		if e.External != nil {
			link = e.External.Permalink
		}
		export = append(export, []string{e.SpentDate, p.client, p.name, "", taskNames[e.TaskID], e.Notes, fmt.Sprintf("%.2f", e.Hours),
			fmt.Sprintf("%.2f", math.Ceil(e.Hours*4)/4), yesNo(e.Billable), "No", "No", who.first, who.last, "", "Yes",
			"100", "0", "50", "0", "Euro - EUR", link})
	}
	return apiSource(tr, fake.BaseURL(), clock), export
}
