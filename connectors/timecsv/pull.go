package timecsv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// maxProblemsPerFile caps the problems listed for one file: a file in the
// wrong encoding would otherwise add one per row to every sync.
const maxProblemsPerFile = 100

// Source pulls time entries from CSV exports. Build it with Open.
type Source struct {
	cfg     *config
	baseDir string
}

// Open checks the options and returns a source reading the files they
// name. Files are looked up at each pull, not here, so that a config can
// name an export that does not exist yet when it is validated.
func Open(o *Options, env connectors.Env) (*Source, error) {
	if o == nil {
		o = NewOptions()
	}
	cfg, err := newConfig(o)
	if err != nil {
		return nil, err
	}
	return &Source{cfg: cfg, baseDir: env.BaseDir}, nil
}

// Pull reads every file when their fingerprint differs from cursor and
// emits the entries in batches; the last batch carries the fingerprint and
// ends the snapshot. Unchanged files cost a stat each and emit nothing.
//
// A file whose header lacks a required column is reported as a Problem
// and the other files are still emitted, but the last batch then carries
// neither the cursor nor EndOfSnapshot: the store must not soft-delete the
// entries of the unreadable file, and the next pull must read it again. A
// row that cannot be read is a Problem too; the last batch then carries
// the cursor but not EndOfSnapshot, since which entry the row would have
// replaced is unknown: nothing missing is taken for deleted until the
// export reads whole.
func (s *Source) Pull(ctx context.Context, cursor string, emit connectors.Emit) error {
	files, err := s.resolve()
	if err != nil {
		return err
	}
	fp, err := s.fingerprint(files)
	if err != nil {
		return err
	}
	if fp == cursor {
		return nil
	}
	r := &run{
		ctx:      ctx,
		emit:     emit,
		size:     s.cfg.batchSize,
		batch:    &record.Batch{},
		complete: true,
		rows:     map[[16]byte]uint32{},
		ids:      map[[16]byte]struct{}{},
	}
	for _, f := range files {
		if err := s.readFile(r, f); err != nil {
			return err
		}
	}
	if r.complete {
		r.batch.Cursor = fp
		r.batch.EndOfSnapshot = !r.keepMissing
	}
	return r.send()
}

// resolve expands the configured files into a sorted list of paths. A
// pattern that matches nothing is an error, not an empty snapshot: a
// mistyped path must not soft-delete every entry pulled before.
func (s *Source) resolve() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, pat := range s.cfg.files {
		p := pat
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.baseDir, p)
		}
		p = filepath.Clean(p)
		if strings.ContainsAny(pat, "*?[") {
			matches, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("expanding %s: %w", p, err)
			}
			n := 0
			for _, m := range matches {
				if fi, err := os.Stat(m); err == nil && !fi.IsDir() {
					add(m)
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("expanding %s: %w", p, os.ErrNotExist)
			}
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		n := 0
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
				add(filepath.Join(p, e.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("reading %s: no .csv file in folder: %w", p, os.ErrNotExist)
		}
	}
	slices.Sort(out)
	return out, nil
}

// fingerprint hashes each file's path, size and modification time, and the
// options that change how files parse, so that fixing a column name in
// the config re-reads files that did not change.
func (s *Source) fingerprint(files []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "timecsv/1\n%s", s.cfg.optionsKey)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", f, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// run is the state of one pull: the batch being filled and the small
// indexes that keep ids unique across files.
type run struct {
	ctx      context.Context
	emit     connectors.Emit
	size     int
	batch    *record.Batch
	complete bool
	// keepMissing: a row could not be read, so the pull ends without
	// EndOfSnapshot (what the row would have replaced stays as it was).
	keepMissing bool
	// rows counts id-less rows by content hash, to number identical rows.
	rows map[[16]byte]uint32
	// ids holds hashes of the ids seen in an id column, to catch repeats.
	ids map[[16]byte]struct{}
}

// room makes space for one more item, sending the batch when it is full.
// Problems count towards the size so that a file of bad rows stays bounded
// in memory too.
func (r *run) room() error {
	if len(r.batch.TimeEntries)+len(r.batch.Problems) < r.size {
		return nil
	}
	if err := r.send(); err != nil {
		return err
	}
	r.batch = &record.Batch{}
	return nil
}

func (r *run) send() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("pulling %s: %w", KindName, err)
	}
	if err := r.emit(r.ctx, r.batch); err != nil {
		return fmt.Errorf("emitting %s batch: %w", KindName, err)
	}
	return nil
}

func (r *run) addEntry(e record.TimeEntry) error {
	if err := r.room(); err != nil {
		return err
	}
	r.batch.TimeEntries = append(r.batch.TimeEntries, e)
	return nil
}

func (r *run) addProblem(where, msg string) error {
	if err := r.room(); err != nil {
		return err
	}
	r.batch.Problems = append(r.batch.Problems, record.Problem{Where: where, Message: msg})
	return nil
}

// fileRun counts one file's problems against maxProblemsPerFile.
type fileRun struct {
	*run
	name       string
	problems   int
	suppressed int
	// unread counts rows skipped as unreadable (not those stored with a
	// note, nor repeats of an id).
	unread int
}

// unreadable records a row that was skipped.
func (f *fileRun) unreadable(line int, msg string) error {
	f.unread++
	return f.problem(line, msg)
}

func (f *fileRun) problem(line int, msg string) error {
	f.problems++
	if f.problems > maxProblemsPerFile {
		f.suppressed++
		return nil
	}
	return f.addProblem(fmt.Sprintf("%s:%d", f.name, line), msg)
}

// readFile streams one file into the run. Only a file that cannot be read
// is an error; bad content becomes Problems.
func (s *Source) readFile(r *run, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer fh.Close()

	fr := &fileRun{run: r, name: s.displayName(path)}
	checkUTF8 := s.cfg.encoding == nil
	var fallback encoding.Encoding = encoding.Nop // UTF-8 passes through; invalid bytes are reported below
	if s.cfg.encoding != nil {
		fallback = s.cfg.encoding
	}
	// BOMOverride strips a UTF-8 BOM and honours a UTF-16 one (Excel's
	// "Unicode text") whatever encoding the config names.
	br := bufio.NewReaderSize(transform.NewReader(fh, unicode.BOMOverride(fallback.NewDecoder())), 64<<10)

	delim := s.cfg.delimiter
	if delim == 0 {
		delim = detectDelimiter(br)
	}
	guard := &rowGuard{r: br, max: maxRowBytes}
	raw := &rawRecords{r: guard}
	cr := newCSVReader(raw, delim)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		if pe := (*csv.ParseError)(nil); !errors.As(err, &pe) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		r.complete = false
		if errors.Is(err, io.EOF) {
			return fr.addProblem(fr.name+":1", "empty file: no header row")
		}
		return fr.addProblem(fr.name+":1", fmt.Sprintf("bad header row: %v", err))
	}
	if checkUTF8 && !validUTF8(header) {
		r.complete = false
		return fr.addProblem(fr.name+":1", "header is not valid UTF-8: set encoding (windows-1251, koi8-r, ...)")
	}
	raw.take(cr.InputOffset())
	lay, err := newLayout(slices.Clone(header), s.cfg.columns)
	if err != nil {
		r.complete = false
		return fr.addProblem(fr.name+":1", err.Error())
	}

	for n := 1; ; n++ {
		// Rows past the problem cap add nothing to a batch, so a huge bad
		// file would otherwise never reach a cancellation check.
		if n%4096 == 0 && r.ctx.Err() != nil {
			return fmt.Errorf("pulling %s: %w", KindName, r.ctx.Err())
		}
		guard.mark = cr.InputOffset()
		row, err := cr.Read()
		text := raw.take(cr.InputOffset())
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errRowTooBig) {
			// The csv reader cannot skip what it did not read whole; the
			// rest of the file is not read, and nothing of the source is
			// deleted on its account.
			r.complete = false
			return fr.addProblem(fr.name, fmt.Sprintf("the row at byte %d is longer than %d KiB (an unclosed quote?); it and the rest of the file are not read",
				guard.mark, maxRowBytes>>10))
		}
		if err != nil {
			if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
				if err := fr.unreadable(pe.StartLine, pe.Err.Error()); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("reading %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if swallowed(text, delim, len(row), lay.width) {
			// A quote left open ran the record over the lines after it,
			// hiding them: each line is read on its own instead, so the
			// broken one is a problem and the rest are what they say.
			if err := s.readLines(fr, lay, text, line, delim, checkUTF8); err != nil {
				return err
			}
			continue
		}
		if err := s.readRow(fr, lay, row, line, checkUTF8); err != nil {
			return err
		}
	}
	if fr.unread > 0 {
		// What an unreadable row would have replaced is unknown, so no
		// entry missing from this pull is taken for deleted; the file was
		// read whole, so the cursor is kept.
		r.keepMissing = true
		if err := r.room(); err != nil {
			return err
		}
		r.batch.Problems = append(r.batch.Problems, record.Problem{Where: fr.name, Warning: true,
			Message: fmt.Sprintf("%d row(s) could not be read: entries missing from the export are kept, not deleted, until every row reads", fr.unread)})
	}
	if fr.suppressed > 0 {
		return fr.addProblem(fr.name, fmt.Sprintf("%d more problems in this file not listed", fr.suppressed))
	}
	return nil
}

// newCSVReader reads an export: any number of fields per record (a short
// row is a problem of its own), and stray quotes kept ("5" screen"):
// hand-edited exports hold them, and keeping them beats dropping the row.
func newCSVReader(r io.Reader, delim rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	return cr
}

// swallowed says whether a record of fields fields whose text is text ran
// over rows it should not have: it spans lines, and it has not the
// header's width, or a line after its first is a row of that width on its
// own. A note over two lines ("a note\nover two lines") is neither.
func swallowed(text string, delim rune, fields, width int) bool {
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\n")
	if len(lines) < 2 {
		return false
	}
	if fields != width {
		return true
	}
	for _, l := range lines[1:] {
		if row, err := newCSVReader(strings.NewReader(l), delim).Read(); err == nil && width >= 2 && len(row) == width {
			return true
		}
	}
	return false
}

// readLines reads the physical lines of text, a record that spans them,
// as one record each; the first is at line.
func (s *Source) readLines(fr *fileRun, lay *layout, text string, line int, delim rune, checkUTF8 bool) error {
	for i, l := range strings.Split(strings.TrimRight(text, "\r\n"), "\n") {
		row, err := newCSVReader(strings.NewReader(l), delim).Read()
		switch {
		case errors.Is(err, io.EOF):
			continue
		case err != nil:
			if err := fr.unreadable(line+i, err.Error()); err != nil {
				return err
			}
			continue
		}
		if i == 0 {
			if err := fr.unreadable(line, fmt.Sprintf("a quote is left open (it ran over the next %d line(s)): row skipped, the lines after it read on their own", strings.Count(strings.TrimRight(text, "\r\n"), "\n"))); err != nil {
				return err
			}
			continue
		}
		if err := s.readRow(fr, lay, row, line+i, checkUTF8); err != nil {
			return err
		}
	}
	return nil
}

// rawRecords keeps the text the CSV reader consumed, so that a record's
// own lines can be read again: take returns the text up to an input
// offset of the reader (csv.Reader.InputOffset) since the previous take.
type rawRecords struct {
	r    io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
}

func (t *rawRecords) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

func (t *rawRecords) take(upTo int64) string {
	n := int(upTo - t.base)
	if n <= 0 || n > len(t.buf) {
		return ""
	}
	s := string(t.buf[:n])
	t.buf = append(t.buf[:0], t.buf[n:]...)
	t.base = upTo
	return s
}

// maxRowBytes caps one row of a CSV file. encoding/csv holds a row whole,
// and with LazyQuotes a stray quote makes the rest of the file one field; a
// real row is a few hundred bytes, and a note longer than record's
// MaxTextBytes would be cut anyway. A variable so that tests can lower it.
var maxRowBytes int64 = 4 << 20

var errRowTooBig = errors.New("row too long")

// rowGuard hands the csv reader no more than maxRowBytes past the start of
// the row it is reading (mark, the reader's InputOffset before the row),
// so that a runaway row ends in errRowTooBig instead of filling memory.
type rowGuard struct {
	r         io.Reader
	off, mark int64
	max       int64
}

func (g *rowGuard) Read(p []byte) (int, error) {
	left := g.mark + g.max - g.off
	if left <= 0 {
		return 0, errRowTooBig
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := g.r.Read(p)
	g.off += int64(n)
	return n, err
}

// readRow turns one row into an entry or a problem.
func (s *Source) readRow(fr *fileRun, lay *layout, row []string, line int, checkUTF8 bool) error {
	if blank(row) || isTotal(lay.cell(row, "date")) {
		return nil
	}
	if len(row) != lay.width {
		return fr.unreadable(line, fmt.Sprintf("row has %d columns, header has %d", len(row), lay.width))
	}
	if checkUTF8 && !validUTF8(row) {
		return fr.unreadable(line, "row is not valid UTF-8: set encoding (windows-1251, koi8-r, ...)")
	}
	e, warn, err := s.cfg.parseRow(lay, row)
	if err != nil {
		return fr.unreadable(line, err.Error())
	}
	if id := lay.cell(row, "id"); id != "" {
		key := hash16(id)
		if _, dup := fr.ids[key]; dup {
			return fr.problem(line, fmt.Sprintf("id %q repeats an earlier row: row skipped", id))
		}
		fr.ids[key] = struct{}{}
		e.ExternalID = id
	} else {
		e.ExternalID = fr.rowID(&e)
	}
	if warn != "" {
		if err := fr.problem(line, warn); err != nil {
			return err
		}
	}
	return fr.addEntry(e)
}

// rowID names an entry from an export without ids by a hash of what the
// row says (date, person, task, project, note, start, duration; not the
// file name, so renaming or splitting an export keeps the ids) and the
// number of identical rows before it in this pull, so that two identical
// rows stay two entries with ids stable across runs.
//
// The consequence: editing such a row in the tracker (a new note, a
// corrected duration) gives it a new id, so the next pull stores a new
// entry and soft-deletes the old one. Billable, tags and the client are
// left out of the hash so that the most common edits keep the id.
func (r *run) rowID(e *record.TimeEntry) string {
	start := ""
	if e.Start != nil {
		start = e.Start.Format("2006-01-02T15:04:05Z")
	}
	key := hash16(e.Date, e.PersonID, e.TaskID, e.TaskName, e.ProjectName, e.Note, start,
		strconv.FormatInt(e.Seconds, 10))
	r.rows[key]++
	id := "csv:" + hex.EncodeToString(key[:])
	if n := r.rows[key]; n > 1 {
		id += "-" + strconv.FormatUint(uint64(n), 10)
	}
	return id
}

// hash16 is a truncated sha256 of the parts, separated by a byte no cell
// holds; 128 bits keep collisions out of reach at any export size.
func hash16(parts ...string) [16]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0x1f})
	}
	var k [16]byte
	copy(k[:], h.Sum(nil))
	return k
}

// displayName is the path as a problem shows it: relative to the config's
// folder where it lies inside it.
func (s *Source) displayName(path string) string {
	if s.baseDir != "" {
		if rel, err := filepath.Rel(s.baseDir, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(path)
}

// detectDelimiter picks the most frequent of comma, semicolon and tab in
// the header line (Excel in a Russian locale saves with semicolons).
func detectDelimiter(br *bufio.Reader) rune {
	peek, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(peek, '\n'); i >= 0 {
		peek = peek[:i]
	}
	best, bestN := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		if n := bytes.Count(peek, []byte(string(d))); n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// isTotal spots the summary row some exports end with.
func isTotal(date string) bool {
	switch strings.ToLower(strings.TrimSuffix(date, ":")) {
	case "total", "totals", "итого", "всего":
		return true
	}
	return false
}

func validUTF8(row []string) bool {
	for _, c := range row {
		if !utf8.ValidString(c) {
			return false
		}
	}
	return true
}
