package mapping

import (
	"strings"
	"testing"
)

// reportsBase is routingBase with a report schedule that validates.
const reportsBase = routingBase + `  reports:
    - {report: hours, sinks: [mail, cards], to: [contacts, pm]}
`

func TestReportScheduleValid(t *testing.T) {
	t.Parallel()
	text := strings.Replace(reportsBase, "    boards: [b1]\n", "    boards: [b1]\n    out_of_scope_labels: [extra, \"вне договора\"]\n", 1)
	text = strings.Replace(text, "role: pm, emails: [anna@northwind.agency]", "role: pm, capacity: 0.5, emails: [anna@northwind.agency]", 1)
	l, ps := parse(t, text, nil)
	if ps != nil {
		t.Fatalf("unexpected problems:\n%v", ps)
	}
	rs := l.Routing.Reports[0]
	if rs.PeriodOrDefault() != PeriodMonth || rs.CardOrDefault() != DefaultReportCard || !rs.Covers("acme") {
		t.Errorf("defaults: %+v", rs)
	}
	if got := l.Clients[0].OutOfScopeLabels; len(got) != 2 || got[1] != "вне договора" {
		t.Errorf("out_of_scope_labels %q", got)
	}
	if l.People[0].CapacityShare() != 0.5 || l.People[1].CapacityShare() != 1 {
		t.Errorf("capacity shares %v, %v; want 0.5 and the default 1", l.People[0].CapacityShare(), l.People[1].CapacityShare())
	}
	if k := ReportKey("hours", "acme", "2026-10", "mail"); k != "report:hours:acme:2026-10:mail" {
		t.Errorf("key %s", k)
	}
}

func TestReportScheduleProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{
			name: "capacity out of range",
			old:  "role: pm, emails: [anna@northwind.agency]",
			new:  "role: pm, capacity: 1.5, emails: [anna@northwind.agency]",
			want: []string{`karkas.yaml:14:62: people[0].capacity: must be more than 0 and at most 1 (a share of the calendar's hours), got 1.5`},
		},
		{
			name: "capacity zero",
			old:  "role: pm, emails: [anna@northwind.agency]",
			new:  "role: pm, capacity: 0, emails: [anna@northwind.agency]",
			want: []string{`karkas.yaml:14:62: people[0].capacity: must be more than 0 and at most 1 (a share of the calendar's hours), got 0`},
		},
		{
			name: "unknown report, period, sink kind and client; mail without recipients",
			old:  "    - {report: hours, sinks: [mail, cards], to: [contacts, pm]}\n",
			new:  "    - {report: hour, period: year, sinks: [mail, folder, nope], clients: [acme, zeta]}\n",
			want: []string{
				`routing.reports[0].report: "hour" is not one of: hours`,
				`routing.reports[0].period: "year" is not one of: month`,
				`routing.reports[0].sinks[2]: no sink "nope" under routing.sinks (known: cards, folder, mail)`,
				`routing.reports[0].to: an email sink needs people to write to`,
				`routing.reports[0].clients[1]: no client "zeta"`,
			},
		},
		{
			name: "a github sink, a role that needs a task, an empty label",
			old:  "    - {report: hours, sinks: [mail, cards], to: [contacts, pm]}\n",
			new:  "    - {report: hours, sinks: [mail, gh], to: [assignee]}\n",
			want: []string{
				`routing.reports[0].sinks[1]: no sink "gh"`,
				`routing.reports[0].to[0]: "assignee" is neither a role (pm, lead, contacts) nor a person id`,
			},
		},
		{
			name: "an empty out-of-scope label",
			old:  "    boards: [b1]\n",
			new:  "    boards: [b1]\n    out_of_scope_labels: [\" \"]\n",
			want: []string{`karkas.yaml:25:27: clients[0].out_of_scope_labels[0]: a label name must not be empty`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(reportsBase, tc.old) {
				t.Fatalf("the case's old text is not in the base: %q", tc.old)
			}
			_, ps := parse(t, strings.Replace(reportsBase, tc.old, tc.new, 1), nil)
			got := ps.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing problem %q in:\n%s", w, got)
				}
			}
		})
	}
}

// A delivery id is the marker on the card and the Message-ID: no '_'.
func TestReportSinkNameInTheDeliveryID(t *testing.T) {
	t.Parallel()
	text := strings.Replace(reportsBase, "    folder: {kind: file", "    my_folder: {kind: file", 1)
	text = strings.Replace(text, "sinks: [mail, cards], to: [contacts, pm]}", "sinks: [my_folder]}", 1)
	_, ps := parse(t, text, nil)
	want := `routing.reports[0]: client "acme" and sink "my_folder" make the delivery id report:hours:acme:<period>:my_folder, and a delivery id has no '_'`
	if !strings.Contains(ps.Error(), want) {
		t.Errorf("missing %q in:\n%v", want, ps)
	}
}
