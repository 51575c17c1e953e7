package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"html/template"
	"math"
	"sync"
	"time"

	"github.com/karkas/karkas/internal/locale"
)

// The HTML reports are one self-contained page each: styles inline, the
// chart as inline SVG, no script, font, image or other request, so that a
// mail client, a phone or a PDF printer shows them as written. Every value
// goes through html/template, which escapes it for where it lands (text,
// attribute, URL): a task titled "<script>" is text, and a link that is not
// http(s) was dropped before (SafeURL) and would be defused here too.

//go:embed report.html.tmpl
var pageText string

// funcs are the template's functions in a language: numbers, durations
// and the words for statuses, categories and policies.
func funcs(l *locale.Locale) template.FuncMap {
	return template.FuncMap{
		"t":            l.T,
		"tn":           l.N,
		"hours":        func(h float64) string { return l.Num(h, 1) },
		"secHours":     func(s int64) string { return l.Num(float64(s)/3600, 1) },
		"business":     func(s int64) string { return fmtBusiness(l, s) },
		"pct":          func(p float64) string { return fmtPercent(l, p) },
		"share":        func(f float64) string { return fmtPercent(l, f*100) },
		"status":       func(t TaskRef) string { return statusText(l, t) },
		"times":        func(n int) string { return l.N("rework.times", n) },
		"category":     func(id, title string) string { return categoryTitle(l, id, title) },
		"policy":       func(id, title string) string { return policyTitle(l, id, title) },
		"taskTitle":    func(t TaskRef) string { return taskTitle(l, t) },
		"person":       func(name string) string { return personText(l, name) },
		"neg":          func(f float64) float64 { return -f },
		"personStatus": func(s string) string { return personStatusText(l, s) },
		"clientStatus": func(s string) string { return clientStatusText(l, s) },
		"capPerson":    func(id, name string) string { return capPerson(l, id, name) },
		"matrixClient": func(m CapacityMatrix) string {
			if m.ClientID == "" {
				return l.T("capacity.internal")
			}
			return m.Client
		},
		"quoted": func(labels []string) string {
			q := make([]string, len(labels))
			for i, lb := range labels {
				q[i] = l.T("format.quoted", "Text", lb)
			}
			return joinOr(l, q)
		},
		"underServed": func() string { return fmtPercent(l, underServed*100) },
		"barWidth":    func(f float64) float64 { return math.Round(min(1.5, max(0, f))/1.5*1000) / 10 },
	}
}

var (
	page  = template.Must(template.New("report").Funcs(funcs(locale.For("en"))).Parse(pageText))
	pages sync.Map // language code -> *template.Template
)

// pageFor is the page template speaking l's language.
func pageFor(l *locale.Locale) *template.Template {
	if t, ok := pages.Load(l.Code()); ok {
		return t.(*template.Template)
	}
	t := template.Must(page.Clone()).Funcs(funcs(l))
	pages.Store(l.Code(), t)
	return t
}

// htmlView is what the page template reads: the report and its zone-aware
// formatting, the chart's geometry, in the report's language.
type htmlView struct {
	Subject     string
	Lang        string
	PeriodTitle string
	Hours       *Hours
	Capacity    *Capacity
	// Answer is the capacity report's answer in its language.
	Answer string
	Chart  *chartView
	loc    *time.Location
	l      *locale.Locale
}

// Day, Instant and Date format instants in the report's zone and language.
func (v htmlView) Day(t time.Time) string     { return v.l.Day(t.In(v.loc)) }
func (v htmlView) Instant(t time.Time) string { return v.l.Instant(t.In(v.loc)) }

// Date is a day with its year, for what may be a year away.
func (v htmlView) Date(t time.Time) string { return v.l.Date(t.In(v.loc)) }

func renderHTML(r Report) ([]byte, error) {
	var v htmlView
	switch r := r.(type) {
	case *Hours:
		v.l = locale.For(r.Language)
		v.Hours, v.loc = r, location(r.Client.TimeZone)
		v.Chart = newChartView(r.Chart, v.l)
		v.PeriodTitle = periodTitle(v.l, r.Period)
	case *Capacity:
		// Agency-facing: the agency's language.
		v.l = locale.For(r.Language)
		v.Capacity, v.loc = r, location(r.Period.TimeZone)
		v.PeriodTitle = periodTitle(v.l, r.Period)
		v.Answer = capacityAnswer(r, v.l)
	default:
		return nil, nil
	}
	v.Lang, v.Subject = v.l.Code(), headerText(r.subject())
	var buf bytes.Buffer
	if err := pageFor(v.l).Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// chartView is the hour chart's geometry in SVG user units: one bar per
// point, the part cumulated before the point light and the point's own
// hours dark on top, the budget as a dashed line.
type chartView struct {
	Width, Height float64
	Left, Right   float64 // plot area's x bounds
	Top, Bottom   float64 // plot area's y bounds
	Bars          []barView
	Ticks         []tickView
	HasBudget     bool
	BudgetY       float64
	BudgetLabel   string
	Unit          string
	// Aria is the chart said in words, for a screen reader.
	Aria string
}

type barView struct {
	X, W, LabelX   float64
	PrevY, PrevH   float64
	NowY, NowH     float64
	ValueY         float64
	Label, Value   string
	Title          string
	Seconds, Cumul int64
	First, Last    string
	ShowLabel      bool
}

type tickView struct {
	Y     float64
	Label string
}

func newChartView(c Chart, l *locale.Locale) *chartView {
	// A narrow canvas keeps the 12-unit text legible on a phone, where the
	// SVG is scaled down to the screen; on a desktop the page caps its width.
	v := &chartView{Width: 420, Height: 232, Left: 34, Right: 412, Top: 18, Bottom: 204, Unit: c.Unit}
	top := c.BudgetHours
	for _, p := range c.Points {
		top = max(top, p.CumulativeHours)
	}
	step := niceStep(top / 4)
	top = math.Ceil(top*1.1/step) * step
	if top == 0 {
		top, step = 4, 1
	}
	y := func(h float64) float64 { return round2(v.Bottom - h/top*(v.Bottom-v.Top)) }
	for t := 0.0; t <= top+step/2; t += step {
		v.Ticks = append(v.Ticks, tickView{Y: y(t), Label: l.Num(t, -1)})
	}
	n := len(c.Points)
	slot := (v.Right - v.Left) / float64(max(n, 1))
	// Label every k-th bar so that labels (about 7 units a character at
	// 12 units) never overlap; the last bar always carries its value.
	widest := 0
	for _, p := range c.Points {
		widest = max(widest, len([]rune(chartLabel(l, c.Unit, p))), len([]rune(l.Num(p.CumulativeHours, 1))))
	}
	every := max(1, int(math.Ceil(float64(widest)*7*1.15/slot)))
	for i, p := range c.Points {
		prev := float64(p.CumulativeSeconds-p.Seconds) / 3600
		cum := float64(p.CumulativeSeconds) / 3600
		b := barView{X: round2(v.Left + slot*float64(i) + slot*0.15), W: round2(slot * 0.7), LabelX: round2(v.Left + slot*(float64(i)+0.5)),
			Label: chartLabel(l, c.Unit, p), Seconds: p.Seconds, Cumul: p.CumulativeSeconds, First: p.First, Last: p.Last,
			ShowLabel: i%every == 0}
		if i%every == 0 && (n-1-i) >= every || i == n-1 {
			b.Value = l.Num(cum, 1)
		}
		b.PrevY, b.PrevH = y(prev), round2(y(0)-y(prev))
		b.NowY, b.NowH = y(cum), round2(y(prev)-y(cum))
		b.ValueY = round2(y(cum) - 4)
		b.Title = l.T("chart.bar_title", "First", p.First, "Last", p.Last, "Hours", l.Num(p.Hours, 1), "Total", l.Num(cum, 1))
		v.Bars = append(v.Bars, b)
	}
	if c.BudgetHours > 0 {
		v.HasBudget, v.BudgetY = true, y(c.BudgetHours)
		v.BudgetLabel = l.T("chart.budget_label", "Hours", l.Num(c.BudgetHours, 1))
	}
	v.Aria = l.T("chart.aria_" + cmp.Or(c.Unit, "day"))
	if v.HasBudget {
		v.Aria += ", " + v.BudgetLabel
	}
	return v
}

// chartLabel is a bar's label: the day of the month for days, the start
// date for weeks, the month for months.
func chartLabel(l *locale.Locale, unit string, p ChartPoint) string {
	t, err := time.Parse(time.DateOnly, p.First)
	if err != nil {
		return p.Label
	}
	switch unit {
	case "day":
		return t.Format("2")
	case "month":
		return l.MonthShort(t.Month())
	}
	return l.DayMonth(t)
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}
