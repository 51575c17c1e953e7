#!/usr/bin/env bash
# Makes sure the Mailpit binary (a real SMTP server that keeps what it
# receives and serves it over an HTTP API) is installed, for the SMTP tests
# in connectors/email (internal/mailtest starts it per test). Installs the
# pinned version from the Go module proxy into $(go env GOPATH)/bin when it
# is neither there nor on PATH: about a minute on 2 cores, once. Silent when
# it is present. Used by `make test`.
set -euo pipefail
version=v1.27.11
say() { echo "mailpit.sh: $*" >&2; }

gobin=$(go env GOPATH)/bin
if [ -x "$gobin/mailpit" ] || command -v mailpit >/dev/null 2>&1; then
  exit 0
fi
say "installing Mailpit $version into $gobin (about a minute)"
GOBIN=$gobin go install "github.com/axllent/mailpit@$version"
[ -x "$gobin/mailpit" ] || { say "go install finished but $gobin/mailpit is missing"; exit 1; }
say "installed $("$gobin/mailpit" version 2>/dev/null | head -n 1 || echo "$gobin/mailpit")"
