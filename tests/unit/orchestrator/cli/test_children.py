"""A SIGTERM sent to the CLI alone stops the children of its process group (kfp.local's components
among them), and leaves the ones with a session of their own (the emulator) to their `finally`."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.cli.children import descendants_in_group, process_table

ROOT = Path(__file__).resolve().parents[4]

# The CLI's signal handling around kfp.local's own subprocess runner, whose Popen block an interrupt
# leaves after 0.25 s without stopping the child; beside it a child in a session of its own.
CLI = textwrap.dedent("""
    import subprocess, sys
    from kfp.local.subprocess_task_handler import run_local_subprocess
    from orchestrator.cli import _sigterm_as_interrupt

    own_session = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    print("session", own_session.pid, flush=True)
    received = []
    try:
        with _sigterm_as_interrupt(received):
            run_local_subprocess([sys.executable, "-c",
                                  "import os, time; print('component', os.getpid(), flush=True); time.sleep(120)"])
    except KeyboardInterrupt:
        sys.exit(128 + received[0])
""")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_descendants_are_found_at_any_depth_and_only_in_the_group():
    table = [(10, 1, 10), (11, 10, 10), (12, 11, 10), (13, 10, 13), (14, 13, 10), (20, 1, 10)]
    assert sorted(descendants_in_group(10, 10, table)) == [11, 12, 14]  # not 13 (own group), not 20 (a sibling)


def test_the_process_table_holds_this_process_and_its_parent():
    assert (os.getpid(), os.getppid(), os.getpgrp()) in process_table()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_sigterm_to_the_cli_alone_stops_its_component_and_leaves_the_emulator_like_child():
    cli = subprocess.Popen([sys.executable, "-c", CLI], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pids = {}
    try:
        while len(pids) < 2:
            line = cli.stdout.readline()
            assert line, "the CLI ended before its children started"
            name, _, pid = line.strip().rpartition(" ")
            if name in ("session", "component"):
                pids[name] = int(pid)
        cli.send_signal(signal.SIGTERM)  # to the CLI alone, as `kill` or `timeout` sends it
        assert cli.wait(timeout=30) == 143
        deadline = time.monotonic() + 5
        while alive(pids["component"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pids["component"]), "the component outlived the CLI"
        assert alive(pids["session"]), "a child in a session of its own is its owner's to stop"
    finally:
        cli.kill()
        for pid in pids.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
