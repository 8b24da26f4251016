"""Statistics of the bench as pure functions: nothing here reads the machine or mutates
its arguments, so bench/tests/test_stats.py can pin each one down."""
import statistics


def present(xs):
    return [x for x in xs if x is not None]


def median(xs):
    """Median of the values that are not None; None if there are none."""
    xs = present(xs)
    return statistics.median(xs) if xs else None


def mean(xs):
    xs = present(xs)
    return sum(xs) / len(xs) if xs else None


def minimum(xs):
    xs = present(xs)
    return min(xs) if xs else None


def maximum(xs):
    xs = present(xs)
    return max(xs) if xs else None


def percentile(xs, p):
    """Nearest-rank percentile (p in [0, 1]) as bench/tap.c computes it:
    sorted(xs)[round((n - 1) * p)]; None for no values."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"percentile: p={p} outside [0, 1]")
    v = sorted(present(xs))
    if not v:
        return None
    return v[int((len(v) - 1) * p + 0.5)]


def baseline_of(before, after):
    """The baseline a monitored run is compared with: the mean of the baseline runs just
    before and just after it, which cancels a drift of the machine over the pair."""
    return (before + after) / 2


def paired_ratio(value, before, after):
    """value / baseline_of(before, after), e.g. throughput with a monitor over without;
    None when the baseline is not positive."""
    base = baseline_of(before, after)
    return value / base if base > 0 else None


def extra_over(value, before, after):
    """value - baseline_of(before, after): what a monitor added, e.g. the spawner's system
    time. Can be negative: noise, kept as measured."""
    return value - baseline_of(before, after)


def load_floor(external_pcts):
    """The least other load any pair saw (0 if none is known)."""
    known = present(external_pcts)
    return min(known) if known else 0.0


def clean_flags(external_pcts, clean_pct, floor=None):
    """Which pairs were undisturbed: other load (% of all CPUs used by processes other
    than the bench's during the pair) at most clean_pct points above floor, by default
    the least any of these pairs saw. Relative, because even alone a storm leaves some CPU
    busy outside the bench's processes (kernel threads finishing its exits). A pair whose
    load is not known (None) counts as undisturbed."""
    if floor is None:
        floor = load_floor(external_pcts)
    return [x is None or x <= floor + clean_pct for x in external_pcts]


def pick_runs(runs, flags, min_clean=3):
    """The undisturbed runs if there are at least min_clean of them, else all of them;
    and which it was ("clean" or "all")."""
    clean = [r for r, ok in zip(runs, flags) if ok]
    if len(clean) >= min_clean:
        return clean, "clean"
    return list(runs), "all"


def storm_summary(per, clean_pct):
    """Medians per monitor of paired storm runs over the undisturbed pairs (when at least
    3 of them). per: {monitor: [run, ...]}, each run a dict with ratio, captured_frac,
    cpu_s_per_1k, external_max_pct (and for execmond daemon_us_per_event, hwm_kib, detail).
    Returns a new dict; the runs it holds are copies with "clean" set."""
    floor = load_floor([r.get("external_max_pct") for rs in per.values() for r in rs])
    summary = {}
    for m, all_rs in per.items():
        if not all_rs:
            continue
        flags = clean_flags([r.get("external_max_pct") for r in all_rs], clean_pct, floor)
        marked = [dict(r, clean=ok) for r, ok in zip(all_rs, flags)]
        rs, over = pick_runs(marked, [r["clean"] for r in marked])
        s = {
            "other_load_floor_pct": floor,
            "clean_rounds": sum(1 for r in marked if r["clean"]),
            "summary_over": over,
            "rounds": len(rs),
            "ratio_median": median([r["ratio"] for r in rs]),
            "ratio_min": minimum([r["ratio"] for r in rs]),
            "ratio_max": maximum([r["ratio"] for r in rs]),
            "captured_median": median([r.get("captured_frac") for r in rs]),
            "captured_min": minimum([r.get("captured_frac") for r in rs]),
            "cpu_s_per_1k_median": median([r["cpu_s_per_1k"] for r in rs]),
            "runs": rs,
            "runs_all": marked,
        }
        if any("daemon_us_per_event" in r for r in rs):
            s["daemon_us_per_event_median"] = median([r.get("daemon_us_per_event") for r in rs])
            s["hwm_kib_max"] = maximum([r.get("hwm_kib") for r in rs]) or 0
            s["lost_total"] = sum(r["detail"]["lost"] for r in rs if r.get("detail"))
        summary[m] = s
    return summary


def cpu_pct(ns, wall_s):
    """ns of CPU over wall_s seconds, in % of one core."""
    return 100.0 * ns / 1e9 / wall_s if wall_s > 0 else None


def fixed_pair(run, before, after):
    """One fixed-rate pair: a monitored run between two baseline runs at the same rate.

    run: {"wall_s", "procs_ns" (the monitor's own processes), "bpf_ns" (its BPF programs'
    run time, None for a monitor without BPF), "kthread_ns" (kernel threads working for
    it, e.g. kauditd), "spawner_sys_ns", "rate", "captured_frac"}; before/after:
    {"spawner_sys_ns", "wall_s"}. The in-kernel cost is the BPF run time if the monitor
    has BPF programs, else the spawner's extra system time over the baseline (per second
    of storm, so runs of unequal length compare) plus the kernel threads' time; negative
    extra (noise) counts as 0 in the total."""
    wall = run["wall_s"]
    base_sys_per_s = baseline_of(before["spawner_sys_ns"] / before["wall_s"],
                                 after["spawner_sys_ns"] / after["wall_s"])
    extra_sys_ns = run["spawner_sys_ns"] - base_sys_per_s * wall
    if run.get("bpf_ns") is not None:
        kernel_ns = run["bpf_ns"]
        source = "bpf"
    else:
        kernel_ns = max(0.0, extra_sys_ns) + (run.get("kthread_ns") or 0)
        source = "spawner_sys"
    procs = cpu_pct(run["procs_ns"], wall)
    kernel = cpu_pct(kernel_ns, wall)
    return {
        "rate": run.get("rate"),
        "captured_frac": run.get("captured_frac"),
        "procs_pct": procs,
        "kernel_pct": kernel,
        "kernel_source": source,
        "total_pct": procs + kernel,
        "spawner_extra_sys_pct": cpu_pct(extra_sys_ns, wall),
        "external_pct": run.get("external_pct"),
    }


def fixed_summary(pairs, clean_pct):
    """Medians over a monitor's pairs at one rate (undisturbed ones when at least 3)."""
    flags = clean_flags([p.get("external_pct") for p in pairs], clean_pct)
    rs, over = pick_runs(pairs, flags)
    return {
        "pairs": len(rs),
        "summary_over": over,
        "rate_median": median([p["rate"] for p in rs]),
        "procs_pct_median": median([p["procs_pct"] for p in rs]),
        "kernel_pct_median": median([p["kernel_pct"] for p in rs]),
        "total_pct_median": median([p["total_pct"] for p in rs]),
        "total_pct_min": minimum([p["total_pct"] for p in rs]),
        "total_pct_max": maximum([p["total_pct"] for p in rs]),
        "spawner_extra_sys_pct_median": median([p["spawner_extra_sys_pct"] for p in rs]),
        "captured_median": median([p.get("captured_frac") for p in rs]),
        "kernel_source": rs[0]["kernel_source"] if rs else None,
    }


def rss_steady(series, warmup_frac=0.1):
    """RSS samples (KiB, None for a failed read) of a long run: first, the range after the
    first warmup_frac of the samples (at least one sample skipped), and the last."""
    s = present(series)
    if not s:
        return {"first": None, "steady_min": None, "steady_max": None, "spread": None, "last": None}
    skip = max(1, int(len(s) * warmup_frac))
    steady = s[skip:] or s
    return {"first": s[0], "steady_min": min(steady), "steady_max": max(steady),
            "spread": max(steady) - min(steady), "last": s[-1]}
