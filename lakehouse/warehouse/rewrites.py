"""Node rewrites: BigQuery expressions whose sqlglot translation to DuckDB would change the result.

Each function takes one node of a BigQuery tree and returns its replacement (or the node).
They run children first, so a replacement may wrap an already-rewritten subtree. Where
no faithful DuckDB form exists the rewrite raises UnsupportedSQL: a loud error, never a
silently different answer. tests/unit/lakehouse/warehouse/test_semantics.py checks each against
BigQuery's documented results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from lakehouse.warehouse import UnsupportedSQL
from lakehouse.warehouse.fidelity import literal_coercion, null_operand
from lakehouse.warehouse.floats import HANDLERS as FLOAT_HANDLERS
from lakehouse.warehouse.functions import HANDLERS as FUNCTION_HANDLERS
from lakehouse.warehouse.functions import date_in_range, float_overflow, to_bytes, to_string
from lakehouse.warehouse.functions import numeric_division as _numeric_division
from lakehouse.warehouse.functions import static_type as _static_type
from lakehouse.warehouse.nodes import error as _error
from lakehouse.warehouse.time_formats import HANDLERS as FORMAT_HANDLERS
from lakehouse.warehouse.time_formats import TIMESTAMP_TEXT, timestamp_from_text

NUMERIC = exp.DataType.build("DECIMAL(38, 9)")  # BigQuery NUMERIC; DuckDB's bare DECIMAL is (18, 3)
_HARMLESS_TABLE_OPTIONS = {"description", "labels", "friendly_name", "expiration_timestamp",
                           "partition_expiration_days", "require_partition_filter"}
_DATE_TEXT = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"  # as GoogleSQL: a 4-digit year, no space around it
# types whose text BigQuery writes otherwise than DuckDB (None: unknown until run time)
_WRITTEN_OTHERWISE = (None, exp.DataType.Type.DECIMAL, exp.DataType.Type.DOUBLE, exp.DataType.Type.TIMESTAMPTZ)
_FIRST_DATE, _LAST_DATE = "0001-01-01", "9999-12-31"
_BYTES = (exp.DataType.Type.BINARY, exp.DataType.Type.VARBINARY, exp.DataType.Type.BLOB)
_INT64_TEXT = r"\s*[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)\s*"  # decimal or hex digits, as BigQuery casts them


def rewrite(node: exp.Expr) -> exp.Expr:
    handler = _HANDLERS.get(type(node))
    return handler(node) if handler else node


# -- names and types ----------------------------------------------------------------------

def _table(node: exp.Table) -> exp.Expr:
    # `project.dataset.table` -> `dataset.table`: datasets are schemas of one DuckDB file
    if node.args.get("catalog") is not None:
        node.set("catalog", None)
    return node


def _data_type(node: exp.DataType) -> exp.Expr:
    if node.this == exp.DataType.Type.DECIMAL and not node.expressions:
        return NUMERIC.copy()
    if node.this == exp.DataType.Type.BIGDECIMAL:
        params = [int(p.name) for p in node.expressions if p.name.isdigit()]
        if params and params[0] <= 38:
            return exp.DataType.build(f"DECIMAL({', '.join(map(str, params))})")
        raise UnsupportedSQL("BIGNUMERIC has 76 digits of precision; DuckDB's DECIMAL stops at 38. "
                             "Use NUMERIC or BIGNUMERIC(P, S) with P <= 38")
    return node


def _cast(node: exp.Cast) -> exp.Expr:
    """CAST/SAFE_CAST of text to INT64 or BOOL: DuckDB also accepts '1.5', 't', 'yes', which BigQuery refuses."""
    if isinstance(node.this, exp.Null):
        return null_operand(node)
    target = node.to
    if target.this in (exp.DataType.Type.BIGINT, exp.DataType.Type.INT):
        pattern, from_text = _INT64_TEXT, _int64_from_text if isinstance(node, exp.TryCast) else _int64_or_error
    elif target.this == exp.DataType.Type.BOOLEAN:
        pattern, from_text = r"(?i)(true|false)", _bool_from_text
    elif target.this == exp.DataType.Type.DATE:  # DuckDB also reads a timestamp's text as its date
        pattern, from_text = _DATE_TEXT, lambda text: type(node)(this=text, to=target.copy())
    elif target.this == exp.DataType.Type.TIMESTAMPTZ:
        pattern, from_text = TIMESTAMP_TEXT, lambda text: timestamp_from_text(text, type(node))
    elif target.this == exp.DataType.Type.DOUBLE and _static_type(node.this) == exp.DataType.Type.VARCHAR:
        return _hex_to_float(node)
    elif target.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT) and \
            _static_type(node.this) in _WRITTEN_OTHERWISE:
        return to_string(node.this, node)
    elif target.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT) and _static_type(node.this) in _BYTES:
        return _utf8_from_bytes(node)
    elif target.this in (exp.DataType.Type.BINARY, exp.DataType.Type.VARBINARY, exp.DataType.Type.BLOB) and \
            _static_type(node.this) in (None, exp.DataType.Type.VARCHAR):
        return to_bytes(node.this, node)
    else:
        return node
    value = node.this
    kind = _static_type(value)
    integer = target.this in (exp.DataType.Type.BIGINT, exp.DataType.Type.INT)
    if integer and kind in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        return _rounded(node, value)
    if kind is not None and kind != exp.DataType.Type.VARCHAR:
        return node  # not text: DuckDB and BigQuery agree
    text = exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))
    accepted = exp.Anonymous(this="regexp_full_match", expressions=[text, exp.Literal.string(pattern)])
    refused = exp.Null() if isinstance(node, exp.TryCast) else \
        _error(f"cannot cast the text to {target.sql('bigquery')}")
    ifs = [exp.If(this=accepted, true=from_text(text.copy()))]
    if kind is None:  # unknown at translation time: decide per row on the runtime type
        is_text = exp.EQ(this=exp.Anonymous(this="typeof", expressions=[value.copy()]),
                         expression=exp.Literal.string("VARCHAR"))
        ifs.insert(0, exp.If(this=exp.Not(this=exp.Paren(this=is_text)), true=node))
        if integer:
            is_float = exp.EQ(this=exp.Anonymous(this="typeof", expressions=[value.copy()]),
                              expression=exp.Literal.string("DOUBLE"))
            as_float = exp.TryCast(this=value.copy(), to=exp.DataType.build("DOUBLE"))
            ifs.insert(0, exp.If(this=is_float, true=_rounded(node.copy(), as_float)))
    return exp.Case(ifs=ifs, default=refused)


def _timestamp(node: exp.Timestamp) -> exp.Expr:
    """TIMESTAMP(text) reads the text as CAST does (GoogleSQL's canonical grammar); with a zone, or of a
    DATE or DATETIME, sqlglot's translation stands."""
    if node.args.get("zone") is not None or _static_type(node.this) not in (None, exp.DataType.Type.VARCHAR):
        return node
    return _cast(exp.Cast(this=node.this.copy(), to=exp.DataType.build("TIMESTAMPTZ")))


def _utf8_from_bytes(node: exp.Cast) -> exp.Expr:
    """BYTES to STRING is their UTF-8 text, an error (SAFE_CAST: NULL) when they are not UTF-8; DuckDB's
    cast writes escapes instead (b'caf\\xc3\\xa9' as 'caf\\xC3\\xA9')."""
    decoded = exp.Anonymous(this="decode", expressions=[node.this.copy()])
    return exp.Anonymous(this="try", expressions=[decoded]) if isinstance(node, exp.TryCast) else decoded


def _hex_to_float(node: exp.Cast) -> exp.Expr:
    """GoogleSQL reads hex text ('0x1F', '-0x1F') as FLOAT64 too; DuckDB does not."""
    text = node.this
    hexadecimal = exp.Anonymous(this="regexp_full_match",
                                expressions=[text.copy(), exp.Literal.string(r"\s*[+-]?0[xX][0-9a-fA-F]+\s*")])
    as_float = exp.Cast(this=_int64_from_text(text.copy()), to=exp.DataType.build("DOUBLE"))
    return exp.Case(ifs=[exp.If(this=hexadecimal, true=as_float)], default=node)


def _rounded(node: exp.Cast, value: exp.Expr) -> exp.Expr:
    """FLOAT64 to INT64 rounds halves away from zero in BigQuery; DuckDB's cast rounds them to even."""
    node.set("this", exp.Anonymous(this="round", expressions=[value.copy()]))
    return node


def _int64_from_text(text: exp.Expr) -> exp.Expr:
    # DuckDB reads '0x1A' but not '-0x1A': cast the magnitude, then apply the sign
    trimmed = exp.Trim(this=text)
    magnitude = exp.TryCast(this=exp.Anonymous(this="ltrim", expressions=[trimmed, exp.Literal.string("+-")]),
                            to=exp.DataType.build("BIGINT"))
    negative = exp.Anonymous(this="starts_with", expressions=[trimmed.copy(), exp.Literal.string("-")])
    signed = exp.Coalesce(this=exp.TryCast(this=trimmed.copy(), to=exp.DataType.build("BIGINT")),
                          expressions=[exp.Neg(this=magnitude)])  # the magnitude of INT64's minimum overflows
    return exp.Case(ifs=[exp.If(this=negative, true=signed)], default=magnitude.copy())


def _int64_or_error(text: exp.Expr) -> exp.Expr:
    """CAST (not SAFE_CAST) of INT64 text past INT64's range is an error, not NULL."""
    value = _int64_from_text(text)
    return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()),
                                true=_error("Bad int64 value"))], default=value)


def _bool_from_text(text: exp.Expr) -> exp.Expr:
    return exp.EQ(this=exp.Lower(this=text), expression=exp.Literal.string("true"))


# -- arithmetic ---------------------------------------------------------------------------

def _div(node: exp.Div) -> exp.Expr:
    """BigQuery x / 0 is an error; DuckDB returns inf or NULL."""
    coerced = literal_coercion(node, _static_type)
    if coerced is not node:
        return coerced
    original = node.copy()
    kind = _static_type(node)
    divisor = node.expression
    if not (isinstance(divisor, exp.Literal) and not divisor.is_string and float(divisor.name) != 0):
        guarded = exp.Case(
            ifs=[exp.If(this=exp.And(this=exp.EQ(this=divisor.copy(), expression=exp.Literal.number(0)),
                                     expression=exp.Not(this=exp.Is(this=node.this.copy(), expression=exp.Null()))),
                        true=_error("division by zero"))],  # NULL / 0 is NULL
            default=divisor.copy(),
        )
        node.set("expression", exp.Paren(this=guarded))
    return _numeric_division(original, float_overflow(node, kind))


def _anonymous(node: exp.Anonymous) -> exp.Expr:
    name = node.name.upper()
    if name == "IEEE_DIVIDE":  # IEEE semantics: x/0 is +-inf, 0/0 is NaN, which DuckDB's DOUBLE division gives
        a, b = node.expressions
        return exp.Div(this=exp.Cast(this=a, to=exp.DataType.build("DOUBLE")),
                       expression=exp.Cast(this=b, to=exp.DataType.build("DOUBLE")))
    if name in ("COLLATE", "FARM_FINGERPRINT"):
        raise UnsupportedSQL(f"{name} has no DuckDB equivalent with the same results")
    return node


def _unsupported(why: str) -> Callable[[exp.Expr], exp.Expr]:
    def refuse(node: exp.Expr) -> exp.Expr:
        raise UnsupportedSQL(f"{node.sql('bigquery')[:80]}: {why}")
    return refuse


# -- dates and times ----------------------------------------------------------------------

def _date_arith(node: exp.Expr) -> exp.Expr:
    # BigQuery DATE_ADD/DATE_SUB/DATE_TRUNC return DATE; DuckDB's date +/- interval is a TIMESTAMP
    if isinstance(node, exp.DateTrunc):
        _week_start(node.args.get("unit"))
        if _static_type(node.this) in (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMP):
            return node
    return date_in_range(node)


def _week_start(unit: object) -> str:
    """WEEK(<day>): DuckDB knows Sunday-based (%U) and Monday-based (ISO, %W) weeks only."""
    if isinstance(unit, exp.WeekStart):
        day: str = unit.this.name.upper()
        if day not in ("SUNDAY", "MONDAY"):
            raise UnsupportedSQL(f"WEEK({day}) has no DuckDB equivalent; use WEEK (Sunday) or ISOWEEK")
        return day
    return "SUNDAY"


def _extract(node: exp.Extract) -> exp.Expr:
    """EXTRACT is INT64 (DuckDB types it DOUBLE for a NULL argument); DATE and TIME parts are those types."""
    result = _extract_part(node)
    if isinstance(result, exp.Cast):
        return result
    return exp.Cast(this=result, to=exp.DataType.build("BIGINT"))


def _extract_part(node: exp.Extract) -> exp.Expr:
    part, value = node.this, node.expression
    name = part.name.upper() if isinstance(part, exp.Var) else ""
    if _static_type(value) == exp.DataType.Type.TIMESTAMPTZ:
        # BigQuery extracts in UTC unless told otherwise; the session zone is UTC: read the UTC wall clock
        value = exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP"))
        node.set("expression", value)
    if name == "DAYOFWEEK":  # BigQuery 1 = Sunday ... 7; DuckDB 0 = Sunday ... 6
        return exp.Paren(this=exp.Add(this=node, expression=exp.Literal.number(1)))
    if name == "WEEK" or isinstance(part, exp.WeekStart):
        element = "%U" if _week_start(part) == "SUNDAY" else "%W"
        text = exp.Anonymous(this="strftime", expressions=[value, exp.Literal.string(element)])
        return exp.Cast(this=text, to=exp.DataType.build("BIGINT"))
    if name == "ISOWEEK":
        node.set("this", exp.var("WEEK"))
    elif name == "DATE":
        return exp.Cast(this=value, to=exp.DataType.build("DATE"))
    elif name == "TIME":
        return exp.Cast(this=value, to=exp.DataType.build("TIME"))
    return node


def _timestamp_diff(node: exp.TimestampDiff) -> exp.Expr:
    """TIMESTAMP_DIFF counts whole units elapsed (DuckDB's date_sub); DuckDB's date_diff counts boundaries."""
    unit = node.args.get("unit")
    part = exp.Literal.string(unit.name.lower() if unit is not None else "day")
    return exp.Anonymous(this="date_sub", expressions=[part, node.expression, node.this])


def _unnest(node: exp.Unnest) -> exp.Expr:
    for array in node.expressions:
        if isinstance(array, exp.Array) and any(isinstance(e, exp.Struct) for e in array.expressions):
            raise UnsupportedSQL("UNNEST of an ARRAY<STRUCT> gives one STRUCT column in DuckDB, not its fields; "
                                 "select from a subquery instead")
    return node


# -- arrays and JSON ----------------------------------------------------------------------

def _array_agg(node: exp.Expr) -> exp.Expr:
    """ARRAY_AGG(x [IGNORE NULLS] [ORDER BY ...] [LIMIT n]) -> array_agg ... FILTER, then list_slice."""
    ignore_nulls = isinstance(node, exp.IgnoreNulls)
    agg = node.this if ignore_nulls else node
    if not isinstance(agg, exp.ArrayAgg):
        return node
    if not ignore_nulls and isinstance(node.parent, exp.IgnoreNulls):
        return node  # the parent handles both
    limit = None
    inner = agg.this
    if isinstance(inner, exp.Limit):
        limit, inner = inner.expression, inner.this
    value = inner.this if isinstance(inner, exp.Order) else inner
    result: exp.Expr = exp.ArrayAgg(this=inner)
    if ignore_nulls:
        not_null = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
        result = exp.Filter(this=result, expression=exp.Where(this=not_null))
    if limit is not None:
        result = exp.Anonymous(this="list_slice", expressions=[result, exp.Literal.number(1), limit])
    return result


def _bracket(node: exp.Bracket) -> exp.Expr:
    """arr[OFFSET(i)] out of range is an error in BigQuery (SAFE_OFFSET gives NULL); DuckDB gives NULL."""
    if node.args.get("safe") or node.args.get("offset") is None or len(node.expressions) != 1:
        return node
    index = node.expressions[0]
    if isinstance(index, exp.Literal) and index.is_string:
        return node  # a key, not a position
    base = int(node.args["offset"])
    low = exp.LT(this=index.copy(), expression=exp.Literal.number(base))
    high = exp.GTE(this=exp.Sub(this=index.copy(), expression=exp.Literal.number(base)),
                   expression=exp.ArraySize(this=node.this.copy()))
    return exp.Case(ifs=[exp.If(this=exp.Or(this=low, expression=high), true=_error("array index out of bounds"))],
                    default=node)


def _to_json_string(node: exp.JSONFormat) -> exp.Expr:
    kind = _static_type(node.this)
    if kind in (exp.DataType.Type.VARCHAR, exp.DataType.Type.BOOLEAN):
        text = exp.Cast(this=exp.Anonymous(this="to_json", expressions=[node.this]), to=exp.DataType.build("VARCHAR"))
        return exp.Coalesce(this=text, expressions=[exp.Literal.string("null")])  # NULL is JSON's null
    raise UnsupportedSQL("TO_JSON_STRING encodes TIMESTAMP, NUMERIC, FLOAT64 and large INT64 differently in DuckDB; "
                         "build the string from typed columns instead")


# -- DDL ------------------------------------------------------------------------------------

def _create(node: exp.Create) -> exp.Expr:
    """PARTITION BY / CLUSTER BY / descriptive OPTIONS change storage, not results: drop them."""
    properties = node.args.get("properties")
    if properties is None:
        return node
    for prop in properties.expressions:
        if isinstance(prop, (exp.PartitionedByProperty, exp.ClusterProperty)):
            continue
        if isinstance(prop, exp.LikeProperty):  # CREATE TABLE t LIKE s: s's columns and types, no rows
            source = prop.this.copy()
            source.set("catalog", None)
            node.set("expression", exp.select("*").from_(source).limit(0))
            continue
        if isinstance(prop, exp.Property) and prop.name.lower() in _HARMLESS_TABLE_OPTIONS:
            continue
        raise UnsupportedSQL(f"table option {prop.sql('bigquery')[:60]} is not supported locally")
    node.set("properties", None)
    return node


_HANDLERS: dict[type[exp.Expr], Callable[[Any], exp.Expr]] = {
    **FUNCTION_HANDLERS,
    **FLOAT_HANDLERS,
    **FORMAT_HANDLERS,
    exp.Table: _table,
    exp.DataType: _data_type,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.Timestamp: _timestamp,
    exp.Div: _div,
    exp.Null: null_operand,
    exp.Anonymous: _anonymous,
    exp.DateAdd: _date_arith,
    exp.DateSub: _date_arith,
    exp.DateTrunc: _date_arith,
    exp.Extract: _extract,
    exp.TimestampDiff: _timestamp_diff,
    exp.Unnest: _unnest,
    exp.ArrayAgg: _array_agg,
    exp.IgnoreNulls: _array_agg,
    exp.Bracket: _bracket,
    exp.JSONFormat: _to_json_string,
    exp.Create: _create,
    exp.FarmFingerprint: _unsupported("FARM_FINGERPRINT (FarmHash Fingerprint64) has no DuckDB equivalent"),
    exp.Collate: _unsupported("collations other than binary are not translated"),
}
