"""Helpers shared by the subcommands: dates, tags and defaults, checked by the API's rules (api_input)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import TypeAlias

from lakehouse.settings import Settings
from orchestrator import api_input

# what each module's register(sub) adds its subcommands to (a string: argparse's class is generic only in typeshed)
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]  # a subcommand: its exit code


FLAG_OF_DEST = {"start": "from", "end": "to", "first": "from", "last": "to"}  # --from/--to's dests


class DateArgument(str):
    """A --date as typed; `resolve_dates` checks it once settings (the time zone, so today) are known."""


def resolve_dates(args: argparse.Namespace, settings: Settings) -> None:
    """Replace each DateArgument of the parsed arguments by its date, by the API's one date rule."""
    today = settings.today()
    for name, value in vars(args).items():
        if isinstance(value, DateArgument):
            flag = "--" + FLAG_OF_DEST.get(name, name).replace("_", "-")
            setattr(args, name, api_input.parse_date(str(value), today, name=flag))


def tags(value: str, settings: Settings) -> tuple[str, ...]:
    """Comma-separated Dataform tags, each one the project declares (else BadRequest: exit 2)."""
    return api_input.tags([t for t in value.split(",") if t], api_input.known_tags(settings.transform.dataform_dir))


def yesterday(settings: Settings) -> dt.date:
    return settings.today() - dt.timedelta(days=1)
