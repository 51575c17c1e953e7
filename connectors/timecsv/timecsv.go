// Package timecsv reads time-tracker CSV exports (Everhour's report export by
// default; Toggl Track, Clockify and Harvest detailed reports through presets
// or configured column names) and emits them as record.TimeEntry values.
//
// It is a file source: a pull fingerprints its files, reads them whole when
// anything changed, and marks its last batch as the end of a snapshot, so a
// row deleted from the export is soft-deleted in the store.
//
// This package imports only the connectors and record packages of karkas.
package timecsv

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/karkas/karkas/connectors"
)

// KindName is what `kind:` says in the config for this source.
const KindName = "time_csv"

// DefaultBatchSize is the number of records per emitted batch when the
// config does not say.
const DefaultBatchSize = 2000

// Options configure a time CSV source. The config's `options:` block is
// decoded into the value NewOptions returns.
type Options struct {
	Files          []string          `yaml:"files" doc:"CSV files, folders (every *.csv inside) or glob patterns; relative to the config file"`
	Preset         string            `yaml:"preset" doc:"everhour (default), toggl, clockify, harvest: column names of that tracker's detailed export"`
	Columns        map[string]string `yaml:"columns" doc:"override: field -> column header (a|b for alternatives, empty to ignore); fields: id, date, start, person, first_name, last_name, email, client, project, project_id, task, task_id, tags, note, duration, billable, locked"`
	Delimiter      string            `yaml:"delimiter" doc:"\",\", \";\", \"tab\" or another single character; empty = detect from the header line"`
	Encoding       string            `yaml:"encoding" doc:"utf-8 (default, BOM tolerated), windows-1251, koi8-r, iso-8859-1...; a UTF-16 BOM is always honoured"`
	DateFormat     string            `yaml:"date_format" doc:"Go layout; empty = try 2006-01-02, 02.01.2006, 01/02/2006 in the preset's order"`
	DurationFormat string            `yaml:"duration_format" doc:"auto (default), hmm, hms, hours, seconds, iso"`
	TimeZone       string            `yaml:"time_zone" doc:"IANA zone for start times without offset; default UTC"`
	BatchSize      int               `yaml:"batch_size" doc:"records per emitted batch (default 2000)"`
}

// NewOptions returns options holding the defaults.
func NewOptions() *Options {
	return &Options{
		Preset:         "everhour",
		Encoding:       "utf-8",
		DurationFormat: "auto",
		TimeZone:       "UTC",
		BatchSize:      DefaultBatchSize,
	}
}

// Kind describes the time_csv source for the connectors registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Name:       KindName,
		Identity:   "time_tracker",
		Doc:        "time-tracker CSV export (Everhour, Toggl Track, Clockify, Harvest or configured columns)",
		NewOptions: func() any { return NewOptions() },
		Open: func(opts any, env connectors.Env) (connectors.Source, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("opening %s: options are %T, want *timecsv.Options", KindName, opts)
			}
			// A nil *Source must not become a non-nil Source.
			src, err := Open(o, env)
			if err != nil {
				return nil, err
			}
			return src, nil
		},
	}
}

// durationFormats are the values duration_format accepts.
var durationFormats = []string{"auto", "hmm", "hms", "hours", "seconds", "iso"}

// config is Options checked and resolved once at Open.
type config struct {
	files     []string
	preset    preset
	columns   map[string][]string // field -> candidate headers, in order
	delimiter rune                // 0 = detect
	encoding  encoding.Encoding   // nil = UTF-8
	dates     []string            // date layouts to try, in order
	duration  string
	loc       *time.Location
	batchSize int
	// optionsKey is a canonical text of the options that change what a
	// file parses into; it is part of the fingerprint.
	optionsKey string
}

// newConfig checks every option and reports all problems at once.
func newConfig(o *Options) (*config, error) {
	var errs []error
	c := &config{batchSize: o.BatchSize, duration: strings.ToLower(strings.TrimSpace(o.DurationFormat))}

	if len(o.Files) == 0 {
		errs = append(errs, errors.New("files: name at least one file or pattern"))
	}
	for i, f := range o.Files {
		if strings.TrimSpace(f) == "" {
			errs = append(errs, fmt.Errorf("files[%d]: empty path", i))
		}
	}
	c.files = o.Files

	name := strings.ToLower(strings.TrimSpace(o.Preset))
	if name == "" {
		name = "everhour"
	}
	p, ok := presets[name]
	if !ok {
		errs = append(errs, fmt.Errorf("preset: unknown %q (valid: %s)", o.Preset, strings.Join(presetNames(), ", ")))
	}
	c.preset = p

	c.columns = map[string][]string{}
	for f, hs := range p.columns {
		c.columns[f] = hs
	}
	for _, f := range sortedKeys(o.Columns) {
		if !slices.Contains(fields, f) {
			errs = append(errs, fmt.Errorf("columns: unknown field %q (valid: %s)", f, strings.Join(fields, ", ")))
			continue
		}
		c.columns[f] = splitAlternatives(o.Columns[f])
	}

	switch d := o.Delimiter; {
	case d == "":
	case strings.EqualFold(d, "tab") || d == `\t`:
		c.delimiter = '\t'
	case len([]rune(d)) == 1 && d != "\"" && d != "\n" && d != "\r":
		c.delimiter = []rune(d)[0]
	default:
		errs = append(errs, fmt.Errorf("delimiter: %q is not a single character (use \",\", \";\" or \"tab\")", d))
	}

	switch e := strings.ToLower(strings.TrimSpace(o.Encoding)); e {
	case "", "utf-8", "utf8":
	default:
		enc, err := htmlindex.Get(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("encoding: unknown %q (e.g. utf-8, windows-1251, koi8-r, iso-8859-1)", o.Encoding))
		}
		c.encoding = enc
	}

	if o.DateFormat != "" {
		c.dates = []string{o.DateFormat}
	} else {
		c.dates = p.dates
	}

	if c.duration == "" {
		c.duration = "auto"
	}
	if !slices.Contains(durationFormats, c.duration) {
		errs = append(errs, fmt.Errorf("duration_format: unknown %q (valid: %s)", o.DurationFormat, strings.Join(durationFormats, ", ")))
	}

	tz := strings.TrimSpace(o.TimeZone)
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		errs = append(errs, fmt.Errorf("time_zone: %w", err))
	}
	c.loc = loc

	switch {
	case c.batchSize == 0:
		c.batchSize = DefaultBatchSize
	case c.batchSize < 0:
		errs = append(errs, fmt.Errorf("batch_size: must be positive, got %d", o.BatchSize))
	}

	var key strings.Builder
	fmt.Fprintf(&key, "preset=%s\ndelimiter=%q\nencoding=%s\ndates=%q\nduration=%s\ntz=%s\n",
		name, c.delimiter, strings.ToLower(o.Encoding), c.dates, c.duration, tz)
	for _, f := range sortedKeys(c.columns) {
		fmt.Fprintf(&key, "column %s=%q\n", f, c.columns[f])
	}
	c.optionsKey = key.String()

	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("checking %s options: %w", KindName, err)
	}
	return c, nil
}

// splitAlternatives reads a column override: "A|B" lists alternative headers,
// the first one present wins; an empty value ignores the field.
func splitAlternatives(s string) []string {
	var out []string
	for _, h := range strings.Split(s, "|") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
