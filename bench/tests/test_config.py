"""Unit tests of bench/execbench/config.py and the phase registry (meson test bench-config)."""
import copy
import dataclasses
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from execbench import config, phases  # noqa: E402


def build(*argv, environ=None):
    ns = config.parser().parse_args(list(argv))
    before = copy.deepcopy(vars(ns))
    cfg, notes = config.from_args(ns, environ={} if environ is None else environ)
    return ns, before, cfg, notes


class FromArgs(unittest.TestCase):
    def test_the_namespace_is_not_changed_and_the_config_is_frozen(self):
        ns, before, cfg, _ = build("--smoke", "--execmond", "/bin/true")
        self.assertEqual(vars(ns), before)
        with self.assertRaises(dataclasses.FrozenInstanceError):
            cfg.count = 1

    def test_smoke_is_quick_checked_execmond_only(self):
        _, _, cfg, _ = build("--smoke", "--execmond", "/bin/true")
        self.assertTrue(cfg.quick and cfg.check)
        self.assertEqual(cfg.monitors, ("execmond",))
        self.assertEqual(cfg.phases, config.SMOKE_PHASES)
        self.assertEqual((cfg.count, cfg.loss_count, cfg.tiny_count), (2000, 5000, 5000))

    def test_quick_and_full_counts(self):
        _, _, quick, _ = build("--quick", "--execmond", "/bin/true")
        _, _, full, _ = build("--execmond", "/bin/true")
        self.assertEqual((quick.rounds, quick.count, quick.fixed_rounds), (1, 5000, 1))
        self.assertEqual((full.rounds, full.count, full.fixed_rounds), (5, 30000, 3))
        self.assertEqual(full.fixed_rates, (100, 1000, 4000))
        self.assertEqual(full.monitors, config.MONITORS)

    def test_no_execmond_measures_the_peers_only(self):
        _, _, cfg, notes = build("--execmond", "/nonexistent/execmond")
        self.assertNotIn("execmond", cfg.monitors)
        self.assertFalse(set(cfg.phases) & set(config.EXECMOND_PHASES))
        self.assertTrue(notes)

    def test_no_execmond_with_check_is_an_error(self):
        with self.assertRaises(SystemExit):
            build("--check", "--execmond", "/nonexistent/execmond")

    def test_unknown_names_are_errors(self):
        with self.assertRaises(SystemExit):
            build("--phases", "storm,nosuch", "--execmond", "/bin/true")
        with self.assertRaises(SystemExit):
            build("--monitors", "sysmon", "--execmond", "/bin/true")

    def test_paths_from_the_environment(self):
        _, _, cfg, _ = build("--execmond", "/bin/true", environ={"EXECMOND_BENCH_OUT": "/o",
                                                                  "EXECMOND_BENCH_TOOLS": "/t"})
        self.assertEqual((cfg.out, cfg.runs_dir, cfg.tool("storm")), ("/o", "/o/runs", "/t/storm"))


class Registry(unittest.TestCase):
    def test_every_phase_named_in_config_is_registered(self):
        self.assertEqual(set(phases.PHASES), set(config.PHASES))

    def test_a_name_registers_once(self):
        with self.assertRaises(ValueError):
            phases.phase("storm")(lambda cfg: None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
