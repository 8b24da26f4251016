"""Unit tests of bench/execbench/stats.py (meson test bench-stats; no root, no machine).

    /usr/bin/python3 bench/tests/test_stats.py
"""
import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from execbench import stats  # noqa: E402


class Median(unittest.TestCase):
    def test_odd_and_even(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)

    def test_none_values_are_ignored(self):
        self.assertEqual(stats.median([None, 5, None, 1, 3]), 3)

    def test_nothing_gives_none(self):
        self.assertIsNone(stats.median([]))
        self.assertIsNone(stats.median([None, None]))

    def test_min_max_mean_ignore_none(self):
        self.assertEqual(stats.minimum([None, 2, 1]), 1)
        self.assertEqual(stats.maximum([None, 2, 1]), 2)
        self.assertEqual(stats.mean([None, 2, 4]), 3)
        self.assertIsNone(stats.minimum([None]))


class Percentile(unittest.TestCase):
    def test_nearest_rank_as_tap_computes_it(self):
        xs = list(range(1, 101))  # 1..100
        self.assertEqual(stats.percentile(xs, 0.0), 1)
        self.assertEqual(stats.percentile(xs, 0.5), 51)  # index round(99 * 0.5) = 50
        self.assertEqual(stats.percentile(xs, 0.99), 99)  # index round(98.01) = 98
        self.assertEqual(stats.percentile(xs, 1.0), 100)

    def test_unsorted_input(self):
        self.assertEqual(stats.percentile([9, 1, 5], 0.5), 5)

    def test_out_of_range_p_is_an_error(self):
        with self.assertRaises(ValueError):
            stats.percentile([1], 99)

    def test_empty(self):
        self.assertIsNone(stats.percentile([], 0.5))


class PairedRatio(unittest.TestCase):
    def test_against_the_mean_of_the_baselines_around_it(self):
        self.assertAlmostEqual(stats.paired_ratio(900, 1000, 800), 1.0)
        self.assertAlmostEqual(stats.paired_ratio(450, 1000, 800), 0.5)

    def test_no_baseline_gives_none(self):
        self.assertIsNone(stats.paired_ratio(100, 0, 0))

    def test_extra_over_can_be_negative(self):
        self.assertEqual(stats.extra_over(10, 12, 14), -3)


class DisturbedPairs(unittest.TestCase):
    def test_relative_to_the_least_loaded_pair(self):
        flags = stats.clean_flags([10.0, 14.9, 15.0, 15.1, 30.0], 5.0)
        self.assertEqual(flags, [True, True, True, False, False])

    def test_explicit_floor(self):
        self.assertEqual(stats.clean_flags([10.0, 12.0], 5.0, floor=6.0), [True, False])

    def test_unknown_load_counts_as_undisturbed(self):
        self.assertEqual(stats.clean_flags([None, 50.0, 0.0], 5.0), [True, False, True])

    def test_clean_runs_used_only_when_at_least_three(self):
        runs = ["a", "b", "c", "d"]
        self.assertEqual(stats.pick_runs(runs, [True, True, True, False]), (["a", "b", "c"], "clean"))
        self.assertEqual(stats.pick_runs(runs, [True, True, False, False]), (runs, "all"))


def storm_run(ratio, ext, **kw):
    return dict({"ratio": ratio, "captured_frac": 1.0, "cpu_s_per_1k": 0.01, "external_max_pct": ext}, **kw)


class StormSummary(unittest.TestCase):
    def test_medians_over_undisturbed_pairs(self):
        per = {"execsnoop": [storm_run(0.80, 10), storm_run(0.82, 11), storm_run(0.81, 12),
                             storm_run(0.20, 40)]}
        s = stats.storm_summary(per, 5.0)["execsnoop"]
        self.assertEqual(s["summary_over"], "clean")
        self.assertEqual(s["clean_rounds"], 3)
        self.assertAlmostEqual(s["ratio_median"], 0.81)
        self.assertAlmostEqual(s["ratio_min"], 0.80)
        self.assertEqual(len(s["runs_all"]), 4)
        self.assertFalse(s["runs_all"][3]["clean"])

    def test_floor_is_shared_by_all_monitors(self):
        # bpftrace's pairs all ran under more load than execsnoop's least-loaded one.
        per = {"execsnoop": [storm_run(0.8, 2)], "bpftrace": [storm_run(0.5, 20), storm_run(0.6, 21)]}
        s = stats.storm_summary(per, 5.0)
        self.assertEqual(s["bpftrace"]["clean_rounds"], 0)
        self.assertEqual(s["bpftrace"]["other_load_floor_pct"], 2)
        self.assertEqual(s["bpftrace"]["summary_over"], "all")
        self.assertAlmostEqual(s["bpftrace"]["ratio_median"], 0.55)

    def test_execmond_figures_and_no_output_variants(self):
        per = {"execmond, no client": [
            storm_run(0.97, 1, captured_frac=None, daemon_us_per_event=2.0, hwm_kib=100, detail={}),
            storm_run(0.99, 1, captured_frac=None, daemon_us_per_event=1.0, hwm_kib=300, detail={"lost": 2})]}
        s = stats.storm_summary(per, 5.0)["execmond, no client"]
        self.assertIsNone(s["captured_median"])
        self.assertEqual(s["daemon_us_per_event_median"], 1.5)
        self.assertEqual(s["hwm_kib_max"], 300)
        self.assertEqual(s["lost_total"], 2)

    def test_input_is_not_changed(self):
        per = {"m": [storm_run(0.8, 1), storm_run(0.9, 50)]}
        before = copy.deepcopy(per)
        stats.storm_summary(per, 5.0)
        self.assertEqual(per, before)

    def test_a_monitor_with_no_runs_is_left_out(self):
        self.assertEqual(stats.storm_summary({"forkstat": []}, 5.0), {})


class FixedRate(unittest.TestCase):
    base = {"spawner_sys_ns": 1.0e9, "wall_s": 10.0}  # 10 % of a core of system time

    def test_bpf_monitor_counts_its_programs_run_time(self):
        run = {"wall_s": 10.0, "procs_ns": 0.5e9, "bpf_ns": 0.1e9, "kthread_ns": 0, "spawner_sys_ns": 1.3e9,
               "rate": 1000, "captured_frac": 1.0}
        p = stats.fixed_pair(run, self.base, self.base)
        self.assertAlmostEqual(p["procs_pct"], 5.0)
        self.assertAlmostEqual(p["kernel_pct"], 1.0)
        self.assertAlmostEqual(p["total_pct"], 6.0)
        self.assertEqual(p["kernel_source"], "bpf")
        self.assertAlmostEqual(p["spawner_extra_sys_pct"], 3.0)

    def test_without_bpf_the_spawners_extra_system_time_and_kernel_threads(self):
        run = {"wall_s": 10.0, "procs_ns": 1.0e9, "bpf_ns": None, "kthread_ns": 0.2e9, "spawner_sys_ns": 1.5e9,
               "rate": 1000}
        p = stats.fixed_pair(run, self.base, {"spawner_sys_ns": 1.2e9, "wall_s": 10.0})
        # baseline 11 % of a core -> extra 0.4 s of 10 s; plus kauditd's 0.2 s.
        self.assertAlmostEqual(p["kernel_pct"], 6.0)
        self.assertAlmostEqual(p["total_pct"], 16.0)
        self.assertEqual(p["kernel_source"], "spawner_sys")

    def test_baseline_scaled_to_the_runs_length(self):
        run = {"wall_s": 20.0, "procs_ns": 0, "bpf_ns": None, "kthread_ns": 0, "spawner_sys_ns": 2.0e9, "rate": 1}
        self.assertAlmostEqual(stats.fixed_pair(run, self.base, self.base)["kernel_pct"], 0.0)

    def test_negative_extra_is_noise_and_counts_as_zero(self):
        run = {"wall_s": 10.0, "procs_ns": 0.1e9, "bpf_ns": None, "kthread_ns": 0, "spawner_sys_ns": 0.5e9,
               "rate": 100}
        p = stats.fixed_pair(run, self.base, self.base)
        self.assertAlmostEqual(p["kernel_pct"], 0.0)
        self.assertAlmostEqual(p["spawner_extra_sys_pct"], -5.0)
        self.assertAlmostEqual(p["total_pct"], 1.0)

    def test_summary_medians(self):
        pairs = [{"rate": 100, "procs_pct": x, "kernel_pct": 1.0, "total_pct": x + 1.0, "spawner_extra_sys_pct": 0,
                  "kernel_source": "bpf", "captured_frac": 1.0, "external_pct": 1.0} for x in (1.0, 3.0, 2.0)]
        s = stats.fixed_summary(pairs, 5.0)
        self.assertEqual(s["pairs"], 3)
        self.assertEqual(s["procs_pct_median"], 2.0)
        self.assertEqual(s["total_pct_median"], 3.0)
        self.assertEqual((s["total_pct_min"], s["total_pct_max"]), (2.0, 4.0))


class Rss(unittest.TestCase):
    def test_steady_range_after_warm_up(self):
        series = [1000] + [5000] * 9 + [5100, 4900] + [None]
        r = stats.rss_steady(series)
        self.assertEqual(r["first"], 1000)
        self.assertEqual((r["steady_min"], r["steady_max"], r["spread"]), (4900, 5100, 200))
        self.assertEqual(r["last"], 4900)

    def test_empty(self):
        self.assertIsNone(stats.rss_steady([None])["spread"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
