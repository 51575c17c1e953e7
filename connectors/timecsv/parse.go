package timecsv

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/karkas/karkas/record"
)

// maxSeconds is the longest entry accepted: a day. Anything longer is a
// typo or a timer left running, and would distort an hour report.
const maxSeconds = 24 * 60 * 60

// layout says which column of one file holds each field.
type layout struct {
	idx   map[string]int
	width int
}

// newLayout matches a header row against the configured columns. A header
// without a date, a duration or any way to name the person is an error.
func newLayout(header []string, columns map[string][]string) (*layout, error) {
	pos := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := pos[h]; !dup && h != "" {
			pos[h] = i
		}
	}
	l := &layout{idx: map[string]int{}, width: len(header)}
	for f, candidates := range columns {
		for _, c := range candidates {
			if i, ok := pos[strings.ToLower(c)]; ok {
				l.idx[f] = i
				break
			}
		}
	}
	var missing []string
	for _, f := range []string{"date", "duration"} {
		if _, ok := l.idx[f]; !ok {
			missing = append(missing, describeField(f, columns[f]))
		}
	}
	if !l.has("person") && !l.has("first_name") && !l.has("last_name") && !l.has("email") {
		missing = append(missing, describeField("person", columns["person"]))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header lacks a required column: %s (header: %s)",
			strings.Join(missing, "; "), strings.Join(header, ", "))
	}
	return l, nil
}

func describeField(f string, candidates []string) string {
	if len(candidates) == 0 {
		return f + " (no column configured)"
	}
	return fmt.Sprintf(`%s (expected "%s")`, f, strings.Join(candidates, `" or "`))
}

func (l *layout) has(f string) bool {
	_, ok := l.idx[f]
	return ok
}

// cell returns the trimmed value of field f in row, "" when the file has
// no such column.
func (l *layout) cell(row []string, f string) string {
	i, ok := l.idx[f]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// parseRow turns one data row into an entry without its ExternalID. err is
// set when the row cannot become an entry; warn when the entry is kept but
// part of the row was dropped.
func (c *config) parseRow(l *layout, row []string) (e record.TimeEntry, warn string, err error) {
	y, m, d, err := parseDate(l.cell(row, "date"), c.dates)
	if err != nil {
		return e, "", err
	}
	e.Date = fmt.Sprintf("%04d-%02d-%02d", y, m, d)

	secs, err := parseDuration(l.cell(row, "duration"), c.duration)
	if err != nil {
		return e, "", fmt.Errorf("bad duration %q: %w", l.cell(row, "duration"), err)
	}
	switch {
	case secs < 0:
		return e, "", fmt.Errorf("negative duration %q", l.cell(row, "duration"))
	case secs > maxSeconds:
		return e, "", fmt.Errorf("duration %q is over 24 hours", l.cell(row, "duration"))
	}
	e.Seconds = secs

	e.PersonName = l.cell(row, "person")
	if e.PersonName == "" {
		e.PersonName = strings.TrimSpace(l.cell(row, "first_name") + " " + l.cell(row, "last_name"))
	}
	e.PersonEmail = l.cell(row, "email")
	// Emails differ in case between exports and mail headers; the id
	// should not.
	e.PersonID = strings.ToLower(e.PersonEmail)
	if e.PersonID == "" {
		e.PersonID = e.PersonName
	}
	if e.PersonID == "" {
		return e, "", errors.New("no person: the person and email cells are empty")
	}

	e.TaskID = taskRef(l.cell(row, "task_id"))
	e.TaskName = l.cell(row, "task")
	e.ProjectName = l.cell(row, "project")
	e.ProjectID = l.cell(row, "project_id")
	if e.ProjectID == "" {
		e.ProjectID = e.ProjectName
	}
	e.ClientName = l.cell(row, "client")
	e.Note = l.cell(row, "note")
	e.Tags = splitTags(l.cell(row, "tags"))
	e.Billable = parseBool(l.cell(row, "billable"))
	if b := parseBool(l.cell(row, "locked")); b != nil {
		e.Locked = *b
	}

	if s := l.cell(row, "start"); s != "" {
		start, err := parseStart(s, y, m, d, c.loc)
		if err != nil {
			warn = fmt.Sprintf("bad start time %q: entry kept without a start", s)
		} else {
			e.Start = &start
		}
	}
	return e, warn, nil
}

// parseDate reads s with the first layout that fits. A cell holding a date
// and a time (as Excel re-saves dates) is read by its date part.
func parseDate(s string, layouts []string) (int, time.Month, int, error) {
	if s == "" {
		return 0, 0, 0, errors.New("empty date")
	}
	try := []string{s}
	if i := strings.IndexAny(s, " T"); i > 0 {
		try = append(try, s[:i])
	}
	for _, v := range try {
		for _, layout := range layouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t.Year(), t.Month(), t.Day(), nil
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("bad date %q (tried layouts %s; set date_format)", s, strings.Join(layouts, ", "))
}

// Layouts of start cells. A time of day is combined with the row's date.
var (
	startTimeLayouts = []string{"15:04:05", "15:04", "3:04:05 PM", "3:04 PM", "3:04:05PM", "3:04PM"}
	startFullLayouts = []string{
		time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04Z07:00",
		"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04",
	}
)

// parseStart reads a start cell: a full timestamp (with or without offset)
// or a time of day on the row's date; without an offset it is in loc.
func parseStart(s string, y int, m time.Month, d int, loc *time.Location) (time.Time, error) {
	u := strings.ToUpper(s)
	for _, layout := range startTimeLayouts {
		if t, err := time.Parse(layout, u); err == nil {
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, loc).UTC(), nil
		}
	}
	for _, layout := range startFullLayouts {
		if t, err := time.ParseInLocation(layout, u, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unknown start time format")
}

// parseDuration reads a duration cell in the given format and returns
// seconds. A negative value parses (the caller rejects it with a clearer
// message than a syntax error would give).
func parseDuration(s, format string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	sign := int64(1)
	if s[0] == '-' || s[0] == '+' {
		if s[0] == '-' {
			sign = -1
		}
		s = strings.TrimSpace(s[1:])
	}
	if format == "auto" {
		format = detectDuration(s)
	}
	var secs int64
	var err error
	switch format {
	case "hmm":
		secs, err = parseClock(s, false)
	case "hms":
		secs, err = parseClock(s, true)
	case "hours":
		secs, err = parseHours(s)
	case "seconds":
		secs, err = strconv.ParseInt(s, 10, 64)
		if err != nil {
			err = errors.New("not a whole number of seconds")
		}
	case "iso":
		secs, err = parseISO(s)
	case "go":
		var d time.Duration
		d, err = time.ParseDuration(strings.ReplaceAll(s, " ", ""))
		secs = int64(math.Round(d.Seconds()))
	default:
		err = fmt.Errorf("unknown duration format %q", format)
	}
	return sign * secs, err
}

// detectDuration guesses the format of one cell for duration_format auto.
// A bare whole number is ambiguous: up to 24 it is read as hours (Harvest
// writes "2"), above as seconds (an entry of 25 hours is invalid anyway).
// An export that holds seconds should say duration_format: seconds.
func detectDuration(s string) string {
	switch {
	case s[0] == 'P' || s[0] == 'p':
		return "iso"
	case strings.Count(s, ":") == 1:
		return "hmm"
	case strings.Count(s, ":") == 2:
		return "hms"
	case strings.ContainsAny(s, "hmsHMS"):
		return "go"
	case strings.ContainsAny(s, ".,"):
		return "hours"
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 24 {
		return "seconds"
	}
	return "hours"
}

// parseClock reads H:MM, or H:MM:SS when withSeconds. Hours may exceed 23
// (the caller caps the total); minutes and seconds must be below 60.
func parseClock(s string, withSeconds bool) (int64, error) {
	parts := strings.Split(s, ":")
	want := 2
	if withSeconds {
		want = 3
	}
	if len(parts) != want {
		if withSeconds {
			return 0, errors.New("want H:MM:SS")
		}
		return 0, errors.New("want H:MM")
	}
	var total int64
	for i, p := range parts {
		if p == "" || len(p) > 9 || strings.TrimFunc(p, unicode.IsDigit) != "" {
			return 0, fmt.Errorf("%q is not a number", p)
		}
		n, _ := strconv.ParseInt(p, 10, 64)
		if i > 0 && n >= 60 {
			return 0, fmt.Errorf("%q is 60 or more", p)
		}
		total = total*60 + n
	}
	if !withSeconds {
		total *= 60
	}
	return total, nil
}

// parseHours reads decimal hours with a point or a comma ("1.5", "1,5").
func parseHours(s string) (int64, error) {
	f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e6 {
		return 0, errors.New("not a number of hours")
	}
	return int64(math.Round(f * 3600)), nil
}

// parseISO reads an ISO-8601 duration such as PT1H30M, PT45M, PT0.5H or
// P1DT2H. Years, months and weeks are refused: no entry is that long.
func parseISO(s string) (int64, error) {
	u := strings.ToUpper(s)
	if len(u) < 3 || u[0] != 'P' {
		return 0, errors.New("want an ISO-8601 duration like PT1H30M")
	}
	var total float64
	inTime := false
	num := ""
	seen := false
	for _, r := range u[1:] {
		switch {
		case r == 'T' && !inTime && num == "":
			inTime = true
		case unicode.IsDigit(r) || r == '.' || r == ',':
			if r == ',' {
				r = '.'
			}
			num += string(r)
		default:
			if num == "" {
				return 0, fmt.Errorf("no number before %q", r)
			}
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("bad number %q", num)
			}
			var unit float64
			switch {
			case !inTime && r == 'D':
				unit = 86400
			case inTime && r == 'H':
				unit = 3600
			case inTime && r == 'M':
				unit = 60
			case inTime && r == 'S':
				unit = 1
			default:
				return 0, fmt.Errorf("unsupported designator %q", r)
			}
			total += n * unit
			num, seen = "", true
		}
	}
	if num != "" || !seen {
		return 0, errors.New("want an ISO-8601 duration like PT1H30M")
	}
	if total > 1e9 {
		return 0, errors.New("too long")
	}
	return int64(math.Round(total)), nil
}

// parseBool reads yes/no cells in the spellings trackers and people use;
// nil when the cell is empty or says something else.
func parseBool(s string) *bool {
	var b bool
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "1", "billable", "locked", "да", "д":
		b = true
	case "no", "n", "false", "0", "non-billable", "not billable", "unlocked", "нет", "н":
		b = false
	default:
		return nil
	}
	return &b
}

// splitTags splits a tags cell on commas, trimming each tag and dropping
// empty ones.
func splitTags(s string) []string {
	if s == "" {
		return nil
	}
	var tags []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// taskRef returns a task id cell as it is, except a Trello card URL (what
// Harvest's Trello integration stores) becomes "tr:<short link>", the form
// Everhour uses, so that mapping links both to the same card.
func taskRef(s string) string {
	for _, prefix := range []string{"https://trello.com/c/", "http://trello.com/c/", "trello.com/c/"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			short, _, _ := strings.Cut(rest, "/")
			short, _, _ = strings.Cut(short, "?")
			if short != "" {
				return "tr:" + short
			}
		}
	}
	return s
}
