"""A long command's detail into a log file, one line a step on the terminal.

The churn step's kfp.local runner prints each component's whole executor input and output
(hundreds of lines a run), and every step logs JSON lines: what `make demo` shows a person
should be the steps as they pass and the summary, with the detail a file away. The redirection
is of the file descriptors, so the components' subprocess output goes to the file as well.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

_ECHOED = {"step_started", "step_succeeded", "run_failed", "retry", "reject_ratio_exceeded"}


class StepEcho(logging.Handler):
    """The run's step events as short lines for people."""

    def __init__(self, terminal: TextIO):
        super().__init__(logging.INFO)
        self.terminal = terminal

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event not in _ECHOED:
            return
        step = getattr(record, "step", "")
        if event == "step_started":
            line = f"  {step} ..."
        elif event == "step_succeeded":
            line = f"  {step} done in {getattr(record, 'duration_s', 0):.1f} s"
        elif event == "run_failed":
            line = f"  {step} FAILED"  # the command says why, once
        else:
            line = f"  {record.levelname.lower()}: {record.getMessage()}"
        self.terminal.write(line + "\n")
        self.terminal.flush()


@contextlib.contextmanager
def detail_to(path: Path) -> Iterator[TextIO]:
    """Send stdout, stderr and the logs to `path`; yield the terminal, and echo the steps on it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    echo = StepEcho(terminal)
    with open(path, "a", buffering=1) as log_file, contextlib.redirect_stdout(log_file), \
            contextlib.redirect_stderr(log_file):  # sys.stdout may not be fd 1 (pytest's capture)
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        logging.getLogger().addHandler(echo)
        try:
            yield terminal
        finally:
            logging.getLogger().removeHandler(echo)
            log_file.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            terminal.close()
