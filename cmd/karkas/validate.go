package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
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

With --online it also asks the services: for trello sources, every board a client
names, every list name a status rule matches and every Trello identity of a person
must exist on the boards the sources pull.`,
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
			pos := newPositions(l.File)
			var opened mapping.Problems
			for i, s := range l.Sources {
				if _, err := g.openSource(l, s); err != nil {
					line, col := pos.find("sources", i, "options")
					if line == 0 {
						line, col = pos.find("sources", i)
					}
					opened = append(opened, mapping.Problem{File: l.File, Line: line, Col: col,
						Path: fmt.Sprintf("sources[%d].options", i), Message: err.Error()})
				}
			}
			if len(opened) > 0 {
				for _, p := range opened {
					fmt.Fprintln(g.stdout, p.String())
				}
				return withCode(exitFailed, fmt.Errorf("%d error(s) in %s", len(opened), g.config))
			}
			if online {
				ps, err := g.checkTrelloOnline(cmd.Context(), l)
				if err != nil {
					return withCode(exitFailed, fmt.Errorf("validate --online: %w", err))
				}
				for _, p := range ps {
					fmt.Fprintln(g.stdout, p.String())
				}
				if errs := ps.Errors(); len(errs) > 0 {
					return withCode(exitFailed, fmt.Errorf("%d error(s) in %s against the services", len(errs), g.config))
				}
			}
			fmt.Fprintf(g.stdout, "%s: ok (%s, %s, %s)\n", g.config,
				plural(len(l.Clients), "client"), plural(len(l.People), "person", "people"), plural(len(l.Sources), "source"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also check names against the services (trello: boards, lists, members)")
	return cmd
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
