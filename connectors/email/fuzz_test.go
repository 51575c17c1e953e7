package email

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with the fixtures. It must
// never panic, and whatever it returns must stay within the documented
// bounds and be clean UTF-8, so that one hostile message cannot hurt the
// store or the reports.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		f.Fatal(err)
	}
	shapes, err := filepath.Glob("testdata/shapes/*.eml")
	if err != nil || len(shapes) == 0 {
		f.Fatal("no shapes", err)
	}
	for _, name := range append(files, shapes...) {
		f.Add(readFixture(f, strings.TrimPrefix(name, "testdata"+string(filepath.Separator))))
	}
	for _, name := range []string{"mixed.mbox", "crlf.mbox"} {
		r := NewMboxReader(bytes.NewReader(readFixture(f, name)), 1<<20)
		for {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Fatal(err)
			}
			f.Add(bytes.Clone(m.Raw))
		}
	}
	f.Add([]byte(nested(25)))

	received := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		start := time.Now()
		m, err := ParseWith(raw, ParseOptions{Folder: "INBOX", Received: received})
		// Parsing is linear; a small input that takes long is a trap.
		if d := time.Since(start); d > time.Second {
			t.Errorf("parsing %d bytes took %v", len(raw), d)
		}
		if err != nil {
			// With a fallback date, only these refuse a message: a
			// header line go-message cannot read is not among them.
			if !errors.Is(err, ErrTooDeep) && !strings.Contains(err.Error(), "no header fields") &&
				!strings.Contains(err.Error(), "header larger than 1 MiB") {
				t.Errorf("refused: %v", err)
			}
			return
		}
		if m.ExternalID == "" || m.ThreadKey == "" {
			t.Errorf("empty id %q or thread key %q", m.ExternalID, m.ThreadKey)
		}
		if len(m.Body) > MaxBodyBytes+len(TruncatedNote) {
			t.Errorf("body is %d bytes", len(m.Body))
		}
		if len(m.Subject) > maxSubjectBytes {
			t.Errorf("subject is %d bytes", len(m.Subject))
		}
		if len(m.Attachments) > maxAttachments || len(m.References) > maxReferences ||
			len(m.To) > maxRecipients || len(m.Cc) > maxRecipients {
			t.Errorf("lists too long: %d attachments, %d references, %d to, %d cc",
				len(m.Attachments), len(m.References), len(m.To), len(m.Cc))
		}
		// Nothing grows much beyond the input, apart from the fixed caps.
		if n := len(m.Body) + len(m.Subject) + len(m.AuthorName); n > 4*len(raw)+len(TruncatedNote) {
			t.Errorf("output %d bytes from %d bytes of input", n, len(raw))
		}
		if m.SentAt.Location() != time.UTC {
			t.Errorf("SentAt not UTC: %v", m.SentAt)
		}
		strs := []string{m.ExternalID, m.ThreadKey, m.InReplyTo, m.AuthorEmail, m.AuthorName, m.Subject, m.Body}
		strs = append(strs, m.To...)
		strs = append(strs, m.Cc...)
		strs = append(strs, m.References...)
		for _, a := range m.Attachments {
			strs = append(strs, a.Name, a.ContentType)
		}
		for _, s := range strs {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Errorf("not clean UTF-8: %q", s)
			}
		}
	})
}
