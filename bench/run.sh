#!/usr/bin/env bash
# The execmond benchmark command: builds what it needs into bench/out/build (meson) and
# runs bench.py (the execbench package).
#
#   bench/run.sh            full run (5 paired rounds, 1M-process churn; about 12-15 min here)
#   bench/run.sh --quick    smoke run (small counts, 1 round; about 3 min)
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

for a in "$@"; do
  case "$a" in -h|--help|--report|--report=*) exec /usr/bin/python3 "$here/bench.py" "$@" ;; esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: must run as root (BPF programs)" >&2
  exit 1
fi

for t in /usr/sbin/execsnoop bpftrace forkstat auditd auditctl laurel socat cc; do
  if ! command -v "$t" >/dev/null || ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    "$repo/scripts/install-bench-deps.sh"
    break
  fi
done
if [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing
fi

# execmond and the bench's C helpers (bench/tools/), built by meson as the tests build
# them, in a build dir of the bench's own (tests off: no Catch2 needed).
want_execmond=1
for a in "$@"; do
  case "$a" in --execmond|--execmond=*) want_execmond=0 ;; esac
done
if [ -n "${EXECMOND:-}" ]; then
  want_execmond=0
fi
targets=(storm noop tap readywait)
if [ "$want_execmond" = 1 ]; then
  targets+=(execmond)
fi
build=$out/build
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$repo" -Dtests=false >"$out/build-setup.log" 2>&1 || {
    tail -20 "$out/build-setup.log" >&2
    echo "bench: meson setup failed (scripts/install-deps.sh installs execmond's build deps)" >&2
    exit 1
  }
fi
meson compile -C "$build" "${targets[@]}" >"$out/build.log" 2>&1 || {
  tail -30 "$out/build.log" >&2
  echo "bench: building ${targets[*]} failed (log: $out/build.log)" >&2
  exit 1
}
# Where meson put a target (the tree's layout is meson.build's business, not ours).
built() {
  meson introspect --targets "$build" |
    /usr/bin/python3 -c 'import json, sys; print(next(t["filename"][0] for t in json.load(sys.stdin) if t["name"] == sys.argv[1]))' "$1"
}
EXECMOND_BENCH_TOOLS=$(dirname "$(built storm)")
export EXECMOND_BENCH_TOOLS
if [ "$want_execmond" = 1 ]; then
  EXECMOND=$(built execmond)
  export EXECMOND
fi

# Debian's python3: python3-matplotlib is installed for it, not for any other python3 on PATH.
exec /usr/bin/python3 "$here/bench.py" "$@"
