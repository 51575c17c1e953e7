package planfix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// ExportKindName is the kind of a source reading saved PlanFix answers.
const ExportKindName = "planfix_export"

// Export is an account's data as the API answers it, in one JSON file:
// its users, contacts, task statuses, projects and tasks, each task with
// its comments (the list routes' objects, field for field). The fake
// serves the same format (planfixfake.World), and the demo's PlanFix
// client is one. Writing such a file from a live account is not built
// yet; the planfix kind reads the API itself.
type Export struct {
	Users    []User    `json:"users"`
	Contacts []User    `json:"contacts"`
	Statuses []Status  `json:"statuses"`
	Projects []Project `json:"projects"`
	Tasks    []Task    `json:"tasks"`
}

// ExportOptions are the planfix_export source's options.
type ExportOptions struct {
	Files   []string `yaml:"files" required:"true" doc:"PlanFix export files (JSON, glob patterns allowed; relative to the config file)"`
	Account string   `yaml:"account" doc:"the account's name, for links to its tasks (https://NAME.planfix.com)"`
	Zone    string   `yaml:"zone" doc:"the IANA zone dates without a UTC form are read in (default UTC)"`
	// BatchSize bounds the tasks of one stored batch.
	BatchSize int `yaml:"batch_size" doc:"most tasks in one stored batch (default 500; a task's comments always share its batch)"`
}

// ExportKind is the registry entry of the export source.
func ExportKind() connectors.Kind {
	return connectors.NewKind(ExportKindName, "PlanFix export files: an account's projects, tasks with their comment feeds, employees and contacts, as the REST API answers them",
		Identity, func() *ExportOptions { return &ExportOptions{BatchSize: 500} }, openExport)
}

type exportSource struct {
	files []string
	base  string
	batch int
	conv  converter
}

func openExport(o *ExportOptions, env connectors.Env) (connectors.Source, error) {
	if len(o.Files) == 0 {
		return nil, fmt.Errorf("opening %s: files: name at least one export file", ExportKindName)
	}
	if o.BatchSize < 1 {
		return nil, fmt.Errorf("opening %s: batch_size must be positive, got %d", ExportKindName, o.BatchSize)
	}
	if o.Account != "" && !accountName.MatchString(o.Account) {
		return nil, fmt.Errorf("opening %s: account: %q is not an account name like northwind", ExportKindName, o.Account)
	}
	zone := time.UTC
	if o.Zone != "" {
		z, err := time.LoadLocation(o.Zone)
		if err != nil {
			return nil, fmt.Errorf("opening %s: zone: %q is not an IANA time zone", ExportKindName, o.Zone)
		}
		zone = z
	}
	site := ""
	if o.Account != "" {
		site = "https://" + o.Account + ".planfix.com"
	}
	return &exportSource{files: o.Files, base: env.BaseDir, batch: o.BatchSize, conv: converter{site: site, zone: zone}}, nil
}

// paths expands the patterns, each of which must match a file.
func (s *exportSource) paths() ([]string, error) {
	var out []string
	for _, p := range s.files {
		if !filepath.IsAbs(p) && s.base != "" {
			p = filepath.Join(s.base, p)
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("expanding planfix export pattern %s: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("reading planfix export %s: no such file", p)
		}
		sort.Strings(matches)
		out = append(out, matches...)
	}
	return out, nil
}

// Pull reads every file whole; its last batch ends the snapshot: what
// the files no longer hold is deleted. Batches hold at most batch_size
// tasks each, the people and projects coming first. The cursor, on the
// last batch, is the files' digest, so files unchanged since the last
// pull are not read again. A file that does not decode is a problem, and
// then nothing is taken for deleted.
func (s *exportSource) Pull(ctx context.Context, cur string, emit connectors.Emit) error {
	paths, err := s.paths()
	if err != nil {
		return err
	}
	h := sha256.New()
	datas := make([][]byte, len(paths))
	for i, p := range paths {
		if datas[i], err = os.ReadFile(p); err != nil {
			return fmt.Errorf("reading planfix export: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(datas[i]))
		h.Write(datas[i])
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if digest == cur {
		return nil
	}
	all := &record.Batch{}
	whole := true
	for i, p := range paths {
		var ex Export
		if err := json.Unmarshal(datas[i], &ex); err != nil {
			all.Problems = append(all.Problems, record.Problem{Where: p, Message: "not a PlanFix export: " + connectors.Line(err.Error())})
			whole = false // the file's rows must not be taken for deleted
			continue
		}
		s.add(all, p, ex)
	}
	first := &record.Batch{People: all.People, Containers: all.Containers, Problems: all.Problems}
	batches := []*record.Batch{first}
	for lo := 0; lo < len(all.Tasks); lo += s.batch {
		hi := min(lo+s.batch, len(all.Tasks))
		b := &record.Batch{Tasks: all.Tasks[lo:hi]}
		in := map[string]bool{}
		for _, t := range b.Tasks {
			in[t.ExternalID] = true
		}
		for _, m := range all.Messages {
			if in[m.TaskID] {
				b.Messages = append(b.Messages, m)
			}
		}
		for _, c := range all.StatusChanges {
			if in[c.TaskID] {
				b.StatusChanges = append(b.StatusChanges, c)
			}
		}
		batches = append(batches, b)
	}
	last := batches[len(batches)-1]
	last.Cursor, last.EndOfSnapshot = digest, whole
	for _, b := range batches {
		if err := emit(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *exportSource) add(b *record.Batch, path string, ex Export) {
	s.conv.statuses = map[string]Status{}
	for _, st := range ex.Statuses {
		s.conv.statuses[idString(st.ID)] = st
	}
	for _, u := range ex.Users {
		b.People = append(b.People, s.conv.person(u, "user"))
	}
	for _, u := range ex.Contacts {
		b.People = append(b.People, s.conv.person(u, "contact"))
	}
	for _, p := range ex.Projects {
		b.Containers = append(b.Containers, s.conv.project(p))
	}
	for _, t := range ex.Tasks {
		rt, msgs, moves, problems := s.conv.task(t, t.Comments)
		for i := range problems {
			problems[i].Where = filepath.Base(path) + ": " + problems[i].Where
		}
		b.Problems = append(b.Problems, problems...)
		if rt.ExternalID == "" {
			continue
		}
		if rt.ContainerID == "" {
			b.Problems = append(b.Problems, record.Problem{Where: filepath.Base(path) + ": task " + rt.ExternalID,
				Message: "no project; the task is left out"})
			continue
		}
		b.Tasks = append(b.Tasks, rt)
		b.Messages = append(b.Messages, msgs...)
		b.StatusChanges = append(b.StatusChanges, moves...)
	}
}
