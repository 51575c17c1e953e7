package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
)

func newDeliveriesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "Show, plan and retry what karkas tells people",
		Long: `deliveries works with the outbox: the comments, labels, mails, issues, webhooks and files
karkas sends when an SLA clock is at risk, breaches or recovers, as the config's routing:
block says. karkas sync sends them after evaluating; these commands show what is queued
and what failed, and put a failed delivery back in the queue.`,
	}
	cmd.AddCommand(newDeliveriesPlanCmd(g), newDeliveriesListCmd(g), newDeliveriesRetryCmd(g))
	return cmd
}

func newDeliveriesPlanCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "Print what would be sent, to whom and through what, without sending",
		Long: `plan evaluates the SLA policies over the store as of now (without storing the clocks),
routes what the evaluation and the outbox hold through the config's routing:, and prints
every delivery that would go out: when, through which sink, to whom, and what. Nothing is
written and nothing is sent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			st, err := g.openStore(ctx, l.Config)
			if err != nil {
				return err
			}
			defer st.Close()
			return g.planDeliveries(ctx, g.app(l, st), st)
		},
	}
}

func newDeliveriesListCmd(g *globals) *cobra.Command {
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List deliveries, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			states := []string{store.OutboxPending, store.OutboxHeld, store.OutboxDelivered, store.OutboxFailed, store.OutboxFolded, store.OutboxSkipped}
			if state != "" && !slices.Contains(states, state) {
				return withCode(exitUsage, fmt.Errorf("--state: %q is not one of %s", state, strings.Join(states, ", ")))
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
			rows, err := st.Deliveries(ctx, store.DeliveryFilter{Status: state, Limit: limit})
			if err != nil {
				return withCode(exitStore, err)
			}
			if len(rows) == 0 {
				fmt.Fprintln(g.stdout, "no deliveries")
				return nil
			}
			w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "id\tstate\tsink\tattempts\tqueued\twhat\tresult\t")
			for _, r := range rows {
				result := r.ExternalRef
				if r.LastError != "" {
					result = firstLine(r.LastError)
				}
				if r.Status == store.OutboxPending && r.NextAttemptAt != nil {
					next := "next try " + r.NextAttemptAt.UTC().Format("2006-01-02 15:04 UTC")
					result = strings.TrimSuffix(next+"; "+result, "; ")
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t\n", r.ID, r.Status, r.Sink, r.Attempts,
					r.CreatedAt.UTC().Format("2006-01-02 15:04"), deliveryTitle(r), clipRunes(result, 100))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only deliveries in this state: pending, held, delivered, failed, folded, skipped")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (0: all)")
	return cmd
}

func newDeliveriesRetryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Queue a failed or skipped delivery again; the next sync sends it",
		Long: `retry puts a failed (or skipped) delivery back in the queue, due now, with its attempts
counted afresh. The next karkas sync sends it. A delivery whose earlier try reached its
target is recognised there (the marker on the card or the issue, the mail's Message-ID,
the webhook-id, the file's name), so retrying does not repeat it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("%q is not a delivery id (karkas deliveries list shows them)", args[0]))
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
			if err := st.RetryDelivery(ctx, id, time.Now()); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return withCode(exitUsage, err)
				}
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(g.stdout, "delivery %d queued again; the next karkas sync sends it\n", id)
			return nil
		},
	}
}

// deliver works the outbox after a sync's evaluation and prints a line.
// It returns the number of deliveries that failed for good in this run.
// sync delivers holding the evaluation's lock, which every deliverer
// takes: a delivery leased to another run is one that died mid-way.
func (g *globals) deliver(ctx context.Context, app *pipeline.App) (int, error) {
	d, err := app.Deliver(ctx, true)
	if err != nil && ctx.Err() == nil {
		return 0, pipelineCode(err)
	}
	if d == nil {
		return 0, nil
	}
	if !d.Routed {
		if d.Unrouted > 0 {
			fmt.Fprintf(g.stdout, "%d notification(s) wait in the outbox: add routing: to the config to deliver them (README, Routing)\n", d.Unrouted)
		}
		return 0, nil
	}
	rep := d.Report
	var routed, dropped, held int
	if rep.Plan != nil {
		for _, r := range rep.Plan.Routed {
			routed++
			if r.Deliveries == 0 {
				dropped++
			}
		}
		for _, q := range rep.Plan.Queue {
			if q.Status == store.OutboxHeld {
				held++
			}
		}
	}
	existed := ""
	if rep.Existed > 0 {
		existed = fmt.Sprintf(" (%d found already done)", rep.Existed)
	}
	if rep.TakenOver > 0 {
		fmt.Fprintf(g.stdout, "%d delivery(ies) a killed run had started were taken over: sent again or found done\n", rep.TakenOver)
	}
	fmt.Fprintf(g.stdout, "deliveries: %d sent%s, %d skipped, %d to retry, %d failed; %d notification(s) routed (%d told nobody), %d held for digests, %d waiting\n",
		rep.Delivered, existed, rep.Skipped, rep.Retrying, rep.Failed, routed, dropped, held, d.Pending)
	if rep.Plan != nil && len(rep.Plan.Stale) > 0 {
		fmt.Fprintf(g.stdout, "dropped %s: karkas deliveries list --state skipped\n", staleLine(rep.Plan.Stale))
	}
	if rep.Failed > 0 {
		fmt.Fprintln(g.stdout, "failed deliveries: karkas deliveries list --state failed; karkas deliveries retry ID once fixed")
	}
	return rep.Failed, nil
}

// staleLine says how many deliveries were planned for sinks routing no
// longer names, by sink.
func staleLine(stale []push.Stale) string {
	n := 0
	var parts []string
	for _, s := range stale {
		n += len(s.IDs)
		parts = append(parts, fmt.Sprintf("%s: %d", s.Sink, len(s.IDs)))
	}
	return fmt.Sprintf("%d deliveries of sinks no longer in routing.sinks, never to be sent (%s)", n, strings.Join(parts, ", "))
}

// planDeliveries prints what delivering would do now on st, writing
// nothing.
func (g *globals) planDeliveries(ctx context.Context, app *pipeline.App, st *store.Store) error {
	planner, plan, err := app.PlanDeliveries(ctx, st)
	if err != nil {
		return pipelineCode(err)
	}
	if planner == nil {
		fmt.Fprintln(g.stdout, "\nno routing: in the config: nothing would be sent (README, Routing)")
		return nil
	}
	printPlan(g.stdout, app.Loaded.Config, planner, plan)
	return nil
}

// printPlan prints a plan's queue: when, through what, to whom, what.
func printPlan(out io.Writer, cfg *mapping.Config, planner *push.Planner, plan *push.Plan) {
	dropped := map[string]int{}
	for _, r := range plan.Routed {
		if r.Deliveries == 0 {
			dropped[r.Reason]++
		}
	}
	fmt.Fprintf(out, "\ndeliveries as of %s (plan only: nothing is sent or stored):\n", plan.Now.Format("2006-01-02 15:04 UTC"))
	if len(plan.Queue) == 0 {
		fmt.Fprintln(out, "  nothing to send")
	}
	type line struct {
		at                   time.Time
		when, sink, to, what string
	}
	var lines []line
	for _, r := range plan.Queue {
		var msg sinks.Message
		var t sinks.Target
		_ = json.Unmarshal([]byte(r.Payload), &msg)
		_ = json.Unmarshal([]byte(r.Target), &t)
		at, when := plan.Now, "now"
		switch {
		case r.Status == store.OutboxHeld:
			if next, ok := planner.NextDigest(t.Digest, plan.Now); ok {
				at, when = next, "digest "+next.Format("2006-01-02 15:04 MST")
			} else {
				when = "digest (no time)"
			}
		case r.NextAttemptAt != nil && r.NextAttemptAt.After(plan.Now):
			at, when = *r.NextAttemptAt, r.NextAttemptAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		kind := ""
		if cfg.Routing != nil {
			kind = cfg.Routing.Sinks[r.Sink].Kind
		}
		what := msg.Title(t)
		if t.LabelsOnly {
			what = "labels only (rate cap): " + what
		}
		lines = append(lines, line{at: at, when: when, sink: r.Sink + " (" + kind + ")", to: deliveryTo(kind, t), what: what})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if len(lines) > 0 {
		fmt.Fprintln(w, "  when\tsink\tto\twhat\t")
	}
	for _, ln := range lines {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t\n", ln.when, ln.sink, clipRunes(ln.to, 60), clipRunes(ln.what, 100))
	}
	w.Flush()
	var reasons []string
	for r, n := range dropped {
		reasons = append(reasons, fmt.Sprintf("%d: %s", n, r))
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		fmt.Fprintf(out, "notifications that tell nobody: %s\n", strings.Join(reasons, "; "))
	}
	if len(plan.Stale) > 0 {
		fmt.Fprintf(out, "would drop %s\n", staleLine(plan.Stale))
	}
}

// deliveryTo names whom a delivery addresses, as its sink does.
func deliveryTo(kind string, t sinks.Target) string {
	var out []string
	k, _ := sinks.Lookup(kind)
	for _, p := range t.People {
		h := ""
		if k.Handle != nil {
			h = k.Handle(p)
		}
		if h == "" {
			h = p.Name
		}
		out = append(out, h)
	}
	switch {
	case t.Card != "" && len(out) == 0:
		return "card " + t.Card
	case t.Issue != nil && len(out) == 0:
		return fmt.Sprintf("%s#%d", t.Issue.Repo, t.Issue.Number)
	case len(out) == 0:
		return "-"
	}
	return strings.Join(out, ", ")
}

// deliveryTitle is a delivery's title for listings.
func deliveryTitle(r store.OutboxRow) string {
	var msg sinks.Message
	var t sinks.Target
	if json.Unmarshal([]byte(r.Payload), &msg) != nil || json.Unmarshal([]byte(r.Target), &t) != nil {
		return r.IdempotencyKey
	}
	return clipRunes(msg.Title(t), 80)
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// printDeliveryStatus is status's part on the outbox: counts, and every
// delivery that failed for good, with how to retry it.
func printDeliveryStatus(ctx context.Context, out io.Writer, st *store.Store) error {
	counts, err := st.OutboxCounts(ctx)
	if err != nil || len(counts) == 0 {
		return err
	}
	by := map[string]int{}
	routes := 0
	for _, c := range counts {
		if c.Sink == store.OutboxRoute {
			if c.Status == store.OutboxPending {
				routes += c.Rows
			}
			continue
		}
		by[c.Status] += c.Rows
	}
	fmt.Fprintf(out, "\ndeliveries: %d delivered, %d pending, %d held for digests, %d failed, %d folded into digests or summaries, %d skipped; %d notification(s) not routed yet\n",
		by[store.OutboxDelivered], by[store.OutboxPending], by[store.OutboxHeld], by[store.OutboxFailed], by[store.OutboxFolded], by[store.OutboxSkipped], routes)
	if by[store.OutboxFailed] == 0 {
		return nil
	}
	failed, err := st.Deliveries(ctx, store.DeliveryFilter{Status: store.OutboxFailed, Limit: 10})
	if err != nil {
		return err
	}
	for _, r := range failed {
		fmt.Fprintf(out, "! delivery %d through %s failed: %s (karkas deliveries retry %d)\n", r.ID, r.Sink, clipRunes(firstLine(r.LastError), 160), r.ID)
	}
	if by[store.OutboxFailed] > len(failed) {
		fmt.Fprintf(out, "! and %d more: karkas deliveries list --state failed\n", by[store.OutboxFailed]-len(failed))
	}
	return nil
}
