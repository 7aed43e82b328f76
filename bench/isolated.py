"""Benchmark cases in processes of their own: each case's peak RSS is its own, not its predecessors'.

A bench script runs itself again as `script --case NAME --size SIZE --home DIR`; the child runs
the case, adds its peak RSS and prints the result as the last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable


def add_case_arguments(parser: argparse.ArgumentParser, cases: dict[str, Callable], size_type=str) -> None:
    parser.add_argument("--case", choices=cases, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=size_type, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)


def run_if_child(args: argparse.Namespace, cases: dict[str, Callable]) -> bool:
    """In the child process: run its case, print the result, and say so."""
    if not args.case:
        return False
    result = cases[args.case](args.size, args.home)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return True


def run_isolated(script: str, name: str, size, prefix: str) -> dict:
    """Run case `name` of `script` in a fresh process with a fresh home; its result, with its rate."""
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        done = subprocess.run([sys.executable, script, "--case", name, "--size", str(size), "--home", home],
                              capture_output=True, text=True, env=os.environ.copy())
        if done.returncode != 0:
            raise RuntimeError(f"case {name} failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(case=name, rate=result["records"] / result["seconds"], load=os.getloadavg()[0])
    return result
