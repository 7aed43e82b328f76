"""Bad records on demand: the defects real sources produce, mixed in at a chosen ratio.

Whether record k of a day is defective, and how, depends only on (seed, day, source, k),
so bad records are as reproducible as good ones and do not move when the work is
sharded: a task that owns record k also owns its defect (a duplicate included).

A defective record replaces the good one (the source wrote it broken), except a
duplicate, which follows it. EXPECTED says how each kind is meant to be caught
downstream: a reason of the export's contract check (sales) or of the silver
`*_checked` views (JSONL), "deduplicated" when silver keeps one copy, or "accepted"
when no layer rejects it yet.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np

from generators.errors import GeneratorInputError
from lakehouse.timestamps import parse_timestamp

STREAM_DEFECTS = 40
BLOCK = 4096  # records whose defect draws are made together
MAX_STRING = 1024  # the export's limit; oversized strings go past it

EXPECTED = {
    "sales": {  # lakehouse/export/sales.py to_row reasons; the documents land in quarantine/sales
        "missing_field": {"missing_field"},
        "wrong_type": {"wrong_type"},
        "bad_timestamp": {"bad_timestamp"},
        "naive_timestamp": {"bad_timestamp"},  # no zone: ambiguous, never guessed
        "negative_quantity": {"non_positive_quantity", "negative_amount"},
        "duplicate": {"id_mismatch"},  # a second document (another id) holding the same sale_id
        "oversized_string": {"oversized_string"},
        "unknown_schema_version": {"unknown_schema_version"},
        "unknown_value": {"unknown_status", "unknown_currency"},
    },
    "clickstream": {  # stg_click_checked reject_reason
        "missing_field": {"missing_event_id", "missing_session_id", "bad_event_timestamp"},
        "wrong_type": {"bad_event_timestamp"},
        "bad_timestamp": {"bad_event_timestamp"},
        "duplicate": {"deduplicated"},
        "oversized_string": {"oversized_string"},
        "unknown_schema_version": {"unknown_schema_version"},
        "unknown_value": {"unknown_event_type"},
        "invalid_json": {"invalid_json"},
    },
    "startups": {  # stg_startups_checked reject_reason
        "missing_field": {"missing_startup_id", "missing_name", "bad_updated_at"},
        "wrong_type": {"bad_updated_at"},
        "bad_timestamp": {"bad_updated_at"},
        "duplicate": {"deduplicated"},
        "oversized_string": {"oversized_string"},
        "unknown_schema_version": {"unknown_schema_version"},
        "invalid_json": {"invalid_json"},
    },
}
_SOURCE_CODES = {"sales": 1, "clickstream": 2, "startups": 3}


class Defects:
    """The defects of one source and day; `kind(k)` is None for a good record."""

    def __init__(self, source: str, seed: int, day: dt.date, ratio: float):
        if not 0.0 <= ratio <= 1.0:
            raise GeneratorInputError(f"the bad-record ratio must be between 0 and 1, got {ratio}")
        self.source, self.seed, self.day, self.ratio = source, seed, day, ratio
        self.kinds = tuple(EXPECTED[source])
        self._block, self._block_draws = -1, np.empty(0)

    def kind(self, k: int) -> str | None:
        if self.ratio == 0.0:
            return None
        draw = self._draws(k // BLOCK)[k % BLOCK]
        return self._kind_of(draw) if draw < self.ratio else None

    def among(self, first: int, length: int) -> dict[int, str]:
        """{offset: kind} of the defective records first+offset, offset in 0..length-1."""
        if self.ratio == 0.0 or length == 0:
            return {}
        found = {}
        for block in range(first // BLOCK, (first + length - 1) // BLOCK + 1):
            draws = self._draws(block)
            for j in np.flatnonzero(draws < self.ratio).tolist():
                offset = block * BLOCK + j - first
                if 0 <= offset < length:
                    found[offset] = self._kind_of(draws[j])
        return found

    def _draws(self, block: int) -> np.ndarray:
        if block != self._block:  # records arrive in order, so each block is drawn once
            self._block, self._block_draws = block, self._rng(0, block).random(BLOCK)
        return self._block_draws

    def _kind_of(self, draw: float) -> str:
        return self.kinds[int(draw / self.ratio * len(self.kinds))]

    def documents(self, k: int, record: dict) -> list[tuple[str, dict]]:
        """Sales: the (document id, data) pairs that record k becomes."""
        kind = self.kind(k)
        if kind is None:
            return [(record["sale_id"], record)]
        rng = self._rng(1, k)
        if kind == "duplicate":  # a client retry that created a second document with an auto id
            return [(record["sale_id"], record), (_auto_id(rng), dict(record))]
        return [(record["sale_id"], _SALES[kind](dict(record), rng))]

    def lines(self, k: int, record: dict) -> list[str]:
        """JSONL: the lines that record k becomes."""
        kind = self.kind(k)
        text = to_json(record)
        if kind is None:
            return [text]
        if kind == "duplicate":  # the same line delivered twice
            return [text, text]
        rng = self._rng(1, k)
        if kind == "invalid_json":  # a write cut short
            return [text[: int(rng.integers(8, len(text) - 1))]]
        return [to_json(_JSONL[self.source][kind](dict(record), rng))]

    def _rng(self, purpose: int, key: int) -> np.random.Generator:
        """purpose 0: the draws of block `key`; 1: the details of record `key`'s defect."""
        code = _SOURCE_CODES[self.source]
        return np.random.default_rng([self.seed, self.day.toordinal(), STREAM_DEFECTS, code, purpose, key])


def to_json(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"))


def _auto_id(rng: np.random.Generator) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 20))


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(0, len(options)))]


def _blob(rng: np.random.Generator) -> str:
    """What ends up in a text field when an app pastes a payload into it."""
    return "data:application/octet-stream;base64," + base64.b64encode(rng.bytes(int(rng.integers(800, 2400)))).decode()


def _unparseable(rng: np.random.Generator, moment: dt.datetime) -> str | int:
    return _pick(rng, (
        moment.strftime("%d/%m/%Y %H:%M:%S"),  # a local display format
        moment.strftime("%Y-%m-%dT25:%M:%SZ"),  # an impossible hour
        "0000-00-00 00:00:00",  # a database's zero date
    ))


def _sale_moment(record: dict) -> dt.datetime:
    return parse_timestamp(record["sale_timestamp"])


def _sales_missing_field(record, rng):
    del record[_pick(rng, ("sale_id", "customer_id", "product_id", "quantity", "amount", "currency", "status",
                           "sale_timestamp", "schema_version"))]
    return record


def _sales_wrong_type(record, rng):
    variant = int(rng.integers(0, 3))
    if variant == 0:
        record["quantity"] = str(record["quantity"])  # a form value never converted
    elif variant == 1:
        record["unit_price"] = f"{record['unit_price']:.2f}".replace(".", ",")  # a decimal comma
    else:
        record["amount"] = {"value": record["amount"], "currency": record["currency"]}  # a nested money object
    return record


def _sales_bad_timestamp(record, rng):
    moment = _sale_moment(record)
    choice = _pick(rng, ("text", "micros"))
    record["sale_timestamp"] = int(moment.timestamp() * 1_000_000) if choice == "micros" else _unparseable(rng, moment)
    return record


def _sales_naive_timestamp(record, rng):
    text = _sale_moment(record).strftime("%Y-%m-%dT%H:%M:%S")
    record["sale_timestamp"] = _pick(rng, (text, text.replace("T", " ")))  # local time, zone unknown
    return record


def _sales_negative_quantity(record, rng):
    record["quantity"] = -record["quantity"]
    if rng.random() < 0.5:  # a return booked as a negative sale
        record["amount"] = -record["amount"]
    return record


def _sales_oversized(record, rng):
    record[_pick(rng, ("product_category", "payment_method", "region"))] = _blob(rng)
    return record


def _unknown_version(record, rng):
    record["schema_version"] = _pick(rng, ("1.4.0", "3.0.0", "v2"))
    return record


def _sales_unknown_value(record, rng):
    if rng.random() < 0.5:
        record["status"] = _pick(rng, ("chargeback", "COMPLETED", "refund_pending"))
    else:
        record["currency"] = _pick(rng, ("eur", "EURO", "CHF"))
    return record


_SALES = {
    "missing_field": _sales_missing_field,
    "wrong_type": _sales_wrong_type,
    "bad_timestamp": _sales_bad_timestamp,
    "naive_timestamp": _sales_naive_timestamp,
    "negative_quantity": _sales_negative_quantity,
    "oversized_string": _sales_oversized,
    "unknown_schema_version": _unknown_version,
    "unknown_value": _sales_unknown_value,
}


def _iso_moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _click_missing_field(record, rng):
    del record[_pick(rng, ("event_id", "session_id", "event_timestamp"))]
    return record


def _click_wrong_type(record, rng):  # an SDK that sends epoch milliseconds as a number
    record["event_timestamp"] = int(_iso_moment(record["event_timestamp"]).timestamp() * 1000)
    return record


def _click_bad_timestamp(record, rng):
    record["event_timestamp"] = _unparseable(rng, _iso_moment(record["event_timestamp"]))
    return record


def _click_oversized(record, rng):
    record["page_url"] += "?state=" + _blob(rng)
    return record


def _click_unknown_value(record, rng):
    record["event_type"] = _pick(rng, ("video_play", "pageview", "PAGE_VIEW"))
    return record


def _startup_missing_field(record, rng):
    del record[_pick(rng, ("startup_id", "name", "updated_at"))]
    return record


def _startup_wrong_type(record, rng):  # a serialised Firestore Timestamp object
    seconds = int(_iso_moment(record["updated_at"]).timestamp())
    record["updated_at"] = {"_seconds": seconds, "_nanoseconds": 0}
    return record


def _startup_bad_timestamp(record, rng):
    record["updated_at"] = _unparseable(rng, _iso_moment(record["updated_at"]))
    return record


def _startup_oversized(record, rng):
    record["name"] = record["name"] + " " + _blob(rng)
    return record


_JSONL = {
    "clickstream": {
        "missing_field": _click_missing_field,
        "wrong_type": _click_wrong_type,
        "bad_timestamp": _click_bad_timestamp,
        "oversized_string": _click_oversized,
        "unknown_schema_version": _unknown_version,
        "unknown_value": _click_unknown_value,
    },
    "startups": {
        "missing_field": _startup_missing_field,
        "wrong_type": _startup_wrong_type,
        "bad_timestamp": _startup_bad_timestamp,
        "oversized_string": _startup_oversized,
        "unknown_schema_version": _unknown_version,
    },
}
