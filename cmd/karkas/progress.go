package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws one updating line per source on a terminal, and writes a
// plain log line every few seconds when stderr is not one (cron, CI, pipes).
type progress struct {
	mu       sync.Mutex
	out      io.Writer
	tty      bool
	logger   *slog.Logger
	last     time.Time
	interval time.Duration
	verb     string
}

func newProgress(out io.Writer, logger *slog.Logger, verb string) *progress {
	p := &progress{out: out, logger: logger, verb: verb, interval: 5 * time.Second, last: time.Now()}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.interval = 100 * time.Millisecond
	}
	return p
}

// Batch implements engine.Progress.
func (p *progress) Batch(sourceID string, received, written int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	if p.tty {
		fmt.Fprintf(p.out, "\r\033[K%s %s: %d records, %d rows written", p.verb, sourceID, received, written)
		return
	}
	p.logger.Info("progress", "source", sourceID, "records", received, "rows_written", written)
}

// done clears the terminal line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.out, "\r\033[K")
	}
	// Off a terminal the next source's first line comes after a full
	// interval too: short runs log only their "source synced" lines.
	p.last = time.Now()
	if p.tty {
		p.last = time.Time{}
	}
}
