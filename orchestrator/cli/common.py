"""Helpers shared by the subcommands: dates and defaults."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import TypeAlias

from lakehouse.settings import Settings

# what each module's register(sub) adds its subcommands to (a string: argparse's class is generic only in typeshed)
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]  # a subcommand: its exit code


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def yesterday(settings: Settings) -> dt.date:
    return settings.today() - dt.timedelta(days=1)
