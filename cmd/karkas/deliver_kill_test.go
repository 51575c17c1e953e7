package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/push/sinks"
)

// Issue 17, point 6, with real processes: karkas sync is killed (SIGKILL,
// by the binary itself through KARKAS_TEST_KILL_AFTER) right after a
// sink's answer and before the record of it, once for every kind of sink,
// each run resuming the last. The sync after them delivers everything at
// once, the killed deliveries included, with no lease to wait out, and
// every target holds what README's "What a kill can do" promises: one
// comment, issue or file per delivery; the killed mail and webhook twice,
// with one Message-ID or webhook-id.
func TestKillDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary many times")
	}
	bin := buildBinary(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dbURL := testdb.URL(t, dialect)
			config, data := demoSetup(t, 1, 2000)
			d := newDemoTargets(t, config, data)
			cards, mail, gw, ops, hook, archive := d.cards, d.mail, d.gw, d.ops, d.hook, d.archive
			env := os.Environ()
			for k, v := range d.env(data, dbURL) {
				env = append(env, k+"="+v)
			}
			sync := func(killAfter string) (string, error) {
				cmd := exec.Command(bin, "--config", config, "--log-level", "error", "sync")
				cmd.Env = env
				if killAfter != "" {
					cmd.Env = append(cmd.Env, killAfterEnv+"="+killAfter)
				}
				out, err := cmd.CombinedOutput()
				return string(out), err
			}

			// The sinks with the fewest deliveries first, so that each has one left.
			killed := []string{"ops", "mail", "hook", "cards", "archive"}
			for _, sink := range killed {
				out, err := sync(sink + ":1")
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("the sync to be killed after %s's first answer ended with %v:\n%s", sink, err, out)
				}
			}
			out, err := sync("")
			if err != nil {
				t.Fatalf("the sync after the kills: %v\n%s", err, out)
			}
			if !strings.Contains(out, "1 delivery(ies) a killed run had started were taken over") {
				t.Errorf("the sync after the kills did not take the last killed delivery over:\n%s", out)
			}

			// A row the kill left leased would still be pending here, its
			// lease 10 minutes long.
			bySink := deliveredBySink(t, dbURL)

			// Trello and GitHub: one comment, one issue per delivery.
			tc, err := trello.NewClient(trello.ClientOptions{BaseURL: cards.url, Key: cards.fake.Key(), Token: cards.fake.Token()})
			if err != nil {
				t.Fatal(err)
			}
			comments := map[string]int{}
			for _, r := range bySink["cards"] {
				var target sinks.Target
				if err := json.Unmarshal([]byte(r.Target), &target); err != nil || target.Card == "" {
					t.Fatalf("cards delivery %d names no card: %v %s", r.ID, err, r.Target)
				}
				acts, err := tc.CardActions(ctx, target.Card, "commentCard")
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range acts {
					if strings.Contains(a.Data.Text, trello.Marker(r.IdempotencyKey)) {
						comments[r.IdempotencyKey]++
					}
				}
			}
			issues := map[string]int{}
			for _, is := range gw.Issues(ops.ID) {
				for _, r := range bySink["ops"] {
					if is.Body != nil && strings.Contains(*is.Body, github.Marker(r.IdempotencyKey)) {
						issues[r.IdempotencyKey]++
					}
				}
			}
			for _, c := range []struct {
				sink string
				got  map[string]int
			}{{"cards", comments}, {"ops", issues}} {
				for _, r := range bySink[c.sink] {
					if n := c.got[r.IdempotencyKey]; n != 1 {
						t.Errorf("%s: delivery %s made %d times, want once", c.sink, r.IdempotencyKey, n)
					}
				}
			}
			if n := cards.comments(); n != len(bySink["cards"]) {
				t.Errorf("%d comments for %d card deliveries", n, len(bySink["cards"]))
			}
			// Files: one per delivery.
			files, _ := filepath.Glob(filepath.Join(archive, "*"))
			if len(files) != len(bySink["archive"]) {
				t.Errorf("%d files for %d archive deliveries", len(files), len(bySink["archive"]))
			}
			// Mail and webhooks: the killed delivery arrives twice, with
			// one id; nothing else does.
			ids := map[string]int{}
			msgs := mail.Messages(t)
			for _, m := range msgs {
				ids[m.MessageID]++
			}
			if len(msgs) != len(bySink["mail"])+1 || len(ids) != len(bySink["mail"]) {
				t.Errorf("%d mails with %d Message-IDs for %d deliveries, want one more mail than ids", len(msgs), len(ids), len(bySink["mail"]))
			}
			reqs, hookIDs := hook.counts()
			if reqs != len(bySink["hook"])+1 || hookIDs != len(bySink["hook"]) {
				t.Errorf("%d webhook requests with %d ids for %d deliveries, want one more request than ids", reqs, hookIDs, len(bySink["hook"]))
			}
		})
	}
}
