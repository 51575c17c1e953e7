package record

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCap(t *testing.T) {
	t.Parallel()
	// Three-byte characters, so that the caps fall inside one.
	long := strings.Repeat("ж€", MaxTextBytes/5+1)
	longName := strings.Repeat("€", MaxNameBytes/3+1)
	tasks := []Task{
		{ExternalID: "ok", Title: "Fine", Description: "short"},
		{ExternalID: "big", Title: longName, Description: long, Labels: []string{"a", longName}, Fields: map[string]string{"notes": long, "x": "y"}},
	}
	msgs := []Message{{ExternalID: "m1", Subject: "Hi", Body: long}}
	b := &Batch{Tasks: tasks, Messages: msgs, TimeEntries: []TimeEntry{{ExternalID: "e1", Note: "fine"}}}
	entries := b.TimeEntries
	problems := b.Cap()

	if len(problems) != 2 {
		t.Fatalf("problems %v, want one per record cut", problems)
	}
	for _, p := range problems {
		if !p.Warning {
			t.Errorf("%v: not a warning; a cut record is stored", p)
		}
	}
	if p := problems[0]; p.Where != "task big" || !strings.Contains(p.Message, "description is 1.0 MiB, over the 1 MiB karkas keeps") ||
		!strings.Contains(p.Message, `labels[1] is`) || !strings.Contains(p.Message, `field "notes" is`) || !strings.HasSuffix(p.Message, "; stored cut to it") {
		t.Errorf("task problem %+v", p)
	}
	if p := problems[1]; p.Where != "message m1" || !strings.HasPrefix(p.Message, "body is 1.0 MiB, over the 1 MiB karkas keeps") {
		t.Errorf("message problem %+v", p)
	}

	got := b.Tasks[1]
	for name, c := range map[string]struct {
		s   string
		max int
	}{
		"title": {got.Title, MaxNameBytes}, "description": {got.Description, MaxTextBytes},
		"label": {got.Labels[1], MaxNameBytes}, "field": {got.Fields["notes"], MaxTextBytes}, "body": {b.Messages[0].Body, MaxTextBytes},
	} {
		if len(c.s) > c.max || len(c.s) < c.max-4-len(TruncatedNote) || !utf8.ValidString(c.s) {
			t.Errorf("%s: %d bytes (valid UTF-8 %v), want valid and at most %d", name, len(c.s), utf8.ValidString(c.s), c.max)
		}
	}
	if !strings.HasSuffix(got.Description, TruncatedNote) || strings.HasSuffix(got.Title, TruncatedNote) {
		t.Errorf("the note ends long texts only")
	}
	if b.Tasks[0].Description != "short" || b.Tasks[0].Title != "Fine" || got.Fields["x"] != "y" || got.Labels[0] != "a" {
		t.Errorf("short text changed: %+v", b.Tasks[0])
	}
	// The source's own slices and maps are left as they were.
	if tasks[1].Description != long || tasks[1].Labels[1] != longName || tasks[1].Fields["notes"] != long || msgs[0].Body != long {
		t.Error("Cap wrote into the source's records")
	}
	if &b.TimeEntries[0] != &entries[0] {
		t.Error("a slice with nothing to cut was copied")
	}
}

func TestFirst(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"aж", 2, "a"}, // not half of ж
		{"жж", 3, "ж"},
		{"", 0, ""},
	} {
		if got := first(c.in, c.max); got != c.want {
			t.Errorf("first(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
