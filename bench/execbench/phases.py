"""The phases, registered by name with @phase: each takes the Config and returns what
results.json keeps under its name. Each prints as it goes."""
import json
import os
import re
import subprocess
import time

from . import bpf, stats
from .monitors import MONITORS, Execmond, make_monitor
from .runs import baseline_once, fixed_once, monitored_once, new_run, tap_run
from .tools import log, storm, wait_quiet_machine

PHASES = {}


def phase(name):
    """Registers the decorated function as phase `name`."""
    def register(fn):
        if name in PHASES:
            raise ValueError(f"phase {name} registered twice")
        PHASES[name] = fn
        return fn
    return register


def run(name, cfg):
    return PHASES[name](cfg)


def maybe_wait_quiet(cfg):
    if cfg.wait_quiet:
        wait_quiet_machine(min(cfg.wait_quiet, 60))


def paired_storms(cfg, names, make):
    """Rounds of `no monitor, M1, no monitor, M2, ..., no monitor`, the order rotated each
    round: each monitored rate is divided by the mean of the baselines just before and
    just after it, which cancels drift. Returns ({name: [run, ...]}, [baseline rates])."""
    per = {m: [] for m in names}
    bases = []
    for rnd in range(cfg.rounds):
        k = rnd % len(names)
        order = names[k:] + names[:k]
        maybe_wait_quiet(cfg)
        b = baseline_once(cfg, cfg.count)
        prev, prev_ext = b["rate"], b["external_pct"]
        bases.append(prev)
        for m in order:
            maybe_wait_quiet(cfg)
            try:
                r = monitored_once(cfg, make(m), cfg.count, keep_output=(rnd == 0))
            except RuntimeError as e:
                log(f"  round {rnd + 1} {m}: FAILED: {e}")
                continue
            b = baseline_once(cfg, cfg.count)
            nxt, nxt_ext = b["rate"], b["external_pct"]
            bases.append(nxt)
            r["baseline_rate"] = stats.baseline_of(prev, nxt)
            r["ratio"] = stats.paired_ratio(r["rate"], prev, nxt)
            # Other load over the pair: its baselines and the run itself.
            r["external_max_pct"] = max(prev_ext, r["external_pct"], nxt_ext)
            prev, prev_ext = nxt, nxt_ext
            per[m].append(r)
            extra = ""
            if "daemon_us_per_event" in r:
                extra = f" daemon {r['daemon_us_per_event']:.2f} us/event, HWM {r['hwm_kib']} KiB"
                if r["detail"]:
                    d = r["detail"]
                    extra += f", lost {d['lost']}, fork/exit ok {d['token_fork_ok']}/{d['token_exit_ok']}"
            captured = f"{r['captured']}/{r['spawned']}" if r["captured"] is not None else "n/a"
            log(f"  round {rnd + 1} {m:9s}: base {r['baseline_rate']:8.0f}/s, with {r['rate']:8.0f}/s,"
                f" ratio {r['ratio']:.3f}, captured {captured},"
                f" cpu {r['cpu_s_per_1k'] * 1e3:.1f} ms/1k execs{extra};"
                f" other load {r['external_max_pct']:.1f} %")
    return per, bases


@phase("storm")
def storm_phase(cfg):
    log(f"== storm: {cfg.rounds} rounds x {len(cfg.monitors)} pairs, {cfg.count} execs each")
    per, bases = paired_storms(cfg, list(cfg.monitors), lambda m: make_monitor(m, cfg, new_run()))
    return {"count": cfg.count, "baseline_rate_median": stats.median(bases),
            "monitors": stats.storm_summary(per, cfg.clean_pct)}


# Where execmond's storm cost goes: the daemon alone, then the cost of a client reading
# (and throwing away) every line, then of a client writing them to a file.
SPLIT = {"execmond, no client": "none", "execmond + socat > /dev/null": "null", "execmond + socat > file": "socat"}


@phase("stormsplit")
def stormsplit_phase(cfg):
    log(f"== storm split: {cfg.rounds} rounds x {len(SPLIT)} execmond variants, {cfg.count} execs each")
    per, bases = paired_storms(cfg, list(SPLIT),
                               lambda m: Execmond(cfg, new_run(), client=SPLIT[m], label="execmond-" + SPLIT[m]))
    return {"count": cfg.count, "baseline_rate_median": stats.median(bases),
            "monitors": stats.storm_summary(per, cfg.clean_pct)}


@phase("fixedrate")
def fixedrate_phase(cfg):
    """Every monitor at each fixed rate: CPU % of one core of its own processes plus its
    in-kernel cost, in alternating pairs: baselines at every rate, the monitor (started
    once) at every rate, baselines again; the order of monitors rotated each round."""
    rates, secs = cfg.fixed_rates, cfg.fixed_seconds
    names = list(cfg.monitors)
    log(f"== fixed rates {', '.join(map(str, rates))} exec/s, {secs:g} s each: {cfg.fixed_rounds} rounds x"
        f" {len(names)} monitors (kernel.bpf_stats_enabled=1 throughout)")
    pairs = {m: {r: [] for r in rates} for m in names}
    runs = {m: {r: [] for r in rates} for m in names}
    bases = []
    with bpf.stats_enabled():
        for rnd in range(cfg.fixed_rounds):
            k = rnd % len(names)
            order = names[k:] + names[:k]
            maybe_wait_quiet(cfg)
            before = {r: baseline_once(cfg, max(1, int(r * secs)), rate=r) for r in rates}
            bases.append(before)
            for m in order:
                maybe_wait_quiet(cfg)
                got = {}
                try:
                    with make_monitor(m, cfg, new_run()) as mon:
                        time.sleep(0.3)
                        for r in rates:
                            got[r] = fixed_once(cfg, mon, r, secs, run=f"{mon.run}r{r}")
                    for r in rates:
                        captured, _ = mon.count_tokens(run=f"{mon.run}r{r}")
                        got[r]["captured_frac"] = captured / got[r]["spawned"] if captured is not None else None
                    mon.remove_output()
                except RuntimeError as e:
                    log(f"  round {rnd + 1} {m}: FAILED: {e}")
                    continue
                after = {r: baseline_once(cfg, max(1, int(r * secs)), rate=r) for r in rates}
                bases.append(after)
                for r in rates:
                    run = got[r]
                    run["bpf_ns_per_exec"] = run["bpf_ns"] / run["spawned"] if run["bpf_ns"] is not None else None
                    p = stats.fixed_pair(run, _sys(before[r]), _sys(after[r]))
                    p["external_pct"] = max(before[r]["external_pct"], run["external_pct"], after[r]["external_pct"])
                    pairs[m][r].append(p)
                    runs[m][r].append(run)
                    cap = f"{p['captured_frac'] * 100:.1f} %" if p["captured_frac"] is not None else "n/a"
                    log(f"  round {rnd + 1} {m:9s} {r:5d}/s ({run['rate']:.0f} achieved): {p['total_pct']:5.2f} %"
                        f" of a core = processes {p['procs_pct']:.2f} + kernel {p['kernel_pct']:.2f}"
                        f" ({p['kernel_source']}); spawner extra sys {p['spawner_extra_sys_pct']:+.2f} %;"
                        f" captured {cap}; other load {p['external_pct']:.1f} %")
                before = after
    return {"rates": list(rates), "seconds": secs,
            "monitors": {m: {str(r): dict(stats.fixed_summary(pairs[m][r], cfg.clean_pct),
                                          pairs_all=pairs[m][r], runs=runs[m][r])
                             for r in rates if pairs[m][r]}
                         for m in names if any(pairs[m].values())}}


def _sys(base):
    return {"spawner_sys_ns": base["spawner_sys_ns"], "wall_s": base["elapsed_s"]}


def fmt_lat(t):
    la = t["tap"]["lat_exec_to_line_ns"]
    if not la:
        return "no samples"
    return f"p50 {la['p50'] / 1e3:.0f} us, p99 {la['p99'] / 1e3:.0f} us, max {la['max'] / 1e3:.0f} us"


@phase("latency")
def latency_phase(cfg):
    log("== latency: execmond + tap at fixed rates")
    out = []
    for rate, count in cfg.lat_rates:
        r = tap_run(cfg, count, rate)
        t = r["tap"]
        log(f"  {('max' if not rate else rate):>5} exec/s ({r['storm']['rate']:.0f} achieved):"
            f" {fmt_lat(r)}; tokens {t['tokens']}/{count}, lost {t['lost_total']},"
            f" daemon {r['daemon_cpu_pct']:.1f}% CPU, {r['daemon_us_per_event']:.2f} us/event")
        out.append(r)
    return out


@phase("curve")
def curve_phase(cfg):
    log(f"== latency-us curve: {list(cfg.curve)}")
    pts = []
    for lat in cfg.curve:
        extra = ["--latency-us", str(lat)]
        ratios, dus, exts = [], [], []
        maybe_wait_quiet(cfg)
        b = baseline_once(cfg, cfg.count)
        prev, prev_ext = b["rate"], b["external_pct"]
        for _ in range(cfg.curve_rounds):
            maybe_wait_quiet(cfg)
            r = monitored_once(cfg, Execmond(cfg, new_run(), extra=extra), cfg.count)
            b = baseline_once(cfg, cfg.count)
            nxt, nxt_ext = b["rate"], b["external_pct"]
            ratios.append(stats.paired_ratio(r["rate"], prev, nxt))
            exts.append(max(prev_ext, r["external_pct"], nxt_ext))
            prev, prev_ext = nxt, nxt_ext
            dus.append(r["daemon_us_per_event"])
        maybe_wait_quiet(cfg)
        lr = tap_run(cfg, cfg.curve_lat_count, 1000, extra=extra)
        la = lr["tap"]["lat_exec_to_line_ns"] or {}
        p = {
            "latency_us": lat,
            "ratio_median": stats.median(ratios),
            "ratios": ratios,
            "external_pct": exts,
            "daemon_us_per_event_median": stats.median(dus),
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
    return pts


@phase("loss")
def loss_phase(cfg):
    log(f"== loss: {cfg.loss_count} execs at max rate through execmond + tap")
    r = tap_run(cfg, cfg.loss_count, None)
    t = r["tap"]
    log(f"  tokens {t['tokens']}/{cfg.loss_count}, fork ok {t['token_fork_ok']}, exit ok {t['token_exit_ok']},"
        f" lost lines {t['lost_lines']} (count {t['lost_total']}), {r['storm']['rate']:.0f} exec/s,"
        f" {r['daemon_us_per_event']:.2f} us/event")
    return r


@phase("tinyring")
def tinyring_phase(cfg):
    log(f"== tiny ring: {cfg.tiny_count} execs at max rate, execmond --ring-size {cfg.tiny_ring},"
        f" daemon stopped (SIGSTOP) for the storm's first 0.3 s")
    # --follow this process: the lost counts then cover only the bench's own execs, not
    # whatever else the machine runs meanwhile, so the sum can be exact.
    extra = ["--ring-size", str(cfg.tiny_ring), "--follow", str(os.getpid())]
    r = tap_run(cfg, cfg.tiny_count, None, extra=extra, label="execmond-tiny", stall=0.3)
    t = r["tap"]
    n = r["storm"]["spawned"]
    r["exact"] = t["tokens"] + t["lost_exec"] == n and t["lost_exec_known"]
    log(f"  delivered {t['tokens']} + lost (exec) {t['lost_exec']} = {t['tokens'] + t['lost_exec']} of {n} spawned:"
        f" {'exact' if r['exact'] else 'NOT exact'}; lost records all types {t['lost_total']}"
        f" in {t['lost_lines']} lost lines")
    return r


@phase("churn")
def churn_phase(cfg):
    log(f"== churn: {cfg.churn_count} execs through execmond + tap, RSS every {cfg.rss_every} s")
    r = tap_run(cfg, cfg.churn_count, None, rss_every=cfg.rss_every)
    rss = stats.rss_steady([kib for _, kib in r["rss_series"]])
    r["rss_first_kib"] = rss["first"]
    r["rss_steady_min_kib"] = rss["steady_min"]
    r["rss_steady_max_kib"] = rss["steady_max"]
    r["rss_steady_spread_kib"] = rss["spread"]
    r["rss_last_kib"] = rss["last"]
    t = r["tap"]
    log(f"  {r['storm']['spawned']} execs at {r['storm']['rate']:.0f}/s; RSS first {r['rss_first_kib']} KiB,"
        f" steady {r['rss_steady_min_kib']}..{r['rss_steady_max_kib']} KiB"
        f" (spread {r['rss_steady_spread_kib']} KiB), HWM {r['hwm_kib']} KiB;"
        f" tokens {t['tokens']}, lost {t['lost_total']}, {r['daemon_us_per_event']:.2f} us/event")
    return r


@phase("ready")
def ready_phase(cfg):
    log(f"== ready: start to READY=1 with {cfg.live} live processes, {cfg.ready_trials} trials")
    trials = []
    for i in range(cfg.ready_trials + 1):
        # The first start has no extra processes: what the 1,000 cost is the difference.
        live = 0 if i == 0 else cfg.live
        sock = os.path.join(cfg.runs_dir, f"ready-{new_run()}.sock")
        p = subprocess.run([cfg.tool("readywait"), "--live", str(live), "--ready-only", "--", cfg.execmond,
                            "--socket", sock, "--log-target", "stderr"] + list(cfg.execmond_args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        evs = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
        ready = next((e for e in evs if e["event"] == "ready"), None)
        ex = next((e for e in evs if e["event"] == "exit"), None)
        known = re.search(r"(\d+) processes known", p.stderr)
        trials.append({"live": live, "ready_ms": ready["ready_ms"] if ready else None, "stop_ms": ex and ex["stop_ms"],
                       "exit_status": ex and ex["status"], "processes_known": int(known.group(1)) if known else None})
        time.sleep(0.3)
    ok = [t["ready_ms"] for t in trials[1:]]
    res = {"live": cfg.live, "trials": trials, "ready_ms_median": stats.median(ok), "ready_ms_max": stats.maximum(ok),
           "ready_ms_no_extra": trials[0]["ready_ms"]}
    log(f"  READY=1 after {res['ready_ms_median']} ms median, {res['ready_ms_max']} ms max"
        f" ({res['ready_ms_no_extra']} ms with no extra processes);"
        f" known {[t['processes_known'] for t in trials]}, SIGTERM->exit"
        f" {[t['stop_ms'] for t in trials]} ms, status {[t['exit_status'] for t in trials]}")
    return res


@phase("bpfstats")
def bpfstats_phase(cfg):
    log("== bpf_stats: in-kernel ns per probe run (kernel.bpf_stats_enabled=1)")
    out = {}
    with bpf.stats_enabled():
        for m in [x for x in cfg.monitors if MONITORS[x].has_bpf]:
            before = bpf.loaded_ids()
            with make_monitor(m, cfg, new_run()) as mon:
                time.sleep(0.3)
                mine = bpf.programs_of(mon.bpf_pids(), loaded_before=before)
                a = bpf.prog_stats(mine)
                storm(cfg, cfg.count, mon.run)
                b = bpf.prog_stats(mine)
            mon.remove_output()
            progs = {k: {"runs": v["runs"], "ns_per_run": v["ns"] / v["runs"], "ns_per_exec": v["ns"] / cfg.count}
                     for k, v in bpf.delta(a, b).items()}
            total = sum(v["ns_per_exec"] for v in progs.values())
            out[m] = {"progs": progs, "ns_per_exec_total": total}
            log(f"  {m:9s}: {total:6.0f} ns in BPF per spawned exec; " +
                ", ".join(f"{k} {v['ns_per_run']:.0f} ns x {v['runs']}" for k, v in progs.items()))
    return out
