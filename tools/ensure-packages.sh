#!/usr/bin/env bash
# Make sure the Debian packages the tests drive for real are installed:
#   chromium          the browser tests (Playwright drives it; `playwright install` is not
#                     used: it downloads its own browsers)
#   postgresql        the production-profile tests (tracker store, tickets, billing)
#   redis-server      the production-profile tests (Rasa's lock store)
# Safe to run again: does nothing when every program is there. The tests start and stop
# their own throwaway servers; nothing here starts a service.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "Missing ${missing[*]}; installing needs root: run 'apt-get install -y ${missing[*]}' as root." >&2
    exit 1
  fi
else
  SUDO=
fi

echo "Installing ${missing[*]} for the tests (apt-get)..."
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
# Debian starts the packaged services on install; the tests run their own on free ports.
for service in postgresql redis-server; do
  if [[ " ${missing[*]} " == *" $service "* ]] && command -v service >/dev/null 2>&1; then
    $SUDO service "$service" stop >/dev/null 2>&1 || true
  fi
done
