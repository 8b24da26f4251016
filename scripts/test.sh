#!/usr/bin/env bash
# Fresh Debian 12 machine to every test passing, as root:
#   1. install the build, test and end-to-end dependencies
#   2. release build + `meson test` (unit, integration with the real probes, bench unit tests)
#   3. the kernel matrix: the daemon on Debian's 5.10, 6.1 and 6.12 kernels in qemu
#      and on the host's kernel, in each probe mode (tests/kernels/run.sh)
#   4. ASan+UBSan build of the daemon and the unit tests; the unit tests, then
#      the integration tests (release binary) driving the sanitized daemon
#   5. the libFuzzer targets, each for a bounded time
#   6. the Debian package against a real systemd in nspawn (tests/e2e/run.sh)
#   7. the fleet: the Prometheus scrape of the metrics endpoint (tests/fleet/metrics.sh),
#      and the pipeline, execmond's file through rsyslog RELP into PostgreSQL 15
#      with the central side stopped mid-storm (tests/fleet/pipeline.sh)
# Every step runs even if an earlier one failed; the summary names the failures and
# the exit status is non-zero if any step failed. Logs: build*/meson-logs/testlog.txt.
#   TEST_STEPS="unit asan" scripts/test.sh   # a subset (deps build test kernels asan fuzz e2e fleet)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test: must run as root (installs packages; the tests load BPF programs)" >&2
  exit 1
fi

steps=${TEST_STEPS:-"deps build test kernels asan fuzz e2e fleet"}
declare -a summary=()
failed=0

step() { # name command...
  local name=$1
  shift
  case " $steps " in *" $name "*) ;; *) return 0 ;; esac
  echo "=== test: $name: $*"
  local t0=$SECONDS
  if "$@"; then
    summary+=("ok    $name ($((SECONDS - t0)) s)")
  else
    summary+=("FAIL  $name ($((SECONDS - t0)) s)")
    failed=1
  fi
}

deps() {
  scripts/install-deps.sh && scripts/install-e2e-deps.sh && scripts/install-kernel-matrix.sh &&
    scripts/install-fleet-deps.sh
}

# The sanitizers abort on the first report, so a finding fails its test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The unit tests run once, in the asan step, under the sanitizers: the release
# tree builds everything else (the product and what the other steps run).
unit_suites="unit client-unit"
release_build() {
  if [ ! -f build/build.ninja ]; then
    meson setup build || return 1
  fi
  local targets
  targets=$(meson introspect build --targets | /usr/bin/python3 -c '
import json, os, sys
skip = {"unit_tests", "client_unit_tests"}
for t in json.load(sys.stdin):
    if t["build_by_default"] and t["name"] not in skip:
        for f in t["filename"]:
            print(os.path.relpath(f, "build"))') || return 1
  # shellcheck disable=SC2086
  ninja -C build $targets
}
release_tests() {
  local tests
  # shellcheck disable=SC2046
  tests=$(meson test -C build --list 2>/dev/null | grep -v -x -F $(printf -- "-e %s " $unit_suites)) || return 1
  # shellcheck disable=SC2086
  meson test -C build --no-rebuild --print-errorlogs $tests
}

step deps deps
step build release_build
step test release_tests
step kernels tests/kernels/run.sh build
# The product under the sanitizers: the daemon and everything the unit tests
# link. The integration tests, their process-tree helpers and the storm stay
# release builds from build/ (a sanitized helper's LeakSanitizer forks a tracer
# process into the very trees the tests count), so this step needs `build`.
asan() {
  local dir=build-asan
  # Libraries as unity files, line tables only (-g1): about half the compile
  # time, and the reports still name file and line. -O2 as the release: at
  # -O1 the sanitized daemon fell behind the storms of the loss and resume tests.
  # The unit test files themselves are -O0 (tests/meson.build): a third of
  # their compile time.
  local opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dunity=on -Doptimization=2 -Dcpp_args=-g1)
  if [ ! -f $dir/build.ninja ]; then
    meson setup $dir "${opts[@]}" || return 1
  else
    meson configure $dir "${opts[@]}" || return 1
  fi
  ninja -C $dir daemon/execmond tests/unit_tests client/tests/client_unit_tests || return 1
  # shellcheck disable=SC2086
  meson test -C $dir --no-rebuild --print-errorlogs $unit_suites || return 1
  local area rc=0 t0
  for area in pipeline lineage protocol loss resume file; do
    t0=$SECONDS
    if EXECMOND_BIN=$PWD/$dir/daemon/execmond \
      EXECMOND_STREAM_VALIDATOR=$PWD/tests/validate_stream.py \
      EXECMOND_STORM=$PWD/build/bench/storm EXECMOND_NOOP=$PWD/build/bench/noop \
      LINEAGE_TOOL=$PWD/build/tests/lineage_tool EXECMOND_EXIT_RACE=$PWD/build/tests/exit_race \
      EXECMOND_USAGE_CHILD=$PWD/build/tests/usage_child EXECMOND_PYTHON=/usr/bin/python3 \
      timeout 1800 build/tests/integration_tests --order decl "[$area]" >$dir/integration-$area.log 2>&1; then
      echo "asan: integration-$area OK ($((SECONDS - t0)) s)"
    else
      tail -n 80 $dir/integration-$area.log
      echo "asan: integration-$area FAILED ($((SECONDS - t0)) s; log: $dir/integration-$area.log)"
      rc=1
    fi
  done
  return $rc
}
step asan asan
step fuzz tests/fuzz/run.sh 30
step e2e tests/e2e/run.sh
step fleet tests/fleet/pipeline.sh build/daemon/execmond build/bench/storm build/bench/noop

echo "=== test: summary"
printf '  %s\n' "${summary[@]}"
echo "  total $SECONDS s"
exit $failed
