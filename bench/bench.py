#!/usr/bin/python3
"""The bench's entry point (bench/run.sh runs it): the code is the execbench package next
to it; `python3 -m execbench --help` from bench/ is the same."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from execbench.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
