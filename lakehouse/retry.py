"""Retries with exponential backoff and full jitter, for the transient errors of Firestore and GCS.

Transient: gRPC UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL (and their
HTTP twins 503, 504, 429, 500), 502, 408, and a dropped or timed-out connection. Anything
else (a bad request, a missing permission, a bug) fails at once: retrying cannot fix it.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests.exceptions
from google.api_core import exceptions as api

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_API = (api.ServiceUnavailable, api.DeadlineExceeded, api.GatewayTimeout, api.TooManyRequests,
                  api.InternalServerError, api.BadGateway)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, _TRANSIENT_API) or isinstance(error, (ConnectionError, TimeoutError)):
        return True
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return True  # gcsfs turns a 502 into requests' ProxyError, a ConnectionError
    # Not imported here: gcsfs reads its settings when first imported (storage.filesystem_for
    # sets them), and while it is not imported no error of its can exist.
    gcsfs_errors = sys.modules.get("gcsfs.retry")
    return (gcsfs_errors is not None and isinstance(error, gcsfs_errors.HttpError)
            and _status(error.code) in TRANSIENT_STATUS)


def _status(code: Any) -> int | None:
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Backoff:
    """Delays initial_s, ×multiplier each time, capped at cap_s, each drawn in [0, delay] (full
    jitter, so that many clients do not retry in step); give up after `attempts` failures in a
    row or once deadline_s has passed since the first of them."""

    initial_s: float = 0.5
    multiplier: float = 2.0
    cap_s: float = 20.0
    deadline_s: float = 120.0
    attempts: int = 8


DEFAULT_BACKOFF = Backoff()


class Attempts:
    """The failures of one operation in a row; a success (progress) starts the count again."""

    def __init__(self, backoff: Backoff, what: str, sleep: Callable[[float], None] = time.sleep):
        self.backoff, self.what, self.sleep = backoff, what, sleep
        self.failures, self.first_failure = 0, 0.0

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, error: BaseException) -> None:
        """Wait before the next attempt, or re-raise `error` if it is not transient or the budget is spent."""
        if not is_transient(error):
            raise error
        now = time.monotonic()
        if self.failures == 0:
            self.first_failure = now
        self.failures += 1
        ceiling = min(self.backoff.cap_s, self.backoff.initial_s * self.backoff.multiplier ** (self.failures - 1))
        delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret
        spent = now - self.first_failure
        if self.failures >= self.backoff.attempts or spent + delay > self.backoff.deadline_s:
            log.error("transient error, giving up", extra={
                "event": "retry_exhausted", "operation": self.what, "attempt": self.failures,
                "elapsed_s": round(spent, 3), "error": f"{type(error).__name__}: {error}"[:500]})
            raise error
        log.warning("transient error, retrying", extra={
            "event": "retry", "operation": self.what, "attempt": self.failures, "delay_s": round(delay, 3),
            "error": f"{type(error).__name__}: {error}"[:500]})
        self.sleep(delay)


def retrying(operation: Callable[[], T], what: str, backoff: Backoff) -> T:
    """`operation()`, again after a backoff while it fails transiently; it must be safe to repeat."""
    attempts = Attempts(backoff, what)
    while True:
        try:
            return operation()
        except Exception as error:  # noqa: BLE001 - failed() re-raises what is not transient
            attempts.failed(error)
