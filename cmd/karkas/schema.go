package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sync/pipeline"
)

func newSchemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of karkas.yaml",
		Long: `schema prints the JSON Schema of the config file, source and sink options included, for
editors to complete and check karkas.yaml. configs/karkas.schema.json is this output;
a test keeps it current. Point an editor at it with a first line such as

  # yaml-language-server: $schema=karkas.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := schemaJSON()
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, string(b))
			return nil
		},
	}
}

func schemaJSON() ([]byte, error) {
	reg := pipeline.Registry()
	opts := map[string]any{}
	for _, name := range reg.Names() {
		k, _ := reg.Lookup(name)
		opts[name] = k.NewOptions()
	}
	return mapping.Schema(opts, sinks.ConfigKinds())
}
