package github_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
)

// A backfill, then changes of every kind the issue names, then a sync
// with nothing new, then a rename: after each, what the pull emitted
// matches the world exactly.
func TestPullFollowsTheWorld(t *testing.T) {
	t.Parallel()
	f := newFixture(t, githubfake.Limits{})
	a := newAgency(t, f)
	bots := []string{"ci-runner"}
	c := f.client(t, a.tok)
	src := f.source(t, github.Options{Repos: []string{a.repo.FullName()}, StatusLabels: statusLabels, Bots: bots}, c)
	m := newMemStore()
	pull := func(what string) {
		t.Helper()
		if err := src.Pull(context.Background(), m.cursor, m.emit); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		diff(t, what, normalize(m), expected(f.w, statusLabels, bots, a.repo.ID))
	}
	pull("backfill")
	if got := m.messages["issue:"+taskKey(a.repo.ID, a.pr.Number)]; !got.Automated || got.AutomatedReason != "bot" {
		t.Errorf("the bot's pull request: automated %v %q, want a bot's", got.Automated, got.AutomatedReason)
	}

	f.clock.Advance(time.Hour)
	w := f.w
	is3 := w.OpenIssue(a.repo.ID, a.john, "New landing page", "Please add a landing page for the spring sale.")
	f.clock.Advance(time.Minute)
	w.Comment(a.repo.ID, is3.Number, a.anna, "On it, draft by Friday.")
	w.EditComment(a.question.ID, "Any news? The sale starts Monday.")
	w.MoveLabel(a.repo.ID, a.issue1.Number, a.anna, "in progress", "review")
	f.clock.Advance(time.Minute)
	w.Close(a.repo.ID, a.issue2.Number, a.anna, "")
	w.Merge(a.repo.ID, a.pr.Number, a.anna)
	f.clock.Advance(time.Minute)
	pull("after changes")
	if got := m.messages[itoa(a.question.ID)]; got.EditedAt == nil {
		t.Errorf("the edited comment has no EditedAt: %+v", got)
	}

	// Nothing new: the second such sync is 304 throughout and spends
	// nothing.
	f.clock.Advance(time.Minute)
	pull("no change, first")
	f.srv.ResetStats()
	before, batches, cursor := m.records, m.batches, m.cursor
	pull("no change")
	if n, nm := f.srv.Total(), f.srv.NotModified(); n != 4 || nm != 4 || f.srv.Spent() != 0 {
		t.Errorf("a sync with nothing new: %d requests, %d of them 304, %d spent; want 4, 4, 0", n, nm, f.srv.Spent())
	}
	// No batch either, so that the engine reports the source unchanged.
	if m.records != before || m.batches != batches || m.cursor != cursor {
		t.Errorf("a sync with nothing new emitted %d batches, %d records, cursor changed %v", m.batches-batches, m.records-before, m.cursor != cursor)
	}

	// A rename: same ids, the container's new name, nothing twice.
	w.RenameRepo(a.repo.ID, "acme-website")
	f.clock.Advance(time.Minute)
	w.Comment(a.repo.ID, is3.Number, a.john, "Thanks!")
	f.clock.Advance(time.Minute)
	pull("after a rename")
	if got := m.containers[itoa(a.repo.ID)].Name; got != "northwind/acme-website" {
		t.Errorf("container after the rename: %q", got)
	}
	if len(m.tasks) != 4 {
		t.Errorf("%d tasks after the rename, want 4", len(m.tasks))
	}
}

func taskKey(repo int64, n int) string { return itoa(repo) + "#" + itoa(int64(n)) }

func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{digits[n%10]}, b...)
		n /= 10
	}
	return string(b)
}

var _ = http.StatusOK
