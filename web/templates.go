package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/sla"
)

// localFuncs are the functions whose words and numbers follow the
// page's language: the client cabinet speaks the client's, the agency's
// pages the agency's (English, as they are not translated yet). English
// numbers stay plain (no digit grouping), as the pages always wrote them.
func localFuncs(l *locale.Locale) template.FuncMap {
	num := func(f float64, prec int) string {
		if l.Code() == "en" {
			return strconv.FormatFloat(f, 'f', prec, 64)
		}
		return l.Num(f, prec)
	}
	when := func(t any) string {
		var x time.Time
		switch v := t.(type) {
		case time.Time:
			x = v
		case *time.Time:
			if v != nil {
				x = *v
			}
		}
		if x.IsZero() {
			return ""
		}
		return l.Instant(x.UTC()) + " UTC"
	}
	return template.FuncMap{
		"t":     l.T,
		"tn":    l.N,
		"when":  when,
		"hours": func(h float64) string { return num(h, 2) },
		"h1":    func(h float64) string { return num(h, 1) },
		"pct":   func(p float64) string { return l.T("unit.percent", "N", num(math.Round(p), 0)) },
		"share": func(f float64) string { return l.T("unit.percent", "N", num(math.Round(f*100), 0)) },
		"secs": func(s int64) string {
			if s <= 0 {
				return "–"
			}
			return num(float64(s)/3600, 1) + " " + l.T("unit.h")
		},
	}
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout").Funcs(funcs).Funcs(localFuncs(locale.For("en"))).Parse(string(layout))
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// Partials (_name.html) are shared by every page.
	for _, n := range names {
		if strings.HasPrefix(n, "templates/_") {
			if base, err = base.ParseFS(templateFS, n); err != nil {
				return nil, fmt.Errorf("partial %s: %w", n, err)
			}
		}
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		text, err := fs.ReadFile(templateFS, n)
		if err != nil {
			return nil, err
		}
		t, err := template.Must(base.Clone()).Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"iso": func(t any) string {
		switch x := t.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339)
		case *time.Time:
			if x != nil {
				return x.UTC().Format(time.RFC3339)
			}
		}
		return ""
	},
	"ago": func(now time.Time, t any) string {
		switch x := t.(type) {
		case time.Time:
			return humanDuration(now.Sub(x)) + " ago"
		case *time.Time:
			if x != nil {
				return humanDuration(now.Sub(*x)) + " ago"
			}
		}
		return ""
	},
	"neg": func(f float64) float64 { return -f },
	"state": func(s string) string {
		switch s {
		case sla.AtRisk:
			return "at risk"
		}
		return strings.ReplaceAll(s, "_", " ")
	},
	"label": func(s string) string {
		if s == "" {
			return "all"
		}
		return strings.ReplaceAll(s, "_", " ")
	},
	"sub":   func(a, b float64) float64 { return a - b },
	"minus": func(a, b int) int { return a - b },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}
