package main

import (
	"context"
	"fmt"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/planfix/planfixfake"
	"github.com/karkas/karkas/internal/vclock"
	"github.com/karkas/karkas/record"
)

// planfixBench backfills a synthetic account (projects × tasks × comments)
// from the fake PlanFix under its limit of one request a second on a
// virtual clock, through the planfix source alone, and compares the
// requests with the API's minimum; then measures a sync with nothing new
// and one after a comment on one task.
func planfixBench(projects, tasks, comments int) error {
	ctx := context.Background()
	clock := vclock.NewVirtual(time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC))
	gen := time.Now()
	const users = 30
	w := planfixfake.Generate(clock.Now(), users, projects, tasks, comments)
	srv := planfixfake.NewServer(w, planfixfake.Options{Clock: clock})
	defer srv.Close()
	fmt.Printf("planfix world: %d projects, %d tasks, %d comments, %d employees and %d contacts (generated in %s)\n",
		projects, tasks, comments, users, users, time.Since(gen).Round(time.Millisecond))
	// The minimum: the statuses (the processes and each one's statuses),
	// the employee, contact and project lists, each project's task list
	// and each task's comments, 100 to a page, a list ending on its
	// short page.
	pages := func(n int) int { return n/100 + 1 }
	perProject := make([]int, projects)
	for i := range tasks {
		perProject[i%projects]++
	}
	minimum := 2 + pages(users) + pages(users) + pages(projects)
	for _, n := range perProject {
		minimum += pages(n)
	}
	for _, t := range w.Tasks {
		minimum += pages(len(t.Comments))
	}
	client, err := planfix.NewClient(planfix.ClientConfig{BaseURL: srv.BaseURL(), Token: srv.Token(), Clock: clock})
	if err != nil {
		return err
	}
	o := planfix.DefaultOptions()
	o.Account = "northwind"
	o.Deadline = 48 * time.Hour // a large account's backfill takes hours at one request a second
	src, err := planfix.Open(o, connectors.Env{}, client)
	if err != nil {
		return err
	}
	src.SetClock(clock)
	cursor, records := "", 0
	emit := func(_ context.Context, b *record.Batch) error {
		records += b.Len()
		if b.Cursor != "" {
			cursor = b.Cursor
		}
		return nil
	}
	pull := func(what string) error {
		srv.ResetLog()
		records = 0
		v0, r0 := clock.Now(), time.Now()
		if err := src.Pull(ctx, cursor, emit); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Printf("  %-28s %6d requests, %7d records, %8s of PlanFix time (%s here), %d refused by the limit\n", what, len(srv.Requests()), records,
			clock.Now().Sub(v0).Round(time.Second), time.Since(r0).Round(time.Millisecond), srv.TooMany())
		return nil
	}
	if err := pull("backfill"); err != nil {
		return err
	}
	fmt.Printf("  the API's minimum for the backfill: %d requests (%.2fx)\n", minimum, float64(len(srv.Requests()))/float64(minimum))
	clock.Advance(15 * time.Minute)
	if err := pull("sync, nothing new"); err != nil {
		return err
	}
	clock.Advance(15 * time.Minute)
	srv.Comment("1", planfix.Ref{ID: "contact:1001"}, "<p>Есть новости?</p>", clock.Now())
	clock.Advance(time.Minute)
	return pull("sync, one new comment")
}
