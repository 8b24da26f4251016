"""What the results say against the goals: targets (figures with a met flag; never a
failure) and the correctness failures that --check exits 1 on."""


def targets(results):
    t = []

    def add(name, goal, value, met, note=""):
        t.append({"target": name, "goal": goal, "measured": value, "met": met, "note": note})

    em = results.get("storm", {}).get("monitors", {}).get("execmond")
    if em:
        add("throughput ratio at max storm", ">= 0.97", round(em["ratio_median"], 3), em["ratio_median"] >= 0.97)
    alone = results.get("stormsplit", {}).get("monitors", {}).get("execmond, no client")
    if alone:
        add("throughput ratio at max storm, no client", ">= 0.985", round(alone["ratio_median"], 3),
            alone["ratio_median"] >= 0.985)
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
    low = [r for r in results.get("latency", []) if r["rate_target"] == 100]
    if low:
        v = low[0]["daemon_us_per_event"]
        add("daemon CPU per event at 100 exec/s", "<= 5 us", f"{v:.2f} us", v <= 5.0)
    fixed = results.get("fixedrate", {}).get("monitors", {})
    for rate, goal in (("100", 0.5), ("1000", 2.0)):
        s = fixed.get("execmond", {}).get(rate)
        if s:
            v = s["total_pct_median"]
            add(f"whole cost at {int(rate):,} exec/s (processes + in-kernel)", f"<= {goal} % of a core",
                f"{v:.2f} %", v <= goal)
    if "execmond" in fixed and len(fixed) > 1:
        worse = []
        for rate, s in fixed["execmond"].items():
            for peer, ps in fixed.items():
                if peer != "execmond" and rate in ps and ps[rate]["total_pct_median"] <= s["total_pct_median"]:
                    worse.append(f"{peer} at {rate}/s ({ps[rate]['total_pct_median']:.2f} % vs"
                                 f" {s['total_pct_median']:.2f} %)")
        add("cheaper than every peer at every fixed rate", "yes", "; ".join(worse) or "yes", not worse)
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
    exits = [x.get("exit") for x in results.get("storm", {}).get("monitors", {}).get("execmond", {}).get("runs", [])]
    for s in results.get("stormsplit", {}).get("monitors", {}).values():
        exits += [x.get("exit") for x in s["runs"]]
    exits += [x.get("exit") for x in results.get("latency", [])]
    for ph in ("loss", "tinyring", "churn"):
        if results.get(ph):
            exits.append(results[ph].get("exit"))
    exits += [{"status": t["exit_status"], "signal": 0} for t in results.get("ready", {}).get("trials", [])]
    for e in exits:
        if not e or e.get("status") != 0:
            bad.append(f"execmond did not exit 0 on SIGTERM: {e}")
    return bad
