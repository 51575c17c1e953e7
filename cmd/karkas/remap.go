package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
)

func newRemapCmd(g *globals) *cobra.Command {
	var dryRun bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "remap",
		Short: "Apply a changed config to every stored row without pulling again",
		Long: `remap resolves every stored row again from the record it keeps as pulled, with the
config as it is now: a renamed list, a new status rule, a person's new identity, a board
moved to another client. Only rows whose resolution changed are written. Nothing is
pulled from the sources.`,
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
			// Remap rewrites every source's rows: no sync of one may run
			// meanwhile.
			if !dryRun {
				var names []string
				for _, s := range l.Sources {
					names = append(names, "source:"+s.ID)
				}
				unlock, err := st.LockAll(ctx, names, wait, store.Holder(time.Now()))
				var le *store.LockedError
				switch {
				case errors.As(err, &le):
					return withCode(exitLocked, fmt.Errorf("not remapped: %w", le))
				case err != nil:
					return withCode(exitStore, err)
				}
				defer unlock()
			}
			prog := newProgress(g.stderr, g.logger, "remapping")
			eng, err := g.app(l, st).NewEngine(ctx, st, dryRun, prog)
			if err != nil {
				return withCode(exitStore, err)
			}
			var infos []mapping.SourceInfo
			for _, s := range l.Sources {
				infos = append(infos, pipeline.SourceInfo(s))
			}
			written, err := eng.Remap(ctx, infos)
			prog.done()
			if err != nil {
				return withCode(exitStore, err)
			}
			verb := "rewrote"
			if dryRun {
				verb = "would rewrite"
			}
			fmt.Fprintf(g.stdout, "remap %s %d row(s)\n", verb, written.Total()-written["threads"])
			for _, t := range []string{"containers", "source_people", "tasks", "task_status_changes", "messages", "time_entries"} {
				if n := written[t]; n > 0 {
					fmt.Fprintf(g.stdout, "  %s: %d\n", t, n)
				}
			}
			if n := written["threads"]; n > 0 {
				fmt.Fprintf(g.stdout, "  emails moved to another thread: %d\n", n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "compute what would change, write nothing")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for syncs that hold sources (0: exit 4 at once)")
	return cmd
}
