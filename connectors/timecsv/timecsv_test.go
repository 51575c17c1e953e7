package timecsv

import (
	"reflect"
	"strings"
	"testing"

	"github.com/karkas/karkas/connectors"
)

func TestNewOptionsDefaults(t *testing.T) {
	t.Parallel()
	o := NewOptions()
	if o.Preset != "everhour" || o.BatchSize != DefaultBatchSize || o.DurationFormat != "auto" || o.TimeZone != "UTC" || o.Encoding != "utf-8" {
		t.Errorf("NewOptions() = %+v, want everhour, %d, auto, UTC, utf-8", o, DefaultBatchSize)
	}
}

// The config loader decodes by yaml tag and documents by doc tag; a field
// without either would be invisible to users.
func TestOptionsTags(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[Options]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Tag.Get("yaml") == "" || f.Tag.Get("doc") == "" {
			t.Errorf("field %s lacks a yaml or doc tag: %q", f.Name, f.Tag)
		}
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	k := Kind()
	if k.Name != "time_csv" || k.Doc == "" {
		t.Fatalf("Kind() = %q %q, want time_csv with a doc", k.Name, k.Doc)
	}
	opts, ok := k.NewOptions().(*Options)
	if !ok {
		t.Fatalf("NewOptions() returned %T, want *Options", k.NewOptions())
	}
	opts.Files = []string{"x.csv"}
	if _, err := k.Open(opts, connectors.Env{}); err != nil {
		t.Errorf("Open(defaults + files): %v", err)
	}
	if _, err := k.Open(Options{Files: []string{"x.csv"}}, connectors.Env{}); err == nil {
		t.Error("Open(Options by value) succeeded, want a type error")
	}
	if src, err := k.Open(&Options{}, connectors.Env{}); err == nil || src != nil {
		t.Errorf("Open(no files) = %v, %v; want a nil source and an error", src, err)
	}
}

func TestOpenValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(*Options)
		wantErr []string // substrings; none = valid
	}{
		{name: "defaults with a file", change: func(*Options) {}},
		{name: "every preset", change: func(o *Options) { o.Preset = "Harvest" }},
		{name: "tab delimiter", change: func(o *Options) { o.Delimiter = "tab" }},
		{name: "cyrillic encoding", change: func(o *Options) { o.Encoding = "windows-1251" }},
		{name: "zero batch size means default", change: func(o *Options) { o.BatchSize = 0 }},
		{name: "column override", change: func(o *Options) { o.Columns = map[string]string{"person": "Сотрудник"} }},
		{name: "no files", change: func(o *Options) { o.Files = nil }, wantErr: []string{"files"}},
		{name: "blank file", change: func(o *Options) { o.Files = []string{" "} }, wantErr: []string{"files[0]"}},
		{name: "unknown preset", change: func(o *Options) { o.Preset = "jira" }, wantErr: []string{"preset", "clockify, everhour, harvest, toggl"}},
		{name: "unknown field", change: func(o *Options) { o.Columns = map[string]string{"hours": "H"} }, wantErr: []string{`unknown field "hours"`}},
		{name: "long delimiter", change: func(o *Options) { o.Delimiter = ";;" }, wantErr: []string{"delimiter"}},
		{name: "unknown encoding", change: func(o *Options) { o.Encoding = "klingon" }, wantErr: []string{"encoding"}},
		{name: "unknown duration format", change: func(o *Options) { o.DurationFormat = "days" }, wantErr: []string{"duration_format", "auto, hmm"}},
		{name: "unknown zone", change: func(o *Options) { o.TimeZone = "Mars/Olympus" }, wantErr: []string{"time_zone"}},
		{name: "negative batch", change: func(o *Options) { o.BatchSize = -1 }, wantErr: []string{"batch_size"}},
		{
			name: "all problems at once",
			change: func(o *Options) {
				o.Preset, o.Encoding, o.BatchSize = "jira", "klingon", -5
			},
			wantErr: []string{"preset", "encoding", "batch_size"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := NewOptions()
			o.Files = []string{"hours.csv"}
			tt.change(o)
			_, err := Open(o, connectors.Env{})
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Open succeeded, want an error mentioning %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open error %q does not mention %q", err, w)
				}
			}
		})
	}
}
