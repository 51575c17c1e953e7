package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/pipeline"
)

// loadConfig loads and validates the config. Warnings go to the log; errors
// come back as a mapping.Problems (exit 1 for validate, 2 elsewhere).
func (g *globals) loadConfig() (*mapping.Loaded, error) {
	l, err := pipeline.Load(g.config, g.env, g.secrets)
	if l != nil {
		for _, w := range l.Warnings {
			g.logger.Warn("config", "problem", w.String())
		}
	}
	return l, err
}

// mustConfig is loadConfig for commands that cannot go on without one.
func (g *globals) mustConfig() (*mapping.Loaded, error) {
	l, err := g.loadConfig()
	if err != nil {
		var ps mapping.Problems
		if errors.As(err, &ps) {
			return nil, withCode(exitUsage, fmt.Errorf("the config has errors (run karkas validate):\n%s", ps.Error()))
		}
		return nil, withCode(exitUsage, err)
	}
	return l, nil
}

// openStore opens the config's store and brings its schema up to date.
func (g *globals) openStore(ctx context.Context, cfg *mapping.Config) (*store.Store, error) {
	st, applied, err := pipeline.OpenStore(ctx, cfg, g.secrets)
	if err != nil {
		return nil, withCode(exitStore, err)
	}
	if len(applied) > 0 {
		g.logger.Info("store migrated", "versions", fmt.Sprint(applied))
	}
	return st, nil
}

// app is the pipeline's work on the config and st (nil for work that
// needs no store: opening sources and sinks).
func (g *globals) app(l *mapping.Loaded, st *store.Store) *pipeline.App {
	return &pipeline.App{Loaded: l, Store: st, Logger: g.logger, Secrets: g.secrets, LookupEnv: g.env, ArmSinks: g.armKill}
}

// openSource builds a configured source.
func (g *globals) openSource(l *mapping.Loaded, s mapping.Source) (connectors.Source, error) {
	return g.app(l, nil).OpenSource(s)
}

// pipelineCode is the exit code of a pipeline failure: the config's
// (exit 2) or the store's (exit 3).
func pipelineCode(err error) error {
	var ce *pipeline.ConfigError
	if errors.As(err, &ce) {
		return withCode(exitUsage, err)
	}
	return withCode(exitStore, err)
}
