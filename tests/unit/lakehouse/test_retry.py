import logging

import pytest
import requests
from gcsfs.retry import HttpError
from google.api_core import exceptions as api

from lakehouse import retry
from lakehouse.retry import Attempts, Backoff, is_transient, retrying

FAST = Backoff(initial_s=0.001, cap_s=0.004, deadline_s=60, attempts=5)


@pytest.mark.parametrize("error", [
    api.ServiceUnavailable("UNAVAILABLE"), api.DeadlineExceeded("DEADLINE_EXCEEDED"),
    api.TooManyRequests("429"), api.ResourceExhausted("RESOURCE_EXHAUSTED"), api.InternalServerError("500"),
    api.BadGateway("502"), HttpError({"code": 503, "message": "backend"}), HttpError({"code": "429"}),
    requests.exceptions.ProxyError("502 via gcsfs"), ConnectionResetError(), TimeoutError(),
])
def test_transient_errors(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    api.PermissionDenied("no"), api.NotFound("gone"), api.InvalidArgument("bad"), api.MethodNotImplemented("501"),
    HttpError({"code": 404}), HttpError({"code": 403}), FileNotFoundError("x"), ValueError("bug"),
])
def test_permanent_errors(error):
    assert not is_transient(error)


def failing(errors: list[BaseException], value="done"):
    calls = []

    def operation():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return value

    return operation, calls


def test_retrying_repeats_transient_failures_and_logs_each(caplog):
    operation, calls = failing([api.ServiceUnavailable("a"), HttpError({"code": 503})])
    with caplog.at_level(logging.WARNING):
        assert retrying(operation, "publish x", FAST) == "done"
    assert len(calls) == 3
    logged = [r for r in caplog.records if getattr(r, "event", None) == "retry"]
    assert [(r.operation, r.attempt) for r in logged] == [("publish x", 1), ("publish x", 2)]


def test_a_permanent_error_is_raised_at_once():
    operation, calls = failing([api.PermissionDenied("no")])
    with pytest.raises(api.PermissionDenied):
        retrying(operation, "x", FAST)
    assert len(calls) == 1


def test_it_gives_up_after_the_attempts_with_the_last_error():
    operation, calls = failing([api.ServiceUnavailable(str(n)) for n in range(10)])
    with pytest.raises(api.ServiceUnavailable, match="4"):
        retrying(operation, "x", FAST)
    assert len(calls) == FAST.attempts


def test_delays_grow_exponentially_to_the_cap_with_full_jitter(monkeypatch):
    ceilings, slept = [], []
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: ceilings.append((low, high)) or high)
    attempts = Attempts(Backoff(initial_s=0.5, multiplier=2, cap_s=3, deadline_s=1000, attempts=9), "x", slept.append)
    for _ in range(6):
        attempts.failed(api.ServiceUnavailable("x"))
    assert slept == [0.5, 1, 2, 3, 3, 3]
    assert {low for low, _ in ceilings} == {0}  # each delay is drawn anywhere in [0, ceiling]


def test_the_deadline_bounds_the_time_spent_retrying(monkeypatch):
    clock = iter(range(0, 1000, 40))  # each failure comes 40 s after the previous one
    monkeypatch.setattr(retry.time, "monotonic", lambda: next(clock))
    attempts = Attempts(Backoff(initial_s=1, cap_s=1, deadline_s=100, attempts=99), "x", lambda s: None)
    attempts.failed(api.ServiceUnavailable("1"))
    attempts.failed(api.ServiceUnavailable("2"))
    with pytest.raises(api.ServiceUnavailable, match="4"):
        attempts.failed(api.ServiceUnavailable("3"))
        attempts.failed(api.ServiceUnavailable("4"))


def test_progress_starts_the_count_again():
    attempts = Attempts(Backoff(initial_s=0, attempts=2), "x", lambda s: None)
    for _ in range(5):
        attempts.failed(api.ServiceUnavailable("x"))  # one failure, then a success: never two in a row
        attempts.succeeded()
