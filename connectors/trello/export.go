// Package trello connects karkas to Trello: it reads boards from the JSON
// files Trello's "Export as JSON" writes (kind trello_export) or pulls them
// incrementally through the REST API (kind trello, pull.go), and turns
// their cards, list moves and comments into records; push.go writes marked
// comments and labels back for the outbox, discover.go lists what a
// mapping names.
//
// The JSON types (types.go) and the conversion to records (convert.go) do
// not depend on how the JSON arrived, so that the REST pull gives the same
// records as an export of the same board.
//
// Like every connector it imports only the connectors and record packages
// of karkas.
package trello

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// ExportKindName is what `kind:` says in the config for board exports.
const ExportKindName = "trello_export"

// DefaultBatchSize is how many records an export batch holds at most unless
// the options say otherwise.
const DefaultBatchSize = 2000

// ExportOptions configure a trello_export source.
type ExportOptions struct {
	Files     []string `yaml:"files" doc:"paths or glob patterns of Trello board JSON exports, one board per file; relative to the config file"`
	BatchSize int      `yaml:"batch_size" doc:"most records in one stored batch (default 2000)"`
}

// ExportKind describes the trello_export source for the registry.
func ExportKind() connectors.Kind {
	return connectors.Kind{
		Name:       ExportKindName,
		Doc:        "Trello boards from their \"Export as JSON\" files: cards, list moves, comments",
		Identity:   "trello",
		NewOptions: func() any { return &ExportOptions{BatchSize: DefaultBatchSize} },
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*ExportOptions)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want *trello.ExportOptions", ExportKindName, opts)
			}
			return NewExport(*o, env)
		},
	}
}

// Export is a source that reads Trello board export files.
type Export struct {
	patterns  []string
	baseDir   string
	batchSize int
}

// NewExport checks opts and returns the source. Relative paths are taken
// from env.BaseDir; patterns are expanded on every pull, so a new export
// dropped into a folder is picked up.
func NewExport(opts ExportOptions, env connectors.Env) (*Export, error) {
	if len(opts.Files) == 0 {
		return nil, errors.New("opening trello_export: files: at least one path or pattern is needed")
	}
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("opening trello_export: batch_size must be positive, got %d", opts.BatchSize)
	}
	e := &Export{baseDir: env.BaseDir, batchSize: opts.BatchSize}
	for _, p := range opts.Files {
		if p == "" {
			return nil, errors.New("opening trello_export: files: empty path")
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(env.BaseDir, p)
		}
		if strings.ContainsAny(p, "*?[") {
			if _, err := filepath.Match(p, ""); err != nil {
				return nil, fmt.Errorf("opening trello_export: files: pattern %q: %w", p, err)
			}
		}
		e.patterns = append(e.patterns, filepath.Clean(p))
	}
	return e, nil
}

// Pull reads every export file and emits its boards.
//
// The cursor is a fingerprint of the files' paths, sizes and modification
// times: when it matches, nothing changed and Pull returns at once. Otherwise
// every board is emitted whole, and the last batch carries the fingerprint
// and EndOfSnapshot, so the store soft-deletes what the exports no longer
// hold.
//
// A file that is not a readable board (broken or truncated JSON, no board
// id) is reported as a Problem and the other files are still emitted, but
// then the last batch neither sets EndOfSnapshot nor carries the
// fingerprint: nobody knows what the broken file held, so nothing may be
// soft-deleted, and an unchanged fingerprint must not let the next run skip
// the file as already done.
func (e *Export) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	files, err := e.files()
	if err != nil {
		return err
	}
	// The fingerprint is taken before anything is read: a file that changes
	// during the pull then differs from the saved cursor next time and is
	// read again, rather than the change being taken as already seen.
	fp, err := fingerprint(files)
	if err != nil {
		return err
	}
	if fp == cursor {
		return nil
	}
	w := &batcher{emit: emit, size: e.batchSize, b: &record.Batch{}}
	st := &pullState{people: map[string]bool{}, boards: map[string]string{}}
	complete := true
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := e.readBoard(ctx, path, w, st)
		if err != nil {
			return err
		}
		complete = complete && ok
	}
	if complete {
		return w.finish(ctx, fp, true)
	}
	return w.finish(ctx, "", false)
}

// files expands the patterns into a sorted list of distinct files. A path
// that does not exist, or a pattern that matches nothing, is an error: an
// empty snapshot would otherwise soft-delete every board.
func (e *Export) files() ([]string, error) {
	var out []string
	for _, p := range e.patterns {
		if !strings.ContainsAny(p, "*?[") {
			fi, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("reading trello export %s: %w", p, err)
			}
			if fi.IsDir() {
				return nil, fmt.Errorf("reading trello export %s: is a directory", p)
			}
			out = append(out, p)
			continue
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("expanding trello export pattern %s: %w", p, err)
		}
		n := 0
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("reading trello export %s: %w", m, err)
			}
			if !fi.IsDir() {
				out = append(out, m)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("expanding trello export pattern %s: no files match", p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// fingerprint is the cursor: hex sha256 over each file's path, size and
// modification time, in sorted path order. It costs a stat per file.
func fingerprint(files []string) (string, error) {
	h := sha256.New()
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("reading trello export %s: %w", p, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// where names a file in problems: relative to the config folder when it is
// inside it, so that reports do not leak the server's layout.
func (e *Export) where(path string) string {
	if e.baseDir != "" {
		if rel, err := filepath.Rel(e.baseDir, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(path)
}

// pullState is what one pull remembers across files.
type pullState struct {
	// people already emitted: members of several boards are emitted once.
	people map[string]bool
	// boards read so far, by id, with the file they came from.
	boards map[string]string
}

// readBoard emits one export file. It returns false, with a Problem in the
// batch, when the file is not a readable board; an error only when the file
// cannot be read at all or emitting failed.
func (e *Export) readBoard(ctx context.Context, path string, w *batcher, st *pullState) (bool, error) {
	where := e.where(path)
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("reading trello export %s: %w", path, err)
	}
	defer f.Close()

	er := &errReader{r: f}
	sc, err := scanBoard(er)
	if er.err != nil {
		return false, fmt.Errorf("reading trello export %s: %w", path, er.err)
	}
	if err != nil {
		msg := "not a readable Trello board export: " + err.Error()
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			msg += fmt.Sprintf(" (at byte %d)", se.Offset)
		}
		return false, w.problem(ctx, record.Problem{Where: where, Message: msg})
	}
	if first, ok := st.boards[sc.ix.board.ID]; ok {
		// Two exports of one board (an old one left beside a new one):
		// reading both would emit every card twice. The skipped file is
		// understood, so the snapshot stays complete.
		return true, w.problem(ctx, record.Problem{
			Where:   where,
			Message: fmt.Sprintf("board %s was already read from %s; this file is skipped", sc.ix.board.ID, first),
		})
	}
	st.boards[sc.ix.board.ID] = where

	ix := sc.ix
	w.b.Containers = append(w.b.Containers, ix.container())
	if err := w.flushIfFull(ctx); err != nil {
		return false, err
	}
	for _, p := range ix.persons() {
		if st.people[p.ExternalID] {
			continue
		}
		st.people[p.ExternalID] = true
		w.b.People = append(w.b.People, p)
		if err := w.flushIfFull(ctx); err != nil {
			return false, err
		}
	}
	for _, p := range sc.problems {
		if err := w.problem(ctx, record.Problem{Where: where + p.Where, Message: p.Message}); err != nil {
			return false, err
		}
	}

	rd := spanReader{f: f}
	slices.SortFunc(sc.cards, func(a, b span) int { return strings.Compare(a.id, b.id) })
	for _, s := range sc.cards {
		var c Card
		if err := rd.decode(s, &c); err != nil {
			return false, fmt.Errorf("reading trello export %s: %w", path, err)
		}
		t, warnings, err := ix.task(c)
		for _, m := range warnings {
			if err := w.problem(ctx, record.Problem{Where: fmt.Sprintf("%s#cards[%d]", where, s.idx), Message: m}); err != nil {
				return false, err
			}
		}
		if err != nil {
			if err := w.problem(ctx, record.Problem{Where: fmt.Sprintf("%s#cards[%d]", where, s.idx), Message: err.Error()}); err != nil {
				return false, err
			}
			continue
		}
		w.b.Tasks = append(w.b.Tasks, t)
		if err := w.flushIfFull(ctx); err != nil {
			return false, err
		}
	}

	// Exports list actions newest first; records go out oldest first.
	slices.SortFunc(sc.actions, func(a, b span) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.id, b.id))
	})
	for _, s := range sc.actions {
		var a Action
		if err := rd.decode(s, &a); err != nil {
			return false, fmt.Errorf("reading trello export %s: %w", path, err)
		}
		out, warnings, err := ix.action(a)
		for _, m := range warnings {
			if err := w.problem(ctx, record.Problem{Where: fmt.Sprintf("%s#actions[%d]", where, s.idx), Message: m}); err != nil {
				return false, err
			}
		}
		if err != nil {
			if err := w.problem(ctx, record.Problem{Where: fmt.Sprintf("%s#actions[%d]", where, s.idx), Message: err.Error()}); err != nil {
				return false, err
			}
			continue
		}
		w.b.StatusChanges = append(w.b.StatusChanges, out.Changes...)
		if out.Message != nil {
			w.b.Messages = append(w.b.Messages, *out.Message)
		}
		if err := w.flushIfFull(ctx); err != nil {
			return false, err
		}
	}
	return true, nil
}

// span locates one array element (a card or an action) in the file, so that
// the second pass can decode the elements one at a time in record order.
type span struct {
	id         string
	at         time.Time // actions only
	idx        int       // position in its array, for problems
	start, end int64
}

// boardScan is what the first pass over a file learns.
type boardScan struct {
	ix       *boardIndex
	cards    []span
	actions  []span
	problems []record.Problem // Where is a suffix: "#cards[3]"
	// actionIDs are the ids of the actions in actions.
	actionIDs map[string]bool
}

// scanBoard is the first pass over an export. The file is decoded as a
// stream of tokens over the top-level object, one array element at a time,
// never as a whole: a large export then needs memory for the small board
// index and the offsets of its cards and actions, not twice its size.
// Cards and actions are decoded here to check them and index them, and are
// decoded again from their offsets in the second pass, in record order.
//
// An error means the file is not a board export at all (invalid JSON, not an
// object, no board id); an element that does not fit its type is a Problem.
func scanBoard(r io.Reader) (*boardScan, error) {
	dec := json.NewDecoder(r)
	sc := &boardScan{ix: newBoardIndex(Board{}), actionIDs: map[string]bool{}}
	b := &sc.ix.board
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var field any
		switch key {
		case "id":
			field = &b.ID
		case "name":
			field = &b.Name
		case "desc":
			field = &b.Desc
		case "closed":
			field = &b.Closed
		case "url":
			field = &b.URL
		case "shortLink":
			field = &b.ShortLink
		case "shortUrl":
			field = &b.ShortURL
		case "idOrganization":
			field = &b.IDOrganization
		case "dateLastActivity":
			field = &b.DateLastActivity
		case "lists", "labels", "members", "checklists", "customFields", "cards", "actions":
			if err := sc.scanArray(dec, key); err != nil {
				return nil, err
			}
			continue
		default:
			if err := skipValue(dec); err != nil {
				return nil, err
			}
			continue
		}
		if err := dec.Decode(field); err != nil {
			if !isTypeError(err) {
				return nil, err
			}
			sc.problems = append(sc.problems, record.Problem{Where: "#" + key, Message: "board field " + key + ": " + err.Error()})
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the board object")
	}
	if b.ID == "" {
		return nil, errors.New("the top-level object has no board id")
	}
	return sc, nil
}

// scanArray reads one of the board's arrays element by element.
func (sc *boardScan) scanArray(dec *json.Decoder, key string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // "cards": null
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%s is not an array", key)
	}
	for i := 0; dec.More(); i++ {
		if err := sc.scanElement(dec, key, i); err != nil {
			var bad badElement
			if !isTypeError(err) && !errors.As(err, &bad) {
				return err
			}
			sc.problems = append(sc.problems, record.Problem{Where: fmt.Sprintf("#%s[%d]", key, i), Message: err.Error()})
		}
	}
	return expectDelim(dec, ']')
}

// badElement is an element that decoded but cannot be used (no id, a bad
// date).
type badElement struct{ err error }

func (b badElement) Error() string { return b.err.Error() }

// scanElement decodes and indexes element i of the array key. A type error
// or a badElement spoils only this element; any other error is broken JSON.
func (sc *boardScan) scanElement(dec *json.Decoder, key string, i int) error {
	start := dec.InputOffset()
	var use func() error
	var v any
	switch key {
	case "lists":
		l := new(List)
		v, use = l, func() error { return sc.ix.addList(*l) }
	case "labels":
		l := new(Label)
		v, use = l, func() error { return sc.ix.addLabel(*l) }
	case "members":
		m := new(Member)
		v, use = m, func() error { return sc.ix.addMember(*m) }
	case "customFields":
		f := new(CustomField)
		v, use = f, func() error { return sc.ix.addField(*f) }
	case "checklists":
		c := new(Checklist)
		v, use = c, func() error { return sc.ix.addChecklist(*c) }
	case "cards":
		c := new(Card)
		v, use = c, func() error { return sc.addCard(*c, i, start, dec.InputOffset()) }
	case "actions":
		a := new(Action)
		v, use = a, func() error { return sc.addAction(*a, i, start, dec.InputOffset()) }
	default:
		return skipValue(dec)
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := use(); err != nil {
		return badElement{err}
	}
	return nil
}

func (sc *boardScan) addCard(c Card, idx int, start, end int64) error {
	if c.ID == "" {
		return errors.New("card without id")
	}
	if sc.ix.cards[c.ID] {
		return fmt.Errorf("card %s appears twice; the first is kept", c.ID)
	}
	sc.ix.addCard(c.ID)
	sc.cards = append(sc.cards, span{id: c.ID, idx: idx, start: start, end: end})
	return nil
}

func (sc *boardScan) addAction(a Action, idx int, start, end int64) error {
	err := sc.ix.noteAction(a)
	if !mapped(a) {
		// Only actions that become records are checked: a bad date on an
		// ignored action harms nothing.
		return nil
	}
	if err != nil {
		return err
	}
	if sc.actionIDs[a.ID] {
		return fmt.Errorf("action %s appears twice; the first is kept", a.ID)
	}
	sc.actionIDs[a.ID] = true
	at, _ := actionTime(a)
	sc.actions = append(sc.actions, span{id: a.ID, at: at, idx: idx, start: start, end: end})
	return nil
}

// isTypeError tells a value that does not fit its Go type, which spoils
// only that value, from broken JSON, which spoils the rest of the file.
func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// skipValue reads past one value token by token, so that a large field
// karkas does not use (pluginData, memberships) is never held whole.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// spanReader decodes elements located by the first pass, reusing one
// buffer.
type spanReader struct {
	f   *os.File
	buf []byte
}

func (r *spanReader) decode(s span, v any) error {
	n := int(s.end - s.start)
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := r.f.ReadAt(b, s.start); err != nil {
		return fmt.Errorf("rereading bytes %d-%d: %w", s.start, s.end, err)
	}
	// The span starts where the previous element ended, so it may begin
	// with the comma between the two.
	b = bytes.TrimLeft(b, " \t\r\n,")
	if err := json.Unmarshal(b, v); err != nil {
		// The first pass decoded these very bytes, so the file changed
		// under us; the next run will see a new fingerprint.
		return fmt.Errorf("rereading bytes %d-%d (file changed while read?): %w", s.start, s.end, err)
	}
	return nil
}

// errReader remembers a read error, so that a file that cannot be read is
// told apart from a file that reads fine but holds broken JSON.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// batcher fills batches and hands them on when they hold size records
// (problems counted too, so a file of garbage cannot grow one batch without
// bound).
type batcher struct {
	emit connectors.Emit
	size int
	b    *record.Batch
}

func (w *batcher) problem(ctx context.Context, p record.Problem) error {
	w.b.Problems = append(w.b.Problems, p)
	return w.flushIfFull(ctx)
}

func (w *batcher) flushIfFull(ctx context.Context) error {
	if w.b.Len()+len(w.b.Problems) < w.size {
		return nil
	}
	return w.flush(ctx)
}

func (w *batcher) flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := w.b
	w.b = &record.Batch{}
	if err := w.emit(ctx, b); err != nil {
		return fmt.Errorf("emitting trello export batch: %w", err)
	}
	return nil
}

// finish emits the last batch, even when empty, with the cursor and the
// end-of-snapshot mark.
func (w *batcher) finish(ctx context.Context, cursor string, end bool) error {
	w.b.Cursor = cursor
	w.b.EndOfSnapshot = end
	return w.flush(ctx)
}
