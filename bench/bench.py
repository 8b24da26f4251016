#!/usr/bin/python3
"""execmond benchmarks: overhead, loss, latency, CPU per event and memory, against peers.

Run through bench/run.sh, which builds the C helpers (storm, noop, tap, readywait) and
execmond into bench/out/ first. Everything stays on this machine: the only sockets are
execmond's Unix socket and readywait's NOTIFY_SOCKET.

Phases (each prints as it goes; the summary table comes at the end):
  storm      rounds of pairs (no monitor, monitor) for execmond+socat, execsnoop,
             bpftrace, forkstat: throughput ratio, execs captured, CPU per 1k execs
  latency    execmond + tap client at fixed rates and at max: exec->line p50/p99/max
  curve      --latency-us sweep: throughput ratio (paired) and p99 at 1,000 exec/s
  loss       100,000 execs at max rate through execmond: every fork/exec/exit delivered?
  churn      1,000,000 execs through execmond: RSS sampled every second
  ready      time from start to READY=1 with 1,000 live processes
  bpfstats   in-kernel run time per probe invocation (kernel.bpf_stats_enabled)

Writes bench/out/results.json, bench/out/results.md (the tables) and bench/out/bench.png.
"""
import argparse
import json
import os
import re
import resource
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# EXECMOND_BENCH_OUT moves the helpers and results elsewhere (bench/smoke.sh: a temporary dir).
OUT = os.environ.get("EXECMOND_BENCH_OUT") or os.path.join(HERE, "out")
RUNS = os.path.join(OUT, "runs")
CLK_TCK = os.sysconf("SC_CLK_TCK")

BPFTRACE_PROG = (
    'BEGIN { printf("ready\\n"); } '
    "tracepoint:sched:sched_process_exec { "
    "$a = curtask->mm->arg_start; $n = curtask->mm->arg_end - $a; "
    'printf("%d %r\\n", pid, buf(uptr($a), $n > 64 ? 64 : $n)); }'
)

MONITORS = ["execmond", "execsnoop", "bpftrace", "forkstat"]


def log(msg):
    print(msg, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- process accounting


def cpu_ns(pid):
    """CPU time (user+sys) of all threads of pid, in ns, from schedstat; None if gone."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        return None
    return total


def cpu_ticks_ns(pid):
    """utime+stime from /proc/pid/stat (10 ms ticks), in ns: a cross-check of cpu_ns."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // CLK_TCK
    except FileNotFoundError:
        return None


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


class CpuMeter:
    """CPU used by a set of pids between start() and stop()."""

    def __init__(self, pids):
        self.pids = [p for p in pids if p]

    def start(self):
        self.a = {p: (cpu_ns(p), cpu_ticks_ns(p)) for p in self.pids}

    def stop(self):
        self.b = {p: (cpu_ns(p), cpu_ticks_ns(p)) for p in self.pids}
        out = {}
        for p in self.pids:
            (a1, a2), (b1, b2) = self.a[p], self.b[p]
            out[p] = {
                "schedstat_ns": (b1 - a1) if a1 is not None and b1 is not None else None,
                "stat_ns": (b2 - a2) if a2 is not None and b2 is not None else None,
            }
        return out


# ---------------------------------------------------------------- helpers around the C tools


def tool(name):
    return os.path.join(OUT, name)


def storm(count, run, rate=None, spawners=None):
    cmd = [tool("storm"), "--count", str(count), "--run", run]
    if rate:
        cmd += ["--rate", str(rate)]
    if spawners:
        cmd += ["--spawners", str(spawners)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    res = json.loads(p.stdout)
    if p.returncode != 0:
        log(f"  storm: exit {p.returncode}: {res}")
    return res


def spawn_marker(run, what):
    subprocess.run([tool("noop"), f"execmond-bench-{run}-{what}", "0"], executable=tool("noop"))


class FileWatch:
    """Follows a growing output file."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.tail = b""

    def grew_with(self, needle):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return False
        self.off += len(data)
        hay = self.tail + data
        self.tail = hay[-256:]
        return needle in hay

    def size(self):
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0


def wait_marker(path, run, what, timeout, spawn_every=0.05):
    """Spawn marker execs until the marker shows up in path. True if it did."""
    fw = FileWatch(path)
    needle = f"execmond-bench-{run}-{what}".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spawn_marker(run, what)
        t_next = time.monotonic() + spawn_every
        while time.monotonic() < t_next:
            if fw.grew_with(needle):
                return True
            time.sleep(0.005)
    return False


def wait_quiet(path, storm_bytes_per_s, min_s=0.5, max_s=15.0):
    """Wait until path grows at < 5% of its storm rate (or by < 4 KiB) over 300 ms."""
    t0 = time.monotonic()
    last = os.path.getsize(path) if os.path.exists(path) else 0
    time.sleep(min_s)
    while time.monotonic() - t0 < max_s:
        time.sleep(0.3)
        cur = os.path.getsize(path) if os.path.exists(path) else 0
        if (cur - last) < max(4096, 0.05 * storm_bytes_per_s * 0.3):
            return time.monotonic() - t0
        last = cur
    return time.monotonic() - t0


def bpf_fds(pid):
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t in ("anon_inode:bpf_link", "anon_inode:[perf_event]"):
                n += 1
    except FileNotFoundError:
        pass
    return n


def wait_stable_bpf_fds(pid, timeout=20):
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = bpf_fds(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif n > 0 and time.monotonic() - since > 0.3:
            return True
        time.sleep(0.05)
    return False


def stop_proc(p, sig=signal.SIGINT, timeout=15):
    if p is None or p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# ---------------------------------------------------------------- monitors


class Monitor:
    name = "?"
    flushes = False  # output shows every event promptly (markers can be waited for)

    def __init__(self, args, run):
        self.args = args
        self.run = run
        self.out = os.path.join(RUNS, f"{self.name}-{run}.out")
        self.err = os.path.join(RUNS, f"{self.name}-{run}.err")
        self.procs = []

    def pids(self):
        return [p.pid for p in self.procs]

    def start(self):
        raise NotImplementedError

    def stop(self):
        for p in self.procs:
            stop_proc(p)

    def count_tokens(self):
        pat = re.compile(rb"execmond-bench-" + self.run.encode() + rb"-(\d+)")
        with open(self.out, "rb") as f:
            data = f.read()
        return len(set(pat.findall(data))), {}


class Execsnoop(Monitor):
    name = "execsnoop"

    def start(self):
        p = subprocess.Popen(["/usr/sbin/execsnoop"], stdout=open(self.out, "wb"), stderr=open(self.err, "wb"))
        self.procs = [p]
        if not wait_stable_bpf_fds(p.pid):
            raise RuntimeError("execsnoop did not attach")


class Bpftrace(Monitor):
    name = "bpftrace"
    flushes = True

    def start(self):
        p = subprocess.Popen(["bpftrace", "-e", BPFTRACE_PROG], stdout=open(self.out, "wb"),
                             stderr=open(self.err, "wb"))
        self.procs = [p]
        fw = FileWatch(self.out)
        deadline = time.monotonic() + 30
        while not fw.grew_with(b"ready\n"):
            if time.monotonic() > deadline or p.poll() is not None:
                raise RuntimeError("bpftrace did not start: " + open(self.err).read()[-500:])
            time.sleep(0.05)


class Forkstat(Monitor):
    name = "forkstat"

    def start(self):
        p = subprocess.Popen(["forkstat", "-e", "exec"], stdout=open(self.out, "wb"), stderr=open(self.err, "wb"))
        self.procs = [p]
        # The proc connector has no attach step to watch: give it a moment to subscribe.
        time.sleep(1.0)
        if p.poll() is not None:
            raise RuntimeError("forkstat exited: " + open(self.err).read()[-500:])


class Execmond(Monitor):
    """execmond under readywait (NOTIFY_SOCKET), plus a client: socat to a file, or tap."""

    name = "execmond"
    flushes = True

    def __init__(self, args, run, extra=(), client="socat", count=None, label=None):
        self.name = label or "execmond"
        super().__init__(args, run)
        self.extra = list(extra)
        self.client = client
        self.count = count
        self.sock = os.path.join(RUNS, f"em-{run}.sock")
        self.daemon_pid = None
        self.ready_ms = None

    def pids(self):
        return [self.daemon_pid] + [p.pid for p in self.procs[1:]]

    def start(self):
        cmd = [tool("readywait"), "--timeout", "30", "--", self.args.execmond, "--socket", self.sock,
               "--log-target", "stderr"] + self.args.execmond_args + self.extra
        rw = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.err, "wb"), text=True)
        self.procs = [rw]
        first = rw.stdout.readline()
        ev = json.loads(first) if first else {}
        if ev.get("event") != "ready":
            stop_proc(rw, signal.SIGTERM)
            raise RuntimeError("execmond did not become ready: " + open(self.err).read()[-800:])
        self.daemon_pid = ev["pid"]
        self.ready_ms = ev["ready_ms"]
        if self.client == "socat":
            c = subprocess.Popen(["socat", "-u", f"UNIX-CONNECT:{self.sock}", "-"], stdout=open(self.out, "wb"),
                                 stderr=subprocess.DEVNULL)
            self.procs.append(c)
            if not wait_marker(self.out, self.run, "ready", 10):
                raise RuntimeError("no ready marker through execmond+socat")
        else:
            readyf = os.path.join(RUNS, f"tap-{self.run}.ready")
            c = subprocess.Popen([tool("tap"), "--socket", self.sock, "--run", self.run, "--count",
                                  str(self.count), "--ready", readyf], stdout=subprocess.PIPE, text=True)
            self.procs.append(c)
            deadline = time.monotonic() + 10
            while not os.path.exists(readyf):
                if time.monotonic() > deadline:
                    raise RuntimeError("no ready marker through execmond+tap")
                spawn_marker(self.run, "ready")
                time.sleep(0.05)

    def hwm_kib(self):
        return proc_status_kib(self.daemon_pid, "VmHWM")

    def rss_kib(self):
        return proc_status_kib(self.daemon_pid, "VmRSS")

    def tap_result(self, timeout):
        c = self.procs[1]
        try:
            out, _ = c.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            c.send_signal(signal.SIGTERM)
            out, _ = c.communicate()
        return json.loads(out)

    def stop(self):
        rw = self.procs[0]
        rw.send_signal(signal.SIGTERM)
        try:
            out, _ = rw.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            rw.kill()
            out, _ = rw.communicate()
        self.exit_event = None
        for line in out.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "exit":
                self.exit_event = ev
        for p in self.procs[1:]:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                stop_proc(p, signal.SIGTERM)

    def count_tokens(self):
        """Unique tokens, plus per-type line counts, lost counts and fork/exit completeness."""
        pat = re.compile(r"^execmond-bench-" + re.escape(self.run) + r"-(\d+)$")
        seen = set()
        state = {}
        st = {"lines": 0, "fork": 0, "exec": 0, "exit": 0, "lost": 0, "lost_exec": 0, "other": 0,
              "token_fork_ok": 0, "token_exit_ok": 0, "bad_json": 0}
        with open(self.out, "rb") as f:
            for raw in f:
                st["lines"] += 1
                try:
                    j = json.loads(raw)
                except ValueError:
                    st["bad_json"] += 1
                    continue
                t = j.get("type")
                pid = j.get("pid")
                if t == "fork":
                    st["fork"] += 1
                    state[pid] = "forked"
                elif t == "exec":
                    st["exec"] += 1
                    argv = j.get("argv") or []
                    m = pat.match(argv[1]) if len(argv) > 1 else None
                    if m and m.group(1) not in seen:
                        seen.add(m.group(1))
                        if state.get(pid) == "forked":
                            st["token_fork_ok"] += 1
                        state[pid] = "execed"
                    else:
                        state.pop(pid, None)
                elif t == "exit":
                    st["exit"] += 1
                    if state.get(pid) == "execed":
                        st["token_exit_ok"] += 1
                    state.pop(pid, None)
                elif t == "lost":
                    st["lost"] += j.get("count", 0)
                    st["lost_exec"] += (j.get("by_type") or {}).get("exec", 0)
                else:
                    st["other"] += 1
        return len(seen), st


def make_monitor(name, args, run, **kw):
    return {"execmond": Execmond, "execsnoop": Execsnoop, "bpftrace": Bpftrace, "forkstat": Forkstat}[name](
        args, run, **kw)


# ---------------------------------------------------------------- phases


def new_run():
    return secrets.token_hex(4)


class ExternalLoad:
    """CPU the rest of the machine used during a run: busy CPU (/proc/stat) minus what the
    storm and its execs used (this process's waited-for children) minus the monitor's.
    As % of all CPUs over the run's wall time: other work disturbing the measurement."""

    @staticmethod
    def _snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (sum(v) - v[3] - v[4]) * 1e9 / CLK_TCK, (ru.ru_utime + ru.ru_stime) * 1e9, time.monotonic()

    def start(self):
        self.a = self._snap()

    def stop(self, monitor_ns=0):
        b = self._snap()
        busy, ours, wall = b[0] - self.a[0], b[1] - self.a[1] + monitor_ns, b[2] - self.a[2]
        return round(100 * max(0.0, busy - ours) / (wall * 1e9 * (os.cpu_count() or 1)), 1)


def baseline_once(args, count):
    ext = ExternalLoad()
    ext.start()
    r = storm(count, new_run())
    r["external_pct"] = ext.stop()
    return r


def monitored_once(args, mon, count, keep_output=False):
    """Start mon, storm, drain, measure, stop. Returns a dict of figures."""
    mon.start()
    time.sleep(0.3)
    meter = CpuMeter(mon.pids())
    meter.start()
    ext = ExternalLoad()
    ext.start()
    t0 = time.monotonic()
    res = storm(count, mon.run)
    storm_s = time.monotonic() - t0
    if mon.flushes:
        wait_marker(mon.out, mon.run, "end", 30, spawn_every=0.25)
    else:
        wait_quiet(mon.out, os.path.getsize(mon.out) / max(storm_s, 0.001))
    cpu = meter.stop()
    cpu_total = sum((c["schedstat_ns"] or 0) for c in cpu.values())
    external_pct = ext.stop(cpu_total)
    hwm = mon.hwm_kib() if isinstance(mon, Execmond) else None
    mon.stop()
    captured, detail = mon.count_tokens()
    cpu_stat = sum((c["stat_ns"] or 0) for c in cpu.values())
    r = {
        "rate": res["rate"],
        "spawned": res["spawned"],
        "captured": captured,
        "captured_frac": captured / res["spawned"],
        "cpu_s": cpu_total / 1e9,
        "cpu_stat_s": cpu_stat / 1e9,
        "cpu_s_per_1k": cpu_total / 1e9 / (res["spawned"] / 1000),
        "cpu_by_pid": cpu,
        "external_pct": external_pct,
    }
    if isinstance(mon, Execmond):
        d_ns = cpu[mon.daemon_pid]["schedstat_ns"] or 0
        events = detail["fork"] + detail["exec"] + detail["exit"]
        r.update({
            "daemon_cpu_s": d_ns / 1e9,
            "daemon_us_per_event": d_ns / 1e3 / max(events, 1),
            "events": events,
            "detail": detail,
            "hwm_kib": hwm,
            "ready_ms": mon.ready_ms,
            "exit": getattr(mon, "exit_event", None),
        })
    if not keep_output:
        for path in (mon.out,):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return r


def phase_storm(args, results):
    log(f"== storm: {args.rounds} rounds x {len(args.monitors)} pairs, {args.count} execs each")
    per = {m: [] for m in args.monitors}
    bases = []
    # Baselines bracket every monitored run (base, m1, base, m2, ..., base): each ratio is
    # against the mean of the baseline just before and just after it, which cancels drift.
    for rnd in range(args.rounds):
        k = rnd % len(args.monitors)
        order = args.monitors[k:] + args.monitors[:k]
        if args.wait_quiet:
            wait_quiet_machine(min(args.wait_quiet, 60))
        b = baseline_once(args, args.count)
        prev, prev_ext = b["rate"], b["external_pct"]
        bases.append(prev)
        for m in order:
            if args.wait_quiet:
                wait_quiet_machine(min(args.wait_quiet, 60))
            mon = make_monitor(m, args, new_run())
            try:
                r = monitored_once(args, mon, args.count, keep_output=(rnd == 0))
            except RuntimeError as e:
                log(f"  round {rnd + 1} {m}: FAILED: {e}")
                mon.stop()
                continue
            b = baseline_once(args, args.count)
            nxt, nxt_ext = b["rate"], b["external_pct"]
            bases.append(nxt)
            base = (prev + nxt) / 2
            r["baseline_rate"] = base
            r["ratio"] = r["rate"] / base
            # Other load over the pair: its baselines and the run itself.
            r["external_max_pct"] = max(prev_ext, r["external_pct"], nxt_ext)
            prev, prev_ext = nxt, nxt_ext
            per[m].append(r)
            extra = ""
            if m == "execmond":
                d = r["detail"]
                extra = (f" daemon {r['daemon_us_per_event']:.2f} us/event, lost {d['lost']},"
                         f" fork/exit ok {d['token_fork_ok']}/{d['token_exit_ok']}, HWM {r['hwm_kib']} KiB")
            log(f"  round {rnd + 1} {m:9s}: base {base:8.0f}/s, with {r['rate']:8.0f}/s,"
                f" ratio {r['ratio']:.3f}, captured {r['captured']}/{r['spawned']},"
                f" cpu {r['cpu_s_per_1k'] * 1e3:.1f} ms/1k execs{extra};"
                f" other load {r['external_max_pct']:.1f} %")
    results["storm"] = {"count": args.count, "baseline_rate_median": median(bases),
                        "monitors": storm_summary(per, args.clean_pct)}


def storm_summary(per, clean_pct):
    """Medians per monitor over the undisturbed pairs (when there are at least 3 of them).

    Even alone, a storm leaves ~10 % of the CPUs busy outside the bench's processes here
    (kernel threads finishing its exits), so "undisturbed" is relative: other load at most
    clean_pct points above the least any pair of the run saw."""
    exts = [r["external_max_pct"] for rs in per.values() for r in rs if r.get("external_max_pct") is not None]
    floor = min(exts) if exts else 0.0
    summary = {}
    for m, all_rs in per.items():
        if not all_rs:
            continue
        for r in all_rs:
            r["clean"] = r.get("external_max_pct", 0.0) <= floor + clean_pct
        clean = [r for r in all_rs if r["clean"]]
        rs = clean if len(clean) >= 3 else all_rs
        s = {
            "other_load_floor_pct": floor,
            "clean_rounds": len(clean),
            "summary_over": "clean" if rs is clean else "all",
            "rounds": len(rs),
            "ratio_median": median([r["ratio"] for r in rs]),
            "ratio_min": min(r["ratio"] for r in rs),
            "ratio_max": max(r["ratio"] for r in rs),
            "captured_median": median([r["captured_frac"] for r in rs]),
            "captured_min": min(r["captured_frac"] for r in rs),
            "cpu_s_per_1k_median": median([r["cpu_s_per_1k"] for r in rs]),
            "runs": rs,
            "runs_all": all_rs,
        }
        if m == "execmond":
            s["daemon_us_per_event_median"] = median([r["daemon_us_per_event"] for r in rs])
            s["hwm_kib_max"] = max(r["hwm_kib"] or 0 for r in rs)
            s["lost_total"] = sum(r["detail"]["lost"] for r in rs)
        summary[m] = s
    return summary


def tap_run(args, count, rate, extra=(), label="execmond", rss_every=None, stall=None):
    """execmond + tap at a rate (None = max). Returns tap's figures plus CPU and memory.

    stall=SECONDS: SIGSTOP the daemon before the spawner starts (so that no storm, however
    fast, can end before the stop) and SIGCONT it SECONDS later, so that its kernel ring
    overflows for certain."""
    run = new_run()
    mon = Execmond(args, run, extra=extra, client="tap", count=count, label=label)
    mon.start()
    time.sleep(0.2)
    meter = CpuMeter([mon.daemon_pid, mon.procs[1].pid])
    meter.start()
    if stall:
        os.kill(mon.daemon_pid, signal.SIGSTOP)
    t0 = time.monotonic()
    sp = subprocess.Popen([tool("storm"), "--count", str(count), "--run", run] +
                          (["--rate", str(rate)] if rate else []), stdout=subprocess.PIPE, text=True)
    rss = []
    if stall:
        time.sleep(stall)
        os.kill(mon.daemon_pid, signal.SIGCONT)
    while sp.poll() is None:
        if rss_every:
            rss.append((round(time.monotonic() - t0, 2), mon.rss_kib()))
            try:
                sp.wait(rss_every)
            except subprocess.TimeoutExpired:
                pass
        else:
            try:
                sp.wait(1)
            except subprocess.TimeoutExpired:
                pass
    sres = json.loads(sp.stdout.read())
    wall = time.monotonic() - t0
    tap = mon.tap_result(timeout=30)
    cpu = meter.stop()
    if rss_every:
        rss.append((round(time.monotonic() - t0, 2), mon.rss_kib()))
    hwm = mon.hwm_kib()
    mon.stop()
    d_ns = cpu[mon.daemon_pid]["schedstat_ns"] or 0
    c_ns = cpu[mon.procs[1].pid]["schedstat_ns"] or 0
    events = tap["forks"] + tap["execs"] + tap["exits"]
    return {
        "rate_target": rate,
        "storm": sres,
        "tap": tap,
        "daemon_cpu_s": d_ns / 1e9,
        "daemon_cpu_pct": 100 * d_ns / 1e9 / wall,
        "client_cpu_s": c_ns / 1e9,
        "daemon_us_per_event": d_ns / 1e3 / max(events, 1),
        "events": events,
        "hwm_kib": hwm,
        "rss_series": rss,
        "exit": mon.exit_event,
    }


def fmt_lat(t):
    la = t["tap"]["lat_exec_to_line_ns"]
    if not la:
        return "no samples"
    return f"p50 {la['p50'] / 1e3:.0f} us, p99 {la['p99'] / 1e3:.0f} us, max {la['max'] / 1e3:.0f} us"


def phase_latency(args, results):
    log("== latency: execmond + tap at fixed rates")
    out = []
    for rate, count in args.lat_rates:
        r = tap_run(args, count, rate)
        t = r["tap"]
        log(f"  {('max' if not rate else rate):>5} exec/s ({r['storm']['rate']:.0f} achieved):"
            f" {fmt_lat(r)}; tokens {t['tokens']}/{count}, lost {t['lost_total']},"
            f" daemon {r['daemon_cpu_pct']:.1f}% CPU, {r['daemon_us_per_event']:.2f} us/event")
        out.append(r)
    results["latency"] = out


def phase_curve(args, results):
    log(f"== latency-us curve: {args.curve}")
    pts = []
    for lat in args.curve:
        extra = ["--latency-us", str(lat)]
        ratios, dus, exts = [], [], []
        if args.wait_quiet:
            wait_quiet_machine(min(args.wait_quiet, 60))
        b = baseline_once(args, args.count)
        prev, prev_ext = b["rate"], b["external_pct"]
        for _ in range(args.curve_rounds):
            if args.wait_quiet:
                wait_quiet_machine(min(args.wait_quiet, 60))
            mon = Execmond(args, new_run(), extra=extra)
            r = monitored_once(args, mon, args.count)
            b = baseline_once(args, args.count)
            nxt, nxt_ext = b["rate"], b["external_pct"]
            ratios.append(r["rate"] / ((prev + nxt) / 2))
            exts.append(max(prev_ext, r["external_pct"], nxt_ext))
            prev, prev_ext = nxt, nxt_ext
            dus.append(r["daemon_us_per_event"])
        if args.wait_quiet:
            wait_quiet_machine(min(args.wait_quiet, 60))
        lr = tap_run(args, args.curve_lat_count, 1000, extra=extra)
        la = lr["tap"]["lat_exec_to_line_ns"] or {}
        p = {
            "latency_us": lat,
            "ratio_median": median(ratios),
            "ratios": ratios,
            "external_pct": exts,
            "daemon_us_per_event_median": median(dus),
            "p50_us_at_1000": la.get("p50", 0) / 1e3,
            "p99_us_at_1000": la.get("p99", 0) / 1e3,
            "max_us_at_1000": la.get("max", 0) / 1e3,
            "daemon_cpu_pct_at_1000": lr["daemon_cpu_pct"],
            "lost_at_1000": lr["tap"]["lost_total"],
        }
        log(f"  --latency-us {lat:5d}: ratio {p['ratio_median']:.3f} {['%.3f' % x for x in ratios]}"
            f" (other load {['%.0f %%' % x for x in exts]}),"
            f" {p['daemon_us_per_event_median']:.2f} us/event; at 1000/s p99 {p['p99_us_at_1000']:.0f} us,"
            f" max {p['max_us_at_1000']:.0f} us, daemon {p['daemon_cpu_pct_at_1000']:.1f}% CPU")
        pts.append(p)
    results["curve"] = pts


def phase_loss(args, results):
    log(f"== loss: {args.loss_count} execs at max rate through execmond + tap")
    r = tap_run(args, args.loss_count, None)
    t = r["tap"]
    log(f"  tokens {t['tokens']}/{args.loss_count}, fork ok {t['token_fork_ok']}, exit ok {t['token_exit_ok']},"
        f" lost lines {t['lost_lines']} (count {t['lost_total']}), {r['storm']['rate']:.0f} exec/s,"
        f" {r['daemon_us_per_event']:.2f} us/event")
    results["loss"] = r


def phase_tinyring(args, results):
    log(f"== tiny ring: {args.tiny_count} execs at max rate, execmond --ring-size {args.tiny_ring},"
        f" daemon stopped (SIGSTOP) for the storm's first 0.3 s")
    # --follow this process: the lost counts then cover only the bench's own execs, not
    # whatever else the machine runs meanwhile, so the sum can be exact.
    extra = ["--ring-size", str(args.tiny_ring), "--follow", str(os.getpid())]
    r = tap_run(args, args.tiny_count, None, extra=extra, label="execmond-tiny", stall=0.3)
    t = r["tap"]
    n = r["storm"]["spawned"]
    r["exact"] = t["tokens"] + t["lost_exec"] == n and t["lost_exec_known"]
    log(f"  delivered {t['tokens']} + lost (exec) {t['lost_exec']} = {t['tokens'] + t['lost_exec']} of {n} spawned:"
        f" {'exact' if r['exact'] else 'NOT exact'}; lost records all types {t['lost_total']}"
        f" in {t['lost_lines']} lost lines")
    results["tinyring"] = r


def phase_churn(args, results):
    log(f"== churn: {args.churn_count} execs through execmond + tap, RSS every {args.rss_every} s")
    r = tap_run(args, args.churn_count, None, rss_every=args.rss_every)
    series = [kib for _, kib in r["rss_series"] if kib]
    skip = max(1, len(series) // 10)
    steady = series[skip:] or series
    r["rss_first_kib"] = series[0] if series else None
    r["rss_steady_min_kib"] = min(steady) if steady else None
    r["rss_steady_max_kib"] = max(steady) if steady else None
    r["rss_steady_spread_kib"] = (max(steady) - min(steady)) if steady else None
    r["rss_last_kib"] = series[-1] if series else None
    t = r["tap"]
    log(f"  {r['storm']['spawned']} execs at {r['storm']['rate']:.0f}/s; RSS first {r['rss_first_kib']} KiB,"
        f" steady {r['rss_steady_min_kib']}..{r['rss_steady_max_kib']} KiB"
        f" (spread {r['rss_steady_spread_kib']} KiB), HWM {r['hwm_kib']} KiB;"
        f" tokens {t['tokens']}, lost {t['lost_total']}, {r['daemon_us_per_event']:.2f} us/event")
    results["churn"] = r


def phase_ready(args, results):
    log(f"== ready: start to READY=1 with {args.live} live processes, {args.ready_trials} trials")
    trials = []
    for i in range(args.ready_trials + 1):
        # The first start has no extra processes: what the 1,000 cost is the difference.
        live = 0 if i == 0 else args.live
        sock = os.path.join(RUNS, f"ready-{new_run()}.sock")
        p = subprocess.run([tool("readywait"), "--live", str(live), "--ready-only", "--", args.execmond,
                            "--socket", sock, "--log-target", "stderr"] + args.execmond_args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        evs = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
        ready = next((e for e in evs if e["event"] == "ready"), None)
        ex = next((e for e in evs if e["event"] == "exit"), None)
        known = re.search(r"(\d+) processes known", p.stderr)
        trials.append({"live": live, "ready_ms": ready["ready_ms"] if ready else None, "stop_ms": ex and ex["stop_ms"],
                       "exit_status": ex and ex["status"], "processes_known": int(known.group(1)) if known else None})
        time.sleep(0.3)
    ok = [t["ready_ms"] for t in trials[1:] if t["ready_ms"] is not None]
    res = {"live": args.live, "trials": trials, "ready_ms_median": median(ok), "ready_ms_max": max(ok) if ok else None,
           "ready_ms_no_extra": trials[0]["ready_ms"]}
    log(f"  READY=1 after {res['ready_ms_median']} ms median, {res['ready_ms_max']} ms max"
        f" ({res['ready_ms_no_extra']} ms with no extra processes);"
        f" known {[t['processes_known'] for t in trials]}, SIGTERM->exit"
        f" {[t['stop_ms'] for t in trials]} ms, status {[t['exit_status'] for t in trials]}")
    results["ready"] = res


def prog_stats(ids=None):
    """{"name#id": (run_time_ns, run_cnt)} of loaded BPF programs (only `ids` if given)."""
    p = subprocess.run(["bpftool", "-j", "prog", "show"], stdout=subprocess.PIPE, text=True)
    out = {}
    for pr in json.loads(p.stdout or "[]"):
        if ids is None or pr["id"] in ids:
            out[f"{pr.get('name', '?')}#{pr['id']}"] = (pr.get("run_time_ns", 0), pr.get("run_cnt", 0))
    return out


def phase_bpfstats(args, results):
    log("== bpf_stats: in-kernel ns per probe run (kernel.bpf_stats_enabled=1)")
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old = f.read().strip()
    out = {}
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        for m in [x for x in args.monitors if x in ("execmond", "execsnoop", "bpftrace")]:
            mon = make_monitor(m, args, new_run())
            # bpftool here lists no owning pids: the monitor's programs are the new ones.
            before = {int(k.split("#")[1]) for k in prog_stats()}
            mon.start()
            time.sleep(0.3)
            mine = {int(k.split("#")[1]) for k in prog_stats()} - before
            a = prog_stats(mine)
            storm(args.count, mon.run)
            b = prog_stats(mine)
            mon.stop()
            progs = {}
            for k in b:
                dt = b[k][0] - a.get(k, (0, 0))[0]
                dn = b[k][1] - a.get(k, (0, 0))[1]
                if dn:
                    progs[k] = {"runs": dn, "ns_per_run": dt / dn, "ns_per_exec": dt / args.count}
            total = sum(v["ns_per_exec"] for v in progs.values())
            out[m] = {"progs": progs, "ns_per_exec_total": total}
            log(f"  {m:9s}: {total:6.0f} ns in BPF per spawned exec; " +
                ", ".join(f"{k} {v['ns_per_run']:.0f} ns x {v['runs']}" for k, v in progs.items()))
            try:
                os.unlink(mon.out)
            except FileNotFoundError:
                pass
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    results["bpfstats"] = out


# ---------------------------------------------------------------- machine, targets, report


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return ""


def busy_pct(interval=2.0):
    """Machine-wide non-idle CPU % over interval (from /proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return v[3] + v[4], sum(v)
    i0, t0 = snap()
    time.sleep(interval)
    i1, t1 = snap()
    return 100.0 * (1 - (i1 - i0) / max(t1 - t0, 1))


def wait_quiet_machine(limit_s, threshold=10.0):
    """Wait up to limit_s for the machine to be idle (< threshold % busy over 2 s)."""
    t0 = time.monotonic()
    b = busy_pct()
    while b >= threshold and time.monotonic() - t0 < limit_s:
        log(f"bench: machine {b:.0f} % busy; waiting for < {threshold:.0f} % (up to {limit_s:.0f} s)")
        time.sleep(3)
        b = busy_pct()
    return b


def machine():
    model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("grep MemTotal /proc/meminfo | awk '{print $2}'")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(int(mem) / 1048576, 1) if mem else None,
        "kernel": os.uname().release,
        "os": sh(". /etc/os-release; echo $PRETTY_NAME"),
        "pid_max": int(open("/proc/sys/kernel/pid_max").read()),
        "execsnoop": sh("dpkg-query -W -f='${Version}' libbpf-tools"),
        "bpftrace": sh("dpkg-query -W -f='${Version}' bpftrace"),
        "forkstat": sh("dpkg-query -W -f='${Version}' forkstat"),
        "socat": sh("dpkg-query -W -f='${Version}' socat"),
        "libbpf": sh("dpkg-query -W -f='${Version}' libbpf1"),
        "execmond_commit": sh(f"git -C {REPO} rev-parse --short HEAD") +
        (" (dirty)" if sh(f"git -C {REPO} status --porcelain -- daemon bpf proto") else ""),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


def targets(results):
    t = []

    def add(name, goal, value, met, note=""):
        t.append({"target": name, "goal": goal, "measured": value, "met": met, "note": note})

    em = results.get("storm", {}).get("monitors", {}).get("execmond")
    if em:
        add("throughput ratio at max storm", ">= 0.97", round(em["ratio_median"], 3), em["ratio_median"] >= 0.97)
    loss = results.get("loss")
    if loss:
        t_ = loss["tap"]
        n = loss["storm"]["spawned"]
        ok = t_["tokens"] == n and t_["token_fork_ok"] == n and t_["token_exit_ok"] == n and t_["lost_total"] == 0
        add(f"lost of {n} execs (fork/exec/exit all delivered)", "0",
            f"{n - t_['tokens']} execs missing, fork {t_['token_fork_ok']}/{n}, exit {t_['token_exit_ok']}/{n},"
            f" lost records {t_['lost_total']}", ok)
    tr = results.get("tinyring")
    if tr:
        t_ = tr["tap"]
        n = tr["storm"]["spawned"]
        add("tiny ring: delivered + lost execs = spawned", "exact",
            f"{t_['tokens']} + {t_['lost_exec']} = {t_['tokens'] + t_['lost_exec']} of {n}", tr["exact"])
    lat = [r for r in results.get("latency", []) if r["rate_target"] == 1000]
    if lat and lat[0]["tap"]["lat_exec_to_line_ns"]:
        p99 = lat[0]["tap"]["lat_exec_to_line_ns"]["p99"] / 1e6
        add("p99 exec->line latency at 1,000 exec/s", "<= 2 ms", f"{p99:.3f} ms", p99 <= 2.0)
    if em:
        v = em["daemon_us_per_event_median"]
        add("daemon CPU per event (max storm)", "<= 3 us", f"{v:.2f} us", v <= 3.0)
    ch = results.get("churn")
    if ch and ch["rss_steady_spread_kib"] is not None:
        spread = ch["rss_steady_spread_kib"]
        add(f"RSS flat over {ch['storm']['spawned']} churned processes", "+-1 MiB (spread <= 2 MiB)",
            f"spread {spread / 1024:.2f} MiB ({ch['rss_steady_min_kib']}..{ch['rss_steady_max_kib']} KiB)",
            spread <= 2048 and ch["rss_last_kib"] - ch["rss_steady_min_kib"] <= 1024)
    rd = results.get("ready")
    if rd and rd["ready_ms_median"] is not None:
        add(f"start to READY=1 with {rd['live']} live processes", "<= 150 ms",
            f"{rd['ready_ms_median']:.1f} ms median, {rd['ready_ms_max']:.1f} ms max", rd["ready_ms_max"] <= 150)
    return t


def tables(results):
    L = []
    st = results.get("storm")
    if st:
        L.append(f"Storm: {st['count']} execs per run, {len(next(iter(st['monitors'].values()))['runs'])} paired"
                 f" rounds, baseline median {st['baseline_rate_median']:.0f} exec/s\n")
        L.append("| monitor | throughput ratio (median, min–max) | execs captured / spawned (median, min) |"
                 " CPU s per 1,000 execs (monitor + consumer) | rounds used (undisturbed / run) |")
        L.append("|---|---|---|---|---|")
        for m, s in st["monitors"].items():
            label = "execmond + socat" if m == "execmond" else m
            n_all = len(s["runs_all"]) if "runs_all" in s else len(s["runs"])
            L.append(f"| {label} | {s['ratio_median']:.3f} ({s['ratio_min']:.3f}–{s['ratio_max']:.3f}) |"
                     f" {s['captured_median'] * 100:.2f} % ({s['captured_min'] * 100:.2f} %) |"
                     f" {s['cpu_s_per_1k_median']:.4f} | {len(s['runs'])} ({s.get('clean_rounds', '?')}"
                     f" / {n_all}) |")
        L.append("")
    if results.get("latency"):
        L.append("execmond exec→line latency at the client (tap), from the spawner's argv CLOCK_BOOTTIME stamp:\n")
        L.append("| target rate | achieved | execs | p50 | p99 | max | kernel event→line p99 | lost |"
                 " daemon CPU | daemon µs/event |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in results["latency"]:
            la, lk = r["tap"]["lat_exec_to_line_ns"] or {}, r["tap"]["lat_kernel_to_line_ns"] or {}
            L.append(f"| {r['rate_target'] or 'max'} | {r['storm']['rate']:.0f}/s | {r['tap']['tokens']} |"
                     f" {la.get('p50', 0) / 1e3:.0f} µs | {la.get('p99', 0) / 1e3:.0f} µs |"
                     f" {la.get('max', 0) / 1e3:.0f} µs | {lk.get('p99', 0) / 1e3:.0f} µs |"
                     f" {r['tap']['lost_total']} | {r['daemon_cpu_pct']:.1f} % | {r['daemon_us_per_event']:.2f} |")
        L.append("")
    if results.get("curve"):
        L.append("Wake-up trade-off (`--latency-us`):\n")
        L.append("| --latency-us | throughput ratio (median) | daemon µs/event | p50 @1,000/s | p99 @1,000/s |"
                 " max @1,000/s | daemon CPU @1,000/s |")
        L.append("|---|---|---|---|---|---|---|")
        for p in results["curve"]:
            L.append(f"| {p['latency_us']} | {p['ratio_median']:.3f} | {p['daemon_us_per_event_median']:.2f} |"
                     f" {p['p50_us_at_1000']:.0f} µs | {p['p99_us_at_1000']:.0f} µs | {p['max_us_at_1000']:.0f} µs |"
                     f" {p['daemon_cpu_pct_at_1000']:.1f} % |")
        L.append("")
    bs = results.get("bpfstats")
    if bs:
        L.append("In-kernel BPF time per spawned exec (kernel.bpf_stats_enabled, all of the monitor's programs):\n")
        L.append("| monitor | ns per exec | programs |")
        L.append("|---|---|---|")
        for m, v in bs.items():
            L.append(f"| {m} | {v['ns_per_exec_total']:.0f} |" + " " +
                     ", ".join(f"{k.split('#')[0]} {x['ns_per_run']:.0f} ns × {x['runs']}"
                               for k, x in v["progs"].items()) + " |")
        L.append("")
    other = []
    if results.get("storm", {}).get("monitors", {}).get("execmond"):
        other.append(f"- peak RSS (VmHWM) over the storm rounds: "
                     f"{results['storm']['monitors']['execmond']['hwm_kib_max'] / 1024:.1f} MiB")
    if results.get("loss"):
        r = results["loss"]
        other.append(f"- loss run: {r['storm']['spawned']} execs at {r['storm']['rate']:.0f}/s, "
                     f"{r['tap']['tokens']} exec lines, {r['tap']['token_fork_ok']} with their fork, "
                     f"{r['tap']['token_exit_ok']} with their exit, lost records {r['tap']['lost_total']}, "
                     f"VmHWM {r['hwm_kib'] / 1024:.1f} MiB")
    if results.get("tinyring"):
        r = results["tinyring"]
        t_ = r["tap"]
        other.append(f"- tiny ring ({r['storm']['spawned']} execs, 64 KiB ring, daemon stopped for the storm's first 0.3 s): "
                     f"{t_['tokens']} execs delivered + {t_['lost_exec']} reported lost = "
                     f"{t_['tokens'] + t_['lost_exec']} ({'exact' if r['exact'] else 'NOT exact'}); "
                     f"{t_['lost_total']} records lost over all types in {t_['lost_lines']} lost line(s)")
    if results.get("churn"):
        r = results["churn"]
        other.append(f"- churn: {r['storm']['spawned']} execs at {r['storm']['rate']:.0f}/s, RSS first "
                     f"{r['rss_first_kib'] / 1024:.1f} MiB, after warm-up {r['rss_steady_min_kib'] / 1024:.1f}–"
                     f"{r['rss_steady_max_kib'] / 1024:.1f} MiB, last {r['rss_last_kib'] / 1024:.1f} MiB, "
                     f"VmHWM {r['hwm_kib'] / 1024:.1f} MiB; lost records {r['tap']['lost_total']}, "
                     f"{r['daemon_us_per_event']:.2f} daemon µs/event")
    if results.get("ready"):
        r = results["ready"]
        other.append(f"- READY=1 with {r['live']} extra live processes: median {r['ready_ms_median']:.1f} ms, max "
                     f"{r['ready_ms_max']:.1f} ms over {len(r['trials']) - 1} starts ({r['ready_ms_no_extra']:.1f} ms"
                     f" with none); processes found at start {[t['processes_known'] for t in r['trials']]}; SIGTERM→exit "
                     f"{', '.join('%.0f' % t['stop_ms'] for t in r['trials'] if t['stop_ms'] is not None)} ms, "
                     f"exit status {sorted(set(t['exit_status'] for t in r['trials']))}")
    if other:
        L += other + [""]
    if results.get("targets"):
        L.append("| target | goal | measured | met |")
        L.append("|---|---|---|---|")
        for t in results["targets"]:
            L.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
        L.append("")
    return "\n".join(L)


def plot(results, path):
    try:
        import matplotlib
    except ImportError:
        log("bench: no matplotlib (python3-matplotlib): no plot")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    st = results.get("storm", {}).get("monitors", {})
    names = list(st)
    colors = ["#2a7ab9" if n == "execmond" else "#999999" for n in names]
    ax = axes[0][0]
    if names:
        med = [st[n]["ratio_median"] for n in names]
        lo = [st[n]["ratio_median"] - st[n]["ratio_min"] for n in names]
        hi = [st[n]["ratio_max"] - st[n]["ratio_median"] for n in names]
        ax.bar(names, med, yerr=[lo, hi], color=colors, capsize=4)
        ax.axhline(0.97, color="#c0392b", ls="--", lw=1, label="target 0.97")
        ax.set_ylim(min(0.5, min(med) - 0.05), max(1.02, max(st[n]["ratio_max"] for n in names) + 0.04))
        for i, v in enumerate(med):
            ax.text(i, v + 0.005, f"{v:.3f}", ha="center", va="bottom", fontsize=9)
        ax.legend(loc="lower left")
    ax.set_title("Storm throughput vs no monitor (median, min–max)")
    ax.set_ylabel("throughput ratio")

    ax = axes[0][1]
    if names:
        cpu = [st[n]["cpu_s_per_1k_median"] * 1e3 for n in names]
        ax.bar(names, cpu, color=colors)
        for i, v in enumerate(cpu):
            ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=9)
    ax.set_title("Monitor + consumer CPU per 1,000 execs (median)")
    ax.set_ylabel("CPU ms per 1,000 execs")

    ax = axes[1][0]
    lat = results.get("latency", [])
    if lat:
        xs = [r["storm"]["rate"] for r in lat]
        for key, style in (("p50", "o-"), ("p99", "s-"), ("max", "^:")):
            ys = [(r["tap"]["lat_exec_to_line_ns"] or {}).get(key, 0) / 1e3 for r in lat]
            ax.plot(xs, ys, style, label=key)
        ax.axhline(2000, color="#c0392b", ls="--", lw=1, label="p99 target 2 ms")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend()
    ax.set_title("execmond exec→line latency at the client vs rate")
    ax.set_xlabel("exec/s (achieved)")
    ax.set_ylabel("µs")

    ax = axes[1][1]
    cv = results.get("curve", [])
    if cv:
        xs = [str(p["latency_us"]) for p in cv]
        ax.plot(xs, [p["p99_us_at_1000"] for p in cv], "s-", color="#2a7ab9", label="p99 @1,000/s (µs)")
        ax.set_ylabel("p99 latency at 1,000 exec/s (µs)")
        ax2 = ax.twinx()
        ax2.plot(xs, [p["ratio_median"] for p in cv], "o--", color="#e67e22", label="throughput ratio")
        ax2.set_ylabel("storm throughput ratio")
        lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left")
    ax.set_title("Wake-up trade-off: --latency-us")
    ax.set_xlabel("--latency-us")

    m = results.get("machine", {})
    fig.suptitle(f"execmond benchmarks — {m.get('cpus')} CPUs, {m.get('kernel')}, measured on this VM"
                 + (" (quick mode)" if results.get("config", {}).get("quick") else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, 1 round, all phases (~1-2 min)")
    ap.add_argument("--smoke", action="store_true",
                    help="execmond only, tiny counts (~15 s): for a test suite; implies --quick --check")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a correctness check fails (execs missing in the loss run, tiny-ring sum"
                         " not exact, execmond exit status); never on timings")
    ap.add_argument("--execmond", default=os.environ.get("EXECMOND"), help="execmond binary")
    ap.add_argument("--execmond-args", default="", help="extra execmond options for every execmond run")
    ap.add_argument("--monitors", default=",".join(MONITORS), help="comma list of " + ",".join(MONITORS))
    ap.add_argument("--phases", default="storm,latency,curve,loss,tinyring,churn,ready,bpfstats")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--count", type=int, help="execs per storm run")
    ap.add_argument("--churn-count", type=int)
    ap.add_argument("--loss-count", type=int)
    ap.add_argument("--tiny-count", type=int, help="execs in the tiny-ring run")
    ap.add_argument("--curve", help="comma list of --latency-us values for the curve phase")
    ap.add_argument("--live", type=int, default=1000)
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                    help="first wait up to S seconds for the machine to be < 10%% busy (and up to"
                         " min(S, 60) s before every storm pair)")
    ap.add_argument("--clean-pct", type=float, default=5.0, metavar="P",
                    help="a storm pair is undisturbed if other work used at most P points more of the"
                         " CPUs during it and its baselines than the least-loaded pair (default 5);"
                         " medians use undisturbed pairs when >= 3")
    ap.add_argument("--report", metavar="RESULTS_JSON",
                    help="no runs: re-summarize the storm pairs of a results.json (with --clean-pct) and"
                         " write results.md and bench.png next to it")
    args = ap.parse_args()
    if args.report:
        report_only(args.report, args.clean_pct)
        return

    if args.smoke:
        args.quick = args.check = True
        args.monitors = "execmond"
        args.phases = "storm,latency,loss,tinyring,ready"
    q = args.quick
    args.rounds = args.rounds or (1 if q else 5)
    args.count = args.count or (5000 if q else 30000)
    args.churn_count = args.churn_count or (20000 if q else 1_000_000)
    args.loss_count = args.loss_count or (10000 if q else 100_000)
    if args.smoke:
        args.count = min(args.count, 2000)
        args.loss_count = min(args.loss_count, 5000)
    args.lat_rates = ([(1000, 1000)] if args.smoke else [(100, 300), (1000, 2000), (None, 5000)] if q else
                      [(100, 1000), (400, 2000), (1000, 10000), (1600, 8000), (None, 30000)])
    args.curve = ([int(x) for x in args.curve.split(",")] if args.curve else
                  [0, 1000] if q else [0, 250, 1000, 4000])
    args.curve_rounds = 1 if q else 3
    args.curve_lat_count = 2000 if q else 5000
    args.ready_trials = 1 if q else 5
    args.tiny_count = args.tiny_count or (5000 if args.smoke else 10000 if q else 30000)
    args.tiny_ring = 65536
    args.rss_every = 0.5 if q else 1.0
    args.monitors = [m for m in args.monitors.split(",") if m]
    args.execmond_args = shlex.split(args.execmond_args)
    phases = [p for p in args.phases.split(",") if p]

    if os.geteuid() != 0:
        sys.exit("bench: must run as root (BPF)")
    for t in ("storm", "noop", "tap", "readywait"):
        if not os.access(tool(t), os.X_OK):
            sys.exit(f"bench: {tool(t)} missing: run bench/run.sh, which builds it")
    needs_execmond = "execmond" in args.monitors or set(phases) & {"latency", "curve", "loss", "tinyring", "churn", "ready"}
    if needs_execmond and not (args.execmond and os.access(args.execmond, os.X_OK)):
        if args.check:
            sys.exit(f"bench: no execmond binary ({args.execmond}): nothing to check")
        log(f"bench: no execmond binary ({args.execmond}); measuring the peers only")
        args.monitors = [m for m in args.monitors if m != "execmond"]
        phases = [p for p in phases if p not in ("latency", "curve", "loss", "tinyring", "churn", "ready")]

    os.makedirs(RUNS, exist_ok=True)
    for f in os.listdir(RUNS):
        os.unlink(os.path.join(RUNS, f))

    results = {"config": {"quick": q, "rounds": args.rounds, "count": args.count, "monitors": args.monitors,
                          "phases": phases, "execmond": args.execmond, "bpftrace_program": BPFTRACE_PROG},
               "machine": machine()}
    m = results["machine"]
    m["busy_pct_at_start"] = round(wait_quiet_machine(args.wait_quiet) if args.wait_quiet else busy_pct(), 1)
    log(f"bench: {m['cpus']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB, {m['kernel']}, load {m['loadavg_at_start']},"
        f" {m['busy_pct_at_start']} % busy before start")
    t0 = time.monotonic()
    for ph in phases:
        globals()["phase_" + ph](args, results)
        log(f"   ({time.monotonic() - t0:.0f} s elapsed)")
    results["targets"] = targets(results)
    results["elapsed_s"] = round(time.monotonic() - t0, 1)
    results["machine"]["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]

    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = tables(results)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(md + "\n")
    plot(results, os.path.join(OUT, "bench.png"))
    log("\n" + md)
    log(f"bench: {results['elapsed_s']} s; wrote {OUT}/results.json, results.md, bench.png")
    if args.check:
        bad = correctness_failures(results)
        for b in bad:
            log(f"bench: CHECK FAILED: {b}")
        sys.exit(1 if bad else 0)


def report_only(path, clean_pct):
    with open(path) as f:
        results = json.load(f)
    st = results.get("storm")
    if st:
        per = {m: s.get("runs_all", s["runs"]) for m, s in st["monitors"].items()}
        st["monitors"] = storm_summary(per, clean_pct)
    results["targets"] = targets(results)
    out = os.path.dirname(os.path.abspath(path))
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    md = tables(results)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md + "\n")
    plot(results, os.path.join(out, "bench.png"))
    log(md)


def correctness_failures(results):
    """What --check fails on: lost or unaccounted events and unclean exits, never timings."""
    bad = []
    r = results.get("loss")
    if r:
        t, n = r["tap"], r["storm"]["spawned"]
        if not (t["tokens"] == n and t["token_fork_ok"] == n and t["token_exit_ok"] == n and t["lost_total"] == 0):
            bad.append(f"loss run: {t['tokens']}/{n} execs, fork {t['token_fork_ok']}, exit {t['token_exit_ok']},"
                       f" lost {t['lost_total']}")
    r = results.get("tinyring")
    if r and not r["exact"]:
        bad.append(f"tiny ring: {r['tap']['tokens']} delivered + {r['tap']['lost_exec']} lost != "
                   f"{r['storm']['spawned']} spawned")
    if r and r["tap"]["lost_exec"] == 0:
        # A sum with nothing lost proves nothing about the lost counts.
        bad.append(f"tiny ring: nothing was lost ({r['tap']['tokens']} of {r['storm']['spawned']} delivered),"
                   " so the exact-loss accounting was not exercised")
    exits = []
    for x in results.get("storm", {}).get("monitors", {}).get("execmond", {}).get("runs", []):
        exits.append(x.get("exit"))
    for ph in ("latency",):
        exits += [x.get("exit") for x in results.get(ph, [])]
    for ph in ("loss", "tinyring", "churn"):
        if results.get(ph):
            exits.append(results[ph].get("exit"))
    exits += [{"status": t["exit_status"], "signal": 0} for t in results.get("ready", {}).get("trials", [])]
    for e in exits:
        if not e or e.get("status") != 0:
            bad.append(f"execmond did not exit 0 on SIGTERM: {e}")
    return bad


if __name__ == "__main__":
    main()
