// Package mailtest starts real mail servers for tests: a throwaway Dovecot
// (IMAP) and a Mailpit (SMTP with an HTTP API to read what was delivered),
// each on a free loopback port, stopped by its own pid when the test ends.
//
// A missing server binary skips the test on a developer's machine and fails
// it with CI=true: CI must never pass by silently not testing mail. `make
// test` installs the servers first (scripts/dovecot.sh, scripts/mailpit.sh).
package mailtest

import (
	"os"
	"testing"
)

// Missing reports a server that cannot be found or started: a failure with
// CI=true, a skip otherwise. hint says how to get it.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not available and CI=true: the mail tests must run (%s)", what, hint)
	}
	t.Skipf("%s is not available: skipping (%s)", what, hint)
}
