package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/evaluate"
	"github.com/karkas/karkas/web"
)

// reportFlags are the flags both report commands share.
type reportFlags struct {
	period, format, out, at string
}

func (f *reportFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.period, "period", "", "a month (2026-10), an ISO week (2026-W43) or days (2026-10-01..2026-10-15); the current month by default")
	fl.StringVar(&f.format, "format", "md", "md, html, csv or json")
	fl.StringVarP(&f.out, "out", "o", "", "write to this file instead of standard output")
	fl.StringVar(&f.at, "at", "", "make the report as of this instant (RFC 3339) instead of now: the default month and what counts as so far")
}

func (f *reportFlags) parse() (report.Format, time.Time, error) {
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return "", time.Time{}, withCode(exitUsage, fmt.Errorf("--format: %w", err))
	}
	now := time.Now().UTC()
	if f.at != "" {
		if now, err = time.Parse(time.RFC3339, f.at); err != nil {
			return "", time.Time{}, withCode(exitUsage, fmt.Errorf("--at: %q is not an RFC 3339 time like 2026-10-31T18:00:00+01:00", f.at))
		}
	}
	return format, now, nil
}

// write sends a rendered report to --out or standard output. A file is
// written beside its final name and renamed into place, so that a reader
// (a mail job, a web server) never sees half a report.
func (f *reportFlags) write(g *globals, out report.Rendered) error {
	if f.out == "" {
		_, err := g.stdout.Write(out.Body)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.out), "."+filepath.Base(f.out)+".*")
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("writing the report: %w", err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out.Body); err != nil {
		tmp.Close()
		return withCode(exitFailed, fmt.Errorf("writing the report: %w", err))
	}
	if err := tmp.Close(); err != nil {
		return withCode(exitFailed, fmt.Errorf("writing the report: %w", err))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return withCode(exitFailed, fmt.Errorf("writing the report: %w", err))
	}
	if err := os.Rename(tmp.Name(), f.out); err != nil {
		return withCode(exitFailed, fmt.Errorf("writing the report: %w", err))
	}
	fmt.Fprintf(g.stderr, "wrote %s (%d bytes): %s\n", f.out, len(out.Body), out.Subject)
	return nil
}

func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Hour reports for clients and the agency's capacity",
		Long: `report reads the store (run karkas sync first) and writes a report as Markdown (card
comments, GitHub), self-contained HTML (phone, desktop, print to PDF), CSV for accounting
(UTF-8 with a byte order mark, for Excel) or JSON.`,
	}
	cmd.AddCommand(newReportHoursCmd(g), newReportCapacityCmd(g))
	return cmd
}

func newReportHoursCmd(g *globals) *cobra.Command {
	var f reportFlags
	var client string
	var oosLabels []string
	var deliver bool
	cmd := &cobra.Command{
		Use:   "hours --client ID",
		Short: "A client's hours for a period: budget, tasks, people, categories, SLA",
		Long: `hours reports one client's period, read in the client's time zone: hours against the
budget (with rollover when configured), by task, person and category, work marked out of
scope, tasks the client created, tasks sent back from review, tasks done with no time
logged, and the SLA summary (reply times in business hours, promises broken, waivers).

The CSV has one row per time entry: what an accountant reconciles and pivots.`,
		Example: `  karkas report hours --client acme --period 2026-10 --format html --out acme-2026-10.html
  karkas report hours --client acme --period 2026-W43
  karkas report hours --client betta --period 2026-10-01..2026-10-15 --format csv -o betta.csv
  karkas report hours --client acme --period 2026-10 --deliver`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			format, now, err := f.parse()
			if err != nil {
				return err
			}
			if client == "" {
				return withCode(exitUsage, fmt.Errorf("--client is required (a client id from the config)"))
			}
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			loc, err := report.ClientLocation(l.Config, client)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--client: %w", err))
			}
			period, err := report.ParsePeriod(f.period, loc, now)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--period: %w", err))
			}
			st, err := g.openStore(ctx, l.Config)
			if err != nil {
				return err
			}
			defer st.Close()
			if deliver {
				return g.deliverReport(ctx, l, st, client, period.Label)
			}
			r, err := report.BuildHours(ctx, st, l.Config, report.HoursRequest{ClientID: client, Period: period, Now: now, OutOfScopeLabels: oosLabels})
			if err != nil {
				return withCode(exitStore, err)
			}
			out, err := report.Render(r, format)
			if err != nil {
				return withCode(exitFailed, err)
			}
			return f.write(g, out)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&client, "client", "", "the client's id (required)")
	cmd.Flags().BoolVar(&deliver, "deliver", false,
		"queue the report through the sinks of routing.reports that deliver it to this client and work the outbox now (once per client, period and sink: a report delivered already is not sent again)")
	cmd.Flags().StringSliceVar(&oosLabels, "out-of-scope-label", nil,
		"labels (and time-entry tags) that mark work outside the contract, instead of the client's out_of_scope_labels (default \"out of scope\"); compared ignoring case, '-' and '_'")
	return cmd
}

func newReportCapacityCmd(g *globals) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Hours per person and per client against capacity and budgets",
		Long: `capacity answers "can we take another client, and does each client get enough of our
time?" for a period read in the agency's time zone: each agency person's logged hours
against their capacity (the business hours of their calendar), each client's billable
hours against its budget so far, and the headroom left once every client's budget (or
its projected hours, when more) and internal time are counted.`,
		Example: `  karkas report capacity
  karkas report capacity --period 2026-10 --format html --out capacity-2026-10.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			format, now, err := f.parse()
			if err != nil {
				return err
			}
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			loc, err := report.AgencyLocation(l.Config)
			if err != nil {
				return withCode(exitUsage, err)
			}
			period, err := report.ParsePeriod(f.period, loc, now)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--period: %w", err))
			}
			cals, err := configCalendars(l.Config)
			if err != nil {
				return withCode(exitUsage, err)
			}
			st, err := g.openStore(ctx, l.Config)
			if err != nil {
				return err
			}
			defer st.Close()
			r, err := report.BuildCapacity(ctx, st, l.Config, report.CapacityRequest{Period: period, Now: now, Calendars: cals})
			if err != nil {
				return withCode(exitStore, err)
			}
			out, err := report.Render(r, format)
			if err != nil {
				return withCode(exitFailed, err)
			}
			return f.write(g, out)
		},
	}
	f.add(cmd)
	return cmd
}

// configCalendars builds the config's business calendars by name.
func configCalendars(cfg *mapping.Config) (map[string]*sla.Calendar, error) {
	return evaluate.Calendars(cfg)
}

// deliverReport queues a client's hours report for a period through the
// sinks routing.reports names for it, works the outbox (as karkas sync's
// delivery step does) and prints what became of each delivery.
func (g *globals) deliverReport(ctx context.Context, l *mapping.Loaded, st *store.Store, client, period string) error {
	planner, sk, err := g.app(l, st).Pusher()
	if err != nil {
		return pipelineCode(err)
	}
	if planner == nil {
		return withCode(exitUsage, fmt.Errorf("--deliver: the config has no routing: block naming sinks (README, Reports)"))
	}
	// Every deliverer holds the evaluate lock, so that the one holding it
	// knows a delivery leased to another run is a dead run's (push.Worker's
	// Sole). A sync that holds it delivers this report too.
	unlock, err := st.Lock(ctx, "evaluate", time.Minute, store.Holder(time.Now()))
	var le *store.LockedError
	switch {
	case errors.As(err, &le):
		return withCode(exitLocked, fmt.Errorf("--deliver: %w; try again when it is done", le))
	case err != nil:
		return withCode(exitStore, err)
	}
	defer unlock()
	keys, err := planner.QueueReport(ctx, st, mapping.ReportHours, client, period, time.Now())
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--deliver: %w", err))
	}
	w := &push.Worker{Store: st, Planner: planner, Sinks: sk, Logger: g.logger, Sole: true, CabinetLink: web.ReportLinker(st, l.Config)}
	if _, err := w.Run(ctx); err != nil {
		return withCode(exitStore, err)
	}
	rows, err := st.Deliveries(ctx, store.DeliveryFilter{Limit: 100000})
	if err != nil {
		return withCode(exitStore, err)
	}
	byKey := map[string]store.OutboxRow{}
	for _, r := range rows {
		byKey[r.IdempotencyKey] = r
	}
	failed := 0
	for _, k := range keys {
		r, ok := byKey[k]
		if !ok {
			continue
		}
		what := r.Status
		switch {
		case r.Status == store.OutboxDelivered && r.ExternalRef != "":
			what += ": " + r.ExternalRef
		case r.LastError != "":
			what += ": " + r.LastError
		}
		if r.Status == store.OutboxFailed || (r.Status == store.OutboxPending && r.LastError != "") {
			failed++
		}
		fmt.Fprintf(g.stdout, "%s (delivery %d): %s\n", k, r.ID, clipRunes(what, 200))
	}
	if failed > 0 {
		return withCode(exitFailed, fmt.Errorf("%d report delivery(ies) not made: karkas status, karkas deliveries retry ID", failed))
	}
	return nil
}
