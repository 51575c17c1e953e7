package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/harvest/harvestfake"
	"github.com/karkas/karkas/connectors/toggl/togglfake"
)

// trackerFake is a time tracker's fake as a new user meets it: what the
// config says about it, what the tracker holds, and a way to change that
// between syncs.
type trackerFake struct {
	// kind and options are the config's source entry; options are
	// "key: value" lines.
	kind    string
	options []string
	// env holds the token the options name as ${VAR}.
	env     map[string]string
	clients []configClient
	// want is the live time per config client id, "(no client)" for
	// time of no configured client, as the tracker has it now.
	want func() map[string]clientTime
	// change edits an entry (more time, and another client where the
	// tracker lets an entry move), deletes one and adds one.
	change func(t *testing.T)
}

type configClient struct {
	id, name string
	projects []string
}

type clientTime struct {
	entries int
	seconds int64
}

// TestTrackerSyncAsNewUser is a new user's path with each time tracker:
// a config naming the tracker and each client's projects, `karkas
// validate`, `sync`, and `status` showing each client's entries and hours
// as the tracker has them; then an entry edited, one deleted and one
// added, and a sync that brings status back in line.
func TestTrackerSyncAsNewUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fake func(t *testing.T) trackerFake
	}{
		{"everhour", everhourAsNewUser},
		{"toggl", togglAsNewUser},
		{"clockify", clockifyAsNewUser},
		{"harvest", harvestAsNewUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			syncAsNewUser(t, tc.fake(t))
		})
	}
}

func syncAsNewUser(t *testing.T, f trackerFake) {
	t.Helper()
	var config strings.Builder
	config.WriteString("agency: {name: Northwind, domains: [northwind.agency]}\nclients:\n")
	for _, c := range f.clients {
		var projects []string
		for _, p := range c.projects {
			projects = append(projects, strconv.Quote(p))
		}
		fmt.Fprintf(&config, "  - {id: %s, name: %s, projects: [%s]}\n", c.id, strconv.Quote(c.name), strings.Join(projects, ", "))
	}
	fmt.Fprintf(&config, "sources:\n  - id: %s\n    kind: %s\n    options:\n", f.kind, f.kind)
	for _, o := range f.options {
		fmt.Fprintf(&config, "      %s\n", o)
	}
	cfg := filepath.Join(t.TempDir(), "karkas.yaml")
	if err := os.WriteFile(cfg, []byte(config.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, f.env, "--config", cfg, "validate"); code != exitOK {
		t.Fatalf("validate: exit %d\n%s%s\n%s", code, out, errOut, config.String())
	}
	check := func(what string) {
		t.Helper()
		if code, out, errOut := runCLI(t, f.env, "--config", cfg, "sync"); code != exitOK {
			t.Fatalf("%s: sync: exit %d\n%s%s", what, code, out, errOut)
		}
		code, status, errOut := runCLI(t, f.env, "--config", cfg, "status")
		if code != exitOK {
			t.Fatalf("%s: status: exit %d\n%s%s", what, code, status, errOut)
		}
		if strings.Contains(status, "needs attention") || strings.Contains(status, "input skipped") {
			t.Errorf("%s: status reports trouble:\n%s", what, status)
		}
		got := statusTime(status)
		want := map[string][2]string{}
		for id, ct := range f.want() {
			// As status prints it: entries, and hours to one decimal.
			want[id] = [2]string{strconv.Itoa(ct.entries), fmt.Sprintf("%.1f", (time.Duration(ct.seconds) * time.Second).Hours())}
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: client %s shows %q (entries, hours), the tracker has %q", what, id, got[id], w)
			}
		}
		for id, g := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("%s: client %s shows %q (entries, hours), the tracker has none", what, id, g)
			}
		}
		if t.Failed() {
			t.Fatalf("status:\n%s", status)
		}
	}
	check("first sync")
	f.change(t)
	check("sync after an edit, a deletion and an addition")
}

// statusTime reads the client table of `karkas status`: per client id,
// its "time entries" and "hours" columns, for clients holding time.
func statusTime(status string) map[string][2]string {
	out := map[string][2]string{}
	_, table, ok := strings.Cut(status, "\nclient ")
	if !ok {
		return out
	}
	lines := strings.Split(table, "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 8 {
			break
		}
		id := f[0]
		if strings.HasPrefix(l, noClient) {
			id = noClient
		}
		// Counted from the end: a client's name may hold spaces.
		if entries := f[len(f)-3]; entries != "0" {
			out[id] = [2]string{entries, f[len(f)-2]}
		}
	}
	return out
}

// noClient is how status names time that belongs to no configured client.
const noClient = "(no client)"

// tally counts an entry of secs seconds for client ("": no client).
func tally(m map[string]clientTime, client string, secs int64) {
	if client == "" {
		client = noClient
	}
	ct := m[client]
	ct.entries++
	ct.seconds += secs
	m[client] = ct
}

func everhourAsNewUser(t *testing.T) trackerFake {
	w := everhourfake.NewWorld(nil) // the wall clock, as the CLI runs on
	w.Generate(3, 6, 600, 3)
	srv := everhourfake.New(t, everhourfake.Options{World: w})
	f := trackerFake{
		kind:    "everhour",
		options: []string{"token: ${EVERHOUR_TOKEN}", "base_url: " + srv.BaseURL()},
		env:     map[string]string{"EVERHOUR_TOKEN": everhourfake.DefaultAPIKey},
	}
	for _, c := range w.Clients() {
		cc := configClient{id: fmt.Sprintf("c%d", c.ID), name: c.Name}
		for _, p := range w.Projects() {
			if p.Client == c.ID {
				cc.projects = append(cc.projects, p.Name)
			}
		}
		f.clients = append(f.clients, cc)
	}
	f.want = func() map[string]clientTime {
		m := map[string]clientTime{}
		for _, e := range w.Entries() {
			client := ""
			if c := w.ClientOf(e.TaskID); c.ID != 0 {
				client = fmt.Sprintf("c%d", c.ID)
			}
			tally(m, client, e.Time)
		}
		return m
	}
	// Two entries of today on a client's task, to edit and delete later.
	today := time.Now().UTC().Format(time.DateOnly)
	var task string
	for _, tk := range w.Tasks() {
		if w.ClientOf(tk.ID).ID != 0 {
			task = tk.ID
			break
		}
	}
	user := w.Users()[0].ID
	a := w.AddEntry(user, task, today, 3600, "дизайн главной")
	b := w.AddEntry(user, task, today, 1800, "правки")
	f.change = func(t *testing.T) {
		// Everhour's PUT /time changes time and comment, not the task.
		if !w.EditEntry(a.ID, a.Time+5400, "исправлено") || !w.DeleteEntry(b.ID) {
			t.Fatal("the fake refused the edit or the deletion")
		}
		w.AddEntry(user, task, today, 7200, "созвон с клиентом")
	}
	return f
}

// The Toggl, Clockify and Harvest fakes hold a small agency: two clients
// with a project each, an internal project of no client, two people, and
// thirty entries over the last three weeks or so.
var smallAgency = []configClient{
	{id: "acme", name: "Acme", projects: []string{"Acme site"}},
	{id: "romashka", name: "ООО Ромашка", projects: []string{"Сайт Ромашки"}},
}

const internalProject = "Northwind — Internal"

// recentStarts returns n starts 19 hours apart (thirty span 23 days), the
// newest an hour ago: all inside the window of the current and the
// previous month that a sync reads, which begins 28 days ago or earlier.
func recentStarts(n int) []time.Time {
	newest := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = newest.Add(-time.Duration(i*19) * time.Hour).Add(-time.Duration(i%7) * time.Minute)
	}
	return out
}

// entrySeconds is the i-th entry's length: ten minutes and more, with
// odd seconds where the tracker keeps them.
func entrySeconds(i int) int64 { return int64(600 + i%37*131) }

func togglAsNewUser(t *testing.T) trackerFake {
	fake := togglfake.New(t, togglfake.Options{})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Members' zones decide the day Toggl files an entry under.
	users := []int64{
		fake.AddUser("Anna Smith", "anna@northwind.agency", berlin),
		fake.AddUser("Борис Иванов", "boris@northwind.agency", time.FixedZone("+05", 5*3600)),
	}
	acme := fake.AddProject("Acme site", fake.AddClient("Acme"))
	romashka := fake.AddProject("Сайт Ромашки", fake.AddClient("ООО Ромашка"))
	internal := fake.AddProject(internalProject, 0)
	clientOf := map[int64]string{acme: "acme", romashka: "romashka"}
	task := fake.AddTask("Header", acme)
	var ids []int64
	for i, start := range recentStarts(30) {
		e := togglfake.Entry{UserID: users[i%2], ProjectID: []int64{acme, romashka, internal, 0}[i%4],
			Description: fmt.Sprintf("работа %d", i), Billable: i%3 != 0, Start: start, Stop: start.Add(time.Duration(entrySeconds(i)) * time.Second)}
		if e.ProjectID == acme && i%8 == 0 {
			e.TaskID = task
		}
		ids = append(ids, fake.AddEntry(e))
	}
	return trackerFake{
		kind: "toggl",
		// backfill_months equal to the window: Toggl asks for a request a
		// second, and ten empty backfill months would cost ten seconds.
		options: []string{"token: ${TOGGL_TOKEN}", fmt.Sprintf("account: %q", strconv.FormatInt(fake.Workspace(), 10)),
			"base_url: " + fake.BaseURL(), "backfill_months: 2"},
		env:     map[string]string{"TOGGL_TOKEN": fake.Token()},
		clients: smallAgency,
		want: func() map[string]clientTime {
			m := map[string]clientTime{}
			for _, e := range fake.Entries() {
				if !e.Stop.IsZero() {
					tally(m, clientOf[e.ProjectID], int64(e.Stop.Sub(e.Start)/time.Second))
				}
			}
			return m
		},
		change: func(*testing.T) {
			fake.Edit(ids[0], func(e *togglfake.Entry) { e.Stop, e.ProjectID = e.Stop.Add(95*time.Minute+7*time.Second), romashka })
			fake.Delete(ids[1])
			start := time.Now().UTC().Add(-3 * time.Hour)
			fake.AddEntry(togglfake.Entry{UserID: users[1], ProjectID: acme, TaskID: task, Description: "созвон с клиентом",
				Billable: true, Start: start, Stop: start.Add(2 * time.Hour)})
		},
	}
}

func clockifyAsNewUser(t *testing.T) trackerFake {
	fake := clockifyfake.New(t, clockifyfake.Options{})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	yekaterinburg, err := time.LoadLocation("Asia/Yekaterinburg")
	if err != nil {
		t.Fatal(err)
	}
	users := []string{
		fake.AddUser("Anna Smith", "anna@northwind.agency", berlin),
		fake.AddUser("Борис Иванов", "boris@northwind.agency", yekaterinburg),
	}
	acme := fake.AddProject("Acme site", fake.AddClient("Acme"))
	romashka := fake.AddProject("Сайт Ромашки", fake.AddClient("ООО Ромашка"))
	internal := fake.AddProject(internalProject, "")
	clientOf := map[string]string{acme: "acme", romashka: "romashka"}
	task := fake.AddTask("Header", acme)
	var ids []string
	for i, start := range recentStarts(30) {
		e := clockifyfake.Entry{UserID: users[i%2], ProjectID: []string{acme, romashka, internal, ""}[i%4],
			Description: fmt.Sprintf("работа %d", i), Billable: i%3 != 0, Start: start, End: start.Add(time.Duration(entrySeconds(i)) * time.Second)}
		if e.ProjectID == acme && i%8 == 0 {
			e.TaskID = task
		}
		ids = append(ids, fake.AddEntry(e))
	}
	return trackerFake{
		kind: "clockify",
		options: []string{"token: ${CLOCKIFY_TOKEN}", "account: " + fake.Workspace(), "base_url: " + fake.BaseURL(),
			"backfill_months: 2"},
		env:     map[string]string{"CLOCKIFY_TOKEN": fake.Key()},
		clients: smallAgency,
		want: func() map[string]clientTime {
			m := map[string]clientTime{}
			for _, e := range fake.Entries() {
				if !e.End.IsZero() {
					tally(m, clientOf[e.ProjectID], int64(e.End.Sub(e.Start)/time.Second))
				}
			}
			return m
		},
		change: func(*testing.T) {
			fake.Edit(ids[0], func(e *clockifyfake.Entry) { e.End, e.ProjectID = e.End.Add(95*time.Minute+7*time.Second), romashka })
			fake.Delete(ids[1])
			start := time.Now().UTC().Add(-3 * time.Hour)
			fake.AddEntry(clockifyfake.Entry{UserID: users[1], ProjectID: acme, TaskID: task, Description: "созвон с клиентом",
				Billable: true, Start: start, End: start.Add(2 * time.Hour)})
		},
	}
}

func harvestAsNewUser(t *testing.T) trackerFake {
	fake := harvestfake.New(t, harvestfake.Options{})
	users := []int64{fake.AddUser("Anna Smith"), fake.AddUser("Борис Иванов")}
	acme := fake.AddProject("Acme site", fake.AddClient("Acme"))
	romashka := fake.AddProject("Сайт Ромашки", fake.AddClient("ООО Ромашка"))
	internal := fake.AddProject(internalProject, 0)
	clientOf := map[int64]string{acme: "acme", romashka: "romashka"}
	tasks := []int64{fake.AddTask("Design"), fake.AddTask("Development")}
	var ids []int64
	for i, start := range recentStarts(30) {
		// Harvest keeps decimal hours and files entries by spent_date.
		ids = append(ids, fake.AddEntry(harvestfake.Entry{SpentDate: start.Format(time.DateOnly), UserID: users[i%2],
			ProjectID: []int64{acme, romashka, internal}[i%3], TaskID: tasks[i/3%2], Hours: 0.25 + float64(i%7)*0.5,
			Notes: fmt.Sprintf("работа %d", i), Billable: i%3 != 0}))
	}
	return trackerFake{
		kind: "harvest",
		// Harvest lists the entries changed since the last sync, but not
		// the deleted ones: those go when the whole window is read again,
		// every reconcile_every (6h by default). The CLI runs on the wall
		// clock, so the test cuts reconcile_every to see the deletion now;
		// connectors/harvest tests the change list under a virtual clock.
		options: []string{"token: ${HARVEST_TOKEN}", fmt.Sprintf("account: %q", fake.Account()), "base_url: " + fake.BaseURL(),
			"backfill_months: 2", "reconcile_every: 1ns"},
		env:     map[string]string{"HARVEST_TOKEN": fake.Token()},
		clients: smallAgency,
		want: func() map[string]clientTime {
			m := map[string]clientTime{}
			for _, e := range fake.Entries() {
				if !e.IsRunning {
					// Harvest answers hours to two decimals; karkas keeps whole seconds.
					tally(m, clientOf[e.ProjectID], int64(math.Round(math.Round(e.Hours*100)/100*3600)))
				}
			}
			return m
		},
		change: func(*testing.T) {
			fake.Edit(ids[0], func(e *harvestfake.Entry) { e.Hours, e.ProjectID = e.Hours+1.75, romashka })
			fake.Delete(ids[1])
			fake.AddEntry(harvestfake.Entry{SpentDate: time.Now().UTC().Format(time.DateOnly), UserID: users[1], ProjectID: acme,
				TaskID: tasks[0], Hours: 2, Notes: "созвон с клиентом", Billable: true})
		},
	}
}
