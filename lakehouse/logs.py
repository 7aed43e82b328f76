"""Logs: one JSON object a line, in the shape Cloud Logging parses (severity, message).

The current run id travels in a context variable, so every line a step writes names
its run without the step having to pass it along.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
_bound: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("bound", default=None)
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "logger": record.name,
        }
        entry.update(_bound.get() or {})
        run_id = _run_id.get()
        if run_id:
            entry["run_id"] = run_id
            entry["logging.googleapis.com/labels"] = {"run_id": run_id}
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr at `level` (WINTERDAYS_LOG_LEVEL); stdout stays free for what a command
    prints for people."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_winterdays", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._winterdays = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # parse fallbacks are handled by us
    for noisy in ("urllib3", "google", "grpc", "kfp", "absl", "fsspec", "gcsfs"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@contextlib.contextmanager
def run_context(run_id: str) -> Iterator[None]:
    token = _run_id.set(run_id)
    try:
        yield
    finally:
        _run_id.reset(token)


def current_run_id() -> str | None:
    return _run_id.get()


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Add `fields` to every line logged in this context (e.g. a request's trace); undo with unbind."""
    return _bound.set({**(_bound.get() or {}), **fields})


def unbind(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _bound.reset(token)


def cloud_trace(header: str | None, project: str) -> dict[str, Any]:
    """Cloud Logging's trace fields from an `X-Cloud-Trace-Context: TRACE/SPAN;o=1` header, so a
    request's lines are grouped under its trace in the Logs Explorer; {} when absent or malformed."""
    match = re.fullmatch(r"([0-9a-fA-F]{32})(?:/(\d{1,20}))?(?:;o=([01]))?", (header or "").strip())
    if not match:
        return {}
    trace, span, sampled = match.groups()
    fields: dict[str, Any] = {"logging.googleapis.com/trace": f"projects/{project}/traces/{trace.lower()}"}
    if span and 0 < int(span) < 2**64:  # the header carries the span id in decimal; the LogEntry wants 16 hex digits
        fields["logging.googleapis.com/spanId"] = f"{int(span):016x}"
    if sampled:
        fields["logging.googleapis.com/trace_sampled"] = sampled == "1"
    return fields
