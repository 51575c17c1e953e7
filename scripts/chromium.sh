#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed, for the tests that render the
# HTML hour report in a real browser (cmd/karkas TestReportHTMLInChromium:
# a screenshot at a phone's and a desktop's width, and a print to PDF).
# Installs the chromium package with apt-get when no chromium is on PATH:
# a few minutes, once. Silent when it is present. With CI=true a failed
# install is an error; otherwise it says so and exits 0, and the browser
# test skips (CI=true makes a missing browser fail the test instead).
set -euo pipefail
say() { echo "chromium.sh: $*" >&2; }

for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then
    exit 0
  fi
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
say "installing Debian's chromium (a few minutes, once)"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null; }; then
  say "apt-get could not install chromium"
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
  say "the browser tests will skip (they fail with CI=true)"
  exit 0
fi
command -v chromium >/dev/null 2>&1 || { say "apt-get finished but chromium is not on PATH"; exit 1; }
say "installed $(chromium --version 2>/dev/null || echo chromium)"
