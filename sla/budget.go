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
// The month's budget is
//
//	budget = MonthlyHours + max(0, MonthlyHours - used in the previous month)   with Rollover
//	budget = MonthlyHours                                                          without
//
// so unused hours carry over one month only and never compound.
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
	for _, e := range entries {
		if !e.Billable || e.ClientID == "" {
			continue
		}
		d, err := parseDate(e.Date)
		if err != nil {
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
		if ps == nil || ps.HourBudget == nil || ps.HourBudget.MonthlyHours <= 0 {
			continue
		}
		p := ps.HourBudget
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
		for _, e := range byClient[id] {
			ey, em, ed := e.key/10000, time.Month(e.key/100%100), e.key%100
			switch {
			case ey == y && em == m && ed <= today:
				perDay[ed] += e.seconds
			case ey == py && em == pm:
				prevUsed += e.seconds
			}
		}
		monthly := p.MonthlyHours * 3600 // seconds
		budget := monthly
		if p.Rollover {
			budget += max(0, monthly-float64(prevUsed))
		}
		month := monthStart.Format("2006-01")
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
