"""Function rewrites: BigQuery functions and operators whose DuckDB namesake answers differently
(another type, a value where BigQuery raises, NULL and empty-input rules), each checked against
GoogleSQL's reference implementation (tests/unit/lakehouse/warehouse/test_expression_parity.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from lakehouse.warehouse import UnsupportedSQL
from lakehouse.warehouse.fidelity import (
    like,
    literal_coercion,
    lower,
    minimum,
    nan_comparison,
    numeric_average,
    numeric_quotient,
    upper,
)
from lakehouse.warehouse.nodes import call, error, when

_MAX_ARRAY = 16000  # GoogleSQL refuses to generate longer arrays
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_LAX_JSON = r"(?i)nan|inf|,\s*[}\]]|e\+?0*(?:309|3[1-9][0-9]|[4-9][0-9]{2}|[0-9]{4,})"
# Unicode's White_Space characters, which GoogleSQL's TRIM removes
_WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                + "\u2028\u2029\u202f\u205f\u3000")


def static_type(node: exp.Expr) -> object:
    try:
        kind = annotate_types(node.copy(), dialect="bigquery").type
    except Exception:  # annotation is best effort; unknown means "decide at run time"
        return None
    if kind is None or kind.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return None
    return kind.this


def _number(node: exp.Literal) -> exp.Expr:
    """A literal with a point or exponent is FLOAT64 in BigQuery; DuckDB would make 0.15 a DECIMAL(3, 2)."""
    if node.is_string or not re.search(r"[.eE]", node.this):
        return node
    parent = node.parent
    if isinstance(parent, (exp.Cast, exp.TryCast)) and parent.to.this in (
            exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL):
        return node  # CAST(1.1 AS NUMERIC) is exact in BigQuery: the literal coerces to NUMERIC
    return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))


def _count_if(node: exp.CountIf) -> exp.Expr:
    """COUNTIF is an INT64 count, 0 over no rows; DuckDB's count_if is a HUGEINT sum, NULL over no rows."""
    return exp.Count(this=exp.Case(ifs=[exp.If(this=node.this, true=exp.Literal.number(1))]))


def _json_value(node: exp.JSONExtractScalar) -> exp.Expr:
    """JSON_VALUE: NULL for text that is not JSON (DuckDB raises). A decimal number: of JSON text, DuckDB
    rewrites its text (1.50 -> 1.5) where BigQuery keeps it, so unless the value is cast it raises rather
    than answer other text; of a parsed JSON value (PARSE_JSON, or a column holding one: DuckDB's JSON type
    at run time) both engines write the parsed double, as DuckDB casts a DOUBLE to text (1.5, 100.0, 1e+300)
    but between 1e15 and 1e16, where BigQuery writes an exponent and DuckDB does not: that raises."""
    document = node.this  # JSON_VALUE of text reads NaN elsewhere, 1e999, a trailing comma, as DuckDB does
    valid = exp.Anonymous(this="json_valid", expressions=[document.copy()])
    node.set("this", exp.Case(ifs=[exp.If(this=valid, true=document.copy())]))
    kind = exp.Anonymous(this="json_type", expressions=[node.this.copy(), node.expression.copy()])
    value = exp.Anonymous(this="json_extract", expressions=[node.this.copy(), node.expression.copy()])
    # a NaN or Infinity token at the path is no JSON value to GoogleSQL: NULL (DuckDB: 'NaN', then nan)
    token = exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))
    nan_token = exp.Anonymous(this="regexp_matches", expressions=[token, exp.Literal.string("(?i)nan|inf")])
    not_a_number = exp.and_(exp.EQ(this=kind.copy(), expression=exp.Literal.string("DOUBLE")), nan_token)
    if isinstance(node.parent, (exp.Cast, exp.TryCast)) and node.parent.to.this != exp.DataType.Type.VARCHAR:
        return exp.Case(ifs=[exp.If(this=not_a_number, true=exp.Null())], default=node)
    number = exp.TryCast(this=value, to=exp.DataType.build("DOUBLE"))  # TRY: constant folding runs every branch
    magnitude = exp.Abs(this=number.copy())
    written_otherwise = exp.or_(_json_text(document), exp.and_(
        exp.GTE(this=magnitude, expression=exp.Literal.number("1e15")),
        exp.LT(this=magnitude.copy(), expression=exp.Literal.number("1e16"))))
    refused = error("JSON_VALUE of a decimal number: DuckDB writes its text otherwise; cast it "
                    "(SAFE_CAST(... AS FLOAT64/NUMERIC))")
    as_text = exp.Case(ifs=[exp.If(this=written_otherwise, true=refused)],
                       default=exp.Cast(this=number, to=exp.DataType.build("VARCHAR")))
    return exp.Case(ifs=[exp.If(this=not_a_number, true=exp.Null()),
                         exp.If(this=exp.EQ(this=kind, expression=exp.Literal.string("DOUBLE")), true=as_text)],
                    default=node)


def lax_json(text: exp.Expr) -> exp.Expr:
    """True where the text holds, outside its strings, what DuckDB parses as JSON and GoogleSQL refuses:
    NaN or Infinity, a trailing comma, an exponent past the double's range."""
    stripped = exp.Anonymous(this="regexp_replace", expressions=[
        text.copy(), exp.Literal.string(_JSON_STRING), exp.Literal.string('""'), exp.Literal.string("g")])
    return exp.Anonymous(this="regexp_matches", expressions=[stripped, exp.Literal.string(_LAX_JSON)])


def _parse_json(node: exp.ParseJSON) -> exp.Expr:
    """PARSE_JSON refuses what only DuckDB reads as JSON (lax_json): an error (NULL under SAFE)."""
    return when(lax_json(node.this), "Invalid JSON input: NaN, Infinity, a trailing comma or an overflow", node)


def _json_text(document: exp.Expr) -> exp.Expr:
    """True when the document is text, not a parsed JSON value (known at bind time from its type)."""
    parsed = exp.Anonymous(this="typeof", expressions=[document.copy()])
    return exp.NEQ(this=parsed, expression=exp.Literal.string("JSON"))


def numeric_division(node: exp.Expr, result: exp.Expr | None = None) -> exp.Expr:
    """NUMERIC / NUMERIC (or INT64) and AVG(NUMERIC) are NUMERIC in BigQuery; DuckDB divides decimals as
    DOUBLE: refused, or guarded at run time when the types are unknown. `result`: the division's translation."""
    if isinstance(node, exp.Avg):
        return numeric_average(node, static_type(node.this.expressions[0] if isinstance(node.this, exp.Distinct)
                                                 else node.this))
    operands = [node.this, node.expression]
    return numeric_quotient(node if result is None else result, [o.copy() for o in operands],
                            [static_type(o) for o in operands])


def _safe_divide(node: exp.SafeDivide) -> exp.Expr:
    """SAFE_DIVIDE is NULL where the division fails, overflow to +-inf included."""
    operands = [node.this.copy(), node.expression.copy()]
    a, b = (exp.Cast(this=x.copy(), to=exp.DataType.build("DOUBLE")) for x in (node.this, node.expression))
    quotient = exp.Div(this=a, expression=b)
    finite = exp.And(this=exp.Anonymous(this="isfinite", expressions=[a.copy()]),
                     expression=exp.Anonymous(this="isfinite", expressions=[b.copy()]))
    overflow = exp.And(this=finite, expression=exp.Anonymous(this="isinf", expressions=[quotient.copy()]))
    zero = exp.EQ(this=b.copy(), expression=exp.Literal.number(0))
    safe = exp.Case(ifs=[exp.If(this=exp.Or(this=zero, expression=overflow), true=exp.Null())], default=quotient)
    return numeric_quotient(safe, operands, [static_type(o) for o in operands])


def _generate_date_array(node: exp.GenerateDateArray) -> exp.Expr:
    array = exp.Cast(this=node, to=exp.DataType.build("DATE[]", dialect="duckdb"))
    too_long = exp.GT(this=exp.ArraySize(this=array.copy()), expression=exp.Literal.number(_MAX_ARRAY))
    return exp.Case(ifs=[exp.If(this=too_long, true=exp.cast(error(
        f"Cannot generate arrays with more than {_MAX_ARRAY} elements"), exp.DataType.build("DATE[]",
                                                                                              dialect="duckdb")))],
                    default=array)


def _typeof_is(value: exp.Expr, pattern: str) -> exp.Expr:
    return exp.Like(this=call("typeof", value), expression=exp.Literal.string(pattern))


def date_in_range(value: exp.Expr) -> exp.Expr:
    """The DATE, or BigQuery's error when it falls outside 0001-01-01 .. 9999-12-31 (DuckDB's range is wider)."""
    day = exp.Cast(this=value, to=exp.DataType.build("DATE"))
    inside = exp.Between(this=day, low=exp.cast(exp.Literal.string("0001-01-01"), "DATE"),
                         high=exp.cast(exp.Literal.string("9999-12-31"), "DATE"))
    known = exp.Or(this=inside, expression=exp.Is(this=day.copy(), expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=known, true=day.copy())], default=exp.cast(error("date overflow"), "DATE"))


def _not_null(*values: exp.Expr | None) -> exp.Expr:
    return exp.and_(*[exp.Not(this=exp.Is(this=v.copy(), expression=exp.Null())) for v in values if v is not None])


def float_overflow(node: exp.Expr, kind: object = None) -> exp.Expr:
    """FLOAT64 +, -, *, / overflowing to +-inf from finite operands is an error in BigQuery (known types
    only: a guard on every column's arithmetic would cost every query). `kind`: the node's type, if known."""
    if not isinstance(node, exp.Div):  # the division applied it before guarding its divisor
        coerced = literal_coercion(node, static_type)
        if coerced is not node:
            return coerced
    if (kind or static_type(node)) != exp.DataType.Type.DOUBLE:
        return node
    operands = [exp.Cast(this=x.copy(), to=exp.DataType.build("DOUBLE")) for x in (node.this, node.expression)]
    finite = exp.and_(*[call("isfinite", x) for x in operands])
    overflow = exp.And(this=finite, expression=call("isinf", exp.Paren(this=node.copy())))
    return when(overflow, "double overflow", exp.Paren(this=node))


def _concat(node: exp.Concat) -> exp.Expr:
    """CONCAT with a bare NULL is a NULL STRING; DuckDB's `'a' || NULL` has no type."""
    if any(isinstance(a, exp.Null) for a in node.expressions):
        return exp.Cast(this=node, to=exp.DataType.build("VARCHAR"))
    return node


def _ln(node: exp.Expr) -> exp.Expr:
    """LN/LOG10 of zero or a negative is an error in BigQuery; DuckDB answers -inf or NaN."""
    return when(exp.LTE(this=node.this.copy(), expression=exp.Literal.number(0)),
                 f"Floating point error in function: {node.sql('bigquery')[:60]}", node)


def _sqrt(node: exp.Sqrt) -> exp.Expr:
    return when(exp.LT(this=node.this.copy(), expression=exp.Literal.number(0)),
                 "Argument to SQRT cannot be negative", node)


def _pad(node: exp.Pad) -> exp.Expr:
    """LPAD/RPAD: a negative length is an error; DuckDB takes an INTEGER length (not BIGINT)."""
    length = node.args["expression"]
    node.set("expression", exp.Cast(this=length.copy(), to=exp.DataType.build("INT")))
    negative = exp.And(this=exp.LT(this=length.copy(), expression=exp.Literal.number(0)),
                       expression=_not_null(node.this, node.args.get("fill_pattern")))
    return when(negative,
                 "Second argument (output size) for LPAD/RPAD cannot be negative", node)


def _repeat(node: exp.Repeat) -> exp.Expr:
    times = node.args["times"]
    return when(exp.And(this=exp.LT(this=times.copy(), expression=exp.Literal.number(0)),
                         expression=_not_null(node.this)),
                 "Second argument (repeat count) for REPEAT cannot be negative", node)


def _substring(node: exp.Substring) -> exp.Expr:
    """SUBSTR: position 0 is the first character (DuckDB: before it), and so is a negative position past the
    start (DuckDB shortens the length by the overhang); a negative length is an error."""
    start, length = node.args.get("start"), node.args.get("length")
    if start is not None:
        past_start = exp.LT(this=start.copy(), expression=exp.Neg(this=call("length", node.this)))
        first = exp.Or(this=exp.EQ(this=start.copy(), expression=exp.Literal.number(0)), expression=past_start)
        node.set("start", exp.Case(ifs=[exp.If(this=first, true=exp.Literal.number(1))], default=start.copy()))
    if length is None:
        return node
    return when(exp.And(this=exp.LT(this=length.copy(), expression=exp.Literal.number(0)),
                         expression=_not_null(node.this, start)),
                 "Third argument in SUBSTR() cannot be negative", node)


def _trim(node: exp.Trim) -> exp.Expr:
    """TRIM/LTRIM/RTRIM without characters trim Unicode white space in BigQuery (tabs, newlines, U+00A0,
    U+3000, ...); DuckDB's trim only spaces."""
    if node.args.get("expression") is None:
        node.set("expression", exp.Literal.string(_WHITE_SPACE))
    return node


def _unix(unit: int) -> Callable[[exp.Expr], exp.Expr]:
    """UNIX_SECONDS/UNIX_MILLIS truncate toward the past; DuckDB's epoch rounds."""
    def floor_division(node: exp.Expr) -> exp.Expr:
        micros = call("epoch_us", node.this)
        rest = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Mod(this=micros, expression=exp.Literal.number(unit)),
                                                   expression=exp.Literal.number(unit))),
                       expression=exp.Literal.number(unit))
        return exp.IntDiv(this=exp.Paren(this=exp.Sub(this=micros.copy(), expression=rest)),
                          expression=exp.Literal.number(unit))
    return floor_division


def _sign(node: exp.Sign) -> exp.Expr:
    """SIGN keeps its argument's type (NUMERIC, FLOAT64, NaN included); DuckDB's is a TINYINT."""
    x = node.this
    as_float = exp.TryCast(this=x.copy(), to=exp.DataType.build("DOUBLE"))
    nan = exp.And(this=_typeof_is(x, "DOUBLE"), expression=call("isnan", as_float))
    zero = exp.Mul(this=x.copy(), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=nan, true=x.copy()),
                         exp.If(this=exp.GT(this=x.copy(), expression=exp.Literal.number(0)),
                                true=exp.Add(this=zero, expression=exp.Literal.number(1))),
                         exp.If(this=exp.LT(this=x.copy(), expression=exp.Literal.number(0)),
                                true=exp.Sub(this=zero.copy(), expression=exp.Literal.number(1)))],
                    default=zero.copy())


def _least(node: exp.Expr) -> exp.Expr:
    """LEAST with a NaN is NaN in BigQuery; DuckDB orders NaN above every number."""
    if not isinstance(node, exp.Least):
        return node
    largest = exp.Greatest(this=node.this.copy(), expressions=[e.copy() for e in node.expressions])
    nan = exp.And(this=_typeof_is(largest, "DOUBLE"),
                  expression=call("isnan", exp.TryCast(this=largest.copy(), to=exp.DataType.build("DOUBLE"))))
    return exp.Case(ifs=[exp.If(this=nan, true=largest)], default=node)


def _array_concat(node: exp.ArrayConcat) -> exp.Expr:
    """ARRAY_CONCAT with a NULL array is NULL; DuckDB's list_concat skips it."""
    arrays = [node.this, *node.expressions]
    any_null = exp.or_(*[exp.Is(this=a.copy(), expression=exp.Null()) for a in arrays])
    return exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=node)


def _byte_length(node: exp.ByteLength) -> exp.Expr:
    text = exp.TryCast(this=node.this.copy(), to=exp.DataType.build("VARCHAR"))
    blob = exp.TryCast(this=node.this.copy(), to=exp.DataType.build("BLOB"))
    return exp.Case(ifs=[exp.If(this=_typeof_is(node.this, "BLOB"), true=call("octet_length", blob))],
                    default=call("strlen", text))


def _regexp_extract(node: exp.RegexpExtract) -> exp.Expr:
    pattern = node.expression
    if isinstance(pattern, exp.Literal) and len(re.findall(r"(?<!\\)\((?!\?)", pattern.this)) > 1:
        raise UnsupportedSQL("REGEXP_EXTRACT with more than one capturing group is an error in BigQuery")
    return node


def to_string(value: exp.Expr, node: exp.Expr) -> exp.Expr:
    """CAST(x AS STRING) as BigQuery writes it: NUMERIC with no trailing zeros, FLOAT64 2.0 as '2',
    TIMESTAMP with 0, 3 or 6 fraction digits and '+00'; `node` is DuckDB's cast for the other types."""
    text = exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))
    numeric = call("regexp_replace", text, exp.Literal.string(r"\.?0+$"), exp.Literal.string(""))
    double = call("regexp_replace", call("regexp_replace", text, exp.Literal.string(r"\.0$"),
                                           exp.Literal.string("")), exp.Literal.string("^-0$"), exp.Literal.string("0"))
    instant = exp.TryCast(this=value.copy(), to=exp.DataType.build("TIMESTAMPTZ"))
    micros = exp.Mod(this=call("epoch_us", instant), expression=exp.Literal.number(1_000_000))
    fraction = exp.Case(ifs=[exp.If(this=exp.EQ(this=micros, expression=exp.Literal.number(0)),
                                    true=exp.Literal.string("")),
                             exp.If(this=exp.EQ(this=exp.Mod(this=micros.copy(), expression=exp.Literal.number(1000)),
                                                expression=exp.Literal.number(0)),
                                    true=call("strftime", instant, exp.Literal.string(".%g")))],
                        default=call("strftime", instant, exp.Literal.string(".%f")))
    stamp = exp.DPipe(this=exp.DPipe(this=call("strftime", instant, exp.Literal.string("%Y-%m-%d %H:%M:%S")),
                                     expression=fraction), expression=exp.Literal.string("+00"))
    return exp.Case(ifs=[exp.If(this=_typeof_is(value, "DECIMAL%"), true=numeric),
                         exp.If(this=_typeof_is(value, "DOUBLE"), true=double),
                         exp.If(this=_typeof_is(value, "TIMESTAMP WITH TIME ZONE"), true=stamp)], default=node)


def to_bytes(value: exp.Expr, node: exp.Expr) -> exp.Expr:
    """CAST(text AS BYTES) is the text's UTF-8; DuckDB's cast reads \\x escapes and refuses non-ASCII."""
    utf8 = call("encode", exp.TryCast(this=value.copy(), to=exp.DataType.build("VARCHAR")))
    return exp.Case(ifs=[exp.If(this=_typeof_is(value, "VARCHAR"), true=utf8)], default=node)


_OFFSET = re.compile(r"^([+-])(\d{1,2})(?::(\d{2}))?$")


def _date_in_zone(node: exp.Date) -> exp.Expr:
    """DATE(ts, '+05:30'): DuckDB knows named zones only; an offset is the UTC wall clock shifted."""
    zone = node.args.get("zone")
    offset = _OFFSET.match(zone.this) if isinstance(zone, exp.Literal) and zone.is_string else None
    if offset is None:  # a named zone (DuckDB knows it), or none; the date may fall before 0001-01-01
        return date_in_range(node) if zone is not None else node
    sign, hours, minutes = offset.groups()
    shift = exp.Interval(this=exp.Literal.string(f"{sign}{int(hours) * 60 + int(minutes or 0)}"),
                         unit=exp.var("MINUTE"))
    wall = exp.Cast(this=exp.Cast(this=node.this.copy(), to=exp.DataType.build("TIMESTAMPTZ")),
                    to=exp.DataType.build("TIMESTAMP"))
    return date_in_range(exp.Add(this=wall, expression=shift))


def _datetime_in_zone(node: exp.Datetime) -> exp.Expr:
    """DATETIME(ts, zone) before 0001-01-01 (the first instant west of UTC) is an error in BigQuery."""
    if node.args.get("expression") is None:
        return node
    first = exp.cast(exp.Literal.string("0001-01-01 00:00:00"), "TIMESTAMP")
    return when(exp.LT(this=exp.Paren(this=node.copy()), expression=first), "datetime overflow", node)


def _timestamp_add(node: exp.Expr) -> exp.Expr:
    """TIMESTAMP_ADD/SUB past 9999-12-31 23:59:59.999999 UTC is an error in BigQuery; DuckDB goes on."""
    result = exp.Paren(this=node)
    low = exp.cast(exp.Literal.string("0001-01-01 00:00:00+00"), "TIMESTAMPTZ")
    high = exp.cast(exp.Literal.string("9999-12-31 23:59:59.999999+00"), "TIMESTAMPTZ")
    outside = exp.Not(this=exp.Between(this=result.copy(), low=low, high=high))
    return when(outside, "timestamp overflow", result)


HANDLERS: dict[type[exp.Expr], Callable[[Any], exp.Expr]] = {
    exp.Literal: _number,
    exp.JSONExtractScalar: _json_value,
    exp.ParseJSON: _parse_json,
    exp.SafeDivide: _safe_divide,
    exp.Avg: numeric_division,
    exp.CountIf: _count_if,
    exp.GenerateDateArray: _generate_date_array,
    exp.Ln: _ln,
    exp.Concat: _concat,
    exp.Add: float_overflow,
    exp.Sub: float_overflow,
    exp.Mul: float_overflow,
    exp.Sqrt: _sqrt,
    exp.Pad: _pad,
    exp.Repeat: _repeat,
    exp.Substring: _substring,
    exp.Trim: _trim,
    exp.UnixSeconds: _unix(1_000_000),
    exp.UnixMillis: _unix(1000),
    exp.Sign: _sign,
    exp.Least: _least,
    exp.ArrayConcat: _array_concat,
    exp.ByteLength: _byte_length,
    exp.RegexpExtract: _regexp_extract,
    exp.Date: _date_in_zone,
    exp.TimestampAdd: _timestamp_add,
    exp.TimestampSub: _timestamp_add,
    exp.Datetime: _datetime_in_zone,
    exp.Upper: upper,
    exp.Lower: lower,
    exp.Like: like,
    exp.Min: lambda node: minimum(node, static_type),
    **{kind: lambda node: nan_comparison(node, static_type)
       for kind in (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)},
}
