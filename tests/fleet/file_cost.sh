#!/usr/bin/env bash
# The output file's cost in the exec storm (docs/fleet.md, "Cost"): paired
# rounds of bench/storm.c; each setup's exec rate is divided by the mean of
# the bare-machine runs just before and after it. Not part of the test
# command; the figures are for a quiet machine.
#   tests/fleet/file_cost.sh [EXECMOND]      (root; R=rounds, N=execs per run)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
X=${1:-build/daemon/execmond}
N=${N:-40000}
R=${R:-5}
B=$(mktemp -d /tmp/execmond-filecost-XXXXXX)
D=/var/tmp/execmond-filecost-$$ # a real disk, not a tmpfs
mkdir -p "$D"
trap 'rm -rf "$B" "$D"' EXIT
cc -O2 -o "$B/storm" bench/tools/storm.c && cc -O2 -static -nostdlib -nostartfiles -fno-stack-protector -o "$B/noop" bench/tools/noop.c || exit 1

rate() { "$B/storm" --count "$N" --noop "$B/noop" | sed 's/.*"rate":\([0-9.]*\).*/\1/'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks, every thread
start() {
  rm -f "$D"/events.jsonl* "$D/socat.out" "$D/d.log"
  "$X" --config /dev/null --log-target stderr --socket "$D/s.sock" --state-dir "$D/state" "$@" 2>"$D/d.log" &
  dpid=$!
  until grep -q "ready in" "$D/d.log" 2>/dev/null; do sleep 0.05; done
}
one() { # SETUP: prints "rate cpu_ticks"
  local sp="" c0 c1 s0=0 s1=0 r
  case $1 in
    bare) start ;;                                   # no reader: records decoded, nothing encoded
    file) start --output-file "$D/events.jsonl" --output-max-size 0 ;;
    file-gzip) start --output-file "$D/events.jsonl" --output-max-size 16M --output-keep 2 --output-compress gzip ;;
    socat) start; socat -u UNIX-CONNECT:"$D/s.sock" "$D/socat.out" & sp=$!; sleep 0.3 ;;
  esac
  c0=$(cpu $dpid); [ -n "$sp" ] && s0=$(cpu $sp)
  r=$(rate)
  sleep 0.5 # the daemon's and the writer's catching up counts too
  c1=$(cpu $dpid); [ -n "$sp" ] && s1=$(cpu $sp)
  [ -n "$sp" ] && kill $sp
  kill $dpid; wait $dpid
  echo "$r $(((c1 - c0) + (s1 - s0)))"
}
for round in $(seq 1 "$R"); do
  for setup in bare file file-gzip socat; do
    b1=$(rate); read -r r c < <(one $setup); b2=$(rate)
    echo "$setup $(awk -v r="$r" -v a="$b1" -v b="$b2" 'BEGIN { printf "%.3f", 2 * r / (a + b) }') $c"
  done
done | awk '{ ratio[$1] = ratio[$1] " " $2; cpu[$1] = cpu[$1] " " $3 }
  END { for (s in ratio) print s, "ratio:" ratio[s], "| cpu ticks:" cpu[s] }'
