// Command githubfake serves the fake GitHub REST API that karkas's tests
// use (connectors/github/githubfake) on a local port, filled with an
// agency's repositories, so that karkas's github source can be tried end
// to end without a GitHub account:
//
//	go run ./cmd/githubfake -activity 30s
//
// It prints the token to export and a config to start from: the agency's
// people with their GitHub logins (agency and client side), the clients
// with their repositories, a business calendar and a response policy,
// the statuses the labels map to, and the source block with base_url.
// The agency (Northwind) works for three clients, one of them Russian who
// writes in Russian, over -days of history: issues opened by clients and
// by the agency, answered (mostly) by the agency, moved through the
// labels todo, in progress and review, assigned, in milestones, closed;
// pull requests of a bot (renovate[bot]) and of the agency, with a CI
// account's comments (northwind-ci, which only the config's bots: option
// tells apart from a person). The fake keeps GitHub's limits: 5000
// requests an hour per account, the secondary limits, ETags and 304s.
//
// With -activity, every interval a client opens an issue, the agency
// answers the client who has waited longest, an open issue moves on a
// label and one in review is closed, each printed as it happens, so that
// the next `karkas sync` has something to find.
//
// The token's account administers the repositories, so that karkas serve
// can create its hooks there; each then gets a ping, and every change
// (an issue opened, edited, labeled or closed, a comment made) is posted
// to it as GitHub posts it, signed with the hook's secret.
//
// -fault, repeatable, arms the fake to misbehave as the tests do
// (fakeapi.ParseFault spells it out), for trying karkas against a slow or
// failing GitHub by hand:
//
//	go run ./cmd/githubfake -fault 'server_error:status=502:path=/api/v3/repos:times=3'
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
	"strings"
	"syscall"
	"time"

	"github.com/karkas/karkas/connectors/github/githubfake"
	"github.com/karkas/karkas/internal/fakeapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "githubfake:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// options are the command's flags.
type options struct {
	addr     string
	seed     uint64
	issues   int
	days     int
	activity time.Duration
	faults   fakeapi.FaultFlags
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("githubfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed: the same seed gives the same agency")
	fs.IntVar(&o.issues, "issues", 25, "issues and pull requests per repository")
	fs.IntVar(&o.days, "days", 30, "days of history before now")
	fs.DurationVar(&o.activity, "activity", 0, "open, answer, move and close issues this often (0: never)")
	fs.Var(&o.faults, "fault", fakeapi.FaultUsage)
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case o.issues < 0:
		return o, fmt.Errorf("%w: -issues must not be negative", errUsage)
	case o.days < 1 || o.days > 365:
		return o, fmt.Errorf("%w: -days must be 1 to 365", errUsage)
	case o.activity < 0:
		return o, fmt.Errorf("%w: -activity must not be negative", errUsage)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args, os.Stderr)
	if err != nil {
		return err
	}
	a := newAgency(o.seed, o.issues, o.days, time.Now())
	srv := githubfake.NewServer(githubfake.Options{World: a.w})
	defer srv.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	intro(stdout, a, base, o)
	o.faults.ArmOn(srv.Arm, stdout)

	if o.activity > 0 {
		go act(ctx, stdout, a, o.activity, o.seed)
	}
	// The Server is the handler; its own test listener goes unused.
	return fakeapi.Serve(ctx, ln, srv)
}

// act changes the repositories once per interval until ctx ends.
func act(ctx context.Context, out io.Writer, a *agency, every time.Duration, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	fakeapi.Every(ctx, every, func(n int) {
		fmt.Fprintf(out, "%s activity %d: %s\n", time.Now().Format(time.TimeOnly), n, a.act(r, n))
	})
}

// intro prints where the fake is, what it holds, the environment to
// export and the config.
func intro(w io.Writer, a *agency, base string, o options) {
	fmt.Fprintf(w, "fake GitHub (Enterprise Server API under /api/v3) at %s: %s\n", base, a.summary())
	fmt.Fprintf(w, "limits: GitHub's: 5000 requests an hour per account, 900 points a minute, 80 new issues and comments a minute; a 304 costs nothing\n")
	if o.activity > 0 {
		fmt.Fprintf(w, "activity: every %s a client opens an issue, the agency answers the longest wait, an issue moves on a label and one in review is closed\n", o.activity)
	}
	fmt.Fprintf(w, "\nexport GITHUB_TOKEN=%s\n\n", token)
	fmt.Fprintf(w, "# karkas.yaml: save it as is, or paste the parts you need into yours\n")
	io.WriteString(w, configYAML(a, base))
	fmt.Fprintf(w, "\nthen, with the variable exported: karkas validate, karkas sync, karkas status, karkas sla --client %s\n(go run ./cmd/karkas from the repository)\n", agencyClients[0].id)
}

// configYAML is a config for the fake at base.
func configYAML(a *agency, base string) string {
	var b strings.Builder
	b.WriteString(`agency: {name: Northwind Digital, domains: [northwind.agency], calendar: office}
calendars:
  office: {time_zone: Europe/Berlin, hours: {mon-fri: ["09:00-18:00"]}}
policy_sets:
  standard:
    response: {target: 6h, warn: 3h}      # business hours to answer a client's issue or comment
    stage_limits: {review: 2d}
people:
`)
	for _, p := range agencyPeople {
		fmt.Fprintf(&b, "  - {id: %s, name: %s, side: agency, github: [%s]}\n", p.id, p.name, p.login)
	}
	for _, c := range agencyClients {
		for _, p := range c.contacts {
			fmt.Fprintf(&b, "  - {id: %s, name: %s, side: client, client: %s, github: [%s]}\n", p.id, p.name, c.id, p.login)
		}
	}
	b.WriteString("clients:\n")
	for _, c := range agencyClients {
		var repos []string
		for _, r := range c.repos {
			repos = append(repos, owner+"/"+r)
		}
		fmt.Fprintf(&b, "  - {id: %s, name: %s, policy_set: standard, repos: [%s]}\n", c.id, c.name, strings.Join(repos, ", "))
	}
	fmt.Fprintf(&b, `statuses:
  - {source: github, match: [open, todo], status: todo}
  - {source: github, match: [in progress], status: in_progress}
  - {source: github, match: [review], status: review}
  - {source: github, match: [closed], status: done}
sources:
  - id: github
    kind: github
    options:
      token: ${GITHUB_TOKEN}
      base_url: %s
      status_labels: [%s]
      bots: [%s]   # a CI account GitHub does not mark as a bot
`, base, strings.Join(githubfake.GenerateStatusLabels, ", "), ciAccount)
	return b.String()
}
