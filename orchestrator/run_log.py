"""A long command's detail into a log file; on the terminal, dbt-style lines, or JSON lines for machines.

The churn step's kfp.local runner prints each component's whole executor input and output
(hundreds of lines a run), and every step logs JSON lines: what a person should see is the
steps and the Dataform actions as they end, and a summary, with the detail a file away. The
redirection is of the file descriptors, so the components' subprocess output goes to the file
as well. For machines (stdout not a terminal, or --json) the terminal gets the JSON log lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from lakehouse.logs import JsonFormatter

_ECHOED = {"step_started", "step_progress", "step_succeeded", "run_failed", "retry", "reject_ratio_exceeded",
           "action_ended"}
# dbt's words for an action that ended: assertions PASS or FAIL, other actions OK or ERROR
_WORDS = {("assertion", "SUCCEEDED"): "PASS", ("assertion", "FAILED"): "FAIL", ("", "SUCCEEDED"): "OK",
          ("", "FAILED"): "ERROR", ("", "SKIPPED"): "SKIP", ("", "DISABLED"): "SKIP", ("", "CANCELLED"): "CANCEL"}
WIDTH = 100


def action_word(kind: str, state: str) -> str:
    return _WORDS.get((kind if kind == "assertion" else "", state)) or _WORDS.get(("", state), state)


def action_line(record: Any) -> str:
    """`12 of 49 OK table winter_days_warehouse.fct_sales ...... [1,234 rows in 0.4 s]`."""
    word = action_word(record.kind, record.state)
    head = f"  {record.n:>{len(str(record.total))}} of {record.total} {word} {record.kind} {record.target} "
    rows = f"{record.rows:,} rows in " if record.rows is not None and record.kind != "assertion" else ""
    tail = f" [{rows}{record.duration_s or 0:.1f} s]"
    return head + "." * max(3, WIDTH - len(head) - len(tail)) + tail


class Echo(logging.Handler):
    """A command's log records on its terminal; it tallies the Dataform actions' words."""

    def __init__(self, terminal: TextIO):
        super().__init__(logging.INFO)
        self.terminal = terminal
        self.tally: Counter[str] = Counter()

    def count(self, record: logging.LogRecord) -> None:
        self.tally[action_word(getattr(record, "kind", ""), getattr(record, "state", ""))] += 1


class StepEcho(Echo):
    """The run's steps and Dataform actions as short lines for people."""

    def __init__(self, terminal: TextIO):
        super().__init__(terminal)
        self.open_step: str | None = None  # a step whose "..." line is still open

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event not in _ECHOED:
            return
        step = getattr(record, "step", "")
        if event == "step_started":  # finished on the same line when nothing comes between
            self._write(f"{step} ...", end="")
            self.open_step = step
            return
        if event == "step_progress":  # redrawn in place on the step's open line, on a terminal only
            if self.open_step == step and self.terminal.isatty():
                self._write(f"\r\033[K{step} ... {getattr(record, 'done', 0):,} {getattr(record, 'unit', '')} "
                            f"({getattr(record, 'elapsed_s', 0):.0f} s)", end="")
            return
        if event == "action_ended":
            self.count(record)
            line = action_line(record)
        elif event in ("step_succeeded", "run_failed"):
            outcome = (f"done in {getattr(record, 'duration_s', 0):.1f} s" if event == "step_succeeded"
                       else "FAILED")  # the command says why, once
            if self.open_step == step:
                self._write(f" {outcome}")
                self.open_step = None
                return
            line = f"{step} {outcome}"
        else:
            line = f"  {record.levelname.lower()}: {record.getMessage()}"
        if self.open_step:
            self._write("")
            self.open_step = None
        self._write(line)

    def _write(self, text: str, end: str = "\n") -> None:
        self.terminal.write(text + end)
        self.terminal.flush()


class JsonEcho(Echo):
    """Every log line, as JSON, for a machine reading the command's stdout."""

    def __init__(self, terminal: TextIO):
        super().__init__(terminal)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "event", None) == "action_ended":
            self.count(record)
        self.terminal.write(self.format(record) + "\n")
        self.terminal.flush()


@contextlib.contextmanager
def detail_to(path: Path, echo: Callable[[TextIO], Echo] = StepEcho) -> Iterator[Echo]:
    """Send stdout, stderr and the logs to `path`; yield the echo (its `terminal`, its `tally`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = _terminal(saved[0])
    own_terminal = terminal is not sys.stdout
    handler = echo(terminal)
    with open(path, "a", buffering=1) as log_file, contextlib.redirect_stdout(log_file), \
            contextlib.redirect_stderr(log_file):  # sys.stdout may not be fd 1 (pytest's capture)
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        root = logging.getLogger()
        # the JSON lines go to the file through a handler of its own, not through the stderr handler
        # (whose stream may be one a test captured): once each
        stderr_handlers = [h for h in root.handlers if getattr(h, "_winterdays", False)]
        to_file = logging.StreamHandler(log_file)
        to_file.setFormatter(JsonFormatter())
        for added in (handler, to_file):
            root.addHandler(added)
        for removed in stderr_handlers:
            root.removeHandler(removed)
        try:
            yield handler
        finally:
            for removed in (handler, to_file):
                root.removeHandler(removed)
            for restored in stderr_handlers:
                root.addHandler(restored)
            log_file.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if own_terminal:
                terminal.close()


def _terminal(stdout_fd: int) -> TextIO:
    """Where the echo writes: the process's own stdout, or the stream that stands for it (a test's capture)."""
    try:
        real = sys.stdout.fileno() == 1
    except (AttributeError, OSError, ValueError):
        real = False
    return os.fdopen(os.dup(stdout_fd), "w", buffering=1) if real else sys.stdout
