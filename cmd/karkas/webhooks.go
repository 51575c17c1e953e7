package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/sync/service"
)

func newWebhooksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Register, list and delete the Trello and GitHub webhooks karkas serve hears",
		Long: `webhooks manages the webhooks that tell karkas serve the moment a board or a repository
changes: one Trello webhook per board each trello source pulls, one hook per repository
each github source pulls, posting to serve.public_url + /webhooks/{kind}/{source id}.
Each source needs webhook_secret (or webhook_secret_file): for Trello the app's OAuth
secret, which Trello signs deliveries with; for GitHub any random string, which karkas
gives the hook and checks each delivery against.

register creates what is missing and switches back on what was switched off; a second
register creates nothing. Trello checks the callback URL when a webhook is created, so
karkas serve must be running and reachable at serve.public_url. list shows them, delete
removes them. The scheduled pulls go on either way: a lost webhook costs at most one
schedule interval.`,
	}
	var only []string
	sub := func(use, short string, run func(hooks serviceHooks, public string) ([]service.Hook, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				l, err := g.mustConfig()
				if err != nil {
					return err
				}
				public := service.FromConfig(l.Config).PublicURL
				hooks, openErr := service.Hooks(g.app(l, nil), only)
				if openErr != nil && len(hooks) == 0 {
					return withCode(exitFailed, openErr)
				}
				got, err := run(serviceHooks{cmd: cmd, hooks: hooks}, public)
				w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "source\tkind\tboard or repository\tid\tactive\tthis run\turl\t")
				for _, h := range got {
					mark := "-"
					if h.Created {
						mark = "created"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\t%s\t%s\t\n", h.Source, h.Kind, h.Container, h.ID, h.Active, mark, h.URL)
				}
				w.Flush()
				if err != nil {
					return withCode(exitFailed, err)
				}
				if openErr != nil {
					return withCode(exitFailed, openErr)
				}
				return nil
			},
		}
		c.Flags().StringArrayVar(&only, "source", nil, "only this source id (repeatable)")
		return c
	}
	cmd.AddCommand(
		sub("register", "Create the webhooks that are missing", func(h serviceHooks, public string) ([]service.Hook, error) {
			return service.Register(h.cmd.Context(), h.hooks, public)
		}),
		sub("list", "List karkas's webhooks at the services", func(h serviceHooks, public string) ([]service.Hook, error) {
			return service.List(h.cmd.Context(), h.hooks, public)
		}),
		sub("delete", "Delete karkas's webhooks at the services", func(h serviceHooks, public string) ([]service.Hook, error) {
			return service.Delete(h.cmd.Context(), h.hooks, public)
		}),
	)
	return cmd
}

type serviceHooks struct {
	cmd   *cobra.Command
	hooks service.HookSet
}
