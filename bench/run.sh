#!/usr/bin/env bash
# The execmond benchmark command: builds what it needs into bench/out/ and runs bench.py.
#
#   bench/run.sh            full run (5 paired rounds, 1M-process churn; about 12-15 min here)
#   bench/run.sh --quick    smoke run (small counts, 1 round; about 2 min)
#   bench/run.sh --help     all options (monitors, phases, counts)
#
# execmond: $EXECMOND or --execmond PATH if given, else built from this tree into
# bench/out/build (meson, tests off), so the figures are for the source checked out here.
# Needs root (BPF). Installs the peers with scripts/install-bench-deps.sh if any is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=$here/out
mkdir -p "$out"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: must run as root (BPF programs)" >&2
  exit 1
fi

for t in /usr/sbin/execsnoop bpftrace forkstat socat cc; do
  if ! command -v "$t" >/dev/null || ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    "$repo/scripts/install-bench-deps.sh"
    break
  fi
done
if [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing
fi

cflags=(-O2 -Wall -Wextra -Werror)
cc -static -nostdlib -nostartfiles -fno-stack-protector -O2 -o "$out/noop" "$here/noop.c"
cc "${cflags[@]}" -o "$out/storm" "$here/storm.c"
cc "${cflags[@]}" -o "$out/tap" "$here/tap.c"
cc "${cflags[@]}" -o "$out/readywait" "$here/readywait.c"

want_build=1
for a in "$@"; do
  case "$a" in --execmond|--execmond=*|-h|--help) want_build=0 ;; esac
done
if [ -n "${EXECMOND:-}" ]; then
  want_build=0
fi
if [ "$want_build" = 1 ]; then
  if [ ! -f "$out/build/build.ninja" ]; then
    meson setup "$out/build" "$repo" -Dtests=false >"$out/build-setup.log" 2>&1 || {
      tail -20 "$out/build-setup.log" >&2
      echo "bench: meson setup failed (scripts/install-deps.sh installs execmond's build deps)" >&2
      exit 1
    }
  fi
  ninja -C "$out/build" daemon/execmond >"$out/build.log" 2>&1 || {
    tail -30 "$out/build.log" >&2
    echo "bench: building execmond failed" >&2
    exit 1
  }
  export EXECMOND=$out/build/daemon/execmond
fi

# Debian's python3: python3-matplotlib is installed for it, not for any other python3 on PATH.
EXECMOND_BENCH_TOOLS=$out exec /usr/bin/python3 "$here/bench.py" "$@"
