"""The parsers of the settings table (lakehouse/settings.py): (text, variable) -> value.

Each refuses a malformed value with a SettingsError that names the variable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lakehouse.errors import SettingsError

T = TypeVar("T")

Parser = Callable[[str, str], Any]


def as_text(raw: str, name: str) -> str:
    return raw


def as_uri(raw: str, name: str) -> str:
    return raw.rstrip("/") or raw


def as_path(raw: str, name: str) -> Path:
    return Path(raw).expanduser().resolve()


def _converted(convert: Callable[[str], T], what: str) -> Callable[[str, str], T]:
    def parse(raw: str, name: str) -> T:
        try:
            return convert(raw)
        except ValueError:
            raise SettingsError(f"{name} must be {what}, got {raw!r}") from None

    return parse


def _within(parse: Callable[[str, str], T], accept: Callable[[T], bool], rule: str) -> Callable[[str, str], T]:
    def parse_within(raw: str, name: str) -> T:
        value = parse(raw, name)
        if not accept(value):
            raise SettingsError(f"{name} must be {rule}, got {value}")
        return value

    return parse_within


as_int = _converted(int, "an integer")
as_number = _converted(float, "a number")
as_count = _within(as_int, lambda value: value >= 1, "at least 1")
as_lookback = _within(as_int, lambda value: 0 <= value <= 366, "from 0 to 366 days")
as_ratio = _within(as_number, lambda value: 0.0 <= value <= 1.0, "between 0 and 1")
as_seconds = _within(as_number, lambda value: value > 0, "positive")


def one_of(*choices: str) -> Parser:
    """Case-insensitive; the value is spelled as in `choices`."""
    def parse(raw: str, name: str) -> str:
        for choice in choices:
            if raw.lower() == choice.lower():
                return choice
        raise SettingsError(f"{name} must be one of {choices}, got {raw!r}")

    return parse


def as_timezone(raw: str, name: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name} must be an IANA time zone like Europe/Paris, got {raw!r}") from None
    return raw


def as_emails(raw: str, name: str) -> tuple[str, ...]:
    """Comma-separated, compared lower-case."""
    return tuple(e.strip().lower() for e in raw.split(",") if e.strip())


def as_date(raw: str, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None
