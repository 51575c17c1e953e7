package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/trello/trellofake"
)

// A source's failure is one line of at most connectors.MaxLine
// characters, in sync's table, in the error log and in sync_runs: the
// request's path without the /batch query, the status and the start of
// the server's page on one line. The debug log has the whole URL.
func TestSyncFailureIsOneShortLine(t *testing.T) {
	t.Parallel()
	clock := trellofake.NewVirtualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	w := trellofake.Generate(trellofake.GenerateOptions{Seed: 3, Boards: 2, CardsPerBoard: 5, ActionsPerBoard: 20, Clock: clock})
	srv := trellofake.New(t, trellofake.Options{World: w, Limits: trellofake.Limits{Off: true}})
	page := "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n" +
		strings.Repeat("<center>Request Header Or Cookie Too Large</center>\r\n", 30) + "</body>\r\n</html>"
	srv.Arm(trellofake.Fault{Kind: trellofake.FaultStatus, Status: 400, Route: "/1/batch", Times: -1, Body: page})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "karkas.yaml")
	config := `store: {url: "sqlite:` + filepath.Join(dir, "k.db") + `"}
agency: {name: Northwind, domains: [northwind.agency]}
sources:
  - id: boards
    kind: trello
    options: {key: "${TRELLO_KEY}", token: "${TRELLO_TOKEN}", board_names: ".", base_url: "` + srv.BaseURL() + `"}
`
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TRELLO_KEY": srv.Key(), "TRELLO_TOKEN": srv.Token()}
	code, out, errOut := runCLI(t, env, "--config", cfg, "--log-level", "debug", "sync")
	if code == exitOK {
		t.Fatalf("sync succeeded against a failing /batch:\n%s", out)
	}
	_, failed, ok := strings.Cut(out, "FAILED: ")
	failed, _, _ = strings.Cut(failed, "\n")
	failed = strings.TrimSpace(failed)
	if !ok || !strings.Contains(failed, "GET /batch: 400 Bad Request: <html> <head><title>400 Bad Request</title></head> <body> <center>") ||
		strings.Contains(failed, "urls=") || utf8.RuneCountInString(failed) > connectors.MaxLine {
		t.Errorf("sync's result (%d characters): %q", utf8.RuneCountInString(failed), failed)
	}
	var errorLog, debugURL bool
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, `msg="source failed"`) {
			errorLog = true
			if strings.Contains(line, "urls=") || !strings.Contains(line, "GET /batch: 400") {
				t.Errorf("the error log line: %s", line)
			}
		}
		debugURL = debugURL || strings.Contains(line, "level=DEBUG") && strings.Contains(line, "/1/batch?urls=")
	}
	if !errorLog || !debugURL {
		t.Errorf("error logged: %v, the whole URL at debug level: %v\n%s", errorLog, debugURL, errOut)
	}
}
