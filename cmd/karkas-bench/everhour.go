package main

import (
	"context"
	"fmt"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/everhour/everhourfake"
	"github.com/karkas/karkas/connectors/timetrack"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

// everhourBench backfills a synthetic team (users × entries over months)
// from the fake Everhour under Everhour's stated limit (20 requests per
// 10 s per key) on a virtual clock, through the Everhour source alone (as
// the Trello benchmark does): every request is counted against the window
// of the virtual instant it is made at, and virtual time moves only when
// the client waits for its budget, so the virtual time is what the same
// pull would take against Everhour if Everhour answered instantly.
func everhourBench(users, entries, months int) error {
	ctx := context.Background()
	clock := vclock.NewVirtual(time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC))
	gen := time.Now()
	w := everhourfake.NewWorld(clock)
	w.Generate(42, users, entries, months)
	srv := everhourfake.NewServer(everhourfake.Options{World: w})
	defer srv.Close()
	tr, err := everhour.New(everhour.Config{BaseURL: srv.BaseURL(), Token: srv.APIKey(), HTTPClient: srv.Client(), Clock: clock})
	if err != nil {
		return err
	}
	opts := timetrack.NewOptions(srv.BaseURL())
	opts.BackfillMonths = months
	src := timetrack.NewSource(tr, *opts, connectors.Env{Now: clock.Now})
	fmt.Printf("everhour world: %d users, %d projects, %d tasks, %d time records over %d months (generated in %s)\n",
		len(w.Users()), len(w.Projects()), len(w.Tasks()), len(w.Entries()), months, time.Since(gen).Round(time.Millisecond))

	// The minimum: the pull reads each backfill month and then the window
	// (reconcile_months) as one range each; a range of n records takes
	// n/limit + 1 pages, since only a short page ends it. Then the three
	// name lists (users, projects, clients), read once.
	now := clock.Now()
	window := time.Date(now.Year(), now.Month()-time.Month(opts.ReconcileMonths-1), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	perMonth := map[string]int{}
	inWindow := 0
	for _, e := range w.Entries() {
		if e.Date >= window {
			inWindow++
		} else {
			perMonth[e.Date[:7]]++
		}
	}
	pagesOf := func(n int) int { return n/everhour.MaxPage + 1 }
	minimum := 3 + pagesOf(inWindow)
	for m := range months - opts.ReconcileMonths {
		month := time.Date(now.Year(), now.Month()-time.Month(months-1-m), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
		minimum += pagesOf(perMonth[month])
	}
	noChangeMin := 3 + pagesOf(inWindow)

	var records int
	cursor := ""
	emit := func(_ context.Context, b *record.Batch) error {
		records += len(b.TimeEntries)
		if b.Cursor != "" {
			cursor = b.Cursor
		}
		return nil
	}
	pull := func() (reqs, tooMany int, virtual, real time.Duration, err error) {
		srv.ResetStats()
		v0, r0 := clock.Now(), time.Now()
		err = src.Pull(ctx, cursor, emit)
		return srv.Total(), srv.TooMany(), clock.Now().Sub(v0), time.Since(r0), err
	}

	reqs, tooMany, virtual, real, err := pull()
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	floor := time.Duration(max(0, (reqs-1)/everhour.RateMax)) * everhour.RateInterval
	fmt.Printf("everhour backfill requests: %d made, %d the minimum (ratio %.2f: pages of %d records per month read, plus users, projects, clients), %d answered 429, %d records\n",
		reqs, minimum, float64(reqs)/float64(minimum), everhour.MaxPage, tooMany, records)
	fmt.Printf("everhour backfill time: %s virtual vs rate-limit floor %s (%d requests at 20 per 10 s, a full budget at the start)\n",
		virtual.Round(time.Millisecond), floor, reqs)
	fmt.Printf("everhour backfill real time: %s (the fake on this machine)\n", real.Round(time.Millisecond))

	// The next scheduled sync, past the name lists' lifetime: the window
	// is re-read (Everhour cannot list changes), nothing else.
	clock.Advance(15 * time.Minute)
	records = 0
	reqs, _, virtual, _, err = pull()
	if err != nil {
		return fmt.Errorf("no-change sync: %w", err)
	}
	fmt.Printf("everhour no-change sync 15 min later: %d requests (minimum %d: the %d-month window, %d records, and the 3 name lists), %s virtual\n",
		reqs, noChangeMin, opts.ReconcileMonths, records, virtual.Round(time.Millisecond))
	return nil
}
