package push

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// The card's labels show its worst open clock: at risk, then breached
// (the at-risk label goes), and neither once every clock is met. Only
// news is a comment.
func TestTrelloLabelsFollowTheCard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, `  sinks:
    cards: {kind: trello, options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", base_url: "${TRELLO_URL}"}}
  defaults:
    - {sink: cards, to: [assignee]}
`)
	c, err := trello.NewClient(trello.ClientOptions{BaseURL: w.trello.BaseURL(), Key: w.trello.Key(), Token: w.trello.Token()})
	if err != nil {
		t.Fatal(err)
	}
	labels := func() []string {
		t.Helper()
		cards, err := c.Cards(context.Background(), w.board.ID, trello.CardsOptions{})
		if err != nil || len(cards) != 1 {
			t.Fatalf("cards: %v %d", err, len(cards))
		}
		var out []string
		for _, l := range cards[0].Labels {
			out = append(out, l.Name)
		}
		slices.Sort(out)
		return out
	}
	comments := func() int {
		acts, err := c.CardActions(context.Background(), w.card.ID, "commentCard")
		if err != nil {
			t.Fatal(err)
		}
		return len(acts)
	}
	step := func(name string, want []string, wantComments int, clocks ...sla.Clock) {
		t.Helper()
		w.clock.Advance(time.Minute)
		w.queue(clocks...)
		if rep := w.run(w.worker("one")); rep.Failed+rep.Retrying != 0 {
			t.Fatalf("%s: %+v", name, rep)
		}
		if got := labels(); !slices.Equal(got, want) {
			t.Errorf("%s: labels %q, want %q", name, got, want)
		}
		if n := comments(); n != wantComments {
			t.Errorf("%s: %d comments, want %d", name, n, wantComments)
		}
	}
	resp := w.cardClock(sla.PolicyResponse, sla.AtRisk)
	due := w.cardClock(sla.PolicyDueDate, sla.AtRisk)
	step("two clocks at risk", []string{"SLA at risk"}, 2, resp, due)
	resp.State, resp.BreachedAt = sla.Breached, resp.DueAt
	step("one breaches", []string{"SLA breached"}, 3, resp)
	resp.State, resp.StoppedAt = sla.Resolved, w.clock.Now()
	step("answered late; the due date is still at risk", []string{"SLA at risk"}, 3, resp)
	due.State, due.StoppedAt = sla.Met, w.clock.Now()
	step("all met", nil, 3, due)
}

// A clock that recovers is a comment on the issue its breach opened in
// the ops repository, when the rule sends recoveries.
func TestGitHubFollowUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, `  sinks:
    ops: {kind: github, options: {token: "${GITHUB_TOKEN}", base_url: "${GITHUB_URL}", repo: northwind/ops, labels: [sla, ops]}}
  defaults:
    - {sink: ops, states: [breached, resolved], to: [lead]}
`)
	c := w.clockOn(sla.PolicyResponse, sla.Breached, w.subject("thread"))
	w.queue(c)
	if rep := w.run(w.worker("one")); rep.Delivered != 1 {
		t.Fatalf("%+v", rep)
	}
	issues := w.github.World().Issues(w.ops.ID)
	if len(issues) != 1 || !slices.Equal(issues[0].Labels, []string{"sla", "ops"}) || !slices.Equal(issues[0].Assignees, []string{"boris-northwind"}) ||
		!strings.HasPrefix(issues[0].Title, "[Acme Foods] SLA breached: client waiting for a reply: Где макет?") {
		t.Fatalf("issues: %+v", issues)
	}
	w.clock.Advance(time.Hour)
	c.State, c.StoppedAt = sla.Resolved, w.clock.Now()
	w.queue(c)
	if rep := w.run(w.worker("one")); rep.Delivered != 1 {
		t.Fatalf("%+v", rep)
	}
	comments := w.github.World().Comments(w.ops.ID)
	if len(comments) != 1 || comments[0].IssueNumber != issues[0].Number || !strings.Contains(comments[0].Body, "SLA resolved after a breach") ||
		!strings.Contains(comments[0].Body, github.Marker(c.ID+":resolved:ops")) {
		t.Errorf("follow-up: %+v", comments)
	}
	if n := len(w.github.World().Issues(w.ops.ID)); n != 1 {
		t.Errorf("the recovery opened an issue of its own: %d issues", n)
	}
}
