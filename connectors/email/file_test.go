package email

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/record"
)

// collect is an Emit that keeps every batch.
type collect struct{ batches []record.Batch }

func (c *collect) emit(_ context.Context, b *record.Batch) error {
	c.batches = append(c.batches, *b)
	return nil
}

func (c *collect) messages() []record.Message {
	var out []record.Message
	for _, b := range c.batches {
		out = append(out, b.Messages...)
	}
	return out
}

func (c *collect) problems() []record.Problem {
	var out []record.Problem
	for _, b := range c.batches {
		out = append(out, b.Problems...)
	}
	return out
}

func (c *collect) containers() []record.Container {
	var out []record.Container
	for _, b := range c.batches {
		out = append(out, b.Containers...)
	}
	return out
}

func ids(ms []record.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ExternalID + " " + m.Folder
	}
	return out
}

func open(t *testing.T, baseDir string, batch int, max int64, files ...FileSpec) *FileSource {
	t.Helper()
	opts := NewFileOptions()
	opts.Files = files
	if batch > 0 {
		opts.BatchSize = batch
	}
	if max > 0 {
		opts.MaxMessageBytes = max
	}
	src, err := OpenFiles(opts, connectors.Env{BaseDir: baseDir})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func pull(t *testing.T, src *FileSource, cursor string) *collect {
	t.Helper()
	c := &collect{}
	if err := src.Pull(context.Background(), cursor, c.emit); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkSnapshot asserts the batch rules every pull that emits must follow.
func checkSnapshot(t *testing.T, c *collect, size int) string {
	t.Helper()
	if len(c.batches) == 0 {
		t.Fatal("no batch emitted")
	}
	for i, b := range c.batches {
		last := i == len(c.batches)-1
		if n := b.Len(); n > size {
			t.Errorf("batch %d holds %d records, over %d", i, n, size)
		}
		if last != (b.Cursor != "") || last != b.EndOfSnapshot {
			t.Errorf("batch %d of %d: cursor %q, end of snapshot %v", i, len(c.batches), b.Cursor, b.EndOfSnapshot)
		}
	}
	return c.batches[len(c.batches)-1].Cursor
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw := readFixture(t, from)
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPullMbox(t *testing.T) {
	t.Parallel()
	c := pull(t, open(t, "testdata", 0, 0, FileSpec{Path: "mixed.mbox"}), "")
	checkSnapshot(t, c, 2000)

	if got := c.containers(); !reflect.DeepEqual(got, []record.Container{{ExternalID: "INBOX", Kind: record.ContainerMailbox, Name: "INBOX"}}) {
		t.Errorf("containers = %+v", got)
	}
	msgs := c.messages()
	copyID := "mbox-1@client.example#" + msgs[len(msgs)-1].Fingerprint()
	if got, want := ids(msgs), []string{"mbox-1@client.example INBOX", "mbox-2@client.example INBOX", "mbox-3@client.example INBOX", copyID + " INBOX"}; !slices.Equal(got, want) {
		t.Fatalf("messages = %q, want %q", got, want)
	}
	if msgs[0].Subject != "First" || msgs[3].Subject != "First (copy)" || msgs[3].ThreadKey != "mbox-1@client.example" {
		t.Errorf("the first message under an id keeps it, the other is stored apart in the same thread: %+v", msgs[3])
	}
	if !strings.Contains(msgs[0].Body, "\nFrom the archive:") || !strings.Contains(msgs[0].Body, "\n>From twice quoted.") {
		t.Errorf(">From quoting not undone:\n%s", msgs[0].Body)
	}
	// The header line without a colon ends the header; the rest is body.
	if m := msgs[1]; m.AuthorEmail != "broken@client.example" || m.Body != "This header line has no colon\nSubject: Broken\n\nBody.\n" ||
		!m.SentAt.Equal(time.Date(2024, 5, 27, 10, 0, 0, 0, time.UTC)) || m.SentAtFrom != record.SentAtFromMboxLine {
		t.Errorf("broken header: %+v", m)
	}
	if want := time.Date(2024, 5, 28, 11, 22, 33, 0, time.UTC); !msgs[2].SentAt.Equal(want) || msgs[2].SentAtFrom != record.SentAtFromMboxLine {
		t.Errorf("date from the From line = %v (%s), want %v", msgs[2].SentAt, msgs[2].SentAtFrom, want)
	}
	probs := c.problems()
	want := []struct {
		where, has string
		warning    bool
	}{
		{"mixed.mbox:13", `header line "This header line has no colon" is not a header field`, true},
		{"mixed.mbox:13", `no Date header, nor a Received: header with a date; dated 2024-05-27T10:00:00Z by the mbox "From " line`, true},
		{"mixed.mbox:21", `no Date header, nor a Received: header with a date; dated 2024-05-28T11:22:33Z by the mbox "From " line`, true},
		{"mixed.mbox:29", "Message-ID <mbox-1@client.example> also names another message", true},
		{"mixed.mbox:38", "no usable Date", false},
	}
	if len(probs) != len(want) {
		t.Fatalf("problems = %+v", probs)
	}
	for i, w := range want {
		if p := probs[i]; p.Where != w.where || !strings.Contains(p.Message, w.has) || p.Warning != w.warning {
			t.Errorf("problem %d = %+v, want at %s a warning=%v containing %q", i, p, w.where, w.warning, w.has)
		}
	}
	checkTally(t, c, record.Tally{Unit: "messages", Read: 5, Stored: 4, Refused: 1, Warned: 3})
}

// checkTally sums the batches' tallies and checks each adds up.
func checkTally(t *testing.T, c *collect, want record.Tally) {
	t.Helper()
	var got record.Tally
	for i, b := range c.batches {
		if b.Tally.Unit != "messages" || !b.Tally.Adds() {
			t.Errorf("batch %d: tally %+v does not add up", i, b.Tally)
		}
		refused, warned := 0, map[string]bool{}
		for _, p := range b.Problems {
			if p.Warning {
				warned[p.Where] = true
			} else {
				refused++
			}
		}
		if b.Tally.Stored != len(b.Messages) || b.Tally.Refused != refused || b.Tally.Warned != len(warned) {
			t.Errorf("batch %d: tally %+v, but it holds %d messages, %d refusals, warnings on %d", i, b.Tally, len(b.Messages), refused, len(warned))
		}
		got.Add(b.Tally)
	}
	if got != want || !got.Adds() {
		t.Errorf("tally = %+v, want %+v", got, want)
	}
}

func TestPullCRLFMbox(t *testing.T) {
	t.Parallel()
	c := pull(t, open(t, "testdata", 0, 0, FileSpec{Path: "crlf.mbox", Folder: "Archive"}), "")
	if got, want := ids(c.messages()), []string{"mbox-1@client.example Archive", "mbox-3@client.example Archive"}; !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q", got, want)
	}
	if p := c.problems(); len(p) != 1 || p[0].Where != "crlf.mbox:13" || !p[0].Warning || !strings.Contains(p[0].Message, `by the mbox "From " line`) {
		t.Errorf("problems = %+v", p)
	}
	checkTally(t, c, record.Tally{Unit: "messages", Read: 2, Stored: 2, Warned: 1})
}

func TestPullCursor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, "mixed.mbox", filepath.Join(dir, "inbox.mbox"))
	copyFile(t, "plain-utf8.eml", filepath.Join(dir, "sent", "a.eml"))
	src := open(t, dir, 0, 0, FileSpec{Path: "inbox.mbox"}, FileSpec{Path: "sent", Folder: "Sent"})

	first := pull(t, src, "")
	cursor := checkSnapshot(t, first, 2000)

	again := pull(t, src, cursor)
	if len(again.batches) != 0 {
		t.Fatalf("unchanged files emitted %d batches", len(again.batches))
	}

	// Touching a file, adding one to a folder: each makes the next pull read all.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "inbox.mbox"), later, later); err != nil {
		t.Fatal(err)
	}
	touched := pull(t, src, cursor)
	cursor2 := checkSnapshot(t, touched, 2000)
	if cursor2 == cursor {
		t.Error("touching a file did not change the cursor")
	}
	if !reflect.DeepEqual(touched.messages(), first.messages()) {
		t.Error("re-read gave different messages")
	}

	copyFile(t, "koi8r.eml", filepath.Join(dir, "sent", "deeper", "b.eml"))
	added := pull(t, src, cursor2)
	checkSnapshot(t, added, 2000)
	if n := len(added.messages()); n != len(first.messages())+1 {
		t.Errorf("after adding a file: %d messages, want %d", n, len(first.messages())+1)
	}
}

func TestPullDedupePrefersSent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, "attachment.eml", filepath.Join(dir, "inbox", "1.eml"))
	copyFile(t, "plain-utf8.eml", filepath.Join(dir, "inbox", "2.eml"))
	copyFile(t, "no-message-id.eml", filepath.Join(dir, "inbox", "3.eml"))
	// The Sent export holds the first and third message again, as an mbox
	// with CRLF line ends: the synthetic id must still match.
	sent := "From anna@agency.example Wed May 22 08:11:11 2024\n" + string(readFixture(t, "attachment.eml")) + "\n" +
		"From olga@client.example Fri May 24 10:00:00 2024\r\n" + strings.ReplaceAll(string(readFixture(t, "no-message-id.eml")), "\n", "\r\n")
	if err := os.WriteFile(filepath.Join(dir, "sent.mbox"), []byte(sent), 0o644); err != nil {
		t.Fatal(err)
	}

	src := open(t, dir, 0, 0,
		FileSpec{Path: "inbox"},
		FileSpec{Path: "sent.mbox", Folder: "Sent"},
		FileSpec{Path: "inbox/2.eml", Folder: "Archive"}, // listed twice
	)
	c := pull(t, src, "")
	checkSnapshot(t, c, 2000)
	want := []string{
		"att@agency.example Sent",
		"66d9f175170e7ebf9845ea3f248c49c4a5a0d7b720d38406c64700f8759c2b28@karkas.invalid Sent",
		"plain-1@mail.example.ru INBOX",
	}
	if got := ids(c.messages()); !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q", got, want)
	}
	var folders []string
	for _, ct := range c.containers() {
		folders = append(folders, ct.ExternalID)
	}
	if !slices.Equal(folders, []string{"INBOX", "Sent", "Archive"}) {
		t.Errorf("containers = %q", folders)
	}
	for _, m := range c.messages() {
		if m.ContainerID != m.Folder {
			t.Errorf("%s: ContainerID %q, Folder %q", m.ExternalID, m.ContainerID, m.Folder)
		}
	}
}

func TestPullBatchesAndDeterminism(t *testing.T) {
	t.Parallel()
	src := open(t, "", 3, 0, FileSpec{Path: "testdata"})
	a := pull(t, src, "")
	checkSnapshot(t, a, 3)
	if len(a.batches) < 4 {
		t.Errorf("batch_size 3 gave only %d batches", len(a.batches))
	}
	eml, _ := filepath.Glob("testdata/*.eml")
	shapes, _ := filepath.Glob("testdata/shapes/*.eml")
	eml = append(eml, shapes...)
	if n := len(a.messages()); n != len(eml) {
		t.Errorf("%d messages from %d .eml files (the .mbox files must be skipped in a folder)", n, len(eml))
	}
	for i := 1; i < len(a.messages()); i++ {
		// Folder listings are read in path order.
		if prev, cur := a.messages()[i-1], a.messages()[i]; prev.ExternalID == cur.ExternalID {
			t.Errorf("duplicate %s", cur.ExternalID)
		}
	}
	b := pull(t, src, "")
	if !reflect.DeepEqual(a.batches, b.batches) {
		t.Error("two pulls of the same files differ")
	}
}

func TestPullTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, "attachment.eml", filepath.Join(dir, "big.eml"))
	copyFile(t, "koi8r.eml", filepath.Join(dir, "small.eml"))
	mbox := "From a@x Mon May 27 09:00:00 2024\n" + string(readFixture(t, "attachment.eml")) + "\nFrom b@x Mon May 27 09:00:00 2024\n" + string(readFixture(t, "cp1251.eml"))
	if err := os.WriteFile(filepath.Join(dir, "box.mbox"), []byte(mbox), 0o644); err != nil {
		t.Fatal(err)
	}
	c := pull(t, open(t, dir, 0, 1000, FileSpec{Path: "."}, FileSpec{Path: "box.mbox"}), "")
	checkSnapshot(t, c, 2000)
	if got, want := ids(c.messages()), []string{"koi8@old.example INBOX", "cp1251@client.example INBOX"}; !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q", got, want)
	}
	probs := c.problems()
	if len(probs) != 2 || probs[0].Where != "big.eml" || probs[1].Where != "box.mbox:1" {
		t.Fatalf("problems = %+v", probs)
	}
	for _, p := range probs {
		if !strings.Contains(p.Message, "over max_message_bytes") {
			t.Errorf("problem %+v", p)
		}
	}
}

func TestPullErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing path", func(t *testing.T) {
		t.Parallel()
		c := &collect{}
		err := open(t, t.TempDir(), 0, 0, FileSpec{Path: "nope.mbox"}).Pull(context.Background(), "", c.emit)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.mbox") || len(c.batches) != 0 {
			t.Errorf("err = %v, batches %d", err, len(c.batches))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := &collect{}
		err := open(t, "testdata", 1, 0, FileSpec{Path: "mixed.mbox"}).Pull(ctx, "", c.emit)
		if !errors.Is(err, context.Canceled) || len(c.batches) != 0 {
			t.Errorf("err = %v, batches %d", err, len(c.batches))
		}
	})
	t.Run("emit error stops the pull", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("store is down")
		calls := 0
		err := open(t, "testdata", 1, 0, FileSpec{Path: "mixed.mbox"}).Pull(context.Background(), "", func(context.Context, *record.Batch) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("err = %v after %d calls", err, calls)
		}
	})
}

func TestFileKind(t *testing.T) {
	t.Parallel()
	k := FileKind()
	if k.Name != "mail_files" || k.Identity != "email" || k.Doc == "" {
		t.Errorf("kind = %+v", k)
	}
	opts, ok := k.NewOptions().(*FileOptions)
	if !ok || opts.MaxMessageBytes != 25<<20 || opts.BatchSize != 2000 {
		t.Fatalf("defaults = %+v", opts)
	}
	if _, err := k.Open(struct{}{}, connectors.Env{}); err == nil {
		t.Error("Open took options of the wrong type")
	}
	opts.Files = []FileSpec{{Path: "mixed.mbox"}}
	src, err := k.Open(opts, connectors.Env{BaseDir: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	if fs := src.(*FileSource); fs.specs[0].path != filepath.Join("testdata", "mixed.mbox") || fs.specs[0].folder != DefaultFolder {
		t.Errorf("spec = %+v", fs.specs[0])
	}
}

func TestOpenFilesValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts FileOptions
		want []string
	}{
		{name: "nothing", opts: FileOptions{}, want: []string{"files:", "max_message_bytes:", "batch_size:"}},
		{name: "empty path", opts: FileOptions{Files: []FileSpec{{Path: "a"}, {Folder: "Sent"}}, MaxMessageBytes: 1, BatchSize: 1}, want: []string{"files[1].path: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := OpenFiles(&tt.opts, connectors.Env{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestOptionTags keeps the options describable by the config loader: every
// field has a yaml name and a one-line doc.
func TestOptionTags(t *testing.T) {
	t.Parallel()
	for _, typ := range []reflect.Type{reflect.TypeFor[FileOptions](), reflect.TypeFor[FileSpec]()} {
		for f := range typ.Fields() {
			if f.Tag.Get("yaml") == "" || f.Tag.Get("doc") == "" || strings.Contains(f.Tag.Get("doc"), "\n") {
				t.Errorf("%s.%s: tags %q", typ.Name(), f.Name, f.Tag)
			}
		}
	}
}

// TestPullTallyMixed reads good, broken, duplicated and reused-id mail from
// a folder of .eml files and an mbox, in small batches, and checks what
// became of each message and that every batch's counts add up.
func TestPullTallyMixed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mail := func(id, from, subject, body string) string {
		return "Message-ID: <" + id + ">\nFrom: " + from + "\nTo: anna@agency.example\nSubject: " + subject +
			"\nDate: Mon, 27 May 2024 09:00:00 +0000\n\n" + body + "\n"
	}
	a := mail("a@client.example", "olga@client.example", "A", "The first one.")
	b := mail("b@client.example", "olga@client.example", "B", "Mailers reuse ids.")
	b2 := mail("b@client.example", "ivan@client.example", "Another B", "A different message under B's id.")
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Date(2024, 5, 29, 12, 0, 0, 0, time.UTC)
	write("inbox/1-a.eml", a)
	write("inbox/2-b.eml", b)
	write("inbox/3-b2.eml", b2)
	write("inbox/4-empty.eml", "")                         // no content: not a message
	write("inbox/5-garbage.eml", "not a message at all\n") // refused
	write("inbox/6-nodate.eml", "Message-ID: <nodate@client.example>\nFrom: olga@client.example\nSubject: No date\n\nWhen?\n")
	if err := os.Chtimes(filepath.Join(dir, "inbox/6-nodate.eml"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	write("inbox/7-big.eml", mail("big@client.example", "olga@client.example", "Big", strings.Repeat("x", 3000))) // refused
	write("inbox/8-a-again.eml", a)                                                                               // merged
	// The Sent export: A again (kept as Sent's, read first), B2 again
	// (merged into its apart copy), a message without any date (refused).
	write("sent.mbox", "From anna@agency.example Mon May 27 09:00:00 2024\n"+a+"\n"+
		"From ivan@client.example Mon May 27 09:00:00 2024\n"+b2+"\n"+
		"From nobody\nMessage-ID: <undated@client.example>\nFrom: x@client.example\n\nno date anywhere\n")

	c := pull(t, open(t, dir, 2, 2000, FileSpec{Path: "inbox"}, FileSpec{Path: "sent.mbox", Folder: "Sent"}), "")
	checkSnapshot(t, c, 2)
	// Sent is read first: there B2 comes first and keeps the id, and B,
	// read later under the same id, is stored apart.
	bID := "b@client.example#" + c.messages()[2].Fingerprint()
	if got, want := ids(c.messages()), []string{
		"a@client.example Sent", "b@client.example Sent", bID + " INBOX", "nodate@client.example INBOX",
	}; !slices.Equal(got, want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	if m := c.messages()[2]; m.Subject != "B" || m.ThreadKey != "b@client.example" || bID == "b@client.example#"+c.messages()[1].Fingerprint() {
		t.Errorf("the apart copy: %+v", m)
	}
	if m := c.messages()[3]; !m.SentAt.Equal(mtime) || m.SentAtFrom != record.SentAtFromFileMTime {
		t.Errorf("no Date: dated %v from %q, want the file's mtime %v", m.SentAt, m.SentAtFrom, mtime)
	}
	var got []string
	for _, p := range c.problems() {
		got = append(got, fmt.Sprintf("%s %v", p.Where, p.Warning))
	}
	if want := []string{
		"sent.mbox:19 false",        // no date anywhere
		"inbox/2-b.eml true",        // B's id names another message
		"inbox/5-garbage.eml false", // no header
		"inbox/6-nodate.eml true",   // dated by the file
		"inbox/7-big.eml false",     // over max_message_bytes
	}; !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
	// Read: 3 in the mbox and 7 files with content; stored 4; refused 3
	// (undated, garbage, big); merged 3 (A twice, B2 once).
	checkTally(t, c, record.Tally{Unit: "messages", Read: 10, Stored: 4, Refused: 3, Merged: 3, Warned: 2})
}

// Copies of a message with no Date header, dated each by where it was
// found (an .eml file's time, an mbox line), are still one message: a date
// the copy does not carry is no part of its content.
func TestUndatedCopiesMerge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	msg := "Message-ID: <undated@client.example>\nFrom: olga@client.example\nTo: anna@agency.example\nSubject: Question\n\nWhen can we talk?\n"
	if err := os.WriteFile(filepath.Join(dir, "copy.eml"), []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 29, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "copy.eml"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inbox.mbox"), []byte("From olga@client.example Mon May 27 09:00:00 2024\n"+msg), 0o644); err != nil {
		t.Fatal(err)
	}
	c := pull(t, open(t, dir, 2, 2000, FileSpec{Path: "inbox.mbox"}, FileSpec{Path: "copy.eml"}), "")
	if got := ids(c.messages()); len(got) != 1 || got[0] != "undated@client.example INBOX" {
		t.Errorf("messages %q, want the one message", got)
	}
	checkTally(t, c, record.Tally{Unit: "messages", Read: 2, Stored: 1, Merged: 1, Warned: 1})
}
