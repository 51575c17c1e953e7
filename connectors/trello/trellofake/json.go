package trellofake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// obj is a JSON object that keeps its keys in the order they were set, so
// the fake writes fields in Trello's order and can write an explicit null
// ("due": null) where Trello does. Values are anything encoding/json takes.
type obj []field

type field struct {
	k string
	v any
}

// MarshalJSON writes the fields in order.
func (o obj) MarshalJSON() ([]byte, error) {
	return appendJSON(nil, o)
}

// appendJSON writes v, by hand for the types the fake's objects hold (a
// 1000-action page then costs a few milliseconds, not the tens that
// encoding/json's validation of nested Marshalers takes), through
// encoding/json for anything else.
func appendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case obj:
		b = append(b, '{')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.k)
			b = append(b, ':')
			if b, err = appendJSON(b, f.v); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.k, err)
			}
		}
		return append(b, '}'), nil
	case []obj:
		b = append(b, '[')
		for i, o := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, o); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64), nil
	case json.RawMessage:
		return append(b, x...), nil
	}
	enc, err := marshalStd(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// appendString writes s as a JSON string, leaving <, > and & as they are,
// as Trello does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// set replaces the value of k, or appends k.
func (o obj) set(k string, v any) obj {
	for i := range o {
		if o[i].k == k {
			o[i].v = v
			return o
		}
	}
	return append(o, field{k, v})
}

// get returns the value of k.
func (o obj) get(k string) (any, bool) {
	for _, f := range o {
		if f.k == k {
			return f.v, true
		}
	}
	return nil, false
}

// has reports whether k is set.
func (o obj) has(k string) bool {
	_, ok := o.get(k)
	return ok
}

// clone copies o one level deep (nested objs are cloned too, so a stored
// action's data can be edited without touching a copy handed out).
func (o obj) clone() obj {
	out := make(obj, len(o))
	for i, f := range o {
		if n, ok := f.v.(obj); ok {
			f.v = n.clone()
		}
		out[i] = f
	}
	return out
}

// pick keeps id and the named fields, in o's order: Trello's `fields=`.
// An empty list or "all" keeps everything.
func (o obj) pick(fields string) obj {
	if fields == "" || fields == "all" {
		return o
	}
	want := map[string]bool{"id": true}
	for _, f := range strings.Split(fields, ",") {
		want[strings.TrimSpace(f)] = true
	}
	out := make(obj, 0, len(want))
	for _, f := range o {
		if want[f.k] {
			out = append(out, f)
		}
	}
	return out
}

// marshal encodes v without HTML escaping (Trello writes <, > and & as they
// are).
func marshal(v any) ([]byte, error) {
	return appendJSON(nil, v)
}

func marshalStd(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// trelloTime is how Trello writes times: UTC with milliseconds.
const trelloTime = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(trelloTime) }

// timeOrNull is a JSON string for t, or null for the zero time.
func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

// strOrNull is s, or null when empty.
func strOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
