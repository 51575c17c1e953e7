package demogen

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"time"
)

// everhourHeader is the exact header of an Everhour report export.
var everhourHeader = []string{"Date", "Member", "Email", "Client", "Project", "Task", "Task ID", "Tags", "Comment", "Time", "Billable"}

const internalProject = "Northwind — Internal"

// entry is one row of the time report.
type entry struct {
	who      int
	client   string
	project  string
	task     string
	taskID   string
	tags     []string
	comment  string
	minutes  int
	billable bool
}

var clientDurations = []int{15, 15, 15, 30, 30, 30, 45, 60, 60, 90, 120}

// monthBudgets spreads each board's monthly hours over its workdays in the
// history: minutes[board][workday index].
func monthBudgets(r rnd, scale int, days []time.Time) [][]int {
	out := make([][]int, len(boards))
	for bi, b := range boards {
		out[bi] = make([]int, len(days))
		for m := range 4 {
			month := time.Month(8 + m)
			var idx []int
			for i, d := range days {
				if d.Month() == month {
					idx = append(idx, i)
				}
			}
			total := 0
			for d := time.Date(2026, month, 1, 0, 0, 0, 0, berlin); d.Month() == month; d = d.AddDate(0, 0, 1) {
				if isWorkday(d) {
					total++
				}
			}
			target := b.rates[m] * 60 * scale * len(idx) / total / 15
			weights := make([]int, len(idx))
			sum := 0
			for i := range weights {
				weights[i] = r.between(3, 17)
				sum += weights[i]
			}
			given := 0
			for i, di := range idx {
				q := target * weights[i] / sum
				out[bi][di] = q * 15
				given += q
			}
			for ; given < target; given++ {
				out[bi][idx[r.IntN(len(idx))]] += 15
			}
		}
	}
	return out
}

// writeTimeEntries writes the Everhour report, one day at a time.
func writeTimeEntries(w *bufio.Writer, seed uint64, scale int, cards [][]*card, st *Stats) error {
	r := newRnd(seed, "time", 0)
	days := workdays()
	budgets := monthBudgets(r, scale, days)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(everhourHeader); err != nil {
		return err
	}
	wi := 0
	var rows []entry
	for day := historyStart; day.Before(historyEnd); day = day.AddDate(0, 0, 1) {
		rows = rows[:0]
		if isWorkday(day) {
			for bi, b := range boards {
				alive := aliveCards(cards[bi], day)
				for rem := budgets[bi][wi]; rem > 0; {
					m := min(pick(r, clientDurations), rem)
					rem -= m
					rows = append(rows, clientEntry(r, b, alive, day, m))
				}
			}
			for range scale {
				for who := range people {
					if !people[who].agency {
						continue
					}
					if r.chance(90) {
						rows = append(rows, internalEntry(r, who, "Daily stand-up", 15, "meeting"))
					}
					for range r.between(0, 3) {
						rows = append(rows, internalEntry(r, who, pick(r, internalTasks), pick(r, []int{15, 30, 30, 45, 60, 90, 120}), ""))
					}
				}
			}
			wi++
		} else if day.Weekday() == time.Saturday {
			// Someone always ships a hotfix on a Saturday now and then.
			for range scale {
				if r.chance(30) {
					b := boards[2]
					rows = append(rows, clientEntry(r, b, aliveCards(cards[2], day), day, pick(r, []int{60, 90, 120})))
				}
			}
		}
		slices.SortStableFunc(rows, func(a, b entry) int { return cmp.Compare(people[a.who].name, people[b.who].name) })
		date := day.Format(time.DateOnly)
		for _, e := range rows {
			billable := "no"
			if e.billable {
				billable = "yes"
			}
			rec := []string{date, people[e.who].name, people[e.who].email, e.client, e.project, e.task, e.taskID,
				strings.Join(e.tags, ", "), e.comment, fmt.Sprintf("%d:%02d", e.minutes/60, e.minutes%60), billable}
			if err := cw.Write(rec); err != nil {
				return err
			}
			st.TimeEntries++
			st.TrackedMinutes += e.minutes
		}
	}
	cw.Flush()
	return cw.Error()
}

func aliveCards(cards []*card, day time.Time) []*card {
	var out []*card
	for _, c := range cards {
		if c.aliveOn(day) {
			out = append(out, c)
		}
	}
	return out
}

func clientEntry(r rnd, b *board, alive []*card, day time.Time, minutes int) entry {
	who := b.workers[r.weighted(b.weights)]
	e := entry{who: who, client: b.client, project: b.name, minutes: minutes, billable: !r.chance(3)}
	russian := people[who].russian || (b.russian && who == pAnna && r.chance(50))
	lang := "en"
	if russian {
		lang = "ru"
	}
	var c *card
	if len(alive) > 0 && !r.chance(10) {
		for range 4 {
			c = pick(r, alive)
			if slices.Contains(c.members, who) {
				break
			}
		}
	}
	if c == nil {
		e.task = pick(r, nonCardTasks[b.lang()])
		if r.chance(60) {
			e.tags = append(e.tags, "communication")
		}
		if strings.Contains(e.task, "call") || strings.Contains(e.task, "созвон") {
			e.tags = append(e.tags, "meeting")
		}
	} else {
		e.task = c.name
		if r.chance(67) {
			e.taskID = "tr:" + c.id
		} else {
			e.taskID = "tr:" + c.shortLink
		}
		if who == b.pm && r.chance(40) || r.chance(5) {
			e.tags = append(e.tags, "communication")
		}
		if r.chance(3) {
			e.tags = append(e.tags, "meeting")
		}
		if slices.Contains(c.labels, labOutOfScope) && r.chance(80) || r.chance(2) {
			e.tags = append(e.tags, "out-of-scope")
		}
		if !c.reworkAt.IsZero() && !c.reworkAt.After(day.AddDate(0, 0, 1)) && r.chance(50) {
			e.tags = append(e.tags, "rework")
		}
	}
	e.comment = pick(r, entryComments[lang])
	if r.chance(1) {
		e.comment = "fixed layout\nchecked on iPhone and Android"
	}
	return e
}

func internalEntry(r rnd, who int, task string, minutes int, tag string) entry {
	e := entry{who: who, project: internalProject, task: task, minutes: minutes}
	if tag != "" {
		e.tags = []string{tag}
	}
	if r.chance(20) {
		e.comment = pick(r, []string{"weekly planning", "interview: frontend dev", "планирование", "onboarding docs"})
	}
	return e
}
