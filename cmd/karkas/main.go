// Command karkas keeps an agency's promises visible: it syncs cards,
// comments, time entries and mail from the agency's tools into one store and
// evaluates them against the agency's rules. See `karkas help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	// Time zones are compiled in: calendars and trackers' members name
	// IANA zones, and a slim container may have no zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/karkas/karkas/internal/secret"
)

// Exit codes, documented in `karkas help` and the README.
const (
	exitOK       = 0 // everything succeeded
	exitFailed   = 1 // the work ran, and some of it failed (a source, a validation)
	exitUsage    = 2 // bad flags, or a config that does not load
	exitStore    = 3 // the store could not be opened or migrated
	exitLocked   = 4 // another run held a source or the evaluation (past --wait); that part was not done
	exitCanceled = 130
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// globals are the flags every command shares.
type globals struct {
	config     string
	logFormat  string
	logLevel   string
	stdout     io.Writer
	stderr     io.Writer
	cpuProfile string
	logger     *slog.Logger
	env        func(string) (string, bool)
	// secrets are the credentials this run has read; stdout, stderr (and
	// so the log) and the store's error texts are redacted of them.
	secrets *secret.Set
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	secrets := secret.NewSet()
	stdout, stderr = secrets.Writer(stdout), secrets.Writer(stderr)
	g := &globals{stdout: stdout, stderr: stderr, env: env, secrets: secrets}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitUsage
	if errors.As(err, &ee) {
		code = ee.code
	}
	if ctx.Err() != nil {
		code = exitCanceled
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "karkas:", msg)
	}
	return code
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "karkas",
		Short: "Keep an agency's promises to its clients visible",
		Long: `karkas pulls cards, comments, status moves, time entries and email threads from the
tools an agency already uses (Trello, time trackers, mail, GitHub) into one store,
maps them through one YAML file onto the agency's clients, people and statuses, and
checks them against the agency's promises.

The config file comes from --config, else $KARKAS_CONFIG, else ./karkas.yaml.

Exit codes:
  0    success
  1    the work ran and some of it failed (a source failed, the config has errors)
  2    bad usage, or a config that cannot be loaded
  3    the store could not be opened or migrated
  130  interrupted`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.setup(); err != nil {
				return err
			}
			if g.cpuProfile != "" {
				f, err := os.Create(g.cpuProfile)
				if err != nil {
					return withCode(exitUsage, err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return withCode(exitUsage, err)
				}
			}
			return nil
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if g.cpuProfile != "" {
				pprof.StopCPUProfile()
			}
		},
	}
	f := root.PersistentFlags()
	f.StringVarP(&g.config, "config", "c", "", "config file (default $KARKAS_CONFIG, else karkas.yaml)")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for performance work)")
	f.MarkHidden("cpuprofile")
	root.AddCommand(newValidateCmd(g), newSyncCmd(g), newStatusCmd(g), newRemapCmd(g), newMigrateCmd(g), newSchemaCmd(g), newSLACmd(g), newDiscoverCmd(g), newVersionCmd(g))
	root.AddCommand(newReportCmd(g))
	root.AddCommand(newDeliveriesCmd(g))
	root.AddCommand(newServeCmd(g), newWebhooksCmd(g))
	root.AddCommand(newUsersCmd(g), newCabinetCmd(g))
	return root
}

func (g *globals) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return withCode(exitUsage, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", g.logLevel))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		g.logger = slog.New(slog.NewTextHandler(g.stderr, opts))
	case "json":
		g.logger = slog.New(slog.NewJSONHandler(g.stderr, opts))
	default:
		return withCode(exitUsage, fmt.Errorf("--log-format: %q is not one of text, json", g.logFormat))
	}
	g.secrets.Log = g.logger
	if g.config == "" {
		if v, ok := g.env("KARKAS_CONFIG"); ok && v != "" {
			g.config = v
		} else {
			g.config = "karkas.yaml"
		}
	}
	return nil
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(g.stdout, "karkas", version)
			return nil
		},
	}
}
