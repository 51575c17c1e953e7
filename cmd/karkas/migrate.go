package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/store"
)

func newMigrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the store's schema",
		Long: `migrate applies the schema steps the store has not had yet. Every command that opens
the store does this too; run it alone to upgrade a production database at a chosen time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.mustConfig()
			if err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), l.StoreURL())
			if err != nil {
				return withCode(exitStore, err)
			}
			defer st.Close()
			applied, err := st.Migrate(cmd.Context())
			if err != nil {
				return withCode(exitStore, err)
			}
			v, err := st.SchemaVersion(cmd.Context())
			if err != nil {
				return withCode(exitStore, err)
			}
			fmt.Fprintf(g.stdout, "store %s: schema version %d (%d step(s) applied now)\n", store.Redact(l.StoreURL()), v, len(applied))
			return nil
		},
	}
}
