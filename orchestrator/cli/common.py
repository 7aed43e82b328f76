"""Helpers shared by the subcommands: dates and defaults."""

from __future__ import annotations

import argparse
import datetime as dt

from lakehouse.settings import Settings


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def yesterday(settings: Settings) -> dt.date:
    return settings.today() - dt.timedelta(days=1)
