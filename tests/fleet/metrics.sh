#!/usr/bin/env bash
# The metrics endpoint (--metrics-listen) against Debian's real Prometheus:
# prometheus scrapes the daemon every second, and every value it stored is
# checked through its HTTP query API against the daemon's own stats line,
# taken just before and just after that scrape (equal snapshots bracket the
# scrape, so the scraped values must be those). The daemon follows one process
# tree, the test's storm, so the event counts are also checked against what
# the storm ran. Then the endpoint's refusals: other methods and paths, an
# oversized head, binary input, slow and idle clients, none of which may stall
# the loop.
#
#   tests/fleet/metrics.sh EXECMOND STORM NOOP      (root; exit 77: skipped)
set -uo pipefail

EXECMOND=${1:?usage: metrics.sh EXECMOND STORM NOOP}
STORM=${2:?}
NOOP=${3:?}
[ "$(id -u)" -eq 0 ] || { echo "metrics: needs root (BPF); skipped"; exit 77; }
for c in prometheus curl jq socat python3; do
  command -v $c >/dev/null || { echo "metrics: $c not installed (scripts/install-fleet-deps.sh); skipped"; exit 77; }
done

W=$(mktemp -d /tmp/execmond-metrics-XXXXXX)
passed=0
failed=0
pids=()
cleanup() {
  local p
  exec {stats_in}>&- 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ "$failed" -gt 0 ] || [ -n "${KEEP:-}" ]; then
    echo "metrics: --- daemon log (last 30 lines)"; tail -n 30 "$W/daemon.log"
    echo "metrics: --- prometheus log (last 15 lines)"; tail -n 15 "$W/prometheus.log"
  fi
  [ -n "${KEEP:-}" ] && echo "metrics: kept $W" || rm -rf "$W"
}
trap cleanup EXIT

pass() { echo "metrics: PASS $1"; passed=$((passed + 1)); }
fail() { echo "metrics: FAIL $1: $2"; failed=$((failed + 1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_for() { # SECONDS COMMAND...
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mport=$(free_port)
pport=$(free_port)
M=http://127.0.0.1:$mport/metrics
P=http://127.0.0.1:$pport

# The followed tree: a subshell that becomes the storm when told to.
mkfifo "$W/go"
(read -r _ <"$W/go"; exec "$STORM" --noop "$NOOP" --token "metrics-$$" --count 2000 --spawners 2 >"$W/storm.out") &
root=$!
pids+=($root)

"$EXECMOND" --config /dev/null --log-target stderr --socket "$W/events.sock" --state-dir "$W/state" --follow $root \
  --metrics-listen 127.0.0.1:$mport --output-file "$W/out/events.jsonl" --output-max-size 256K \
  2>"$W/daemon.log" &
daemon=$!
pids+=($daemon)
wait_for 15 curl -sf -o /dev/null $M || { fail daemon-ready "no answer at $M within 15 s"; exit 1; }

cat >"$W/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: execmond
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
  --web.listen-address=127.0.0.1:$pport --log.level=warn >"$W/prometheus.log" 2>&1 &
pids+=($!)

# query EXPR [TIME]: the first result's value, or "" if none.
query() {
  curl -s "$P/api/v1/query" --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"} |
    jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
scraped_up() { [ "$(query 'up{job="execmond"}')" = 1 ]; }
wait_for 30 scraped_up || { fail prometheus-scrapes "up{job=\"execmond\"} is not 1 within 30 s"; exit 1; }
pass prometheus-scrapes

# One client that asks for stats and nothing else (it counts in "clients").
coproc STATS { socat - UNIX-CONNECT:"$W/events.sock"; }
pids+=($STATS_PID)
exec {stats_in}>&"${STATS[1]}"
echo '{"type":"subscribe","events":[]}' >&$stats_in
stats() { # prints the next stats line
  echo '{"type":"stats"}' >&$stats_in
  local line
  while IFS= read -r -t 5 line <&"${STATS[0]}"; do
    case $line in '{"type":"stats"'*) echo "$line"; return 0 ;; esac
  done
  return 1
}

echo go >"$W/go"
wait $root
storm_rc=$?
[ $storm_rc -eq 0 ] || fail storm "storm exited $storm_rc"

# The numbers the stats line and Prometheus must agree on, as "name value" lines.
from_stats() {
  jq -r '
    "events_fork \(.events.fork)", "events_exec \(.events.exec)", "events_exit \(.events.exit)",
    "kernel_lost_fork \(.kernel_lost.fork)", "kernel_lost_exec \(.kernel_lost.exec)",
    "kernel_lost_exit \(.kernel_lost.exit)", "client_lost \(.client_lost)", "clients \(.clients)",
    "process_table \(.process_table)", "ring_size \(.ring.size)", "ring_queued \(.ring.queued)",
    "wakeups \(.wakeups)", "timer_drains \(.timer_drains)", "decode_errors \(.decode_errors)",
    "file_written \(.file.written)", "file_lost_slow \(.file.lost.file_slow)",
    "file_lost_error \(.file.lost.file_error)", "file_queued \(.file.queued_bytes)",
    "file_rotations \(.file.rotations)", "duplicate_exits \(.duplicate_exits)", "last_seq \(.last_seq)",
    "replay_bytes \(.replay.bytes)", "replay_limit \(.replay.limit_bytes)", "replay_lines \(.replay.lines)"' <<<"$1"
}
declare -A expr=(
  [events_fork]='execmond_events_total{type="fork"}'
  [events_exec]='execmond_events_total{type="exec"}'
  [events_exit]='execmond_events_total{type="exit"}'
  [kernel_lost_fork]='execmond_kernel_lost_total{type="fork"}'
  [kernel_lost_exec]='execmond_kernel_lost_total{type="exec"}'
  [kernel_lost_exit]='execmond_kernel_lost_total{type="exit"}'
  [client_lost]='execmond_client_lost_lines_total{reason="client_slow"}'
  [clients]='execmond_clients'
  [process_table]='execmond_process_table_entries'
  [ring_size]='execmond_ring_size_bytes'
  [ring_queued]='execmond_ring_queued_bytes'
  [wakeups]='execmond_ring_wakeups_total'
  [timer_drains]='execmond_ring_timer_drains_total'
  [decode_errors]='execmond_decode_errors_total'
  [file_written]='execmond_file_lines_total'
  [file_lost_slow]='execmond_file_lost_lines_total{reason="file_slow"}'
  [file_lost_error]='execmond_file_lost_lines_total{reason="file_error"}'
  [file_queued]='execmond_file_queued_bytes'
  [file_rotations]='execmond_file_rotations_total'
  [duplicate_exits]='execmond_duplicate_exits_total'
  [last_seq]='execmond_stream_last_seq'
  [replay_bytes]='execmond_replay_buffer_bytes'
  [replay_limit]='execmond_replay_buffer_limit_bytes'
  [replay_lines]='execmond_replay_buffer_lines'
)

# Equal stats before and after a scrape: that scrape saw these numbers.
agreed=""
for attempt in $(seq 1 20); do
  s1=$(stats) || { fail stats "no stats answer"; break; }
  t1=$(date +%s.%N)
  newer_scrape() { awk -v a="$(query 'timestamp(up{job="execmond"})')" -v b="$t1" 'BEGIN { exit !(a > b + 0.05) }'; }
  wait_for 5 newer_scrape || continue
  s2=$(stats) || continue
  t2=$(date +%s.%N)
  [ "$(from_stats "$s1")" = "$(from_stats "$s2")" ] || continue
  agreed=$s2
  break
done
if [ -z "$agreed" ]; then
  fail stable-snapshot "the stats never stayed still across a scrape in 20 attempts"
else
  echo "metrics: stats line: $(head -c 400 <<<"$agreed")"
  echo "metrics: agreed after $attempt attempt(s)"
  bad=""
  while read -r name value; do
    got=$(query "${expr[$name]}" "$t2")
    [ "$got" = "$value" ] || bad+=" $name: prometheus '$got', stats '$value';"
  done < <(from_stats "$agreed")
  [ -z "$bad" ] && pass "prometheus-equals-stats (24 series)" || fail prometheus-equals-stats "$bad"

  # The kernel's side of the count: the storm's own tree, nothing else.
  # exec: the storm itself + 2,000 no-ops; fork: 2 spawners + 2,000 spawns;
  # exit: all of those.
  ev=$(jq -c '.events' <<<"$agreed")
  [ "$ev" = '{"fork":2002,"exec":2001,"exit":2003}' ] && [ "$(jq '.kernel_lost.total' <<<"$agreed")" = 0 ] &&
    pass "events-equal-the-storm ($ev)" || fail events-equal-the-storm "events $ev, want fork 2002 exec 2001 exit 2003"

  uptime=$(jq '.uptime_s' <<<"$agreed")
  start=$(query execmond_start_time_seconds "$t2")
  awk -v s="$start" -v t="$t2" -v u="$uptime" 'BEGIN { d = t - u - s; exit !(d > -3 && d < 3) }' &&
    pass "start-time ($start)" || fail start-time "start $start, now $t2, uptime $uptime"
  [ "$(query 'execmond_build_info{version!="",probe_mode="tp_btf",parent_path="btf"}' "$t2")" = 1 ] &&
    pass build-info || fail build-info "$(curl -s $M | grep build_info)"
  # The storm's lines (and every other line of the stream) are kept for replay.
  [ "$(jq '.replay.lines' <<<"$agreed")" -ge 6000 ] && [ "$(jq '.last_seq' <<<"$agreed")" -ge 6000 ] &&
    pass "replay-buffer-holds-the-storm ($(jq -c '.replay' <<<"$agreed"))" || fail replay-buffer "$(jq -c '.replay' <<<"$agreed")"
fi

# --- the endpoint refuses everything else ------------------------------------
# raw REQUEST-FILE: sends the bytes, prints the status line and the seconds the
# server took to answer and close.
raw() {
  python3 - "$mport" "$@" <<'EOF'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
data = sys.argv[3].encode().decode("unicode_escape").encode("latin-1") if len(sys.argv) > 3 else b""
s = socket.create_connection(("127.0.0.1", port), timeout=15)
t0 = time.monotonic()
got = b""
try:
    if mode == "huge":
        head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 65536 + b"\r\n\r\n"
        try:
            s.sendall(head)
        except OSError:
            pass
    elif mode == "slow":
        s.sendall(b"GET /metr")  # and then nothing
    elif mode != "idle":
        s.sendall(data)
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except OSError:
    pass  # a reset after the answer still counts what was read
status = got.split(b"\r\n", 1)[0].decode("latin-1") if got else "(closed without an answer)"
allow = [l for l in got.split(b"\r\n") if l.lower().startswith(b"allow:")]
print("%s|%.1f|%s" % (status, time.monotonic() - t0, allow[0].decode() if allow else ""))
EOF
}
expect_status() { # NAME WANT MODE [DATA]
  local name=$1 want=$2 out
  shift 2
  out=$(raw "$@")
  local status secs
  IFS='|' read -r status secs _ <<<"$out"
  case $status in "$want"*) pass "$name ($status, ${secs} s)" ;; *) fail "$name" "want '$want', got '$out'" ;; esac
}
expect_status post-is-405 "HTTP/1.1 405 Method Not Allowed" data 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi'
out=$(raw data 'POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
[[ $out == *"|Allow: GET" ]] && pass "405-says-allow-get" || fail 405-says-allow-get "$out"
expect_status head-is-405 "HTTP/1.1 405" data 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n'
expect_status other-path-is-404 "HTTP/1.1 404 Not Found" data 'GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n'
expect_status query-string-is-404 "HTTP/1.1 404" data 'GET /metrics?debug=1 HTTP/1.1\r\nHost: x\r\n\r\n'
expect_status no-host-is-400 "HTTP/1.1 400 Bad Request" data 'GET /metrics HTTP/1.1\r\n\r\n'
expect_status garbage-is-400 "HTTP/1.1 400" data '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03'
expect_status huge-head-is-400 "HTTP/1.1 400" huge
expect_status http10-is-200 "HTTP/1.1 200 OK" data 'GET /metrics HTTP/1.0\r\n\r\n'
t0=$(now_ms)
out=$(raw slow)
took=$(($(now_ms) - t0))
[[ $out == "HTTP/1.1 408 Request Timeout"* ]] && [ $took -ge 4500 ] && [ $took -le 8000 ] &&
  pass "slow-client-timed-out (408 after $took ms)" || fail slow-client-timed-out "$out after $took ms"

# Twenty idle connections (more than the 16 allowed): the loop does not wait
# for them (stats answer at once), and once they time out scrapes work again.
idle=()
for i in $(seq 1 20); do
  raw idle >"$W/idle-$i.out" &
  idle+=($!)
done
sleep 0.5
t0=$(now_ms)
s=$(stats) && [ $(($(now_ms) - t0)) -lt 1000 ] && pass "loop-unaffected-by-idle-connections ($(($(now_ms) - t0)) ms)" ||
  fail loop-unaffected-by-idle-connections "stats took $(($(now_ms) - t0)) ms"
wait_for 12 curl -sf -o /dev/null $M && pass "served-again-after-idle-connections" ||
  fail served-again-after-idle-connections "no 200 within 12 s"
wait "${idle[@]}"
answered=$(cut -d'|' -f1 "$W"/idle-*.out | sort | uniq -c | tr -s ' ' | tr '\n' ';')
echo "metrics: idle connections ended as: $answered"
# Scrapes refused while the idle connections held every slot: up returns to 1.
wait_for 10 scraped_up && kill -0 $daemon && pass still-up-after-all-that ||
  fail still-up-after-all-that "daemon or scrape down"

kill -TERM $daemon
wait $daemon
rc=$?
[ $rc -eq 0 ] && pass "daemon-exit-0" || fail daemon-exit-0 "exit $rc"
echo "metrics: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
