package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/sync/pipeline"
)

// Hook is one webhook of a source at its service, as `karkas webhooks`
// lists it.
type Hook struct {
	Source, Kind string
	// Container is the board id or the repository (owner/name).
	Container string
	ID        string
	URL       string
	Active    bool
	// Created is true for one this call created (or switched back on).
	Created bool
}

// HookSet is the webhook handles of a config's sources, by source id.
type HookSet = map[string]*hookSource

// hookDescription marks the Trello webhooks karkas makes.
const hookDescription = "karkas serve"

// Hooks opens the webhook handles of the config's enabled trello and
// github sources (only those ids when only is given). A source without a
// webhook_secret is an error naming it: it could not verify what it asks
// for.
func Hooks(app *pipeline.App, only []string) (map[string]*hookSource, error) {
	all, problems := openHooks(app, app.Logger)
	for _, id := range only {
		if _, ok := all[id]; !ok && problems[id] == nil {
			return nil, fmt.Errorf("--source %s: not an enabled trello or github source", id)
		}
	}
	var errs []error
	out := map[string]*hookSource{}
	for id, h := range all {
		if len(only) == 0 || slices.Contains(only, id) {
			out[id] = h
		}
	}
	for id, err := range problems {
		if len(only) == 0 || slices.Contains(only, id) {
			errs = append(errs, fmt.Errorf("source %s: %w", id, err))
		}
	}
	return out, errors.Join(errs...)
}

// Register makes sure every board of every trello source and every
// repository of every github source has a webhook posting to karkas at
// publicURL; a second call creates nothing.
func Register(ctx context.Context, hooks map[string]*hookSource, publicURL string) ([]Hook, error) {
	if publicURL == "" {
		return nil, errNoPublicURL
	}
	var out []Hook
	var errs []error
	for _, id := range sortedIDs(hooks) {
		h := hooks[id]
		switch {
		case h.trello != nil:
			url := CallbackURL(publicURL, "trello", id)
			created, kept, err := h.trello.Ensure(ctx, func(string) string { return url }, hookDescription)
			for _, w := range created {
				out = append(out, Hook{Source: id, Kind: trello.KindName, Container: w.IDModel, ID: w.ID, URL: w.CallbackURL, Active: w.Active, Created: true})
			}
			for _, w := range kept {
				out = append(out, Hook{Source: id, Kind: trello.KindName, Container: w.IDModel, ID: w.ID, URL: w.CallbackURL, Active: w.Active})
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", id, err))
			}
		case h.github != nil:
			url := CallbackURL(publicURL, "github", id)
			created, kept, err := h.github.Ensure(ctx, func(string) string { return url })
			for _, k := range created {
				out = append(out, githubHook(id, k, true))
			}
			for _, k := range kept {
				out = append(out, githubHook(id, k, false))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", id, err))
			}
		}
	}
	return out, errors.Join(errs...)
}

func githubHook(id string, k github.Hook, created bool) Hook {
	return Hook{Source: id, Kind: github.KindName, Container: k.Repo, ID: fmt.Sprint(k.ID), URL: k.URL, Active: k.Active, Created: created}
}

// List lists the webhooks of the sources that post to karkas: with
// publicURL, those posting to its callbacks; without, every one whose
// callback has karkas's path (/webhooks/{kind}/{source}).
func List(ctx context.Context, hooks map[string]*hookSource, publicURL string) ([]Hook, error) {
	var out []Hook
	var errs []error
	for _, id := range sortedIDs(hooks) {
		h := hooks[id]
		ours := func(kind, url string) bool {
			if publicURL != "" {
				return url == CallbackURL(publicURL, kind, id)
			}
			return strings.HasSuffix(url, "/webhooks/"+kind+"/"+id)
		}
		switch {
		case h.trello != nil:
			ws, err := h.trello.Client().Webhooks(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", id, err))
				continue
			}
			for _, w := range ws {
				if ours("trello", w.CallbackURL) {
					out = append(out, Hook{Source: id, Kind: trello.KindName, Container: w.IDModel, ID: w.ID, URL: w.CallbackURL, Active: w.Active})
				}
			}
		case h.github != nil:
			for _, repo := range h.github.Repos() {
				ks, err := h.github.Client().Hooks(ctx, repo)
				if err != nil {
					errs = append(errs, fmt.Errorf("source %s: %s: %w", id, repo, err))
					continue
				}
				for _, k := range ks {
					if ours("github", k.URL) {
						out = append(out, githubHook(id, k, false))
					}
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

// Delete removes the webhooks List finds.
func Delete(ctx context.Context, hooks map[string]*hookSource, publicURL string) ([]Hook, error) {
	found, err := List(ctx, hooks, publicURL)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var out []Hook
	for _, k := range found {
		h := hooks[k.Source]
		var err error
		switch {
		case h.trello != nil:
			err = h.trello.Client().DeleteWebhook(ctx, k.ID)
		case h.github != nil:
			var n int64
			fmt.Sscan(k.ID, &n)
			err = h.github.Client().DeleteHook(ctx, k.Container, n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %s: %w", k.Source, k.Container, err))
			continue
		}
		out = append(out, k)
	}
	return out, errors.Join(errs...)
}

func sortedIDs(hooks map[string]*hookSource) []string {
	ids := make([]string, 0, len(hooks))
	for id := range hooks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// openHooks opens the webhook handle of every enabled trello and github
// source; the sources that cannot (no webhook_secret) are in problems.
func openHooks(app *pipeline.App, log *slog.Logger) (map[string]*hookSource, map[string]error) {
	out, problems := map[string]*hookSource{}, map[string]error{}
	l := app.Loaded
	for _, src := range l.Sources {
		if src.Disabled || (src.Kind != trello.KindName && src.Kind != github.KindName) {
			continue
		}
		env := connectors.Env{Secrets: app.Secrets, BaseDir: l.BaseDir, Logger: log.With("source", src.ID), Mapped: l.Mapped()}
		h := &hookSource{src: src}
		var err error
		switch src.Kind {
		case trello.KindName:
			h.trello, err = trello.OpenWebhooks(l.SourceOptions[src.ID], env)
		case github.KindName:
			h.github, err = github.OpenWebhooks(l.SourceOptions[src.ID], env)
		}
		if err != nil {
			problems[src.ID] = err
			continue
		}
		out[src.ID] = h
	}
	return out, problems
}
