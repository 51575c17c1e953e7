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
		"ago": func(now time.Time, t any) string {
			switch x := t.(type) {
			case time.Time:
				return l.T("agency.ago", "D", humanDuration(l, now.Sub(x)))
			case *time.Time:
				if x != nil {
					return l.T("agency.ago", "D", humanDuration(l, now.Sub(*x)))
				}
			}
			return ""
		},
		// state is a clock's state in words; label a filter's or a
		// status's name (policies, task stages, client loads, delivery
		// statuses; "" is all).
		"state": func(s string) string { return l.Or("agency.state."+s, strings.ReplaceAll(s, "_", " ")) },
		"label": func(s string) string {
			if s == "" {
				return l.T("agency.label.all")
			}
			return l.Or("agency.label."+s, strings.ReplaceAll(s, "_", " "))
		},
		// policy is a policy's label in the agency's filters ("" is all).
		"policy": func(s string) string {
			if s == "" {
				return l.T("agency.label.all")
			}
			return l.Or("policy_label."+s, strings.ReplaceAll(s, "_", " "))
		},
		"category": func(id, title string) string { return l.Or("category."+id, title) },
		"t":        l.T,
		"tn":       l.N,
		"when":     when,
		"hours":    func(h float64) string { return num(h, 2) },
		"h1":       func(h float64) string { return num(h, 1) },
		"pct":      func(p float64) string { return l.T("unit.percent", "N", num(math.Round(p), 0)) },
		"share":    func(f float64) string { return l.T("unit.percent", "N", num(math.Round(f*100), 0)) },
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
	"neg":   func(f float64) float64 { return -f },
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
