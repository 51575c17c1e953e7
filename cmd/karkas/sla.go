package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/sync/evaluate"
)

// slaClock is a clock as `karkas sla --format json` prints it.
type slaClock struct {
	ID                     string      `json:"id"`
	Policy                 string      `json:"policy"`
	Client                 string      `json:"client"`
	State                  string      `json:"state"`
	Subject                sla.Subject `json:"subject"`
	StartedAt              time.Time   `json:"started_at"`
	DueAt                  *time.Time  `json:"due_at"`
	BreachedAt             *time.Time  `json:"breached_at"`
	StoppedAt              *time.Time  `json:"stopped_at"`
	BusinessSecondsElapsed int64       `json:"business_seconds_elapsed"`
	Waived                 bool        `json:"waived"`
	Reason                 string      `json:"reason"`
	// Note says what karkas could not know when it judged the clock.
	Note string `json:"note,omitempty"`
}

// newSLAClock is c as the CLI prints it: an absent instant (the clock's
// zero time) prints as null.
func newSLAClock(c sla.Clock) slaClock {
	orNull := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return slaClock{ID: c.ID, Policy: c.Policy, Client: c.ClientID, State: c.State, Subject: c.Subject,
		StartedAt: c.StartedAt, DueAt: orNull(c.DueAt), BreachedAt: orNull(c.BreachedAt), StoppedAt: orNull(c.StoppedAt),
		BusinessSecondsElapsed: int64(c.BusinessElapsed / time.Second), Note: c.Note}
}

func newSLACmd(g *globals) *cobra.Command {
	var client, policy, states, atFlag, format string
	cmd := &cobra.Command{
		Use:   "sla",
		Short: "Evaluate the clients' promises and list the clocks",
		Long: `sla evaluates the SLA policies of each client's policy set over the stored history,
in the client's business calendar, and lists the clocks: running, at_risk, breached, met,
resolved (answered after a breach). --at evaluates as of a past instant from the same
history, so a changed policy can be tried on last month before it is published.

Policies: response (every client message answered in its conversation, email or card,
within the target), stage_limit (longest stay in a status), waiting_client (a reminder
owed to the client every N business days while work waits on them), due_date, brief
(work started without a brief), hygiene (work in progress without an assignee or a due
date), client_contact (days without an agency message to the client), hour_budget
(thresholds, projected overrun, hours left unused) and untracked_work (done with no
time logged). Each runs only for clients whose policy set configures it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			now := time.Now().UTC()
			if atFlag != "" {
				t, err := time.Parse(time.RFC3339, atFlag)
				if err != nil {
					return withCode(exitUsage, fmt.Errorf("--at: %q is not an RFC 3339 time like 2026-10-31T18:00:00+01:00", atFlag))
				}
				now = t
			}
			if format != "table" && format != "json" {
				return withCode(exitUsage, fmt.Errorf("--format: %q is not one of table, json", format))
			}
			policies := sla.PolicyNames()
			if policy != "" && !slices.Contains(policies, policy) {
				return withCode(exitUsage, fmt.Errorf("--policy: %q is not one of %s", policy, strings.Join(policies, ", ")))
			}
			var wantStates []string
			if states != "" {
				valid := []string{sla.Running, sla.AtRisk, sla.Breached, sla.Met, sla.Resolved, sla.Paused}
				for _, s := range strings.Split(states, ",") {
					if !slices.Contains(valid, s) {
						return withCode(exitUsage, fmt.Errorf("--state: %q is not one of %s", s, strings.Join(valid, ", ")))
					}
					wantStates = append(wantStates, s)
				}
			}
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			st, err := g.openStore(ctx, l.Config)
			if err != nil {
				return err
			}
			defer st.Close()
			rules, err := evaluate.NewRules(l.Config)
			if err != nil {
				return withCode(exitUsage, err)
			}
			// Calendars as recorded by syncs; a calendar edited in the
			// config since the last sync counts from now, without being
			// recorded (sync records it).
			preview, err := rules.UseHistory(ctx, st, time.Now().UTC(), false)
			if err != nil {
				return withCode(exitStore, err)
			}
			for _, name := range preview {
				fmt.Fprintf(g.stderr, "calendar %s: the config differs from the calendar the last sync recorded; evaluating with the edit from now on (karkas sync records it)\n", name)
			}
			facts, err := evaluate.LoadFacts(ctx, st)
			if err != nil {
				return withCode(exitStore, err)
			}
			waivers, err := st.Waivers(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			var out []slaClock
			for _, c := range evaluate.Evaluate(facts, rules, now) {
				if (client != "" && c.ClientID != client) || (policy != "" && c.Policy != policy) ||
					(len(wantStates) > 0 && !slices.Contains(wantStates, c.State)) {
					continue
				}
				out = append(out, newSLAClock(c))
				if reason, ok := waivers[c.ID]; ok {
					out[len(out)-1].Waived, out[len(out)-1].Reason = true, reason
				}
			}
			if format == "json" {
				if out == nil {
					out = []slaClock{}
				}
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "state\tpolicy\tclient\tstarted (UTC)\telapsed\tsubject\t")
			for _, c := range out {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", c.State, c.Policy, c.Client, c.StartedAt.UTC().Format("2006-01-02 15:04"),
					(time.Duration(c.BusinessSecondsElapsed) * time.Second).Round(time.Minute).String(), truncate(c.Subject.Title, 50))
			}
			w.Flush()
			var notes []string
			for _, c := range out {
				if c.Note != "" {
					notes = append(notes, fmt.Sprintf("  %s %s: %s", c.Policy, truncate(c.Subject.Title, 50), c.Note))
				}
			}
			if len(notes) > 0 {
				fmt.Fprintf(g.stdout, "\nwhat karkas could not know:\n%s\n", strings.Join(notes, "\n"))
			}
			fmt.Fprintf(g.stdout, "\n%d clock(s) as of %s\n", len(out), now.Format(time.RFC3339))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&client, "client", "", "only this client id")
	f.StringVar(&policy, "policy", "", "only this policy: "+strings.Join(sla.PolicyNames(), ", "))
	f.StringVar(&states, "state", "", "only these states, comma-separated: running,at_risk,breached,met,resolved,paused")
	f.StringVar(&atFlag, "at", "", "evaluate as of this instant (RFC 3339) instead of now")
	f.StringVar(&format, "format", "table", "table or json")
	cmd.AddCommand(newWaiveCmd(g))
	return cmd
}

func newWaiveCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "waive CLOCK_ID --reason TEXT",
		Short: "Record an agreed exception on a clock",
		Long: `waive marks a clock as an agreed exception (a client holiday, an agreed delay). The
clock keeps its state and stays visible in lists and reports, with the reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return withCode(exitUsage, fmt.Errorf("--reason is required: say why the exception was agreed"))
			}
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			st, err := g.openStore(cmd.Context(), l.Config)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Waive(cmd.Context(), args[0], reason, cliActor()); err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(g.stdout, "waived %s: %s\n", args[0], reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the exception was agreed (required)")
	return cmd
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// cliActor names who ran a command that changes what people see, for the
// audit log: "cli:" and the OS user.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli:" + cmp.Or(os.Getenv("USER"), "unknown")
}
