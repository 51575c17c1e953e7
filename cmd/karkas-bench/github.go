package main

import (
	"context"
	"fmt"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

// githubBench backfills a synthetic agency (repositories × issues ×
// comments, with their label and close events) from the fake GitHub
// under GitHub's limits (5000 requests an hour per account, 900 points a
// minute) on a virtual clock, through the github source alone (as the
// Trello benchmark does), then measures what a sync with nothing new
// costs: requests made, and the hourly quota they spend (a 304 spends
// none).
func githubBench(repos, issues, comments int) error {
	ctx := context.Background()
	clock := vclock.NewVirtual(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	gen := time.Now()
	w := githubfake.NewWorld(clock)
	g := w.Generate(42, repos, issues, comments, 180)
	const token = "ghp_benchtoken0001"
	w.AddUser("karkas-reader", "")
	w.AddToken(token, "karkas-reader")
	srv := githubfake.NewServer(githubfake.Options{World: w})
	defer srv.Close()
	client, err := github.NewClient(github.ClientOptions{BaseURL: srv.URL(), HTTPClient: srv.Client(), Tokens: []string{token}, Clock: clock})
	if err != nil {
		return err
	}
	var names []string
	nIssues, nComments, nEvents := 0, 0, 0
	// The minimum: per repository, the repository itself and each listing
	// read once, 100 to a page; a listing of n items takes n/100 + 1
	// pages, as only a short page (or a Link header without next) ends
	// it, and a listing that fits one page takes one.
	pages := func(n int) int { return max(1, (n+99)/100) }
	minimum := 0
	for _, r := range g.Repos {
		names = append(names, r.FullName())
		is, cs, es := len(w.Issues(r.ID)), len(w.Comments(r.ID)), len(w.Events(r.ID))
		nIssues += is
		nComments += cs
		nEvents += es
		minimum += 1 + pages(is) + pages(cs) + pages(es)
	}
	fmt.Printf("github world: %d repositories, %d issues and pull requests, %d comments, %d issue events (generated in %s)\n",
		len(names), nIssues, nComments, nEvents, time.Since(gen).Round(time.Millisecond))

	opts := github.DefaultOptions()
	opts.Repos, opts.StatusLabels, opts.Bots = names, githubfake.GenerateStatusLabels, nil
	src, err := github.NewSource(*opts, connectors.Env{Now: clock.Now}, client)
	if err != nil {
		return err
	}
	var records int
	cursor := ""
	emit := func(_ context.Context, b *record.Batch) error {
		records += b.Len()
		if b.Cursor != "" {
			cursor = b.Cursor
		}
		return nil
	}
	pull := func() (reqs, notMod, spent, refused int, virtual, real time.Duration, err error) {
		srv.ResetStats()
		records = 0
		v0, r0 := clock.Now(), time.Now()
		err = src.Pull(ctx, cursor, emit)
		return srv.Total(), srv.NotModified(), srv.Spent(), srv.SecondaryRefusals(), clock.Now().Sub(v0), time.Since(r0), err
	}

	reqs, _, spent, refused, virtual, real, err := pull()
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	fmt.Printf("github backfill requests: %d made, %d the minimum (ratio %.2f: each listing 100 to a page, keyset pages read the boundary second again), %d refused by a secondary limit, %d records\n",
		reqs, minimum, float64(reqs)/float64(minimum), refused, records)
	fmt.Printf("github backfill time: %s virtual (paced to %d points a minute), %d of the hour's %d requests spent; %s real (the fake on this machine)\n",
		virtual.Round(time.Second), github.DefaultPointsPerMinute, spent, githubfake.GitHubLimits.PerHour, real.Round(time.Millisecond))

	for _, which := range []string{"first", "second"} {
		clock.Advance(15 * time.Minute)
		reqs, notMod, spent, _, _, real, err := pull()
		if err != nil {
			return fmt.Errorf("no-change sync: %w", err)
		}
		fmt.Printf("github no-change sync (%s after the backfill): %d requests, %d answered 304, %d of the hourly quota spent, %d records, %s real\n",
			which, reqs, notMod, spent, records, real.Round(time.Millisecond))
	}
	return nil
}
