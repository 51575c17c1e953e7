// Command trellofake serves the fake Trello REST API that karkas's tests
// use (connectors/trello/trellofake) on a local port, with generated
// boards, so that karkas can be tried end to end without a Trello account:
//
//	go run ./cmd/trellofake -addr 127.0.0.1:8089 -boards 3
//
// It prints the environment to export and a source block to paste into a
// karkas config. With -activity, every interval brings a new comment, a
// card moved and a card created on each board, so that successive
// `karkas sync` runs have something to pull. The fake counts Trello's rate
// limits in real time.
//
// Webhooks created through the API (as karkas serve does) get every change
// as Trello posts it, signed with -webhook-secret (the app secret to give
// karkas as webhook_secret); a delivery the receiver refuses is tried
// -webhook-retries more times.
//
// -fault, repeatable, arms the fake to misbehave as the tests do
// (fakeapi.ParseFault spells it out), for trying karkas against a slow or
// failing Trello by hand:
//
//	go run ./cmd/trellofake -fault 'hang:route=/1/batch:times=-1'
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/karkas/karkas/connectors/trello/trellofake"
	"github.com/karkas/karkas/internal/fakeapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "trellofake:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8089", "address to listen on")
	boards := flag.Int("boards", 3, "boards to generate")
	cards := flag.Int("cards", 40, "cards per board")
	actions := flag.Int("actions", 400, "actions per board")
	seed := flag.Uint64("seed", 1, "generator seed")
	activity := flag.Duration("activity", 0, "add a comment, a move and a card per board this often (0: never)")
	webhookSecret := flag.String("webhook-secret", trellofake.DefaultWebhookSecret, "app secret that signs webhook deliveries (karkas's webhook_secret)")
	webhookRetries := flag.Int("webhook-retries", 2, "times a refused webhook delivery is tried again (0: never)")
	webhookRetryDelay := flag.Duration("webhook-retry-delay", 30*time.Second, "wait before the first retry of a refused delivery, doubling after")
	var faults fakeapi.FaultFlags
	flag.Var(&faults, "fault", fakeapi.FaultUsage)
	flag.Parse()

	w := trellofake.Generate(trellofake.GenerateOptions{
		Seed: *seed, Boards: *boards, CardsPerBoard: *cards, ActionsPerBoard: *actions,
		Clock: trellofake.RealClock{},
	})
	if *webhookRetries < 0 || *webhookRetryDelay <= 0 {
		return fmt.Errorf("-webhook-retries must not be negative and -webhook-retry-delay must be positive")
	}
	retries := *webhookRetries
	if retries == 0 {
		retries = -1 // the option's zero is its default
	}
	srv := trellofake.NewServer(trellofake.Options{World: w, WebhookSecret: *webhookSecret, WebhookRetries: retries, WebhookRetryDelay: *webhookRetryDelay})
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String() + "/1"
	fmt.Printf(`fake Trello at %s with %d boards
export TRELLO_KEY=%s TRELLO_TOKEN=%s TRELLO_WEBHOOK_SECRET=%s

sources:
  - id: trello
    kind: trello
    options:
      key: ${TRELLO_KEY}
      token: ${TRELLO_TOKEN}
      webhook_secret: ${TRELLO_WEBHOOK_SECRET}   # only karkas serve reads it
      board_names: "."
      base_url: %s
`, base, *boards, srv.Key(), srv.Token(), srv.WebhookSecret(), base)
	faults.ArmOn(srv.Arm, os.Stdout)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *activity > 0 {
		go act(ctx, w, *activity, *seed)
	}
	return fakeapi.Serve(ctx, ln, srv)
}

// act changes every board once per interval, as a working team would.
func act(ctx context.Context, w *trellofake.World, every time.Duration, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	fakeapi.Every(ctx, every, func(n int) {
		for _, b := range w.Boards() {
			lists, cards, members := w.Lists(b.ID), w.Cards(b.ID), w.BoardMembers(b.ID)
			if len(lists) == 0 || len(cards) == 0 || len(members) == 0 {
				continue
			}
			who := members[r.IntN(len(members))].ID
			c := cards[r.IntN(len(cards))]
			w.CommentCard(who, c.ID, fmt.Sprintf("Обновление %d: посмотрите, пожалуйста?", n))
			w.MoveCard(who, cards[r.IntN(len(cards))].ID, lists[r.IntN(len(lists))].ID)
			w.CreateCard(who, lists[0].ID, fmt.Sprintf("New request %d", n))
		}
	})
}
