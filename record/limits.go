package record

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Caps on the text one record keeps. A source can hand over anything its
// service or file holds (a 200 MB card description), and the store writes
// every record twice (its columns and the raw record), so the engine cuts
// longer text with Batch.Cap before storing. The caps sit far above what
// the services themselves allow (Trello keeps 16,384 characters of a
// description or a comment, GitHub 65,536 of an issue body): only broken
// or hostile input is cut.
const (
	// MaxTextBytes caps a long text: a task's description, a message's
	// body, a time entry's note, a custom field's value. A cut text ends
	// with TruncatedNote.
	MaxTextBytes = 1 << 20
	// MaxNameBytes caps a one-line text: a title, a subject, a status, a
	// label, a name. A cut name has no note.
	MaxNameBytes = 64 << 10
)

// TruncatedNote ends a long text that Cap cut, so that whoever reads it
// knows it is not whole.
const TruncatedNote = "\n\n[karkas: text truncated at 1 MiB]"

// Cap cuts the text fields of the batch's records that are longer than
// MaxTextBytes or MaxNameBytes, and returns a warning Problem for each
// record cut: the record is stored, cut, and the problem says what was
// longer and by how much. The batch's slices are copied before a record
// in them is changed, since the source may reuse them.
func (b *Batch) Cap() []Problem {
	var c capper
	b.Containers = capEach(&c, b.Containers, func(x *Container) string {
		c.name("name", &x.Name)
		return "container " + x.ExternalID
	})
	b.People = capEach(&c, b.People, func(x *Person) string {
		c.name("name", &x.Name)
		c.name("username", &x.Username)
		return "person " + x.ExternalID
	})
	b.Tasks = capEach(&c, b.Tasks, func(x *Task) string {
		c.name("title", &x.Title)
		c.text("description", &x.Description)
		c.name("status", &x.Status)
		c.names("labels", &x.Labels)
		if c.fields(x.Fields) {
			f := make(map[string]string, len(x.Fields))
			for k, v := range x.Fields {
				v, _ = cutText(v)
				f[k] = v
			}
			x.Fields = f
		}
		return "task " + x.ExternalID
	})
	b.StatusChanges = capEach(&c, b.StatusChanges, func(x *StatusChange) string {
		c.name("from", &x.From)
		c.name("to", &x.To)
		return "status change " + x.ExternalID
	})
	b.FieldChanges = capEach(&c, b.FieldChanges, func(x *FieldChange) string {
		if x.Field == FieldDescription {
			c.text("old", &x.Old)
			c.text("new", &x.New)
		} else {
			c.name("old", &x.Old)
			c.name("new", &x.New)
		}
		return "field change " + x.ExternalID
	})
	b.Messages = capEach(&c, b.Messages, func(x *Message) string {
		c.name("subject", &x.Subject)
		c.text("body", &x.Body)
		c.name("author name", &x.AuthorName)
		return "message " + x.ExternalID
	})
	b.TimeEntries = capEach(&c, b.TimeEntries, func(x *TimeEntry) string {
		c.text("note", &x.Note)
		c.name("task name", &x.TaskName)
		c.name("project name", &x.ProjectName)
		c.name("client name", &x.ClientName)
		return "time entry " + x.ExternalID
	})
	return c.problems
}

// capper collects what was cut of one record, then the problems.
type capper struct {
	cut      []string
	problems []Problem
}

func (c *capper) name(field string, s *string) {
	if len(*s) > MaxNameBytes {
		c.cut = append(c.cut, fmt.Sprintf("%s is %s, over the %s karkas keeps", field, size(len(*s)), size(MaxNameBytes)))
		*s = strings.Clone(first(*s, MaxNameBytes))
	}
}

func (c *capper) text(field string, s *string) {
	if len(*s) > MaxTextBytes {
		c.cut = append(c.cut, fmt.Sprintf("%s is %s, over the %s karkas keeps", field, size(len(*s)), size(MaxTextBytes)))
		*s, _ = cutText(*s)
	}
}

// names cuts each of a list's texts, copying the list first.
func (c *capper) names(field string, list *[]string) {
	var out []string
	for i, s := range *list {
		if len(s) <= MaxNameBytes {
			continue
		}
		if out == nil {
			out = append([]string(nil), *list...)
		}
		c.cut = append(c.cut, fmt.Sprintf("%s[%d] is %s, over the %s karkas keeps", field, i, size(len(s)), size(MaxNameBytes)))
		out[i] = strings.Clone(first(s, MaxNameBytes))
	}
	if out != nil {
		*list = out
	}
}

// fields notes the custom fields over MaxTextBytes and reports whether
// any is; the caller cuts them in a copy of the map.
func (c *capper) fields(f map[string]string) bool {
	over := false
	for k, v := range f {
		if len(v) > MaxTextBytes {
			c.cut = append(c.cut, fmt.Sprintf("field %q is %s, over the %s karkas keeps", k, size(len(v)), size(MaxTextBytes)))
			over = true
		}
	}
	return over
}

// first is s cut to at most max bytes on a character boundary. A cut
// text is a copy (strings.Clone, or the concatenation with the note), so
// that the source's whole text can be freed while the record waits to be
// stored.
func first(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutText cuts a long text to MaxTextBytes including TruncatedNote.
func cutText(s string) (string, bool) {
	if len(s) <= MaxTextBytes {
		return s, false
	}
	return first(s, MaxTextBytes-len(TruncatedNote)) + TruncatedNote, true
}

// capEach runs f on a copy of each record; when f cut something, the
// slice is copied (once) and the cut record kept, with a warning.
func capEach[T any](c *capper, in []T, f func(*T) string) []T {
	out := in
	copied := false
	for i := range in {
		x := in[i]
		c.cut = c.cut[:0]
		where := f(&x)
		if len(c.cut) == 0 {
			continue
		}
		if !copied {
			out = append([]T(nil), in...)
			copied = true
		}
		out[i] = x
		msg := c.cut[0]
		for _, s := range c.cut[1:] {
			msg += "; " + s
		}
		c.problems = append(c.problems, Problem{Where: where, Warning: true, Message: msg + "; stored cut to it"})
	}
	return out
}

// size spells a byte count for people: "200 MiB", "1 MiB", "70000 bytes".
func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
