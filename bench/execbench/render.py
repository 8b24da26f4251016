"""The results as markdown tables and as a plot (matplotlib, if installed)."""
from .tools import log

STORM_LABELS = {"execmond": "execmond + socat"}


def _storm_table(L, st, label_of=lambda m: m):
    L.append("| monitor | throughput ratio (median, min–max) | execs captured / spawned (median, min) |"
             " CPU s per 1,000 execs (monitor + consumer) | rounds used (undisturbed / run) |")
    L.append("|---|---|---|---|---|")
    for m, s in st["monitors"].items():
        n_all = len(s["runs_all"]) if "runs_all" in s else len(s["runs"])
        captured = (f"{s['captured_median'] * 100:.2f} % ({s['captured_min'] * 100:.2f} %)"
                    if s.get("captured_median") is not None else "–")
        L.append(f"| {label_of(m)} | {s['ratio_median']:.3f} ({s['ratio_min']:.3f}–{s['ratio_max']:.3f}) |"
                 f" {captured} | {s['cpu_s_per_1k_median']:.4f} | {len(s['runs'])} ({s.get('clean_rounds', '?')}"
                 f" / {n_all}) |")
    L.append("")


def _rounds(st):
    return len(next(iter(st["monitors"].values()))["runs"]) if st["monitors"] else 0


def tables(results):
    L = []
    st = results.get("storm")
    if st and st["monitors"]:
        L.append(f"Storm: {st['count']} execs per run, {_rounds(st)} paired"
                 f" rounds, baseline median {st['baseline_rate_median']:.0f} exec/s\n")
        _storm_table(L, st, lambda m: STORM_LABELS.get(m, m))
    sp = results.get("stormsplit")
    if sp and sp["monitors"]:
        L.append(f"Where execmond's storm cost goes: {sp['count']} execs per run, {_rounds(sp)} paired rounds,"
                 f" baseline median {sp['baseline_rate_median']:.0f} exec/s\n")
        L.append("| execmond | throughput ratio (median, min–max) | daemon µs/event | CPU s per 1,000 execs"
                 " (daemon + client) | rounds used (undisturbed / run) |")
        L.append("|---|---|---|---|---|")
        for m, s in sp["monitors"].items():
            L.append(f"| {m} | {s['ratio_median']:.3f} ({s['ratio_min']:.3f}–{s['ratio_max']:.3f}) |"
                     f" {s['daemon_us_per_event_median']:.2f} | {s['cpu_s_per_1k_median']:.4f} |"
                     f" {len(s['runs'])} ({s['clean_rounds']} / {len(s['runs_all'])}) |")
        L.append("")
    fx = results.get("fixedrate")
    if fx and fx["monitors"]:
        rates = [str(r) for r in fx["rates"]]
        pairs = max(s["pairs"] for ms in fx["monitors"].values() for s in ms.values())
        L.append(f"Fixed rates: CPU in % of one core, the monitor's own processes plus its in-kernel cost"
                 f" (BPF run time; for monitors without BPF the spawner's extra system time over its baseline"
                 f" plus kauditd), median of {pairs} alternating pair(s) of {fx['seconds']:g} s; in brackets"
                 f" the processes alone\n")
        L.append("| monitor | " + " | ".join(f"{int(r):,} exec/s" for r in rates) + " | execs captured |")
        L.append("|---|" + "---|" * len(rates) + "---|")
        for m, ms in fx["monitors"].items():
            cells = []
            for r in rates:
                s = ms.get(r)
                cells.append(f"{s['total_pct_median']:.2f} % ({s['procs_pct_median']:.2f})" if s else "–")
            caps = [ms[r]["captured_median"] for r in rates if r in ms and ms[r]["captured_median"] is not None]
            cap = f"{min(caps) * 100:.1f} % (least)" if caps else "–"
            src = "" if m == "execmond" else (" (kernel: spawner sys)" if any(
                s["kernel_source"] == "spawner_sys" for s in ms.values()) else "")
            L.append(f"| {STORM_LABELS.get(m, m)}{src} | " + " | ".join(cells) + f" | {cap} |")
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
        other.append(f"- tiny ring ({r['storm']['spawned']} execs, 64 KiB ring, daemon stopped for the storm's first"
                     f" 0.3 s): {t_['tokens']} execs delivered + {t_['lost_exec']} reported lost = "
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


def _bar_colors(names):
    return ["#2a7ab9" if n.startswith("execmond") else "#999999" for n in names]


def _storm_panel(ax, st, target=None):
    names = list(st)
    if names:
        med = [st[n]["ratio_median"] for n in names]
        lo = [st[n]["ratio_median"] - st[n]["ratio_min"] for n in names]
        hi = [st[n]["ratio_max"] - st[n]["ratio_median"] for n in names]
        ax.bar(range(len(names)), med, yerr=[lo, hi], color=_bar_colors(names), capsize=4)
        ax.set_xticks(range(len(names)), names, rotation=15, fontsize=8)
        if target:
            ax.axhline(target, color="#c0392b", ls="--", lw=1, label=f"target {target}")
            ax.legend(loc="lower left")
        ax.set_ylim(min(0.5, min(med) - 0.05), max(1.02, max(st[n]["ratio_max"] for n in names) + 0.04))
        for i, v in enumerate(med):
            ax.text(i, v + 0.005, f"{v:.3f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("throughput ratio")


def plot(results, path):
    try:
        import matplotlib
    except ImportError:
        log("bench: no matplotlib (python3-matplotlib): no plot")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 2, figsize=(12, 12.5))
    st = results.get("storm", {}).get("monitors", {})
    _storm_panel(axes[0][0], st, target=0.97)
    axes[0][0].set_title("Storm throughput vs no monitor (median, min–max)")

    ax = axes[0][1]
    names = list(st)
    if names:
        cpu = [st[n]["cpu_s_per_1k_median"] * 1e3 for n in names]
        ax.bar(range(len(names)), cpu, color=_bar_colors(names))
        ax.set_xticks(range(len(names)), names, rotation=15, fontsize=8)
        for i, v in enumerate(cpu):
            ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=9)
    ax.set_title("Monitor + consumer CPU per 1,000 execs (median)")
    ax.set_ylabel("CPU ms per 1,000 execs")

    ax = axes[1][0]
    fx = results.get("fixedrate", {})
    if fx.get("monitors"):
        rates = [str(r) for r in fx["rates"]]
        ms = list(fx["monitors"])
        width = 0.8 / len(ms)
        peer_colors = iter(["#999999", "#e67e22", "#27ae60", "#c0392b", "#8e44ad", "#7f8c8d", "#f1c40f"])
        for i, m in enumerate(ms):
            ys = [(fx["monitors"][m].get(r) or {}).get("total_pct_median") or 0 for r in rates]
            ax.bar([j + i * width for j in range(len(rates))], ys, width,
                   label=m, color="#2a7ab9" if m == "execmond" else next(peer_colors, None))
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(rates))], [f"{int(r):,}/s" for r in rates])
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_title("Fixed rates: processes + in-kernel CPU (median)")
    ax.set_ylabel("% of one core")

    ax = axes[1][1]
    _storm_panel(ax, results.get("stormsplit", {}).get("monitors", {}))
    ax.set_title("Where execmond's storm cost goes")

    ax = axes[2][0]
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

    ax = axes[2][1]
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
