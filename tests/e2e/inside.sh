#!/usr/bin/env bash
# The in-container half of the end-to-end test (run.sh is the host half).
# Runs as a oneshot unit of a real systemd booted by systemd-nspawn on a
# throwaway overlay of the machine. Each check appends "PASS name" or
# "FAIL name: why" to results; measurements are "METRIC name value" lines;
# details go to log. "END" marks a run that got to the end.
set -u

E=/opt/execmond-e2e
RES=$E/results
SOCK=/run/execmond/events.sock
UNIT=/lib/systemd/system/execmond.service
exec >>"$E/log" 2>&1
: >"$RES"

pass() { echo "PASS $1" >>"$RES"; echo "=== PASS $1"; }
fail() { echo "FAIL $1: $2" >>"$RES"; echo "=== FAIL $1: $2"; }
metric() { echo "METRIC $1 $2" >>"$RES"; echo "=== METRIC $1 $2"; }
# check NAME FUNCTION: a check function returns non-zero and sets $why on failure.
check() {
  local name=$1
  shift
  why=""
  echo "--- $name"
  if "$@"; then pass "$name"; else fail "$name" "${why:-failed}"; fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Milliseconds of CLOCK_BOOTTIME (/proc/uptime, 10 ms steps): unmoved by clock steps.
mono_ms() {
  local up
  read -r up _ </proc/uptime
  echo $((${up/./} * 10))
}
prop() { systemctl show -p "$1" --value execmond.service; }

# Ids of loaded BPF programs with our names, loaded by the execmond user.
# bpftool sees the whole kernel (the container shares it); the uid keeps
# programs of other execmond instances on the machine (tests run as root)
# out of the count.
our_progs() {
  local uid
  uid=$(id -u execmond 2>/dev/null) || return 0
  bpftool prog list -j 2>/dev/null |
    jq -r --argjson u "$uid" '.[] | select((.name | test("^(fork|exec|exit)_(btf|btf_file|fork_map)$")) and .uid == $u) | .id' |
    sort -n | tr '\n' ' '
}

wait_for() { # wait_for SECONDS COMMAND...: poll every 0.1 s
  local deadline=$(($(mono_ms) + $1 * 1000))
  shift
  until "$@"; do
    [ "$(mono_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# The kernel frees a program after the last link and fd go and an RCU grace
# period passes: right after the daemon exits it can still be listed.
no_progs_left() { [ -z "$(our_progs)" ]; }
no_progs_left_soon() {
  wait_for 3 no_progs_left && return 0
  why="programs still loaded 3 s after stop: ids $(our_progs)"
  return 1
}
is_active() { [ "$(systemctl is-active execmond.service)" = active ]; }

# Connects a client with socat and runs a marked command until its exec line
# arrives (up to 10 s; with socket activation the first connection also
# starts the daemon).
expect_exec() {
  local label=$1 marker="e2e-$1-$RANDOM$RANDOM" f=$E/events-$1.jsonl line=""
  socat -u UNIX-CONNECT:$SOCK - >"$f" 2>"$E/socat-$label.err" &
  local client=$!
  local deadline=$(($(now_ms) + 10000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    /bin/sh -c ': "$0"' "$marker"
    line=$(grep -F -- "$marker" "$f" 2>/dev/null |
      jq -c --arg m "$marker" 'select(.type == "exec" and .argv[0]? == "/bin/sh" and any(.argv[]?; . == $m))' \
        2>/dev/null | head -n1)
    [ -n "$line" ] && break
    sleep 0.2
  done
  kill "$client" 2>/dev/null
  wait "$client" 2>/dev/null
  if [ -z "$line" ]; then
    why="no exec line with argv marker $marker within 10 s ($(wc -l <"$f") lines received; socat: $(head -c 200 "$E/socat-$label.err"))"
    return 1
  fi
  echo "exec line: $line"
  # The fields consumers rely on (issue 2's line format).
  if ! jq -e '(.filename == "/bin/sh") and (.argv[0] == "/bin/sh") and (.pid | type == "number")
              and (.ppid | type == "number") and (.comm | type == "string") and (.time | type == "string")' \
    <<<"$line" >/dev/null; then
    why="exec line lacks the expected fields: $line"
    return 1
  fi
}

journal_since() { journalctl -u execmond.service --no-pager --since "@$1" "${@:2}"; }

# --- 1. install -------------------------------------------------------------
t_install() {
  local deb
  deb=$(ls $E/execmond_*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || { why="no .deb in $E"; return 1; }
  local t0
  t0=$(now_ms)
  if ! DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"; then
    why="dpkg -i $deb failed"
    return 1
  fi
  metric dpkg_install_ms $(($(now_ms) - t0))
  local missing=""
  for f in /usr/sbin/execmond /lib/systemd/system/execmond.service /lib/systemd/system/execmond.socket \
    /usr/lib/sysusers.d/execmond.conf /usr/share/man/man8/execmond.8.gz \
    /usr/share/doc/execmond/execmond.conf.example /usr/share/doc/execmond/service.md.gz \
    /etc/execmond/execmond.conf /usr/bin/execmon /usr/share/man/man1/execmon.1.gz \
    /usr/share/bash-completion/completions/execmon; do
    dpkg -L execmond | grep -qx "$f" || missing+=" $f"
  done
  [ -z "$missing" ] || { why="package lacks:$missing"; return 1; }
  dpkg-query -W -f='${Conffiles}\n' execmond | grep -q /etc/execmond/execmond.conf ||
    { why="/etc/execmond/execmond.conf is not a conffile"; return 1; }
  execmond --version || { why="execmond --version failed"; return 1; }
}

# --- 2. the Debian way: user, enabled, started by postinst -------------------
t_postinst() {
  getent passwd execmond >/dev/null || { why="no user execmond (sysusers)"; return 1; }
  getent group execmond >/dev/null || { why="no group execmond (sysusers)"; return 1; }
  local e
  e=$(systemctl is-enabled execmond.service execmond.socket | tr '\n' ' ')
  [ "$e" = "enabled enabled " ] || { why="is-enabled service/socket: $e"; return 1; }
  wait_for 10 is_active || { why="postinst did not start execmond.service: $(systemctl is-active execmond.service)"; return 1; }
  [ "$(systemctl is-active execmond.socket)" = active ] || { why="execmond.socket not active"; return 1; }
  local st
  st=$(stat -c '%F %a %U %G' $SOCK)
  [ "$st" = "socket 660 root execmond" ] || { why="socket file: $st (want socket 660 root execmond)"; return 1; }
}

# --- 3. hardening: score of the shipped unit, and in effect on the process --
t_security() {
  local out score
  out=$(systemd-analyze security --offline=yes $UNIT 2>&1)
  echo "$out"
  score=$(sed -n 's/.*Overall exposure level for execmond.service: \([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$score" ] || { why="no score in systemd-analyze output"; return 1; }
  metric security_line "$(grep 'Overall exposure level' <<<"$out" | tr -s ' ')"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { why="exposure $score > 2.0"; return 1; }
}

t_hardened_process() {
  local pid st
  pid=$(prop MainPID)
  [ "$pid" -gt 0 ] || { why="no MainPID"; return 1; }
  st=$(cat /proc/"$pid"/status)
  # CAP_SYS_PTRACE (19), CAP_PERFMON (38), CAP_BPF (39) and nothing else.
  grep -q '^CapEff:[[:space:]]*000000c000080000$' <<<"$st" || { why="CapEff: $(grep CapEff <<<"$st")"; return 1; }
  grep -q '^CapBnd:[[:space:]]*000000c000080000$' <<<"$st" || { why="CapBnd: $(grep CapBnd <<<"$st")"; return 1; }
  grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$st" || { why="NoNewPrivs not set"; return 1; }
  grep -q '^Seccomp:[[:space:]]*2$' <<<"$st" || { why="no seccomp filter"; return 1; }
  local uid
  uid=$(id -u execmond)
  grep -q "^Uid:[[:space:]]*$uid[[:space:]]" <<<"$st" || { why="runs as $(grep ^Uid <<<"$st"), not execmond ($uid)"; return 1; }
}

# --- 4. events and journal ----------------------------------------------------
t_events() {
  expect_exec installed || return 1
  metric exec_line "$(grep -m1 '^exec line: ' "$E/log" | cut -c12-400)"
}

t_journal_attach() {
  local m
  m=$(journalctl -u execmond.service -b --no-pager -o json |
    jq -r 'select(.EXECMOND_TRACEPOINT != null) | "\(.EXECMOND_TRACEPOINT): \(.MESSAGE)"')
  echo "$m"
  grep -q '^sched/sched_process_exec: .*attached' <<<"$m" ||
    { why="no journal entry with EXECMOND_TRACEPOINT=sched/sched_process_exec and an 'attached' message"; return 1; }
  metric journal_attach_exec "$(grep -m1 '^sched/sched_process_exec: ' <<<"$m" | sed 's/^[^:]*: //')"
}

t_journal_offsets() {
  local m
  m=$(journalctl -u execmond.service -b --no-pager -o json |
    jq -r 'select(.EXECMOND_PARENT_PATH != null) | "\(.EXECMOND_PARENT_PATH): \(.MESSAGE)"')
  echo "$m"
  grep -Eq '^(btf|offsets|fork-map): parent pid' <<<"$m" ||
    { why="no journal entry with EXECMOND_PARENT_PATH= and a 'parent pid' message"; return 1; }
  metric journal_parent "$(head -n1 <<<"$m")"
}

# execmon, the packaged client, on the packaged socket: it sees an exec; the
# socket's group decides who may read (nobody may not, a member of execmond may).
t_execmon() {
  local out=$E/execmon.out
  cp /bin/true $E/e2e-mark-true
  execmon -c 'e2e-mark*' >"$out" 2>&1 &
  local pid=$!
  subscribed() { [ "$(execmon stats --json | jq '[.per_client[] | select(.sent >= 2)] | length')" -ge 2 ]; }
  wait_for 10 subscribed || { kill $pid; why="execmon did not subscribe: $(cat "$out")"; return 1; }
  $E/e2e-mark-true 'a b' "it's"
  seen() { grep -qF "$E/e2e-mark-true 'a b' 'it'\''s'" "$out"; }
  wait_for 10 seen || { kill $pid; why="execmon did not show the exec: $(cat "$out")"; return 1; }
  kill $pid
  metric execmon_line "$(grep -m1 e2e-mark "$out")"
  local msg
  msg=$(setpriv --reuid=nobody --regid=nogroup --clear-groups execmon stats 2>&1)
  grep -q "add yourself to the execmond group: usermod -aG execmond nobody" <<<"$msg" ||
    { why="as nobody: $msg"; return 1; }
  setpriv --reuid=nobody --regid=nogroup --groups=execmond execmon stats >/dev/null ||
    { why="a member of the execmond group cannot read the socket"; return 1; }
}

# --- 5. stop leaves nothing loaded ------------------------------------------
t_stop() {
  local running
  running=$(our_progs)
  [ -n "$running" ] || { why="no BPF program of ours loaded while running (bpftool prog list)"; return 1; }
  echo "our programs while running: $running"
  systemctl stop execmond.service || { why="systemctl stop failed"; return 1; }
  local r s
  r=$(prop Result)
  s=$(prop ExecMainStatus)
  [ "$r" = success ] && [ "$s" = 0 ] || { why="stop: Result=$r ExecMainStatus=$s (want success, 0)"; return 1; }
  no_progs_left_soon
}

# --- 6. start (timed), restart ------------------------------------------------
t_start() {
  systemctl stop execmond.service execmond.socket
  local t0 t1
  t0=$(now_ms)
  systemctl start execmond.service || { why="systemctl start failed"; return 1; }
  t1=$(now_ms)
  is_active || { why="not active after start: $(systemctl is-active execmond.service)"; return 1; }
  metric start_to_active_ms $((t1 - t0))
  # systemd's own view: fork/exec of the daemon to READY=1.
  local a b
  a=$(prop ExecMainStartTimestampMonotonic)
  b=$(prop ActiveEnterTimestampMonotonic)
  metric exec_to_ready_ms $(((b - a) / 1000))
  expect_exec started
}

t_restart() {
  local old new
  old=$(prop MainPID)
  systemctl restart execmond.service || { why="systemctl restart failed"; return 1; }
  new=$(prop MainPID)
  is_active || { why="not active after restart"; return 1; }
  [ "$new" != "$old" ] && [ "$new" -gt 0 ] || { why="MainPID $old -> $new"; return 1; }
  expect_exec restarted
}

# SIGHUP logs a status line and must not stop the daemon; STATUS= reaches systemd.
t_sighup() {
  local pid since
  pid=$(prop MainPID)
  since=$(date +%s)
  systemctl kill -s HUP --kill-who=main execmond.service
  has_status_line() { journal_since "$since" -o cat | grep -q 'streaming: '; }
  wait_for 3 has_status_line || { why="no 'streaming: ...' status line in the journal after SIGHUP"; return 1; }
  [ "$(prop MainPID)" = "$pid" ] && is_active || { why="daemon did not survive SIGHUP"; return 1; }
  local st
  st=$(prop StatusText)
  [ -n "$st" ] || { why="no STATUS= text in systemctl show"; return 1; }
  metric status_text "$st"
}

# --- 7. socket activation -----------------------------------------------------
t_socket_activation() {
  systemctl stop execmond.service execmond.socket
  systemctl start execmond.socket || { why="cannot start execmond.socket"; return 1; }
  ! is_active || { why="service active before any client connected"; return 1; }
  [ -S $SOCK ] || { why="socket unit did not create $SOCK"; return 1; }
  expect_exec activated || return 1
  is_active || { why="service not active after a client connected"; return 1; }
}

# --- 8. watchdog ----------------------------------------------------------------
t_watchdog_alive() {
  mkdir -p /etc/systemd/system/execmond.service.d
  printf '[Service]\nWatchdogSec=2s\n' >/etc/systemd/system/execmond.service.d/e2e-watchdog.conf
  systemctl daemon-reload
  systemctl restart execmond.service || { why="restart with WatchdogSec=2s failed"; return 1; }
  [ "$(prop WatchdogUSec)" = 2s ] || { why="drop-in not applied: WatchdogUSec=$(prop WatchdogUSec)"; return 1; }
  local pid n
  pid=$(prop MainPID)
  n=$(prop NRestarts)
  sleep 3 # longer than the watchdog: only pings keep it alive
  [ "$(prop MainPID)" = "$pid" ] && [ "$(prop NRestarts)" = "$n" ] && is_active ||
    { why="daemon did not survive 3 s with WatchdogSec=2s (no WATCHDOG=1 pings?)"; return 1; }
}

t_watchdog_restart() {
  local pid n since t0
  pid=$(prop MainPID)
  n=$(prop NRestarts)
  since=$(date +%s)
  t0=$(now_ms)
  kill -STOP "$pid"
  restarted() { local p; p=$(prop MainPID); [ "$p" != "$pid" ] && [ "$p" -gt 0 ] && is_active; }
  if ! wait_for 20 restarted; then
    kill -CONT "$pid" 2>/dev/null
    why="frozen daemon not restarted within 20 s (state $(systemctl is-active execmond.service), MainPID $(prop MainPID))"
    return 1
  fi
  metric watchdog_freeze_to_active_ms $(($(now_ms) - t0))
  [ "$(prop NRestarts)" -gt "$n" ] || { why="NRestarts did not grow"; return 1; }
  journal_since "$since" | grep -q 'Watchdog timeout' || { why="no 'Watchdog timeout' in the journal"; return 1; }
  rm -f /etc/systemd/system/execmond.service.d/e2e-watchdog.conf
  systemctl daemon-reload
  systemctl restart execmond.service
  expect_exec after-watchdog
}

# --- 9. invalid configuration ---------------------------------------------------
t_bad_config() {
  local conf=/etc/execmond/execmond.conf since
  cp $conf $E/conf.orig
  printf '# e2e: a bad value on line 3\n\nring-size = banana\n' >$conf
  since=$(date +%s)
  if systemctl restart execmond.service; then
    why="started with an invalid config"
    cp $E/conf.orig $conf
    return 1
  fi
  sleep 0.5
  local s a msgs
  s=$(prop ExecMainStatus)
  a=$(systemctl is-active execmond.service)
  msgs=$(journal_since "$since" -o cat)
  cp $E/conf.orig $conf
  echo "$msgs"
  [ "$s" = 2 ] || { why="ExecMainStatus=$s (want 2)"; return 1; }
  [ "$a" = failed ] || { why="state $a (want failed: exit 2 must not be retried)"; return 1; }
  grep -q 'line 3' <<<"$msgs" && grep -q 'ring-size' <<<"$msgs" ||
    { why="journal does not name the key and line"; return 1; }
  metric bad_config_message "$(grep -m1 'ring-size' <<<"$msgs")"
  systemctl reset-failed execmond.service
  systemctl start execmond.service && is_active || { why="did not start again with the config restored"; return 1; }
}

# --- 10. a step of the wall clock -------------------------------------------------
# The service has ProtectClock=yes; the step comes from this test's unit. The
# container shares the host's clock: the step is small, short and undone
# exactly (relative steps in ns, so only the microseconds between a read and a
# set are lost).
step_clock() { # NS: move CLOCK_REALTIME by NS nanoseconds
  # The time spent between reading the clock and setting it is added back
  # (measured on CLOCK_MONOTONIC), so only the last microsecond is lost.
  python3 -c 'import sys, time
m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
r = time.clock_gettime_ns(time.CLOCK_REALTIME)
d = int(sys.argv[1])
time.clock_settime_ns(time.CLOCK_REALTIME, r + d + time.clock_gettime_ns(time.CLOCK_MONOTONIC) - m)' "$1"
}
ns_of() { date -d "$1" +%s%N; } # RFC 3339 -> ns since the epoch
t_clock_step() {
  local f=$E/events-clock.jsonl d=5000000000 marker="e2e-clock-$RANDOM$RANDOM"
  socat -u UNIX-CONNECT:$SOCK - >"$f" 2>/dev/null &
  local client=$!
  has_hello() { grep -q '"type":"hello"' "$f"; }
  wait_for 5 has_hello || { kill $client; why="no hello line"; return 1; }
  local t0 stepped_ok=1
  t0=$(mono_ms)
  step_clock $d || stepped_ok=0
  clock_lines() { [ "$(grep -c '"type":"clock"' "$f")" -ge "$1" ]; }
  local seen=0 exec_line="" wall_ns=0
  if [ $stepped_ok = 1 ]; then
    wait_for 5 clock_lines 1 && seen=1
    metric clock_step_to_line_ms $(($(mono_ms) - t0))
    /bin/sh -c ': "$0"' "$marker"
    wall_ns=$(date +%s%N)
    has_marker() { grep -F -- "$marker" "$f" | grep -q '"type":"exec"'; }
    wait_for 5 has_marker
    exec_line=$(grep -F -- "$marker" "$f" | grep '"type":"exec"' | head -n1)
    step_clock -$d # undo, whatever happened
    wait_for 5 clock_lines 2
  fi
  kill $client 2>/dev/null
  wait $client 2>/dev/null
  [ $stepped_ok = 1 ] || { why="clock_settime failed in the test unit (CAP_SYS_TIME, seccomp?)"; return 1; }
  [ $seen = 1 ] || { why="no clock line within 5 s of a 5 s step"; return 1; }
  local first second
  first=$(grep '"type":"clock"' "$f" | sed -n 1p)
  second=$(grep '"type":"clock"' "$f" | sed -n 2p)
  echo "clock lines: $first / $second"
  metric clock_line "$first"
  local moved back
  moved=$(($(ns_of "$(jq -r .boot_time <<<"$first")") - $(ns_of "$(jq -r .previous_boot_time <<<"$first")")))
  # The step, to within the 1 ms a sample may be off.
  [ "${moved#-}" -gt 0 ] && [ $((moved - d)) -lt 1000000 ] && [ $((d - moved)) -lt 1000000 ] ||
    { why="first clock line moved boot_time by $moved ns, not $d"; return 1; }
  [ -n "$exec_line" ] || { why="no exec line for $marker after the step"; return 1; }
  local off
  off=$(($(ns_of "$(jq -r .time <<<"$exec_line")") - wall_ns))
  [ "${off#-}" -lt 1000000000 ] ||
    { why="an exec after the step has time $(jq -r .time <<<"$exec_line"), ${off} ns from the wall clock"; return 1; }
  [ -n "$second" ] || { why="no clock line after the step back"; return 1; }
  back=$(($(ns_of "$(jq -r .boot_time <<<"$second")") - $(ns_of "$(jq -r .previous_boot_time <<<"$first")")))
  metric clock_restored_within_ns "$back"
  [ "${back#-}" -lt 1000000 ] || { why="after the step back boot_time is $back ns from where it started"; return 1; }
}

# --- the state directory and the gap line of a clean restart -----------------------
t_state_dir() {
  local st f=$E/events-gap.jsonl gap
  st=$(stat -c '%a %U' /var/lib/execmond 2>&1)
  [ "$st" = "700 execmond" ] || { why="/var/lib/execmond is $st (want 700 execmond: StateDirectory=)"; return 1; }
  systemctl restart execmond.service || { why="restart failed"; return 1; }
  [ -s /var/lib/execmond/state ] || { why="no state file in /var/lib/execmond after a restart"; return 1; }
  # Another stream_id than this run's: the replay starts at its first line, the gap.
  printf '%s\n' '{"type":"subscribe","events":["exec"],"since":1,"stream_id":"0:0"}' |
    socat -t 3 UNIX-CONNECT:$SOCK - >"$f" 2>/dev/null
  gap=$(grep -m1 '"type":"gap"' "$f")
  metric gap_line "$(head -c 300 <<<"$gap")"
  [ "$(jq -r '.seq, .state, .previous.clean' <<<"$gap" 2>/dev/null | tr '\n' ' ')" = "1 ok true " ] ||
    { why="after a clean restart the gap line is not seq 1, state ok, previous.clean: $(head -c 300 <<<"$gap")"; return 1; }
}

# --- 11. final stop ---------------------------------------------------------------
# --- 10. the output file and the metrics endpoint under the hardened unit --------
# LogsDirectory= makes /var/log/execmond writable, IPAddressAllow=localhost and
# AF_INET let the daemon serve metrics on 127.0.0.1; nothing else changes.
t_fleet_outputs() {
  local conf=/etc/execmond/execmond.conf log=/var/log/execmond/events.jsonl marker="e2e-file-$RANDOM$RANDOM" st m
  cp $conf $E/conf.fleet.orig
  printf 'output-file = %s\nmetrics-listen = 127.0.0.1:9669\n' $log >>$conf
  if ! systemctl restart execmond.service; then
    cp $E/conf.fleet.orig $conf
    why="restart with output-file and metrics-listen failed: $(journalctl -u execmond.service -n 5 --no-pager -o cat)"
    return 1
  fi
  has_marker() { grep -q -- "$marker" $log 2>/dev/null; }
  /bin/sh -c ': "$0"' "$marker"
  wait_for 5 has_marker || { why="no exec line with $marker in $log"; cp $E/conf.fleet.orig $conf; return 1; }
  st=$(stat -c '%a %U %G' $log)
  metric output_file "$st $(stat -c '%a %U %G' /var/log/execmond)"
  m=$(curl -s --max-time 5 http://127.0.0.1:9669/metrics)
  cp $E/conf.fleet.orig $conf
  systemctl restart execmond.service
  [ "$st" = "640 execmond execmond" ] || { why="$log is $st (want 640 execmond execmond)"; return 1; }
  [ "$(stat -c '%a %U' /var/log/execmond)" = "750 execmond" ] || { why="/var/log/execmond is $(stat -c '%a %U' /var/log/execmond)"; return 1; }
  grep -q '^execmond_events_total{type="exec"} [1-9]' <<<"$m" && grep -q '^execmond_file_lines_total{' <<<"$m" ||
    { why="no metrics from http://127.0.0.1:9669/metrics: $(head -c 200 <<<"$m")"; return 1; }
  metric metrics_exec_line "$(grep '^execmond_events_total{type="exec"}' <<<"$m")"
}

# --- the state directory and the gap line of a clean restart -----------------------
t_state_dir() {
  local st f=$E/events-gap.jsonl gap
  st=$(stat -c '%a %U' /var/lib/execmond 2>&1)
  [ "$st" = "700 execmond" ] || { why="/var/lib/execmond is $st (want 700 execmond: StateDirectory=)"; return 1; }
  systemctl restart execmond.service || { why="restart failed"; return 1; }
  [ -s /var/lib/execmond/state ] || { why="no state file in /var/lib/execmond after a restart"; return 1; }
  # Another stream_id than this run's: the replay starts at its first line, the gap.
  printf '%s\n' '{"type":"subscribe","events":["exec"],"since":1,"stream_id":"0:0"}' |
    socat -t 3 UNIX-CONNECT:$SOCK - >"$f" 2>/dev/null
  gap=$(grep -m1 '"type":"gap"' "$f")
  metric gap_line "$(head -c 300 <<<"$gap")"
  [ "$(jq -r '.seq, .state, .previous.clean' <<<"$gap" 2>/dev/null | tr '\n' ' ')" = "1 ok true " ] ||
    { why="after a clean restart the gap line is not seq 1, state ok, previous.clean: $(head -c 300 <<<"$gap")"; return 1; }
}

# --- 11. final stop ---------------------------------------------------------------
t_final_stop() {
  systemctl stop execmond.service execmond.socket || { why="stop failed"; return 1; }
  [ ! -e $SOCK ] || { why="$SOCK left behind after the socket unit stopped"; return 1; }
  no_progs_left_soon
}

check install t_install
check postinst-enable-start t_postinst
check security-exposure t_security
check hardened-process t_hardened_process
check exec-events t_events
check execmon-client t_execmon
check journal-attach-lines t_journal_attach
check journal-parent-offsets t_journal_offsets
check stop-unloads-probes t_stop
check start-to-active t_start
check restart t_restart
check sighup-status t_sighup
check socket-activation t_socket_activation
check watchdog-pings t_watchdog_alive
check watchdog-restarts-frozen t_watchdog_restart
check bad-config-fails t_bad_config
check clock-step-followed t_clock_step
check output-file-and-metrics t_fleet_outputs
check state-dir-and-gap t_state_dir
check final-stop-unloads t_final_stop

journalctl -u execmond.service -u execmond.socket -b --no-pager -o short-monotonic >$E/journal.txt 2>&1
echo END >>"$RES"
