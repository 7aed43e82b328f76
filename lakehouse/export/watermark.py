"""Which changes an export reads, and which bronze partitions it replaces.

Bronze `sales/dt=D` holds the versions of sales whose `updated_at` falls on day D (UTC): each
version lands in the partition of the day it was written, so a late refund is a new row in
a later partition and the earlier version stays where it was (point-in-time features read both).

- `--full`: every document, each to the partition of its change date; the partitions met are replaced.
- Incremental (the default), for logical date D: the changes of the days from the day after the
  last successful export's watermark (the latest `updated_at` it exported; the ledger keeps it
  in the export step's outputs) through D, and those days' partitions are replaced whole. After
  a daily export of D-1 that is D alone; after days without a successful export (a missed or
  failed trigger) it is those days as well, so no change is missed. Only exports of earlier
  logical dates count, so running D again reads the same days and gives the same bronze.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Window:
    logical_date: dt.date
    first: dt.date | None  # the first day read and replaced; None: a full export

    @classmethod
    def day(cls, logical_date: dt.date) -> Window:
        return cls(logical_date, logical_date)

    @property
    def full(self) -> bool:
        return self.first is None

    def days(self) -> set[dt.date]:
        """The partitions replaced even when no change fell on them (none for a full export)."""
        if self.first is None:  # full
            return set()
        return {self.first + dt.timedelta(days=n) for n in range((self.logical_date - self.first).days + 1)}

    def bounds(self) -> dict[str, dt.datetime]:
        """The `updated_at` range to read: [first 00:00, the day after D 00:00) in UTC."""
        if self.first is None:  # full
            return {}
        start = dt.datetime.combine(self.first, dt.time(), dt.UTC)
        end = dt.datetime.combine(self.logical_date + dt.timedelta(days=1), dt.time(), dt.UTC)
        return {"changed_from": start, "changed_to": end}


def export_window(previous: Mapping[str, Any] | None, logical_date: dt.date, full: bool) -> Window:
    """`previous`: the outputs of the latest successful export of an earlier logical date (the run
    ledger keeps them), or None."""
    if full:
        return Window(logical_date, None)
    if previous is None:  # the first export of this ledger: only D (a new deployment starts with --full)
        return Window.day(logical_date)
    watermark = previous.get("watermark")
    if watermark:
        after = dt.datetime.fromisoformat(watermark).astimezone(dt.UTC).date() + dt.timedelta(days=1)
    else:  # it exported nothing: it covered its window, and nothing before it changed since
        after = dt.date.fromisoformat(previous.get("window_to") or logical_date.isoformat())
    return Window(logical_date, min(logical_date, after))
