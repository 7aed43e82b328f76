"""The parsers of the settings table (lakehouse/settings.py): (text, variable) -> value.

Each refuses a malformed value with a SettingsError that names the variable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lakehouse.errors import SettingsError

Parser = Callable[[str, str], Any]


def as_text(raw: str, name: str) -> str:
    return raw


def as_uri(raw: str, name: str) -> str:
    return raw.rstrip("/") or raw


def as_path(raw: str, name: str) -> Path:
    return Path(raw).expanduser().resolve()


def as_int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def as_count(raw: str, name: str) -> int:
    value = as_int(raw, name)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def as_lookback(raw: str, name: str) -> int:
    value = as_int(raw, name)
    if not 0 <= value <= 366:
        raise SettingsError(f"{name} must be from 0 to 366 days, got {value}")
    return value


def as_number(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def as_ratio(raw: str, name: str) -> float:
    value = as_number(raw, name)
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name} must be between 0 and 1, got {value}")
    return value


def as_seconds(raw: str, name: str) -> float:
    value = as_number(raw, name)
    if not value > 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


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
