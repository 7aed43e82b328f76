"""Expression parity: seeded random BigQuery expressions, evaluated by GoogleSQL's reference implementation
and by the local warehouse (DuckDB through our translation), compared value and type.

Two sets: `sqlx`, the functions and constructs the project's SQLX uses (there GoogleSQL and we must
agree exactly, or we refuse), and `wider`, the functions a lakehouse commonly uses besides. The
arguments are edge cases: NULLs, zero, negatives, INT64's limits, halves, NaN and infinities,
empty and non-ASCII text, invalid JSON, month ends and leap days, the first and last dates.
Used by tests/unit/lakehouse/warehouse/test_expression_parity.py (a few hundred cases) and
bench/expression_parity.py (thousands).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
from googlesql_service import GoogleSQLError
from googlesql_values import same

from lakehouse.warehouse import UnsupportedSQL, WarehouseError

VALUES = {
    "INT64": ["0", "1", "-1", "7", "-7", "3", "100", "2147483648", "9223372036854775807", "-9223372036854775807",
              "-9223372036854775808", "CAST(NULL AS INT64)"],
    "FLOAT64": ["0.0", "1.5", "-2.5", "0.1", "2.675", "8.345", "1.45", "1e300", "-1e-300", "CAST('nan' AS FLOAT64)",
                "CAST('inf' AS FLOAT64)", "CAST('-inf' AS FLOAT64)", "-0.0", "1.7976931348623157e308",
                "CAST(NULL AS FLOAT64)"],
    "NUMERIC": ["NUMERIC '0'", "NUMERIC '1.25'", "NUMERIC '-2.5'", "NUMERIC '0.000000001'", "NUMERIC '3'",
                "NUMERIC '12345678901234567890.123456789'",
                "NUMERIC '99999999999999999999999999999.999999999'", "NUMERIC '-0.5'", "CAST(NULL AS NUMERIC)"],
    "STRING": ["''", "'a'", "'abc'", "'Straße'", "' x '", "'1.5'", "'12'", "'-0x1F'", "'true'", "'TRUE'",
               "'2026-03-01'", "'2026-03-01 10:00:00+05:30'", "'2026-02-30'", "'é'", "'ﬁx'", "'ΟΔΟΣ'", "'İ'",
               "'a_b'", "'%'", "'2026-03-01 10:00:00'", "' 2026-03-01'", "'2026-03-01 24:00:00'",
               "'2026-03-01t10:00:00z'", "'2026-12-31 23:59:60'", "'2026-03-01 10:00:00+5'", "'\\t x\\n'",
               "CAST(NULL AS STRING)"],
    "DATE": ["DATE '2026-03-01'", "DATE '2024-02-29'", "DATE '2026-01-31'", "DATE '2026-12-31'", "DATE '0001-01-01'",
             "DATE '9999-12-31'", "DATE '2026-03-29'", "DATE '1970-01-01'", "DATE '0999-06-15'",
             "CAST(NULL AS DATE)"],
    "TIMESTAMP": ["TIMESTAMP '2026-03-01 00:00:00+00'", "TIMESTAMP '2026-03-29 01:30:00+00'",
                  "TIMESTAMP '1969-12-31 23:59:59.999999+00'", "TIMESTAMP '2026-10-25 23:59:59.5+00'",
                  "TIMESTAMP '9999-12-31 23:59:59.999999+00'", "TIMESTAMP '0001-01-01 00:00:00+00'",
                  "TIMESTAMP '2026-03-08 07:30:00+00'", "CAST(NULL AS TIMESTAMP)"],
    "BOOL": ["TRUE", "FALSE", "CAST(NULL AS BOOL)"],
    "JSONTEXT": ["'{\"a\": 1}'", "'{\"a\": \"x\"}'", "'{\"a\": null}'", "'{\"a\": [1, 2]}'", "'{\"a\": 1.50}'",
                 "'not json'", "'{\"a\": {\"b\": true}}'", "'{\"a\": 1e2}'", "'{\"a\": \"2026-03-01T10:00:00Z\"}'",
                 "'{\"a\": 1e300}'", "'{\"a\": -0.00001}'", "'{\"b\": 2}'", "'{\"a\": NaN}'", "'[1, 2,]'"],
    "PATH": ["'$.a'", "'$.b'", "'$.a.b'", "'$'"],
    "UNIT": ["DAY", "WEEK", "MONTH", "YEAR", "QUARTER"],
    "SMALL": ["0", "1", "-1", "2", "5", "-9", "CAST(NULL AS INT64)"],
    "INTS": ["[1, 2, 3]", "[5, -2, 0]", "[CAST(NULL AS INT64), 4]", "CAST([] AS ARRAY<INT64>)",
             "[9223372036854775807, 1]"],
    "FLOATS": ["[1.5, 2.5]", "[CAST('nan' AS FLOAT64), 1.0]", "[-0.0, 0.0]",
               "[0.1, 0.2, 0.3]", "[CAST(NULL AS FLOAT64), 2.0]", "CAST([] AS ARRAY<FLOAT64>)"],
    "NUMS": ["[NUMERIC '1.10', NUMERIC '2.05']", "[NUMERIC '0.000000001', CAST(NULL AS NUMERIC)]",
             "[NUMERIC '1', NUMERIC '2']", "CAST([] AS ARRAY<NUMERIC>)"],
    "STRS": ["['b', 'a', 'c']", "['', CAST(NULL AS STRING)]", "CAST([] AS ARRAY<STRING>)"],
}

# Templates: {TYPE} is replaced by a value of that type (each occurrence drawn independently).
SQLX = [
    "IF({BOOL}, {INT64}, {INT64})", "IF({INT64} > {INT64}, {STRING}, {STRING})", "COALESCE({INT64}, {INT64})",
    "COALESCE({STRING}, {STRING}, 'z')", "{INT64} + {INT64}", "{INT64} - {INT64}", "{INT64} * {INT64}",
    "{INT64} / {INT64}", "{FLOAT64} / {FLOAT64}", "{NUMERIC} + {NUMERIC}", "{NUMERIC} * {NUMERIC}",
    "{NUMERIC} - {INT64}", "{FLOAT64} * {INT64}", "{INT64} = {INT64}", "{STRING} < {STRING}",
    "{INT64} IN ({INT64}, {INT64})", "{BOOL} AND {BOOL}", "{BOOL} OR {BOOL}", "NOT {BOOL}", "{INT64} IS NULL",
    "CASE WHEN {BOOL} THEN {STRING} WHEN {BOOL} THEN {STRING} ELSE {STRING} END",
    "SAFE_DIVIDE({INT64}, {INT64})", "SAFE_DIVIDE({FLOAT64}, {FLOAT64})", "SAFE_DIVIDE({NUMERIC}, {NUMERIC})",
    "ABS({INT64})", "ABS({FLOAT64})", "ABS({NUMERIC})", "FLOOR({FLOAT64})", "FLOOR({NUMERIC})",
    "SAFE_CAST({STRING} AS INT64)", "SAFE_CAST({STRING} AS BOOL)", "SAFE_CAST({STRING} AS DATE)",
    "SAFE_CAST({STRING} AS TIMESTAMP)", "SAFE_CAST({STRING} AS FLOAT64)", "SAFE_CAST({STRING} AS NUMERIC)",
    "CAST({INT64} AS STRING)", "CAST({FLOAT64} AS INT64)", "CAST({NUMERIC} AS FLOAT64)", "CAST({INT64} AS NUMERIC)",
    "DATE({TIMESTAMP})", "DATE({INT64} + 2000, 1, 31)", "DATE_DIFF({DATE}, {DATE}, {UNIT})",
    "DATE_ADD({DATE}, INTERVAL {SMALL} DAY)", "DATE_SUB({DATE}, INTERVAL {SMALL} DAY)",
    "DATE_ADD({DATE}, INTERVAL {SMALL} MONTH)", "STARTS_WITH({STRING}, {STRING})", "LENGTH({STRING})",
    "CONCAT({STRING}, {STRING})", "TO_HEX(SHA256({STRING}))", "REGEXP_CONTAINS({STRING}, r'\\d')",
    "REGEXP_CONTAINS({STRING}, r'^\\s*$')", "JSON_VALUE({JSONTEXT}, {PATH})",
    "JSON_VALUE(PARSE_JSON({JSONTEXT}), {PATH})",
    "(SELECT JSON_VALUE(j, {PATH}) FROM (SELECT SAFE.PARSE_JSON({JSONTEXT}) AS j))",  # the SQLX's parsed column
    "SAFE.PARSE_JSON({JSONTEXT}) IS NULL", "SAFE_CAST(JSON_VALUE({JSONTEXT}, '$.a') AS INT64)",
    "SAFE_CAST(JSON_VALUE({JSONTEXT}, '$.a') AS FLOAT64)", "SAFE_CAST(JSON_VALUE({JSONTEXT}, '$.a') AS TIMESTAMP)",
    "ARRAY_LENGTH(GENERATE_DATE_ARRAY({DATE}, DATE_ADD({DATE}, INTERVAL {SMALL} DAY)))",
    "(SELECT COUNTIF(x > 1) FROM UNNEST({INTS}) AS x)", "(SELECT SUM(x) FROM UNNEST({INTS}) AS x)",
    "(SELECT SUM(x) FROM UNNEST({NUMS}) AS x)", "(SELECT SUM(x) FROM UNNEST({FLOATS}) AS x)",
    "(SELECT AVG(x) FROM UNNEST({INTS}) AS x)", "(SELECT AVG(x) FROM UNNEST({FLOATS}) AS x)",
    "(SELECT MAX(x) FROM UNNEST({STRS}) AS x)", "(SELECT MIN(x) FROM UNNEST({INTS}) AS x)",
    "(SELECT COUNT(x) FROM UNNEST({INTS}) AS x)", "(SELECT COUNT(*) FROM UNNEST({INTS}) AS x)",
    "(SELECT LOGICAL_OR(x > 0) FROM UNNEST({INTS}) AS x)",
    "(SELECT STRING_AGG(x, ',' ORDER BY x) FROM UNNEST({STRS}) AS x)",
]
WIDER = [
    "(SELECT AVG(x) FROM UNNEST({NUMS}) AS x)",  # the SQLX averages FLOAT64 and INT64 only (schema parity)
    "DATE_TRUNC({DATE}, {UNIT})", "EXTRACT(DAYOFWEEK FROM {DATE})", "EXTRACT(WEEK FROM {DATE})",
    "EXTRACT(YEAR FROM {TIMESTAMP})", "EXTRACT(HOUR FROM {TIMESTAMP})", "FORMAT_DATE('%Y-%m', {DATE})",
    "LAST_DAY({DATE})", "TIMESTAMP_ADD({TIMESTAMP}, INTERVAL {SMALL} HOUR)", "TIMESTAMP_TRUNC({TIMESTAMP}, DAY)",
    "TIMESTAMP_DIFF({TIMESTAMP}, {TIMESTAMP}, SECOND)", "UNIX_SECONDS({TIMESTAMP})", "UNIX_MILLIS({TIMESTAMP})",
    "TIMESTAMP_SECONDS({INT64})", "CAST({TIMESTAMP} AS STRING)", "CAST({DATE} AS STRING)",
    "DATE({TIMESTAMP}, '+05:30')", "DATE({TIMESTAMP}, 'America/New_York')", "CAST({NUMERIC} AS STRING)",
    "CAST({FLOAT64} AS STRING)", "ROUND({FLOAT64})", "ROUND({NUMERIC}, 1)", "ROUND({FLOAT64}, 1)",
    "ROUND({FLOAT64}, 2)", "ROUND({FLOAT64}, -1)", "LTRIM({STRING})", "RTRIM({STRING})",
    "DIV({INT64}, {INT64})", "MOD({INT64}, {INT64})", "LN({FLOAT64})", "SQRT({FLOAT64})", "POW({INT64}, 2)",
    "LEAST({INT64}, {INT64})", "GREATEST({FLOAT64}, {FLOAT64})", "LEAST({FLOAT64}, {FLOAT64})",
    "NULLIF({INT64}, {INT64})", "IFNULL({STRING}, 'z')", "UPPER({STRING})", "LOWER({STRING})", "TRIM({STRING})",
    "SUBSTR({STRING}, {SMALL})", "SUBSTR({STRING}, {SMALL}, {SMALL})", "REPLACE({STRING}, 'a', 'b')",
    "LPAD({STRING}, {SMALL}, '-')", "RPAD({STRING}, {SMALL})", "REPEAT({STRING}, {SMALL})",
    "STRPOS({STRING}, 'a')", "ARRAY_LENGTH(SPLIT({STRING}, 'a'))", "BYTE_LENGTH({STRING})",
    "CAST({STRING} AS BYTES)", "REGEXP_EXTRACT({STRING}, r'(\\d)')", "REGEXP_REPLACE({STRING}, r'\\s', '_')",
    "FORMAT('%d', {INT64})", "FORMAT('%05d', {INT64})", "FORMAT('%s-%s', {STRING}, {STRING})",
    "ARRAY_LENGTH(ARRAY_CONCAT({INTS}, {INTS}))", "ARRAY_TO_STRING({STRS}, '|')",
    "(SELECT ARRAY_AGG(x IGNORE NULLS ORDER BY x) FROM UNNEST({INTS}) AS x)",
    "(SELECT COUNT(DISTINCT x) FROM UNNEST({INTS}) AS x)", "SAFE_CAST({FLOAT64} AS INT64)",
    "CAST({INT64} AS FLOAT64)", "IEEE_DIVIDE({FLOAT64}, {FLOAT64})", "SIGN({NUMERIC})",
    "TIMESTAMP({STRING})", "SAFE.TIMESTAMP({STRING})", "PARSE_DATE('%Y-%m-%d', {STRING})",
    # widened for issue 18's last gap: more functions, comparisons with NaN, NUMERIC with literals
    "FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%S', {TIMESTAMP})", "FORMAT_DATE('%F', {DATE})",
    "FORMAT_TIMESTAMP('%Y %H', {TIMESTAMP}, 'America/New_York')", "{FLOAT64} = {FLOAT64}", "{FLOAT64} < {FLOAT64}",
    "{FLOAT64} != {FLOAT64}", "{FLOAT64} >= {INT64}", "{STRING} LIKE {STRING}", "{STRING} LIKE '%a%'",
    "(SELECT MIN(x) FROM UNNEST({FLOATS}) AS x)", "(SELECT MAX(x) FROM UNNEST({FLOATS}) AS x)",
    "{NUMERIC} / {INT64}", "{NUMERIC} * {FLOAT64}", "{NUMERIC} + 1.5", "{NUMERIC} * 0.5",
    "(SELECT SUM(x) / COUNT(*) FROM UNNEST({NUMS}) AS x)", "CAST({FLOAT64} AS NUMERIC)", "CAST({NUMERIC} AS INT64)",
    "DATETIME({TIMESTAMP}, 'America/New_York')", "TIMESTAMP_TRUNC({TIMESTAMP}, MONTH)", "CAST({DATE} AS TIMESTAMP)",
    "PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', {STRING})", "INITCAP({STRING})", "{INT64} BETWEEN {INT64} AND {INT64}",
    "CAST({FLOAT64} AS STRING)", "UPPER({STRING}) = LOWER({STRING})",
    "TIMESTAMP_SUB({TIMESTAMP}, INTERVAL {SMALL} DAY)",
    "DATE_SUB({DATE}, INTERVAL {SMALL} YEAR)", "EXTRACT(MONTH FROM {DATE})", "EXTRACT(QUARTER FROM {DATE})",
    "(SELECT MAX(x) FROM UNNEST({NUMS}) AS x)", "(SELECT ANY_VALUE(x) FROM UNNEST({INTS}) AS x WHERE x > 0)",
    "{INT64} * {INT64} + {INT64}", "-({INT64})", "ABS({INT64} - 1)", "STRUCT({INT64} AS a, {STRING} AS b).a",
    "STRUCT({INT64} AS a, {STRING} AS b).b", "TO_JSON_STRING({STRING})", "TO_JSON_STRING({BOOL})",
]


@dataclass
class Outcome:
    expression: str
    kind: str  # exact | both_raise | refused | raises | wrong_type | wrong_answer | invalid
    detail: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(o.kind for o in self.outcomes)

    def valid(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind != "invalid"]

    def share(self, *kinds: str) -> float:
        valid = self.valid()
        return sum(o.kind in kinds for o in valid) / max(1, len(valid))

    def wrong(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind in ("wrong_type", "wrong_answer")]


def generate(templates: list[str], count: int, seed: int) -> list[str]:
    """`count` distinct expressions from the templates, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    seen: dict[str, None] = {}
    for _ in range(count * 20):
        if len(seen) >= count:
            break
        template = rng.choice(templates)
        expression = template
        for name in sorted(VALUES, key=len, reverse=True):
            while "{" + name + "}" in expression:
                expression = expression.replace("{" + name + "}", rng.choice(VALUES[name]), 1)
        seen.setdefault(expression, None)
    return list(seen)


def compare(googlesql, warehouse, expression: str) -> Outcome:
    try:
        expected, expected_type = googlesql.evaluate(expression)
        reference_error = None
    except GoogleSQLError as error:
        if str(error).startswith("INVALID_ARGUMENT"):  # not valid GoogleSQL: the generator's fault
            return Outcome(expression, "invalid", str(error))
        reference_error, expected, expected_type = str(error), None, None
    try:
        table = warehouse.query_arrow(f"SELECT {expression} AS v")
    except UnsupportedSQL as refused:
        if reference_error:  # GoogleSQL fails it too (e.g. a literal past NUMERIC's range): an error on both
            return Outcome(expression, "both_raise")
        return Outcome(expression, "refused", str(refused)[:200])
    except WarehouseError as error:
        if reference_error:
            return Outcome(expression, "both_raise")
        return Outcome(expression, "raises", f"DuckDB: {str(error).splitlines()[0][:160]}; GoogleSQL: {expected!r}")
    actual, actual_type = _python(table.column(0)[0]), _type_name(table.schema.field(0).type)
    if actual_type == "STRING" and _is_json(warehouse, expression):  # Arrow carries DuckDB's JSON as text
        actual_type = "JSON"
    if reference_error:
        return Outcome(expression, "wrong_answer", f"GoogleSQL raises {reference_error[:120]}; DuckDB {actual!r}")
    if actual_type != expected_type:
        return Outcome(expression, "wrong_type", f"{actual_type} on DuckDB, {expected_type} in GoogleSQL")
    if not same(actual, expected):
        return Outcome(expression, "wrong_answer", f"DuckDB {actual!r}, GoogleSQL {expected!r}")
    return Outcome(expression, "exact")


def run(googlesql, warehouse, expressions: list[str]) -> Report:
    return Report([compare(googlesql, warehouse, e) for e in expressions])


def _is_json(warehouse, expression: str) -> bool:
    return warehouse.query(f"SELECT typeof({expression}) AS t")[0]["t"] == "JSON"


def _python(scalar: pa.Scalar):
    try:
        return scalar.as_py()
    except (OverflowError, ValueError):  # a date or timestamp past year 9999, which BigQuery never returns
        return f"<out of range {scalar.type}>"


def _type_name(kind: pa.DataType) -> str:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"ARRAY<{_type_name(kind.value_type)}>"
    if pa.types.is_struct(kind):
        return "STRUCT<" + ", ".join(f"{f.name} {_type_name(f.type)}" for f in kind) + ">"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP" if kind.tz else "DATETIME"
    if pa.types.is_decimal(kind):
        return "NUMERIC" if (kind.precision, kind.scale) == (38, 9) else str(kind)
    return {pa.int64(): "INT64", pa.float64(): "FLOAT64", pa.string(): "STRING", pa.large_string(): "STRING",
            pa.bool_(): "BOOL", pa.date32(): "DATE", pa.binary(): "BYTES", pa.large_binary(): "BYTES",
            pa.time64("us"): "TIME"}.get(kind, str(kind))
