"""execmond benchmarks: overhead, loss, latency, CPU per event and memory, against peers.

Run through bench/run.sh, which builds execmond and the C helpers (storm, noop, tap,
readywait) with meson into bench/out/build first. Everything stays on this machine: the
only sockets are execmond's Unix socket, readywait's NOTIFY_SOCKET and the audit netlink.

Phases (each prints as it goes; the summary tables come at the end):
  storm       rounds of pairs (no monitor, monitor) for execmond+socat, execsnoop,
              bpftrace, forkstat, auditd, laurel: throughput ratio, execs captured, CPU
  stormsplit  the same pairs for execmond with no client, socat > /dev/null, socat > file
  fixedrate   every monitor at 100, 1,000, 4,000 exec/s: % of a core of its processes
              plus its in-kernel cost, median of alternating pairs
  latency     execmond + tap client at fixed rates and at max: exec->line p50/p99/max
  curve       --latency-us sweep: throughput ratio (paired) and p99 at 1,000 exec/s
  loss        100,000 execs at max rate through execmond: every fork/exec/exit delivered?
  tinyring    a 64 KiB ring and a stopped daemon: delivered + lost execs == spawned?
  churn       1,000,000 execs through execmond: RSS sampled every second
  ready       time from start to READY=1 with 1,000 live processes
  bpfstats    in-kernel run time per probe invocation (kernel.bpf_stats_enabled)

Writes bench/out/results.json, bench/out/results.md (the tables) and bench/out/bench.png.
"""
import json
import os
import shutil
import sys
import time

from . import checks, config, machine, phases, procfs, render, stats
from .tools import log, wait_quiet_machine


def write_report(results, json_path):
    """results.json at json_path; results.md and bench.png next to it."""
    out = os.path.dirname(os.path.abspath(json_path))
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1)
    md = render.tables(results)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md + "\n")
    render.plot(results, os.path.join(out, "bench.png"))
    return md


def report_only(path, clean_pct):
    """Re-summarizes the storm pairs of a results.json and writes the report next to it."""
    with open(path) as f:
        results = json.load(f)
    for name in ("storm", "stormsplit"):
        st = results.get(name)
        if st:
            per = {m: s.get("runs_all", s["runs"]) for m, s in st["monitors"].items()}
            st["monitors"] = stats.storm_summary(per, clean_pct)
    results["targets"] = checks.targets(results)
    log(write_report(results, path))


def check_tools(cfg):
    for t in ("storm", "noop", "tap", "readywait"):
        if not os.access(cfg.tool(t), os.X_OK):
            sys.exit(f"bench: {cfg.tool(t)} missing: run bench/run.sh, which builds it")


def main(argv=None):
    ns = config.parser(__doc__).parse_args(argv)
    if ns.report:
        report_only(ns.report, ns.clean_pct)
        return
    if os.geteuid() != 0:
        sys.exit("bench: must run as root (BPF)")
    cfg, notes = config.from_args(ns)
    for n in notes:
        log(n)
    check_tools(cfg)
    shutil.rmtree(cfg.runs_dir, ignore_errors=True)
    os.makedirs(cfg.runs_dir)

    results = {"config": config.summary(cfg), "machine": machine.describe()}
    m = results["machine"]
    m["busy_pct_at_start"] = round(wait_quiet_machine(cfg.wait_quiet) if cfg.wait_quiet else procfs.busy_pct(), 1)
    log(f"bench: {m['cpus']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB, {m['kernel']}, load {m['loadavg_at_start']},"
        f" {m['busy_pct_at_start']} % busy before start")
    t0 = time.monotonic()
    for ph in cfg.phases:
        results[ph] = phases.run(ph, cfg)
        log(f"   ({time.monotonic() - t0:.0f} s elapsed)")
    results["targets"] = checks.targets(results)
    results["elapsed_s"] = round(time.monotonic() - t0, 1)
    results["machine"]["loadavg_at_end"] = procfs.loadavg()

    md = write_report(results, os.path.join(cfg.out, "results.json"))
    log("\n" + md)
    log(f"bench: {results['elapsed_s']} s; wrote {cfg.out}/results.json, results.md, bench.png")
    if cfg.check:
        bad = checks.correctness_failures(results)
        for b in bad:
            log(f"bench: CHECK FAILED: {b}")
        sys.exit(1 if bad else 0)
