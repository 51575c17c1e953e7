package locale

import (
	"github.com/karkas/karkas/sla"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// catalogKeys reads a catalog's ids and whether each is a plural message.
func catalogKeys(t *testing.T, lang string) map[string]bool {
	t.Helper()
	raw, err := catalogs.ReadFile("catalog/" + lang + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	out := map[string]bool{}
	for k, v := range m {
		_, plural := v.(map[string]any)
		out[k] = plural
	}
	// A policy's words are its row's in sla.Policies (TestPolicyWords).
	for _, p := range sla.Policies {
		if _, ok := p.Words[lang]; ok {
			out["policy."+p.Name], out["push.policy."+p.Name], out["policy_label."+p.Name] = false, false, false
		}
	}
	return out
}

// Every policy names itself in every language, and only in those.
func TestPolicyWords(t *testing.T) {
	for _, p := range sla.Policies {
		for _, lang := range Supported {
			w, ok := p.Words[lang]
			if !ok || w.Title == "" || w.Notice == "" || w.Label == "" {
				t.Errorf("policy %s: words in %s = %+v: give a title, a notice and a label", p.Name, lang, w)
			}
		}
		for lang := range p.Words {
			if !slices.Contains(Supported, lang) {
				t.Errorf("policy %s: words in %q, which has no catalog", p.Name, lang)
			}
		}
	}
	// What people read is the policy's row, in their language.
	ru := For("ru")
	if got := ru.T("policy.response"); got != sla.Policies[0].Words["ru"].Title {
		t.Errorf(`ru policy.response = %q`, got)
	}
	if got := For("de").T("push.policy.hour_budget"); got != "Stundenbudget" {
		t.Errorf(`de push.policy.hour_budget = %q`, got)
	}
	if got := ru.T("policy_label.untracked_work"); got != "без учёта времени" {
		t.Errorf(`ru policy_label.untracked_work = %q`, got)
	}
}

// Every id of the English catalog is in every other, plural where it is,
// and no catalog has an id English lacks.
func TestCatalogsComplete(t *testing.T) {
	en := catalogKeys(t, "en")
	for _, lang := range Supported[1:] {
		other := catalogKeys(t, lang)
		for k, plural := range en {
			p, ok := other[k]
			switch {
			case !ok:
				t.Errorf("%s: no %q", lang, k)
			case p != plural:
				t.Errorf("%s: %q is plural in one catalog and not in the other", lang, k)
			}
		}
		for k := range other {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is in no English catalog", lang, k)
			}
		}
	}
}

// dynamic are the id prefixes the code completes at run time, with the
// ids each must cover.
var dynamic = map[string][]string{
	"month.":           {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
	"month_of.":        {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
	"month_short.":     {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
	"weekday.":         {"0", "1", "2", "3", "4", "5", "6"},
	"category.":        {"production", "communication", "meeting", "non_billable"},
	"policy.":          sla.PolicyNames(),
	"status.":          {"backlog", "todo", "in_progress", "review", "waiting_client", "done", "archived"},
	"csv.":             {"date", "client_id", "client", "person", "task", "task_url", "task_status", "project", "category", "billable", "out_of_scope", "hours", "seconds", "note", "source", "entry_id", "yes", "no"},
	"chart.aria_":      {"day", "week", "month"},
	"web.chart.title_": {"day", "week", "month"},
	"web.chart.bar_":   {"day", "week", "month"},
	"web.chart.unit_":  {"day", "week", "month"},
	"push.policy.":     sla.PolicyNames(),
	"push.state.":      {"at_risk", "breached", "met", "resolved", "running", "paused", "withdrawn"},
	"capacity.person.": {"over", "light", "no_capacity"},
	"agency.state.":    {"running", "at_risk", "breached", "met", "resolved", "paused", "withdrawn"},
	// label names filter values, statuses and kinds the pages show.
	"agency.label.": {"open", "client", "agency", "unmapped", "backlog", "todo", "in_progress", "review", "waiting_client", "done", "archived",
		"on_track", "under_served", "ahead", "over_budget", "no_budget", "ok", "over", "light", "no_capacity",
		"pending", "held", "routed", "delivered", "failed", "folded", "skipped", "route", "notice", "digest", "summary", "report", "waived", "retried"},
	"policy_label.":    sla.PolicyNames(),
	"capacity.client.": {"on_track", "under_served", "ahead", "over_budget", "no_budget"},
}

var failRe = regexp.MustCompile(`s\.fail\(w, r, [a-z]+, http\.[A-Za-z]+, [a-z]+, "([a-z_]+)"`)

// Every id the code and the templates name is in the catalog, and every
// id of the catalog is named somewhere.
func TestCatalogKeysUsed(t *testing.T) {
	var files []string
	for _, glob := range []string{"../../report/*.go", "../../report/*.tmpl", "../../web/*.go", "../../web/templates/*.html",
		"../../push/*.go", "../../push/sinks/*.go", "*.go"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	used := map[string]bool{}
	re := regexp.MustCompile(`(?:\.T\(|\.N\(|\{\{-?\s*(?:t|tn)\s+|\(t |\(tn )"([a-z_]+\.[a-z_.0-9]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
			used[m[1]] = true
		}
		// The web UI's error pages name their message by its id.
		for _, m := range failRe.FindAllStringSubmatch(string(raw), -1) {
			used["agency.err."+m[1]] = true
		}
	}
	for prefix, ids := range dynamic {
		for _, id := range ids {
			used[prefix+id] = true
		}
	}
	en := catalogKeys(t, "en")
	var missing, unused []string
	for k := range used {
		if _, ok := en[k]; !ok && !strings.HasSuffix(k, ".") && !strings.HasSuffix(k, "_") {
			missing = append(missing, k)
		}
	}
	for k := range en {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unused)
	if len(missing) > 0 {
		t.Errorf("ids the code names that the catalog lacks: %v", missing)
	}
	if len(unused) > 0 {
		t.Errorf("ids of the catalog nothing names: %v", unused)
	}
	if len(used) < 100 {
		t.Errorf("only %d ids found in the code: is the pattern still right?", len(used))
	}
}

func TestPluralsAndNumbers(t *testing.T) {
	ru, bg, de, en := For("ru"), For("bg-BG"), For("de"), For("")
	for _, tc := range []struct {
		l    *Locale
		n    any
		want string
	}{
		{ru, 1, "1 час"}, {ru, 2, "2 часа"}, {ru, 5, "5 часов"}, {ru, 21, "21 час"}, {ru, 11, "11 часов"}, {ru, 1.5, "1,5 часа"},
		{bg, 1, "1 час"}, {bg, 2, "2 часа"}, {bg, 1.5, "1,5 часа"},
		{de, 1, "1 Stunde"}, {de, 2.5, "2,5 Stunden"},
		{en, 1, "1 hour"}, {en, 21, "21 hours"}, {en, 1.5, "1.5 hours"},
	} {
		if got := tc.l.N("unit.hours", tc.n); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.l.Code(), tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		l    *Locale
		want string
	}{{ru, "1\u00a0234,5"}, {bg, "1\u00a0234,5"}, {de, "1.234,5"}, {en, "1,234.5"}} {
		if got := tc.l.Num(1234.5, 1); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.l.Code(), got, tc.want)
		}
	}
	oct := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		got, want string
	}{
		{ru.Date(oct), "5 октября 2026 г."}, {ru.Day(oct), "пн, 5 окт"}, {bg.Date(oct), "5 октомври 2026 г."},
		{de.Day(oct), "Mo., 5. Okt."}, {en.Day(oct), "Mon 5 Oct"}, {ru.Month(time.October), "Октябрь"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
	if !Valid("ru-RU") || !Valid("bg") || Valid("fr") || Valid("not a tag") {
		t.Error("Valid")
	}
	if For("fr").Code() != "en" || !slices.Contains(Supported, "de") {
		t.Error("an unsupported language is not English")
	}
}
