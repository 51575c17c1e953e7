package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reports a schedule can deliver, and the periods it can cover.
const (
	ReportHours = "hours"
	PeriodMonth = "month"
	AllClients  = "all"
)

// ReportSchedule delivers a report of every period through sinks: the
// hours report of the month just ended, on the first business day of the
// next month in the client's calendar, mailed to the people in to and
// posted as a comment on the client's report card.
type ReportSchedule struct {
	Report  string   `yaml:"report" required:"true" enum:"hours" doc:"the report: hours (a client's hours report)"`
	Period  string   `yaml:"period" enum:"month" doc:"the period each delivery covers, the one just ended (default month)"`
	Sinks   []string `yaml:"sinks" required:"true" doc:"names of sinks under routing.sinks: email (mail with the HTML report and a text part), trello (a comment on the client's report card, made once on its first board), file"`
	To      []string `yaml:"to" doc:"who an email sink writes to: contacts (the client's), pm, lead or person ids"`
	Clients []string `yaml:"clients" doc:"client ids, or [all] (the default): every client"`
	// Card is the name of the Trello card the reports go on.
	Card string `yaml:"card" doc:"name of the card on the client's first board that a trello sink comments on, created at the top of the board's first open list when missing (default Hours report)"`
	// CabinetLink is how long the cabinet link a report carries opens.
	CabinetLink string `yaml:"cabinet_link" doc:"the report carries a new link to the client's cabinet that opens this long: days (90d) or a duration; needs serve.public_url"`
}

// CabinetExpiry is how long the schedule's cabinet links open, 0 when its
// reports carry none (validation refuses a bad value).
func (r ReportSchedule) CabinetExpiry() time.Duration {
	d, _ := ParseSpan(r.CabinetLink)
	return d
}

// ParseSpan reads a span of days ("90d") or a Go duration ("36h").
func ParseSpan(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 3660 {
			return 0, fmt.Errorf("%q is not a number of days from 1 to 3660", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 90d or 36h", s)
	}
	return d, nil
}

// DefaultReportCard is the name of the card reports are posted on.
const DefaultReportCard = "Hours report"

// PeriodOrDefault is the schedule's period, month when unset.
func (r ReportSchedule) PeriodOrDefault() string {
	if r.Period == "" {
		return PeriodMonth
	}
	return r.Period
}

// CardOrDefault is the name of the report card.
func (r ReportSchedule) CardOrDefault() string {
	if strings.TrimSpace(r.Card) == "" {
		return DefaultReportCard
	}
	return strings.TrimSpace(r.Card)
}

// Covers reports whether the schedule delivers clientID's reports.
func (r ReportSchedule) Covers(clientID string) bool {
	return len(r.Clients) == 0 || slices.Contains(r.Clients, AllClients) || slices.Contains(r.Clients, clientID)
}

// reportSchedule checks one schedule against the rest of the config.
func (v *validator) reportSchedule(path string, rs ReportSchedule) {
	r := v.cfg.Routing
	if rs.CabinetLink != "" {
		if _, err := ParseSpan(rs.CabinetLink); err != nil {
			v.errorf(path+".cabinet_link", "%v", err)
		} else if v.cfg.Serve == nil || v.cfg.Serve.PublicURL == "" {
			v.errorf(path+".cabinet_link", "needs serve.public_url: the link a client opens starts with it")
		}
	}
	if len(rs.Sinks) == 0 {
		v.errorf(path+".sinks", "name at least one sink under routing.sinks")
	}
	addressed := ""
	for j, name := range rs.Sinks {
		sp := fmt.Sprintf("%s.sinks[%d]", path, j)
		s, found := r.Sinks[name]
		kind, known := v.sinkKind(s.Kind)
		switch {
		case !found:
			v.errorf(sp, "no sink %q under routing.sinks (known: %s)", name, keys(r.Sinks))
		case !known: // reported at the sink's kind
		case !kind.Reports:
			v.errorf(sp, "a report goes through %s sinks, not %s", kindList(v.sinks, func(k SinkKind) bool { return k.Reports }), s.Kind)
		case kind.Addressed:
			addressed = kind.Name
		}
		if slices.Index(rs.Sinks, name) < j {
			v.errorf(sp, "sink %q is named twice", name)
		}
	}
	if addressed != "" && len(rs.To) == 0 {
		v.errorf(path+".to", "%s sink needs people to write to (contacts, pm, lead or person ids)", article(addressed))
	}
	people := map[string]Person{}
	for _, p := range v.cfg.People {
		people[p.ID] = p
	}
	for j, to := range rs.To {
		if slices.Contains(roles, to) && to != ToAssignee {
			continue
		}
		if _, ok := people[to]; !ok {
			v.errorf(fmt.Sprintf("%s.to[%d]", path, j), "%q is neither a role (pm, lead, contacts) nor a person id", to)
		}
	}
	clients := map[string]bool{}
	for _, c := range v.cfg.Clients {
		clients[c.ID] = true
	}
	for j, id := range rs.Clients {
		if id != AllClients && !clients[id] {
			v.errorf(fmt.Sprintf("%s.clients[%d]", path, j), "no client %q", id)
		}
	}
	// The delivery id (report:hours:<client>:<period>:<sink>) must stay
	// a valid marker: 100 characters of letters, digits and ._:-.
	for _, c := range v.cfg.Clients {
		if !rs.Covers(c.ID) {
			continue
		}
		for _, name := range rs.Sinks {
			// The longest period: a range of days.
			key := ReportKey(rs.Report, c.ID, "2026-10-01--2026-10-15", name)
			switch {
			case len(key) > 100:
				v.errorf(path, "client %q and sink %q make a delivery id of %d characters, more than 100: shorten them", c.ID, name, len(key))
			case strings.Contains(key, "_"):
				v.errorf(path, "client %q and sink %q make the delivery id %s, and a delivery id has no '_' (it is the marker on the card): rename the sink",
					c.ID, name, ReportKey(rs.Report, c.ID, "<period>", name))
			}
		}
	}
}

// ReportKey is the idempotency key of a scheduled report's delivery.
func ReportKey(report, clientID, period, sink string) string {
	return "report:" + report + ":" + clientID + ":" + period + ":" + sink
}
