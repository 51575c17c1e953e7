package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/service"
	"github.com/karkas/karkas/web"
)

func newServeCmd(g *globals) *cobra.Command {
	var listen, id string
	var shutdown time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run as a daemon: scheduled pulls, webhooks in, breaches noticed as they happen",
		Long: `serve runs until SIGTERM or SIGINT. Each source is pulled on its schedule: (a source
without one every serve.default_schedule, 15m unless set); a Trello or GitHub webhook
pulls the board or repository it names at once; every pull that changed rows is
followed by an evaluation, and an evaluation is also scheduled at the next instant an
open clock turns at risk or breached, so a breach is posted at its due time with nothing
new pulled. The outbox is worked after each evaluation and every minute (retries, quiet
hours, digests, the monthly reports of routing.reports).

The jobs live in the store's database (River): several serve processes on one PostgreSQL
share them, one pull per source at a time; on SQLite one serve per store file. A cron
karkas sync beside it is safe: both take the same run locks.

On a signal serve stops taking work, lets running jobs finish for --shutdown-timeout,
then cancels them (each goes on from its last commit next time) and exits 0.

The listener (serve.listen, --listen) serves the web UI under / (the agency's pages for
accounts made with karkas users add, and the client cabinets of karkas cabinet link),
/webhooks/trello/{source} and /webhooks/github/{source}, /healthz, /readyz and /metrics
(or serve.metrics_listen).`,
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
			opts := service.FromConfig(l.Config)
			if listen != "" {
				opts.Listen = listen
			}
			if shutdown > 0 {
				opts.ShutdownTimeout = shutdown
			}
			opts.ID = id
			holder := store.Holder(time.Now())
			unlock, err := st.LockServe(ctx, holder)
			var le *store.LockedError
			switch {
			case errors.As(err, &le):
				return withCode(exitLocked, fmt.Errorf("not serving: %w", err))
			case err != nil:
				return withCode(exitStore, err)
			}
			defer unlock()
			cals, err := configCalendars(l.Config)
			if err != nil {
				return withCode(exitUsage, err)
			}
			wo := web.Options{Store: st, Config: l.Config, Calendars: cals, Logger: g.logger,
				PublicURL: opts.PublicURL, Redact: g.secrets.Redact}
			if err := g.webConfig(l, &wo); err != nil {
				return withCode(exitUsage, err)
			}
			ui, err := web.New(wo)
			if err != nil {
				return withCode(exitFailed, err)
			}
			opts.Web = ui.Handler()
			svc, err := service.New(g.app(l, st), opts)
			if err != nil {
				return pipelineCode(err)
			}
			return svc.Run(ctx, func(addr string) {
				fmt.Fprintf(g.stdout, "karkas serve: listening on %s\n", addr)
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default serve.listen, else "+service.DefaultListen+")")
	cmd.Flags().DurationVar(&shutdown, "shutdown-timeout", service.DefaultShutdownTimeout, "how long running jobs may finish after a signal")
	cmd.Flags().StringVar(&id, "id", "", "this replica's name in River and in run locks (default host-pid)")
	return cmd
}

// webConfig fills what serve.web asks of the web UI: the OIDC provider
// (with its secret read through the run's secret set) and the cabinet's
// notes.
func (g *globals) webConfig(l *mapping.Loaded, o *web.Options) error {
	sv := l.Config.Serve
	if sv == nil || sv.Web == nil {
		return nil
	}
	if c := sv.Web.Cabinet; c != nil {
		o.CabinetNotes = c.Notes
	}
	oc := sv.Web.OIDC
	if oc == nil {
		return nil
	}
	secretValue := g.secrets.Optional(oc.ClientSecret)
	domains := oc.Domains
	if len(domains) == 0 {
		domains = l.Config.Agency.Domains
	}
	o.OIDC = &web.OIDC{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: secretValue, Label: oc.Label, Domains: slices.Clone(domains)}
	return nil
}
