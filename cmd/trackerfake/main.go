// Command trackerfake serves one of the time-tracker fakes that karkas's
// tests use (Everhour, Toggl Track, Clockify or Harvest) on a local port,
// filled with a generated agency, so that karkas's tracker sources can be
// tried end to end without an account:
//
//	go run ./cmd/trackerfake -kind toggl -activity 30s
//
// It prints the environment to export and a config to start from (the
// agency's clients with their projects, and the source block with
// base_url). The agency has people with English and Russian names in
// their time zones, three clients (one of them Russian), projects, tasks,
// tags and -entries time entries over the last -months whole months;
// Everhour's has tasks linked to Trello cards ("tr:<id>"), Harvest's
// entries logged from Trello cards. The fake keeps the tracker's real
// limits: Everhour's 20 requests per 10 s, Toggl's hourly quota (Free
// plan; -quota for another), Clockify's 50 a second, Harvest's 100 per
// 15 s.
//
// With -activity, every interval brings an entry edited, one deleted and
// one added, as a working team would, each printed as it happens, so that
// the next `karkas sync` has something to find.
//
// -fault, repeatable, arms the fake to misbehave as the tests do
// (fakeapi.ParseFault spells it out), for trying karkas against a slow or
// failing tracker by hand:
//
//	go run ./cmd/trackerfake -kind everhour -fault 'rate_limited:route=/team/*:times=-1:retry_after=2'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the agency's people work in their own zones, tzdata or not

	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/internal/fakeapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trackerfake:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// options are the command's flags.
type options struct {
	kind     string
	addr     string
	seed     uint64
	entries  int
	months   int
	activity time.Duration
	quota    int
	faults   fakeapi.FaultFlags
}

var kinds = []string{everhour.KindName, toggl.KindName, clockify.KindName, harvest.KindName}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("trackerfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: trackerfake -kind %s [flags]\n\nServes a time tracker's fake with a generated agency and prints a karkas config for it.\n\n",
			strings.Join(kinds, "|"))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.kind, "kind", "", "the tracker to serve: "+strings.Join(kinds, ", "))
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed: the same seed gives the same agency")
	fs.IntVar(&o.entries, "entries", 400, "time entries to generate")
	fs.IntVar(&o.months, "months", 3, "whole months the entries span, the current one included")
	fs.DurationVar(&o.activity, "activity", 0, "edit, delete and add an entry this often (0: never)")
	fs.Var(&o.faults, "fault", fakeapi.FaultUsage)
	fs.IntVar(&o.quota, "quota", 0, "toggl only: requests per hour (default the Free plan's 30; Starter 240, Premium 600)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case o.kind == "":
		return o, fmt.Errorf("%w: -kind is required (%s)", errUsage, strings.Join(kinds, ", "))
	case !slices.Contains(kinds, o.kind):
		return o, fmt.Errorf("%w: -kind %q is not one of %s", errUsage, o.kind, strings.Join(kinds, ", "))
	case o.entries < 0:
		return o, fmt.Errorf("%w: -entries must not be negative", errUsage)
	case o.months < 1 || o.months > 24:
		return o, fmt.Errorf("%w: -months must be 1 to 24", errUsage)
	case o.activity < 0:
		return o, fmt.Errorf("%w: -activity must not be negative", errUsage)
	case o.quota < 0:
		return o, fmt.Errorf("%w: -quota must not be negative", errUsage)
	case o.quota > 0 && o.kind != toggl.KindName:
		return o, fmt.Errorf("%w: -quota is Toggl's hourly quota; %s has fixed limits", errUsage, o.kind)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args, os.Stderr)
	if err != nil {
		return err
	}
	t, err := start(o, time.Now())
	if err != nil {
		return err
	}
	defer t.close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String() + t.path
	intro(stdout, t, base, o)
	o.faults.ArmOn(t.arm, stdout)

	if o.activity > 0 {
		go act(ctx, stdout, t, o.activity, o.seed)
	}
	return fakeapi.Serve(ctx, ln, t.handler)
}

// act changes the tracker once per interval until ctx ends.
func act(ctx context.Context, out io.Writer, t *tracker, every time.Duration, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	fakeapi.Every(ctx, every, func(n int) {
		now := time.Now()
		fmt.Fprintf(out, "%s activity %d: %s\n", now.Format(time.TimeOnly), n, step(t, r, n, now))
	})
}

// step is one round of activity at now: an entry of the current month
// edited (more time, another note), another deleted, and one added that
// ended a little before now. It says what it did.
func step(t *tracker, r *rand.Rand, n int, now time.Time) string {
	now = now.UTC()
	ids := t.recent(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC))
	var done []string
	if len(ids) > 0 {
		i := r.IntN(len(ids))
		more := time.Duration(1+r.IntN(6)) * 15 * time.Minute
		t.edit(ids[i], more, fmt.Sprintf("правки, раунд %d", n))
		done = append(done, fmt.Sprintf("edited %s (+%s)", ids[i], hm(int64(more/time.Second))))
		ids = append(ids[:i], ids[i+1:]...)
	}
	if len(ids) > 0 {
		id := ids[r.IntN(len(ids))]
		t.remove(id)
		done = append(done, "deleted "+id)
	}
	id, what := t.add(r, now)
	done = append(done, fmt.Sprintf("added %s (%s)", id, what))
	return strings.Join(done, ", ")
}
