"""Sales: one Firestore document per sale in `winter_sales`, contract v2.0.0.

Document ids are the sale ids, deterministic for (seed, day, index), so a re-run or a
retried Cloud Run task overwrites instead of duplicating. `sale_timestamp` is a string
in the mix of formats real applications write; `updated_at` is a Firestore timestamp
(when the document last changed), which the export uses as its watermark.

Most refunds arrive days after the sale: the document is first written `completed`,
then rewritten `refunded` with a later `updated_at` (silver keeps the latest version).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator

import numpy as np

from generators.catalog import Catalog, customer_email
from generators.population import NON_COMPLETED, DayState, day_rng
from lakehouse.contracts import CHANNELS, CURRENCIES, PAYMENT_METHODS, REGIONS, SCHEMA_VERSION
from lakehouse.pii import keyed_hash

STREAM_SALES, STREAM_LATE_REFUNDS = 10, 11
LATE_REFUND_SHARE = 0.6  # of refunds; the others are refunded before the document is first written
LATE_REFUND_MAX_DAYS = 14
_METHODS = list(PAYMENT_METHODS)
_TIMESTAMP_FORMATS = ("iso_z_ms", "iso_z", "iso_offset", "iso_offset_ms", "space", "epoch_ms")
_FORMAT_WEIGHTS = (0.35, 0.2, 0.15, 0.1, 0.15, 0.05)


def format_timestamp(moment: dt.datetime, style: str) -> str | int:
    """Render a UTC instant the way one of the source applications does."""
    if style == "epoch_ms":
        return int(moment.timestamp() * 1000)
    if style in ("iso_offset", "iso_offset_ms"):
        local = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
        spec = "milliseconds" if style.endswith("ms") else "seconds"
        return local.isoformat(timespec=spec)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "iso_z_ms":
        return f"{text}.{moment.microsecond // 1000:03d}Z"
    if style == "space":  # what str() of an aware Python datetime looks like
        return text.replace("T", " ") + "+00:00"
    return text + "Z"


class DaySales:
    """One day's sales, drawn at once as arrays; records are built one at a time, on demand.

    Record k < `new` is the k-th sale of the day (`S<yyyymmdd>-<k>`), in its first version.
    The records after them are `due`: later versions of earlier days' sales (late refunds),
    as (index of the sale on the day it was made, record).
    """

    def __init__(self, state: DayState, seed: int, catalog: Catalog, pii_key: str,
                 due: Iterable[tuple[int, dict]] = ()):
        self.state, self.seed, self.catalog, self.pii_key, self.due = state, seed, catalog, pii_key, list(due)
        rng = day_rng(seed, state.day, STREAM_SALES)
        self.slots = np.repeat(np.arange(len(state.purchases)), state.purchases)
        n = self.new = len(self.slots)
        # the first `refunds` sales of each customer's day are the refunded ones
        within = np.arange(n) - np.repeat(np.cumsum(state.purchases) - state.purchases, state.purchases)
        self.refunded = within < np.repeat(state.refunds, state.purchases)
        self.seconds = np.sort(rng.integers(6 * 3600, 23 * 3600, n))
        self.millis = rng.integers(0, 1000, n)
        self.products = catalog.pick(rng, state.spend[self.slots])
        self.quantities = 1 + rng.poisson(0.5, n)
        self.methods = rng.integers(0, len(_METHODS), n)
        self.styles = rng.choice(len(_TIMESTAMP_FORMATS), n, p=_FORMAT_WEIGHTS)
        self.other = rng.random(n)
        self.last4 = rng.integers(0, 10000, n)
        # Most refunds come days later: the sale is written completed, then updated.
        late = day_rng(seed, state.day, STREAM_LATE_REFUNDS)
        self.late = self.refunded & (late.random(n) < LATE_REFUND_SHARE)
        self.refund_delay = np.minimum(late.geometric(0.3, n), LATE_REFUND_MAX_DAYS)
        self.refund_second = late.integers(8 * 3600, 20 * 3600, n)
        self.midnight = dt.datetime.combine(state.day, dt.time(), dt.UTC)

    def __len__(self) -> int:
        return self.new + len(self.due)

    def record(self, k: int) -> dict:
        return self._first_version(k) if k < self.new else self.due[k - self.new][1]

    def origin(self, k: int) -> int:
        """The index of record k's sale on the day it was made: a sharded job gives every
        version of a sale to the same task, which writes them in order."""
        return k if k < self.new else self.due[k - self.new][0]

    def late_refunds(self) -> Iterator[tuple[dt.date, int, dict]]:
        """(day, index, record) of each of today's sales that is refunded on a later day."""
        for k in np.flatnonzero(self.late).tolist():
            record = self._first_version(k)
            day = self.state.day + dt.timedelta(days=int(self.refund_delay[k]))
            moment = dt.datetime.combine(day, dt.time(), dt.UTC)
            record["status"] = "refunded"
            record["updated_at"] = moment + dt.timedelta(seconds=int(self.refund_second[k]))
            yield day, k, record

    def _first_version(self, k: int) -> dict:
        slot = self.slots[k]
        state = self.state
        product = self.catalog.products[self.products[k]]
        method = _METHODS[self.methods[k]]
        moment = self.midnight + dt.timedelta(seconds=int(self.seconds[k]), milliseconds=int(self.millis[k]))
        quantity = int(self.quantities[k])
        customer_id = state.customer_id(slot)
        return {
            "sale_id": f"S{state.day:%Y%m%d}-{k:07d}",
            "customer_id": customer_id,
            "product_id": product.product_id,
            "product_category": product.category,
            "quantity": quantity,
            "unit_price": float(product.price),
            "amount": float(product.price * quantity),
            "currency": CURRENCIES[0],
            "status": "completed" if self.late[k] else _status(bool(self.refunded[k]), float(self.other[k])),
            "payment_method": method,
            "payment_method_category": PAYMENT_METHODS[method],
            "contact_email_hashed": _contact(self.pii_key, self.seed, customer_id),
            "credit_card_last4": f"{self.last4[k]:04d}" if PAYMENT_METHODS[method] == "card" else None,
            "region": REGIONS[state.region[slot]],
            "channel": CHANNELS[state.channel[slot]],
            "sale_timestamp": format_timestamp(moment, _TIMESTAMP_FORMATS[self.styles[k]]),
            "schema_version": SCHEMA_VERSION,
            "updated_at": moment + dt.timedelta(seconds=30),
        }


def daily_sales(states: Iterable[DayState], start: dt.date, seed: int, catalog: Catalog,
                pii_key: str) -> Iterator[DaySales]:
    """The sales of each day from `start` on, with the late refunds that fall due that day.

    `states` must begin LATE_REFUND_MAX_DAYS before `start` (or at the epoch), so that the
    refunds due on `start` are known: a day's output never depends on the range asked for.
    """
    due: dict[dt.date, list[tuple[int, dict]]] = defaultdict(list)
    for state in states:
        sales = DaySales(state, seed, catalog, pii_key, due.pop(state.day, []))
        for day, k, record in sales.late_refunds():
            due[day].append((k, record))
        if state.day >= start:
            yield sales


@functools.lru_cache(maxsize=65_536)
def _contact(pii_key: str, seed: int, customer_id: str) -> str:
    return keyed_hash(pii_key, customer_email(seed, customer_id))


def _status(refunded: bool, draw: float) -> str:
    if refunded:
        return "refunded"
    if draw < NON_COMPLETED["cancelled"]:
        return "cancelled"
    if draw < NON_COMPLETED["cancelled"] + NON_COMPLETED["pending"]:
        return "pending"
    return "completed"

