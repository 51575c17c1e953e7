package push

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

var errKilled = errors.New("killed between the sink's answer and the store's record")

// sinkCases are one routing per sink, with a way to count the effects a
// delivery had at its target.
var sinkCases = []struct {
	name    string
	routing string
	// subject is what the clock is about: the Trello card, the GitHub
	// issue, or an email thread.
	subject string
	// effects counts what the target holds of delivery id.
	effects func(w *world, id string) int
	// recognised says a repeat finds the earlier effect itself (a
	// marker, a file); email and webhook rely on their receivers.
	recognised bool
}{
	{
		name: "trello comment", subject: "card", recognised: true,
		routing: `  sinks:
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
  defaults:
    - {sink: cards, to: [assignee, pm]}
`,
		// The card has no other comment: every comment is the delivery's.
		effects: func(w *world, _ string) int {
			n := 0
			for _, a := range w.trello.World().Actions(w.board.ID) {
				if a.Type == "commentCard" {
					n++
				}
			}
			return n
		},
	},
	{
		name: "github issue in the ops repository", subject: "card", recognised: true,
		routing: `  sinks:
    ops: {kind: github, options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repo: northwind/ops}}
  defaults:
    - {sink: ops, to: [lead]}
`,
		effects: func(w *world, id string) int {
			n := 0
			for _, is := range w.github.World().Issues(w.ops.ID) {
				if is.Body != nil && strings.Contains(*is.Body, github.Marker(id)) {
					n++
				}
			}
			return n
		},
	},
	{
		name: "github comment on the task's issue", subject: "issue", recognised: true,
		routing: `  sinks:
    ops: {kind: github, options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repo: northwind/ops}}
  defaults:
    - {sink: ops, to: [pm]}
`,
		effects: func(w *world, id string) int {
			n := 0
			for _, c := range w.github.World().Comments(w.site.ID) {
				if strings.Contains(c.Body, github.Marker(id)) {
					n++
				}
			}
			if len(w.github.World().Issues(w.ops.ID)) > 0 {
				n += 100 // an issue in the ops repository is the wrong effect
			}
			return n
		},
	},
	{
		name: "email", subject: "thread",
		routing: `  sinks:
    mail: {kind: email, options: {host: "${SMTP_HOST}", port: "${SMTP_PORT}", tls: none, from: sla@northwind.agency}}
  defaults:
    - {sink: mail, to: [pm, lead]}
`,
		effects: func(w *world, id string) int { return len(w.mail.Messages(w.t)) },
	},
	{
		name: "webhook", subject: "thread",
		routing: `  sinks:
    chat: {kind: webhook, options: {url: "${HOOK_URL}", secret: "${HOOK_SECRET}"}}
  defaults:
    - {sink: chat}
`,
		effects: func(w *world, id string) int { _, kept := w.hook.counts(); return kept },
	},
	{
		name: "file", subject: "thread", recognised: true,
		routing: `  sinks:
    folder: {kind: file, options: {dir: "${FOLDER}"}}
  defaults:
    - {sink: folder, to: [pm]}
`,
		effects: func(w *world, id string) int {
			files, _ := filepath.Glob(filepath.Join(w.folder, "*"))
			return len(files)
		},
	},
}

func (w *world) subject(kind string) sla.Subject {
	switch kind {
	case "card":
		return w.cardClock(sla.PolicyResponse, sla.Breached).Subject
	case "issue":
		return sla.Subject{Kind: "task", Source: "gh", ExternalID: "77#1", Title: "Checkout is slow", URL: "https://github.com/acme/site/issues/1"}
	}
	return sla.Subject{Kind: "thread", Source: "mail", ExternalID: "thread-1@acme.example", Title: "Где макет?"}
}

// The issue's done-means: the worker is killed between each sink's answer
// and the store's record, and the next run, the only deliverer, takes the
// delivery over at once: one effect per delivery where the sink can look
// (Trello, GitHub, file), the same Message-ID or webhook-id again where it
// cannot, for every sink, on SQLite and PostgreSQL. A third run sends
// nothing.
func TestKillBetweenAnswerAndRecord(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		for _, tc := range sinkCases {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, dialect, tc.routing)
				w.queue(w.clockOn(sla.PolicyResponse, sla.Breached, w.subject(tc.subject)))

				first := w.worker("first")
				var answered bool
				first.afterSink = func(row store.OutboxRow, res sinks.Result, err error) error {
					if err != nil {
						t.Errorf("the first try failed: %v", err)
					}
					answered = true
					return errKilled
				}
				if _, err := first.Run(context.Background()); !errors.Is(err, errKilled) {
					t.Fatalf("the killed run returned %v", err)
				}
				rows := w.rows()
				if !answered || len(rows) != 1 {
					t.Fatalf("%d deliveries, sink answered %v; want 1 delivery the sink answered", len(rows), answered)
				}
				id := rows[0].IdempotencyKey
				if n := tc.effects(w, id); n != 1 {
					t.Fatalf("the killed try left %d effects, want the 1 it made", n)
				}
				if r := rows[0]; r.Status != store.OutboxPending || r.Attempts != 1 || r.LeaseOwner != "first" {
					t.Fatalf("after the kill the delivery is %s, %d attempts, leased by %q: the record should be missing", r.Status, r.Attempts, r.LeaseOwner)
				}

				// A replica, which cannot know whether the lease's owner
				// lives, leaves the row to it while the lease lasts.
				if rep := w.run(w.worker("replica")); rep.Delivered != 0 {
					t.Fatalf("a delivery was claimed under a live lease: %+v", rep)
				}
				// The next sync holds the lock every deliverer takes:
				// the lease is a dead run's, and the row is taken over
				// at once, not 10 minutes later.
				second := w.worker("second")
				second.Sole = true
				rep := w.run(second)
				if rep.Delivered != 1 || rep.TakenOver != 1 || rep.Failed+rep.Retrying+rep.Skipped != 0 {
					t.Fatalf("the run after the kill, with the lease still on: %+v", rep)
				}
				if tc.recognised && rep.Existed != 1 {
					t.Errorf("the repeat did not recognise the earlier effect (existed %d)", rep.Existed)
				}
				if n := tc.effects(w, id); n != 1 {
					t.Fatalf("after the repeat the target holds %d effects of the delivery, want 1", n)
				}
				if r := w.rows()[0]; r.Status != store.OutboxDelivered || r.ExternalRef == "" || r.LeaseOwner != "" {
					t.Errorf("after the repeat: %+v", r)
				}
				if tc.name == "webhook" {
					// Said plainly: the webhook was sent twice, with one
					// webhook-id; the receiver keeps one because it
					// dedupes, as Standard Webhooks asks. A receiver
					// that does not (Slack, Telegram) shows it twice.
					reqs, _ := w.hook.counts()
					if reqs != 2 || w.hook.requests[0].ID != id || w.hook.requests[1].ID != id {
						t.Errorf("the receiver saw %d requests %+v, want 2 with webhook-id %s", reqs, w.hook.requests, id)
					}
				}
				if tc.name == "email" {
					// The resend is the same message: one Message-ID,
					// which the mailbox keeps once.
					msgs := w.mail.Messages(t)
					if want, _ := emailID(id); len(msgs) != 1 || msgs[0].MessageID != want {
						t.Errorf("mailbox: %+v, want one message %s", msgs, want)
					}
				}
				// Nothing new: a third run sends nothing.
				w.clock.Advance(DefaultLease + 1)
				if rep := w.run(second); rep.Delivered+rep.Skipped+rep.Failed+rep.Retrying != 0 {
					t.Errorf("a run with nothing new did %+v", rep)
				}
				if n := tc.effects(w, id); n != 1 {
					t.Errorf("after a third run the target holds %d effects", n)
				}
			})
		}
	}
}

func emailID(id string) (string, error) {
	return "karkas." + strings.ReplaceAll(id, ":", "=") + "@northwind.agency", nil
}

// A file written by a killed try is there whole or not at all: the sink
// writes a temporary file and renames it, so a temporary file a kill
// left behind is not a delivery, and a file of the delivery's name is.
func TestFileSinkLeavesNoHalfFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := sinks.NewFile(sinks.FileOptions{Dir: dir}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".karkas-123.tmp"), []byte(`{"half`), 0o644); err != nil {
		t.Fatal(err)
	}
	d := sinks.Delivery{ID: "response-00:breached:folder", Message: sinks.Message{Kind: sinks.KindNotice, Items: []sinks.Item{{Policy: "response", To: "breached"}}}}
	res, err := f.Deliver(context.Background(), d)
	if err != nil || res.Existed {
		t.Fatalf("first: %+v %v", res, err)
	}
	if res, err := f.Deliver(context.Background(), d); err != nil || !res.Existed {
		t.Fatalf("second: %+v %v", res, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 || filepath.Base(files[0]) != "response-00=breached=folder.json" {
		t.Errorf("files: %v", files)
	}
}
