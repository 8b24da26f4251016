"""The run's settings: one frozen Config, built once from the command line (the argparse
Namespace is read, never changed)."""
import argparse
import dataclasses
import os
import shlex

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
REPO = os.path.dirname(HERE)

MONITORS = ("execmond", "execsnoop", "bpftrace", "forkstat", "auditd", "laurel")
PHASES = ("storm", "stormsplit", "fixedrate", "latency", "curve", "loss", "tinyring", "churn", "ready",
          "bpfstats")
# Phases that run execmond whatever --monitors says.
EXECMOND_PHASES = ("stormsplit", "latency", "curve", "loss", "tinyring", "churn", "ready")
SMOKE_PHASES = ("storm", "latency", "loss", "tinyring", "ready")


@dataclasses.dataclass(frozen=True)
class Config:
    quick: bool
    smoke: bool
    check: bool
    execmond: str
    execmond_args: tuple
    monitors: tuple
    phases: tuple
    rounds: int
    count: int
    churn_count: int
    loss_count: int
    tiny_count: int
    tiny_ring: int
    lat_rates: tuple  # ((rate or None for max, count), ...)
    curve: tuple
    curve_rounds: int
    curve_lat_count: int
    ready_trials: int
    live: int
    rss_every: float
    wait_quiet: float
    clean_pct: float
    fixed_rates: tuple
    fixed_rounds: int
    fixed_seconds: float
    out: str  # results; runs/ below it holds each run's output files
    tools: str  # the directory with storm, noop, tap and readywait (meson's build of bench/)

    @property
    def runs_dir(self):
        return os.path.join(self.out, "runs")

    def tool(self, name):
        return os.path.join(self.tools, name)


def parser(description=None):
    ap = argparse.ArgumentParser(prog="bench/run.sh", description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, 1 round, all phases (~3 min)")
    ap.add_argument("--smoke", action="store_true",
                    help="execmond only, tiny counts (~15 s): for a test suite; implies --quick --check")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a correctness check fails (execs missing in the loss run, tiny-ring sum"
                         " not exact, execmond exit status); never on timings")
    ap.add_argument("--execmond", default=os.environ.get("EXECMOND"), help="execmond binary")
    ap.add_argument("--execmond-args", default="", help="extra execmond options for every execmond run")
    ap.add_argument("--monitors", default=",".join(MONITORS), help="comma list of " + ",".join(MONITORS))
    ap.add_argument("--phases", default=",".join(PHASES), help="comma list of " + ",".join(PHASES))
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--count", type=int, help="execs per storm run")
    ap.add_argument("--churn-count", type=int)
    ap.add_argument("--loss-count", type=int)
    ap.add_argument("--tiny-count", type=int, help="execs in the tiny-ring run")
    ap.add_argument("--curve", help="comma list of --latency-us values for the curve phase")
    ap.add_argument("--live", type=int, default=1000)
    ap.add_argument("--fixed-rates", help="comma list of exec/s for the fixedrate phase (default 100,1000,4000)")
    ap.add_argument("--fixed-rounds", type=int, help="alternating pairs per monitor and rate (default 3)")
    ap.add_argument("--fixed-seconds", type=float, help="seconds of each fixed-rate storm (default 3)")
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
    return ap


def _ints(text):
    return tuple(int(x) for x in text.split(",") if x)


def _names(text, known, what):
    names = tuple(x for x in text.split(",") if x)
    unknown = [x for x in names if x not in known]
    if unknown:
        raise SystemExit(f"bench: unknown {what} {','.join(unknown)} (known: {','.join(known)})")
    return names


def from_args(ns, environ=os.environ):
    """(Config, notes): the settings the run uses, and sentences to print about choices
    made for the user (e.g. no execmond binary: peers only)."""
    smoke = ns.smoke
    quick = ns.quick or smoke
    check = ns.check or smoke
    monitors = ("execmond",) if smoke else _names(ns.monitors, MONITORS, "monitor")
    phases = SMOKE_PHASES if smoke else _names(ns.phases, PHASES, "phase")
    count = ns.count or (5000 if quick else 30000)
    loss_count = ns.loss_count or (10000 if quick else 100_000)
    if smoke:
        count = min(count, 2000)
        loss_count = min(loss_count, 5000)
    execmond = ns.execmond or ""
    notes = []
    needs_execmond = "execmond" in monitors or set(phases) & set(EXECMOND_PHASES)
    if needs_execmond and not (execmond and os.access(execmond, os.X_OK)):
        if check:
            raise SystemExit(f"bench: no execmond binary ({execmond or 'none given'}): nothing to check")
        notes.append(f"bench: no execmond binary ({execmond or 'none given'}); measuring the peers only")
        monitors = tuple(m for m in monitors if m != "execmond")
        phases = tuple(p for p in phases if p not in EXECMOND_PHASES)
    out = environ.get("EXECMOND_BENCH_OUT") or os.path.join(HERE, "out")
    cfg = Config(
        quick=quick,
        smoke=smoke,
        check=check,
        execmond=execmond,
        execmond_args=tuple(shlex.split(ns.execmond_args)),
        monitors=monitors,
        phases=phases,
        rounds=ns.rounds or (1 if quick else 5),
        count=count,
        churn_count=ns.churn_count or (20000 if quick else 1_000_000),
        loss_count=loss_count,
        tiny_count=ns.tiny_count or (5000 if smoke else 10000 if quick else 30000),
        tiny_ring=65536,
        lat_rates=(((1000, 1000),) if smoke else ((100, 300), (1000, 2000), (None, 5000)) if quick else
                   ((100, 1000), (400, 2000), (1000, 10000), (1600, 8000), (None, 30000))),
        curve=_ints(ns.curve) if ns.curve else ((0, 1000) if quick else (0, 250, 1000, 4000)),
        curve_rounds=1 if quick else 3,
        curve_lat_count=2000 if quick else 5000,
        ready_trials=1 if quick else 5,
        live=ns.live,
        rss_every=0.5 if quick else 1.0,
        wait_quiet=ns.wait_quiet,
        clean_pct=ns.clean_pct,
        fixed_rates=_ints(ns.fixed_rates) if ns.fixed_rates else (100, 1000, 4000),
        fixed_rounds=ns.fixed_rounds or (1 if quick else 3),
        fixed_seconds=ns.fixed_seconds or (1.0 if quick else 3.0),
        out=out,
        tools=environ.get("EXECMOND_BENCH_TOOLS") or os.path.join(out, "build", "bench"),
    )
    return cfg, notes


def summary(cfg):
    """What results.json records of the settings."""
    return {"quick": cfg.quick, "rounds": cfg.rounds, "count": cfg.count, "monitors": list(cfg.monitors),
            "phases": list(cfg.phases), "execmond": cfg.execmond, "fixed_rates": list(cfg.fixed_rates),
            "fixed_rounds": cfg.fixed_rounds, "fixed_seconds": cfg.fixed_seconds}
