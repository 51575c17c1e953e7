package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// openStates are the states of a clock that still counts.
var openStates = []string{sla.Running, sla.AtRisk, sla.Breached, sla.Paused}

// clockView is a stored clock as the pages show it.
type clockView struct {
	ID, Policy, PolicyTitle string
	ClientID, ClientName    string
	State                   string
	Title, URL              string
	// Owes names who owes the next move: the agency (the task's assignees,
	// else the client's PM) or the client.
	OwesSide, Owes string
	// Note says what karkas could not know when it judged the clock (a
	// description older than the history it holds).
	Note          string
	Started       time.Time
	Due, Breached *time.Time
	Stopped       *time.Time
	// When says how long: "overdue 2d 3h", "due in 4h", "took 1h 12m".
	When string
	// PastDue is an open clock whose due instant passed after the last
	// evaluation: the next one records the breach.
	PastDue  bool
	Business string
	Waived   bool
	Reason   string
	WaivedBy string
	WaivedAt *time.Time
	CanWaive bool
}

func (s *Server) clockViews(r *http.Request, v *viewer, rows []store.ClockRow, now time.Time) []clockView {
	var refs []store.TaskRef
	for _, c := range rows {
		if c.SubjectKind == "task" {
			refs = append(refs, store.TaskRef{SourceID: c.SubjectSourceID, ExternalID: c.SubjectExternalID})
		}
	}
	tasks, err := s.st.ReadOutbox().Tasks(r.Context(), refs)
	if err != nil {
		s.log.Warn("reading the tasks of clocks", "err", err)
	}
	l := s.agencyLocale()
	out := make([]clockView, 0, len(rows))
	for _, c := range rows {
		var d struct{ Title, URL, Note string }
		json.Unmarshal([]byte(c.Detail), &d)
		cv := clockView{ID: c.ID, Note: d.Note, Policy: c.Policy, PolicyTitle: l.Or("policy."+c.Policy, c.Policy), ClientID: c.ClientID,
			ClientName: s.clientName(c.ClientID), State: c.State, Title: cmp.Or(d.Title, c.SubjectExternalID, s.clientName(c.ClientID)),
			URL: safeURL(d.URL), Started: c.StartedAt, Due: c.DueAt, Breached: c.BreachedAt, Stopped: c.StoppedAt,
			Business: businessText(l, time.Duration(c.BusinessSeconds)*time.Second), Waived: c.Waived, Reason: c.WaiverReason,
			WaivedBy: c.WaivedBy, WaivedAt: c.WaivedAt}
		cv.OwesSide, cv.Owes = s.owes(l, c, tasks)
		open := slices.Contains(openStates, c.State)
		switch {
		case open && c.DueAt != nil && now.After(*c.DueAt):
			cv.When = l.T("agency.when.overdue", "D", humanDuration(l, now.Sub(*c.DueAt)))
			cv.PastDue = c.State != sla.Breached
		case open && c.DueAt != nil:
			cv.When = l.T("agency.when.due_in", "D", humanDuration(l, c.DueAt.Sub(now)))
		case c.StoppedAt != nil:
			cv.When = l.T("agency.when.took", "D", humanDuration(l, c.StoppedAt.Sub(c.StartedAt)))
		default:
			cv.When = l.T("agency.when.since", "D", humanDuration(l, now.Sub(c.StartedAt)))
		}
		cv.CanWaive = v != nil && v.canAct(c.ClientID) && !c.Waived && (c.State == sla.Breached || c.State == sla.Resolved || c.State == sla.AtRisk)
		out = append(out, cv)
	}
	return out
}

// owes says who the next move is up to.
func (s *Server) owes(l *locale.Locale, c store.ClockRow, tasks map[store.TaskRef]store.OutboxTask) (side, who string) {
	client := s.clients[c.ClientID]
	if c.Policy == sla.PolicyWaitingClient {
		if client != nil {
			var names []string
			for _, id := range client.Contacts {
				if p := s.people[id]; p != nil {
					names = append(names, p.Name)
				}
			}
			return "client", cmp.Or(strings.Join(names, ", "), client.Name)
		}
		return "client", l.T("agency.the_client")
	}
	if t, ok := tasks[store.TaskRef{SourceID: c.SubjectSourceID, ExternalID: c.SubjectExternalID}]; ok && c.SubjectKind == "task" {
		var ids []string
		json.Unmarshal([]byte(t.AssigneeIDs), &ids)
		var names []string
		for _, id := range ids {
			if p := s.people[id]; p != nil && p.Side == "agency" {
				names = append(names, p.Name)
			}
		}
		if len(names) > 0 {
			return "agency", strings.Join(names, ", ")
		}
	}
	if client != nil && s.people[client.PM] != nil {
		return "agency", l.T("agency.pm", "Name", s.people[client.PM].Name)
	}
	return "agency", l.T("agency.the_agency")
}

func (s *Server) clientName(id string) string {
	if c := s.clients[id]; c != nil {
		return c.Name
	}
	if id == "" {
		return s.agencyLocale().T("agency.no_client")
	}
	return id
}

// visibleIDs is the viewer's clients as a list for a query (nil: all).
func (s *Server) visibleIDs(v *viewer) []string {
	if v.clients == nil {
		return nil
	}
	out := []string{}
	for _, c := range s.cfg.Clients {
		if v.clients[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}

type clientLink struct {
	ID, Name              string
	Breached, AtRisk, Due int
}

type overviewView struct {
	Clocks []clockView
	// More says that more clocks are breached or at risk than listed.
	More        bool
	Limit       int
	Evaluated   time.Time
	Sources     []sourceView
	Failed      []deliveryView
	Clients     []clientLink
	PastDue     int
	Unevaluated bool
}

type sourceView struct {
	ID, Kind, Status, Attention, Error string
	Last                               *time.Time
	Partials                           int
	PartialAt                          *time.Time
}

const overviewLimit = 200

func (s *Server) overview(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	now := s.now()
	rows, err := s.st.Clocks(ctx, store.ClockFilter{Clients: s.visibleIDs(v), States: []string{sla.Breached, sla.AtRisk}, Limit: overviewLimit + 1})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "clocks_read")
		return
	}
	// Running clocks whose due instant passed since the last evaluation
	// are breaches the store does not know of yet: shown, marked.
	late, err := s.st.Clocks(ctx, store.ClockFilter{Clients: s.visibleIDs(v), States: []string{sla.Running}, Limit: overviewLimit})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "clocks_read")
		return
	}
	for _, c := range late {
		if c.WarnAt != nil && now.After(*c.WarnAt) || c.DueAt != nil && now.After(*c.DueAt) {
			rows = append(rows, c)
		}
	}
	slices.SortStableFunc(rows, func(a, b store.ClockRow) int { return cmpDue(a.DueAt, b.DueAt) })
	ov := overviewView{Limit: overviewLimit}
	if len(rows) > overviewLimit {
		ov.More, rows = true, rows[:overviewLimit]
	}
	ov.Clocks = s.clockViews(r, v, rows, now)
	for _, c := range ov.Clocks {
		if c.PastDue {
			ov.PastDue++
		}
	}
	if ov.Evaluated, err = s.st.LastEvaluation(ctx); err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "store_read")
		return
	}
	ov.Unevaluated = ov.Evaluated.IsZero()
	if ov.Sources, err = s.sourceViews(r); err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "sources_read")
		return
	}
	failed, err := s.st.Deliveries(ctx, store.DeliveryFilter{Status: store.OutboxFailed, Limit: 50})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "deliveries_read")
		return
	}
	ov.Failed = s.deliveryViews(v, failed)
	counts := map[string]*clientLink{}
	for _, c := range s.cfg.Clients {
		if v.sees(c.ID) {
			ov.Clients = append(ov.Clients, clientLink{ID: c.ID, Name: c.Name})
			counts[c.ID] = &ov.Clients[len(ov.Clients)-1]
		}
	}
	for _, c := range ov.Clocks {
		if l := counts[c.ClientID]; l != nil {
			switch {
			case c.State == sla.Breached || c.PastDue:
				l.Breached++
			case c.State == sla.AtRisk:
				l.AtRisk++
			default:
				l.Due++
			}
		}
	}
	s.render(w, r, http.StatusOK, "overview", page{Title: s.agencyLocale().T("agency.nav.overview"), Nav: "overview", User: &v.user, CSRF: v.session.CSRF, Now: now, Data: ov})
}

func cmpDue(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

func (s *Server) sourceViews(r *http.Request) ([]sourceView, error) {
	srcs, err := s.st.Sources(r.Context())
	if err != nil {
		return nil, err
	}
	var out []sourceView
	for _, src := range srcs {
		sv := sourceView{ID: src.ID, Kind: src.Kind, Attention: src.Attention, Partials: src.Partials,
			Status: src.RunStatus.String, Error: s.o.Redact(src.RunError.String)}
		if src.StartedAt.Valid {
			sv.Last = &src.StartedAt.Time
		}
		if src.PartialAt.Valid {
			sv.PartialAt = &src.PartialAt.Time
		}
		out = append(out, sv)
	}
	return out, nil
}

// The client page.

type clientView struct {
	Client    *mapping.Client
	Period    report.PeriodRef
	Prev      string
	Next      string
	Hours     *report.Hours
	Chart     chartSVG
	Projected float64
	// Projection says how the projection is made, or why there is none.
	Projection string
	Clocks     []clockView
	// MoreClocks says that more clocks match than the page lists.
	MoreClocks bool
	Filter     clockFilterView
	Stages     []stageGroup
	Waiting    []waitView
	Evaluated  time.Time
	CanAct     bool
}

type clockFilterView struct {
	Policy, State string
	Policies      []string
	States        []string
}

type stageGroup struct {
	Status string
	Limit  string
	Tasks  []stageTask
	// Count is how many tasks are in the stage; Tasks holds the
	// stageLimit longest there.
	Count int
}

type stageTask struct {
	Title, URL, SourceStatus string
	Since                    time.Time
	Age                      string
	Assignees                string
	ClockState               string
	ClockID                  string
	Over                     bool
}

type waitView struct {
	Title, URL, Since string
	Reminder          string
	ClockID           string
	State             string
}

// clockPageLimit and stageLimit bound what a client page lists (the
// page says how many more there are).
const (
	clockPageLimit = 200
	stageLimit     = 40
)

func (s *Server) clientPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	id := r.PathValue("id")
	client := s.clients[id]
	if client == nil || !v.sees(id) {
		s.fail(w, r, v, http.StatusNotFound, nil, "no_client", "ID", id)
		return
	}
	now := s.now()
	loc, err := report.ClientLocation(s.cfg, id)
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, err, "client_calendar")
		return
	}
	q := r.URL.Query()
	period, err := report.ParsePeriod(q.Get("period"), loc, now)
	if err != nil || period.Kind != "month" {
		s.fail(w, r, v, http.StatusBadRequest, nil, "period_month")
		return
	}
	hours, err := s.hours.Hours(ctx, report.HoursRequest{ClientID: id, Period: period, Now: now})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "hours_read")
		return
	}
	cv := clientView{Client: client, Period: hours.Period, Hours: hours, CanAct: v.canAct(id),
		Prev: period.Start.AddDate(0, -1, 0).Format("2006-01"), Next: period.Start.AddDate(0, 1, 0).Format("2006-01")}
	if !period.Start.AddDate(0, 1, 0).Before(now.In(loc).AddDate(0, 1, 0)) {
		cv.Next = ""
	}
	cv.Projected, cv.Projection = s.projection(client, period, hours, now)
	cv.Chart = burnChart(hours, cv.Projected, "")

	f := clockFilterView{Policy: q.Get("policy"), State: q.Get("state"), Policies: append([]string{""}, sla.PolicyNames()...), States: []string{"", "open", sla.Running, sla.AtRisk, sla.Breached,
		sla.Paused, sla.Met, sla.Resolved}}
	if !slices.Contains(f.Policies, f.Policy) || !slices.Contains(f.States, f.State) {
		s.fail(w, r, v, http.StatusBadRequest, nil, "policy_state")
		return
	}
	// The month's clocks come newest first; the open ones soonest due
	// first.
	cf := store.ClockFilter{Clients: []string{id}, Limit: clockPageLimit + 1, Newest: true}
	if f.Policy != "" {
		cf.Policies = []string{f.Policy}
	}
	switch f.State {
	case "":
		cf.From, cf.To = period.Start, period.End
	case "open":
		cf.States, cf.Newest = openStates, false
	default:
		cf.States = []string{f.State}
		cf.From, cf.To = period.Start, period.End
	}
	cv.Filter = f
	rows, err := s.st.Clocks(ctx, cf)
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "clocks_read")
		return
	}
	if len(rows) > clockPageLimit {
		cv.MoreClocks, rows = true, rows[:clockPageLimit]
	}
	cv.Clocks = s.clockViews(r, v, rows, now)
	if cv.Evaluated, err = s.st.LastEvaluation(ctx); err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "store_read")
		return
	}
	if err := s.stages(r, &cv, now); err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "tasks_read")
		return
	}
	s.render(w, r, http.StatusOK, "client", page{Title: client.Name, Nav: "clients", User: &v.user, CSRF: v.session.CSRF, Now: now, Data: cv})
}

// projection extrapolates the billable hours so far over the period's
// remaining business time in the client's calendar.
func (s *Server) projection(client *mapping.Client, p report.Period, h *report.Hours, now time.Time) (float64, string) {
	l := s.agencyLocale()
	if h.Complete {
		return h.Totals.BillableHours, l.T("agency.proj.over")
	}
	if now.Before(p.Start) {
		return 0, l.T("agency.proj.not_begun")
	}
	cal := s.o.Calendars[cmp.Or(client.Calendar, s.cfg.Agency.Calendar)]
	if cal == nil {
		return 0, l.T("agency.proj.no_calendar")
	}
	total := cal.Between(p.Start, p.End)
	gone := cal.Between(p.Start, now)
	if total <= 0 || gone <= 0 {
		return 0, l.T("agency.proj.no_time")
	}
	projected := h.Totals.BillableHours * float64(total) / float64(gone)
	return projected, l.T("agency.proj.extrapolated", "Share", l.T("unit.percent", "N", strconv.Itoa(int(math.Round(100*float64(gone)/float64(total))))))
}

func (s *Server) stages(r *http.Request, cv *clientView, now time.Time) error {
	ctx := r.Context()
	l := s.agencyLocale()
	tasks, err := s.st.OpenTasks(ctx, cv.Client.ID)
	if err != nil {
		return err
	}
	open, err := s.st.Clocks(ctx, store.ClockFilter{Clients: []string{cv.Client.ID}, States: openStates,
		Policies: []string{sla.PolicyStageLimit, sla.PolicyWaitingClient}})
	if err != nil {
		return err
	}
	stageClock := map[string]store.ClockRow{}
	waitClock := map[string]store.ClockRow{}
	for _, c := range open {
		key := c.SubjectSourceID + "/" + c.SubjectExternalID
		switch c.Policy {
		case sla.PolicyStageLimit:
			stageClock[key] = c
		case sla.PolicyWaitingClient:
			waitClock[key] = c
		}
	}
	var limits sla.StageLimits
	if ps, ok := s.cfg.PolicySets[cv.Client.PolicySet]; ok {
		limits = sla.Rule[sla.StageLimits](&ps)
	}
	groups := map[string]*stageGroup{}
	var order []string
	for _, t := range tasks {
		status := cmp.Or(t.Status, "unmapped")
		g := groups[status]
		if g == nil {
			g = &stageGroup{Status: status, Limit: limits[t.Status].String()}
			groups[status] = g
			order = append(order, status)
		}
		since := t.CreatedAt
		if t.EnteredAt != nil {
			since = *t.EnteredAt
		}
		var ids []string
		json.Unmarshal([]byte(t.AssigneeIDs), &ids)
		var names []string
		for _, id := range ids {
			if p := s.people[id]; p != nil {
				names = append(names, p.Name)
			}
		}
		st := stageTask{Title: t.Title, URL: safeURL(t.URL), SourceStatus: t.SourceStatus, Since: since,
			Age: humanDuration(l, now.Sub(since)), Assignees: strings.Join(names, ", ")}
		key := t.SourceID + "/" + t.ExternalID
		if c, ok := stageClock[key]; ok {
			st.ClockState, st.ClockID = c.State, c.ID
			st.Over = c.State == sla.Breached || (c.DueAt != nil && now.After(*c.DueAt))
		}
		g.Tasks = append(g.Tasks, st)
		if t.Status == "waiting_client" {
			wv := waitView{Title: t.Title, URL: safeURL(t.URL), Since: humanDuration(l, now.Sub(since))}
			if c, ok := waitClock[key]; ok {
				wv.ClockID, wv.State = c.ID, c.State
				if c.DueAt != nil {
					if now.After(*c.DueAt) {
						wv.Reminder = l.T("agency.reminder_owed", "D", humanDuration(l, now.Sub(*c.DueAt)))
					} else {
						wv.Reminder = l.T("agency.reminder_next", "D", humanDuration(l, c.DueAt.Sub(now)))
					}
				}
			}
			cv.Waiting = append(cv.Waiting, wv)
		}
	}
	rank := map[string]int{"backlog": 1, "todo": 2, "in_progress": 3, "review": 4, "waiting_client": 5}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(cmp.Or(rank[a], 9), cmp.Or(rank[b], 9)) })
	for _, st := range order {
		g := groups[st]
		g.Count = len(g.Tasks)
		slices.SortStableFunc(g.Tasks, func(a, b stageTask) int { return a.Since.Compare(b.Since) })
		g.Tasks = g.Tasks[:min(len(g.Tasks), stageLimit)]
		cv.Stages = append(cv.Stages, *g)
	}
	return nil
}

// clientReport serves the month's hour report as karkas report hours
// writes it in HTML.
func (s *Server) clientReport(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	if s.clients[id] == nil || !v.sees(id) {
		s.fail(w, r, v, http.StatusNotFound, nil, "no_client", "ID", id)
		return
	}
	s.serveReport(w, r, v, id, r.URL.Query().Get("period"))
}

func (s *Server) serveReport(w http.ResponseWriter, r *http.Request, v *viewer, client, periodSpec string) {
	now := s.now()
	loc, err := report.ClientLocation(s.cfg, client)
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, err, "client_calendar")
		return
	}
	period, err := report.ParsePeriod(periodSpec, loc, now)
	if err != nil {
		s.fail(w, r, v, http.StatusBadRequest, nil, "period_month")
		return
	}
	h, err := s.hours.Hours(r.Context(), report.HoursRequest{ClientID: client, Period: period, Now: now})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "report_make")
		return
	}
	out, err := report.Render(h, report.HTML)
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, err, "report_render")
		return
	}
	w.Header().Set("Content-Security-Policy", reportCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(out.Body)
}

// The clock page and the waive action.

type clockPageView struct {
	Clock clockView
	Log   []store.AuditEntry
}

// visibleClock reads the clock the path names, when the viewer sees its
// client; otherwise it has answered the request.
func (s *Server) visibleClock(w http.ResponseWriter, r *http.Request, v *viewer) (store.ClockRow, bool) {
	c, ok, err := s.st.Clock(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "clock_read")
		return c, false
	}
	if !ok || !v.sees(c.ClientID) {
		s.fail(w, r, v, http.StatusNotFound, nil, "no_clock")
		return c, false
	}
	return c, true
}

func (s *Server) clockPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	c, ok := s.visibleClock(w, r, v)
	if !ok {
		return
	}
	log, err := s.st.AuditLog(ctx, "clock:"+c.ID, 50)
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "audit_read")
		return
	}
	cv := s.clockViews(r, v, []store.ClockRow{c}, s.now())[0]
	s.render(w, r, http.StatusOK, "clock", page{Title: cv.PolicyTitle + ": " + cv.Title, Nav: "clients", User: &v.user,
		CSRF: v.session.CSRF, Flash: r.URL.Query().Get("done"), Data: clockPageView{Clock: cv, Log: log}})
}

func (s *Server) waive(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	c, ok := s.visibleClock(w, r, v)
	if !ok {
		return
	}
	if !v.canAct(c.ClientID) {
		s.fail(w, r, v, http.StatusForbidden, nil, "role_waive", "Role", v.user.Role)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || len(reason) > 2000 {
		s.fail(w, r, v, http.StatusBadRequest, nil, "waive_reason")
		return
	}
	if err := s.st.Waive(ctx, c.ID, reason, v.user.ID); err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "waive_failed")
		return
	}
	s.log.Info("clock waived", "clock", c.ID, "by", v.user.ID)
	http.Redirect(w, r, "/clocks/"+c.ID+"?done=waived", http.StatusSeeOther)
}

// Capacity.

func (s *Server) capacityPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	now := s.now()
	loc, err := report.AgencyLocation(s.cfg)
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, err, "agency_calendar")
		return
	}
	period, err := report.ParsePeriod(r.URL.Query().Get("period"), loc, now)
	if err != nil {
		s.fail(w, r, v, http.StatusBadRequest, nil, "period_any")
		return
	}
	c, err := report.BuildCapacity(r.Context(), s.st, s.cfg, report.CapacityRequest{Period: period, Now: now, Calendars: s.o.Calendars})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "capacity_read")
		return
	}
	c.Clients = slices.DeleteFunc(c.Clients, func(l report.ClientLoad) bool { return !v.sees(l.ID) })
	s.render(w, r, http.StatusOK, "capacity", page{Title: s.agencyLocale().T("agency.nav.capacity") + " " + c.Period.TitleIn(s.cfg.Agency.Language), Nav: "capacity", User: &v.user,
		CSRF: v.session.CSRF, Now: now, Data: c})
}

// Deliveries.

type deliveryView struct {
	ID                             int64
	Kind, Sink, Client, ClientName string
	Status, LastError, ExternalRef string
	Attempts                       int
	Created                        time.Time
	Delivered, NextAttempt         *time.Time
	CanRetry                       bool
	Subject                        string
}

func (s *Server) deliveryViews(v *viewer, rows []store.OutboxRow) []deliveryView {
	var out []deliveryView
	l := s.agencyLocale()
	for _, d := range rows {
		if d.ClientID == "" && v.clients != nil || d.ClientID != "" && !v.sees(d.ClientID) {
			continue
		}
		var p struct {
			Title  string `json:"title"`
			Policy string `json:"policy"`
			State  string `json:"state"`
		}
		json.Unmarshal([]byte(d.Payload), &p)
		subject := p.Title
		if d.Payload == "" {
			subject = l.T("agency.del.too_large", "Kind", l.Or("agency.label."+d.Kind, d.Kind))
		}
		if p.Policy != "" {
			subject = l.Or("policy."+p.Policy, p.Policy) + " " + l.Or("agency.state."+p.State, p.State) + ": " + p.Title
		}
		out = append(out, deliveryView{ID: d.ID, Kind: d.Kind, Sink: d.Sink, Client: d.ClientID, ClientName: s.clientName(d.ClientID),
			Status: d.Status, LastError: s.o.Redact(d.LastError), ExternalRef: d.ExternalRef, Attempts: d.Attempts, Created: d.CreatedAt,
			Delivered: d.DeliveredAt, NextAttempt: d.NextAttemptAt, Subject: subject,
			CanRetry: (d.Status == store.OutboxFailed || d.Status == store.OutboxSkipped) && v.canAct(d.ClientID)})
	}
	return out
}

type deliveriesView struct {
	Status   string
	Statuses []string
	Rows     []deliveryView
	Limit    int
}

const deliveriesLimit = 300

func (s *Server) deliveriesPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	status := r.URL.Query().Get("status")
	statuses := []string{"", store.OutboxPending, store.OutboxHeld, store.OutboxDelivered, store.OutboxFailed, store.OutboxSkipped}
	if !slices.Contains(statuses, status) {
		s.fail(w, r, v, http.StatusBadRequest, nil, "unknown_status", "Status", status)
		return
	}
	rows, err := s.st.Deliveries(r.Context(), store.DeliveryFilter{Status: status, Limit: deliveriesLimit, Brief: true})
	if err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "deliveries_read")
		return
	}
	s.render(w, r, http.StatusOK, "deliveries", page{Title: s.agencyLocale().T("agency.nav.deliveries"), Nav: "deliveries", User: &v.user, CSRF: v.session.CSRF,
		Flash: r.URL.Query().Get("done"), Data: deliveriesView{Status: status, Statuses: statuses, Rows: s.deliveryViews(v, rows), Limit: deliveriesLimit}})
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, v, http.StatusNotFound, nil, "no_delivery")
		return
	}
	d, err := s.st.Delivery(ctx, id)
	if err != nil || d.Sink == store.OutboxRoute || (d.ClientID != "" && !v.sees(d.ClientID)) || (d.ClientID == "" && v.clients != nil) {
		s.fail(w, r, v, http.StatusNotFound, nil, "no_delivery_yours")
		return
	}
	if !v.canAct(d.ClientID) {
		s.fail(w, r, v, http.StatusForbidden, nil, "role_retry", "Role", v.user.Role)
		return
	}
	now := s.now()
	if err := s.st.RetryDelivery(ctx, id, now); err != nil {
		s.fail(w, r, v, http.StatusConflict, err, "retry_failed")
		return
	}
	s.st.Audit(ctx, store.AuditEntry{At: now, Actor: v.user.ID, Action: "retry", Subject: fmt.Sprintf("delivery:%d", id), IP: clientIP(r)})
	http.Redirect(w, r, "/deliveries?done=retried", http.StatusSeeOther)
}

// humanDuration is a duration in its two largest units: "2d 3h", "4h 10m",
// "12m", "now".
func humanDuration(l *locale.Locale, d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute); {
	case days > 0 && hours > 0:
		return l.T("agency.dur.dh", "D", days, "H", hours)
	case days > 0:
		return l.T("agency.dur.d", "D", days)
	case hours > 0 && mins > 0:
		return l.T("agency.dur.hm", "H", hours, "M", mins)
	case hours > 0:
		return l.T("agency.dur.h", "H", hours)
	case mins > 0:
		return l.T("agency.dur.m", "M", mins)
	}
	return l.T("agency.dur.under_minute")
}

func businessText(l *locale.Locale, d time.Duration) string {
	if d <= 0 {
		return ""
	}
	h := strconv.FormatFloat(d.Hours(), 'f', 1, 64)
	if l.Code() != "en" {
		h = l.Num(d.Hours(), 1)
	}
	return l.T("agency.business_h", "Hours", h)
}
