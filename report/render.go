package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"
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
	l := locale.For(r.Language)
	return l.T("hours.subject", "Client", r.Client.Name, "Period", periodTitle(l, r.Period))
}

func (r *Hours) fileStem() string {
	return "hours-" + fileSafe(r.Client.ID) + "-" + fileSafe(r.Period.Label)
}

func (r *Capacity) subject() string {
	l := locale.For(r.Language)
	return l.T("capacity.subject", "Agency", r.Agency, "Period", periodTitle(l, r.Period))
}

func (r *Capacity) fileStem() string { return "capacity-" + fileSafe(r.Period.Label) }

// Formatting shared by the renderers.

func fmtHours(h float64) string { return strconv.FormatFloat(h, 'f', 1, 64) }

// fmtBusiness is a span of business time: "45m", "2h 05m", "31h 10m"
// ("45 мин", "2 ч 05 мин").
func fmtBusiness(l *locale.Locale, seconds int64) string {
	m := (seconds + 30) / 60
	if m < 60 {
		return l.T("unit.minutes", "M", m)
	}
	return l.T("unit.hours_minutes", "H", l.Int(int(m/60)), "M", fmt.Sprintf("%02d", m%60))
}

func fmtPercent(l *locale.Locale, p float64) string { return l.T("unit.percent", "N", l.Num(p, 0)) }

// en is the language of what stays English whatever the reader's: the
// JSON's titles and the capacity report's answer in it.
var en = locale.For("en")

// TitleIn names the period in a language ("Октябрь 2026").
func (p PeriodRef) TitleIn(lang string) string { return periodTitle(locale.For(lang), p) }

// periodTitle names a period in l: "October 2026", "week 43 of 2026
// (19–25 Oct)", "1–15 Oct 2026".
func periodTitle(l *locale.Locale, p PeriodRef) string {
	first, err1 := time.Parse(time.DateOnly, p.First)
	last, err2 := time.Parse(time.DateOnly, p.Last)
	if err1 != nil || err2 != nil {
		return p.Title
	}
	switch p.Kind {
	case PeriodMonth:
		return l.T("period.month", "Month", l.Month(first.Month()), "Year", first.Year())
	case PeriodWeek:
		y, w := first.ISOWeek()
		return l.T("period.week", "Week", w, "Year", y, "Days", dayRangeIn(l, first, last))
	}
	if first.Year() != last.Year() {
		return l.DayMonth(first) + " " + strconv.Itoa(first.Year()) + " – " + l.DayMonth(last) + " " + strconv.Itoa(last.Year())
	}
	return dayRangeIn(l, first, last) + " " + strconv.Itoa(last.Year())
}

// dayRangeIn is "19–25 Oct", "28 Sep – 4 Oct" or "3 Oct" in l.
func dayRangeIn(l *locale.Locale, a, b time.Time) string {
	switch {
	case a.Equal(b):
		return l.DayMonth(a)
	case a.Month() == b.Month() && a.Year() == b.Year():
		return strconv.Itoa(a.Day()) + "–" + l.DayMonth(b)
	}
	return l.DayMonth(a) + " – " + l.DayMonth(b)
}

// categoryTitle is a time category in l; a category a newer mapping knows
// keeps its title.
func categoryTitle(l *locale.Locale, id, title string) string {
	for _, c := range categories {
		if c.id == id {
			return l.T("category." + id)
		}
	}
	return title
}

// taskTitle is a task's title, or the time on no task in l.
func taskTitle(l *locale.Locale, t TaskRef) string {
	if t.Source == "" && t.ID == "" && t.Title == noTaskTitle {
		return l.T("task.none")
	}
	return t.Title
}

// personText is a person's name, or nobody known in l.
func personText(l *locale.Locale, name string) string {
	if name == unknownPerson {
		return l.T("person.unknown")
	}
	return name
}

// policyTitle is an SLA policy in l: the catalog's policy.<id>, or title
// for a policy the catalog does not know.
func policyTitle(l *locale.Locale, id, title string) string { return l.Or("policy."+id, title) }

func location(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// statusText is a task's status as the client knows it: the source's name
// for it (the list), else the normalized status in words.
func statusText(l *locale.Locale, t TaskRef) string {
	if t.SourceStatus != "" {
		return t.SourceStatus
	}
	if t.Status == "" {
		return ""
	}
	return l.T("status." + t.Status)
}

// personStatusText says a person's load ("" for a load in the norm).
func personStatusText(l *locale.Locale, status string) string {
	if status == "" || status == "ok" {
		return ""
	}
	return l.T("capacity.person." + status)
}

// clientStatusText says whether a client gets its share of time.
func clientStatusText(l *locale.Locale, status string) string {
	return l.T("capacity.client." + status)
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
	l := locale.For(r.Language)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	h := func(v float64) string { return l.Num(v, 1) }
	day := func(t time.Time) string { return l.Day(t.In(loc)) }
	w("## %s\n\n", mdText(l.T("hours.subject", "Client", r.Client.Name, "Period", periodTitle(l, r.Period))))
	w("%s (%s)", l.T("period.range", "First", r.Period.First, "Last", r.Period.Last), mdText(r.Period.TimeZone))
	if !r.Complete {
		w(", %s", l.T("period.so_far"))
	}
	w(". %s\n\n", mdText(l.T("md.prepared_by", "Agency", r.Agency)))
	if bu := r.Budget; bu != nil {
		w("**%s:** %s", l.T("md.budget"), l.T("md.budget_used", "Used", l.N("unit.hours", bu.UsedHours), "Budget", l.N("unit.hours", bu.BudgetHours),
			"Percent", fmtPercent(l, bu.UsedPercent)))
		if bu.CarriedOverHours > 0 {
			w(", %s", l.T("md.carried", "Hours", h(bu.CarriedOverHours)))
		} else if bu.CarriedOverHours < 0 {
			w(", %s", l.T("budget.taken_back", "Hours", h(-bu.CarriedOverHours)))
		}
		if bu.RemainingHours >= 0 {
			w("; %s.\n", l.T("md.left", "Hours", h(bu.RemainingHours)))
		} else {
			w("; %s.\n", l.T("budget.over_value", "Hours", h(-bu.RemainingHours)))
		}
	}
	w("**%s:** %s\n\n", l.T("md.hours"), l.T("md.hours_line", "Total", l.N("unit.hours", r.Totals.Hours),
		"Billable", h(r.Totals.BillableHours), "NonBillable", h(r.Totals.NonBillableHours)))
	if c := r.Cabinet; c != nil {
		w("**%s:** %s: %s. %s\n\n", l.T("cabinet.link"), l.T("cabinet.what"), mdURL(c.URL), l.T("cabinet.until", "Date", l.Date(c.Expires.In(loc))))
	}

	w("### %s\n\n", l.T("section.by_category"))
	for _, c := range r.Categories {
		w("- %s: %s %s", mdText(categoryTitle(l, c.Category, c.Title)), h(c.Hours), l.T("unit.h"))
		if c.NonBillableSeconds > 0 && c.Category != "non_billable" {
			w(", %s", l.T("category.of_it_not_billable", "Hours", h(float64(c.NonBillableSeconds)/3600)))
		}
		w("\n")
	}
	w("\n### %s\n\n", l.T("section.by_person"))
	for _, p := range r.People {
		w("- %s: %s %s\n", mdText(personText(l, p.Name)), h(p.Hours), l.T("unit.h"))
	}
	if len(r.People) == 0 {
		w("- %s\n", l.T("empty.no_time"))
	}
	w("\n### %s\n\n", l.T("section.by_task"))
	for _, t := range r.Tasks {
		w("- %s", mdLink(taskTitle(l, t.TaskRef), t.URL))
		if s := statusText(l, t.TaskRef); s != "" {
			w(" (%s)", mdText(s))
		}
		if t.OutOfScope {
			w(" *%s*", l.T("tag.out_of_scope"))
		}
		w(": %s %s\n", h(t.Hours), l.T("unit.h"))
	}
	if len(r.Tasks) == 0 {
		w("- %s\n", l.T("empty.no_time"))
	}
	w("\n### %s: %s %s\n\n", l.T("section.out_of_scope"), h(r.OutOfScope.Hours), l.T("unit.h"))
	w("%s\n\n", l.T("oos.explain", "Labels", mdQuoted(l, r.OutOfScope.Labels)))
	for _, t := range r.OutOfScope.Tasks {
		w("- %s: %s %s\n", mdLink(taskTitle(l, t.TaskRef), t.URL), h(t.Hours), l.T("unit.h"))
	}
	mdEvents(&b, l, l.T("section.requested_by", "Client", mdText(r.Client.Name))+fmt.Sprintf(" (%d)", len(r.ClientCreated)), r.ClientCreated, loc)
	w("\n### %s (%d)\n\n", l.T("section.rework"), len(r.Rework))
	for _, rw := range r.Rework {
		w("- %s: %s, %s\n", mdLink(rw.Title, rw.URL), l.N("rework.times", rw.Times), l.T("rework.last", "Day", day(rw.LastAt)))
	}
	mdEvents(&b, l, fmt.Sprintf("%s (%d)", l.T("section.done_untracked"), len(r.DoneUntracked)), r.DoneUntracked, loc)

	s := r.SLA
	w("\n### %s\n\n", l.T("section.promises"))
	if s.Answered > 0 {
		w("- %s\n", l.N("md.replies", s.Answered, "Median", fmtBusiness(l, s.MedianSeconds), "P90", fmtBusiness(l, s.P90Seconds)))
	} else {
		w("- %s\n", l.T("md.no_replies"))
	}
	if s.Unanswered > 0 {
		w("- %s.\n", l.N("sla.await_reply", s.Unanswered))
	}
	w("- %s: %d", l.T("md.broken"), len(s.Breaches))
	if s.Waived > 0 {
		w(", %s", l.T("md.of_which_waived", "N", s.Waived))
	}
	w(".\n")
	for _, br := range s.Breaches {
		w("  - %s: %s, %s", mdText(policyTitle(l, br.Policy, br.PolicyTitle)), mdLink(br.Title, br.URL), day(br.BreachedAt))
		if br.Waived {
			w(", %s: %s", l.T("tag.waived"), mdText(br.Reason))
		}
		w("\n")
	}
	return []byte(b.String())
}

func mdQuoted(l *locale.Locale, labels []string) string {
	q := make([]string, len(labels))
	for i, lb := range labels {
		q[i] = l.T("format.quoted", "Text", mdText(lb))
	}
	return joinOr(l, q)
}

func joinOr(l *locale.Locale, list []string) string {
	if len(list) <= 1 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " " + l.T("format.or") + " " + list[len(list)-1]
}

func mdEvents(b *strings.Builder, l *locale.Locale, heading string, ev []TaskEvent, loc *time.Location) {
	fmt.Fprintf(b, "\n### %s\n\n", heading)
	for _, e := range ev {
		fmt.Fprintf(b, "- %s", mdLink(e.Title, e.URL))
		if s := statusText(l, e.TaskRef); s != "" {
			fmt.Fprintf(b, " (%s)", mdText(s))
		}
		fmt.Fprintf(b, ", %s", l.Day(e.At.In(loc)))
		if e.Person != "" {
			fmt.Fprintf(b, ", %s", mdText(personText(l, e.Person)))
		}
		b.WriteString("\n")
	}
}

func capacityMarkdown(r *Capacity) []byte {
	l := locale.For(r.Language)
	h := func(v float64) string { return capHours(l, v) }
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	t := r.Totals
	w("## %s\n\n", mdText(r.subject()))
	w("%s (%s)", l.T("period.range", "First", r.Period.First, "Last", r.Period.Last), mdText(r.Period.TimeZone))
	if !r.Complete {
		w(", %s", l.T("capacity.gone", "Share", fmtPercent(l, r.Elapsed*100)))
	}
	w(".\n\n**%s**\n\n", mdText(capacityAnswer(r, l)))
	w("- %s\n", l.N("capacity.md_capacity", t.People, "Hours", h(t.CapacityHours)))
	w("- %s\n", l.T("capacity.md_budgets", "Budgets", h(t.CommittedHours), "Clients", h(t.ClientHours), "Internal", h(t.InternalHours)))
	w("- %s\n", l.T("capacity.md_demand", "Demand", h(t.DemandHours), "Headroom", h(t.HeadroomHours)))
	w("\n### %s\n\n", l.T("capacity.people"))
	for _, p := range r.People {
		w("- %s: %s %s", mdText(capPerson(l, p.ID, p.Name)), h(p.Hours), l.T("unit.h"))
		if p.CapacityHours > 0 {
			w(" %s", l.T("capacity.md_so_far", "Hours", h(p.CapacityToDateHours), "Share", fmtPercent(l, p.Utilization*100)))
		}
		w("; %s", l.T("capacity.md_split", "Clients", h(p.ClientHours), "Internal", h(p.InternalHours)))
		if s := personStatusText(l, p.Status); s != "" {
			w(", **%s**", s)
		}
		w("\n")
	}
	w("\n### %s\n\n", l.T("capacity.clients"))
	for _, c := range r.Clients {
		w("- %s: %s", mdText(c.Name), l.T("capacity.md_billable", "Hours", h(c.BillableHours)))
		if c.BudgetHours > 0 {
			w(" %s", l.T("capacity.md_budget", "Budget", h(c.BudgetHours), "Expected", h(c.ExpectedToDateHours)))
		}
		w(", **%s**\n", clientStatusText(l, c.Status))
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

// hoursCSV is one row per time entry: an accountant reconciles an invoice
// against the tracker entry by entry, and pivots by task, person or
// category in the spreadsheet; a row per task would hide who logged what
// when, and the entry id lets a disputed line be found in the tracker.
func hoursCSV(r *Hours) ([]byte, error) {
	// The headers and yes/no are in the client's language; the numbers
	// stay as a program reads them (a point, no grouping), and the
	// category is its id.
	l := locale.For(r.Language)
	var header []string
	for _, c := range []string{"date", "client_id", "client", "person", "task", "task_url", "task_status", "project", "category",
		"billable", "out_of_scope", "hours", "seconds", "note", "source", "entry_id"} {
		header = append(header, l.T("csv."+c))
	}
	yesNo := func(b bool) string { return l.T(map[bool]string{true: "csv.yes", false: "csv.no"}[b]) }
	rows := [][]string{header}
	for _, e := range r.Entries {
		rows = append(rows, []string{e.Date, csvCell(e.ClientID), csvCell(r.Client.Name), csvCell(personText(l, e.Person)), csvCell(taskTitle(l, e.Task)),
			csvCell(e.Task.URL), csvCell(statusText(l, e.Task)), csvCell(e.Project), csvCell(e.Category), yesNo(e.Billable),
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
