package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/vclock"
)

// TestGitHubSyncAsNewUser walks a new user's path with GitHub against the
// fake, through the CLI: a config naming people by login and clients by
// repository, validate, sync, and status showing each client's issues and
// messages as GitHub has them; then a client's issue the agency answers
// (a met response clock in `karkas sla`) and one only a bot and a CI
// account comment on (running, and breached a day later); a sync with
// nothing new that reports itself unchanged and spends no quota; and a
// repository the token loses, which is one "needs attention" line of
// status while the other repositories go on.
func TestGitHubSyncAsNewUser(t *testing.T) {
	t.Parallel()
	// Monday 9:00 in Berlin; the history is the ten days before.
	clock := vclock.NewVirtual(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	w := githubfake.NewWorld(clock)
	g := w.Generate(11, 3, 90, 240, 10)
	w.AddUser("ci-runner", "")
	w.AddUser("northwind-karkas", "")
	const tok = "ghp_newuser000000000000000000000000000"
	w.AddToken(tok, "northwind-karkas")
	srv := githubfake.New(t, githubfake.Options{World: w})
	env := map[string]string{"GITHUB_TOKEN": tok}

	var cfg strings.Builder
	cfg.WriteString(`agency: {name: Northwind Digital, domains: [northwind.agency], calendar: berlin}
calendars:
  berlin: {time_zone: Europe/Berlin, hours: {mon-fri: ["09:00-18:00"]}}
policy_sets:
  standard:
    response: {target: 6h, warn: 3h}
people:
`)
	for i, login := range g.Agency {
		fmt.Fprintf(&cfg, "  - {id: dev%d, name: Developer %d, side: agency, github: [%s]}\n", i+1, i+1, login)
	}
	for c, logins := range g.Clients {
		for i, login := range logins {
			fmt.Fprintf(&cfg, "  - {id: c%dp%d, name: Contact %d of %d, side: client, client: c%d, github: [%s]}\n", c+1, i+1, i+1, c+1, c+1, login)
		}
	}
	cfg.WriteString("clients:\n")
	for i, r := range g.Repos {
		fmt.Fprintf(&cfg, "  - {id: c%d, name: Client %d, policy_set: standard, repos: [%s]}\n", i+1, i+1, r.FullName())
	}
	fmt.Fprintf(&cfg, `statuses:
  - {source: github, match: [open, todo], status: todo}
  - {source: github, match: [in progress], status: in_progress}
  - {source: github, match: [review], status: review}
  - {source: github, match: [closed], status: done}
sources:
  - id: github
    kind: github
    options:
      token: ${GITHUB_TOKEN}
      base_url: %s
      status_labels: [%s]
      bots: [ci-runner]
`, srv.URL(), strings.Join(githubfake.GenerateStatusLabels, ", "))
	path := filepath.Join(t.TempDir(), "karkas.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, append([]string{"--config", path}, args...)...)
		if code != want {
			t.Fatalf("%s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	for _, args := range [][]string{{"validate"}, {"validate", "--online"}} {
		if out := cli(exitOK, args...); !strings.Contains(out, ": ok (3 clients, 12 people, 1 source)") {
			t.Fatalf("%v: %s\n%s", args, out, cfg.String())
		}
	}

	// status shows, per client, the tasks and messages GitHub has: every
	// issue and pull request, its opening text and its comments.
	checkStatus := func(what string) string {
		t.Helper()
		out := cli(exitOK, "status")
		// Issue events give labels, assignees, titles and closing, never
		// an edit of the body: status says what karkas cannot know.
		if !strings.Contains(out, "the source reports no changes of description, due, checklists;") {
			t.Errorf("%s: status does not say which fields GitHub keeps no history of:\n%s", what, out)
		}
		got := statusGitHub(out)
		for i, r := range g.Repos {
			issues := len(w.Issues(r.ID))
			want := [2]int{issues, issues + len(w.Comments(r.ID))}
			if id := fmt.Sprintf("c%d", i+1); got[id] != want {
				t.Errorf("%s: client %s shows %v (tasks, messages), GitHub has %v", what, id, got[id], want)
			}
		}
		if len(got) != len(g.Repos) || strings.Contains(out, "no rule in statuses") || strings.Contains(out, "needs attention") {
			t.Errorf("%s: status:\n%s", what, out)
		}
		return out
	}
	cli(exitOK, "sync")
	checkStatus("first sync")

	// A client's issue (in Russian) the agency answers within the hour,
	// and another client's that only a bot and the CI account comment on.
	repoA, repoB := g.Repos[0], g.Repos[1]
	clock.AdvanceTo(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	answered := w.OpenIssue(repoA.ID, g.Clients[0][0], "Не работает оплата картой", "Клиенты не могут оплатить заказ.")
	clock.Advance(time.Hour)
	w.Comment(repoA.ID, answered.Number, g.Agency[0], "Починили, проверьте, пожалуйста.")
	clock.Advance(30 * time.Minute)
	waiting := w.OpenIssue(repoB.ID, g.Clients[1][1], "Broken link on the pricing page", "The Compare plans link gives a 404.")
	clock.Advance(10 * time.Minute)
	w.Comment(repoB.ID, waiting.Number, g.Bot, "Preview deployed.")
	w.Comment(repoB.ID, waiting.Number, "ci-runner", "Build passed.")
	if out := cli(exitOK, "sync"); !regexp.MustCompile(`\bmessages 5\b`).MatchString(out) {
		t.Errorf("the sync after two issues and three comments:\n%s", out)
	}
	checkStatus("sync after the new issues")

	// sla at 12:30 in Berlin: the answered issue's clock is met, the
	// other is running; the next afternoon it is breached.
	stateOf := func(client, title, at string) string {
		t.Helper()
		out := cli(exitOK, "sla", "--client", client, "--policy", "response", "--at", at, "--format", "json")
		var clocks []struct {
			State   string `json:"state"`
			Subject struct {
				Title string `json:"title"`
			} `json:"subject"`
		}
		if err := json.Unmarshal([]byte(out), &clocks); err != nil {
			t.Fatalf("sla --format json: %v\n%s", err, out)
		}
		var states []string
		for _, c := range clocks {
			if c.Subject.Title == title {
				states = append(states, c.State)
			}
		}
		if len(states) != 1 {
			t.Fatalf("sla --client %s at %s: %d response clocks of %q, want 1\n%s", client, at, len(states), title, out)
		}
		return states[0]
	}
	if got := stateOf("c1", answered.Title, "2026-03-02T12:30:00+01:00"); got != "met" {
		t.Errorf("the issue the agency answered in an hour: %s, want met", got)
	}
	if got := stateOf("c2", waiting.Title, "2026-03-02T12:30:00+01:00"); got != "running" {
		t.Errorf("the issue only a bot and CI commented on, an hour on: %s, want running", got)
	}
	if got := stateOf("c2", waiting.Title, "2026-03-03T17:00:00+01:00"); got != "breached" {
		t.Errorf("the issue only a bot and CI commented on, a day later: %s, want breached", got)
	}
	if out := cli(exitOK, "sla", "--client", "c1"); !strings.Contains(out, answered.Title) {
		t.Errorf("the table of karkas sla lacks the answered issue:\n%s", out)
	}

	// Nothing new: after one sync that reads the newest second again, a
	// sync is 304 throughout, spends no quota and says so.
	cli(exitOK, "sync")
	srv.ResetStats()
	out := cli(exitOK, "sync")
	if !strings.Contains(out, "no rows changed") || !strings.Contains(out, "ok (unchanged)") {
		t.Errorf("a sync with nothing new:\n%s", out)
	}
	if srv.Spent() != 0 || srv.NotModified() != srv.Total() {
		t.Errorf("a sync with nothing new: %d requests, %d answered 304, %d spent; want all 304, none spent", srv.Total(), srv.NotModified(), srv.Spent())
	}

	// The token loses the third repository (a fine-grained token that no
	// longer lists it); the others go on.
	lost := g.Repos[2]
	w.AddToken(tok, "northwind-karkas", repoA.ID, repoB.ID)
	clock.Advance(time.Hour)
	w.Comment(repoA.ID, answered.Number, g.Clients[0][0], "Спасибо, работает!")
	if out := cli(exitFailed, "sync"); !regexp.MustCompile(`\bmessages 1\b`).MatchString(out) {
		t.Errorf("sync without the lost repository did not store the others' news:\n%s", out)
	}
	status := cli(exitOK, "status")
	attention := regexp.MustCompile(`(?m)^! github needs attention: .*`+regexp.QuoteMeta(lost.FullName())+`.*$`).FindAllString(status, -1)
	if len(attention) != 1 || strings.Count(status, "needs attention") != 1 {
		t.Errorf("status does not name the lost repository in one line:\n%s", status)
	}
	got := statusGitHub(status)
	issues := len(w.Issues(lost.ID))
	if want := [2]int{issues, issues + len(w.Comments(lost.ID))}; got["c3"] != want {
		t.Errorf("the lost repository's client shows %v (tasks, messages), want its data kept: %v", got["c3"], want)
	}
	if a := len(w.Issues(repoA.ID)); got["c1"] != [2]int{a, a + len(w.Comments(repoA.ID))} {
		t.Errorf("client c1 shows %v after the sync that lost c3's repository", got["c1"])
	}
}

// statusGitHub reads the client table of `karkas status`: per client id,
// its "tasks" and "messages" columns.
func statusGitHub(status string) map[string][2]int {
	out := map[string][2]int{}
	_, table, ok := strings.Cut(status, "\nclient ")
	if !ok {
		return out
	}
	for _, l := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 8 {
			break
		}
		// Counted from the end: a client's name may hold spaces.
		tasks, err1 := strconv.Atoi(f[len(f)-6])
		messages, err2 := strconv.Atoi(f[len(f)-4])
		if err1 == nil && err2 == nil {
			out[f[0]] = [2]int{tasks, messages}
		}
	}
	return out
}
