import datetime as dt

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.protobuf.timestamp_pb2 import Timestamp

from lakehouse.timestamps import BadTimestamp, parse_timestamp

UTC = dt.UTC
EXPECTED = dt.datetime(2026, 3, 1, 10, 15, 30, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01T10:15:30.123Z",
        "2026-03-01T11:15:30.123+01:00",
        "2026-03-01 10:15:30.123+00:00",
        "2026-03-01T10:15:30.123000Z",
        "2026-03-01T05:15:30.123-0500",
        1772360130123,  # epoch milliseconds
        "1772360130123",
        1772360130.123,  # epoch seconds
        dt.datetime(2026, 3, 1, 11, 15, 30, 123000, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "1772360130.123",  # epoch seconds as text
        1772360130123.0,  # epoch milliseconds as a float
        # a Firestore Timestamp as the client returns it, and as a protobuf
        DatetimeWithNanoseconds(2026, 3, 1, 10, 15, 30, nanosecond=123_000_000, tzinfo=UTC),
        Timestamp(seconds=1772360130, nanos=123_000_000),
    ],
)
def test_every_source_format_parses_to_the_same_instant(value):
    assert parse_timestamp(value) == EXPECTED


def test_seconds_precision_and_z():
    assert parse_timestamp("2026-03-01T10:15:30Z") == EXPECTED.replace(microsecond=0)


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2026-03-01T10:15:30", "without time zone"),
        ("2026-02-30T10:15:30Z", "impossible date"),
        ("yesterday", "not an ISO-8601"),
        ("2026-03-01T10:15:30+25:00", "impossible UTC offset"),
        (123, "outside 2000..2100"),
        (True, "boolean"),
        (None, "unsupported timestamp type"),
        (1772360130123456, "outside 2000..2100"),  # epoch microseconds: a unit we do not guess
        ({"_seconds": 1772360130, "_nanoseconds": 0}, "unsupported timestamp type"),  # a serialised Timestamp
        (dt.datetime(2026, 3, 1), "without time zone"),
        ("0001-01-01T00:00:00+05:00", "impossible date or time"),  # before year 1 in UTC
        ("9999-12-31T23:59:59-05:00", "impossible date or time"),  # after 9999 in UTC
        (dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))), "out of range"),
    ],
)
def test_unreadable_values_are_refused_not_guessed(value, reason):
    with pytest.raises(BadTimestamp, match=reason):
        parse_timestamp(value)
