"""execmond benchmarks: overhead, loss, latency, CPU per event and memory, against peers.

Modules, in the order a run uses them:
  config    the run's settings: a frozen Config built once from the command line
  procfs    CPU and memory accounting from /proc (and getrusage for the spawner)
  tools     the C helpers (storm, noop, tap, readywait) and waiting on their output
  monitors  each monitor as a context manager that always stops what it started
  runs      one measured run: a baseline storm, a monitored storm, an execmond+tap run
  phases    the phases, registered by name
  stats     statistics as pure functions (medians, paired ratios, disturbed pairs)
  checks    targets (figures) and the correctness failures --check exits on
  render    the markdown tables and the plot
  cli       the command line
"""
