package trello_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

// The trello_export source passes the suite every source runs: the
// board exported again after each change.
func TestExportConformance(t *testing.T) {
	t.Parallel()
	s := newSmallWorld()
	conformance.Run(t, conformance.Harness{
		Config: fmt.Sprintf(storeCfg, s.w.Me().ID, s.client.ID, s.board.ID),
		Info:   mapping.SourceInfo{ID: "trello", Kind: trello.ExportKindName, Identity: mapping.IdentityTrello},
		Files:  true,
		New: func(t *testing.T) conformance.Upstream {
			u := &exportUpstream{s: newSmallWorld(), dir: t.TempDir()}
			u.write(t)
			return u
		},
	})
}

type exportUpstream struct {
	s   *smallWorld
	dir string
}

func (u *exportUpstream) write(t *testing.T) {
	b, err := u.s.w.ExportJSON(u.s.board.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(u.dir, "board.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (u *exportUpstream) Open(t *testing.T) connectors.Source {
	src, err := trello.NewExport(trello.ExportOptions{Files: []string{"board.json"}, BatchSize: 2}, connectors.Env{BaseDir: u.dir})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (u *exportUpstream) Change(t *testing.T) func(testdb.Records) bool {
	u.s.clock.Advance(time.Minute)
	a := u.s.w.CommentCard(u.s.client.ID, u.s.card1.ID, "Any news?")
	u.write(t)
	return func(r testdb.Records) bool { return r.Messages[a.ID].Body == "Any news?" }
}

func (u *exportUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.s.w.DeleteComment(u.s.comment.ID)
	u.write(t)
	return func(r testdb.Records) bool { _, live := r.Messages[u.s.comment.ID]; return !live }
}
