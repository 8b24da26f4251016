#!/usr/bin/env bash
# The fleet pipeline, end to end, every part a Debian package started here:
#
#   execmond --output-file  ->  rsyslog "host" (imfile -> omrelp, disk-assisted queue)
#     -> RELP on 127.0.0.2 ->  rsyslog "central" (imrelp -> mmjsonparse -> ompgsql, disk-assisted queue)
#     -> PostgreSQL 15 (a cluster made here with initdb, on 127.0.0.1 only), one row per line
#
# A storm of execs with unique argv tokens runs while the central rsyslog and
# PostgreSQL are stopped and started again. Then, with SQL: every exec of the
# storm arrived, and every line of execmond's file (rotated and compressed as
# it went) is a row, and no row is anything else (at-least-once); every event
# line carries `seq` and every file's hello the `stream_id`, and duplicates are
# counted by (host, stream_id, seq), which must name one line each, and
# removed with one query; the analyst's query runs.
#
#   tests/fleet/pipeline.sh EXECMOND STORM NOOP   (root; exit 77: skipped)
#   FLEET_KEEP=1 keeps the working directory; FLEET_CHUNK (execs per storm
#   chunk) and FLEET_OUTAGE (seconds the central side stays down) size the run.
set -uo pipefail

EXECMOND=${1:?usage: pipeline.sh EXECMOND STORM NOOP}
STORM=${2:?}
NOOP=${3:?}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGBIN=/usr/lib/postgresql/15/bin
[ "$(id -u)" -eq 0 ] || { echo "fleet: needs root (BPF, users); skipped"; exit 77; }
for c in rsyslogd "$PGBIN/initdb" psql jq curl python3 setpriv runuser gzip; do
  command -v "$c" >/dev/null || { echo "fleet: $c missing (scripts/install-fleet-deps.sh); skipped"; exit 77; }
done
for m in imfile omrelp imrelp ompgsql mmjsonparse; do
  [ -e /usr/lib/x86_64-linux-gnu/rsyslog/$m.so ] || [ -n "$(find /usr/lib -name $m.so -path '*rsyslog*' 2>/dev/null | head -1)" ] ||
    { echo "fleet: rsyslog module $m missing (rsyslog-relp, rsyslog-pgsql); skipped"; exit 77; }
done

CHUNK=${FLEET_CHUNK:-200}
OUTAGE=${FLEET_OUTAGE:-3}
TOKEN=fleet$$
HOST=fleet-test-host
T0=$SECONDS

W=$(mktemp -d /tmp/execmond-fleet-XXXXXX)
chmod 755 "$W"
mkdir -p "$W/log" "$W/host" "$W/central"
install -d -o postgres -g postgres -m 700 "$W/pg"
install -d -o postgres -g postgres -m 755 "$W/pgrun"

passed=0
failed=0
pass() { echo "fleet: PASS $1"; passed=$((passed + 1)); }
fail() { echo "fleet: FAIL $1: $2"; failed=$((failed + 1)); }
metric() { echo "fleet: METRIC $1 $2"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_for() { # SECONDS COMMAND...
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
free_port() { # ADDRESS
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

daemon="" host_rsyslog="" central_rsyslog="" storm_loop=""
# From /: the tree may sit where postgres cannot enter (a clone in a 0700 mktemp -d).
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
pg_up() { as_postgres "$PGBIN/pg_ctl" -D "$W/pg" status >/dev/null 2>&1; }
cleanup() {
  local p
  for p in $storm_loop $daemon $host_rsyslog $central_rsyslog; do kill "$p" 2>/dev/null; done
  for p in $storm_loop $daemon $host_rsyslog $central_rsyslog; do wait "$p" 2>/dev/null; done
  pg_up && as_postgres "$PGBIN/pg_ctl" -D "$W/pg" -m immediate stop >/dev/null 2>&1
  if [ "$failed" -gt 0 ]; then
    for f in daemon.log host.log central.log pgrun/postgres.log central/not-json.log; do
      [ -s "$W/$f" ] && { echo "fleet: --- $f (last 20 lines)"; tail -n 20 "$W/$f"; }
    done
  fi
  if [ -n "${FLEET_KEEP:-}" ]; then echo "fleet: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

PGPORT=$(free_port 127.0.0.1)
RELPPORT=$(free_port 127.0.0.2)
PGPASS=fleet-$RANDOM$RANDOM

# --- PostgreSQL 15: a cluster of our own, TCP on 127.0.0.1 only -------------
psql_admin() { as_postgres psql -X -q -A -t -h "$W/pgrun" -p "$PGPORT" -v ON_ERROR_STOP=1 "$@"; }
sql() { psql_admin -d fleet -c "$1"; }
pg_start() { as_postgres "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pgrun/postgres.log" -w -t 30 start >/dev/null; }
pg_stop() { as_postgres "$PGBIN/pg_ctl" -D "$W/pg" -m fast -w stop >/dev/null; }
as_postgres "$PGBIN/initdb" -D "$W/pg" -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
  --auth-local=trust --auth-host=scram-sha-256 >"$W/initdb.log" 2>&1 || { fail initdb "$(tail -3 "$W/initdb.log")"; exit 1; }
cat >>"$W/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$W/pgrun'
EOF
pg_start || { fail pg-start "$(tail -5 "$W/pgrun/postgres.log")"; exit 1; }
psql_admin -d postgres -c "CREATE ROLE rsyslog LOGIN PASSWORD '$PGPASS'" -c "CREATE DATABASE fleet" &&
  psql_admin -d fleet <"$HERE/schema.sql" >/dev/null || { fail schema "could not create the table"; exit 1; }
pass "postgresql-15 cluster on 127.0.0.1:$PGPORT, schema loaded"

# --- rsyslog: central (imrelp -> ompgsql), then host (imfile -> omrelp) ------
sed -e "s|@WORKDIR@|$W/central|g" -e "s|@RELP_ADDRESS@|127.0.0.2|" -e "s|@RELP_PORT@|$RELPPORT|" \
  -e "s|@PG_URI@|postgresql://rsyslog:$PGPASS@127.0.0.1:$PGPORT/fleet|" "$HERE/rsyslog-central.conf" >"$W/central.conf"
sed -e "s|@WORKDIR@|$W/host|g" -e "s|@FILE_GLOB@|$W/log/events.json*[lZ]|" -e "s|@HOSTNAME@|$HOST|" \
  -e "s|@RELP_ADDRESS@|127.0.0.2|" -e "s|@RELP_PORT@|$RELPPORT|" "$HERE/rsyslog-host.conf" >"$W/host.conf"
for c in central host; do
  rsyslogd -N1 -f "$W/$c.conf" >"$W/$c-check.log" 2>&1 || { fail "rsyslog-$c-config" "$(tail -3 "$W/$c-check.log")"; exit 1; }
done
central_start() {
  rsyslogd -n -f "$W/central.conf" -i "$W/central/rsyslogd.pid" >>"$W/central.log" 2>&1 &
  central_rsyslog=$!
}
central_listening() { ss -Hltn "src 127.0.0.2:$RELPPORT" | grep -q LISTEN; }
central_start
wait_for 10 central_listening || { fail central-rsyslog "not listening on 127.0.0.2:$RELPPORT"; exit 1; }
rsyslogd -n -f "$W/host.conf" -i "$W/host/rsyslogd.pid" >"$W/host.log" 2>&1 &
host_rsyslog=$!
pass "rsyslog central on 127.0.0.2:$RELPPORT (imrelp -> ompgsql), host (imfile -> omrelp)"

# --- the workload: one process whose descendants are all the file gets -------
# It waits for "go" on a fifo, then runs the analyst's curls and the storm.
mkfifo "$W/go"
(
  read -r _ <"$W/go"
  # What an analyst will look for: curl, run by two users from a shell.
  sh -c 'curl -s -o /dev/null --max-time 2 http://127.0.0.1:9/fleet-root; true'
  setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'curl -s -o /dev/null --max-time 2 http://127.0.0.1:9/fleet-nobody; true'
  # Chunks of CHUNK execs, each with its own token, until told to stop.
  c=0
  while [ ! -e "$W/stop-storm" ]; do
    c=$((c + 1))
    : >"$W/chunk-$c"
    "$STORM" --noop "$NOOP" --token "$TOKEN-c$c" --count "$CHUNK" --spawners 2 >/dev/null || exit 1
    sleep 0.1
  done
) &
storm_loop=$!

# --- execmond, writing the file the host rsyslog reads -----------------------
# Small rotations so that the shipper crosses several (uncompressed: after the
# outage imfile is several rotations behind, and a compressed file is one it
# can no longer read). The file gets the workload's lines only, so the
# machine's other work does not decide how long the test takes.
"$EXECMOND" --config /dev/null --log-target stderr --socket "$W/events.sock" --state-dir "$W/state" \
  --output-file "$W/log/events.jsonl" --output-max-size 4M --output-keep 1000 \
  --output-filter "{\"descendants_of\":[$storm_loop]}" 2>"$W/daemon.log" &
daemon=$!
wait_for 15 test -s "$W/log/events.jsonl" || { fail daemon "no output file within 15 s"; exit 1; }
rows() { sql "SELECT count(*) FROM execmond_lines" 2>/dev/null || echo -1; }
first_row() { [ "$(rows)" -gt 0 ]; }
wait_for 30 first_row || { fail first-row "no row in PostgreSQL within 30 s"; exit 1; }
pass "first line (the file's hello) in PostgreSQL after $((SECONDS - T0)) s"

# --- the storm, with the central side down in the middle of it --------------
# After a few chunks the central rsyslog stops, then PostgreSQL; both stay
# down for OUTAGE seconds while the storm goes on (the host queues), then
# PostgreSQL and the central rsyslog start again. Later PostgreSQL drops the
# central's connections several times in the middle of its inserts (what a
# failover or an idle-session killer does). The order matters with rsyslog
# 8.2302, see docs/fleet.md: stopped while its PostgreSQL action is
# suspended, rsyslog cancels that action and loses the batch it held.
echo go >"$W/go"
t_storm=$(now_ms)
chunks() { ls "$W" | grep -c '^chunk-'; }
at_chunk() { [ "$(chunks)" -ge "$1" ]; }
wait_for 60 at_chunk 3 || fail storm "chunk 3 never started"
kill -TERM $central_rsyslog
wait $central_rsyslog
central_rsyslog=""
pg_stop || fail pg-stop "pg_ctl stop failed"
t_down=$(now_ms)
chunk_down=$(chunks)
sleep "$OUTAGE"
chunk_up=$(chunks)
pg_start || fail pg-restart "$(tail -5 "$W/pgrun/postgres.log")"
central_start
wait_for 10 central_listening || fail central-restart "not listening again"
metric central_down_ms $(($(now_ms) - t_down))
[ "$chunk_up" -gt "$chunk_down" ] &&
  pass "central rsyslog and PostgreSQL were down during storm chunks $chunk_down..$chunk_up" ||
  fail mid-storm "no storm chunk started while the central side was down"
wait_for 60 at_chunk $((chunk_up + 1)) || fail storm "the storm stopped after the outage"
dropped=0
for k in 1 2 3 4 5 6; do
  n=$(psql_admin -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'rsyslog'")
  dropped=$((dropped + ${n:-0}))
  sleep 0.3
done
[ "$dropped" -gt 0 ] && pass "PostgreSQL dropped the central's connection $dropped times during the storm" ||
  fail connection-drops "no connection of rsyslog's to terminate"
wait_for 60 at_chunk $(($(chunks) + 2)) || fail storm "the storm stopped"
: >"$W/stop-storm"
wait $storm_loop
storm_rc=$?
storm_loop=""
[ $storm_rc -eq 0 ] || fail storm "a storm chunk failed"
TOTAL=$(($(chunks) * CHUNK))
metric storm "$TOTAL execs in $(chunks) chunks, $(($(now_ms) - t_storm)) ms"

# --- every exec of the storm arrives (the argv tokens: what the kernel ran) ---
storm_execs() {
  sql "SELECT count(DISTINCT line->'argv'->>1) FROM execmond_lines
       WHERE type = 'exec' AND line->'argv'->>1 LIKE '$TOKEN-c%'" 2>/dev/null || echo 0
}
all_execs() { [ "$(storm_execs)" -eq "$TOTAL" ]; }
t_wait=$(now_ms)
if wait_for 120 all_execs; then
  pass "all $TOTAL execs of the storm are rows ($(($(now_ms) - t_wait)) ms after the storm ended)"
else
  fail all-execs "$(storm_execs) of $TOTAL storm execs arrived within 120 s"
fi

# --- every line of the file is a row, and nothing else is -------------------
kill -TERM $daemon
wait $daemon
rc=$?
daemon=""
[ $rc -eq 0 ] || fail daemon-exit "execmond exited $rc"
file_lines() { # every line execmond wrote, rotated ones included, oldest first
  local f
  for f in $(ls "$W/log" | sort); do
    case $f in *.gz) gzip -dc "$W/log/$f" ;; *.tmp) ;; *) cat "$W/log/$f" ;; esac
  done
}
file_lines | jq -cS . | sort -u >"$W/file.sorted"
wrote=$(wc -l <"$W/file.sorted")
generations=$(ls "$W/log" | wc -l)
metric file "$wrote distinct lines in $generations files ($(ls "$W/log" | grep -c '\.gz$') gzip-compressed)"
distinct_rows() { sql "SELECT count(DISTINCT (host, line)) FROM execmond_lines" 2>/dev/null || echo 0; }
all_lines() { [ "$(distinct_rows)" -ge "$wrote" ]; }
wait_for 60 all_lines || true
sql "SELECT line::text FROM execmond_lines" | jq -cS . | sort -u >"$W/rows.sorted"
missing=$(comm -23 "$W/file.sorted" "$W/rows.sorted" | wc -l)
extra=$(comm -13 "$W/file.sorted" "$W/rows.sorted" | wc -l)
[ "$missing" -eq 0 ] && pass "every line of the file is a row ($wrote lines, $generations files)" ||
  fail every-line "$missing of $wrote lines of the file are not in PostgreSQL (first: $(comm -23 "$W/file.sorted" "$W/rows.sorted" | head -c 300))"
[ "$extra" -eq 0 ] && pass "no row that is not a line of the file" || fail no-extra "$extra rows are not lines of the file"
[ "$(sql "SELECT count(DISTINCT host) || ' ' || min(host) FROM execmond_lines")" = "1 $HOST" ] &&
  pass "host column: $HOST" || fail host "$(sql "SELECT DISTINCT host FROM execmond_lines")"
[ ! -s "$W/central/not-json.log" ] && pass "no message failed to parse as JSON" ||
  fail json "$(wc -l <"$W/central/not-json.log") messages were not JSON"
lost=$(sql "SELECT coalesce(string_agg(line->>'reason' || ':' || (line->>'count'), ' '), 'none') FROM execmond_lines WHERE type = 'lost'")
metric lost_lines "$lost"
case $lost in *file_*) fail no-file-loss "the file sink lost lines: $lost" ;; *) pass "no file_slow/file_error loss" ;; esac

# --- duplicates: counted by (host, stream_id, seq), and removed by one query --
# seq numbers every line the daemon produced, before filtering: the file gets
# only the workload's, so holes in it are expected and not checked.
total_rows=$(rows)
unnumbered=$(sql "SELECT coalesce(string_agg(DISTINCT type || coalesce(':' || (line->>'reason'), ''), ' '), 'none')
                  FROM execmond_lines WHERE seq IS NULL")
[ "$(sql "SELECT count(*) FROM execmond_lines WHERE seq IS NOT NULL")" -gt 0 ] &&
  [ "$(sql "SELECT count(*) FROM execmond_lines WHERE seq IS NULL AND type IN ('fork', 'exec', 'exit')")" = 0 ] &&
  pass "every event line carries seq (lines without: $unnumbered)" || fail seq "event lines without seq (lines without: $unnumbered)"
streams=$(sql "SELECT count(DISTINCT stream) || ' ' || count(*) FILTER (WHERE stream IS NULL) FROM execmond_keyed")
[ "$streams" = "1 0" ] && pass "every row belongs to the daemon's one stream (hello.stream_id)" ||
  fail stream "streams, rows without one: $streams"
dup_keys=$(sql "$(sed -n '/^-- duplicates/,/;$/p' "$HERE/queries.sql")")
dup_seq_lines=$(sql "SELECT count(*) - count(DISTINCT (host, line)) FROM execmond_lines WHERE seq IS NOT NULL")
dup_tokens=$(sql "SELECT count(*) - count(DISTINCT line->'argv'->>1) FROM execmond_lines
                  WHERE type = 'exec' AND line->'argv'->>1 LIKE '$TOKEN-c%'")
metric rows "$total_rows rows, $dup_keys duplicates by (host, stream_id, seq) ($dup_tokens among the storm's execs)"
# A key shared by two different lines would make the dedup drop a line.
shared=$(sql "SELECT count(*) FROM (SELECT 1 FROM execmond_keyed WHERE seq IS NOT NULL
                GROUP BY host, stream, seq HAVING count(DISTINCT line) > 1) k")
[ "$shared" = 0 ] && [ "$dup_keys" = "$dup_seq_lines" ] &&
  pass "duplicates by (host, stream_id, seq): $dup_keys, as many as by content; no seq names two lines" ||
  fail dedup-key "$dup_keys duplicates by (host, stream, seq), $dup_seq_lines by content, $shared keys with different lines"
sql "$(sed -n '/^-- dedup:/,/;$/p' "$HERE/queries.sql")" >/dev/null
after=$(rows)
[ "$after" -eq "$wrote" ] && [ "$(sql "SELECT count(*) - count(DISTINCT line->'argv'->>1) FROM execmond_lines
                  WHERE type = 'exec' AND line->'argv'->>1 LIKE '$TOKEN-c%'")" = 0 ] &&
  [ "$(sql "SELECT count(*) - count(DISTINCT (host, stream, seq)) FROM execmond_keyed WHERE seq IS NOT NULL")" = 0 ] &&
  pass "one query removed the $((total_rows - after)) duplicates: one row per line" ||
  fail dedup "after removing duplicates: $after rows for $wrote lines"

# --- the analyst's question: which hosts ran curl, by whom, from which parent, in the last hour
analyst=$(psql_admin -d fleet -F ' | ' -c "$(sed -n '/^-- analyst/,/;$/p' "$HERE/queries.sql")")
echo "fleet: analyst query: which hosts ran curl, by whom, from which parent, in the last hour:"
sed 's/^/fleet:   /' <<<"$analyst"
grep -q "^$HOST | 0 | .*| sh | " <<<"$analyst" && grep -q "^$HOST | 65534 | .*| sh | " <<<"$analyst" &&
  pass "analyst query finds curl by uid 0 and uid 65534, parent sh" || fail analyst "rows: $analyst"

metric fleet_step_s $((SECONDS - T0))
echo "fleet: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
