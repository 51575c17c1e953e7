package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/karkas/karkas/connectors"
)

// FileOptions configure a file sink.
type FileOptions struct {
	Dir    string `yaml:"dir" doc:"the folder deliveries are written to (relative to the config file); created when missing"`
	Format string `yaml:"format" enum:"json,md" doc:"json (default: the webhook's {type, timestamp, data}) or md (the Markdown a card comment would show)"`
}

// DefaultFileOptions returns the options a config's block is decoded into.
func DefaultFileOptions() *FileOptions { return &FileOptions{Format: "json"} }

// File writes each delivery to its own file in a folder, named after the
// delivery id. It writes under a temporary name, syncs, and renames, so
// a reader never sees half a file; a file of that name already there is
// the delivery done by an earlier try.
type File struct {
	dir    string
	format string
}

// FileKind is the file sink kind: one file per delivery in a folder.
func FileKind() Kind {
	k := newKind("file", "one file per delivery in a folder", DefaultFileOptions, NewFile)
	k.Digests, k.Reports = true, true
	return k
}

// NewFile builds a file sink; the folder is created when missing.
func NewFile(o FileOptions, env connectors.Env) (*File, error) {
	if strings.TrimSpace(o.Dir) == "" {
		return nil, errors.New("dir: the folder to write to is required")
	}
	dir := o.Dir
	if !filepath.IsAbs(dir) && env.BaseDir != "" {
		dir = filepath.Join(env.BaseDir, dir)
	}
	f := &File{dir: dir, format: o.Format}
	switch f.format {
	case "":
		f.format = "json"
	case "json", "md":
	default:
		return nil, fmt.Errorf("format: %q is not one of: json, md", o.Format)
	}
	return f, nil
}

// Summarizes is true: a digest or a summary is one file.
func (f *File) Summarizes() bool { return true }

// FileName is the file a delivery is written to: its id, with ":" (which
// some file systems refuse) as "=", and the format's extension.
func FileName(id, format string) string {
	return strings.ReplaceAll(id, ":", "=") + "." + format
}

// Deliver writes the file unless it exists.
func (f *File) Deliver(ctx context.Context, d Delivery) (Result, error) {
	if d.ID == "" || strings.ContainsAny(d.ID, `/\`) || strings.HasPrefix(d.ID, ".") {
		return Result{}, Permanent(fmt.Errorf("delivery id %q cannot name a file", d.ID))
	}
	name := filepath.Join(f.dir, FileName(d.ID, f.format))
	if _, err := os.Stat(name); err == nil {
		return Result{Ref: name, Existed: true}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Result{}, Temporary(err, 0)
	}
	var body []byte
	switch {
	case f.format == "md" && d.Message.Kind == KindReport:
		body = []byte(d.Message.Markdown(d.Target, nil))
	case d.Message.Kind == KindReport:
		var err error
		if body, err = json.MarshalIndent(d.Message.Report, "", "  "); err != nil {
			return Result{}, Permanent(err)
		}
		body = append(body, '\n')
	case f.format == "md":
		body = []byte("# " + Markdown(d.Message.Title(d.Target)) + "\n\n" + d.Message.Markdown(d.Target, nil) + "\n")
	default:
		var err error
		if body, err = json.MarshalIndent(NewEvent(d), "", "  "); err != nil {
			return Result{}, Permanent(err)
		}
		body = append(body, '\n')
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return Result{}, Temporary(err, 0)
	}
	tmp, err := os.CreateTemp(f.dir, ".karkas-*.tmp")
	if err != nil {
		return Result{}, Temporary(err, 0)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return Result{}, Temporary(err, 0)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Result{}, Temporary(err, 0)
	}
	if err := tmp.Close(); err != nil {
		return Result{}, Temporary(err, 0)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return Result{}, Temporary(err, 0)
	}
	// The rename lasts once the folder is on disk too.
	if dir, err := os.Open(f.dir); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return Result{Ref: name}, nil
}
