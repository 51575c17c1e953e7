package timecsv

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		format  string
		want    int64
		wantErr bool
	}{
		{name: "hmm auto", in: "1:30", format: "auto", want: 5400},
		{name: "hmm two digit hours", in: "12:05", format: "auto", want: 43500},
		{name: "hmm zero hours", in: "0:07", format: "hmm", want: 420},
		{name: "hms auto", in: "01:30:15", format: "auto", want: 5415},
		{name: "decimal point", in: "1.5", format: "auto", want: 5400},
		{name: "decimal comma", in: "1,5", format: "auto", want: 5400},
		{name: "decimal rounds to second", in: "0.3333", format: "hours", want: 1200},
		{name: "whole hours auto", in: "2", format: "auto", want: 7200},
		{name: "whole seconds auto", in: "5400", format: "auto", want: 5400},
		{name: "seconds explicit small", in: "20", format: "seconds", want: 20},
		{name: "iso hours minutes", in: "PT1H30M", format: "auto", want: 5400},
		{name: "iso minutes", in: "PT45M", format: "iso", want: 2700},
		{name: "iso lower fractional", in: "pt0.5h", format: "auto", want: 1800},
		{name: "iso seconds", in: "PT1H0M15S", format: "auto", want: 3615},
		{name: "iso day", in: "P1D", format: "auto", want: 86400},
		{name: "go style with space", in: "1h 30m", format: "auto", want: 5400},
		{name: "go style minutes", in: "90m", format: "auto", want: 5400},
		{name: "negative parses", in: "-0:30", format: "auto", want: -1800},
		{name: "surrounding spaces", in: "  2:00 ", format: "auto", want: 7200},
		{name: "empty", in: "", format: "auto", wantErr: true},
		{name: "text", in: "abc", format: "auto", wantErr: true},
		{name: "minutes 60", in: "1:60", format: "auto", wantErr: true},
		{name: "seconds 60", in: "1:00:60", format: "auto", wantErr: true},
		{name: "hmm refuses hms", in: "1:30:00", format: "hmm", wantErr: true},
		{name: "hms refuses hmm", in: "1:30", format: "hms", wantErr: true},
		{name: "seconds refuses decimal", in: "1.5", format: "seconds", wantErr: true},
		{name: "hours refuses clock", in: "1:30", format: "hours", wantErr: true},
		{name: "iso empty", in: "PT", format: "auto", wantErr: true},
		{name: "iso years", in: "P1Y", format: "auto", wantErr: true},
		{name: "iso trailing number", in: "PT1H30", format: "auto", wantErr: true},
		{name: "iso minutes before T", in: "P30M", format: "iso", wantErr: true},
		{name: "clock with letters", in: "1:3x", format: "auto", wantErr: true},
		{name: "nan", in: "NaN", format: "hours", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseDuration(tt.in, tt.format)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseDuration(%q, %s) = %d, want an error", tt.in, tt.format, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDuration(%q, %s): %v", tt.in, tt.format, err)
			}
			if got != tt.want {
				t.Errorf("parseDuration(%q, %s) = %d, want %d", tt.in, tt.format, got, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		layouts []string
		want    string
		wantErr bool
	}{
		{name: "iso", in: "2024-03-04", layouts: isoFirst, want: "2024-03-04"},
		{name: "iso unpadded", in: "2024-3-4", layouts: isoFirst, want: "2024-03-04"},
		{name: "russian dotted", in: "04.03.2024", layouts: isoFirst, want: "2024-03-04"},
		{name: "us slashes", in: "03/04/2024", layouts: usFirst, want: "2024-03-04"},
		{name: "us unpadded", in: "3/4/2024", layouts: isoFirst, want: "2024-03-04"},
		{name: "excel date with time", in: "2024-03-04 00:00:00", layouts: isoFirst, want: "2024-03-04"},
		{name: "explicit day first", in: "04/03/2024", layouts: []string{"02/01/2006"}, want: "2024-03-04"},
		{name: "month 13", in: "2024-13-01", layouts: isoFirst, wantErr: true},
		{name: "empty", in: "", layouts: isoFirst, wantErr: true},
		{name: "words", in: "yesterday", layouts: isoFirst, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			y, m, d, err := parseDate(tt.in, tt.layouts)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseDate(%q) = %d-%d-%d, want an error", tt.in, y, m, d)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDate(%q): %v", tt.in, err)
			}
			if got := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly); got != tt.want {
				t.Errorf("parseDate(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseStart(t *testing.T) {
	t.Parallel()
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		loc     *time.Location
		want    string
		wantErr bool
	}{
		{name: "time of day utc", in: "09:15:00", loc: time.UTC, want: "2024-03-04T09:15:00Z"},
		{name: "time of day in zone", in: "09:15", loc: moscow, want: "2024-03-04T06:15:00Z"},
		{name: "pm", in: "02:30:00 PM", loc: time.UTC, want: "2024-03-04T14:30:00Z"},
		{name: "lower am unpadded", in: "9:05 am", loc: time.UTC, want: "2024-03-04T09:05:00Z"},
		{name: "full with offset ignores zone", in: "2024-03-05T10:00:00+02:00", loc: moscow, want: "2024-03-05T08:00:00Z"},
		{name: "full without offset uses zone", in: "2024-03-05 10:00", loc: moscow, want: "2024-03-05T07:00:00Z"},
		{name: "garbage", in: "soon", loc: time.UTC, wantErr: true},
		{name: "hour 25", in: "25:00", loc: time.UTC, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStart(tt.in, 2024, time.March, 4, tt.loc)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseStart(%q) = %s, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseStart(%q): %v", tt.in, err)
			}
			if s := got.Format(time.RFC3339); s != tt.want || got.Location() != time.UTC {
				t.Errorf("parseStart(%q) = %s (%s), want %s in UTC", tt.in, s, got.Location(), tt.want)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "true", "false" or "nil"
	}{
		{name: "yes", in: "yes", want: "true"},
		{name: "Yes", in: "Yes", want: "true"},
		{name: "true", in: "TRUE", want: "true"},
		{name: "russian yes", in: "Да", want: "true"},
		{name: "no", in: "no", want: "false"},
		{name: "zero", in: "0", want: "false"},
		{name: "russian no", in: "нет", want: "false"},
		{name: "empty", in: "", want: "nil"},
		{name: "unknown", in: "maybe", want: "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := "nil"
			if b := parseBool(tt.in); b != nil {
				got = map[bool]string{true: "true", false: "false"}[*b]
			}
			if got != tt.want {
				t.Errorf("parseBool(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestTaskRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "everhour trello id", in: "tr:5f1a2b3c", want: "tr:5f1a2b3c"},
		{name: "everhour own", in: "ev:123", want: "ev:123"},
		{name: "empty", in: "", want: ""},
		{name: "trello card url", in: "https://trello.com/c/AbCd1234/12-fix-header", want: "tr:AbCd1234"},
		{name: "trello url short", in: "https://trello.com/c/AbCd1234", want: "tr:AbCd1234"},
		{name: "trello url query", in: "https://trello.com/c/AbCd1234?filter=x", want: "tr:AbCd1234"},
		{name: "other url kept", in: "https://github.com/a/b/issues/1", want: "https://github.com/a/b/issues/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := taskRef(tt.in); got != tt.want {
				t.Errorf("taskRef(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "two", in: "design, meeting", want: []string{"design", "meeting"}},
		{name: "no space", in: "a,b", want: []string{"a", "b"}},
		{name: "empties dropped", in: " , a ,, ", want: []string{"a"}},
		{name: "empty", in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := splitTags(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("splitTags(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("splitTags(%q) = %q, want %q", tt.in, got, tt.want)
				}
			}
		})
	}
}
