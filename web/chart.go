package web

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/report"
)

// chartSVG is the burn chart's geometry: the report's cumulative billable
// hours per day or week as bars, the budget as a line and the projection
// as a dashed line from today's bar to the month's end. The template
// draws it as inline SVG (attributes only: the page's CSP allows no
// inline style) and lists the same numbers in a table.
type chartSVG struct {
	W, H, Left, Bottom, Top float64
	Bars                    []chartBar
	Ticks                   []chartTick
	HasBudget               bool
	Budget, BudgetY         float64
	HasProjection           bool
	Projected               float64
	PX1, PY1, PX2, PY2      float64
	Unit                    string
	Points                  []report.ChartPoint
}

type chartBar struct {
	X, Y, W, H float64
	Label      string
	Cumulative float64
	Hours      float64
	LabelX     float64
	Future     bool
}

type chartTick struct {
	Y     float64
	Label string
}

// burnChart draws h's chart; lang names its days and months (the
// cabinet's is the client's language; "" is English, as the model labels
// them).
func burnChart(h *report.Hours, projected float64, lang string) chartSVG {
	points := slices.Clone(h.Chart.Points)
	if lang != "" && lang != "en" {
		l := locale.For(lang)
		for i, p := range points {
			if t, err := time.Parse(time.DateOnly, p.First); err == nil {
				if h.Chart.Unit == "month" {
					points[i].Label = l.MonthShort(t.Month())
				} else {
					points[i].Label = l.DayMonth(t)
				}
			}
		}
	}
	c := chartSVG{W: 640, H: 260, Left: 44, Bottom: 28, Top: 12, Unit: h.Chart.Unit, Points: points}
	top := h.Chart.BudgetHours
	for _, p := range h.Chart.Points {
		top = math.Max(top, p.CumulativeHours)
	}
	if !h.Complete {
		top = math.Max(top, projected)
	}
	if top <= 0 {
		top = 1
	}
	top = niceCeil(top * 1.08)
	plotH := c.H - c.Bottom - c.Top
	plotW := c.W - c.Left - 8
	y := func(v float64) float64 { return round1(c.Top + plotH*(1-v/top)) }
	n := float64(max(1, len(h.Chart.Points)))
	slot := plotW / n
	today := h.GeneratedAt.Format(time.DateOnly)
	current := -1
	for i, p := range points {
		b := chartBar{X: round1(c.Left + float64(i)*slot + slot*0.15), W: round1(slot * 0.7), Label: p.Label,
			Cumulative: p.CumulativeHours, Hours: p.Hours, LabelX: round1(c.Left + float64(i)*slot + slot/2)}
		b.Y = y(p.CumulativeHours)
		b.H = round1(c.Top + plotH - b.Y)
		if p.First > today {
			b.Future = true
		}
		if p.First <= today && today <= p.Last {
			current = i
		}
		c.Bars = append(c.Bars, b)
	}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		c.Ticks = append(c.Ticks, chartTick{Y: y(v), Label: fmt.Sprintf("%g", math.Round(v*10)/10)})
	}
	if h.Budget != nil && h.Budget.BudgetHours > 0 {
		c.HasBudget, c.Budget, c.BudgetY = true, h.Budget.BudgetHours, y(h.Budget.BudgetHours)
	}
	if !h.Complete && current >= 0 && projected > 0 {
		b := c.Bars[current]
		c.HasProjection, c.Projected = true, math.Round(projected*100)/100
		c.PX1, c.PY1 = round1(b.X+b.W/2), b.Y
		c.PX2, c.PY2 = round1(c.Left+plotW), y(projected)
	}
	return c
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
