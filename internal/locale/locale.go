// Package locale is the client-facing text of karkas in the languages it
// ships: message catalogs (catalog/*.yaml, embedded) read by go-i18n, which
// knows CLDR's plural rules ("1 час, 2 часа, 5 часов, 21 час"), and
// numbers formatted by golang.org/x/text/message (decimal comma and digit
// grouping by the language). go-i18n rather than x/text's own catalogs:
// its message files are plain YAML a translator edits, with plural forms
// inline, and need no code generator in the build.
//
// A message id the catalog of a language lacks falls back to English; a
// test keeps every id present in every language and used somewhere.
package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/karkas/karkas/sla"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

//go:embed catalog/*.yaml
var catalogs embed.FS

// Supported are the languages with a catalog, English first.
var Supported = []string{"en", "ru", "bg", "de"}

// Locale is one language's text and number formats.
type Locale struct {
	code string
	lz   *i18n.Localizer
	p    *message.Printer
}

var (
	bundleOnce sync.Once
	bundle     *i18n.Bundle
	bundleErr  error
	locales    sync.Map // code -> *Locale
)

func load() (*i18n.Bundle, error) {
	bundleOnce.Do(func() {
		b := i18n.NewBundle(language.English)
		b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
		files, err := fs.Glob(catalogs, "catalog/*.yaml")
		if err != nil {
			bundleErr = err
			return
		}
		for _, f := range files {
			raw, err := catalogs.ReadFile(f)
			if err != nil {
				bundleErr = err
				return
			}
			if _, err := b.ParseMessageFileBytes(raw, path.Base(f)); err != nil {
				bundleErr = fmt.Errorf("catalog %s: %w", f, err)
				return
			}
		}
		if err := addPolicyWords(b); err != nil {
			bundleErr = err
			return
		}
		bundle = b
	})
	return bundle, bundleErr
}

// addPolicyWords adds each SLA policy's words, which its row in
// sla.Policies holds rather than the catalogs, so that a policy is added in
// one place: policy.NAME is its title, push.policy.NAME its notice and
// policy_label.NAME its label in the agency's filters.
func addPolicyWords(b *i18n.Bundle) error {
	for _, p := range sla.Policies {
		for lang, w := range p.Words {
			tag, err := language.Parse(lang)
			if err != nil {
				return fmt.Errorf("policy %s: words in %q: %w", p.Name, lang, err)
			}
			if err := b.AddMessages(tag,
				&i18n.Message{ID: "policy." + p.Name, Other: w.Title},
				&i18n.Message{ID: "push.policy." + p.Name, Other: w.Notice},
				&i18n.Message{ID: "policy_label." + p.Name, Other: w.Label}); err != nil {
				return fmt.Errorf("policy %s: %w", p.Name, err)
			}
		}
	}
	return nil
}

// Valid tells whether lang (BCP 47: ru, bg-BG, de-AT) is a supported
// language or a variant of one.
func Valid(lang string) bool {
	_, ok := match(lang)
	return ok
}

// match is the supported language lang names.
func match(lang string) (string, bool) {
	tag, err := language.Parse(lang)
	if err != nil {
		return "", false
	}
	base, _ := tag.Base()
	for _, s := range Supported {
		if base.String() == s {
			return s, true
		}
	}
	return "", false
}

// For is the locale of lang, English when lang is empty or not supported
// (the config's validation refuses those).
func For(lang string) *Locale {
	code, ok := match(lang)
	if !ok {
		code = "en"
	}
	if l, ok := locales.Load(code); ok {
		return l.(*Locale)
	}
	b, err := load()
	if err != nil {
		panic(err) // the catalogs are embedded: a broken one fails every test
	}
	tag := language.MustParse(code)
	l := &Locale{code: code, lz: i18n.NewLocalizer(b, code), p: message.NewPrinter(tag)}
	locales.Store(code, l)
	return l
}

// Code is the language's code: en, ru, bg, de.
func (l *Locale) Code() string { return l.code }

// T is the message id with the named values: T("hours.subject", "Client",
// name, "Period", title).
func (l *Locale) T(id string, kv ...any) string {
	return l.localize(id, nil, kv)
}

// Or is the message id, or fallback when the catalogs have no such id (a
// policy, status or category named by a newer karkas or by the config).
func (l *Locale) Or(id, fallback string) string {
	if s := l.T(id); s != id {
		return s
	}
	return fallback
}

// N is the message id in the plural form count takes; count is .Count in
// the message, formatted as a number of the language. A float keeps up to
// one decimal ("1,5 часа", "2 часа").
func (l *Locale) N(id string, count any, kv ...any) string {
	var operand, shown string
	switch c := count.(type) {
	case int:
		operand, shown = strconv.Itoa(c), l.Int(c)
	case int64:
		operand, shown = strconv.FormatInt(c, 10), l.Int(int(c))
	case float64:
		operand = strings.TrimSuffix(strconv.FormatFloat(c, 'f', 1, 64), ".0")
		shown = l.Num(c, -1)
	default:
		operand, shown = fmt.Sprint(c), fmt.Sprint(c)
	}
	return l.localize(id, operand, append([]any{"Count", shown}, kv...))
}

func (l *Locale) localize(id string, count any, kv []any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		data[fmt.Sprint(kv[i])] = kv[i+1]
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if count != nil {
		cfg.PluralCount = count
	}
	s, err := l.lz.Localize(cfg)
	if err != nil && s == "" {
		return id // a test keeps every id in every catalog
	}
	return s
}

// Num is f with prec decimals in the language's digits and separators
// ("1 234,50" in Russian); prec -1 keeps one decimal, none when it is 0
// ("1,5", "2").
func (l *Locale) Num(f float64, prec int) string {
	if prec < 0 {
		if strconv.FormatFloat(f, 'f', 1, 64) == strconv.FormatFloat(f, 'f', 0, 64)+".0" {
			return l.p.Sprintf("%.0f", f)
		}
		return l.p.Sprintf("%.1f", f)
	}
	return l.p.Sprintf("%.*f", prec, f)
}

// Int is n in the language's digit grouping.
func (l *Locale) Int(n int) string { return l.p.Sprintf("%d", n) }

// Month is the month's name as a title says it ("October", "Октябрь").
func (l *Locale) Month(m time.Month) string { return l.T(fmt.Sprintf("month.%d", int(m))) }

// MonthShort is the month's short name after a day ("Oct", "окт").
func (l *Locale) MonthShort(m time.Month) string { return l.T(fmt.Sprintf("month_short.%d", int(m))) }

// Weekday is the day's short name ("Mon", "пн").
func (l *Locale) Weekday(d time.Weekday) string { return l.T(fmt.Sprintf("weekday.%d", int(d))) }

// Day is "Mon 2 Oct" in the language.
func (l *Locale) Day(t time.Time) string {
	return l.T("format.day", "Weekday", l.Weekday(t.Weekday()), "Day", t.Day(), "Month", l.MonthShort(t.Month()))
}

// DayMonth is "2 Oct".
func (l *Locale) DayMonth(t time.Time) string {
	return l.T("format.day_month", "Day", t.Day(), "Month", l.MonthShort(t.Month()))
}

// Date is "2 October 2026" ("2 октября 2026 г.").
func (l *Locale) Date(t time.Time) string {
	return l.T("format.date", "Day", t.Day(), "Month", l.T(fmt.Sprintf("month_of.%d", int(t.Month()))), "Year", t.Year())
}

// Instant is "Mon 2 Oct 15:04".
func (l *Locale) Instant(t time.Time) string { return l.Day(t) + " " + t.Format("15:04") }
