package timecsv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timecsv"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

// The time_csv source passes the suite every source runs: an Everhour
// report exported again after each change.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config: conformance.TrackerConfig,
		Info:   mapping.SourceInfo{ID: "tracker", Kind: timecsv.KindName, Identity: mapping.IdentityTimeTracker},
		Files:  true,
		New: func(t *testing.T) conformance.Upstream {
			u := &csvUpstream{dir: t.TempDir()}
			for i := range 30 {
				u.rows = append(u.rows, fmt.Sprintf("2026-03-%02d,%s,,Acme,Acme site,Header,,,работа %d,0:%02d,yes",
					1+i%19, []string{"Anna Smith", "Борис Иванов"}[i%2], i, 10+i))
			}
			u.write(t)
			return u
		},
	})
}

type csvUpstream struct {
	dir  string
	rows []string
}

func (u *csvUpstream) write(t *testing.T) {
	text := "Date,Member,Email,Client,Project,Task,Task ID,Tags,Comment,Time,Billable\r\n" + strings.Join(u.rows, "\r\n") + "\r\n"
	if err := os.WriteFile(filepath.Join(u.dir, "report.csv"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (u *csvUpstream) Open(t *testing.T) connectors.Source {
	o := timecsv.NewOptions()
	o.Files, o.BatchSize = []string{"report.csv"}, 7
	src, err := timecsv.Kind().Open(o, connectors.Env{BaseDir: u.dir})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func holds(r testdb.Records, note string) bool {
	for _, e := range r.Entries {
		if e.Note == note {
			return true
		}
	}
	return false
}

func (u *csvUpstream) Change(t *testing.T) func(testdb.Records) bool {
	u.rows = append(u.rows, "2026-03-19,Борис Иванов,,Acme,Acme site,Header,,,созвон,0:45,yes")
	u.write(t)
	return func(r testdb.Records) bool { return holds(r, "созвон") }
}

func (u *csvUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.rows = append(u.rows[:3], u.rows[4:]...)
	u.write(t)
	return func(r testdb.Records) bool { return !holds(r, "работа 3") }
}
