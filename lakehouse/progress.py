"""Progress for long commands: a live line on a terminal, a log line a step elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("winterdays.progress")


class Progress:
    def __init__(self, total: int, label: str, terminal: TextIO | None = None):
        self.total, self.label, self.done, self.rows = max(total, 1), label, 0, 0
        self.started = time.monotonic()
        self.terminal = terminal or sys.stderr
        self.live = self.terminal.isatty()

    def __call__(self, what: str, item: object, rows: int) -> None:
        self.done += 1
        self.rows += rows
        elapsed = time.monotonic() - self.started
        if self.live:
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "-" * (width - filled)
            self.terminal.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {what} {item} "
                                f"{self.rows:,} rows {elapsed:5.1f}s ")
            self.terminal.flush()
            if self.done >= self.total:
                self.terminal.write("\n")
        else:
            log.info("progress", extra={"task": self.label, "what": what, "item": str(item), "done": self.done,
                                        "total": self.total, "rows": rows, "elapsed_s": round(elapsed, 1)})


class Ticker:
    """A loop of unknown length inside a run step: a `step_progress` log line at most every `every_s`.

    The run's terminal echo (orchestrator/run_log.py) draws it on the step's open line; elsewhere
    it is a JSON log line, few enough for a loop over millions of items.
    """

    def __init__(self, step: str, unit: str, every_s: float = 1.0):
        self.step, self.unit, self.every_s = step, unit, every_s
        self.started = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        log.info("step progress", extra={"event": "step_progress", "step": self.step, "done": done,
                                         "unit": self.unit, "elapsed_s": round(now - self.started, 1)})
