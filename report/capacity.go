package report

import (
	"cmp"
	"context"
	"sort"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// CapacityRequest asks for the capacity report.
type CapacityRequest struct {
	// Period is read in the agency's zone (AgencyLocation).
	Period Period
	Now    time.Time
	// Calendars are the config's business calendars by name: a person's
	// capacity is the business time of their calendar (the agency's when
	// they name none) in the period, times their capacity share (people[].capacity).
	Calendars map[string]*sla.Calendar
}

// Thresholds of the capacity report's verdicts.
const (
	// underServed: a client whose billable hours so far are below this
	// share of its budget so far gets less of the team than it pays for.
	underServed = 0.85
	// ahead: above this share the budget will run out before the period.
	ahead = 1.15
	// light: a person below this share of their capacity so far.
	light = 0.5
)

// defaultDayHours is the capacity of a working day for a person without a
// calendar: Monday to Friday, 8 hours.
const defaultDayHours = 8

// BuildCapacity reads the store and makes the capacity report: every
// agency person's logged hours against their capacity, every client's
// hours against its budget, and the headroom left for another client.
func BuildCapacity(ctx context.Context, st *store.Store, cfg *mapping.Config, req CapacityRequest) (*Capacity, error) {
	p := req.Period
	loc := p.Start.Location()
	prevStart := time.Date(p.Start.Year(), p.Start.Month()-1, 1, 0, 0, 0, 0, loc)
	// The month before the period counts only for rollover: its sums.
	billableByMonth, err := st.BillableByMonth(ctx, dateKey(prevStart), dateKey(p.Start.AddDate(0, 0, -1)))
	if err != nil {
		return nil, err
	}
	rows, err := st.EntrySums(ctx, p.FirstDay(), p.lastDayAsOf(req.Now))
	if err != nil {
		return nil, err
	}
	first, err := st.FirstEntryMonths(ctx)
	if err != nil {
		return nil, err
	}
	names := personNames(cfg)
	clientNames := map[string]string{}
	for _, c := range cfg.Clients {
		clientNames[c.ID] = c.Name
	}

	r := &Capacity{Version: SchemaVersion, Kind: "capacity", Agency: cfg.Agency.Name, Language: locale.For(cfg.Agency.Language).Code(), Period: periodRef(p),
		GeneratedAt: req.Now.UTC().Truncate(time.Second), Complete: !req.Now.Before(p.End)}
	agencyCal := req.Calendars[cfg.Agency.Calendar]
	r.Elapsed = elapsed(agencyCal, p, req.Now)

	// billableByMonth is client -> YYYY-MM -> seconds.
	perPerson := map[string]int64{}
	perPersonClient := map[[2]string]int64{} // person, client
	perClient := map[string]int64{}
	perClientBillable := map[string]int64{}
	var internal int64
	for _, e := range rows {
		if e.Billable && e.ClientID != "" {
			if billableByMonth[e.ClientID] == nil {
				billableByMonth[e.ClientID] = map[string]int64{}
			}
			billableByMonth[e.ClientID][e.Month] += e.Seconds
		}
		pid := cmp.Or(e.PersonID, "ref:"+e.PersonRef)
		perPerson[pid] += e.Seconds
		perPersonClient[[2]string{pid, e.ClientID}] += e.Seconds
		if e.ClientID == "" {
			internal += e.Seconds
			continue
		}
		perClient[e.ClientID] += e.Seconds
		if e.Billable {
			perClientBillable[e.ClientID] += e.Seconds
		}
	}

	// People: the agency's, in config order, then anyone else who logged
	// time (a tracker user the config does not know) without a capacity.
	seen := map[string]bool{}
	for _, person := range cfg.People {
		if person.Side != mapping.SideAgency || person.Role == "bot" {
			continue
		}
		seen[person.ID] = true
		calName := cmp.Or(person.Calendar, cfg.Agency.Calendar)
		full, toDate := capacityHours(req.Calendars[calName], p, req.Now)
		// A part-timer gives a share of their calendar's hours.
		share := person.CapacityShare()
		full, toDate = full*share, toDate*share
		if req.Calendars[calName] == nil {
			calName = "default"
		}
		r.People = append(r.People, personLoad(person.ID, person.Name, person.Role, calName, full, toDate, perPerson, perPersonClient))
	}
	var strangers []string
	for pid := range perPerson {
		if !seen[pid] {
			strangers = append(strangers, pid)
		}
	}
	sort.Strings(strangers)
	for _, pid := range strangers {
		id, name := displayPerson(names, pid)
		pl := personLoad(pid, name, "", "", 0, 0, perPerson, perPersonClient)
		pl.ID = id
		r.People = append(r.People, pl)
	}
	for _, pl := range r.People {
		r.Totals.CapacityHours += pl.CapacityHours
		if pl.CapacityHours > 0 {
			r.Totals.People++
		}
	}

	for _, c := range cfg.Clients {
		cl := ClientLoad{ID: c.ID, Name: c.Name, Seconds: perClient[c.ID], Hours: hours(perClient[c.ID]),
			BillableHours: hours(perClientBillable[c.ID])}
		cl.ProjectedHours = project(float64(perClientBillable[c.ID])/3600, r.Elapsed)
		if b, ok := periodBudget(c.Budget, p, billableByMonth[c.ID], first[c.ID]); ok && c.Budget.MonthlyHours > 0 {
			cl.BudgetHours = b.BudgetHours
			cl.ExpectedToDateHours = round2(b.BudgetHours * r.Elapsed)
		}
		cl.Status, cl.DeliveredPercent = clientStatus(cl, r.Complete)
		r.Clients = append(r.Clients, cl)
		r.Totals.CommittedHours += cl.BudgetHours
		r.Totals.ClientHours += float64(perClient[c.ID]) / 3600
		r.Totals.DemandHours += max(cl.BudgetHours, cl.ProjectedHours)
	}
	r.Totals.InternalHours = hours(internal)
	r.Totals.DemandHours += project(float64(internal)/3600, r.Elapsed)
	r.Totals.CapacityHours = round2(r.Totals.CapacityHours)
	r.Totals.CommittedHours = round2(r.Totals.CommittedHours)
	r.Totals.ClientHours = round2(r.Totals.ClientHours)
	r.Totals.DemandHours = round2(r.Totals.DemandHours)
	r.Totals.HeadroomHours = round2(r.Totals.CapacityHours - r.Totals.DemandHours)
	r.Totals.Answer = capacityAnswer(r, en)

	for _, k := range sortedPairKeys(perPersonClient) {
		pid, pname := displayPerson(names, k[0])
		cid := k[1]
		r.Matrix = append(r.Matrix, CapacityMatrix{PersonID: pid, Person: pname, ClientID: cid,
			Client: cmp.Or(clientNames[cid], cid, "internal"), Seconds: perPersonClient[k], Hours: hours(perPersonClient[k])})
	}
	return r, nil
}

// notInConfig marks, in the report's JSON, the name of a tracker user the
// config does not know; the renderers say it in their language.
const notInConfig = " (not in the config)"

// displayPerson is the id and name of a person key: a config person id,
// or "ref:" and the tracker's name for a user the config does not know.
func displayPerson(names map[string]string, key string) (id, name string) {
	if ref, ok := strings.CutPrefix(key, "ref:"); ok {
		return "", cmp.Or(ref, "unknown") + notInConfig
	}
	return key, personName(names, key, "")
}

// capPerson is a person's name as the capacity report shows it in l.
func capPerson(l *locale.Locale, id, name string) string {
	if ref, ok := strings.CutSuffix(name, notInConfig); ok && id == "" {
		return ref + " (" + l.T("capacity.not_in_config") + ")"
	}
	return name
}

func personLoad(id, name, role, cal string, full, toDate float64, perPerson map[string]int64, perPersonClient map[[2]string]int64) PersonLoad {
	pl := PersonLoad{ID: id, Name: name, Role: role, Calendar: cal, CapacityHours: round2(full), CapacityToDateHours: round2(toDate),
		Seconds: perPerson[id], Hours: hours(perPerson[id])}
	pl.InternalHours = hours(perPersonClient[[2]string{id, ""}])
	pl.ClientHours = hours(perPerson[id] - perPersonClient[[2]string{id, ""}])
	pl.Status = "ok"
	switch {
	case toDate > 0:
		pl.Utilization = round2(float64(pl.Seconds) / 3600 / toDate)
		if pl.Utilization > 1 {
			pl.Status = "over"
		} else if pl.Utilization < light {
			pl.Status = "light"
		}
	case full == 0:
		pl.Status = "no_capacity"
	}
	return pl
}

// capacityHours is the business time of cal in p, whole and up to now;
// without a calendar, 8 hours a weekday.
func capacityHours(cal *sla.Calendar, p Period, now time.Time) (full, toDate float64) {
	cut := later(p.Start, earlier(now, p.End))
	if cal != nil {
		return cal.Between(p.Start, p.End).Hours(), cal.Between(p.Start, cut).Hours()
	}
	for d := p.Start; d.Before(p.End); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		full += defaultDayHours
		if d.Before(cut) {
			toDate += defaultDayHours * min(1, cut.Sub(d).Hours()/24)
		}
	}
	return full, toDate
}

// elapsed is the share of p's business time in cal gone by now (of its
// days, without a calendar).
func elapsed(cal *sla.Calendar, p Period, now time.Time) float64 {
	full, toDate := capacityHours(cal, p, now)
	if full == 0 {
		return 1
	}
	return min(1, toDate/full)
}

// project extrapolates hours so far over the whole period.
func project(h, elapsed float64) float64 {
	if elapsed <= 0 {
		return 0
	}
	return round2(h / elapsed)
}

func clientStatus(c ClientLoad, complete bool) (string, float64) {
	if c.BudgetHours == 0 {
		return "no_budget", 0
	}
	if c.BillableHours > c.BudgetHours {
		return "over_budget", round2(c.BillableHours / c.BudgetHours * 100)
	}
	if c.ExpectedToDateHours == 0 {
		return "on_track", 0
	}
	share := c.BillableHours / c.ExpectedToDateHours
	switch {
	case share < underServed:
		return "under_served", round2(share * 100)
	case share > ahead && !complete:
		return "ahead", round2(share * 100)
	}
	return "on_track", round2(share * 100)
}

// AnswerIn is the report's answer in a language (the JSON's is English).
func (r *Capacity) AnswerIn(lang string) string { return capacityAnswer(r, locale.For(lang)) }

// capacityAnswer says in a sentence of l's language whether the agency can
// take another client.
func capacityAnswer(r *Capacity, l *locale.Locale) string {
	t := r.Totals
	var under []string
	for _, c := range r.Clients {
		if c.Status == "under_served" {
			under = append(under, c.Name)
		}
	}
	h := func(v float64) string { return capHours(l, v) }
	var s string
	switch {
	case t.CapacityHours == 0:
		s = l.T("capacity.no_people")
	case t.HeadroomHours > 0:
		s = l.T("capacity.yes", "Free", h(t.HeadroomHours), "Capacity", h(t.CapacityHours))
	default:
		s = l.T("capacity.no", "Demand", h(t.DemandHours), "Over", h(-t.HeadroomHours), "Capacity", h(t.CapacityHours))
	}
	if len(under) == 0 {
		return s + " " + l.T("capacity.all_served")
	}
	return s + " " + l.T("capacity.under", "Clients", joinAnd(l, under))
}

// capHours is hours with one decimal as the capacity report shows them:
// English keeps them as a program reads them ("1234.5"), the other
// languages write their decimal comma ("1 234,5").
func capHours(l *locale.Locale, h float64) string {
	if l.Code() == "en" {
		return fmtHours(h)
	}
	return l.Num(h, 1)
}

func joinAnd(l *locale.Locale, list []string) string {
	if len(list) <= 1 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " " + l.T("format.and") + " " + list[len(list)-1]
}

func sortedPairKeys(m map[[2]string]int64) [][2]string {
	out := make([][2]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		// Internal time last for each person.
		if (out[i][1] == "") != (out[j][1] == "") {
			return out[j][1] == ""
		}
		return out[i][1] < out[j][1]
	})
	return out
}
