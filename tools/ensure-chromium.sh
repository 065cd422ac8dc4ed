#!/usr/bin/env bash
# Make sure Debian's chromium is installed: the browser tests (tests/test_widget_browser.py)
# drive it with Playwright (`playwright install` is not used: it downloads its own browsers).
# Safe to run again: does nothing when /usr/bin/chromium exists.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "chromium is missing and installing it needs root: run 'apt-get install -y chromium' as root." >&2
    exit 1
  fi
else
  SUDO=
fi

echo "Installing chromium for the browser tests (apt-get)..."
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
"$CHROMIUM" --version
