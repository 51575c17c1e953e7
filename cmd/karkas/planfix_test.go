package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
)

// discover planfix against the fake prints a skeleton (a client per
// project, the statuses placed, employees on the agency's side and
// contacts on a client's) that validates once its TODOs are filled in;
// the filled config syncs the account and the PlanFix client's response
// clocks come out of its task feed: the contact's question answered by
// the agency within the hour is met.
func TestDiscoverPlanfixThenSync(t *testing.T) {
	t.Parallel()
	fake := planfixfake.New(t, planfixfake.Sample(time.Now()), planfixfake.Options{Limit: -1})
	// A question nobody answered: its clock breaches, and the planfix
	// sink says so on the task.
	fake.Comment("2", planfix.Ref{ID: "contact:11", Name: "Игорь Смирнов"}, "<p>Ну что там с прайсом?</p>", time.Now().Add(-20*time.Hour))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "karkas.yaml")
	base := `agency: {name: Northwind, domains: [northwind.agency], calendar: work}
calendars:
  work: {time_zone: Europe/Moscow, hours: {mon-sun: ["00:00-24:00"]}}
store: {url: "sqlite:` + filepath.Join(dir, "k.db") + `"}
policy_sets:
  standard:
    response: {target: 6h}
sources:
  - {id: pf, kind: planfix, options: {account: northwind, token: "${PLANFIX_TOKEN}", base_url: "` + fake.BaseURL() + `"}}
routing:
  sinks:
    tasks: {kind: planfix, options: {token: "${PLANFIX_TOKEN}", base_url: "` + fake.BaseURL() + `"}}
  defaults:
    - {policies: [response], sink: tasks, to: [assignee]}
`
	if err := os.WriteFile(cfg, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PLANFIX_TOKEN": fake.Token()}
	code, out, errOut := runCLI(t, env, "--config", cfg, "discover", "planfix")
	if code != exitOK {
		t.Fatalf("discover: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{`planfix_projects: ["101"]`, `planfix_projects: ["102"]`, `match: ["В работе"], status: in_progress`,
		`name: "Ольга Петрова", side: agency, planfix: ["user:1"], emails: ["olga@northwind.agency"]`,
		`side: client, client: TODO, planfix: ["contact:11"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("skeleton lacks %q:\n%s", want, out)
		}
	}
	ids := regexp.MustCompile(`(?m)^  - id: (\S+)`).FindAllStringSubmatch(out, -1)
	if len(ids) != 2 {
		t.Fatalf("clients in the skeleton: %v\n%s", ids, out)
	}
	filled := strings.Replace(out, "client: TODO", "client: "+ids[0][1], 1)
	filled = strings.Replace(filled, "client: TODO", "client: "+ids[1][1], 1)
	filled = strings.ReplaceAll(filled, "\n    planfix_projects:", "\n    policy_set: standard\n    planfix_projects:")
	if err := os.WriteFile(cfg, []byte(base+filled), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, env, "--config", cfg, "validate", "--online")
	if code != exitOK {
		t.Fatalf("validate --online of the filled skeleton: exit %d\n%s%s\n--- config:\n%s", code, out, errOut, base+filled)
	}
	code, out, errOut = runCLI(t, env, "--config", cfg, "sync")
	if code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	syncOut := out + errOut
	code, out, errOut = runCLI(t, env, "--config", cfg, "sla", "--policy", "response")
	if code != exitOK {
		t.Fatalf("sla: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"met", "breached", "Форма заявки не отправляется", "Login page is slow", "Обновить прайс-лист"} {
		if !strings.Contains(out, want) {
			t.Errorf("the response clocks lack %q:\n%s\n--- sync:\n%s", want, out, syncOut)
		}
	}
	var notices []string
	for _, tk := range fake.World().Tasks {
		for _, c := range tk.Comments {
			if strings.Contains(c.Description, "[karkas:") {
				notices = append(notices, string(tk.ID)+": "+c.Description)
			}
		}
	}
	if len(notices) != 1 || !strings.HasPrefix(notices[0], "2: ") {
		t.Errorf("the planfix sink's comments: %q, want one on task 2\n--- sync:\n%s", notices, syncOut)
	}
}
