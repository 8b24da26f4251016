#!/usr/bin/env bash
# The exact-loss test of the whole pipeline, for the test suite (meson test, as root):
# a 64 KiB kernel ring and the daemon stopped (SIGSTOP) from just before an exec storm
# until 0.3 s into it, so records are certainly lost (the check fails if none were); the
# execs delivered to the client plus the execs counted in the stream's `lost` lines must
# equal the execs spawned, exactly, and execmond must still exit 0 on SIGTERM. Also a
# small storm through the default ring with nothing lost. About 20 s.
#
#   bench/smoke.sh EXECMOND_BINARY
#
# The bench helpers: meson's build of them, in $EXECMOND_BENCH_TOOLS. Needs no peer monitors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
execmond=${1:?usage: smoke.sh EXECMOND_BINARY}
if [ "$(id -u)" -ne 0 ]; then
  echo "smoke: needs root (BPF); skipped"
  exit 77 # meson: skipped
fi

: "${EXECMOND_BENCH_TOOLS:?the directory of the meson build of bench/tools}"
out=$(mktemp -d /tmp/execmond-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT

EXECMOND_BENCH_OUT=$out /usr/bin/python3 "$here/bench.py" --execmond "$execmond" --monitors execmond \
  --phases tinyring,loss --quick --check --loss-count 5000 --tiny-count 5000
