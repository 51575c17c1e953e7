package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/internal/fakeapi"
)

// tracker is a fake as the command serves and changes it.
type tracker struct {
	// title names the tracker for people, kind for the config.
	title, kind string
	handler     http.Handler
	// path is the API root's path under the server's address ("/api"
	// for Clockify, "/v2" for Harvest).
	path  string
	close func()
	// arm arms a fault on the fake (the -fault flag).
	arm func(fakeapi.Fault)
	// env is the variable the config reads the token from.
	env, token string
	// account is the config's account option, "" when the tracker
	// needs none.
	account string
	// options are further source option lines, each with its comment.
	options []string
	clients []configClient
	// summary says what the fake holds; limits what it enforces.
	summary, limits string

	// recent lists the entries dated since (the month's first day) that
	// the team may still change; edit gives one more time and a new note;
	// remove deletes one; add logs one that ended a little before now and
	// returns its id and a description.
	recent func(since time.Time) []string
	edit   func(id string, more time.Duration, note string)
	remove func(id string)
	add    func(r *rand.Rand, now time.Time) (id, what string)
}

// configClient is a client as the config names it.
type configClient struct {
	name     string
	projects []string
}

// start builds the agency for o.kind at now and serves it on the fake's
// own test server; the command serves the same handler on its address.
func start(o options, now time.Time) (*tracker, error) {
	var t *tracker
	if o.kind == everhour.KindName {
		t = startEverhour(o, now)
	} else {
		a, err := newAgency(o.seed, o.entries, o.months, now)
		if err != nil {
			return nil, err
		}
		switch o.kind {
		case toggl.KindName:
			t = startToggl(a, o)
		case clockify.KindName:
			t = startClockify(a, now)
		case harvest.KindName:
			t = startHarvest(a, now)
		default:
			return nil, fmt.Errorf("no fake of %q", o.kind)
		}
	}
	return t, nil
}

// pathOf is the path of a fake's base URL.
func pathOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	return u.Path
}

// intro prints where the fake is, what it holds, the environment to
// export and the config.
func intro(w io.Writer, t *tracker, base string, o options) {
	fmt.Fprintf(w, "fake %s at %s: %s\n", t.title, base, t.summary)
	fmt.Fprintf(w, "limits: %s\n", t.limits)
	if o.activity > 0 {
		fmt.Fprintf(w, "activity: every %s an entry of this month is edited, one deleted and one added\n", o.activity)
	}
	fmt.Fprintf(w, "\nexport %s=%s\n\n", t.env, t.token)
	fmt.Fprintf(w, "# karkas.yaml: save it as is, or paste the clients and the source into yours\n")
	io.WriteString(w, configYAML(t, base, o))
	fmt.Fprintf(w, "\nthen, with the variable exported: karkas validate, karkas sync, karkas status (go run ./cmd/karkas from the repository)\n")
}

// configYAML is a config for the fake at base: the agency, its clients
// with their projects, and the source.
func configYAML(t *tracker, base string, o options) string {
	var b strings.Builder
	b.WriteString("agency: {name: Northwind Digital, domains: [northwind.agency]}\nclients:\n")
	seen := map[string]bool{}
	for i, c := range t.clients {
		id := slug(c.name)
		if id == "" || seen[id] {
			id = fmt.Sprintf("client%d", i+1)
		}
		seen[id] = true
		var projects []string
		for _, p := range c.projects {
			projects = append(projects, strconv.Quote(p))
		}
		fmt.Fprintf(&b, "  - {id: %s, name: %s, projects: [%s]}\n", id, strconv.Quote(c.name), strings.Join(projects, ", "))
	}
	// Tags (Everhour: task labels) and task names sort time into
	// categories; status shows communication apart.
	b.WriteString("time_categories:\n  - {category: communication, tags: [созвон], task_pattern: \"(?i)созвон|call|встреча\"}\n")
	fmt.Fprintf(&b, "sources:\n  - id: %s\n    kind: %s\n    options:\n      token: ${%s}\n", t.kind, t.kind, t.env)
	if t.account != "" {
		fmt.Fprintf(&b, "      account: %s\n", strconv.Quote(t.account))
	}
	fmt.Fprintf(&b, "      base_url: %s\n", base)
	// Never below reconcile_months (default 2), which validate checks.
	fmt.Fprintf(&b, "      backfill_months: %d   # the fake holds %s; a real account's default is 12\n",
		max(o.months, timetrack.DefaultReconcileMonths), plural(o.months, "month"))
	for _, l := range t.options {
		fmt.Fprintf(&b, "      %s\n", l)
	}
	return b.String()
}

var translit = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z", 'и': "i", 'й': "y",
	'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f",
	'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya",
}

// slug is a config id for a name: lower-case Latin letters and digits
// joined by "-", Cyrillic transliterated ("ООО Ромашка" is ooo-romashka).
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		s, ok := translit[r]
		switch {
		case ok:
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			s = string(r)
		default:
			dash = b.Len() > 0
			continue
		}
		if s == "" {
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteString(s)
	}
	return b.String()
}

// hm is a duration as people write it: 1h30m, 2h, 45m.
func hm(secs int64) string {
	h, m := secs/3600, secs/60%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// plural is "1 month", "3 months".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
