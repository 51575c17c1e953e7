package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// loadConfig loads and validates the config. Warnings go to the log; errors
// come back as a mapping.Problems (exit 1 for validate, 2 elsewhere).
func (g *globals) loadConfig() (*mapping.Loaded, error) {
	reg := registry()
	l, err := mapping.Load(g.config, mapping.LoadOptions{
		LookupEnv: g.env,
		Secret:    g.secrets.AddOption,
		Kinds:     reg.Names(),
		Countries: sla.Countries(),
		SourceOptions: func(kind string) (any, bool) {
			k, ok := reg.Lookup(kind)
			if !ok {
				return nil, false
			}
			return k.NewOptions(), true
		},
		SinkOptions: push.SinkOptions,
	})
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
	g.secrets.AddURL(cfg.StoreURL())
	st, err := store.Open(ctx, cfg.StoreURL())
	if err != nil {
		return nil, withCode(exitStore, err)
	}
	st.Scrub = g.secrets.Redact
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, withCode(exitStore, err)
	}
	if len(applied) > 0 {
		g.logger.Info("store migrated", "versions", fmt.Sprint(applied))
	}
	return st, nil
}

// sourceInfo describes a configured source for the mapping.
func sourceInfo(s mapping.Source) mapping.SourceInfo {
	k, _ := registry().Lookup(s.Kind)
	return mapping.SourceInfo{ID: s.ID, Kind: s.Kind, Identity: k.Identity}
}

// openSource builds a configured source.
func (g *globals) openSource(l *mapping.Loaded, s mapping.Source) (connectors.Source, error) {
	k, ok := registry().Lookup(s.Kind)
	if !ok {
		return nil, fmt.Errorf("unknown source kind %q", s.Kind)
	}
	var repos []string
	for _, c := range l.Config.Clients {
		repos = append(repos, c.Repos...)
	}
	return k.Open(l.SourceOptions[s.ID], connectors.Env{
		Secrets: g.secrets,
		BaseDir: l.BaseDir,
		Logger:  g.logger.With("source", s.ID),
		Repos:   repos,
	})
}
