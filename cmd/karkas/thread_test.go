package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// threadConfig is an agency with one client whose mail is a folder of .eml
// files, and a response promise of 3 business hours.
const threadConfig = `agency: {name: Northwind Digital, domains: [northwind.agency], calendar: berlin}
store: {url: "${KARKAS_STORE}"}
calendars:
  berlin: {time_zone: Europe/Berlin, hours: {mon-fri: ["09:00-18:00"]}}
policy_sets:
  standard: {response: {target: 3h, warn: 1h}}
people:
  - {id: anna, name: Anna Petrova, side: agency, role: pm, emails: [anna@northwind.agency]}
  - {id: john, name: John Carter, side: client, role: contact, client: acme, emails: [john@acmefoods.com]}
clients:
  - {id: acme, name: Acme Foods, domains: [acmefoods.com], contacts: [john], pm: anna, calendar: berlin, policy_set: standard}
sources:
  - {id: mail, kind: mail_files, options: {files: [{path: inbox}]}}
`

// threadMail is one message of the thread in TestMidThreadReply.
type threadMail struct {
	file, id, from, to, date, subject, headers, body string
}

// A client's thread, as mail programs write it on Monday 2 November 2026
// (Berlin, +0100): John asks, Anna answers with full References, John
// answers from his phone (only In-Reply-To, no References), and Anna's
// answer an hour later comes from a web mailer that also sends only
// In-Reply-To.
var midThread = []threadMail{
	{"1.eml", "q1@acmefoods.com", "John Carter <john@acmefoods.com>", "anna@northwind.agency", "Mon, 2 Nov 2026 10:00:00 +0100",
		"Logo colours", "", "Which colours do we go with?\n"},
	{"2.eml", "a1@northwind.agency", "Anna Petrova <anna@northwind.agency>", "john@acmefoods.com", "Mon, 2 Nov 2026 11:00:00 +0100",
		"Re: Logo colours", "In-Reply-To: <q1@acmefoods.com>\nReferences: <q1@acmefoods.com>\n", "Blue and white. Fine with you?\n"},
	{"3.eml", "q2@acmefoods.com", "John Carter <john@acmefoods.com>", "anna@northwind.agency", "Mon, 2 Nov 2026 12:00:00 +0100",
		"Re: Logo colours", "In-Reply-To: <a1@northwind.agency>\n", "Could the blue be darker?\n\nSent from my phone\n"},
	{"4.eml", "a2@northwind.agency", "Anna Petrova <anna@northwind.agency>", "john@acmefoods.com", "Mon, 2 Nov 2026 13:00:00 +0100",
		"Re: Logo colours", "In-Reply-To: <q2@acmefoods.com>\n", "Yes, here it is darker.\n"},
}

func writeMail(t *testing.T, dir string, m threadMail) {
	t.Helper()
	raw := fmt.Sprintf("Message-ID: <%s>\nFrom: %s\nTo: %s\nDate: %s\nSubject: %s\n%sContent-Type: text/plain; charset=utf-8\n\n%s",
		m.id, m.from, m.to, m.date, m.subject, m.headers, m.body)
	if err := os.WriteFile(filepath.Join(dir, m.file), []byte(strings.ReplaceAll(raw, "\n", "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// responseClocks runs karkas sla for the response policy as of the end of
// the day and returns the clocks by their start.
func responseClocks(t *testing.T, env map[string]string, config string) map[string]slaClock {
	t.Helper()
	code, out, errOut := runCLI(t, env, "sla", "-c", config, "--policy", "response", "--format", "json", "--at", "2026-11-02T18:00:00+01:00")
	if code != exitOK {
		t.Fatalf("sla: exit %d\n%s\n%s", code, out, errOut)
	}
	var clocks []slaClock
	if err := json.Unmarshal([]byte(out), &clocks); err != nil {
		t.Fatalf("sla json: %v\n%s", err, out)
	}
	byStart := map[string]slaClock{}
	for _, c := range clocks {
		byStart[c.StartedAt.UTC().Format("15:04")] = c
	}
	return byStart
}

// A client's reply in the middle of a thread that names its parent only by
// In-Reply-To (as many mobile and web mailers send it) belongs to the
// thread, so the agency's answer an hour later meets its response clock,
// and so it is whatever order the messages arrive in: here all at once, and
// in reverse order over two syncs.
func TestMidThreadReply(t *testing.T) {
	t.Parallel()
	for _, order := range []struct {
		name  string
		syncs [][]int
		// withdrawn is how many stored clocks belonged to a thread that
		// later messages joined to another.
		withdrawn int
	}{
		{"in one sync", [][]int{{0, 1, 2, 3}}, 0},
		// The first sync holds the phone reply and its answer, in a
		// thread rooted at Anna's first answer, which is not there yet.
		{"in reverse over two syncs", [][]int{{3, 2}, {1, 0}}, 1},
		{"the answer in a later sync", [][]int{{0, 1, 2}, {3}}, 0},
	} {
		t.Run(order.name, func(t *testing.T) {
			t.Parallel()
			for _, dialect := range testdb.Dialects {
				t.Run(dialect, func(t *testing.T) {
					url := testdb.URL(t, dialect)
					dir := t.TempDir()
					inbox := filepath.Join(dir, "inbox")
					if err := os.Mkdir(inbox, 0o755); err != nil {
						t.Fatal(err)
					}
					config := filepath.Join(dir, "karkas.yaml")
					if err := os.WriteFile(config, []byte(threadConfig), 0o644); err != nil {
						t.Fatal(err)
					}
					env := map[string]string{"KARKAS_STORE": url}
					for _, batch := range order.syncs {
						for _, i := range batch {
							writeMail(t, inbox, midThread[i])
						}
						if code, out, errOut := runCLI(t, env, "sync", "-c", config); code != exitOK {
							t.Fatalf("sync: exit %d\n%s\n%s", code, out, errOut)
						}
					}
					clocks := responseClocks(t, env, config)
					// 10:00 and 12:00 Berlin are 09:00 and 11:00 UTC.
					q1, q2 := clocks["09:00"], clocks["11:00"]
					if len(clocks) != 2 || q1.State != "met" || q2.State != "met" {
						t.Fatalf("response clocks %+v; want the question at 10:00 and the one at 12:00 both met", clocks)
					}
					if q1.Subject.ExternalID != "q1@acmefoods.com" || q2.Subject.ExternalID != "q1@acmefoods.com" {
						t.Errorf("conversations %q and %q; want both in the thread of <q1@acmefoods.com>", q1.Subject.ExternalID, q2.Subject.ExternalID)
					}
					if q2.StoppedAt == nil || !q2.StoppedAt.Equal(time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)) {
						t.Errorf("the phone reply's clock stopped at %v; want Anna's answer at 13:00 Berlin", q2.StoppedAt)
					}
					st, err := store.Open(context.Background(), url)
					if err != nil {
						t.Fatal(err)
					}
					defer st.Close()
					var keys []string
					if err := st.Select(context.Background(), &keys, `SELECT DISTINCT thread_key FROM messages WHERE source_id = 'mail' AND deleted_at IS NULL`); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(keys, []string{"q1@acmefoods.com"}) {
						t.Errorf("stored thread keys %v; want the one thread", keys)
					}
					// What the sync stored as the clocks' state says the same,
					// and a clock of a thread that no longer exists is withdrawn,
					// not left open.
					var open int
					if err := st.Get(context.Background(), &open, `SELECT COUNT(*) FROM sla_clocks WHERE policy = 'response' AND state IN ('running', 'at_risk', 'breached')`); err != nil {
						t.Fatal(err)
					}
					if open != 0 {
						t.Errorf("%d response clocks stored open; want none", open)
					}
					var withdrawn int
					if err := st.Get(context.Background(), &withdrawn, `SELECT COUNT(*) FROM sla_clocks WHERE state = 'withdrawn'`); err != nil {
						t.Fatal(err)
					}
					if withdrawn != order.withdrawn {
						t.Errorf("%d stored clocks withdrawn; want %d", withdrawn, order.withdrawn)
					}
					// The client's report counts the two questions, answered,
					// and no clock of the thread that no longer exists.
					code, out, errOut := runCLI(t, env, "report", "hours", "-c", config, "--client", "acme", "--period", "2026-11", "--format", "json")
					if code != exitOK {
						t.Fatalf("report: exit %d\n%s\n%s", code, out, errOut)
					}
					var rep struct {
						SLA struct {
							Answered, Unanswered int
							Breaches             []any
						} `json:"sla"`
					}
					if err := json.Unmarshal([]byte(out), &rep); err != nil {
						t.Fatalf("report json: %v\n%s", err, out)
					}
					if rep.SLA.Answered != 2 || rep.SLA.Unanswered != 0 || len(rep.SLA.Breaches) != 0 {
						t.Errorf("the report's response promise: %+v; want 2 answered, none waiting, no breach", rep.SLA)
					}
				})
			}
		})
	}
}
