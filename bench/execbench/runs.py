"""One measured run each: a storm with no monitor, a storm under a monitor, execmond with
the measuring tap client, a fixed-rate storm under a running monitor."""
import contextlib
import json
import os
import secrets
import signal
import subprocess
import time

from . import bpf, procfs
from .monitors import Execmond
from .tools import storm, storm_running


def new_run():
    """A storm's run id: its execs' tokens are execmond-bench-<run>-<seq>."""
    return secrets.token_hex(4)


def baseline_once(cfg, count, rate=None):
    ext = procfs.ExternalLoad().start()
    r = storm(cfg, count, new_run(), rate=rate)
    r["external_pct"] = ext.stop()
    return r


def monitored_once(cfg, mon, count, keep_output=False):
    """Start mon, storm, drain, measure, stop. Returns a dict of figures."""
    with mon:
        time.sleep(0.3)
        meter = procfs.CpuMeter(mon.pids()).start()
        ext = procfs.ExternalLoad().start()
        t0 = time.monotonic()
        res = storm(cfg, count, mon.run)
        mon.drain(mon.run, time.monotonic() - t0)
        cpu = meter.stop()
        cpu_total = procfs.total_ns(cpu)
        external_pct = ext.stop(cpu_total)
        hwm = mon.hwm_kib() if isinstance(mon, Execmond) else None
        # Without an output file of ours, the daemon's own count (which includes the
        # readiness markers and whatever else ran meanwhile).
        handled = mon.daemon_events() if isinstance(mon, Execmond) and mon.client != "socat" else None
    captured, detail = mon.count_tokens()
    r = {
        "rate": res["rate"],
        "spawned": res["spawned"],
        "captured": captured,
        "captured_frac": captured / res["spawned"] if captured is not None else None,
        "cpu_s": cpu_total / 1e9,
        "cpu_stat_s": procfs.total_ns(cpu, "stat_ns") / 1e9,
        "cpu_s_per_1k": cpu_total / 1e9 / (res["spawned"] / 1000),
        "cpu_by_pid": cpu,
        "external_pct": external_pct,
    }
    if isinstance(mon, Execmond):
        d_ns = cpu[mon.daemon_pid]["schedstat_ns"] or 0
        events = (detail["fork"] + detail["exec"] + detail["exit"]) if detail else handled
        r.update({
            "daemon_cpu_s": d_ns / 1e9,
            "daemon_us_per_event": d_ns / 1e3 / max(events or 0, 1),
            "events": events,
            "detail": detail,
            "hwm_kib": hwm,
            "ready_ms": mon.ready_ms,
            "exit": mon.exit_event,
        })
    if not keep_output:
        mon.remove_output()
    return r


def tap_run(cfg, count, rate, extra=(), label="execmond", rss_every=None, stall=None):
    """execmond + tap at a rate (None = max). Returns tap's figures plus CPU and memory.

    stall=SECONDS: SIGSTOP the daemon before the spawner starts (so that no storm, however
    fast, can end before the stop) and SIGCONT it SECONDS later, so that its kernel ring
    overflows for certain."""
    run = new_run()
    rss = []
    with Execmond(cfg, run, extra=extra, client="tap", count=count, label=label) as mon:
        time.sleep(0.2)
        tap_pid = mon.clients[0].pid
        meter = procfs.CpuMeter([mon.daemon_pid, tap_pid]).start()
        with contextlib.ExitStack() as resume:
            if stall:
                os.kill(mon.daemon_pid, signal.SIGSTOP)
                resume.callback(os.kill, mon.daemon_pid, signal.SIGCONT)
            t0 = time.monotonic()
            with storm_running(cfg, count, run, rate) as sp:
                if stall:
                    time.sleep(stall)
                    resume.close()
                while sp.poll() is None:
                    if rss_every:
                        rss.append((round(time.monotonic() - t0, 2), mon.rss_kib()))
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        sp.wait(rss_every or 1)
                sres = json.loads(sp.stdout.read())
        wall = time.monotonic() - t0
        tap = mon.tap_result(timeout=30)
        cpu = meter.stop()
        if rss_every:
            rss.append((round(time.monotonic() - t0, 2), mon.rss_kib()))
        hwm = mon.hwm_kib()
    d_ns = cpu[mon.daemon_pid]["schedstat_ns"] or 0
    c_ns = cpu[tap_pid]["schedstat_ns"] or 0
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


def fixed_once(cfg, mon, rate, seconds, run):
    """A storm of `seconds` at `rate` exec/s under the running monitor mon: the CPU of its
    processes, its BPF programs' run time (None without), the kernel threads working for it
    and the spawner's own CPU. The storm's tokens are execmond-bench-<run>-<seq>."""
    count = max(1, int(rate * seconds))
    progs = bpf.programs_of(mon.bpf_pids()) if mon.has_bpf else set()
    a = bpf.prog_stats(progs) if progs else {}
    procs = procfs.CpuMeter(mon.pids()).start()
    kthreads = procfs.CpuMeter(mon.kthread_pids()).start()
    ext = procfs.ExternalLoad().start()
    res = storm(cfg, count, run, rate=rate)
    mon.drain(run, res["elapsed_s"])
    p_cpu, k_cpu = procs.stop(), kthreads.stop()
    b = bpf.prog_stats(progs) if progs else {}
    procs_ns, kthread_ns = procfs.total_ns(p_cpu), procfs.total_ns(k_cpu)
    return {
        "rate_target": rate,
        "rate": res["rate"],
        "spawned": res["spawned"],
        "wall_s": res["elapsed_s"],
        "max_lag_ms": res.get("max_lag_ms"),
        "procs_ns": procs_ns,
        "bpf_ns": bpf.run_time_ns(b) - bpf.run_time_ns(a) if progs else None,
        "bpf_progs": bpf.delta(a, b),
        "kthread_ns": kthread_ns,
        "spawner_sys_ns": res["spawner_sys_ns"],
        "spawner_user_ns": res["spawner_user_ns"],
        "external_pct": ext.stop(procs_ns + kthread_ns),
    }
