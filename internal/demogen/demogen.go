package demogen

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultSeed is the seed `make demo` uses; the demo config and the docs
// describe the data it produces.
const DefaultSeed uint64 = 20260824

// Options say where to write the data, how much of it and from which seed.
type Options struct {
	// Dir is the output folder; it is created if missing, and the files it
	// gets are overwritten (stale mail/archive/*.eml files are removed).
	Dir string
	// Scale multiplies cards, comments, time entries and mail threads over
	// the same boards and period. Zero means 1.
	Scale int
	// Seed selects the history; the same seed gives byte-identical files.
	Seed uint64
}

// Stats counts what Generate wrote.
type Stats struct {
	Boards        int
	Lists         int
	Cards         int
	ArchivedCards int
	Checklists    int
	Actions       int
	Comments      int
	StatusMoves   int
	TimeEntries   int
	// TrackedMinutes is the sum of all time entries.
	TrackedMinutes int
	// Emails counts distinct messages; one in both INBOX and Sent counts once.
	Emails        int
	InboxMessages int
	SentMessages  int
	ArchiveFiles  int
	Threads       int
	// PlanFixTasks and PlanFixComments count the fourth client's PlanFix
	// export, PlanFixTimeEntries the rows of its hours (time/delta.csv).
	PlanFixTasks, PlanFixComments, PlanFixTimeEntries int
	Files                                             int
	Bytes                                             int64
}

// Generate writes the demo world into opts.Dir and returns what it wrote.
func Generate(opts Options) (Stats, error) {
	return GenerateContext(context.Background(), opts)
}

// GenerateContext is Generate with cancellation, checked between files.
func GenerateContext(ctx context.Context, opts Options) (Stats, error) {
	var st Stats
	if opts.Dir == "" {
		return st, fmt.Errorf("generating demo data: no output folder")
	}
	scale := opts.Scale
	if scale <= 0 {
		scale = 1
	}
	for _, sub := range []string{"trello", "time", "mail/archive", "planfix"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, sub), 0o755); err != nil {
			return st, fmt.Errorf("creating output folder: %w", err)
		}
	}
	ids := newIDGen(newRnd(opts.Seed, "ids", 0))
	var cards [][]*card
	for _, b := range boards {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		plan := planBoard(opts.Seed, scale, ids, b)
		for _, a := range plan.actions {
			switch a.kind {
			case aComment:
				st.Comments++
			case aMove:
				st.StatusMoves++
			}
		}
		err := writeFile(opts.Dir, "trello/"+b.key+".json", &st, func(w *bufio.Writer) error {
			return writeBoard(w, plan, &st)
		})
		if err != nil {
			return st, err
		}
		st.Boards++
		// Only the cards live on: the time tracker and the mail link them.
		for _, c := range plan.cards {
			c.timeline = nil
			c.checklist = nil
		}
		cards = append(cards, plan.cards)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	err := writeFile(opts.Dir, "time/everhour.csv", &st, func(w *bufio.Writer) error {
		return writeTimeEntries(w, opts.Seed, scale, cards, &st)
	})
	if err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := writeMail(opts.Dir, opts.Seed, scale, cards, &st); err != nil {
		return st, err
	}
	if err := writeFile(opts.Dir, "planfix/delta.json", &st, func(w *bufio.Writer) error { return writePlanfix(w, &st) }); err != nil {
		return st, err
	}
	err = writeFile(opts.Dir, "time/delta.csv", &st, func(w *bufio.Writer) error { return writePlanfixHours(w, opts.Seed, &st) })
	return st, err
}

// writeFile creates dir/name, lets fill write it through a buffer, and
// counts it.
func writeFile(dir, name string, st *Stats, fill func(*bufio.Writer) error) (err error) {
	path := filepath.Join(dir, filepath.FromSlash(name))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing %s: %w", path, cerr)
		}
		if err == nil {
			if fi, serr := os.Stat(path); serr == nil {
				st.Files++
				st.Bytes += fi.Size()
			}
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	if err := fill(w); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
