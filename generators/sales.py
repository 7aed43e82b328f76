"""Sales: one Firestore document per sale in `winter_sales`, contract v2.0.0.

Document ids are the sale ids, deterministic for (seed, day, index), so a re-run or a
retried Cloud Run task overwrites instead of duplicating. `sale_timestamp` is a string
in the mix of formats real applications write; `updated_at` is a Firestore timestamp
(when the document last changed), which the export uses as its watermark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np

from generators.catalog import Catalog, customer_email
from generators.population import NON_COMPLETED, DayState, day_rng
from lakehouse.contracts import CHANNELS, CURRENCIES, PAYMENT_METHODS, REGIONS, SCHEMA_VERSION
from lakehouse.pii import keyed_hash

STREAM_SALES = 10
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


def sale_records(state: DayState, seed: int, catalog: Catalog, pii_key: str) -> Iterator[dict]:
    """The day's sales in a stable order; record k is `S<yyyymmdd>-<k>`."""
    rng = day_rng(seed, state.day, STREAM_SALES)
    slots = np.repeat(np.arange(len(state.purchases)), state.purchases)
    n = len(slots)
    # the first `refunds` sales of each customer's day are the refunded ones
    within = np.arange(n) - np.repeat(np.cumsum(state.purchases) - state.purchases, state.purchases)
    refunded = within < np.repeat(state.refunds, state.purchases)
    seconds = np.sort(rng.integers(6 * 3600, 23 * 3600, n))
    millis = rng.integers(0, 1000, n)
    products = catalog.pick(rng, state.spend[slots])
    quantities = 1 + rng.poisson(0.5, n)
    methods = rng.integers(0, len(_METHODS), n)
    styles = rng.choice(len(_TIMESTAMP_FORMATS), n, p=_FORMAT_WEIGHTS)
    other = rng.random(n)
    last4 = rng.integers(0, 10000, n)
    midnight = dt.datetime.combine(state.day, dt.time(), dt.UTC)
    for k in range(n):
        slot = slots[k]
        product = catalog.products[products[k]]
        method = _METHODS[methods[k]]
        moment = midnight + dt.timedelta(seconds=int(seconds[k]), milliseconds=int(millis[k]))
        unit_price = product.price
        quantity = int(quantities[k])
        customer_id = str(state.customer_ids[slot])
        yield {
            "sale_id": f"S{state.day:%Y%m%d}-{k:07d}",
            "customer_id": customer_id,
            "product_id": product.product_id,
            "product_category": product.category,
            "quantity": quantity,
            "unit_price": float(unit_price),
            "amount": float(unit_price * quantity),
            "currency": CURRENCIES[0],
            "status": _status(bool(refunded[k]), float(other[k])),
            "payment_method": method,
            "payment_method_category": PAYMENT_METHODS[method],
            "contact_email_hashed": keyed_hash(pii_key, customer_email(seed, customer_id)),
            "credit_card_last4": f"{last4[k]:04d}" if PAYMENT_METHODS[method] == "card" else None,
            "region": REGIONS[state.region[slot]],
            "channel": CHANNELS[state.channel[slot]],
            "sale_timestamp": format_timestamp(moment, _TIMESTAMP_FORMATS[styles[k]]),
            "schema_version": SCHEMA_VERSION,
            "updated_at": moment + dt.timedelta(seconds=30),
        }


def _status(refunded: bool, draw: float) -> str:
    if refunded:
        return "refunded"
    if draw < NON_COMPLETED["cancelled"]:
        return "cancelled"
    if draw < NON_COMPLETED["cancelled"] + NON_COMPLETED["pending"]:
        return "pending"
    return "completed"

