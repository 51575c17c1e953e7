package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

type mboxPart struct {
	line     int
	received string // RFC 3339, or "" for none
	raw      string // exact, when not tooBig
	size     int64
	tooBig   bool
}

func readMbox(t *testing.T, in string, max int64) []mboxPart {
	t.Helper()
	r := NewMboxReader(strings.NewReader(in), max)
	var out []mboxPart
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := mboxPart{line: m.Line, raw: string(m.Raw), size: m.Size, tooBig: m.TooBig}
		if !m.Received.IsZero() {
			p.received = m.Received.Format(time.RFC3339)
		}
		out = append(out, p)
	}
}

func TestMboxReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100<<10) // longer than the reader's buffer
	tests := []struct {
		name string
		in   string
		max  int64
		want []mboxPart
	}{
		{
			name: "two messages, mboxrd quoting undone, separator blank line dropped",
			in: "From a@x Mon May 27 09:00:00 2024\nSubject: 1\n\n>From quoted\n>>From twice\n>Fromage stays\n\n" +
				"From b@x Tue May 28 10:00:00 2024 +0300\nSubject: 2\n\nbody\n",
			want: []mboxPart{
				{line: 1, received: "2024-05-27T09:00:00Z", raw: "Subject: 1\n\nFrom quoted\n>From twice\n>Fromage stays\n", size: 51},
				{line: 8, received: "2024-05-28T07:00:00Z", raw: "Subject: 2\n\nbody\n", size: 17},
			},
		},
		{
			name: "CRLF line ends are kept",
			in:   "From a@x Mon May 27 09:00:00 2024\r\nSubject: 1\r\n\r\nbody\r\n\r\nFrom b@x Mon May 27 09:00:00 2024\r\nSubject: 2\r\n",
			want: []mboxPart{
				{line: 1, received: "2024-05-27T09:00:00Z", raw: "Subject: 1\r\n\r\nbody\r\n", size: 20},
				{line: 6, received: "2024-05-27T09:00:00Z", raw: "Subject: 2\r\n", size: 12},
			},
		},
		{
			name: "unquoted From inside a paragraph is body; a dated one without blank line splits",
			in:   "From a@x Mon May 27 09:00:00 2024\nS: 1\n\nline\nFrom here on it is body\nFrom b@x Mon May 27 09:00:00 2024\nS: 2\n",
			want: []mboxPart{
				{line: 1, received: "2024-05-27T09:00:00Z", raw: "S: 1\n\nline\nFrom here on it is body\n", size: 35},
				{line: 6, received: "2024-05-27T09:00:00Z", raw: "S: 2\n", size: 5},
			},
		},
		{
			name: "undated From line, leading blank lines, no final newline",
			in:   "\n\nFrom someone\nS: 1\n\nend",
			want: []mboxPart{{line: 3, raw: "S: 1\n\nend", size: 9}},
		},
		{
			name: "too big message is skipped but counted, the next one survives",
			in:   "From a@x Mon May 27 09:00:00 2024\nS: 1\n\n" + long + "\n\nFrom b@x Mon May 27 09:00:00 2024\nS: 2\n",
			max:  1000,
			want: []mboxPart{
				{line: 1, received: "2024-05-27T09:00:00Z", size: int64(5 + 1 + len(long) + 1), tooBig: true},
				{line: 6, received: "2024-05-27T09:00:00Z", raw: "S: 2\n", size: 5},
			},
		},
		{
			name: "long lines are joined again",
			in:   "From a@x Mon May 27 09:00:00 2024\nS: 1\n\n" + long + "\n",
			want: []mboxPart{{line: 1, received: "2024-05-27T09:00:00Z", raw: "S: 1\n\n" + long + "\n", size: int64(7 + len(long))}},
		},
		{
			name: "empty input",
			in:   "",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			max := tt.max
			if max == 0 {
				max = 1 << 20
			}
			got := readMbox(t, tt.in, max)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.line != w.line || g.received != w.received || g.size != w.size || g.tooBig != w.tooBig || g.raw != w.raw {
					t.Errorf("message %d:\n got %+v\nwant %+v", i, trimPart(g), trimPart(w))
				}
			}
		})
	}
}

func trimPart(p mboxPart) mboxPart {
	if len(p.raw) > 80 {
		p.raw = p.raw[:80] + "..."
	}
	return p
}

// TestMboxReaderFixtures checks the mbox fixtures split as a mail client
// would see them, LF and CRLF alike.
func TestMboxReaderFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mixed.mbox", "crlf.mbox"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := NewMboxReader(bytes.NewReader(readFixture(t, name)), 1<<20)
			m, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			body := strings.ReplaceAll(string(m.Raw), "\r\n", "\n")
			for _, want := range []string{"\nFrom the archive: this line", "\n>From twice quoted.", "\nFrom inside a paragraph"} {
				if !strings.Contains(body, want) {
					t.Errorf("first message lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

// lineSource yields n lines of text without holding them.
type lineSource struct {
	line []byte
	n, i int
	off  int
}

func (s *lineSource) Read(p []byte) (int, error) {
	if s.i == s.n {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && s.i < s.n {
		c := copy(p[w:], s.line[s.off:])
		w += c
		s.off += c
		if s.off == len(s.line) {
			s.off, s.i = 0, s.i+1
		}
	}
	return w, nil
}

// TestMboxHugeMessage: a message of 64 MiB in an mbox read with a 1 MiB
// cap is skipped as TooBig without being held, and the message after it
// is read. Not parallel, so that the allocations it counts are its own.
func TestMboxHugeMessage(t *testing.T) {
	const lines = 1 << 20 // of 64 bytes: 64 MiB
	r := NewMboxReader(io.MultiReader(
		strings.NewReader("From a@x Mon May 27 09:00:00 2024\nSubject: huge\n\n"),
		&lineSource{line: []byte(strings.Repeat("y", 63) + "\n"), n: lines},
		strings.NewReader("\nFrom b@x Tue May 28 10:00:00 2024\nSubject: next\n\nbody\n"),
	), 1<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var got []string
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("line %d size %d too big %v raw %q", m.Line, m.Size, m.TooBig, m.Raw))
	}
	runtime.ReadMemStats(&after)
	want := []string{
		fmt.Sprintf("line 1 size %d too big true raw \"\"", 15+lines*64),
		fmt.Sprintf("line %d size 20 too big false raw \"Subject: next\\n\\nbody\\n\"", lines+5),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("reading allocated %d bytes; the huge message was held", alloc)
	}
}
