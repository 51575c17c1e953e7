// Package trello connects karkas to Trello: it reads boards from the JSON
// files Trello's "Export as JSON" writes (kind trello_export) or pulls them
// incrementally through the REST API (kind trello, pull.go), and turns
// their cards, list moves and comments into records; push.go writes marked
// comments and labels back for the outbox, discover.go lists what a
// mapping names, and webhook.go is the connector side of webhooks in for
// karkas serve: it registers board webhooks and verifies and reads
// their deliveries.
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
	"maps"
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

// ExportActionLimit is the most actions Trello's "Export as JSON" keeps of a
// board: its newest 1000, of every type. A file holding that many is taken
// as cut: the board's history before its oldest action is not in it.
const ExportActionLimit = 1000

// ExportOptions configure a trello_export source.
type ExportOptions struct {
	Files     []string `yaml:"files" doc:"paths or glob patterns of Trello board JSON exports, one board per file; relative to the config file"`
	BatchSize int      `yaml:"batch_size" doc:"most records in one stored batch (default 2000)"`
	// MaxElementBytes caps one value of an export (DefaultMaxElementBytes
	// when 0). Not read from the config: tests lower it.
	MaxElementBytes int
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
	patterns   []string
	baseDir    string
	batchSize  int
	maxElement int
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
	e := &Export{baseDir: env.BaseDir, batchSize: opts.BatchSize, maxElement: cmp.Or(opts.MaxElementBytes, DefaultMaxElementBytes)}
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
// The cursor holds a fingerprint of the files' paths, sizes and
// modification times: when it matches, nothing changed and Pull returns at
// once. Otherwise every board is emitted whole, and the last batch carries
// the cursor and EndOfSnapshot with the part of the source the files hold
// whole (record.Batch.Snapshot), so the store soft-deletes what the exports
// show deleted and nothing else. Per board that is the window its actions
// cover (see boardScan.snapshot): an export keeps only a board's newest
// 1000 actions, and history older than its oldest one is kept, never taken
// for deleted. A board no file holds any more keeps all it had (a Warning
// says so once), and people and boards are never deleted by an export.
//
// A file that is not a readable board (broken or truncated JSON, no board
// id) is reported as a Problem and the other files are still emitted, but
// then the last batch neither sets EndOfSnapshot nor carries the cursor:
// nobody knows what the broken file held, so nothing may be soft-deleted,
// and an unchanged fingerprint must not let the next run skip the file as
// already done.
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
	cur := parseExportCursor(cursor)
	if fp == cur.Files {
		return nil
	}
	w := &batcher{emit: emit, size: e.batchSize, b: &record.Batch{}}
	st := &pullState{people: map[string]bool{}, boards: map[string]exportBoard{}, before: cur.Boards}
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
	if !complete {
		return w.finish(ctx, "", false)
	}
	for _, id := range slices.Sorted(maps.Keys(cur.Boards)) {
		if _, ok := st.boards[id]; ok {
			continue
		}
		// The file may have been moved away, renamed out of the pattern or
		// replaced by nothing: none of that says the board's history is
		// false, so it stays as the last file left it.
		b := cur.Boards[id]
		if err := w.problem(ctx, record.Problem{Where: b.File, Warning: true, Message: fmt.Sprintf(
			"board %s was read from this file before and is in none of the export files now: what karkas stored of it is kept as that file left it, not deleted",
			boardLabel(id, b.Name))}); err != nil {
			return err
		}
	}
	next := exportCursor{Files: fp, Boards: st.boards}
	// Every board read adds scopes, so an empty list (which would mean the
	// whole source) cannot end a snapshot; guard it all the same.
	w.b.Snapshot = st.snapshot
	return w.finish(ctx, next.String(), len(st.snapshot) > 0)
}

// exportCursor is the export source's cursor: the files' fingerprint and
// the boards they held, so that a board whose file is gone is noticed.
type exportCursor struct {
	Files  string                 `json:"files"`
	Boards map[string]exportBoard `json:"boards,omitempty"`
}

// exportBoard is a board read in a pull: the file it came from (as
// problems name it), its name, and the cards the file showed gone.
type exportBoard struct {
	File string `json:"file"`
	Name string `json:"name,omitempty"`
	// Gone are the cards the file's actions name and it no longer holds,
	// whose rows the pull that saved this cursor soft-deleted. A later
	// read of a file still naming them does not scope them again: a card
	// scope costs the store a pass over the source's comments, and on
	// every re-read of a busy agency's exports that adds up to seconds.
	Gone []string `json:"gone,omitempty"`
}

// parseExportCursor reads a cursor. Before it was JSON the cursor was the
// bare fingerprint, which still matches unchanged files; an unreadable one
// costs a re-read.
func parseExportCursor(s string) exportCursor {
	var c exportCursor
	if s == "" {
		return c
	}
	if !strings.HasPrefix(s, "{") {
		return exportCursor{Files: s}
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return exportCursor{}
	}
	return c
}

func (c exportCursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// boardLabel names a board in a message: "Acme" (id), or the id alone.
func boardLabel(id, name string) string {
	if name == "" {
		return id
	}
	return fmt.Sprintf("%q (%s)", name, id)
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
	boards map[string]exportBoard
	// before are the boards the cursor says the last complete pull read.
	before map[string]exportBoard
	// snapshot is what the boards read hold whole, for the last batch.
	snapshot []record.Scope
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
	sc, err := scanBoard(er, e.maxElement)
	if er.err != nil {
		return false, fmt.Errorf("reading trello export %s: %w", path, er.err)
	}
	if err != nil {
		msg := "not a readable Trello board export: " + err.Error()
		if se := (*syntaxError)(nil); errors.As(err, &se) {
			msg += fmt.Sprintf(" (at byte %d)", se.off)
		}
		return false, w.problem(ctx, record.Problem{Where: where, Message: msg})
	}
	if first, ok := st.boards[sc.ix.board.ID]; ok {
		// Two exports of one board (an old one left beside a new one):
		// reading both would emit every card twice. The skipped file is
		// understood, so the snapshot stays complete; it adds no scope.
		return true, w.problem(ctx, record.Problem{
			Where:   where,
			Message: fmt.Sprintf("board %s was already read from %s; this file is skipped", sc.ix.board.ID, first.File),
		})
	}
	ix := sc.ix
	scopes, gone := sc.snapshot(st.before[ix.board.ID].Gone)
	st.snapshot = append(st.snapshot, scopes...)
	st.boards[ix.board.ID] = exportBoard{File: where, Name: ix.board.Name, Gone: gone}
	if sc.cut() {
		if err := w.problem(ctx, record.Problem{Where: where, Warning: true, Message: sc.cutMessage()}); err != nil {
			return false, err
		}
	}
	if sc.unreadable > 0 {
		if err := w.problem(ctx, record.Problem{Where: where, Warning: true, Message: fmt.Sprintf(
			"board %s: %d of the file's cards and actions cannot be read (each is listed as unreadable), so nothing stored of the board is deleted on this file's account",
			boardLabel(ix.board.ID, ix.board.Name), sc.unreadable)}); err != nil {
			return false, err
		}
	}
	c := ix.container()
	c.History = sc.history()
	w.b.Containers = append(w.b.Containers, c)
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
			if err := w.problem(ctx, record.Problem{Where: fmt.Sprintf("%s#cards[%d]", where, s.idx), Message: m, Warning: true}); err != nil {
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
			if err := w.problem(ctx, record.Problem{Where: fmt.Sprintf("%s#actions[%d]", where, s.idx), Message: m, Warning: true}); err != nil {
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
		w.b.FieldChanges = append(w.b.FieldChanges, out.Fields...)
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

	// allActions counts the elements of the actions array, mapped or not,
	// readable or not: what Trello's limit of 1000 counts.
	allActions int
	// oldest and newest are the dates of the oldest and newest actions
	// with a readable date, mapped or not.
	oldest, newest time.Time
	// named are the cards any action names (data.card.id).
	named map[string]bool
	// unreadable counts the cards and the mapped actions the file holds
	// that cannot become records (broken fields, no id, a bad date).
	unreadable int
	// max is the most bytes of one value read.
	max int
}

// cut reports whether the file holds as many actions as an export keeps,
// so that the board's older history is not in it.
func (sc *boardScan) cut() bool { return sc.allActions >= ExportActionLimit }

// history is the span of the board's past whose every change the file
// holds: from the beginning up to its newest action when it is not cut,
// from its oldest action when it is. A file with an unreadable card or
// mapped action, or a cut one whose actions have no readable date, holds
// no span whole.
func (sc *boardScan) history() *record.History {
	if sc.unreadable > 0 || (sc.cut() && sc.oldest.IsZero()) {
		return nil
	}
	h := &record.History{}
	if sc.cut() {
		h.From = sc.oldest
	}
	if !sc.newest.IsZero() {
		h.To = sc.newest.Add(time.Millisecond)
	}
	return h
}

// snapshot returns the scopes of the board that the file holds whole: what
// is stored there and the file no longer holds is gone upstream.
//
// The window is the span the file's actions cover. It ends just after the
// newest action (Trello dates to the millisecond): a newer comment or card
// stored from a newer export is not this file's to judge. It starts at the
// oldest action when the file is cut (cut), else it covers the whole
// history. Inside the window, a stored comment or list move the file does
// not hold was deleted, and so was a card the file does not hold (Trello
// exports every card, archived ones too) whose creation lies in the window.
// A card created before the window that the file does not hold is kept
// with its history: its time is not covered (it may have been deleted, or
// the file may be older than the store), unless an action of the file
// names it: then the board still had the card inside the window, the file
// shows it gone (deleted or moved to another board: deleteCard,
// moveCardFromBoard), and it goes with its moves and comments, as the API
// source does with a card that answers 404.
//
// A cut file whose actions have no readable date covers no span at all:
// only the cards it shows gone go. A file holding a card or a mapped
// action that cannot be read deletes nothing of its board: nobody knows
// which stored row the unreadable element is (a field Trello changed the
// type of would otherwise make every card look gone).
//
// It returns the scopes and the cards the file shows gone; those in done
// (gone in the last pull already) get no scope again.
func (sc *boardScan) snapshot(done []string) (out []record.Scope, gone []string) {
	board := sc.ix.board.ID
	if sc.unreadable > 0 {
		return nil, done
	}
	if !sc.cut() || !sc.oldest.IsZero() {
		var from, to time.Time
		if sc.cut() {
			from = sc.oldest
		}
		if !sc.newest.IsZero() {
			to = sc.newest.Add(time.Millisecond)
		}
		for _, k := range []string{record.ScopeTasks, record.ScopeStatusChanges, record.ScopeMessages} {
			out = append(out, record.Scope{Kind: k, ContainerID: board, From: from, To: to})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(sc.named)) {
		if sc.ix.cards[id] {
			continue
		}
		gone = append(gone, id)
		if _, ok := slices.BinarySearch(done, id); ok {
			continue
		}
		for _, k := range []string{record.ScopeTasks, record.ScopeStatusChanges, record.ScopeMessages} {
			out = append(out, record.Scope{Kind: k, ContainerID: board, TaskID: id})
		}
	}
	return out, gone
}

// cutMessage is the warning a cut file gets. A file of more than 1000
// actions was not written by Trello's export (an API dump or a generator
// wrote it) and may hold the whole history, but nothing in it says so.
func (sc *boardScan) cutMessage() string {
	why := fmt.Sprintf("the file holds %d actions, as many as Trello's \"Export as JSON\" keeps (a board's newest %d), so older history is cut",
		sc.allActions, ExportActionLimit)
	if sc.allActions > ExportActionLimit {
		why = fmt.Sprintf("the file holds %d actions, more than the %d Trello's \"Export as JSON\" keeps, so karkas cannot tell whether older history is cut",
			sc.allActions, ExportActionLimit)
	}
	start := "none of its actions has a readable date, so only cards it shows deleted are deleted"
	if !sc.oldest.IsZero() {
		start = "its actions start at " + sc.oldest.Format("2006-01-02 15:04:05 UTC")
	}
	return fmt.Sprintf("board %s: %s: %s. What karkas stored of the board from before then (comments, list moves, cards) is kept, not deleted; "+
		"to read the full history, sync the board with the trello API source (kind: trello), which pages through every action",
		boardLabel(sc.ix.board.ID, sc.ix.board.Name), why, start)
}

// scanBoard is the first pass over an export. The file is read as a stream
// over the top-level object, one array element at a time, never as a
// whole: a large export then needs memory for the small board index and
// the offsets of its cards and actions, not twice its size. Cards and
// actions are decoded here to check them and index them, and are decoded
// again from their offsets in the second pass, in record order. A value
// over maxElement bytes (a card with a 200 MB description) is read past
// without being held, and is a Problem.
//
// An error means the file is not a board export at all (invalid JSON, not an
// object, no board id); an element that does not fit its type is a Problem.
func scanBoard(r io.Reader, maxElement int) (*boardScan, error) {
	js := newJSONScan(r)
	sc := &boardScan{ix: newBoardIndex(Board{}), actionIDs: map[string]bool{}, named: map[string]bool{}, max: maxElement}
	b := &sc.ix.board
	if err := js.expect('{', "beginning of value"); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		more, err := js.more('}', first)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		key, err := js.key()
		if err != nil {
			return nil, err
		}
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
			if err := sc.scanArray(js, key); err != nil {
				return nil, err
			}
			continue
		}
		start, raw, over, err := js.value(maxElement)
		switch {
		case err != nil:
			return nil, err
		case field == nil && !over && !json.Valid(raw):
			// A field karkas does not use (prefs, pluginData) is still
			// checked, as encoding/json checked the whole file.
			var v any
			return nil, decodeAt(raw, start, &v)
		case field == nil:
			continue
		case over:
			sc.problems = append(sc.problems, record.Problem{Where: "#" + key, Message: "board field " + key + sc.tooBig(js.off-start)})
			continue
		}
		if err := decodeAt(raw, start, field); err != nil {
			if !isTypeError(err) {
				return nil, err
			}
			sc.problems = append(sc.problems, record.Problem{Where: "#" + key, Message: "board field " + key + ": " + err.Error()})
		}
	}
	if _, err := js.peek(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("data after the board object")
	}
	if b.ID == "" {
		return nil, errors.New("the top-level object has no board id")
	}
	return sc, nil
}

// key reads an object's key and the colon after it. A key too long for
// any karkas knows comes back empty: its value is then skipped.
func (s *jsonScan) key() (string, error) {
	c, err := s.peekIn()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", s.unexpected(c, "beginning of object key string")
	}
	start, raw, over, err := s.value(1 << 10)
	if err != nil {
		return "", err
	}
	var key string
	if !over {
		if err := decodeAt(raw, start, &key); err != nil {
			return "", err
		}
	}
	return key, s.expect(':', "':' after object key")
}

// decodeAt decodes the bytes of a value that starts at offset start of the
// file; a syntax error's offset is made the file's.
func decodeAt(raw []byte, start int64, v any) error {
	err := json.Unmarshal(raw, v)
	if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
		return &syntaxError{msg: se.Error(), off: start + se.Offset}
	}
	return err
}

// tooBig says why a value of n bytes was skipped, after its name.
func (sc *boardScan) tooBig(n int64) string {
	return fmt.Sprintf(" is %d bytes, more than the %d bytes karkas reads of one value of an export; skipped", n, sc.max)
}

// scanArray reads one of the board's arrays element by element.
func (sc *boardScan) scanArray(js *jsonScan, key string) error {
	c, err := js.peekIn()
	if err != nil {
		return err
	}
	if c == 'n' { // "cards": null
		_, raw, _, err := js.value(4)
		if err == nil && string(raw) != "null" {
			err = fmt.Errorf("%s is not an array", key)
		}
		return err
	}
	if c != '[' {
		return fmt.Errorf("%s is not an array", key)
	}
	js.read()
	for i, first := 0, true; ; i, first = i+1, false {
		more, err := js.more(']', first)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if key == "actions" {
			sc.allActions++
		}
		start, raw, over, err := js.value(sc.max)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("#%s[%d]", key, i)
		if over {
			if key == "cards" || key == "actions" {
				sc.unreadable++
			}
			sc.problems = append(sc.problems, record.Problem{Where: where, Message: strings.TrimSuffix(key, "s") + sc.tooBig(js.off-start)})
			continue
		}
		if err := sc.scanElement(raw, key, i, start, js.off); err != nil {
			var bad badElement
			if !isTypeError(err) && !errors.As(err, &bad) {
				return err
			}
			sc.problems = append(sc.problems, record.Problem{Where: where, Message: err.Error()})
		}
	}
}

// badElement is an element that decoded but cannot be used (no id, a bad
// date).
type badElement struct{ err error }

func (b badElement) Error() string { return b.err.Error() }

// scanElement decodes and indexes element i of the array key, the bytes
// raw at [start, end) of the file. A type error or a badElement spoils
// only this element; any other error is broken JSON.
func (sc *boardScan) scanElement(raw []byte, key string, i int, start, end int64) error {
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
		v, use = c, func() error { return sc.addCard(*c, i, start, end) }
	case "actions":
		a := new(Action)
		v, use = a, func() error { return sc.addAction(*a, i, start, end) }
	default:
		return nil
	}
	if err := decodeAt(raw, start, v); err != nil {
		if key == "cards" || key == "actions" {
			sc.unreadable++
		}
		return err
	}
	if err := use(); err != nil {
		return badElement{err}
	}
	return nil
}

func (sc *boardScan) addCard(c Card, idx int, start, end int64) error {
	if c.ID == "" {
		sc.unreadable++
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
	if at, err := parseTime(a.Date); err == nil {
		if sc.oldest.IsZero() || at.Before(sc.oldest) {
			sc.oldest = at
		}
		if at.After(sc.newest) {
			sc.newest = at
		}
	}
	if a.Data.Card != nil && a.Data.Card.ID != "" {
		sc.named[a.Data.Card.ID] = true
	}
	err := sc.ix.noteAction(a)
	if !mapped(a) {
		// Only actions that become records are checked: a bad date on an
		// ignored action harms nothing.
		return nil
	}
	if err != nil {
		sc.unreadable++
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
