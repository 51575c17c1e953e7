package main

import (
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/karkas/karkas/internal/testdb"
)

// links lists each stored time entry's and email's task and client.
func links(t *testing.T, url string) []string {
	t.Helper()
	return storedLines(t, url, `SELECT external_id || ' ' || task_id || ' ' || client_id FROM time_entries WHERE deleted_at IS NULL
		UNION ALL SELECT external_id || ' ' || task_id || ' ' || client_id FROM messages WHERE deleted_at IS NULL AND channel = 'email'
		ORDER BY 1`)
}

// Time entries and emails synced before the cards they name link to them
// when the cards arrive, in that sync, with no remap: the store ends as if
// the cards had come first, and the card source's line says how many.
func TestLateLinksHeal(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			config, data := demoSetup(t, 1, 2000)
			first, late := testdb.URL(t, dialect), testdb.URL(t, dialect)
			sync := func(url string, args ...string) string {
				t.Helper()
				env := map[string]string{"KARKAS_DEMO_DATA": data, "KARKAS_STORE": url}
				code, out, errOut := runCLI(t, env, append([]string{"sync", "-c", config}, args...)...)
				if code != exitOK {
					t.Fatalf("sync %v: exit %d\n%s\n%s", args, code, out, errOut)
				}
				return out
			}
			sync(first)
			sync(late, "--source", "everhour", "--source", "mail")
			before := links(t, late)
			out := sync(late, "--source", "trello")
			m := regexp.MustCompile(`(?m)^trello: .*\b(\d+) time entries and (\d+) emails synced before its tasks now link to them`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the card source's sync does not say it linked entries and emails:\n%s", out)
			}
			after, want := links(t, late), links(t, first)
			if !slices.Equal(after, want) {
				t.Errorf("after the cards arrived, %d of %d entries and emails link otherwise than when the cards came first", countDiff(after, want), len(want))
			}
			entries, _ := strconv.Atoi(m[1])
			emails, _ := strconv.Atoi(m[2])
			if entries == 0 || emails == 0 {
				t.Errorf("linked %d time entries and %d emails late; the demo has both naming cards", entries, emails)
			}
			if changed := countDiff(before, after); entries+emails != changed {
				t.Errorf("the summary says %d linked; %d rows changed their link", entries+emails, changed)
			}
		})
	}
}
