package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/record"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
	"github.com/karkas/karkas/sync/pipeline"
)

func newSyncCmd(g *globals) *cobra.Command {
	var only []string
	var dryRun bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Pull every source into the store",
		Long: `sync pulls each enabled source from where its last run stopped, maps the records
through the config, and stores them. Every batch commits together with the source's
cursor, so a run that is killed loses nothing and the next run neither skips nor
duplicates a row; a run with nothing new writes nothing. One failing source does not
stop the others; the exit code is 1 if any failed.

After pulling, sync evaluates the SLA policies and sends what the config's routing:
says (karkas deliveries).

With --dry-run, the whole run (pull, store, evaluate, plan) happens on a copy of the
store that is thrown away, and nothing is sent: the summary shows what would change,
and the deliveries printed are the ones this sync would plan. The store is only read
(on PostgreSQL the copy is a schema of the same database, created and dropped).

One run of a source, and one evaluation, at a time: across processes and machines
sharing the store, a source another run is syncing is skipped (or waited for, with
--wait), and so is the evaluation; the exit code is then 4 and the summary names the
run that holds it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			var selected []mapping.Source
			for _, id := range only {
				if !slices.ContainsFunc(l.Sources, func(s mapping.Source) bool { return s.ID == id }) {
					return withCode(exitUsage, fmt.Errorf("--source %s: no such source in %s", id, g.config))
				}
			}
			for _, s := range l.Sources {
				if (len(only) == 0 && !s.Disabled) || slices.Contains(only, s.ID) {
					selected = append(selected, s)
				}
			}
			st, err := g.openStore(ctx, l.Config)
			if err != nil {
				return err
			}
			defer st.Close()
			app := g.app(l, st)
			// A dry run runs the real pipeline on a copy of the store,
			// thrown away at the end: its plan of deliveries comes from the
			// rows and clocks this run would create, not from the store as
			// it was (on an empty store, nothing). It writes nothing shared
			// and takes no lock.
			run := st
			if dryRun {
				scratch, drop, err := st.Scratch(ctx)
				if err != nil {
					return withCode(exitStore, err)
				}
				defer drop()
				run = scratch
			}
			// Each source is synced by one run at a time; one held by
			// another run is left to it. The locks are given back once the
			// sources are stored, threaded and linked: another run may have
			// them while this one evaluates and delivers.
			holder := store.Holder(time.Now())
			prog := newProgress(g.stderr, g.logger, "syncing")
			results, err := app.Pull(ctx, pipeline.Pull{Sources: selected, Into: run, Wait: wait, Holder: holder, Progress: prog})
			prog.done()
			if err != nil {
				return pipelineCode(err)
			}
			locked := 0
			for _, res := range results {
				attrs := []any{"source", res.SourceID, "records", res.Received.Total(), "rows_written", res.Written.Total(),
					"deleted", res.Deleted.Total(), "problems", res.Problems, "duration_ms", res.Duration.Milliseconds()}
				var le *store.LockedError
				if errors.As(res.Err, &le) {
					locked++
					g.logger.Warn("source skipped", append(attrs, "error", errorLine(res.Err))...)
				} else if res.Err != nil {
					g.logger.Error("source failed", append(attrs, "error", errorLine(res.Err))...)
					g.logger.Debug("source failed in full", "source", res.SourceID, "error", res.Err.Error())
				} else {
					g.logger.Info("source synced", attrs...)
				}
			}
			printResults(g, selected, results, dryRun)
			if !dryRun && ctx.Err() == nil {
				var infos []mapping.SourceInfo
				for _, s := range selected {
					infos = append(infos, pipeline.SourceInfo(s))
				}
				if err := printUnmapped(ctx, g.stdout, st, l.Config, infos, 10); err != nil {
					return withCode(exitStore, err)
				}
			}
			// One evaluation at a time, with the deliveries it plans, and
			// none while a source is half synced (LockEvaluation). A run
			// that cannot have them leaves it to the run that holds them,
			// which evaluates when its sync is done.
			evaluated := true
			if !dryRun && ctx.Err() == nil {
				unlock, err := app.LockEvaluation(ctx, wait, holder)
				var le *store.LockedError
				switch {
				case errors.As(err, &le):
					evaluated = false
					fmt.Fprintf(g.stdout, "\nSLA not evaluated, nothing delivered: %v; that run evaluates these rows too\n", le)
				case err != nil:
					return withCode(exitStore, err)
				default:
					defer unlock()
				}
			}
			if evaluated && ctx.Err() == nil {
				if err := g.evaluate(ctx, app, run); err != nil {
					return err
				}
			}
			// Deliveries follow the evaluation (deliveries.go); a dry run
			// prints their plan instead.
			undelivered := 0
			if dryRun && ctx.Err() == nil {
				if err := g.planDeliveries(ctx, app, run); err != nil {
					return err
				}
			} else if evaluated && ctx.Err() == nil {
				if undelivered, err = g.deliver(ctx, app); err != nil {
					return err
				}
			}
			if ctx.Err() != nil {
				return withCode(exitCanceled, ctx.Err())
			}
			failed := 0
			for _, r := range results {
				var le *store.LockedError
				if r.Err != nil && !errors.As(r.Err, &le) {
					failed++
				}
			}
			if failed > 0 {
				return withCode(exitFailed, fmt.Errorf("%d of %d source(s) failed", failed, len(results)))
			}
			if undelivered > 0 {
				return withCode(exitFailed, fmt.Errorf("%d deliveries failed (karkas deliveries list --state failed)", undelivered))
			}
			if locked > 0 || !evaluated {
				what := fmt.Sprintf("%d source(s)", locked)
				if !evaluated {
					what = strings.TrimPrefix(what+" and the evaluation", "0 source(s) and ")
				}
				return withCode(exitLocked, fmt.Errorf("another karkas run holds %s; not done here", what))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&only, "source", nil, "sync only this source id (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "pull and resolve, write nothing, print what would change and be sent")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for another run that holds a source or the evaluation (0: skip them, exit 4)")
	return cmd
}

func printResults(g *globals, sources []mapping.Source, results []engine.Result, dryRun bool) {
	kinds := map[string]string{}
	for _, s := range sources {
		kinds[s.ID] = s.Kind
	}
	w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	head := "written"
	if dryRun {
		head = "would write"
	}
	fmt.Fprintf(w, "source\tkind\trecords\t%s\tdeleted\tproblems\twarnings\ttime\tresult\t\n", head)
	total := store.Counts{}
	for _, r := range results {
		result := "ok"
		var le *store.LockedError
		if errors.As(r.Err, &le) {
			result = "skipped: " + errorLine(le)
		} else if r.Err != nil {
			result = "FAILED: " + errorLine(r.Err)
		} else if r.Batches == 0 {
			result = "ok (unchanged)"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", r.SourceID, kinds[r.SourceID], r.Received.Total(),
			r.Written.Total()-r.Written["problems"], r.Deleted.Total(), r.Problems, r.Warnings, r.Duration.Round(time.Millisecond), result)
		total.Add(r.Written)
		total.Add(r.Deleted)
	}
	w.Flush()
	first := true
	for _, r := range results {
		var says []string
		if r.Input != (record.Tally{}) {
			says = append(says, tallyLine(r.Input))
		}
		if r.Threaded > 0 {
			says = append(says, fmt.Sprintf("%d email(s) moved to another thread by their parents", r.Threaded))
		}
		if n := r.Linked.Total(); n > 0 {
			var parts []string
			for _, k := range []struct{ table, words string }{{"time_entries", "time entries"}, {"messages", "emails"}} {
				if m := r.Linked[k.table]; m > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", m, k.words))
				}
			}
			says = append(says, strings.Join(parts, " and ")+" synced before its tasks now link to them")
		}
		if len(says) == 0 && len(r.Shown) == 0 {
			continue
		}
		if first {
			fmt.Fprintln(g.stdout)
			first = false
		}
		if len(says) > 0 {
			fmt.Fprintf(g.stdout, "%s: %s\n", r.SourceID, strings.Join(says, "; "))
		}
		// What was refused, and what was stored with a warning: where and
		// why, the first few of each.
		for _, k := range []struct {
			warning     bool
			word, words string
			n           int
		}{{false, "refused", "refused", r.Problems}, {true, "warning", "warnings", r.Warnings}} {
			shown := 0
			for _, p := range r.Shown {
				if p.Warning == k.warning {
					fmt.Fprintf(g.stdout, "  %s %s: %s: %s\n", r.SourceID, k.word, p.Where, firstLine(p.Message))
					shown++
				}
			}
			if k.n > shown {
				fmt.Fprintf(g.stdout, "  %s: %d more %s (karkas status lists them)\n", r.SourceID, k.n-shown, k.words)
			}
		}
	}
	if total.Total() == 0 {
		fmt.Fprintln(g.stdout, "\nno rows changed")
		return
	}
	var parts []string
	for _, t := range append(slices.Clone(store.Tables), "problems") {
		if t == "problems" && total[t] > 0 {
			parts = append(parts, fmt.Sprintf("new problems %d (karkas status lists them)", total[t]))
			continue
		}
		if n := total[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, n))
		}
	}
	fmt.Fprintf(g.stdout, "\nrows changed: %s\n", strings.Join(parts, ", "))
}

// tallyLine says what a source counted of its input, in words:
// "330 messages read: 327 stored (3 with a warning), 1 refused, 2 merged as
// copies of one message".
func tallyLine(t record.Tally) string {
	unit := cmp.Or(t.Unit, "units")
	line := fmt.Sprintf("%d %s read: %d stored", t.Read, unit, t.Stored)
	if t.Warned > 0 {
		line += fmt.Sprintf(" (%d with a warning)", t.Warned)
	}
	line += fmt.Sprintf(", %d refused, %d merged as copies of one already read", t.Refused, t.Merged)
	if !t.Adds() {
		line += " (these counts do not add up: a bug, please report it)"
	}
	return line
}

// errorLine is err as a failure is printed and logged: its first line (a
// panic's, without the stack), at most connectors.MaxLine characters. The
// debug log has the whole error.
func errorLine(err error) string { return pipeline.ErrorLine(err) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// evaluate runs the SLA policies over st as of now, stores the clocks
// with their transitions and notifications, and prints a line.
func (g *globals) evaluate(ctx context.Context, app *pipeline.App, st *store.Store) error {
	res, err := app.Evaluate(ctx, st)
	if err != nil {
		return pipelineCode(err)
	}
	for _, name := range res.Edited {
		g.logger.Info("calendar version recorded", "calendar", name, "effective_from", res.At.Format(time.RFC3339))
	}
	states := map[string]int{}
	for _, c := range res.Clocks {
		states[c.State]++
	}
	fmt.Fprintf(g.stdout, "\nSLA: %d clocks (%d breached, %d at risk, %d running); %d new, %d changed, %d transitions, %d notifications queued\n",
		len(res.Clocks), states["breached"], states["at_risk"], states["running"], res.Changes.New, res.Changes.Updated,
		res.Changes.Transitions, res.Changes.Outbox)
	if n := res.Changes.Withdrawn; n > 0 {
		fmt.Fprintf(g.stdout, "%d stored clock(s) withdrawn: their message or task is gone or moved into another conversation\n", n)
	}
	withSet := 0
	for _, c := range app.Loaded.Clients {
		if c.PolicySet != "" {
			withSet++
		}
	}
	if withSet == 0 {
		fmt.Fprintln(g.stdout, "no client has a policy_set: define policy_sets and give clients one to watch promises (README, Configuration)")
	}
	return nil
}
