package email

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/record"
)

// A shape is a message as a real mailer writes it (testdata/shapes/*.eml)
// and what karkas must make of it (the .want beside it). Adding a case is
// adding the two files: every test here runs it on every path.
//
// A .want file holds "key: value" lines; a value in double quotes is a Go
// string. Keys: id, author_email, author_name, subject, body (exact),
// body_has and body_lacks (repeatable), sent_at (RFC 3339, or "fallback":
// the path's own date), sent_at_from ("" for the Date header, a
// record.SentAtFrom* value, or "fallback": the path's), automated (the
// reason), attachment (repeatable, "name|type|size"; all of them when one
// is given), warnings (how many the message gets).
type shape struct {
	name string
	raw  []byte
	want map[string][]string
}

func loadShapes(t testing.TB) []shape {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "shapes", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d shapes found", len(files))
	}
	var out []shape
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := os.Open(strings.TrimSuffix(f, ".eml") + ".want")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{}
		sc := bufio.NewScanner(wf)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("%s.want:%d: no key: %q", f, n, line)
			}
			if strings.HasPrefix(v, `"`) {
				if v, err = strconv.Unquote(v); err != nil {
					t.Fatalf("%s.want:%d: %v", f, n, err)
				}
			}
			want[k] = append(want[k], v)
		}
		wf.Close()
		if len(want["id"]) != 1 || len(want["warnings"]) != 1 {
			t.Fatalf("%s: a .want needs id and warnings", f)
		}
		out = append(out, shape{name: strings.TrimSuffix(filepath.Base(f), ".eml"), raw: raw, want: want})
	}
	return out
}

// check compares m with the shape's want. fallback and fallbackFrom are
// the path's own date; warnings is how many the message got.
func (s shape) check(t *testing.T, m record.Message, warnings int, fallback time.Time, fallbackFrom string) {
	s.checkSizes(t, m, warnings, fallback, fallbackFrom, true)
}

// checkSizes is check, with attachment sizes left out when sizes is false:
// an LF message sent over IMAP has CRLF line ends, and so a 7bit part's size
// grows by its number of lines.
func (s shape) checkSizes(t *testing.T, m record.Message, warnings int, fallback time.Time, fallbackFrom string, sizes bool) {
	t.Helper()
	one := func(k string) (string, bool) {
		v, ok := s.want[k]
		if !ok {
			return "", false
		}
		return v[0], true
	}
	for k, got := range map[string]string{"id": m.ExternalID, "author_email": m.AuthorEmail, "author_name": m.AuthorName,
		"subject": m.Subject, "body": m.Body, "automated": m.AutomatedReason} {
		if want, ok := one(k); ok && got != want {
			t.Errorf("%s: %s = %q, want %q", s.name, k, got, want)
		}
	}
	if _, ok := one("automated"); !ok && m.Automated {
		t.Errorf("%s: automated (%s), want a human message", s.name, m.AutomatedReason)
	}
	for _, has := range s.want["body_has"] {
		if !strings.Contains(m.Body, has) {
			t.Errorf("%s: body lacks %q:\n%s", s.name, has, m.Body)
		}
	}
	for _, lacks := range s.want["body_lacks"] {
		if strings.Contains(m.Body, lacks) {
			t.Errorf("%s: body has %q:\n%s", s.name, lacks, m.Body)
		}
	}
	if want, ok := one("sent_at"); ok {
		w := fallback
		if want != "fallback" {
			var err error
			if w, err = time.Parse(time.RFC3339, want); err != nil {
				t.Fatalf("%s: sent_at: %v", s.name, err)
			}
		}
		if !m.SentAt.Equal(w) || m.SentAt.Location() != time.UTC {
			t.Errorf("%s: SentAt = %v, want %v", s.name, m.SentAt, w.UTC())
		}
	}
	wantFrom, _ := one("sent_at_from")
	if wantFrom == "fallback" {
		wantFrom = fallbackFrom
	}
	if m.SentAtFrom != wantFrom {
		t.Errorf("%s: SentAtFrom = %q, want %q", s.name, m.SentAtFrom, wantFrom)
	}
	if want := s.want["attachment"]; want != nil {
		var got []string
		for i, a := range m.Attachments {
			size := strconv.FormatInt(a.Size, 10)
			if !sizes && i < len(want) {
				size = want[i][strings.LastIndexByte(want[i], '|')+1:]
			}
			got = append(got, fmt.Sprintf("%s|%s|%s", a.Name, a.ContentType, size))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: attachments %q, want %q", s.name, got, want)
		}
	}
	if want, _ := one("warnings"); strconv.Itoa(warnings) != want {
		t.Errorf("%s: %d warnings, want %s", s.name, warnings, want)
	}
}

// shapeFallback is the path's own date in the tests: the .eml file's
// modification time, the mbox "From " line, the INTERNALDATE.
var shapeFallback = time.Date(2024, 5, 20, 8, 0, 0, 0, time.UTC)

func TestShapesParse(t *testing.T) {
	t.Parallel()
	for _, s := range loadShapes(t) {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			var warnings []string
			m, err := ParseWith(s.raw, ParseOptions{Folder: "INBOX", Received: shapeFallback, ReceivedFrom: record.SentAtFromMboxLine,
				Warn: func(w string) { warnings = append(warnings, w) }})
			if err != nil {
				t.Fatal(err)
			}
			s.check(t, m, len(warnings), shapeFallback, record.SentAtFromMboxLine)
			if t.Failed() {
				t.Logf("warnings: %q", warnings)
			}
		})
	}
}

// warningsAt counts the warning problems by where.
func warningsAt(probs []record.Problem) map[string]int {
	out := map[string]int{}
	for _, p := range probs {
		if p.Warning {
			out[p.Where]++
		}
	}
	return out
}

// refusals are the problems that are not warnings.
func refusals(probs []record.Problem) []record.Problem {
	var out []record.Problem
	for _, p := range probs {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// writeShapeFiles writes each shape as dir/archive/<name>.eml, dated
// shapeFallback.
func writeShapeFiles(t *testing.T, dir string, shapes []shape) {
	t.Helper()
	for _, s := range shapes {
		path := filepath.Join(dir, "archive", s.name+".eml")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, s.raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, shapeFallback, shapeFallback); err != nil {
			t.Fatal(err)
		}
	}
}

// shapeMbox is the shapes as one mbox (mboxrd), each after a "From " line
// dated shapeFallback, and the line each starts at.
func shapeMbox(shapes []shape) ([]byte, map[string]int) {
	var mbox bytes.Buffer
	lines := map[string]int{}
	line := 1
	for _, s := range shapes {
		lines[s.name] = line
		fmt.Fprintf(&mbox, "From MAILER-DAEMON %s\n", shapeFallback.Format("Mon Jan _2 15:04:05 2006"))
		// mboxrd: quote body lines that would read as separators.
		raw := bytes.ReplaceAll(bytes.TrimRight(s.raw, "\r\n"), []byte("\nFrom "), []byte("\n>From "))
		mbox.Write(raw)
		mbox.WriteString("\n\n")
		line += 1 + bytes.Count(raw, []byte("\n")) + 2
	}
	return mbox.Bytes(), lines
}

// appendShapes appends each shape to anna's INBOX (with CRLF line ends,
// as IMAP wants), and returns their UIDs and which had LF ends.
func appendShapes(t *testing.T, srv *mailtest.IMAPServer, shapes []shape) (uids map[string]uint32, crlfed map[string]bool) {
	t.Helper()
	uids, crlfed = map[string]uint32{}, map[string]bool{}
	for _, s := range shapes {
		raw := s.raw
		if !bytes.Contains(raw, []byte("\r\n")) {
			raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
			crlfed[s.name] = true
		}
		uids[s.name] = uint32(srv.Append(t, anna, "INBOX", raw, shapeFallback))
	}
	return uids, crlfed
}

func TestShapesEMLFolder(t *testing.T) {
	t.Parallel()
	shapes := loadShapes(t)
	dir := t.TempDir()
	writeShapeFiles(t, dir, shapes)
	c := pull(t, open(t, dir, 0, 0, FileSpec{Path: "archive"}), "")
	msgs := c.messages()
	if len(msgs) != len(shapes) || len(refusals(c.problems())) != 0 {
		t.Fatalf("%d messages from %d files, refusals %+v", len(msgs), len(shapes), refusals(c.problems()))
	}
	warned := warningsAt(c.problems())
	// Files are read in path order, as the shapes are listed.
	nwarned := 0
	for i, s := range shapes {
		where := filepath.Join("archive", s.name+".eml")
		s.check(t, msgs[i], warned[where], shapeFallback, record.SentAtFromFileMTime)
		if warned[where] > 0 {
			nwarned++
		}
	}
	checkTally(t, c, record.Tally{Unit: "messages", Read: len(shapes), Stored: len(shapes), Warned: nwarned})
}

func TestShapesMbox(t *testing.T) {
	t.Parallel()
	shapes := loadShapes(t)
	mbox, lines := shapeMbox(shapes)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "all.mbox"), mbox, 0o644); err != nil {
		t.Fatal(err)
	}
	c := pull(t, open(t, dir, 0, 0, FileSpec{Path: "all.mbox"}), "")
	msgs := c.messages()
	if len(msgs) != len(shapes) || len(refusals(c.problems())) != 0 {
		t.Fatalf("%d messages from %d in the mbox, refusals %+v", len(msgs), len(shapes), refusals(c.problems()))
	}
	warned := warningsAt(c.problems())
	nwarned := 0
	for i, s := range shapes {
		where := fmt.Sprintf("all.mbox:%d", lines[s.name])
		s.check(t, msgs[i], warned[where], shapeFallback, record.SentAtFromMboxLine)
		if warned[where] > 0 {
			nwarned++
		}
	}
	checkTally(t, c, record.Tally{Unit: "messages", Read: len(shapes), Stored: len(shapes), Warned: nwarned})
}

func TestShapesIMAP(t *testing.T) {
	t.Parallel()
	shapes := loadShapes(t)
	srv := mailtest.Dovecot(t)
	uids, crlfed := appendShapes(t, srv, shapes)
	acc := dovecotAccount(srv, anna)
	acc.Folders = []string{"INBOX"}
	c, _ := mustPull(t, openTestIMAP(t, nil, acc), "")
	msgs := c.messages()
	if len(msgs) != len(shapes) || len(refusals(c.problems())) != 0 {
		t.Fatalf("%d messages from %d appended, refusals %+v", len(msgs), len(shapes), refusals(c.problems()))
	}
	warned := warningsAt(c.problems())
	nwarned := 0
	for i, s := range shapes {
		where := fmt.Sprintf("%s/INBOX uid %d", anna, uids[s.name])
		s.checkSizes(t, msgs[i], warned[where], shapeFallback, record.SentAtFromDelivery, !crlfed[s.name])
		if warned[where] > 0 {
			nwarned++
		}
	}
	checkTally(t, c, record.Tally{Unit: "messages", Read: len(shapes), Stored: len(shapes), Warned: nwarned})
}
