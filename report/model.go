package report

import (
	"math"
	"time"
)

// SchemaVersion is the version of the JSON both reports are written in. It
// changes only when a field is removed or changes meaning; new fields may
// appear without a change.
const SchemaVersion = 1

// Hours is the hour report of one client for one period. Field names in
// JSON are stable (see the package documentation); every duration is given
// as exact seconds and as hours rounded to two decimals.
type Hours struct {
	Version     int       `json:"version"`
	Kind        string    `json:"kind"` // "hours"
	Agency      string    `json:"agency"`
	Client      ClientRef `json:"client"`
	Period      PeriodRef `json:"period"`
	GeneratedAt time.Time `json:"generated_at"`
	// Complete is false while the period is still running.
	Complete bool `json:"complete"`
	// Language is what the Markdown, HTML and CSV speak (the client's
	// language:, else the agency's, else en); the JSON's names and titles
	// stay English.
	Language string `json:"language"`

	Totals Totals `json:"totals"`
	// Budget is null when the client has no monthly_hours.
	Budget     *Budget         `json:"budget"`
	Categories []CategoryHours `json:"categories"`
	People     []PersonHours   `json:"people"`
	Tasks      []TaskHours     `json:"tasks"`
	Chart      Chart           `json:"chart"`
	OutOfScope OutOfScope      `json:"out_of_scope"`
	// ClientCreated are the tasks client-side people created in the period.
	ClientCreated []TaskEvent `json:"client_created"`
	// Rework are the tasks sent back from review to work in the period.
	Rework []Rework `json:"rework"`
	// DoneUntracked are the tasks finished in the period that have no time
	// logged at all.
	DoneUntracked []TaskEvent `json:"done_untracked"`
	SLA           SLASummary  `json:"sla"`
	// Entries are the period's time entries, one by one: what the CSV holds.
	Entries []Entry `json:"entries"`
	// Cabinet is the client's cabinet link a delivered report carries
	// (routing.reports' cabinet_link); absent elsewhere.
	Cabinet *CabinetRef `json:"cabinet,omitempty"`
}

// CabinetRef is a link to the client's cabinet, and until when it opens.
type CabinetRef struct {
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

// ClientRef names a client.
type ClientRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// PeriodRef is a period as reports print it.
type PeriodRef struct {
	Kind     string `json:"kind"`  // month, week, range
	Label    string `json:"label"` // 2026-10, 2026-W43, 2026-10-01..2026-10-15
	Title    string `json:"title"` // October 2026
	First    string `json:"first"` // first day, YYYY-MM-DD
	Last     string `json:"last"`  // last day, YYYY-MM-DD
	TimeZone string `json:"time_zone"`
}

func periodRef(p Period) PeriodRef {
	return PeriodRef{Kind: p.Kind, Label: p.Label, Title: p.Title(), First: p.FirstDay(), Last: p.LastDay(),
		TimeZone: p.Start.Location().String()}
}

// Totals sum the period's time.
type Totals struct {
	Entries            int     `json:"entries"`
	Seconds            int64   `json:"seconds"`
	Hours              float64 `json:"hours"`
	BillableSeconds    int64   `json:"billable_seconds"`
	BillableHours      float64 `json:"billable_hours"`
	NonBillableSeconds int64   `json:"non_billable_seconds"`
	NonBillableHours   float64 `json:"non_billable_hours"`
}

// Budget is the period's hours against the client's budget. Billable time
// counts against it.
type Budget struct {
	MonthlyHours float64 `json:"monthly_hours"`
	Rollover     bool    `json:"rollover"`
	// RolloverMax, CarryOverrun and Start are the budget's other rules
	// (mapping.Budget); absent when unset.
	RolloverMax  float64 `json:"rollover_max,omitempty"`
	CarryOverrun bool    `json:"carry_overrun,omitempty"`
	Start        string  `json:"start,omitempty"`
	// CarriedOverHours is the part of BudgetHours that unused hours of the
	// previous month(s) added; negative when an overrun was taken back.
	CarriedOverHours float64 `json:"carried_over_hours"`
	// BudgetHours is the budget for the period: each month's budget
	// (with its rollover) prorated by the days of the month in the period.
	BudgetHours float64 `json:"budget_hours"`
	UsedSeconds int64   `json:"used_seconds"`
	UsedHours   float64 `json:"used_hours"`
	// RemainingHours is negative when the budget is overrun.
	RemainingHours float64 `json:"remaining_hours"`
	UsedPercent    float64 `json:"used_percent"`
}

// CategoryHours is the time of one category. All four categories are
// always listed, in a fixed order.
type CategoryHours struct {
	Category string  `json:"category"` // production, communication, meeting, non_billable
	Title    string  `json:"title"`
	Seconds  int64   `json:"seconds"`
	Hours    float64 `json:"hours"`
	// NonBillableSeconds is the part of Seconds its entries mark not
	// billable (the tracker's flag, apart from the non_billable category).
	NonBillableSeconds int64   `json:"non_billable_seconds"`
	NonBillableHours   float64 `json:"non_billable_hours"`
}

// PersonHours is one person's time in the period.
type PersonHours struct {
	ID              string  `json:"id"` // the config's person id; "" when the tracker's user maps to nobody
	Name            string  `json:"name"`
	Seconds         int64   `json:"seconds"`
	Hours           float64 `json:"hours"`
	BillableSeconds int64   `json:"billable_seconds"`
	BillableHours   float64 `json:"billable_hours"`
}

// TaskRef names a task.
type TaskRef struct {
	Source string `json:"source"` // the source id; "" for time not linked to a task
	ID     string `json:"id"`
	Title  string `json:"title"`
	// URL is the task's link, only when it is http or https.
	URL string `json:"url"`
	// Status is the normalized status; SourceStatus the source's own name
	// for it (the Trello list), which the client knows.
	Status       string `json:"status"`
	SourceStatus string `json:"source_status"`
}

// TaskHours is the time on one task in the period.
type TaskHours struct {
	TaskRef
	OutOfScope bool    `json:"out_of_scope"`
	Seconds    int64   `json:"seconds"`
	Hours      float64 `json:"hours"`
}

// Chart is the period's billable time, cumulated per week (per day for a
// period of two weeks or less, per month beyond three months), against the
// budget.
type Chart struct {
	Unit        string       `json:"unit"` // day, week, month
	BudgetHours float64      `json:"budget_hours"`
	Points      []ChartPoint `json:"points"`
}

// ChartPoint is one bar of the chart.
type ChartPoint struct {
	Label             string  `json:"label"`
	First             string  `json:"first"`
	Last              string  `json:"last"`
	Seconds           int64   `json:"seconds"`
	Hours             float64 `json:"hours"`
	CumulativeSeconds int64   `json:"cumulative_seconds"`
	CumulativeHours   float64 `json:"cumulative_hours"`
}

// OutOfScope is the work marked out of scope: time on tasks carrying one of
// Labels, and time entries tagged with one of them.
type OutOfScope struct {
	Labels  []string    `json:"labels"`
	Seconds int64       `json:"seconds"`
	Hours   float64     `json:"hours"`
	Tasks   []TaskHours `json:"tasks"`
}

// TaskEvent is something that happened to a task in the period.
type TaskEvent struct {
	TaskRef
	At time.Time `json:"at"`
	// Person is who did it, when known.
	Person string `json:"person"`
}

// Rework is a task sent back from review in the period.
type Rework struct {
	TaskRef
	// Times is how often it went back in the period; LastAt the last time.
	Times  int       `json:"times"`
	LastAt time.Time `json:"last_at"`
}

// SLASummary is what the SLA clocks say of the period.
type SLASummary struct {
	// Answered counts the client messages of the period that got an
	// agency reply; Median and P90 are their response times in business
	// time of the client's calendar (P90 by nearest rank).
	Answered      int   `json:"answered"`
	MedianSeconds int64 `json:"median_seconds"`
	P90Seconds    int64 `json:"p90_seconds"`
	// Unanswered counts the client messages of the period still waiting
	// for a reply at the last sync.
	Unanswered int `json:"unanswered"`
	// Breaches are the promises broken in the period, waived ones
	// included; hour-budget alerts and untracked work are not among them
	// (the report shows the budget and DoneUntracked apart).
	Breaches []Breach `json:"breaches"`
	Waived   int      `json:"waived"`
}

// Breach is one broken promise.
type Breach struct {
	ClockID     string    `json:"clock_id"`
	Policy      string    `json:"policy"`
	PolicyTitle string    `json:"policy_title"`
	Title       string    `json:"title"`
	URL         string    `json:"url"`
	BreachedAt  time.Time `json:"breached_at"`
	// State is breached (still open) or resolved (done, late).
	State  string `json:"state"`
	Waived bool   `json:"waived"`
	Reason string `json:"reason"`
}

// Entry is one time entry, as the CSV and JSON list it.
type Entry struct {
	Date       string  `json:"date"`
	PersonID   string  `json:"person_id"`
	Person     string  `json:"person"`
	ClientID   string  `json:"client_id"`
	Task       TaskRef `json:"task"`
	Project    string  `json:"project"`
	Category   string  `json:"category"`
	Billable   bool    `json:"billable"`
	OutOfScope bool    `json:"out_of_scope"`
	Seconds    int64   `json:"seconds"`
	Hours      float64 `json:"hours"`
	Note       string  `json:"note"`
	Source     string  `json:"source"`
	EntryID    string  `json:"entry_id"`
}

// Capacity is the capacity report: the agency's people against their
// capacity, and each client's time against its budget, for one period.
type Capacity struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"` // "capacity"
	Agency  string `json:"agency"`
	// Language is what the Markdown and HTML speak: the agency's (en,
	// ru, bg, de). The JSON, its answer included, stays English.
	Language    string    `json:"language"`
	Period      PeriodRef `json:"period"`
	GeneratedAt time.Time `json:"generated_at"`
	Complete    bool      `json:"complete"`
	// Elapsed is the share of the period's business time (in the agency's
	// calendar) gone by GeneratedAt: 1 for a past period.
	Elapsed float64          `json:"elapsed"`
	Totals  CapacityTotals   `json:"totals"`
	People  []PersonLoad     `json:"people"`
	Clients []ClientLoad     `json:"clients"`
	Matrix  []CapacityMatrix `json:"matrix"`
}

// CapacityTotals answer "can we take another client?".
type CapacityTotals struct {
	People        int     `json:"people"`
	CapacityHours float64 `json:"capacity_hours"`
	// CommittedHours sums the clients' budgets for the period.
	CommittedHours float64 `json:"committed_hours"`
	ClientHours    float64 `json:"client_hours"`
	// InternalHours is time logged to no client (internal work, time off
	// tracked as such).
	InternalHours float64 `json:"internal_hours"`
	// DemandHours is what the period asks of the team: each client's
	// budget or its projected hours, whichever is more, plus projected
	// internal time. Projections extrapolate the hours so far over the
	// period's remaining business time.
	DemandHours float64 `json:"demand_hours"`
	// HeadroomHours is capacity minus demand: negative when overbooked.
	HeadroomHours float64 `json:"headroom_hours"`
	// Answer says it in a sentence.
	Answer string `json:"answer"`
}

// PersonLoad is one agency person's time against their capacity.
type PersonLoad struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	// Calendar names the business calendar the capacity comes from;
	// "default" is Monday to Friday, 8 hours, for a person with none.
	Calendar            string  `json:"calendar"`
	CapacityHours       float64 `json:"capacity_hours"`
	CapacityToDateHours float64 `json:"capacity_to_date_hours"`
	Seconds             int64   `json:"seconds"`
	Hours               float64 `json:"hours"`
	ClientHours         float64 `json:"client_hours"`
	InternalHours       float64 `json:"internal_hours"`
	// Utilization is Hours over CapacityToDateHours, 0 without capacity.
	Utilization float64 `json:"utilization"`
	// Status: ok, over (more than capacity so far), light (under half).
	Status string `json:"status"`
}

// ClientLoad is one client's time against its budget.
type ClientLoad struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	BudgetHours         float64 `json:"budget_hours"`
	ExpectedToDateHours float64 `json:"expected_to_date_hours"`
	Seconds             int64   `json:"seconds"`
	Hours               float64 `json:"hours"`
	BillableHours       float64 `json:"billable_hours"`
	ProjectedHours      float64 `json:"projected_hours"`
	// DeliveredPercent is billable hours over the budget so far (the
	// budget times Elapsed).
	DeliveredPercent float64 `json:"delivered_percent"`
	// Status: on_track, under_served, ahead, over_budget, no_budget.
	Status string `json:"status"`
}

// CapacityMatrix is one person's hours for one client ("" for internal).
type CapacityMatrix struct {
	PersonID string  `json:"person_id"`
	Person   string  `json:"person"`
	ClientID string  `json:"client_id"`
	Client   string  `json:"client"`
	Seconds  int64   `json:"seconds"`
	Hours    float64 `json:"hours"`
}

// hours converts seconds to hours rounded to two decimals.
func hours(seconds int64) float64 { return round2(float64(seconds) / 3600) }

func round2(f float64) float64 { return math.Round(f*100) / 100 }
