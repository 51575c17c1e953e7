package sla

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// BudgetClocks evaluates the hour-budget policy for the month of now, read
// in each client's calendar zone (UTC for a client without a calendar).
// Only billable entries dated on or before today (the date of now in that
// zone) count; entries are dated, not timed, so today's count whole.
// Entries whose Date does not parse are ignored. Clients are those with at
// least one entry; a MonthlyHours of 0 turns the policy off.
//
// The month's budget is BudgetRule.MonthBudget's: with Rollover, what the
// previous month left unused carries over (one month only, never
// compounding), not into the client's first month.
//
// It returns, all with a client subject:
//
//   - one Breached clock per threshold crossed, for every fraction f in
//     Thresholds: the first date on which the running total of the month's
//     hours reached f*budget; StartedAt and BreachedAt are that date at
//     00:00 in the client's zone. Its ID names the client, the month and f.
//   - with ProjectOverrun, an AtRisk "projected" clock when
//     used / elapsed workdays * workdays in the month > budget, where
//     elapsed workdays are the calendar's workdays from the 1st to today,
//     both included (none yet: no projection). It runs from the month's
//     start and is due at its end.
//   - with WarnUnused > 0, an AtRisk "unused" clock in the month's last 7
//     calendar days when (budget - used) / budget > WarnUnused. It runs from
//     the first of those days and is due at the month's end.
func BudgetClocks(entries []TimeEntry, rules Rules, now time.Time) []Clock {
	type dated struct {
		key     int // civil date
		seconds int64
	}
	byClient := map[string][]dated{}
	firstData := map[string]string{} // the client's first month with any time, billable or not
	for _, e := range entries {
		if e.ClientID == "" {
			continue
		}
		d, err := parseDate(e.Date)
		if err != nil {
			continue
		}
		if m := e.Date[:7]; firstData[e.ClientID] == "" || m < firstData[e.ClientID] {
			firstData[e.ClientID] = m
		}
		if !e.Billable {
			continue
		}
		byClient[e.ClientID] = append(byClient[e.ClientID], dated{d, e.Seconds})
	}
	clients := make([]string, 0, len(byClient))
	for id := range byClient {
		clients = append(clients, id)
	}
	sort.Strings(clients)
	rc := newRuleCache(rules)
	var out []Clock
	for _, id := range clients {
		ps, cal := rc.get(id)
		p := Rule[*BudgetPolicy](ps)
		if p == nil || p.MonthlyHours <= 0 {
			continue
		}
		loc := time.UTC
		if cal != nil {
			loc = cal.Location()
		}
		local := now.In(loc)
		y, m, today := local.Date()
		monthStart := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		nextMonth := monthStart.AddDate(0, 1, 0)
		py, pm, _ := monthStart.AddDate(0, -1, 0).Date()
		daysInMonth := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()

		var perDay [32]int64 // this month's seconds by day of month
		var prevUsed int64
		first := firstData[id]
		for _, e := range byClient[id] {
			ey, em, ed := e.key/10000, time.Month(e.key/100%100), e.key%100
			switch {
			case ey == y && em == m && ed <= today:
				perDay[ed] += e.seconds
			case ey == py && em == pm:
				prevUsed += e.seconds
			}
		}
		month := monthStart.Format("2006-01")
		hours, _ := p.MonthBudget(month, prevUsed, first)
		if hours <= 0 {
			continue // before the budget's start, or an overrun took it all: no fraction of nothing
		}
		budget := hours * 3600 // seconds
		clock := func(state string, start time.Time, parts ...string) Clock {
			return Clock{
				ID:        ClockID(PolicyHourBudget, append([]string{id, month}, parts...)...),
				Policy:    PolicyHourBudget,
				ClientID:  id,
				State:     state,
				Subject:   clientSubject(id),
				StartedAt: start,
			}
		}

		var used int64
		for d := 1; d <= today; d++ {
			used += perDay[d]
		}
		ths := slices.Clone(p.Thresholds)
		slices.Sort(ths)
		ths = slices.Compact(ths)
		for _, f := range ths {
			if f <= 0 {
				continue
			}
			limit := int64(math.Round(f * budget))
			var run int64
			for d := 1; d <= today; d++ {
				run += perDay[d]
				if perDay[d] > 0 && run >= limit {
					day := time.Date(y, m, d, 0, 0, 0, 0, loc)
					c := clock(Breached, day, "threshold", strconv.FormatFloat(f, 'g', -1, 64))
					c.BreachedAt = day
					out = append(out, c)
					break
				}
			}
		}
		if p.ProjectOverrun && cal != nil {
			var elapsed, total int
			for d := 1; d <= daysInMonth; d++ {
				if cal.IsWorkday(time.Date(y, m, d, 12, 0, 0, 0, loc)) {
					total++
					if d <= today {
						elapsed++
					}
				}
			}
			if elapsed > 0 && float64(used)/float64(elapsed)*float64(total) > budget {
				c := clock(AtRisk, monthStart, "projected")
				c.DueAt = nextMonth
				out = append(out, c)
			}
		}
		if lastWeek := daysInMonth - 6; p.WarnUnused > 0 && today >= lastWeek &&
			(budget-float64(used))/budget > p.WarnUnused {
			c := clock(AtRisk, time.Date(y, m, lastWeek, 0, 0, 0, 0, loc), "unused")
			c.DueAt = nextMonth
			out = append(out, c)
		}
	}
	return sortClocks(out)
}

// BudgetRule is how a client's monthly budget carries over from month to
// month (mapping.Budget's rules). The hour report, the hour_budget policy
// and the bi_budget_months view all count by it.
type BudgetRule struct {
	MonthlyHours float64
	// Rollover carries what a month left unused into the next one, one
	// month only: never compounding.
	Rollover bool
	// RolloverMax caps, in hours, what carries over either way; 0 is no
	// cap.
	RolloverMax float64
	// CarryOverrun takes a month's overrun from the next month's budget
	// (with Rollover), down to no budget at all.
	CarryOverrun bool
	// Start is the first month ("2006-01") the budget counts: there is no
	// budget before it and nothing carries into it. Without it, the
	// client's first month with time logged is taken for its first.
	Start string
}

// MonthBudget is the budget of month ("2006-01") in hours, and the part
// of it carried over from the month before (negative: an overrun taken
// back), given the billable seconds that month used and the client's
// first month with time logged ("" when it has none).
func (r BudgetRule) MonthBudget(month string, prevUsed int64, firstData string) (budget, carried float64) {
	if r.MonthlyHours <= 0 || r.Start != "" && month < r.Start {
		return 0, 0
	}
	from := r.Start
	if from == "" {
		from = firstData
	}
	if prev := prevMonthKey(month); r.Rollover && from != "" && prev >= from {
		carried = r.MonthlyHours - float64(prevUsed)/3600
		if carried < 0 && !r.CarryOverrun {
			carried = 0
		}
		if r.RolloverMax > 0 {
			carried = max(-r.RolloverMax, min(r.RolloverMax, carried))
		}
	}
	budget = r.MonthlyHours + carried
	if budget < 0 {
		budget, carried = 0, -r.MonthlyHours
	}
	return budget, carried
}

// prevMonthKey is the month before a "2006-01" month; "" for one that
// does not parse.
func prevMonthKey(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return ""
	}
	return t.AddDate(0, -1, 0).Format("2006-01")
}
