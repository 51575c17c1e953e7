package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// DefaultOutOfScopeLabels are the labels that mark work outside the
// contract when the caller names none.
var DefaultOutOfScopeLabels = []string{"out of scope"}

// HoursRequest asks for one client's hour report.
type HoursRequest struct {
	ClientID string
	// Period is read in the client's zone (ClientLocation).
	Period Period
	// Now is when the report is made: it says whether the period is over.
	Now time.Time
	// OutOfScopeLabels mark work outside the contract, on tasks (labels)
	// and on time entries (tags). They compare ignoring case, surrounding
	// spaces and the difference between spaces, '-' and '_'. Empty means
	// the client's out_of_scope_labels, or DefaultOutOfScopeLabels when
	// the config names none.
	OutOfScopeLabels []string
}

// ClientLocation is the time zone a client's periods are read in: its
// calendar's, else the agency's, else UTC.
func ClientLocation(cfg *mapping.Config, clientID string) (*time.Location, error) {
	c, ok := findClient(cfg, clientID)
	if !ok {
		return nil, unknownClient(cfg, clientID)
	}
	return calendarLocation(cfg, cmp.Or(c.Calendar, cfg.Agency.Calendar))
}

// AgencyLocation is the agency calendar's zone, else UTC.
func AgencyLocation(cfg *mapping.Config) (*time.Location, error) {
	return calendarLocation(cfg, cfg.Agency.Calendar)
}

func calendarLocation(cfg *mapping.Config, name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	cal, ok := cfg.Calendars[name]
	if !ok {
		return nil, fmt.Errorf("no calendar %q in the config", name)
	}
	loc, err := time.LoadLocation(cal.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", name, err)
	}
	return loc, nil
}

func findClient(cfg *mapping.Config, id string) (mapping.Client, bool) {
	for _, c := range cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return mapping.Client{}, false
}

func unknownClient(cfg *mapping.Config, id string) error {
	known := make([]string, 0, len(cfg.Clients))
	for _, c := range cfg.Clients {
		known = append(known, c.ID)
	}
	return fmt.Errorf("no client %q in the config (known: %s)", id, strings.Join(known, ", "))
}

// BuildHours reads the store and makes one client's hour report.
func BuildHours(ctx context.Context, st *store.Store, cfg *mapping.Config, req HoursRequest) (*Hours, error) {
	h, _, err := buildHours(ctx, st, cfg, req)
	return h, err
}

// buildHours is BuildHours, and until: the first instant after req.Now at
// which the same stored rows make another report (an event of the period
// that comes due, the next day's entries, the period's end), zero when
// there is none (the period is over). HoursCache keeps a report until then.
func buildHours(ctx context.Context, st *store.Store, cfg *mapping.Config, req HoursRequest) (*Hours, time.Time, error) {
	client, ok := findClient(cfg, req.ClientID)
	if !ok {
		return nil, time.Time{}, unknownClient(cfg, req.ClientID)
	}
	p := req.Period
	loc := p.Start.Location()
	names := personNames(cfg)
	// Events count when they fall in the period and not after now, so
	// that a report made as of an instant (--at) shows what was known then.
	// An event of the period after now is when this report stops being
	// the report of the rows it read.
	var until time.Time
	if req.Now.Before(p.End) {
		local := req.Now.In(loc)
		// Entries are read up to today: tomorrow's count from midnight.
		until = earlier(p.End, time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc))
	}
	in := func(t time.Time) bool {
		if t.After(req.Now) && t.Before(until) && !t.Before(p.Start) {
			until = t
		}
		return p.Contains(t) && !t.After(req.Now)
	}
	labels := req.OutOfScopeLabels
	if len(labels) == 0 {
		if c, ok := findClient(cfg, req.ClientID); ok {
			labels = c.OutOfScopeLabels
		}
	}
	if len(labels) == 0 {
		labels = DefaultOutOfScopeLabels
	}
	oos := newLabelSet(labels)

	// Entries from the month before the period on: a rollover budget
	// needs what the previous month used.
	prevStart := time.Date(p.Start.Year(), p.Start.Month()-1, 1, 0, 0, 0, 0, loc)
	prev, err := st.BillableByMonth(ctx, dateKey(prevStart), dateKey(p.Start.AddDate(0, 0, -1)), client.ID)
	if err != nil {
		return nil, time.Time{}, err
	}
	first, err := st.FirstEntryMonths(ctx, client.ID)
	if err != nil {
		return nil, time.Time{}, err
	}
	rows, err := st.ReportEntries(ctx, p.FirstDay(), p.lastDayAsOf(req.Now), client.ID)
	if err != nil {
		return nil, time.Time{}, err
	}
	labelsThen, err := labelHistory(ctx, st, client.ID, p.Start, req.Now, loc)
	if err != nil {
		return nil, time.Time{}, err
	}
	// Only the tasks, moves and clocks the period can name are read:
	// everything below counts what falls in it.
	tasks, err := st.ReportTasks(ctx, client.ID, p.Start, p.End)
	if err != nil {
		return nil, time.Time{}, err
	}
	moves, err := st.ReportMoves(ctx, client.ID, p.Start, p.End)
	if err != nil {
		return nil, time.Time{}, err
	}
	clocks, err := st.ReportClocks(ctx, client.ID, p.Start, p.End)
	if err != nil {
		return nil, time.Time{}, err
	}

	r := &Hours{Version: SchemaVersion, Kind: "hours", Agency: cfg.Agency.Name,
		Client:      ClientRef{ID: client.ID, Name: client.Name, TimeZone: loc.String()},
		Period:      periodRef(p),
		GeneratedAt: req.Now.UTC().Truncate(time.Second),
		Complete:    !req.Now.Before(p.End),
		Language:    locale.For(cfg.LanguageOf(&client)).Code(),
		OutOfScope:  OutOfScope{Labels: oos.names},
	}

	billableByMonth := map[string]int64{} // YYYY-MM -> billable seconds, for rollover
	for m, sec := range prev[client.ID] {
		billableByMonth[m] = sec
	}
	byCategory := map[string]int64{}
	nonBillable := map[string]int64{} // by category
	byPerson := map[string]*PersonHours{}
	byTask := map[[2]string]*TaskHours{}
	oosTask := map[[2]string]*TaskHours{}
	byDate := map[string]int64{} // billable seconds per date, for the chart
	for _, e := range rows {
		if e.Billable {
			billableByMonth[e.EntryDate[:min(7, len(e.EntryDate))]] += e.Seconds
		}
		if e.EntryDate < p.FirstDay() {
			continue
		}
		ref := taskRef(e)
		taskOOS := oos.any(labelsThen.entry(e))
		outOfScope := taskOOS || oos.any(jsonList(e.Tags))
		r.Entries = append(r.Entries, Entry{Date: e.EntryDate, PersonID: e.PersonID, Person: personName(names, e.PersonID, e.PersonRef),
			ClientID: e.ClientID, Task: ref, Project: e.Project, Category: e.Category, Billable: e.Billable,
			OutOfScope: outOfScope, Seconds: e.Seconds, Hours: hours(e.Seconds), Note: e.Note, Source: e.SourceID, EntryID: e.ExternalID})
		r.Totals.Entries++
		r.Totals.Seconds += e.Seconds
		if e.Billable {
			r.Totals.BillableSeconds += e.Seconds
			byDate[e.EntryDate] += e.Seconds
		} else {
			r.Totals.NonBillableSeconds += e.Seconds
			nonBillable[e.Category] += e.Seconds
		}
		byCategory[e.Category] += e.Seconds

		pk := cmp.Or(e.PersonID, "ref:"+e.PersonRef)
		ph := byPerson[pk]
		if ph == nil {
			ph = &PersonHours{ID: e.PersonID, Name: personName(names, e.PersonID, e.PersonRef)}
			byPerson[pk] = ph
		}
		ph.Seconds += e.Seconds
		if e.Billable {
			ph.BillableSeconds += e.Seconds
		}

		tk := [2]string{ref.Source, ref.ID}
		th := byTask[tk]
		if th == nil {
			th = &TaskHours{TaskRef: ref}
			byTask[tk] = th
		}
		th.OutOfScope = th.OutOfScope || taskOOS
		th.Seconds += e.Seconds
		if outOfScope {
			r.OutOfScope.Seconds += e.Seconds
			ot := oosTask[tk]
			if ot == nil {
				ot = &TaskHours{TaskRef: ref, OutOfScope: true}
				oosTask[tk] = ot
			}
			ot.Seconds += e.Seconds
		}
	}
	r.Totals.Hours, r.Totals.BillableHours, r.Totals.NonBillableHours =
		hours(r.Totals.Seconds), hours(r.Totals.BillableSeconds), hours(r.Totals.NonBillableSeconds)

	category := func(id, title string) CategoryHours {
		return CategoryHours{Category: id, Title: title, Seconds: byCategory[id], Hours: hours(byCategory[id]),
			NonBillableSeconds: nonBillable[id], NonBillableHours: hours(nonBillable[id])}
	}
	for _, c := range categories {
		r.Categories = append(r.Categories, category(c.id, c.title))
		delete(byCategory, c.id)
	}
	for _, id := range sortedKeys(byCategory) { // categories a newer mapping knows
		r.Categories = append(r.Categories, category(id, id))
	}
	for _, ph := range byPerson {
		ph.Hours, ph.BillableHours = hours(ph.Seconds), hours(ph.BillableSeconds)
		r.People = append(r.People, *ph)
	}
	sort.Slice(r.People, func(i, j int) bool {
		a, b := r.People[i], r.People[j]
		return a.Seconds > b.Seconds || a.Seconds == b.Seconds && a.Name < b.Name
	})
	r.Tasks = taskList(byTask)

	if b, ok := periodBudget(client.Budget, p, billableByMonth, first[client.ID]); ok && client.Budget.MonthlyHours > 0 {
		b.UsedSeconds = r.Totals.BillableSeconds
		b.UsedHours = hours(b.UsedSeconds)
		b.RemainingHours = round2(b.BudgetHours - float64(b.UsedSeconds)/3600)
		if b.BudgetHours > 0 {
			b.UsedPercent = round2(float64(b.UsedSeconds) / 3600 / b.BudgetHours * 100)
		}
		r.Budget = &b
		r.Chart.BudgetHours = b.BudgetHours
	}
	r.Chart.Unit, r.Chart.Points = chartPoints(p, byDate)

	r.OutOfScope.Hours = hours(r.OutOfScope.Seconds)
	taskByKey := map[[2]string]store.ReportTask{}
	for _, t := range tasks {
		k := [2]string{t.SourceID, t.ExternalID}
		taskByKey[k] = t
		// A task marked out of scope by the period's end and created in
		// the period belongs in the list even before anyone logged time
		// on it.
		if oos.any(labelsThen.task(t.SourceID, t.ExternalID, t.Labels, p.End)) && in(t.CreatedAt) && oosTask[k] == nil {
			oosTask[k] = &TaskHours{TaskRef: storedTaskRef(t), OutOfScope: true}
		}
		if t.CreatorSide == mapping.SideClient && in(t.CreatedAt) {
			r.ClientCreated = append(r.ClientCreated, TaskEvent{TaskRef: storedTaskRef(t), At: t.CreatedAt.UTC(),
				Person: personName(names, t.CreatorPersonID, "")})
		}
	}
	r.OutOfScope.Tasks = taskList(oosTask)
	sortEvents(r.ClientCreated)

	reworked := map[[2]string]*Rework{}
	doneAt := map[[2]string]doneMove{}
	for _, m := range moves {
		k := [2]string{m.SourceID, m.TaskID}
		t, ok := taskByKey[k]
		if !ok || !in(m.At) {
			continue
		}
		if m.FromStatus == mapping.StatusReview && backFromReview[m.ToStatus] {
			rw := reworked[k]
			if rw == nil {
				rw = &Rework{TaskRef: storedTaskRef(t)}
				reworked[k] = rw
			}
			rw.Times++
			if m.At.After(rw.LastAt) {
				rw.LastAt = m.At.UTC()
			}
		}
		if m.ToStatus == mapping.StatusDone {
			doneAt[k] = doneMove{At: m.At.UTC(), Person: m.ActorPersonID}
		}
	}
	for _, rw := range reworked {
		r.Rework = append(r.Rework, *rw)
	}
	sort.Slice(r.Rework, func(i, j int) bool {
		a, b := r.Rework[i], r.Rework[j]
		return a.LastAt.Before(b.LastAt) || a.LastAt.Equal(b.LastAt) && a.ID < b.ID
	})
	for k, d := range doneAt {
		t := taskByKey[k]
		if (t.Status == mapping.StatusDone || t.Status == mapping.StatusArchived) && !t.Logged {
			r.DoneUntracked = append(r.DoneUntracked, TaskEvent{TaskRef: storedTaskRef(t), At: d.At, Person: personName(names, d.Person, "")})
		}
	}
	sortEvents(r.DoneUntracked)

	r.SLA = slaSummary(clocks, in)
	return r, until, nil
}

// doneMove is when a task last reached done in the period, and who moved
// it there.
type doneMove struct {
	At     time.Time
	Person string
}

// backFromReview are the statuses a task sent back from review lands in.
var backFromReview = map[string]bool{mapping.StatusInProgress: true, mapping.StatusTodo: true, mapping.StatusBacklog: true}

var categories = []struct{ id, title string }{
	{mapping.CategoryProduction, "Production"},
	{mapping.CategoryCommunication, "Communication"},
	{mapping.CategoryMeeting, "Meetings"},
	{mapping.CategoryNonBillable, "Not billable"},
}

func taskList(m map[[2]string]*TaskHours) []TaskHours {
	out := make([]TaskHours, 0, len(m))
	for _, t := range m {
		t.Hours = hours(t.Seconds)
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		// Time on no task goes last, whatever its size.
		if (a.ID == "") != (b.ID == "") {
			return b.ID == ""
		}
		if a.Seconds != b.Seconds {
			return a.Seconds > b.Seconds
		}
		return a.Title < b.Title || a.Title == b.Title && a.ID < b.ID
	})
	return out
}

func sortEvents(ev []TaskEvent) {
	sort.Slice(ev, func(i, j int) bool {
		return ev[i].At.Before(ev[j].At) || ev[i].At.Equal(ev[j].At) && ev[i].ID < ev[j].ID
	})
}

// noTaskTitle names the time logged on no task.
const noTaskTitle = "Time not linked to a task"

func taskRef(e store.ReportEntry) TaskRef {
	if e.TaskID == "" || e.TaskTitle == "" {
		return TaskRef{Title: noTaskTitle}
	}
	return TaskRef{Source: e.TaskSourceID, ID: e.TaskID, Title: e.TaskTitle, URL: SafeURL(e.TaskURL),
		Status: e.TaskStatus, SourceStatus: e.TaskSourceStatus}
}

func storedTaskRef(t store.ReportTask) TaskRef {
	return TaskRef{Source: t.SourceID, ID: t.ExternalID, Title: t.Title, URL: SafeURL(t.URL), Status: t.Status, SourceStatus: t.SourceStatus}
}

// SafeURL returns u when it is an absolute http or https URL, else "":
// a link a source handed over ("javascript:...") never reaches a report.
func SafeURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// periodBudget is the client's budget for p: for each month p touches
// from the budget's start, the month's budget by the budget's rule
// (sla.BudgetRule.MonthBudget: with rollover, what the previous month
// left unused, one month only), prorated by the month's days inside p.
// first is the client's first month with time logged. ok is false when
// no month of p has a budget (all before its start).
func periodBudget(b mapping.Budget, p Period, billableByMonth map[string]int64, first string) (out Budget, ok bool) {
	out = Budget{MonthlyHours: b.MonthlyHours, Rollover: b.Rollover, RolloverMax: b.RolloverMax, CarryOverrun: b.CarryOverrun, Start: b.Start}
	rule := b.Rule()
	loc := p.Start.Location()
	for m := time.Date(p.Start.Year(), p.Start.Month(), 1, 0, 0, 0, 0, loc); m.Before(p.End); m = m.AddDate(0, 1, 0) {
		month := m.Format("2006-01")
		if b.Start != "" && month < b.Start {
			continue
		}
		ok = true
		next := m.AddDate(0, 1, 0)
		from, to := later(m, p.Start), earlier(next, p.End)
		share := float64(daysBetween(from, to)) / float64(daysBetween(m, next))
		budget, carried := rule.MonthBudget(month, billableByMonth[m.AddDate(0, -1, 0).Format("2006-01")], first)
		out.BudgetHours += budget * share
		out.CarriedOverHours += carried * share
	}
	out.BudgetHours, out.CarriedOverHours = round2(out.BudgetHours), round2(out.CarriedOverHours)
	return out, ok
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// chartPoints cumulates billable seconds per day, week or month of p.
func chartPoints(p Period, byDate map[string]int64) (string, []ChartPoint) {
	unit := "week"
	switch days := p.Days(); {
	case days <= 14:
		unit = "day"
	case days > 92:
		unit = "month"
	}
	var out []ChartPoint
	var cum int64
	for start := p.Start; start.Before(p.End); {
		var next time.Time
		switch unit {
		case "day":
			next = start.AddDate(0, 0, 1)
		case "week": // to the next Monday
			next = start.AddDate(0, 0, 7-(int(start.Weekday())+6)%7)
		default:
			next = time.Date(start.Year(), start.Month()+1, 1, 0, 0, 0, 0, start.Location())
		}
		next = earlier(next, p.End)
		last := next.AddDate(0, 0, -1)
		var sum int64
		for d := start; d.Before(next); d = d.AddDate(0, 0, 1) {
			sum += byDate[dateKey(d)]
		}
		cum += sum
		label := start.Format("2 Jan")
		if unit == "month" {
			label = start.Format("Jan 2006")
		}
		out = append(out, ChartPoint{Label: label, First: dateKey(start), Last: dateKey(last), Seconds: sum, Hours: hours(sum),
			CumulativeSeconds: cum, CumulativeHours: hours(cum)})
		start = next
	}
	return unit, out
}

// apart are the policies whose breaches the report shows in their own
// sections (the budget, done with no time logged) rather than as broken
// promises.
func apart(policy string) bool { p, ok := sla.PolicyNamed(policy); return ok && p.Apart }

// slaSummary reads the client's stored clocks: response times of the
// messages whose clock started in the period, and every clock that
// breached in it.
func slaSummary(clocks []store.ClockRow, in func(time.Time) bool) SLASummary {
	out := SLASummary{Breaches: []Breach{}}
	var answered []int64
	for _, c := range clocks {
		if c.Policy == sla.PolicyResponse && in(c.StartedAt) {
			if c.StoppedAt != nil {
				answered = append(answered, c.BusinessSeconds)
			} else {
				out.Unanswered++
			}
		}
		if apart(c.Policy) || c.BreachedAt == nil || !in(*c.BreachedAt) {
			continue
		}
		var d struct{ Title, URL string }
		_ = json.Unmarshal([]byte(c.Detail), &d) // a detail that does not decode leaves the title empty
		out.Breaches = append(out.Breaches, Breach{ClockID: c.ID, Policy: c.Policy, PolicyTitle: policyTitle(en, c.Policy, c.Policy),
			Title: d.Title, URL: SafeURL(d.URL), BreachedAt: c.BreachedAt.UTC(), State: c.State, Waived: c.Waived, Reason: c.WaiverReason})
		if c.Waived {
			out.Waived++
		}
	}
	sort.Slice(out.Breaches, func(i, j int) bool {
		a, b := out.Breaches[i], out.Breaches[j]
		return a.BreachedAt.Before(b.BreachedAt) || a.BreachedAt.Equal(b.BreachedAt) && a.ClockID < b.ClockID
	})
	out.Answered = len(answered)
	if len(answered) > 0 {
		slices.Sort(answered)
		n := len(answered)
		out.MedianSeconds = answered[n/2]
		if n%2 == 0 {
			out.MedianSeconds = (answered[n/2-1] + answered[n/2]) / 2
		}
		rank := (9*n + 9) / 10 // ceil(0.9 n), nearest rank
		out.P90Seconds = answered[rank-1]
	}
	return out
}

// personNames maps config person ids to names.
func personNames(cfg *mapping.Config) map[string]string {
	out := make(map[string]string, len(cfg.People))
	for _, p := range cfg.People {
		out[p.ID] = p.Name
	}
	return out
}

func personName(names map[string]string, id, ref string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return cmp.Or(id, ref, unknownPerson)
}

// unknownPerson names a person the records do not (a card's creator that
// the export leaves out).
const unknownPerson = "unknown"

// jsonList reads a JSON array of strings; anything else is empty.
func jsonList(s string) []string {
	var out []string
	if json.Unmarshal([]byte(s), &out) != nil {
		return nil
	}
	return out
}

// labelSet matches labels and tags loosely: "Out of scope", "out-of-scope"
// and "OUT_OF_SCOPE" are one.
type labelSet struct {
	names []string
	keys  map[string]bool
}

func newLabelSet(names []string) labelSet {
	s := labelSet{keys: map[string]bool{}}
	for _, n := range names {
		if k := labelKey(n); k != "" && !s.keys[k] {
			s.keys[k] = true
			s.names = append(s.names, strings.TrimSpace(n))
		}
	}
	return s
}

func labelKey(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return ' '
		}
		return r
	}, strings.ToLower(s))
	return strings.Join(strings.Fields(s), " ")
}

func (s labelSet) any(list []string) bool {
	for _, l := range list {
		if s.keys[labelKey(l)] {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
