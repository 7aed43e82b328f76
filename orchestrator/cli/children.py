"""The CLI's child processes stop with it.

Ctrl-C on a terminal signals the whole foreground process group, but a SIGTERM (`kill`, `timeout`,
Cloud Run stopping a job) reaches the CLI alone, and kfp.local runs each component in a `Popen`
block that, interrupted, waits a quarter of a second and leaves the component running. So on
either signal the CLI passes SIGTERM on to its descendants in its own process group. Children
that started a session of their own (the Firestore emulator) are left to the `finally` that stops
them, after the interrupted run's record is written to the ledger.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

Process = tuple[int, int, int]  # pid, parent pid, process group


def process_table() -> list[Process]:
    """Every process's (pid, ppid, pgid): from /proc on Linux (slim images have no `ps`), else `ps`."""
    if Path("/proc/self/stat").exists():
        table = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command, which may hold spaces
            except OSError:
                continue  # ended meanwhile
            table.append((int(stat.parent.name), int(fields[1]), int(fields[2])))
        return table
    listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,pgid="],  # noqa: S607 - macOS: no /proc
                             capture_output=True, text=True, check=False)
    return [(int(a), int(b), int(c)) for a, b, c in (line.split() for line in listing.stdout.splitlines())]


def descendants_in_group(pid: int, pgid: int, table: list[Process]) -> list[int]:
    """The processes below `pid` (children, their children, ...) that belong to process group `pgid`."""
    children: dict[int, list[int]] = {}
    group = {}
    for child, parent, child_group in table:
        children.setdefault(parent, []).append(child)
        group[child] = child_group
    found, todo = [], list(children.get(pid, []))
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        if group[current] == pgid:
            found.append(current)
    return found


def stop_children() -> list[int]:
    """SIGTERM this process's descendants in its process group; the pids signalled."""
    signalled = []
    for pid in descendants_in_group(os.getpid(), os.getpgrp(), process_table()):
        try:
            os.kill(pid, signal.SIGTERM)
            signalled.append(pid)
        except ProcessLookupError:
            pass  # ended meanwhile
    return signalled
