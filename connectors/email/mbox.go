package email

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"time"
)

// MboxMessage is one message of an mbox file.
type MboxMessage struct {
	// Raw is the message with ">From " quoting undone. It is only valid
	// until the next call to Next, and nil when TooBig.
	Raw []byte
	// Line is the 1-based line of the message's "From " separator (or of
	// its first line, in a file that does not start with one).
	Line int
	// Received is the date on the "From " line, zero when absent or
	// unreadable; it stands in for a missing Date header.
	Received time.Time
	// Size is the message's length in bytes, counted even when TooBig.
	Size int64
	// TooBig says the message was longer than the reader's limit; its
	// bytes were skipped, never held.
	TooBig bool
}

// MboxReader splits an mbox stream into messages without holding more than
// one message (up to its limit) in memory. It reads mboxo and mboxrd alike:
// a body line ">From " or ">>From " loses one '>'. That is exact for mboxrd
// and for the ">From " lines mboxo writes; mboxo's own ambiguity (a body line
// that really began ">From ") cannot be undone by anyone. LF and CRLF line
// ends are kept as they are.
//
// A line starting "From " separates messages when it is the first line, when
// it follows an empty line, or when the rest of it parses as a sender and a
// date; the last rule catches writers that omit the empty line, and the
// second keeps an unquoted "From here on..." inside a paragraph a body line.
type MboxReader struct {
	br    *bufio.Reader
	max   int64
	line  int
	buf   []byte
	err   error
	first bool

	// nextLine and nextDate describe a separator already read, which starts
	// the message the next call returns.
	nextLine  int
	nextDate  time.Time
	haveNext  bool
	prevBlank bool
}

// NewMboxReader reads r; a message over maxBytes comes back TooBig.
func NewMboxReader(r io.Reader, maxBytes int64) *MboxReader {
	return &MboxReader{br: bufio.NewReaderSize(r, 64<<10), max: maxBytes, first: true}
}

// Next returns the next message, or io.EOF after the last one. Other errors
// are read errors of the underlying reader.
func (m *MboxReader) Next() (*MboxMessage, error) {
	if m.err != nil {
		return nil, m.err
	}
	msg := &MboxMessage{Line: m.nextLine, Received: m.nextDate}
	started := m.haveNext
	m.haveNext = false
	m.buf = m.buf[:0]
	var pendingBlank []byte // a blank line that may belong to the next separator
	atLineStart := true

	add := func(b []byte) {
		msg.Size += int64(len(b))
		if msg.TooBig {
			return
		}
		if msg.Size > m.max {
			msg.TooBig = true
			m.buf = m.buf[:0]
			return
		}
		m.buf = append(m.buf, b...)
	}

	for {
		chunk, err := m.br.ReadSlice('\n')
		if len(chunk) > 0 {
			lineStart := atLineStart
			atLineStart = chunk[len(chunk)-1] == '\n'
			if atLineStart {
				m.line++
			}
			lineNo := m.line
			if !atLineStart {
				lineNo = m.line + 1
			}

			if lineStart && bytes.HasPrefix(chunk, []byte("From ")) {
				date, dated := fromLineDate(chunk)
				if m.first || m.prevBlank || dated {
					m.first, m.prevBlank = false, false
					if started {
						// This separator starts the next message.
						m.nextLine, m.nextDate, m.haveNext = lineNo, date, true
						if !atLineStart {
							m.skipRestOfLine()
						}
						return m.finish(msg), nil
					}
					started = true
					msg.Line, msg.Received = lineNo, date
					if !atLineStart {
						m.skipRestOfLine()
						atLineStart = true
					}
					continue
				}
			}
			if !started {
				if lineStart && isBlankLine(chunk) {
					m.prevBlank = true
					continue
				}
				// Text before any separator is a message of its own.
				started = true
				msg.Line = lineNo
			}
			m.first = false

			blank := lineStart && atLineStart && isBlankLine(chunk)
			if pendingBlank != nil {
				add(pendingBlank)
				pendingBlank = nil
			}
			if blank {
				// Copied: ReadSlice reuses its buffer.
				pendingBlank = append([]byte(nil), chunk...)
			} else {
				if lineStart && isQuotedFrom(chunk) {
					chunk = chunk[1:]
				}
				add(chunk)
			}
			m.prevBlank = blank
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			// The blank line before EOF is the mbox's own separator.
			if !errors.Is(err, io.EOF) {
				m.err = err
				return nil, err
			}
			m.err = io.EOF
			if !started {
				return nil, io.EOF
			}
			return m.finish(msg), nil
		}
	}
}

func (m *MboxReader) finish(msg *MboxMessage) *MboxMessage {
	if !msg.TooBig {
		msg.Raw = m.buf
	}
	return msg
}

// skipRestOfLine drops the rest of an overlong separator line.
func (m *MboxReader) skipRestOfLine() {
	for {
		chunk, err := m.br.ReadSlice('\n')
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			m.line++
			return
		}
		if err != bufio.ErrBufferFull {
			return
		}
	}
}

func isBlankLine(b []byte) bool {
	return len(bytes.TrimRight(b, "\r\n")) == 0
}

// isQuotedFrom reports a mboxrd-quoted body line: one or more '>' then "From ".
func isQuotedFrom(b []byte) bool {
	i := 0
	for i < len(b) && b[i] == '>' {
		i++
	}
	return i > 0 && bytes.HasPrefix(b[i:], []byte("From "))
}

// fromLineLayouts are the dates mbox writers put on "From " lines, after
// white space is collapsed: ctime(3), with a zone name or offset.
var fromLineLayouts = []string{
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 2006 -0700",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon Jan 2 15:04 2006",
	"Mon, 2 Jan 2006 15:04:05 -0700",
}

// fromLineDate parses "From sender date" and returns the date in UTC.
func fromLineDate(line []byte) (time.Time, bool) {
	f := strings.Fields(string(bytes.TrimPrefix(line, []byte("From "))))
	if len(f) < 2 {
		return time.Time{}, false
	}
	v := strings.Join(f[1:], " ")
	for _, layout := range fromLineLayouts {
		if t, err := time.Parse(layout, v); err == nil && saneYear(t) {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
