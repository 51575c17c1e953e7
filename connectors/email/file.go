package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// DefaultFolder is the Folder of a FileSpec that names none.
const DefaultFolder = "INBOX"

// FileOptions configure the "mail_files" source.
type FileOptions struct {
	Files           []FileSpec `yaml:"files" doc:"mbox files, .eml files or folders of .eml files"`
	MaxMessageBytes int64      `yaml:"max_message_bytes" doc:"a larger message is skipped and reported as a problem (default 25 MiB)"`
	BatchSize       int        `yaml:"batch_size" doc:"records handed to the store at once (default 2000)"`
}

// FileSpec is one mail file or folder and the mailbox its messages belong to.
type FileSpec struct {
	Path   string `yaml:"path" doc:"an mbox file, one .eml file, or a folder searched recursively for *.eml; relative to the config file"`
	Folder string `yaml:"folder" doc:"mailbox the messages are recorded in, e.g. INBOX or Sent (default INBOX)"`
}

// NewFileOptions returns FileOptions holding the defaults.
func NewFileOptions() *FileOptions {
	return &FileOptions{MaxMessageBytes: 25 << 20, BatchSize: 2000}
}

// FileKind is the "mail_files" source kind: mail history imported from
// mbox files and folders of .eml files.
func FileKind() connectors.Kind {
	return connectors.Kind{
		Name:       "mail_files",
		Doc:        "imports mail history from mbox files and folders of .eml files",
		Identity:   "email",
		NewOptions: func() any { return NewFileOptions() },
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*FileOptions)
			if !ok {
				return nil, fmt.Errorf("opening mail_files: options are %T, want *email.FileOptions", opts)
			}
			return OpenFiles(o, env)
		},
	}
}

// FileSource reads mbox and .eml files. Each Pull reads them whole (they are
// a snapshot) unless nothing changed since the cursor.
type FileSource struct {
	specs     []fileSpec
	maxBytes  int64
	batchSize int
}

type fileSpec struct {
	display string // as configured, for problems
	path    string // resolved against Env.BaseDir
	folder  string
}

// OpenFiles checks opts and builds the source. Paths are resolved against
// env.BaseDir but not opened: a missing file is Pull's error, so that a
// config can be validated on another machine.
func OpenFiles(opts *FileOptions, env connectors.Env) (*FileSource, error) {
	var errs []error
	if len(opts.Files) == 0 {
		errs = append(errs, errors.New("files: at least one path is needed"))
	}
	if opts.MaxMessageBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_message_bytes: must be positive, got %d", opts.MaxMessageBytes))
	}
	if opts.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("batch_size: must be positive, got %d", opts.BatchSize))
	}
	s := &FileSource{maxBytes: opts.MaxMessageBytes, batchSize: opts.BatchSize}
	for i, f := range opts.Files {
		if strings.TrimSpace(f.Path) == "" {
			errs = append(errs, fmt.Errorf("files[%d].path: empty", i))
			continue
		}
		path := f.Path
		if !filepath.IsAbs(path) && env.BaseDir != "" {
			path = filepath.Join(env.BaseDir, path)
		}
		folder := strings.TrimSpace(f.Folder)
		if folder == "" {
			folder = DefaultFolder
		}
		s.specs = append(s.specs, fileSpec{display: filepath.Clean(f.Path), path: filepath.Clean(path), folder: folder})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opening mail_files: %w", err)
	}
	return s, nil
}

// input is one file to read.
type input struct {
	display string
	path    string
	folder  string
	size    int64
	mtime   int64
}

// Pull reads every configured file and emits one Container per folder and
// one Message per distinct message. When the files' fingerprint equals
// cursor nothing is read or emitted.
//
// The same message may sit in several files (INBOX and Sent exports, or an
// mbox exported twice): it is emitted once, and the other copies are
// counted as merged (see claims: a copy has the same Message-ID and the
// same content; a different message under a reused Message-ID is stored
// apart as "id#fingerprint", with a warning). Files of Sent folders are
// read first, so that the copy kept for a message in Sent says Folder
// "Sent": the folder is how the mapping tells mail the agency sent from
// mail it received, and a copy in Sent is proof of the former. Other
// duplicates keep the first copy in config order.
//
// Every batch carries its record.Tally of messages: each mbox message and
// each .eml file with content is read once, and is stored, refused (a
// Problem with its file:line and why) or merged.
func (s *FileSource) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	inputs, err := s.inputs()
	if err != nil {
		return err
	}
	fp := fingerprint(inputs)
	if fp == cursor {
		return nil
	}

	p := &puller{ctx: ctx, emit: emit, size: s.batchSize, batch: newBatch(), seen: claims{}, maxBytes: s.maxBytes}
	var folders []string
	for _, sp := range s.specs {
		if !slices.Contains(folders, sp.folder) {
			folders = append(folders, sp.folder)
		}
	}
	for _, f := range folders {
		if err := p.room(1); err != nil {
			return err
		}
		p.batch.Containers = append(p.batch.Containers, record.Container{ExternalID: f, Kind: record.ContainerMailbox, Name: f})
	}

	slices.SortStableFunc(inputs, func(a, b input) int {
		as, bs := isSentFolder(a.folder), isSentFolder(b.folder)
		switch {
		case as && !bs:
			return -1
		case bs && !as:
			return 1
		}
		return 0
	})
	for _, in := range inputs {
		if err := p.file(in); err != nil {
			return err
		}
	}

	if err := ctx.Err(); err != nil {
		return err
	}
	p.batch.Cursor, p.batch.EndOfSnapshot = fp, true
	return emit(ctx, p.batch)
}

// inputs lists the files to read, in config order, folders expanded to
// their *.eml files in path order.
func (s *FileSource) inputs() ([]input, error) {
	var out []input
	for _, sp := range s.specs {
		info, err := os.Stat(sp.path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", sp.path, err)
		}
		if !info.IsDir() {
			out = append(out, input{display: sp.display, path: sp.path, folder: sp.folder, size: info.Size(), mtime: info.ModTime().UnixNano()})
			continue
		}
		var found []input
		err = filepath.WalkDir(sp.path, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".eml") {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(sp.path, path)
			if err != nil {
				return err
			}
			found = append(found, input{
				display: filepath.Join(sp.display, rel), path: path, folder: sp.folder,
				size: info.Size(), mtime: info.ModTime().UnixNano(),
			})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", sp.path, err)
		}
		slices.SortFunc(found, func(a, b input) int { return strings.Compare(a.path, b.path) })
		out = append(out, found...)
	}
	return out, nil
}

// fingerprint is the cursor: a hash of each file's path, size and
// modification time, in path order. The folder is hashed too, so moving a
// file to another folder in the config re-reads it.
func fingerprint(inputs []input) string {
	sorted := slices.Clone(inputs)
	slices.SortFunc(sorted, func(a, b input) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return strings.Compare(a.folder, b.folder)
	})
	h := sha256.New()
	for _, in := range sorted {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\n", in.path, in.folder, in.size, in.mtime)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// isSentFolder recognizes the usual names of the sent-mail folder, also as
// the last part of a path like "[Gmail]/Sent Mail" or "INBOX.Sent".
func isSentFolder(folder string) bool {
	name := folder
	if i := strings.LastIndexAny(name, "/."); i >= 0 {
		name = name[i+1:]
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "sent", "sent items", "sent mail", "sent messages", "отправленные":
		return true
	}
	return false
}

// puller accumulates one Pull's batches.
type puller struct {
	ctx      context.Context
	emit     connectors.Emit
	size     int
	maxBytes int64
	batch    *record.Batch
	seen     claims
}

func newBatch() *record.Batch {
	return &record.Batch{Tally: record.Tally{Unit: tallyUnit}}
}

// room emits the current batch if n more items would overfill it. Problems
// count toward the size too, so that a file of garbage cannot grow a batch
// without bound; a message and its warnings go in one batch, so that each
// batch's tally counts what it holds.
func (p *puller) room(n int) error {
	if have := p.batch.Len() + len(p.batch.Problems); have == 0 || have+n <= p.size {
		return nil
	}
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if err := p.emit(p.ctx, p.batch); err != nil {
		return err
	}
	p.batch = newBatch()
	return nil
}

// refuse records a message that was read and not stored.
func (p *puller) refuse(where, msg string) error {
	if err := p.room(1); err != nil {
		return err
	}
	p.batch.Problems = append(p.batch.Problems, record.Problem{Where: where, Message: msg})
	p.batch.Tally.Read++
	p.batch.Tally.Refused++
	return nil
}

// file reads one input: an mbox when it starts with a "From " line, else a
// single message.
func (p *puller) file(in input) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(in.path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", in.path, err)
	}
	defer f.Close()

	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(1024)
	if bytes.HasPrefix(bytes.TrimLeft(head, "\r\n"), []byte("From ")) {
		return p.mbox(in, br)
	}
	if in.size == 0 {
		return nil
	}
	if in.size > p.maxBytes {
		return p.refuse(in.display, fmt.Sprintf("message is %d bytes, over max_message_bytes (%d); skipped", in.size, p.maxBytes))
	}
	raw, err := io.ReadAll(io.LimitReader(br, p.maxBytes+1))
	if err != nil {
		return fmt.Errorf("reading %s: %w", in.path, err)
	}
	if int64(len(raw)) > p.maxBytes {
		// The file grew after it was listed.
		return p.refuse(in.display, fmt.Sprintf("message is over max_message_bytes (%d); skipped", p.maxBytes))
	}
	return p.message(raw, in.display, ParseOptions{Folder: in.folder, Received: time.Unix(0, in.mtime), ReceivedFrom: record.SentAtFromFileMTime})
}

func (p *puller) mbox(in input, r io.Reader) error {
	mr := NewMboxReader(r, p.maxBytes)
	for {
		msg, err := mr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", in.path, err)
		}
		if err := p.ctx.Err(); err != nil {
			return err
		}
		where := fmt.Sprintf("%s:%d", in.display, msg.Line)
		if msg.TooBig {
			if err := p.refuse(where, fmt.Sprintf("message is %d bytes, over max_message_bytes (%d); skipped", msg.Size, p.maxBytes)); err != nil {
				return err
			}
			continue
		}
		if err := p.message(msg.Raw, where, ParseOptions{Folder: in.folder, Received: msg.Received, ReceivedFrom: record.SentAtFromMboxLine}); err != nil {
			return err
		}
	}
}

// maxWarnings caps the problems one message can add, so that a message of
// a thousand broken parts is one line in a report, not a thousand.
const maxWarnings = 5

// message parses one message read and stores, merges or refuses it.
func (p *puller) message(raw []byte, where string, opts ParseOptions) error {
	var warnings []string
	opts.Warn = collectWarnings(&warnings)
	m, err := ParseWith(raw, opts)
	if err != nil {
		return p.refuse(where, err.Error())
	}
	merged, note := p.seen.claim(&m)
	if merged {
		// The copy stored has the same content, and so the same
		// warnings: a copy adds nothing.
		p.batch.Tally.Read++
		p.batch.Tally.Merged++
		return nil
	}
	if note != "" {
		warnings = append(warnings, note)
	}
	if err := p.room(1 + len(warnings)); err != nil {
		return err
	}
	p.batch.Problems = append(p.batch.Problems, warningProblems(where, warnings)...)
	p.batch.Messages = append(p.batch.Messages, m)
	t := &p.batch.Tally
	t.Read++
	t.Stored++
	if len(warnings) > 0 {
		t.Warned++
	}
	return nil
}
