package main

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello"
	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/record"
)

// trelloBench pulls a synthetic agency (boards × cards × actions) from the
// fake Trello under Trello's real limits (100 requests per 10 s per token,
// 300 per key) on a virtual clock: every request is counted against the
// windows of the virtual instant it is made at, and virtual time moves only
// when the client waits for its budget, so the virtual wall time is what
// the same pull would take against Trello if Trello answered instantly.
func trelloBench(boards, cards, actions int) error {
	ctx := context.Background()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clock := trellofake.NewVirtualClock(start)
	gen := time.Now()
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 42, Boards: boards, CardsPerBoard: cards / boards,
		ActionsPerBoard: actions / boards, Clock: clock})
	srv := trellofake.NewServer(trellofake.Options{World: w})
	defer srv.Close()
	client, err := trello.NewClient(trello.ClientOptions{BaseURL: srv.BaseURL(), HTTPClient: srv.Client(),
		Key: srv.Key(), Token: srv.Token(), Budget: trello.NewBudget(trello.TrelloLimits, clock), Clock: clock})
	if err != nil {
		return err
	}
	var ids []string
	nCards, nActions := 0, 0
	minimum := 0
	for _, b := range w.Boards() {
		ids = append(ids, b.ID)
		c, a := len(w.Cards(b.ID)), len(w.Actions(b.ID))
		nCards += c
		nActions += a
		// One batch holds the board's small reads and the first page of
		// cards and of actions; each further page is a request of its own,
		// since it needs the previous page's oldest id. The API gives no
		// count, so the end is known only from a page shorter than 1000:
		// n items take n/1000 + 1 pages.
		minimum += 1 + toEnd(c) - 1 + toEnd(a) - 1
	}
	briefMin := 0
	for _, b := range w.Boards() {
		briefMin += 1 + pages(len(w.Cards(b.ID))) + pages(len(w.Actions(b.ID)))
	}
	fmt.Printf("trello world: %d boards, %d cards, %d actions (generated in %s)\n", len(ids), nCards, nActions,
		time.Since(gen).Round(time.Millisecond))

	opts := trello.DefaultOptions()
	opts.Key, opts.Token, opts.Boards = secret.Inline("unused"), secret.Inline("unused"), ids
	src, err := trello.NewSource(*opts, connectors.Env{Now: clock.Now}, client)
	if err != nil {
		return err
	}
	var records atomic.Int64
	cursor := ""
	emit := func(_ context.Context, b *record.Batch) error {
		records.Add(int64(b.Len()))
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
	// The floor: 100 requests per 10 s per token, the first hundred at
	// once (a full budget at the start).
	floor := time.Duration(max(0, (reqs-1)/100)) * 10 * time.Second
	steady := time.Duration(float64(reqs) / 100 * float64(10*time.Second))
	fmt.Printf("trello backfill requests: %d made, %d the API's minimum (ratio %.2f; the issue's formula 1 batch + pages of cards + pages of actions per board gives %d), %d answered 429, %d records\n",
		reqs, minimum, float64(reqs)/float64(minimum), briefMin, tooMany, records.Load())
	fmt.Printf("trello backfill time: %s virtual vs rate-limit floor %s for a full starting budget (%s at the steady 100 req/10 s); %s\n",
		virtual.Round(time.Millisecond), floor, steady.Round(time.Millisecond), floorRatio(virtual, floor, steady))
	fmt.Printf("trello backfill real time: %s (the fake on this machine)\n", real.Round(time.Millisecond))

	reqs, _, _, _, err = pull()
	if err != nil {
		return fmt.Errorf("no-change sync: %w", err)
	}
	fmt.Printf("trello no-change sync: %d requests for %d boards = %.2f per board (goal <= 1)\n", reqs, len(ids), float64(reqs)/float64(len(ids)))

	clock.Advance(time.Minute)
	for _, id := range ids {
		cs := w.Cards(id)
		w.CommentCard(w.Me().ID, cs[0].ID, "bench change")
	}
	reqs, _, _, _, err = pull()
	if err != nil {
		return fmt.Errorf("one-comment sync: %w", err)
	}
	fmt.Printf("trello sync with one new comment per board: %d requests = %.2f per board\n", reqs, float64(reqs)/float64(len(ids)))

	clock.Advance(trello.DefaultReconcileEvery)
	reqs, _, virtual, _, err = pull()
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	fmt.Printf("trello reconcile (14 days of comments and every card re-read): %d requests = %.2f per board, %s virtual\n",
		reqs, float64(reqs)/float64(len(ids)), virtual.Round(time.Millisecond))
	return nil
}

func pages(n int) int { return int(math.Ceil(float64(n) / trello.MaxPage)) }

// toEnd is how many pages of 1000 it takes to read n items and know that
// they are all: the last page must come back short.
func toEnd(n int) int { return n/trello.MaxPage + 1 }

func floorRatio(virtual, floor, steady time.Duration) string {
	if floor == 0 {
		if virtual == 0 {
			return "at the floor (every request fit in the first window)"
		}
		return fmt.Sprintf("%.2fx the steady floor", float64(virtual)/float64(steady))
	}
	return fmt.Sprintf("ratio %.2f (goal <= 1.2)", float64(virtual)/float64(floor))
}
