#!/usr/bin/env bash
# Makes sure systemd-analyze is installed, for the test that has systemd
# read the example unit (deploy TestSystemdAnalyze: verify, and security
# --offline). Installs Debian's systemd package with apt-get when it is
# not on PATH (no systemd is started: the test only reads the unit). Silent
# when it is present. With CI=true a failed install is an error; otherwise
# it says so and exits 0, and the test skips (CI=true makes it fail).
set -euo pipefail
say() { echo "systemd-analyze.sh: $*" >&2; }

command -v systemd-analyze >/dev/null 2>&1 && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
say "installing Debian's systemd for systemd-analyze"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null; }; then
  say "apt-get could not install systemd"
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
  say "the unit will only be parsed (the test fails with CI=true)"
  exit 0
fi
command -v systemd-analyze >/dev/null 2>&1 || { say "apt-get finished but systemd-analyze is not on PATH"; exit 1; }
