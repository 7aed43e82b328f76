"""Parse the timestamps source applications write into UTC datetimes.

Accepted: ISO-8601 with `Z` or an offset, `T` or a space between date and time, any
fraction of a second; epoch seconds or milliseconds (numbers, or digit strings); and
Firestore Timestamp values: the client hands them over as DatetimeWithNanoseconds (an aware
datetime), a protobuf Timestamp where one is read raw. A value we cannot read without
guessing (no time zone, out of range, garbage) raises BadTimestamp.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from google.protobuf.timestamp_pb2 import Timestamp

from lakehouse.errors import LakehouseError

UTC = dt.UTC
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}:?\d{2})?$"
)
_EPOCH_TEXT = re.compile(r"\d{10}(\.\d+)?|\d{13}")
# Epoch values outside these bounds are almost certainly a unit mistake.
_MIN_EPOCH_S, _MAX_EPOCH_S = 946_684_800, 4_102_444_800  # 2000-01-01 .. 2100-01-01


class BadTimestamp(LakehouseError, ValueError):
    pass


def parse_timestamp(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise BadTimestamp(f"datetime without time zone: {value!r}")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise BadTimestamp(f"datetime out of range in UTC: {value!r}") from None
    if isinstance(value, Timestamp):
        return value.ToDatetime(tzinfo=UTC)
    if isinstance(value, bool):
        raise BadTimestamp(f"boolean is not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if isinstance(value, str):
        text = value.strip()
        if _EPOCH_TEXT.fullmatch(text):
            return _from_epoch(float(text))
        return _from_iso(text)
    raise BadTimestamp(f"unsupported timestamp type {type(value).__name__}: {value!r}")


def _from_epoch(number: float) -> dt.datetime:
    seconds = number / 1000 if abs(number) >= 1e11 else number
    if not _MIN_EPOCH_S <= seconds < _MAX_EPOCH_S:
        raise BadTimestamp(f"epoch value {number!r} is outside 2000..2100 in seconds or milliseconds")
    return dt.datetime.fromtimestamp(seconds, UTC)


def _from_iso(text: str) -> dt.datetime:
    match = _ISO.match(text)
    if not match:
        raise BadTimestamp(f"not an ISO-8601 timestamp: {text[:64]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        raise BadTimestamp(f"timestamp without time zone (ambiguous): {text[:64]!r}")
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = _zone(zone)
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros)
        return moment.replace(tzinfo=offset).astimezone(UTC)
    except (ValueError, OverflowError) as error:  # OverflowError: an offset past year 1 or 9999 in UTC
        raise BadTimestamp(f"impossible date or time in {text[:64]!r}: {error}") from None


@functools.lru_cache(maxsize=256)  # a handful of zones recur over millions of documents
def _zone(zone: str) -> dt.tzinfo:
    if zone in ("Z", "z", "UTC"):
        return UTC
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise BadTimestamp(f"impossible UTC offset {zone!r}")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
