package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/sync/service"
)

func newValidateCmd(g *globals) *cobra.Command {
	var online bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config and print every problem in it",
		Long: `validate loads the config, expands ${VAR} and ${VAR:-default}, and checks it whole:
unknown keys, wrong types, values outside their enum, references to calendars, policy
sets, people and clients that do not exist, identities claimed twice, and every
source's options against its connector. Each problem is printed as

  file:line:col: path: message

and validate exits 1 when there is any error (warnings alone exit 0).

With --online it also asks the services, every enabled source at once, with one cheap
authenticated request or login each: a token, key, password or refresh token the service
refuses, an account or workspace id the token cannot reach, or a server that cannot be
reached is one line at the source, with the service's own message (never the secret).
Time trackers ask who the token is (Toggl and Clockify also whether the workspace is the
token's); imap logs in to every account, lists its folders and logs out; github checks
every token, and that every repository is visible, its issues readable and its
status_labels there; trello lists the token's boards, then checks that every board a
client names, every list name a status rule matches and every Trello identity of a
person exists on the boards the sources pull. File sources have nothing to ask.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig()
			if l != nil {
				for _, w := range l.Warnings {
					fmt.Fprintln(g.stdout, w.String())
				}
			}
			if err != nil {
				var ps mapping.Problems
				if !errors.As(err, &ps) {
					return withCode(exitUsage, err)
				}
				for _, p := range ps {
					fmt.Fprintln(g.stdout, p.String())
				}
				return withCode(exitFailed, fmt.Errorf("%d error(s) in %s", len(ps), g.config))
			}
			// Opening a source reads its secrets and checks what the
			// decoder cannot (a token that expanded to nothing).
			var opened mapping.Problems
			srcs := make([]connectors.Source, len(l.Sources))
			for i, s := range l.Sources {
				src, err := g.openSource(l, s)
				if err != nil {
					line, col := sourcePosition(l, i)
					opened = append(opened, mapping.Problem{File: l.File, Line: line, Col: col,
						Path: fmt.Sprintf("sources[%d].options", i), Message: err.Error()})
					continue
				}
				srcs[i] = src
			}
			// Sinks too: their options and secrets (routing.sinks).
			_, sinkProblems := g.app(l, nil).OpenSinks()
			opened = append(opened, sinkProblems...)
			if len(opened) > 0 {
				for _, p := range opened {
					fmt.Fprintln(g.stdout, p.String())
				}
				return withCode(exitFailed, fmt.Errorf("%d error(s) in %s", len(opened), g.config))
			}
			note := ""
			if online {
				ps, answered, err := g.checkOnline(cmd.Context(), l, srcs)
				if err != nil {
					return withCode(exitFailed, fmt.Errorf("validate --online: %w", err))
				}
				for _, p := range ps {
					fmt.Fprintln(g.stdout, p.String())
				}
				if errs := ps.Errors(); len(errs) > 0 {
					return withCode(exitFailed, fmt.Errorf("%d error(s) in %s against the services", len(errs), g.config))
				}
				if len(answered) > 0 {
					note = fmt.Sprintf(", online: %s answered (%s)", plural(len(answered), "source"), strings.Join(answered, ", "))
				}
			}
			// karkas serve pulls a source without schedule: every
			// serve.default_schedule: say which, so nobody wonders.
			var unscheduled []string
			for _, s := range l.Sources {
				if s.Schedule == "" && !s.Disabled {
					unscheduled = append(unscheduled, s.ID)
				}
			}
			if len(unscheduled) > 0 {
				every := service.FromConfig(l.Config).DefaultSchedule
				if every == 0 {
					every = service.DefaultScheduleEvery
				}
				fmt.Fprintf(g.stdout, "no schedule: for %s: karkas serve pulls them every %s (serve.default_schedule)\n",
					strings.Join(unscheduled, ", "), every)
			}
			fmt.Fprintf(g.stdout, "%s: ok (%s, %s, %s)%s\n", g.config,
				plural(len(l.Clients), "client"), plural(len(l.People), "person", "people"), plural(len(l.Sources), "source"), note)
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also ask the services: credentials, accounts and servers of every source; names of boards, lists, members, repositories and labels")
	return cmd
}

// onlineTimeout bounds the check of one source. A tracker that asks to
// wait longer (Toggl's spent hourly quota) is reported at once as not
// checked rather than waited for.
const onlineTimeout = 2 * time.Minute

// sourceCheck is what the online check of one source found.
type sourceCheck struct {
	checked  bool // the kind has something to ask
	err      error
	problems []connectors.CheckProblem
}

// checkOnline asks every enabled source's service whether the source
// would work (see connectors.Checker), all at once, and then, when the
// trello sources answered, checks the names the mapping gives Trello
// things. It returns the problems, positioned in the config, and the ids
// of the sources that answered.
func (g *globals) checkOnline(ctx context.Context, l *mapping.Loaded, srcs []connectors.Source) (mapping.Problems, []string, error) {
	results := make([]sourceCheck, len(l.Sources))
	var wg sync.WaitGroup
	for i, s := range l.Sources {
		if s.Disabled || srcs[i] == nil {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, onlineTimeout)
			defer cancel()
			results[i] = checkSource(cctx, srcs[i])
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	var ps mapping.Problems
	var answered []string
	trelloOK := true
	for i, s := range l.Sources {
		r := results[i]
		if !r.checked || errors.Is(r.err, errors.ErrUnsupported) {
			continue
		}
		line, col := sourcePosition(l, i)
		at := mapping.Problem{File: l.File, Line: line, Col: col, Path: fmt.Sprintf("sources[%d].options", i)}
		var rl *connectors.RateLimitError
		switch {
		case errors.As(r.err, &rl):
			at.Warning = true
			at.Message = fmt.Sprintf("source %s (%s): not checked, the service asks to wait %s: %s", s.ID, s.Kind, rl.RetryAfter.Round(time.Second), oneLine(rl.Err))
		case r.err != nil:
			at.Message = fmt.Sprintf("source %s (%s): %s", s.ID, s.Kind, oneLine(r.err))
		}
		if at.Message != "" {
			ps = append(ps, at)
		}
		if r.err != nil {
			if s.Kind == trello.KindName {
				trelloOK = false
			}
			continue
		}
		answered = append(answered, s.ID)
		for _, p := range r.problems {
			ps = append(ps, repoProblem(l, i, s.ID, p))
		}
	}
	if !trelloOK {
		// The names cannot be checked against boards nobody may read.
		return ps, answered, nil
	}
	names, err := g.checkTrelloOnline(ctx, l)
	if err != nil {
		// A board that could not be discovered: said at the source it
		// belongs to.
		line, col := 0, 0
		for i, s := range l.Sources {
			if s.Kind == trello.KindName && strings.HasPrefix(err.Error(), "source "+s.ID+": ") {
				line, col = sourcePosition(l, i)
			}
		}
		ps = append(ps, mapping.Problem{File: l.File, Line: line, Col: col, Path: "sources", Message: oneLine(err)})
	}
	return append(ps, names...), answered, nil
}

// checkSource runs the check the source's kind has, if any.
func checkSource(ctx context.Context, src connectors.Source) sourceCheck {
	switch c := src.(type) {
	case connectors.DetailedChecker:
		ps, err := c.CheckDetails(ctx)
		return sourceCheck{checked: true, err: err, problems: ps}
	case connectors.Checker:
		return sourceCheck{checked: true, err: c.Check(ctx)}
	}
	return sourceCheck{}
}

// repoProblem positions a GitHub problem at the repository it names:
// where the source's repos list it, else where a client's repos do, else
// at the source.
func repoProblem(l *mapping.Loaded, i int, id string, p connectors.CheckProblem) mapping.Problem {
	out := mapping.Problem{File: l.File, Path: fmt.Sprintf("sources[%d].options", i), Message: "source " + id + ": " + p.Message, Warning: p.Warning}
	out.Line, out.Col = sourcePosition(l, i)
	if p.Repo == "" {
		return out
	}
	if o, ok := l.SourceOptions[id].(*github.Options); ok {
		for j, r := range o.Repos {
			if strings.EqualFold(strings.TrimSpace(r), p.Repo) {
				out.Line, out.Col = l.Position(fmt.Sprintf("sources[%d].options.repos[%d]", i, j))
				out.Path = fmt.Sprintf("sources[%d].options.repos[%d]", i, j)
				return out
			}
		}
	}
	for k, c := range l.Clients {
		for j, r := range c.Repos {
			if strings.EqualFold(r, p.Repo) {
				out.Line, out.Col = l.Position(fmt.Sprintf("clients[%d].repos[%d]", k, j))
				out.Path = fmt.Sprintf("clients[%d].repos[%d]", k, j)
				return out
			}
		}
	}
	return out
}

// sourcePosition is where sources[i]'s options start, or the source.
func sourcePosition(l *mapping.Loaded, i int) (int, int) {
	line, col := l.Position(fmt.Sprintf("sources[%d].options", i))
	if line == 0 {
		line, col = l.Position(fmt.Sprintf("sources[%d]", i))
	}
	return line, col
}

// oneLine keeps a problem on its line: joined errors (an imap source's
// accounts) are separated by "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// plural is "1 source", "2 sources"; forms gives the singular and, when
// it is not the singular plus s, the plural.
func plural(n int, forms ...string) string {
	word := forms[0]
	if n != 1 {
		word += "s"
		if len(forms) > 1 {
			word = forms[1]
		}
	}
	return fmt.Sprintf("%d %s", n, word)
}
