#!/usr/bin/env bash
# Fresh Debian 12 machine to a running daemon: installs the dependencies, builds,
# and runs execmond in the foreground on /run/execmond/events.sock (Ctrl-C stops it).
# Extra arguments go to execmond, e.g. `scripts/run.sh --socket /tmp/events.sock`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run: must run as root (installs packages; the daemon loads BPF programs)" >&2
  exit 1
fi

scripts/install-deps.sh
scripts/build.sh build
echo "run: read the stream from another terminal with:" >&2
echo "  socat - UNIX-CONNECT:/run/execmond/events.sock | jq" >&2
exec build/daemon/execmond "$@"
