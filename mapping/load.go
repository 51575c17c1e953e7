package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // calendars must not depend on the server's zoneinfo

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/internal/secret"
	"gopkg.in/yaml.v3"
)

// LoadOptions tells Load what it cannot know by itself.
type LoadOptions struct {
	// LookupEnv reads the environment; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Secrets keeps every secret the config holds and reads its *_file
	// secrets (Decoder.Secrets; nil: read, not kept).
	Secrets *secret.Set
	// SourceOptions returns a fresh pointer to the options struct of a
	// source kind (with defaults), or false when the kind is unknown. When
	// nil, source kinds and options are not checked.
	SourceOptions func(kind string) (any, bool)
	// Kinds lists the known source kinds, for the error message.
	Kinds []string
	// Countries lists the country codes whose public holidays karkas
	// knows; when set, a calendar naming another country is an error.
	Countries []string
	// Sinks are the kinds of sink (push/sinks's registry): routing's
	// kinds are checked against them, their options decoded, and the
	// rules checked against what each kind can do. When nil, sink kinds
	// are not checked and their options are left to their user to decode.
	Sinks []SinkKind
}

// Loaded is a config with its decoded source options.
type Loaded struct {
	*Config
	// SourceOptions holds each source's decoded options, by source id.
	SourceOptions map[string]any
	// SinkOptions holds each routing sink's decoded options, by sink
	// name, when LoadOptions.Sinks was given.
	SinkOptions map[string]any
	// Warnings are problems that do not stop karkas.
	Warnings Problems
	// nodes are the decoder's: the value node of every path decoded.
	nodes map[string]*yaml.Node
}

// Position is the line and column of the value at path, written as
// problems name it ("sources[0].options.repos[1]",
// `routing.sinks["cards"].options`), or zeros when nothing was decoded
// there: for checks made after loading (a source that cannot open, a
// repository the service does not know) to point at the line.
func (l *Loaded) Position(path string) (line, col int) {
	if n, ok := l.nodes[path]; ok {
		return n.Line, n.Column
	}
	return 0, 0
}

// MaxConfigBytes caps the config file Load reads. A real karkas.yaml is a
// few kilobytes (two hundred clients fit in 300 KB); yaml.v3 holds the node
// tree of dense YAML at about seventy times the file's size, so the cap
// keeps a config under 150 MB of memory, and a runaway file (a generated
// one, /dev/zero) is refused before it costs gigabytes.
const MaxConfigBytes = 2 << 20

// Load reads, expands and validates the config at path. The error is a
// Problems value listing every error found; warnings come back in Loaded.
// A file over MaxConfigBytes is an error naming it, read no further.
func Load(path string, opts LoadOptions) (*Loaded, error) {
	data, err := ReadConfig(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// ReadConfig reads path whole, up to MaxConfigBytes: the limit holds for
// what is read, not what the file system says, so that a device or a
// file still growing is bounded too.
func ReadConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if int64(len(data)) > MaxConfigBytes {
		return nil, fmt.Errorf("reading config %s: larger than %d MiB (%d bytes), the most karkas reads of a config; is it the right file?",
			path, MaxConfigBytes>>20, MaxConfigBytes)
	}
	return data, nil
}

// Parse is Load on bytes already read; path names them in problems and
// anchors relative paths.
func Parse(path string, data []byte, opts LoadOptions) (*Loaded, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, Problems{syntaxProblem(path, err)}
	}
	d := &Decoder{File: path, LookupEnv: opts.LookupEnv, Secrets: opts.Secrets}
	cfg := &Config{File: path, BaseDir: filepath.Dir(path)}
	d.Decode(&root, cfg, "")
	l := &Loaded{Config: cfg, SourceOptions: map[string]any{}, SinkOptions: map[string]any{}}
	v := &validator{d: d, cfg: cfg, countries: opts.Countries, sinks: opts.Sinks}
	v.run()
	for i, s := range cfg.Sources {
		if opts.SourceOptions == nil || s.Kind == "" {
			continue
		}
		path := fmt.Sprintf("sources[%d]", i)
		o, ok := opts.SourceOptions(s.Kind)
		if !ok {
			d.errorf(d.At(path+".kind"), path+".kind", "%q is not one of: %s", s.Kind, strings.Join(opts.Kinds, ", "))
			continue
		}
		if s.Options.Kind != 0 {
			d.Decode(&s.Options, o, path+".options")
		}
		l.SourceOptions[s.ID] = o
	}
	if cfg.Routing != nil {
		for name, s := range cfg.Routing.Sinks {
			if k, ok := v.sinkKind(s.Kind); ok {
				o := k.Options()
				if s.Options.Kind != 0 {
					d.Decode(&s.Options, o, fmt.Sprintf("routing.sinks[%q].options", name))
				}
				l.SinkOptions[name] = o
			}
		}
	}
	sort.SliceStable(d.Problems, func(i, j int) bool {
		a, b := d.Problems[i], d.Problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	for _, p := range d.Problems {
		if p.Warning {
			l.Warnings = append(l.Warnings, p)
		}
	}
	l.nodes = d.Nodes
	if errs := d.Problems.Errors(); len(errs) > 0 {
		return l, errs
	}
	return l, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(path string, err error) Problem {
	p := Problem{File: path, Line: 1, Col: 1, Message: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &p.Line)
		p.Message = m[2]
	}
	if errors.Is(err, io.EOF) {
		p.Message = "the file is empty"
	}
	return p
}

// StoreURL is the store's URL with the default filled in and a relative
// SQLite path anchored at the config's folder.
func (c *Config) StoreURL() string {
	u := c.Store.URL
	if u == "" {
		u = "sqlite:karkas.db"
	}
	if rest, ok := strings.CutPrefix(u, "sqlite:"); ok {
		rest = strings.TrimPrefix(rest, "//")
		if !filepath.IsAbs(rest) && rest != ":memory:" {
			rest = filepath.Join(c.BaseDir, rest)
		}
		return "sqlite:" + rest
	}
	return u
}

type validator struct {
	d         *Decoder
	cfg       *Config
	countries []string
	sinks     []SinkKind
}

func (v *validator) errorf(path, format string, args ...any) {
	v.d.errorf(v.d.At(path), path, format, args...)
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

func (v *validator) run() {
	c := v.cfg
	if c.Agency.Calendar != "" {
		v.calendarRef("agency.calendar", c.Agency.Calendar)
	}
	if c.Agency.Language != "" && !locale.Valid(c.Agency.Language) {
		v.errorf("agency.language", "%q is not a language karkas speaks (%s)", c.Agency.Language, strings.Join(locale.Supported, ", "))
	}
	for name, cal := range c.Calendars {
		v.calendar(fmt.Sprintf("calendars[%q]", name), cal)
	}
	people := map[string]Person{}
	identities := map[string]string{} // "kind:value" -> path of first claim
	for i, p := range c.People {
		path := fmt.Sprintf("people[%d]", i)
		v.id(path+".id", p.ID, people)
		people[p.ID] = p
		if p.Side == SideClient && p.Client == "" {
			v.errorf(path, "a client-side person names their client (client: ID)")
		}
		if p.Side == SideAgency && p.Client != "" {
			v.errorf(path+".client", "an agency-side person belongs to no client")
		}
		if p.Calendar != "" {
			v.calendarRef(path+".calendar", p.Calendar)
		}
		if p.Capacity != nil && (!(*p.Capacity > 0) || *p.Capacity > 1) {
			v.errorf(path+".capacity", "must be more than 0 and at most 1 (a share of the calendar's hours), got %v", *p.Capacity)
		}
		claim := func(kind string, values []string, field string) {
			for j, val := range values {
				key := kind + ":" + strings.ToLower(strings.TrimSpace(val))
				fp := fmt.Sprintf("%s.%s[%d]", path, field, j)
				if first, dup := identities[key]; dup {
					v.errorf(fp, "%s identity %q is already claimed by %s", kind, val, first)
					continue
				}
				identities[key] = fp
			}
		}
		for _, f := range IdentityFields() {
			claim(f.Namespace, f.Values(&p), f.YAML)
		}
		for j, e := range p.Emails {
			if !strings.Contains(e, "@") {
				v.errorf(fmt.Sprintf("%s.emails[%d]", path, j), "%q is not an email address", e)
			}
		}
	}
	clients := map[string]Client{}
	owned := map[string]string{} // "boards:x" -> client id
	for _, cl := range c.Clients {
		clients[cl.ID] = cl
	}
	seen := map[string]Client{}
	for i, cl := range c.Clients {
		path := fmt.Sprintf("clients[%d]", i)
		v.id(path+".id", cl.ID, seen)
		seen[cl.ID] = cl
		if cl.Calendar != "" {
			v.calendarRef(path+".calendar", cl.Calendar)
		}
		if _, known := c.PolicySets[cl.PolicySet]; known && cl.Calendar == "" && c.Agency.Calendar == "" {
			// The clocks count business time: without a calendar none
			// would run, and nothing would say so.
			v.d.warnf(v.d.At(path+".policy_set"), path+".policy_set", "no calendar for its clocks (neither clients[].calendar nor agency.calendar): none of its policies is evaluated")
		}
		if cl.PolicySet != "" {
			if _, ok := c.PolicySets[cl.PolicySet]; !ok {
				v.errorf(path+".policy_set", "no policy set %q (known: %s)", cl.PolicySet, keys(c.PolicySets))
			}
		}
		for j, id := range cl.Contacts {
			p, ok := people[id]
			fp := fmt.Sprintf("%s.contacts[%d]", path, j)
			switch {
			case !ok:
				v.errorf(fp, "no person %q", id)
			case p.Side == SideAgency:
				v.errorf(fp, "%q is on the agency side, not a client contact", id)
			case p.Client != cl.ID:
				v.errorf(fp, "%q belongs to client %q", id, p.Client)
			}
		}
		for field, id := range map[string]string{"pm": cl.PM, "lead": cl.Lead} {
			if id == "" {
				continue
			}
			if p, ok := people[id]; !ok {
				v.errorf(path+"."+field, "no person %q", id)
			} else if p.Side == SideClient {
				v.errorf(path+"."+field, "%q is not on the agency side", id)
			}
		}
		if cl.Budget.MonthlyHours < 0 {
			v.errorf(path+".budget.monthly_hours", "must not be negative")
		}
		if b := cl.Budget; b.RolloverMax < 0 {
			v.errorf(path+".budget.rollover_max", "must not be negative")
		} else if (b.RolloverMax > 0 || b.CarryOverrun) && !b.Rollover {
			key := map[bool]string{true: "rollover_max", false: "carry_overrun"}[b.RolloverMax > 0]
			v.errorf(path+".budget."+key, "needs rollover: true")
		}
		if cl.Language != "" && !locale.Valid(cl.Language) {
			v.errorf(path+".language", "%q is not a language karkas speaks (%s)", cl.Language, strings.Join(locale.Supported, ", "))
		}
		if st := cl.Budget.Start; st != "" {
			if _, err := time.Parse("2006-01", st); err != nil {
				v.errorf(path+".budget.start", "%q is not a month like 2026-10", st)
			}
		}
		for j, l := range cl.OutOfScopeLabels {
			if strings.TrimSpace(l) == "" {
				v.errorf(fmt.Sprintf("%s.out_of_scope_labels[%d]", path, j), "a label name must not be empty")
			}
		}
		own := func(field string, values []string) {
			for j, val := range values {
				key := field + ":" + strings.ToLower(strings.TrimSpace(val))
				fp := fmt.Sprintf("%s.%s[%d]", path, field, j)
				if other, dup := owned[key]; dup {
					v.errorf(fp, "%q already belongs to client %q", val, other)
					continue
				}
				owned[key] = cl.ID
			}
		}
		for _, f := range ContainerFields() {
			own(f.YAML, f.Values(&cl))
		}
		for j, dom := range cl.Domains {
			for _, ad := range c.Agency.Domains {
				if strings.EqualFold(dom, ad) {
					v.errorf(fmt.Sprintf("%s.domains[%d]", path, j), "%q is the agency's own domain", dom)
				}
			}
		}
	}
	for i, p := range c.People {
		if p.Client != "" {
			if _, ok := clients[p.Client]; !ok {
				v.errorf(fmt.Sprintf("people[%d].client", i), "no client %q (known: %s)", p.Client, keys(clients))
			}
		}
	}
	sources := map[string]Source{}
	for i, s := range c.Sources {
		v.id(fmt.Sprintf("sources[%d].id", i), s.ID, sources)
		sources[s.ID] = s
		if s.Schedule != "" {
			if d, err := time.ParseDuration(s.Schedule); err != nil || d < time.Minute {
				v.errorf(fmt.Sprintf("sources[%d].schedule", i), "expected an interval of a minute or more, like 15m or 1h")
			}
		}
	}
	if sv := c.Serve; sv != nil {
		if sv.PublicURL != "" {
			if u, err := url.Parse(sv.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.errorf("serve.public_url", "expected an http(s) URL such as https://karkas.example.com")
			}
		}
		for _, l := range []struct{ path, addr string }{{"serve.listen", sv.Listen}, {"serve.metrics_listen", sv.MetricsListen}} {
			if _, _, err := net.SplitHostPort(l.addr); l.addr != "" && err != nil {
				v.errorf(l.path, "expected host:port, such as 127.0.0.1:8080 or :8080")
			}
		}
		if sv.DefaultSchedule != 0 && sv.DefaultSchedule < time.Minute {
			v.errorf("serve.default_schedule", "expected an interval of a minute or more, like 15m or 1h")
		}
		if sv.AttentionAfter < 0 {
			v.errorf("serve.attention_after", "expected a count from 1")
		}
		if sv.JobTimeout != 0 && sv.JobTimeout < 10*time.Second {
			v.errorf("serve.job_timeout", "expected 10s or more")
		}
		if w := sv.Web; w != nil {
			v.web(w, sv.PublicURL)
		}
	}
	for i, r := range c.Statuses {
		path := fmt.Sprintf("statuses[%d]", i)
		if (len(r.Match) == 0) == (r.Pattern == "") {
			v.errorf(path, "give either match (names) or pattern (a regular expression)")
		}
		if r.Pattern != "" {
			if _, err := regexp.Compile(r.Pattern); err != nil {
				v.errorf(path+".pattern", "bad regular expression: %v", err)
			}
		}
		if r.Source != "" {
			if _, ok := sources[r.Source]; !ok && !kindUsed(c.Sources, r.Source) {
				v.errorf(path+".source", "no source or source kind %q in sources", r.Source)
			}
		}
	}
	for i, r := range c.TimeCategories {
		path := fmt.Sprintf("time_categories[%d]", i)
		if len(r.Tags) == 0 && r.TaskPattern == "" && len(r.Projects) == 0 && len(r.Labels) == 0 {
			v.errorf(path, "give at least one of tags, task_pattern, projects, labels")
		}
		if r.TaskPattern != "" {
			if _, err := regexp.Compile(r.TaskPattern); err != nil {
				v.errorf(path+".task_pattern", "bad regular expression: %v", err)
			}
		}
	}
	v.routing()
}

func (v *validator) web(w *Web, publicURL string) {
	if o := w.OIDC; o != nil {
		if u, err := url.Parse(o.Issuer); o.Issuer != "" && (err != nil || u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) || u.Host == "") {
			v.errorf("serve.web.oidc.issuer", "expected the provider's https URL, such as https://accounts.google.com")
		}
		if publicURL == "" {
			v.errorf("serve.web.oidc", "needs serve.public_url: the provider sends people back to PUBLIC_URL/login/oidc/callback")
		}
		if len(o.Domains) == 0 && len(v.cfg.Agency.Domains) == 0 {
			v.errorf("serve.web.oidc.domains", "name the email domains that may sign in (or set agency.domains)")
		}
	}
	if c := w.Cabinet; c != nil && c.Notes != "" && c.Notes != CabinetNotesNone && c.Notes != CabinetNotesBillable && c.Notes != CabinetNotesAll {
		v.errorf("serve.web.cabinet.notes", "expected none, billable or all")
	}
}

// isLoopback tells a host on this machine: a test's provider.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func kindUsed(sources []Source, kind string) bool {
	for _, s := range sources {
		if s.Kind == kind {
			return true
		}
	}
	return false
}

func (v *validator) id(path, id string, seen any) {
	if id == "" {
		return
	}
	if !idPattern.MatchString(id) {
		v.errorf(path, "%q: ids use lowercase letters, digits, '-', '_' and '.'", id)
	}
	var dup bool
	switch m := seen.(type) {
	case map[string]Person:
		_, dup = m[id]
	case map[string]Client:
		_, dup = m[id]
	case map[string]Source:
		_, dup = m[id]
	}
	if dup {
		v.errorf(path, "id %q is used twice", id)
	}
}

func (v *validator) calendarRef(path, name string) {
	if _, ok := v.cfg.Calendars[name]; !ok {
		v.errorf(path, "no calendar %q (known: %s)", name, keys(v.cfg.Calendars))
	}
}

var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// ParseDays turns "mon", "mon-fri" or "sat,sun" into weekday indexes (0 = Monday).
func ParseDays(spec string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(spec, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		from, to, isRange := strings.Cut(part, "-")
		a, b := indexOf(dayNames, from), indexOf(dayNames, to)
		if !isRange {
			b = a
		}
		if a < 0 || b < 0 || b < a {
			return nil, fmt.Errorf("%q is not a day or day range (mon, tue, ..., sun; e.g. mon-fri)", part)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

var hhmm = regexp.MustCompile(`^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$`)

// ParseInterval reads "09:00-13:00" as minutes since midnight.
func ParseInterval(s string) (from, to int, err error) {
	m := hhmm.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not an interval like 09:00-13:00", s)
	}
	// strconv, not fmt.Sscan: Sscan reads "09" as an octal prefix and
	// stops at the 9, which made 09:00 midnight.
	n := func(s string) int { v, _ := strconv.Atoi(s); return v } // the pattern admits digits only
	from, to = n(m[1])*60+n(m[2]), n(m[3])*60+n(m[4])
	if from >= to || to > 24*60 {
		return 0, 0, fmt.Errorf("%q ends before it starts", s)
	}
	return from, to, nil
}

func (v *validator) calendar(path string, cal Calendar) {
	if cal.TimeZone != "" {
		if _, err := time.LoadLocation(cal.TimeZone); err != nil || cal.TimeZone == "Local" {
			v.errorf(path+".time_zone", "%q is not an IANA time zone (e.g. Europe/Berlin)", cal.TimeZone)
		}
	}
	covered := map[int][]string{}
	for spec, intervals := range cal.Hours {
		kp := fmt.Sprintf("%s.hours[%q]", path, spec)
		days, err := ParseDays(spec)
		if err != nil {
			v.errorf(kp, "%v", err)
			continue
		}
		for _, day := range days {
			if prev, ok := covered[day]; ok {
				v.errorf(kp, "%s is already given by %q", dayNames[day], prev[0])
			}
			covered[day] = []string{spec}
		}
		last := -1
		for j, iv := range intervals {
			from, to, err := ParseInterval(iv)
			ip := fmt.Sprintf("%s[%d]", kp, j)
			if err != nil {
				v.errorf(ip, "%v", err)
				continue
			}
			if from < last {
				v.errorf(ip, "intervals must be in order and not overlap")
			}
			last = to
		}
	}
	for field, dates := range map[string][]string{"holidays": cal.Holidays, "working_days": cal.WorkingDays} {
		for j, s := range dates {
			if _, err := time.Parse("2006-01-02", s); err != nil {
				v.errorf(fmt.Sprintf("%s.%s[%d]", path, field, j), "%q is not a date like 2026-12-25", s)
			}
		}
	}
	switch {
	case cal.Country == "":
	case !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(cal.Country):
		v.errorf(path+".country", "%q is not a two-letter ISO country code like DE", cal.Country)
	case v.countries != nil && indexOf(v.countries, cal.Country) < 0:
		v.errorf(path+".country", "no public holidays known for %q (known: %s); list them under holidays:", cal.Country, strings.Join(v.countries, ", "))
	}
}

func keys[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none defined"
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}
