package push

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// Scheduled reports (routing.reports). Planning queues, for every
// schedule, client it covers and sink it names, one delivery keyed
// report:<report>:<client>:<period>:<sink> once the period's report is
// due: the previous month's on the first business day of the month in the
// client's calendar, from its first business hour. The key makes queueing
// idempotent; the row holds what to make, and the worker makes the report
// from the store just before it delivers (Worker.makeReport).

// KindReport is the outbox kind of a report delivery.
const KindReport = "report"

// ReportDue returns the month whose report is due at now for a client
// (its label, 2026-10) and the instant it became due: the first business
// instant of the first working day of now's month in the client's
// calendar (UTC and Monday to Friday without one). ok is false before
// that instant.
func (p *Planner) ReportDue(clientID string, now time.Time) (period string, due time.Time, ok bool) {
	var loc = time.UTC
	cal := p.calendar(clientID)
	if cal != nil {
		loc = cal.Location()
	}
	local := now.In(loc)
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	day := first
	for range 31 {
		work := day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
		if cal != nil {
			// Noon: the day's date, whatever a clock change does.
			work = cal.IsWorkday(day.Add(12 * time.Hour))
		}
		if work {
			break
		}
		day = day.AddDate(0, 0, 1)
	}
	due = day
	if cal != nil && !cal.IsBusiness(due) {
		due = cal.NextBusiness(due)
	}
	return first.AddDate(0, -1, 0).Format("2006-01"), due.UTC(), !now.Before(due)
}

func (p *Planner) calendar(clientID string) *sla.Calendar {
	if p.Calendars == nil {
		return nil
	}
	return p.Calendars.Calendar(clientID)
}

// keyPeriod is a period label as it stands in a delivery id: a range's
// ".." becomes "--" (a Message-ID has no doubled dots).
func keyPeriod(label string) string { return strings.ReplaceAll(label, "..", "--") }

// reportRows makes the deliveries of one schedule for a client and a
// period label, due at due.
func (p *Planner) reportRows(rs mapping.ReportSchedule, c mapping.Client, period string, due, now time.Time) ([]store.OutboxRow, error) {
	r := newRouter(p.Config, p.Calendars)
	var rows []store.OutboxRow
	for _, sink := range rs.Sinks {
		spec, ok := p.Config.Routing.Sinks[sink]
		if !ok {
			continue // the config's validation says so
		}
		rep := &sinks.Report{Name: rs.Report, Client: c.ID, Period: period}
		target := sinks.Target{ClientFacing: true, Due: &due}
		kind, ok := sinks.Lookup(spec.Kind)
		if !ok {
			continue
		}
		if kind.BindReport != nil {
			kind.BindReport(c, rs, rep)
		}
		if kind.Addressed {
			for _, person := range r.recipients(rs.To, c, nil) {
				// A schedule over every client names each client's people
				// only to that client.
				if pp, ok := r.people[person.ID]; ok && pp.Side == mapping.SideClient && pp.Client != c.ID {
					continue
				}
				target.People = append(target.People, person)
			}
		}

		payload, err := json.Marshal(sinks.Message{Kind: sinks.KindReport, Agency: p.Config.Agency.Name, Report: rep})
		if err != nil {
			return nil, err
		}
		tb, err := json.Marshal(target)
		if err != nil {
			return nil, err
		}
		rows = append(rows, store.OutboxRow{IdempotencyKey: mapping.ReportKey(rs.Report, c.ID, keyPeriod(period), sink),
			Kind: KindReport, Sink: sink, ClientID: c.ID, Target: string(tb), Payload: string(payload),
			Status: store.OutboxPending, CreatedAt: now})
	}
	return rows, nil
}

// dueReports returns the report deliveries due at now that the outbox
// does not hold yet.
func (p *Planner) dueReports(ctx context.Context, q *store.OutboxQuery, now time.Time) ([]store.OutboxRow, error) {
	var rows []store.OutboxRow
	for _, rs := range p.Config.Routing.Reports {
		if rs.Report != mapping.ReportHours || rs.PeriodOrDefault() != mapping.PeriodMonth {
			continue
		}
		for _, c := range p.Config.Clients {
			if !rs.Covers(c.ID) {
				continue
			}
			period, due, ok := p.ReportDue(c.ID, now)
			if !ok {
				continue
			}
			more, err := p.reportRows(rs, c, period, due, now)
			if err != nil {
				return nil, err
			}
			rows = append(rows, more...)
		}
	}
	return newRows(ctx, q, rows)
}

// newRows keeps the rows whose keys the outbox does not hold.
func newRows(ctx context.Context, q *store.OutboxQuery, rows []store.OutboxRow) ([]store.OutboxRow, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.IdempotencyKey
	}
	have, err := q.Keys(ctx, keys)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(rows, func(r store.OutboxRow) bool { return have[r.IdempotencyKey] }), nil
}

// QueueReport queues, now, the deliveries of a client's report for a
// period (a label report.ParsePeriod reads) through every schedule of
// routing.reports that delivers that report to the client, and returns
// their keys, those queued before included: queueing a report that was
// delivered already queues nothing, and its keys say where it went.
func (p *Planner) QueueReport(ctx context.Context, st *store.Store, name, clientID, period string, now time.Time) ([]string, error) {
	var c mapping.Client
	found := false
	for _, cl := range p.Config.Clients {
		if cl.ID == clientID {
			c, found = cl, true
		}
	}
	if !found {
		return nil, fmt.Errorf("no client %q in the config", clientID)
	}
	var rows []store.OutboxRow
	if p.Config.Routing != nil {
		for _, rs := range p.Config.Routing.Reports {
			if rs.Report != name || !rs.Covers(clientID) {
				continue
			}
			more, err := p.reportRows(rs, c, period, now, now)
			if err != nil {
				return nil, err
			}
			rows = append(rows, more...)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no schedule under routing.reports delivers the %s report of client %q: add one to name its sinks", name, clientID)
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.IdempotencyKey
	}
	err := st.PlanOutbox(ctx, func(q *store.OutboxQuery) error {
		_, err := q.Insert(ctx, rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queueing the %s report of %s: %w", name, clientID, err)
	}
	return keys, nil
}

// makeReport makes the report a report delivery carries, from the store,
// as of now.
func (w *Worker) makeReport(ctx context.Context, d *sinks.Delivery) error {
	r := d.Message.Report
	if r == nil {
		return sinks.Permanent(fmt.Errorf("delivery %s is a report but names none", d.ID))
	}
	if w.Planner == nil || w.Planner.Config == nil {
		return sinks.Permanent(fmt.Errorf("delivery %s: the worker has no config to make the report with", d.ID))
	}
	if r.Name != mapping.ReportHours {
		return sinks.Permanent(fmt.Errorf("delivery %s: no report %q", d.ID, r.Name))
	}
	cfg := w.Planner.Config
	loc, err := report.ClientLocation(cfg, r.Client)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("delivery %s: %w", d.ID, err))
	}
	now := w.now()
	period, err := report.ParsePeriod(r.Period, loc, now)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("delivery %s: period: %w", d.ID, err))
	}
	h, err := report.BuildHours(ctx, w.Store, cfg, report.HoursRequest{ClientID: r.Client, Period: period, Now: now})
	if err != nil {
		return fmt.Errorf("delivery %s: making the report: %w", d.ID, err)
	}
	if r.CabinetLink != "" {
		expires, err := mapping.ParseSpan(r.CabinetLink)
		switch {
		case err != nil:
			return sinks.Permanent(fmt.Errorf("delivery %s: cabinet_link: %w", d.ID, err))
		case w.CabinetLink == nil:
			w.log().Warn("a report asks for a cabinet link, but this worker cannot make them: sent without", "delivery", d.ID)
		default:
			u, until, err := w.CabinetLink(ctx, r.Client, expires, d.ID)
			if err != nil {
				return fmt.Errorf("delivery %s: the cabinet link: %w", d.ID, err)
			}
			h.Cabinet = &report.CabinetRef{URL: u, Expires: until.UTC()}
		}
	}
	md, err := report.Render(h, report.Markdown)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("delivery %s: %w", d.ID, err))
	}
	html, err := report.Render(h, report.HTML)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("delivery %s: %w", d.ID, err))
	}
	made := *r
	made.Subject, made.Markdown, made.HTML = md.Subject, string(md.Body), string(html.Body)
	d.Message.Report = &made
	return nil
}
