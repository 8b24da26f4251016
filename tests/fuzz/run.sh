#!/bin/sh
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time; fails on any crash, leak, sanitizer report
# or timeout.
#
#   tests/fuzz/run.sh [SECONDS]        (default 30 per target)
#
# Environment: CXX (default: clang++-19, clang++-14 or clang++, the first
# found), FUZZ_BUILD_DIR (default: build-fuzz at the top of the tree).
# Targets (tests/fuzz/*_fuzz.cpp):
#   request_fuzz  a client's request line: parse_request and the answer line
#   record_fuzz   a ring-buffer record: decode_record, then encode to JSON
# Seeds are in tests/fuzz/corpus/<name>/ (never written to); new inputs go to
# $FUZZ_BUILD_DIR/corpus-<name>/ and crashes to $FUZZ_BUILD_DIR/crash-*.
set -eu

seconds=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${FUZZ_BUILD_DIR:-$top/build-fuzz}

if [ -z "${CXX:-}" ]; then
    for c in clang++-19 clang++-14 clang++; do
        if command -v "$c" >/dev/null 2>&1; then
            CXX=$c
            break
        fi
    done
fi
if [ -z "${CXX:-}" ]; then
    echo "fuzz: no clang++ found (libFuzzer needs clang; apt install clang)" >&2
    exit 1
fi

mkdir -p "$out"
flags="-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Wall -Wextra -Werror
       -I$top/daemon/common -I$top/daemon/kernel -I$top/daemon/lineage -I$top/daemon/provenance -I$top/daemon/stream
       -I$top/proto -DEXECMOND_VERSION=\"fuzz\""
libs="-lre2" # --redact's engine (not instrumented: Debian's build)

build() {
    name=$1
    shift
    srcs=""
    for s in "$@"; do
        srcs="$srcs $top/daemon/$s"
    done
    # Up to date: nothing it is built from is newer than it.
    if [ -x "$out/$name" ] && [ -z "$(find "$here/$name.cpp" $srcs "$top/daemon" "$top/proto" -newer "$out/$name" 2>/dev/null | head -n 1)" ]; then
        echo "fuzz: $name is up to date"
        return
    fi
    echo "fuzz: building $name with $CXX"
    # shellcheck disable=SC2086
    "$CXX" $flags -o "$out/$name" "$here/$name.cpp" $srcs $libs
}

# The two targets build (and then run) side by side: one core each.
build request_fuzz stream/subscription.cpp stream/protocol.cpp stream/text.cpp lineage/boot_clock.cpp \
    lineage/process_table.cpp lineage/proc_reader.cpp lineage/container_ids.cpp common/event.cpp common/env_filter.cpp common/tty_name.cpp &
req_build=$!
build record_fuzz kernel/record_decoder.cpp stream/encoder.cpp stream/json_writer.cpp stream/redactor.cpp stream/text.cpp \
    lineage/boot_clock.cpp lineage/process_table.cpp lineage/proc_reader.cpp lineage/container_ids.cpp common/event.cpp common/env_filter.cpp common/tty_name.cpp || {
    wait $req_build
    exit 1
}
wait $req_build

run() {
    name=$1
    seeds=$2
    shift 2
    mkdir -p "$out/corpus-$name"
    echo "fuzz: running $name for $seconds s"
    # The first corpus directory collects new inputs; the seeds stay as committed.
    if ! "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crash-$name-" "$@" "$out/corpus-$name" "$here/corpus/$seeds" \
        >"$out/$name.log" 2>&1; then
        tail -n 60 "$out/$name.log"
        echo "fuzz: $name FAILED (log: $out/$name.log; reproduce: $out/$name $out/crash-$name-*)" >&2
        return 1
    fi
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$out/$name.log" | sed "s/^/fuzz: $name /"
    echo "fuzz: $name ok ($(find "$out/corpus-$name" -type f | wc -l) inputs in its corpus)"
}

run request_fuzz request -max_len=70000 -dict="$here/request.dict" &
req_run=$!
rc=0
run record_fuzz record -max_len=16384 || rc=1
wait $req_run || rc=1
exit $rc
