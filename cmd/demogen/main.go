// Command demogen writes the demo world of karkas (Trello board exports, an
// Everhour time report, mailboxes) into a folder, for `make demo` and the
// benchmarks.
//
// Usage:
//
//	demogen -out demo/data -scale 1 -seed 20260824
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/karkas/karkas/internal/demogen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demogen:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demogen", flag.ContinueOnError)
	dir := fs.String("out", "demo/data", "output folder")
	scale := fs.Int("scale", 1, "multiply cards, comments, time entries and mail by N")
	seed := fs.Uint64("seed", demogen.DefaultSeed, "random seed; the same seed gives identical files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *scale < 1 {
		return fmt.Errorf("scale must be at least 1, got %d", *scale)
	}
	start := time.Now()
	st, err := demogen.Generate(demogen.Options{Dir: *dir, Scale: *scale, Seed: *seed})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	rows := []struct {
		name string
		n    any
	}{
		{"boards", st.Boards},
		{"lists", st.Lists},
		{"cards", st.Cards},
		{"archived cards", st.ArchivedCards},
		{"checklists", st.Checklists},
		{"actions", st.Actions},
		{"comments", st.Comments},
		{"status moves", st.StatusMoves},
		{"time entries", st.TimeEntries},
		{"tracked hours", fmt.Sprintf("%.1f", float64(st.TrackedMinutes)/60)},
		{"mail threads", st.Threads},
		{"emails", st.Emails},
		{"inbox messages", st.InboxMessages},
		{"sent messages", st.SentMessages},
		{"archive .eml files", st.ArchiveFiles},
		{"files", st.Files},
		{"bytes", st.Bytes},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%v\n", r.name, r.n)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s in %s\n", *dir, time.Since(start).Round(time.Millisecond))
	return nil
}
