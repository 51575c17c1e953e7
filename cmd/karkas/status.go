package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each source's last run and the rows held per client",
		Long: `status reads the store: each source's last run (when, how it ended, rows written),
a line for every source that needs a human (revoked credentials, a deleted board), the
live rows held per client, SLA clocks, deliveries (with every one that failed for good),
source statuses that no status rule maps yet, and the people the records name whom the
mapping does not (with the lines to add under people:).`,
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
			sources, err := st.Sources(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			out := g.stdout
			fmt.Fprintf(out, "store: %s\n\n", store.Redact(l.StoreURL()))
			w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "source\tkind\tlast full run\tresult\trows written\tproblems\twarnings\t")
			for _, s := range sources {
				when, result := "never", "-"
				if s.StartedAt.Valid {
					when = s.StartedAt.Time.UTC().Format("2006-01-02 15:04 UTC")
					result = s.RunStatus.String
					if result == store.RunFailed {
						result = "FAILED: " + firstLine(s.RunError.String)
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t\n", s.ID, s.Kind, when, result, s.RowsWritten.Int64, s.Problems, s.Warnings)
			}
			w.Flush()
			for _, s := range sources {
				if s.Partials > 0 && s.PartialAt.Valid {
					// Webhook pulls read one board or repository: the
					// table's run is the last that read the whole source.
					fmt.Fprintf(out, "  %s: %d webhook pull(s) of one board or repository since, the last %s %s\n", s.ID, s.Partials,
						s.PartialAt.Time.UTC().Format("2006-01-02 15:04 UTC"), s.PartialStatus.String)
				}
			}
			for _, s := range sources {
				if s.Attention != "" {
					fmt.Fprintf(out, "! %s needs attention: %s\n", s.ID, s.Attention)
				}
			}
			counts, err := st.CountsByClient(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			names, err := st.ClientNames(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			fmt.Fprintln(out)
			w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "client\tname\ttasks\tstatus moves\tmessages\ttime entries\thours\tof which communication\t")
			for _, c := range counts {
				id, name := c.ClientID, names[c.ClientID]
				if id == "" {
					id, name = "(no client)", "internal time, newsletters, strangers"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t\n", id, name, c.Tasks, c.StatusChanges, c.Messages, c.TimeEntries,
					(time.Duration(c.Seconds) * time.Second).Hours(), (time.Duration(c.CommSeconds) * time.Second).Hours())
			}
			w.Flush()
			clocks, err := st.ClockCounts(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			if len(clocks) > 0 {
				byClient := map[string]map[string]int{}
				var ids []string
				for _, c := range clocks {
					if byClient[c.ClientID] == nil {
						byClient[c.ClientID] = map[string]int{}
						ids = append(ids, c.ClientID)
					}
					byClient[c.ClientID][c.State] += c.Clocks
				}
				fmt.Fprintln(out, "\nSLA clocks at the last sync (karkas sla lists them):")
				w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "client\tbreached\tat risk\trunning\tresolved\tmet\t")
				for _, id := range ids {
					m := byClient[id]
					fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t\n", id, m["breached"], m["at_risk"], m["running"], m["resolved"], m["met"])
				}
				w.Flush()
			}
			if err := printDeliveryStatus(ctx, out, st); err != nil {
				return withCode(exitStore, err)
			}
			if err := printDaemonStatus(ctx, out, st); err != nil {
				return withCode(exitStore, err)
			}
			inputs, err := st.LastInput(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			if len(inputs) > 0 {
				fmt.Fprintln(out, "\ninput read (each source's last run that read any):")
				w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				for _, s := range sources {
					if in, ok := inputs[s.ID]; ok {
						fmt.Fprintf(w, "  %s\t%s\t%s\t\n", s.ID, in.At.UTC().Format("2006-01-02 15:04 UTC"), tallyLine(in.Input.Tally()))
					}
				}
				w.Flush()
			}
			for _, kind := range []struct {
				warnings bool
				head     string
			}{{false, "input skipped as unreadable (newest first):"}, {true, "input stored with a warning (newest first):"}} {
				problems, err := st.RecentProblems(ctx, kind.warnings, 10)
				if err != nil {
					return withCode(exitStore, err)
				}
				if len(problems) > 0 {
					fmt.Fprintln(out, "\n"+kind.head)
					for _, p := range problems {
						fmt.Fprintf(out, "  %s: %s: %s\n", p.SourceID, p.Location, firstLine(p.Message))
					}
				}
			}
			if err := printHistory(ctx, out, st); err != nil {
				return withCode(exitStore, err)
			}
			var infos []mapping.SourceInfo
			for _, s := range l.Sources {
				infos = append(infos, pipeline.SourceInfo(s))
			}
			if err := printUnmapped(ctx, out, st, l.Config, infos, 100); err != nil {
				return withCode(exitStore, err)
			}
			unmapped, err := st.UnmappedStatuses(ctx)
			if err != nil {
				return withCode(exitStore, err)
			}
			if len(unmapped) > 0 {
				fmt.Fprintln(out, "\nsource statuses no rule in statuses: maps:")
				for _, u := range unmapped {
					fmt.Fprintf(out, "  %s: %q (%d tasks)\n", u.SourceID, u.SourceStatus, u.Tasks)
				}
			}
			return nil
		},
	}
}

// printHistory is status's part on what karkas could not know of the
// past: the containers whose stored history of task fields (descriptions,
// due dates, assignees, labels, checklists) does not reach back to their
// tasks' creation, and the sources that report no such history at all. A
// policy or report judging those tasks at an earlier instant takes the
// earliest value karkas knows, and says so in the clock's note.
func printHistory(ctx context.Context, out io.Writer, st *store.Store) error {
	cov, err := st.HistoryCoverage(ctx)
	if err != nil {
		return err
	}
	var lines []string
	none := map[string]int{} // source -> tasks without any field history
	var noneOrder []string
	partial := map[string]int{} // source -> tasks with history of some fields only
	missing := map[string][]string{}
	var partialOrder []string
	for _, h := range cov {
		if h.Known && h.Fields != nil {
			var gaps []string
			for _, f := range []string{record.FieldDescription, record.FieldDue, record.FieldAssignees, record.FieldLabels, record.FieldChecklists} {
				if !slices.Contains(h.Fields, f) {
					gaps = append(gaps, f)
				}
			}
			if len(gaps) > 0 {
				if partial[h.SourceID] == 0 {
					partialOrder = append(partialOrder, h.SourceID)
				}
				partial[h.SourceID] += h.Tasks
				missing[h.SourceID] = gaps
			}
		}
		switch {
		case !h.Known:
			if none[h.SourceID] == 0 {
				noneOrder = append(noneOrder, h.SourceID)
			}
			none[h.SourceID] += h.Tasks
		case h.Older > 0:
			name := h.ContainerID
			if h.Name != "" {
				name = fmt.Sprintf("%q (%s)", h.Name, h.ContainerID)
			}
			lines = append(lines, fmt.Sprintf("  %s: %s: changes held from %s; %d of its %d tasks are older, judged before then by the earliest values karkas holds",
				h.SourceID, name, h.From.UTC().Format("2006-01-02 15:04 UTC"), h.Older, h.Tasks))
		}
	}
	for _, src := range partialOrder {
		lines = append(lines, fmt.Sprintf("  %s: the source reports no changes of %s; %d tasks are judged by their current ones",
			src, strings.Join(missing[src], ", "), partial[src]))
	}
	for _, src := range noneOrder {
		lines = append(lines, fmt.Sprintf("  %s: no read of it held the history of task fields whole (the source reports none, or a file of it could not all be read); %d tasks are judged at every instant by their current values", src, none[src]))
	}
	if len(lines) > 0 {
		fmt.Fprintln(out, "\nfield history karkas does not hold (descriptions, due dates, assignees, labels, checklists):")
		fmt.Fprintln(out, strings.Join(lines, "\n"))
	}
	return nil
}

// printDaemonStatus is status's part on karkas serve's jobs: the queue,
// and every job that kept failing until River gave it up, with its last
// error. Nothing is printed for a store no daemon has run on.
func printDaemonStatus(ctx context.Context, out io.Writer, st *store.Store) error {
	counts, err := st.JobCounts(ctx)
	if err != nil || len(counts) == 0 {
		return err
	}
	by := map[string]int{}
	for _, c := range counts {
		by[c.State] += c.Rows
	}
	fmt.Fprintf(out, "\nkarkas serve jobs: %d running, %d queued, %d scheduled, %d to retry, %d completed in the last day, %d discarded\n",
		by["running"], by["available"]+by["pending"], by["scheduled"], by["retryable"], by["completed"], by["discarded"])
	if by["discarded"] == 0 {
		return nil
	}
	jobs, err := st.DiscardedJobs(ctx, 10)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		fmt.Fprintf(out, "! job %d %s %s gave up after %d attempts at %s: %s\n", j.ID, j.Kind, j.Args, j.Attempts,
			j.FinalizedAt.UTC().Format("2006-01-02 15:04 UTC"), clipRunes(firstLine(j.LastError), 160))
	}
	return nil
}
