"""GoogleSQL types and values <-> Python, and DuckDB column types named as BigQuery names them.

Types are compared as BigQuery's type names (`INT64`, `ARRAY<STRING>`, `STRUCT<a INT64>`), so a
mismatch reads the way a BigQuery user would see it. The protobuf classes come from stubs that
`make test` generates (tests/support/googlesql_service.py puts them on the import path).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from googlesql_service import import_stubs

import_stubs()
from zetasql.public import type_pb2, value_pb2  # noqa: E402

K = type_pb2.TypeKind
SCALARS = {
    K.TYPE_INT64: "INT64", K.TYPE_BOOL: "BOOL", K.TYPE_DOUBLE: "FLOAT64", K.TYPE_STRING: "STRING",
    K.TYPE_BYTES: "BYTES", K.TYPE_DATE: "DATE", K.TYPE_TIMESTAMP: "TIMESTAMP", K.TYPE_TIME: "TIME",
    K.TYPE_DATETIME: "DATETIME", K.TYPE_NUMERIC: "NUMERIC", K.TYPE_BIGNUMERIC: "BIGNUMERIC", K.TYPE_JSON: "JSON",
    K.TYPE_GEOGRAPHY: "GEOGRAPHY", K.TYPE_INTERVAL: "INTERVAL",
    # not BigQuery types: they name themselves, so they never equal a BigQuery name
    K.TYPE_INT32: "INT32", K.TYPE_UINT32: "UINT32", K.TYPE_UINT64: "UINT64", K.TYPE_FLOAT: "FLOAT",
}
BY_NAME = {name: kind for kind, name in SCALARS.items()}
EPOCH = dt.date(1970, 1, 1)
UTC = dt.UTC
EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=UTC)


def type_name(proto: type_pb2.TypeProto) -> str:
    if proto.type_kind == K.TYPE_ARRAY:
        return f"ARRAY<{type_name(proto.array_type.element_type)}>"
    if proto.type_kind == K.TYPE_STRUCT:
        fields = ", ".join(f"{f.field_name} {type_name(f.field_type)}".strip() for f in proto.struct_type.field)
        return f"STRUCT<{fields}>"
    return SCALARS.get(proto.type_kind, type_pb2.TypeKind.Name(proto.type_kind))


def type_proto(name: str) -> type_pb2.TypeProto:
    """The TypeProto of a BigQuery type name (as type_name writes it)."""
    name = name.strip()
    if name.startswith("ARRAY<"):
        return type_pb2.TypeProto(type_kind=K.TYPE_ARRAY,
                                  array_type=type_pb2.ArrayTypeProto(element_type=type_proto(name[6:-1])))
    if name.startswith("STRUCT<"):
        fields = [type_pb2.StructFieldProto(field_name=f.split(" ", 1)[0], field_type=type_proto(f.split(" ", 1)[1]))
                  for f in _split(name[7:-1])]
        return type_pb2.TypeProto(type_kind=K.TYPE_STRUCT, struct_type=type_pb2.StructTypeProto(field=fields))
    return type_pb2.TypeProto(type_kind=BY_NAME[name])


def _split(text: str, opening: str = "<", closing: str = ">") -> list[str]:
    """Split at the commas outside any bracket pair."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == opening) - (char == closing)
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


# -- DuckDB column types as BigQuery names them (the mapping) ------------------------

_DUCKDB = {"BIGINT": "INT64", "DOUBLE": "FLOAT64", "VARCHAR": "STRING", "BOOLEAN": "BOOL", "BLOB": "BYTES",
           "DATE": "DATE", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "TIMESTAMP": "DATETIME", "TIME": "TIME",
           "DECIMAL(38,9)": "NUMERIC", "JSON": "JSON"}


def bigquery_name_of_duckdb(duck: str) -> str:
    """BigQuery's name for a DuckDB type; a type with no BigQuery twin (HUGEINT, DECIMAL(18,2)) keeps its own."""
    duck = re.sub(r"\s*,\s*", ",", duck.strip())
    if duck.endswith("[]"):
        return f"ARRAY<{bigquery_name_of_duckdb(duck[:-2])}>"
    if duck.upper().startswith("STRUCT("):
        fields = []
        for field in _split(duck[7:-1], "(", ")"):
            name, kind = field.split(" ", 1)
            fields.append(f"{name.strip(chr(34))} {bigquery_name_of_duckdb(kind)}")
        return f"STRUCT<{', '.join(fields)}>"
    return _DUCKDB.get(duck.upper(), duck)


def bigquery_name_of_loaded(duck: str) -> str:
    """The type BigQuery gives a column that DuckDB reads from a Parquet file as `duck` (BigQuery's load
    rules: every integer is INT64, DECIMAL(P, S) is NUMERIC when it fits 29 integer and 9 fraction digits)."""
    name = bigquery_name_of_duckdb(duck)
    if name in ("INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "INT64"
    if name == "FLOAT":
        return "FLOAT64"
    decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", name)
    if decimal:
        precision, scale = int(decimal[1]), int(decimal[2])
        return "NUMERIC" if scale <= 9 and precision - scale <= 29 else "BIGNUMERIC"
    return name


# -- values -------------------------------------------------------------------------------

def from_value(value: value_pb2.ValueProto, kind: type_pb2.TypeProto):
    """The Python value of a GoogleSQL value (None for NULL), as DuckDB's Python client returns it."""
    field = value.WhichOneof("value")
    if field is None:
        return None
    k = kind.type_kind
    if k == K.TYPE_ARRAY:
        return [from_value(e, kind.array_type.element_type) for e in value.array_value.element]
    if k == K.TYPE_STRUCT:
        return {f.field_name: from_value(v, f.field_type)
                for f, v in zip(kind.struct_type.field, value.struct_value.field, strict=True)}
    if k == K.TYPE_NUMERIC:
        return _decimal(value.numeric_value, 9)
    if k == K.TYPE_BIGNUMERIC:
        return _decimal(value.bignumeric_value, 38)
    if k == K.TYPE_DATE:
        return EPOCH + dt.timedelta(days=value.date_value)
    if k == K.TYPE_TIMESTAMP:
        stamp = value.timestamp_value
        return EPOCH_UTC + dt.timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
    if k == K.TYPE_DATETIME:
        return _datetime(value.datetime_value.bit_field_datetime_seconds, value.datetime_value.nanos)
    if k == K.TYPE_TIME:
        return _time(value.time_value)
    if k == K.TYPE_JSON:
        return value.json_value
    return getattr(value, field)


def _decimal(packed: bytes, scale: int) -> Decimal:
    """NUMERIC/BIGNUMERIC travel as the little-endian two's complement of value * 10^scale."""
    return Decimal(f"{int.from_bytes(packed, 'little', signed=True)}E-{scale}")  # exact: no context rounding


def _datetime(bits: int, nanos: int) -> dt.datetime:
    # ZetaSQL packs |year 14|month 4|day 5|hour 5|minute 6|second 6| into the seconds field
    second, minute, hour = bits & 0x3F, (bits >> 6) & 0x3F, (bits >> 12) & 0x1F
    day, month, year = (bits >> 17) & 0x1F, (bits >> 22) & 0xF, bits >> 26
    return dt.datetime(year, month, day, hour, minute, second, nanos // 1000)


def _time(bits: int) -> dt.time:
    # |hour 5|minute 6|second 6|nanos 30|
    nanos, second, minute, hour = bits & 0x3FFFFFFF, (bits >> 30) & 0x3F, (bits >> 36) & 0x3F, (bits >> 42) & 0x1F
    return dt.time(hour, minute, second, nanos // 1000)


def to_value(python, kind: type_pb2.TypeProto) -> value_pb2.ValueProto:
    """A Python value (as DuckDB returns it) as a GoogleSQL value of the given type; None is NULL."""
    if python is None:
        return value_pb2.ValueProto()
    k = kind.type_kind
    if k == K.TYPE_ARRAY:
        elements = [to_value(e, kind.array_type.element_type) for e in python]
        return value_pb2.ValueProto(array_value=value_pb2.ValueProto.Array(element=elements))
    if k == K.TYPE_STRUCT:
        fields = [to_value(python[f.field_name], f.field_type) for f in kind.struct_type.field]
        return value_pb2.ValueProto(struct_value=value_pb2.ValueProto.Struct(field=fields))
    if k == K.TYPE_NUMERIC:
        sign, digits, exponent = Decimal(python).as_tuple()
        magnitude = int("".join(map(str, digits)) or "0")
        scaled = (-1 if sign else 1) * (magnitude * 10 ** (exponent + 9) if exponent >= -9 else
                                        round(magnitude / 10 ** (-exponent - 9)))
        return value_pb2.ValueProto(numeric_value=_packed(scaled))
    if k == K.TYPE_DATE:
        return value_pb2.ValueProto(date_value=(python - EPOCH).days)
    if k == K.TYPE_TIMESTAMP:
        delta = python.astimezone(UTC) - EPOCH_UTC
        micros = delta // dt.timedelta(microseconds=1)
        proto = value_pb2.ValueProto()
        proto.timestamp_value.seconds, rest = divmod(micros, 1_000_000)
        proto.timestamp_value.nanos = rest * 1000
        return proto
    if k == K.TYPE_DATETIME:
        bits = (python.year << 26 | python.month << 22 | python.day << 17 | python.hour << 12
                | python.minute << 6 | python.second)
        return value_pb2.ValueProto(datetime_value=value_pb2.ValueProto.Datetime(
            bit_field_datetime_seconds=bits, nanos=python.microsecond * 1000))
    if k == K.TYPE_JSON:
        return value_pb2.ValueProto(json_value=python if isinstance(python, str) else str(python))
    field = {K.TYPE_INT64: "int64_value", K.TYPE_BOOL: "bool_value", K.TYPE_DOUBLE: "double_value",
             K.TYPE_STRING: "string_value", K.TYPE_BYTES: "bytes_value"}[k]
    return value_pb2.ValueProto(**{field: python})


def _packed(scaled: int) -> bytes:
    length = max(1, (scaled.bit_length() + 8) // 8)
    return scaled.to_bytes(length, "little", signed=True)


def same(a, b) -> bool:
    """Equal values; floats equal when both are NaN or within 1e-12 relative (the engines may sum in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
