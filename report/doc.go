// Package report makes the reports clients and the agency read: the hour
// report of one client for one period ([BuildHours]) and the capacity
// report of the whole team ([BuildCapacity]), each written as Markdown,
// HTML, CSV or JSON by [Render], which also suggests a subject and a file
// name, so that a delivery (a mail, a card comment, a file) is one call.
//
// It reads the store through store's report queries (store/report.go) and
// the config (mapping) for names, budgets and time zones; capacity takes
// the business calendars (sla) from its caller. It must not import
// connectors, sync or cmd: the push side calls it, not the reverse.
//
// # Periods
//
// A period is whole days in one zone: the client's calendar zone for the
// hour report, the agency's for capacity. "2026-10" is a month, "2026-W43"
// an ISO week (Monday to Sunday), "2026-10-01..2026-10-15" a range of days,
// both included; none is the month of now. Time entries are dated and count
// by their date; instants (a status move, a task's creation, a clock's
// breach) count when they fall in the period and not after the report's
// "now", so a report made as of an instant shows what was known then.
//
// # What the hour report counts
//
//   - Hours: live time entries of the client dated in the period. Billable
//     time counts against the budget.
//   - Budget: the monthly hours, plus, with rollover, what the previous
//     month left unused (one month only, never compounding, as the SLA
//     engine's hour_budget policy counts it), prorated by the days of each
//     month inside the period.
//   - Out of scope: time on tasks carrying an out-of-scope label, and time
//     entries tagged with one ("out of scope" by default; compared ignoring
//     case and the difference between spaces, '-' and '_'), plus such tasks
//     created in the period with no time yet.
//   - Created by the client: tasks whose creator is on the client's side,
//     created in the period.
//   - Rework: tasks moved from review back to in progress, to do or backlog
//     in the period (a move to waiting_client is a pause, not rework).
//   - Done with no time: tasks moved to done in the period, done or archived
//     now, with no live time entry at all.
//   - SLA: response clocks started in the period; answered ones give the
//     median and the 90th percentile (nearest rank) of their business time
//     in the client's calendar, open ones are "unanswered". Breaches are the
//     clocks that breached in the period, waived ones included with their
//     reason, except hour_budget and untracked_work, which the budget and
//     "done with no time" show.
//
// # Formats
//
// Markdown is for card comments and GitHub: lists, no tables (Trello does
// not render them); every client-controlled string is escaped so that it
// forms no link, mention (@board), HTML or hidden marker. HTML is one
// self-contained page (inline CSS and SVG, no script or request) for
// phones, desktops and print to PDF, escaped by html/template; links that
// are not http(s) are dropped before any format sees them. CSV is for
// accounting: one row per time entry (what an accountant reconciles with
// the tracker and pivots), UTF-8 with a byte order mark so Excel reads
// Cyrillic, cells that a spreadsheet would run as formulas prefixed with
// an apostrophe. JSON is the model itself.
//
// # JSON
//
// The JSON of both reports is the [Hours] and [Capacity] types with their
// json tags; the names are stable within a "version" (SchemaVersion, now
// 1): a field is only added, never renamed or given another meaning,
// without a new version. Durations come twice: exact seconds ("seconds",
// "billable_seconds", ...) and hours rounded to two decimals ("hours",
// ...); sum the seconds. Instants are RFC 3339 in UTC; dates are
// YYYY-MM-DD in the period's zone. The hour report:
//
//	version, kind ("hours"), agency, generated_at, complete
//	client       {id, name, time_zone}
//	period       {kind (month|week|range), label, title, first, last, time_zone}
//	totals       {entries, seconds, hours, billable_seconds, billable_hours, non_billable_seconds, non_billable_hours}
//	budget       null | {monthly_hours, rollover, carried_over_hours, budget_hours, used_seconds, used_hours, remaining_hours, used_percent}
//	categories   [{category (production|communication|meeting|non_billable), title, seconds, hours}]
//	people       [{id, name, seconds, hours, billable_seconds, billable_hours}]
//	tasks        [{source, id, title, url, status, source_status, out_of_scope, seconds, hours}]   ("" id: time on no task)
//	chart        {unit (day|week|month), budget_hours, points: [{label, first, last, seconds, hours, cumulative_seconds, cumulative_hours}]}
//	out_of_scope {labels, seconds, hours, tasks: [task as above]}
//	client_created, done_untracked  [{source, id, title, url, status, source_status, at, person}]
//	rework       [{source, id, title, url, status, source_status, times, last_at}]
//	sla          {answered, median_seconds, p90_seconds, unanswered, waived,
//	              breaches: [{clock_id, policy, policy_title, title, url, breached_at, state, waived, reason}]}
//	entries      [{date, person_id, person, client_id, task: {...}, project, category, billable, out_of_scope, seconds, hours, note, source, entry_id}]
//
// The capacity report:
//
//	version, kind ("capacity"), agency, language (what the Markdown and HTML speak: agency.language), period,
//	generated_at, complete, elapsed (0..1 of the period's business time)
//	totals  {people, capacity_hours, committed_hours, client_hours, internal_hours, demand_hours, headroom_hours,
//	         answer (in English, whatever the language)}
//	people  [{id, name, role, calendar, capacity_hours, capacity_to_date_hours, seconds, hours, client_hours, internal_hours,
//	          utilization, status (ok|over|light|no_capacity)}]
//	clients [{id, name, budget_hours, expected_to_date_hours, seconds, hours, billable_hours, projected_hours,
//	          delivered_percent, status (on_track|under_served|ahead|over_budget|no_budget)}]
//	matrix  [{person_id, person, client_id, client ("internal" for no client), seconds, hours}]
package report
