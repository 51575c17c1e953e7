#!/usr/bin/env bash
# Makes sure Dovecot's binaries (dovecot, doveadm) are installed, for the IMAP
# tests in connectors/email (internal/mailtest starts a throwaway Dovecot per
# test from a config in a temporary folder). Installs Debian's dovecot-imapd
# when `dovecot` is missing; never starts or enables the system service.
# Silent and instant when it is present. Used by `make test`.
set -euo pipefail
say() { echo "dovecot.sh: $*" >&2; }

have() { command -v dovecot >/dev/null 2>&1 && command -v doveadm >/dev/null 2>&1; }
have && exit 0

if [ "$(id -u)" != 0 ]; then
  say "Dovecot is not installed and this is not root: install Debian's dovecot-imapd package"; exit 1
fi
command -v apt-get >/dev/null 2>&1 || { say "Dovecot is not installed and there is no apt-get: install dovecot-imapd by hand"; exit 1; }

say "installing dovecot-imapd from Debian's packages (the service is not started)"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 tells the package scripts not to start the service;
# removed again whatever happens, unless it was there before.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=true
fi
# apt and dpkg talk a lot even with -qq: keep it, and show it only on failure.
log=$(mktemp)
cleanup() { if $own_policy; then rm -f "$policy"; fi; rm -f "$log"; }
trap cleanup EXIT
ok=false
for attempt in 1 2; do
  if apt-get install -y -qq --no-install-recommends dovecot-imapd >"$log" 2>&1; then ok=true; break; fi
  # A stale package list is the usual reason; refresh it once and retry.
  [ "$attempt" = 1 ] && { apt-get update -qq >>"$log" 2>&1 || true; }
done
$ok || { tail -n 30 "$log" >&2; say "apt-get install dovecot-imapd failed (its last lines are above)"; exit 1; }
have || { say "dovecot-imapd is installed but dovecot or doveadm is not on PATH"; exit 1; }
say "installed $(dovecot --version 2>/dev/null || echo dovecot)"
