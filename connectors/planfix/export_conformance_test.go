package planfix_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/internal/conformance"
	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/mapping"
)

// The planfix_export source passes the suite every source runs.
func TestExportConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Config: storeCfg,
		Info:   mapping.SourceInfo{ID: "planfix", Kind: planfix.ExportKindName, Identity: planfix.Identity},
		Files:  true,
		New: func(t *testing.T) conformance.Upstream {
			u := &exportUpstream{w: planfixfake.Sample(epoch), dir: t.TempDir()}
			u.write(t)
			return u
		},
	})
}

type exportUpstream struct {
	w   planfixfake.World
	dir string
}

func (u *exportUpstream) write(t *testing.T) {
	b, err := json.Marshal(u.w)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(u.dir, "account.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (u *exportUpstream) Open(t *testing.T) connectors.Source {
	src, err := planfix.ExportKind().Open(&planfix.ExportOptions{Files: []string{"*.json"}, Account: "northwind", BatchSize: 1}, connectors.Env{BaseDir: u.dir})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (u *exportUpstream) Change(t *testing.T) func(testdb.Records) bool {
	u.w.Tasks[2].Comments = append(u.w.Tasks[2].Comments, planfix.Comment{ID: "777", DateTime: planfix.NewTimePoint(epoch),
		Description: "<p>One more thing.</p>", Owner: &planfix.Ref{ID: "contact:12"}})
	u.write(t)
	return func(r testdb.Records) bool { return r.Messages["777"].Body == "One more thing." }
}

func (u *exportUpstream) Delete(t *testing.T) func(testdb.Records) bool {
	u.w.Tasks = u.w.Tasks[:2]
	u.write(t)
	return func(r testdb.Records) bool { _, live := r.Tasks["3"]; return !live }
}
