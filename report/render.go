package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format is an output format of the reports.
type Format string

// The formats.
const (
	Markdown Format = "md"   // card comments, GitHub issues
	HTML     Format = "html" // a self-contained page: phone, desktop, print to PDF
	CSV      Format = "csv"  // accounting: one row per time entry (capacity: per person and client)
	JSON     Format = "json" // the model itself, for other programs
)

// Formats lists every format.
var Formats = []Format{Markdown, HTML, CSV, JSON}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("format %q is not one of md, html, csv, json", s)
}

// Report is a built report: *Hours or *Capacity.
type Report interface {
	subject() string
	fileStem() string
}

// Rendered is a report written in one format, with what a delivery needs
// to send or store it.
type Rendered struct {
	Body []byte
	// Subject is a one-line title for a mail subject or a card comment's
	// first line; it holds no line break or control character.
	Subject string
	// ContentType is the body's media type, with its charset.
	ContentType string
	// FileName is a suggested file name, e.g. hours-acme-2026-10.html.
	FileName string
}

// Render writes r in format f.
func Render(r Report, f Format) (Rendered, error) {
	var body []byte
	var err error
	var ctype string
	switch f {
	case Markdown:
		ctype = "text/markdown; charset=utf-8"
		switch r := r.(type) {
		case *Hours:
			body = hoursMarkdown(r)
		case *Capacity:
			body = capacityMarkdown(r)
		}
	case HTML:
		ctype = "text/html; charset=utf-8"
		body, err = renderHTML(r)
	case CSV:
		ctype = "text/csv; charset=utf-8"
		switch r := r.(type) {
		case *Hours:
			body, err = hoursCSV(r)
		case *Capacity:
			body, err = capacityCSV(r)
		}
	case JSON:
		ctype = "application/json"
		body, err = json.MarshalIndent(r, "", "  ")
		body = append(body, '\n')
	default:
		return Rendered{}, fmt.Errorf("format %q is not one of md, html, csv, json", f)
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("rendering %s: %w", f, err)
	}
	if body == nil {
		return Rendered{}, fmt.Errorf("rendering %s: unknown report type %T", f, r)
	}
	return Rendered{Body: body, Subject: headerText(r.subject()), ContentType: ctype, FileName: r.fileStem() + "." + string(f)}, nil
}

func (r *Hours) subject() string {
	return fmt.Sprintf("Hours report: %s, %s", r.Client.Name, r.Period.Title)
}

func (r *Hours) fileStem() string {
	return "hours-" + fileSafe(r.Client.ID) + "-" + fileSafe(r.Period.Label)
}

func (r *Capacity) subject() string {
	return fmt.Sprintf("Capacity report: %s, %s", r.Agency, r.Period.Title)
}

func (r *Capacity) fileStem() string { return "capacity-" + fileSafe(r.Period.Label) }

// Formatting shared by the renderers.

func fmtHours(h float64) string { return strconv.FormatFloat(h, 'f', 1, 64) }

func fmtSecondsHours(s int64) string { return fmtHours(float64(s) / 3600) }

// fmtBusiness is a span of business time: "45m", "2h 05m", "31h 10m".
func fmtBusiness(seconds int64) string {
	m := (seconds + 30) / 60
	if m < 60 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh %02dm", m/60, m%60)
}

func fmtPercent(p float64) string { return strconv.FormatFloat(p, 'f', 0, 64) + "%" }

func fmtDay(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan") }

func fmtInstant(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan 15:04") }

func location(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// statusText is a task's status as the client knows it: the source's name
// for it (the list), else the normalized status in words.
func statusText(t TaskRef) string {
	if t.SourceStatus != "" {
		return t.SourceStatus
	}
	return strings.ReplaceAll(t.Status, "_", " ")
}

var personStatusText = map[string]string{"ok": "", "over": "over capacity", "light": "light load", "no_capacity": "no capacity known"}

var clientStatusText = map[string]string{
	"on_track": "on track", "under_served": "under-served", "ahead": "burning fast",
	"over_budget": "over budget", "no_budget": "no budget",
}

// Markdown.

func mdLink(title, url string) string {
	if url == "" {
		return mdText(title)
	}
	return "[" + mdText(title) + "](" + mdURL(url) + ")"
}

func hoursMarkdown(r *Hours) []byte {
	loc := location(r.Client.TimeZone)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Hours report: %s, %s\n\n", mdText(r.Client.Name), mdText(r.Period.Title))
	w("%s to %s (%s)", r.Period.First, r.Period.Last, mdText(r.Period.TimeZone))
	if !r.Complete {
		w(", so far")
	}
	w(". Prepared by %s.\n\n", mdText(r.Agency))
	if bu := r.Budget; bu != nil {
		w("**Budget:** %s h used of %s h (%s)", fmtHours(bu.UsedHours), fmtHours(bu.BudgetHours), fmtPercent(bu.UsedPercent))
		if bu.CarriedOverHours > 0 {
			w(", %s h of it carried over", fmtHours(bu.CarriedOverHours))
		} else if bu.CarriedOverHours < 0 {
			w(", %s h taken back for last month's overrun", fmtHours(-bu.CarriedOverHours))
		}
		if bu.RemainingHours >= 0 {
			w("; %s h left.\n", fmtHours(bu.RemainingHours))
		} else {
			w("; %s h over.\n", fmtHours(-bu.RemainingHours))
		}
	}
	w("**Hours:** %s h in all: %s h billable, %s h not billable.\n\n", fmtHours(r.Totals.Hours), fmtHours(r.Totals.BillableHours), fmtHours(r.Totals.NonBillableHours))
	if c := r.Cabinet; c != nil {
		w("**Your cabinet:** this month's hours as they are logged, and every past report: %s (the link opens until %s).\n\n",
			mdURL(c.URL), c.Expires.In(loc).Format("2 January 2006"))
	}

	w("### By category\n\n")
	for _, c := range r.Categories {
		w("- %s: %s h", mdText(c.Title), fmtHours(c.Hours))
		if c.NonBillableSeconds > 0 && c.Category != "non_billable" {
			w(", %s h of it not billable", fmtSecondsHours(c.NonBillableSeconds))
		}
		w("\n")
	}
	w("\n### By person\n\n")
	for _, p := range r.People {
		w("- %s: %s h\n", mdText(p.Name), fmtHours(p.Hours))
	}
	if len(r.People) == 0 {
		w("- no time logged\n")
	}
	w("\n### By task\n\n")
	for _, t := range r.Tasks {
		w("- %s", mdLink(t.Title, t.URL))
		if s := statusText(t.TaskRef); s != "" {
			w(" (%s)", mdText(s))
		}
		if t.OutOfScope {
			w(" *out of scope*")
		}
		w(": %s h\n", fmtHours(t.Hours))
	}
	if len(r.Tasks) == 0 {
		w("- no time logged\n")
	}
	w("\n### Out of scope: %s h\n\n", fmtHours(r.OutOfScope.Hours))
	w("Work marked %s, to agree separately.\n\n", mdQuoted(r.OutOfScope.Labels))
	for _, t := range r.OutOfScope.Tasks {
		w("- %s: %s h\n", mdLink(t.Title, t.URL), fmtHours(t.Hours))
	}
	mdEvents(&b, fmt.Sprintf("Created by %s (%d)", mdText(r.Client.Name), len(r.ClientCreated)), r.ClientCreated, loc)
	w("\n### Sent back from review (%d)\n\n", len(r.Rework))
	for _, rw := range r.Rework {
		w("- %s: %s, last %s\n", mdLink(rw.Title, rw.URL), times(rw.Times), fmtDay(rw.LastAt, loc))
	}
	mdEvents(&b, fmt.Sprintf("Done with no time logged (%d)", len(r.DoneUntracked)), r.DoneUntracked, loc)

	s := r.SLA
	w("\n### Promises\n\n")
	if s.Answered > 0 {
		w("- Replies to %d messages: median %s, 90%% within %s (business time).\n", s.Answered, fmtBusiness(s.MedianSeconds), fmtBusiness(s.P90Seconds))
	} else {
		w("- No message of the period got a reply yet.\n")
	}
	if s.Unanswered > 0 {
		w("- Waiting for a reply: %d.\n", s.Unanswered)
	}
	w("- Broken: %d", len(s.Breaches))
	if s.Waived > 0 {
		w(", of which %d waived by agreement", s.Waived)
	}
	w(".\n")
	for _, br := range s.Breaches {
		w("  - %s: %s, %s", mdText(br.PolicyTitle), mdLink(br.Title, br.URL), fmtDay(br.BreachedAt, loc))
		if br.Waived {
			w(", waived: %s", mdText(br.Reason))
		}
		w("\n")
	}
	return []byte(b.String())
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func mdQuoted(labels []string) string {
	q := make([]string, len(labels))
	for i, l := range labels {
		q[i] = "“" + mdText(l) + "”"
	}
	return joinOr(q)
}

func joinOr(list []string) string {
	if len(list) <= 1 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

func mdEvents(b *strings.Builder, heading string, ev []TaskEvent, loc *time.Location) {
	fmt.Fprintf(b, "\n### %s\n\n", heading)
	for _, e := range ev {
		fmt.Fprintf(b, "- %s", mdLink(e.Title, e.URL))
		if s := statusText(e.TaskRef); s != "" {
			fmt.Fprintf(b, " (%s)", mdText(s))
		}
		fmt.Fprintf(b, ", %s", fmtDay(e.At, loc))
		if e.Person != "" {
			fmt.Fprintf(b, ", %s", mdText(e.Person))
		}
		b.WriteString("\n")
	}
}

func capacityMarkdown(r *Capacity) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	t := r.Totals
	w("## Capacity report: %s, %s\n\n", mdText(r.Agency), mdText(r.Period.Title))
	w("%s to %s (%s)", r.Period.First, r.Period.Last, mdText(r.Period.TimeZone))
	if !r.Complete {
		w(", %s of the business time gone", fmtPercent(r.Elapsed*100))
	}
	w(".\n\n**%s**\n\n", mdText(t.Answer))
	w("- Capacity: %s h (%d people)\n", fmtHours(t.CapacityHours), t.People)
	w("- Client budgets: %s h; logged on clients: %s h; internal: %s h\n", fmtHours(t.CommittedHours), fmtHours(t.ClientHours), fmtHours(t.InternalHours))
	w("- Demand: %s h; headroom: %s h\n", fmtHours(t.DemandHours), fmtHours(t.HeadroomHours))
	w("\n### People\n\n")
	for _, p := range r.People {
		w("- %s: %s h", mdText(p.Name), fmtHours(p.Hours))
		if p.CapacityHours > 0 {
			w(" of %s h so far (%s)", fmtHours(p.CapacityToDateHours), fmtPercent(p.Utilization*100))
		}
		w("; clients %s h, internal %s h", fmtHours(p.ClientHours), fmtHours(p.InternalHours))
		if s := personStatusText[p.Status]; s != "" {
			w(", **%s**", s)
		}
		w("\n")
	}
	w("\n### Clients\n\n")
	for _, c := range r.Clients {
		w("- %s: %s h billable", mdText(c.Name), fmtHours(c.BillableHours))
		if c.BudgetHours > 0 {
			w(" of %s h budget (%s h expected so far)", fmtHours(c.BudgetHours), fmtHours(c.ExpectedToDateHours))
		}
		w(", **%s**\n", clientStatusText[c.Status])
	}
	return []byte(b.String())
}

// CSV. Excel opens a UTF-8 file as UTF-8 only when it starts with a byte
// order mark; without one, Cyrillic names come out as mojibake.

const bom = "\ufeff"

func writeCSV(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(bom)
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true // RFC 4180, and what Excel writes
	if err := cw.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// hoursCSV is one row per time entry: an accountant reconciles an invoice
// against the tracker entry by entry, and pivots by task, person or
// category in the spreadsheet; a row per task would hide who logged what
// when, and the entry id lets a disputed line be found in the tracker.
func hoursCSV(r *Hours) ([]byte, error) {
	rows := [][]string{{"date", "client_id", "client", "person", "task", "task_url", "task_status", "project", "category",
		"billable", "out_of_scope", "hours", "seconds", "note", "source", "entry_id"}}
	for _, e := range r.Entries {
		rows = append(rows, []string{e.Date, csvCell(e.ClientID), csvCell(r.Client.Name), csvCell(e.Person), csvCell(e.Task.Title),
			csvCell(e.Task.URL), csvCell(statusText(e.Task)), csvCell(e.Project), csvCell(e.Category), yesNo(e.Billable),
			yesNo(e.OutOfScope), strconv.FormatFloat(float64(e.Seconds)/3600, 'f', 2, 64), strconv.FormatInt(e.Seconds, 10),
			csvCell(e.Note), csvCell(e.Source), csvCell(e.EntryID)})
	}
	return writeCSV(rows)
}

// capacityCSV is one row per person and client, with the person's
// capacity on each of their rows.
func capacityCSV(r *Capacity) ([]byte, error) {
	capacity := map[string]float64{}
	for _, p := range r.People {
		capacity[p.ID+"\x00"+p.Name] = p.CapacityHours
	}
	rows := [][]string{{"period", "person_id", "person", "capacity_hours", "client_id", "client", "hours", "seconds"}}
	for _, m := range r.Matrix {
		rows = append(rows, []string{r.Period.Label, csvCell(m.PersonID), csvCell(m.Person),
			strconv.FormatFloat(capacity[m.PersonID+"\x00"+m.Person], 'f', 2, 64), csvCell(m.ClientID), csvCell(m.Client),
			strconv.FormatFloat(float64(m.Seconds)/3600, 'f', 2, 64), strconv.FormatInt(m.Seconds, 10)})
	}
	return writeCSV(rows)
}
