package trello

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxElementBytes is the most bytes the export reader holds of one
// value of a board export: a card, an action, a list, the board's own
// fields. Trello keeps 16,384 characters of a description or a comment,
// so a real card or action is far smaller; a larger one is refused as a
// problem and skipped without being held, and the rest of the board is
// read. Without a cap, encoding/json holds a value whole, and a 200 MB
// description cost gigabytes.
const DefaultMaxElementBytes = 16 << 20

// jsonScan reads the structure of a JSON text byte by byte, knowing the
// offset of every byte, so that the export reader can find where each
// array element starts and ends and keep only those it will decode. It
// does not check a value's syntax: encoding/json does, on the bytes kept.
type jsonScan struct {
	r   *bufio.Reader
	off int64 // of the next byte
}

func newJSONScan(r io.Reader) *jsonScan {
	return &jsonScan{r: bufio.NewReaderSize(r, 64<<10)}
}

// syntaxError is broken JSON found by the scanner, at an offset of the file.
type syntaxError struct {
	msg string
	off int64
}

func (e *syntaxError) Error() string { return e.msg }

func (s *jsonScan) errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), off: s.off}
}

func (s *jsonScan) read() (byte, error) {
	c, err := s.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	s.off++
	return c, nil
}

// peek skips white space and returns the next byte without reading it;
// io.EOF at the end of the text.
func (s *jsonScan) peek() (byte, error) {
	for {
		b, err := s.r.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			s.r.ReadByte()
			s.off++
		default:
			return b[0], nil
		}
	}
}

// peekIn is peek inside a value, where the end of the text is an error.
func (s *jsonScan) peekIn() (byte, error) {
	c, err := s.peek()
	if errors.Is(err, io.EOF) {
		return 0, io.ErrUnexpectedEOF
	}
	return c, err
}

// expect reads the byte c, after white space.
func (s *jsonScan) expect(c byte, what string) error {
	got, err := s.peekIn()
	if err != nil {
		return err
	}
	if got != c {
		if startsValue(got) {
			return s.errorf("expected \"%c\", found '%c'", c, got)
		}
		return s.unexpected(got, what)
	}
	s.read()
	return nil
}

func startsValue(c byte) bool {
	return c == '{' || c == '[' || c == '"' || c == '-' || c == 't' || c == 'f' || c == 'n' || (c >= '0' && c <= '9')
}

func (s *jsonScan) unexpected(c byte, what string) error {
	switch {
	case c < ' ' || c > '~':
		return s.errorf("invalid character %q looking for %s", c, what)
	}
	return s.errorf("invalid character '%c' looking for %s", c, what)
}

// keeper holds the bytes of a value up to max, and notes a value longer.
type keeper struct {
	buf  []byte
	max  int
	over bool
}

func (k *keeper) add(b []byte) {
	if k.over {
		return
	}
	if len(k.buf)+len(b) > k.max {
		k.over, k.buf = true, nil
		return
	}
	k.buf = append(k.buf, b...)
}

// chunk returns the bytes buffered, reading more when there are none.
func (s *jsonScan) chunk() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	b, _ := s.r.Peek(s.r.Buffered())
	return b, nil
}

// take hands the first n bytes buffered to k and reads past them.
func (s *jsonScan) take(k *keeper, b []byte, n int) {
	k.add(b[:n])
	s.r.Discard(n)
	s.off += int64(n)
}

// value reads one value after white space and returns its start offset
// and its bytes, or nil bytes with over set when it is longer than max;
// the bytes of a value over max are read past, never held.
func (s *jsonScan) value(max int) (start int64, raw []byte, over bool, err error) {
	c, err := s.peekIn()
	if err != nil {
		return 0, nil, false, err
	}
	start = s.off
	k := &keeper{max: max}
	switch c {
	case '"', '{', '[':
		err = s.rest(k)
	case ',', ':', '}', ']':
		err = s.unexpected(c, "beginning of value")
	default:
		err = s.scalar(k)
	}
	if err != nil {
		return 0, nil, false, err
	}
	return start, k.buf, k.over, nil
}

// scalar reads a number, true, false or null: up to the next delimiter or
// the end of the text.
func (s *jsonScan) scalar(k *keeper) error {
	for {
		b, err := s.chunk()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for i, c := range b {
			switch c {
			case ',', '}', ']', ' ', '\t', '\r', '\n', ':':
				s.take(k, b, i)
				return nil
			}
		}
		s.take(k, b, len(b))
	}
}

// rest reads a string, an object or an array, whose first byte is the
// next, handing its bytes to k.
func (s *jsonScan) rest(k *keeper) error {
	inString, escaped := false, false
	depth := 0
	for {
		b, err := s.chunk()
		if err != nil {
			return err
		}
		for i := 0; i < len(b); i++ {
			c := b[i]
			switch {
			case escaped:
				escaped = false
				continue
			case inString:
				switch c {
				case '\\':
					escaped = true
				case '"':
					inString = false
					if depth == 0 {
						s.take(k, b, i+1)
						return nil
					}
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.take(k, b, i+1)
					return nil
				}
			}
		}
		s.take(k, b, len(b))
	}
}

// more reads the comma between two members of an object or an array, and
// reports whether another member follows (false after the closing end,
// which it reads). first says no member has been read yet.
func (s *jsonScan) more(end byte, first bool) (bool, error) {
	c, err := s.peekIn()
	if err != nil {
		return false, err
	}
	if c == end {
		s.read()
		return false, nil
	}
	if first {
		return true, nil
	}
	if c != ',' {
		return false, s.unexpected(c, fmt.Sprintf("',' or '%c'", end))
	}
	s.read()
	return true, nil
}
