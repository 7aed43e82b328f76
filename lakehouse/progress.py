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
