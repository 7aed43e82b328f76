"""Rewrites found by the expression-parity check against GoogleSQL's reference implementation
(tests/support/generated_expressions.py): Unicode's full case mappings, FORMAT_*'s unpadded year,
and NUMERIC division and AVG refused when the operand's type is only known at run time."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from sqlglot import exp

from lakehouse.warehouse import UnsupportedSQL
from lakehouse.warehouse.nodes import call, error

_NUMERIC_DIVISION = ("NUMERIC division and AVG are exact to 9 digits in BigQuery, DuckDB divides decimals "
                     "as FLOAT64; cast an operand to FLOAT64")


@functools.cache
def _upper_expansions() -> tuple[tuple[str, str], ...]:
    """Unicode's unconditional special casing for upper case ('ß' -> 'SS', 'ﬁ' -> 'FI'), which GoogleSQL
    applies (ICU) and DuckDB does not: every character whose full upper case is more than one character.
    Python's str.upper implements the same table."""
    return tuple((c, c.upper()) for c in map(chr, range(sys.maxunicode + 1))
                 if len(c.upper()) > 1 and not 0xD800 <= ord(c) <= 0xDFFF)


def _replacing(text: exp.Expr, pairs: tuple[tuple[str, str], ...]) -> exp.Expr:
    for old, new in pairs:
        text = call("replace", text, exp.Literal.string(old), exp.Literal.string(new))
    return text


def upper(node: exp.Upper) -> exp.Expr:
    """UPPER with the full case mapping; the replacements run only on text that holds such a character."""
    pairs = _upper_expansions()
    special = call("regexp_matches", node.this.copy(),
                    exp.Literal.string("[" + "".join(old for old, _ in pairs) + "]"))
    full = exp.Upper(this=_replacing(node.this.copy(), pairs))
    return exp.Case(ifs=[exp.If(this=special, true=full)], default=node)


def lower(node: exp.Lower) -> exp.Expr:
    """LOWER: 'İ' is 'i̇' (two characters) in the full mapping; a capital sigma lowers to 'ς' at the end of a
    word (a rule of context DuckDB lacks), so text holding one raises rather than answer otherwise."""
    sigma = call("contains", node.this.copy(), exp.Literal.string("Σ"))
    dotted = exp.Lower(this=_replacing(node.this.copy(), (("İ", "i̇"),)))
    return exp.Case(ifs=[exp.If(this=sigma, true=error(
        "LOWER of text with a capital sigma: the final-sigma rule is not translated"))], default=dotted)


def unpadded_years(value: exp.Expr, fmt: str) -> exp.Expr:
    """strftime(value, fmt), but %Y as GoogleSQL writes it: the year without leading zeros (year 1 is '1')."""
    pieces: list[exp.Expr] = []
    for index, part in enumerate(fmt.replace("%%", "\0").split("%Y")):
        if index:
            pieces.append(exp.Cast(this=call("year", value.copy()), to=exp.DataType.build("VARCHAR")))
        if part:
            pieces.append(call("strftime", value.copy(), exp.Literal.string(part.replace("\0", "%%"))))
    result = pieces[0]
    for piece in pieces[1:]:
        result = exp.DPipe(this=result, expression=piece)
    return result


def _is_decimal(value: exp.Expr) -> exp.Expr:
    return exp.Like(this=call("typeof", value.copy()), expression=exp.Literal.string("DECIMAL%"))


def _is_double(value: exp.Expr) -> exp.Expr:
    return exp.EQ(this=call("typeof", value.copy()), expression=exp.Literal.string("DOUBLE"))


def numeric_quotient(node: exp.Expr, operands: list[exp.Expr], kinds: list[object]) -> exp.Expr:
    """A division is NUMERIC in BigQuery when an operand is NUMERIC and none FLOAT64; DuckDB answers a
    DOUBLE. Refused when translating if the types are known, else raising at run time if they are so."""
    decimal, double = exp.DataType.Type.DECIMAL, exp.DataType.Type.DOUBLE
    if decimal in kinds and double not in kinds:
        raise UnsupportedSQL(f"{node.sql('bigquery')[:80]}: {_NUMERIC_DIVISION}")
    if None not in kinds:
        return node
    condition = exp.And(this=exp.Paren(this=exp.or_(*[_is_decimal(o) for o in operands])),
                        expression=exp.Not(this=exp.Paren(this=exp.or_(*[_is_double(o) for o in operands]))))
    return exp.Case(ifs=[exp.If(this=condition, true=error(_NUMERIC_DIVISION))], default=exp.Paren(this=node))


def numeric_average(node: exp.Avg, kind: object) -> exp.Expr:
    """AVG of a NUMERIC is NUMERIC in BigQuery, DOUBLE in DuckDB: refused when the type is known, else raising
    at run time (DuckDB's typeof is the static type, so an empty input raises too)."""
    if kind == exp.DataType.Type.DECIMAL:
        raise UnsupportedSQL(f"{node.sql('bigquery')[:80]}: {_NUMERIC_DIVISION}")
    if kind is not None:
        return node
    argument = node.this.expressions[0] if isinstance(node.this, exp.Distinct) else node.this
    if isinstance(node.parent, exp.Window | exp.Filter | exp.IgnoreNulls | exp.RespectNulls):
        # no place around the call: guard each input value instead
        guarded = exp.Case(ifs=[exp.If(this=_is_decimal(argument), true=error(_NUMERIC_DIVISION))],
                           default=argument.copy())
        argument.replace(guarded)
        return node
    sample = exp.AnyValue(this=argument.copy())
    return exp.Case(ifs=[exp.If(this=_is_decimal(sample), true=error(_NUMERIC_DIVISION))], default=node)


def _float_literal(node: exp.Expr) -> bool:
    """Our translation of a FLOAT64 literal (functions._number): CAST(1.5 AS DOUBLE), maybe negated."""
    while isinstance(node, exp.Neg | exp.Paren):
        node = node.this
    return isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and not node.this.is_string \
        and node.to.this == exp.DataType.Type.DOUBLE


def _unfolded(node: exp.Expr) -> exp.Expr:
    """The NULL literal that null_operand put in a scalar subquery, whose type annotation cannot see."""
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select) and len(node.this.selects) == 1:
        return node.this.selects[0]
    return node


def literal_coercion(node: exp.Expr, static_type: Callable[[exp.Expr], object]) -> exp.Expr:
    """`numeric * 1.5`: BigQuery coerces the literal to NUMERIC (a NUMERIC result), DuckDB would compute a
    DOUBLE. With a NUMERIC operand the literal becomes NUMERIC; with an operand of unknown type the
    expression raises at run time if that operand is a decimal."""
    operands = [node.this, node.expression]
    literals = [o for o in operands if _float_literal(o)]
    if len(literals) != 1:
        return node
    literal = literals[0]
    other = operands[1] if literal is operands[0] else operands[0]
    kind = static_type(_unfolded(other))
    while isinstance(literal, exp.Neg | exp.Paren):
        literal = literal.this
    if kind == exp.DataType.Type.DECIMAL:
        literal.set("to", exp.DataType.build("DECIMAL(38, 9)"))
        if abs(float(literal.this.this)) >= 1e29:  # past NUMERIC's 29 integer digits: an error in BigQuery
            raise UnsupportedSQL(f"{node.sql('bigquery')[:80]}: Invalid NUMERIC value {literal.this.this}")
        return node
    if kind is not None:
        return node
    return exp.Case(ifs=[exp.If(this=_is_decimal(other), true=error(
        "NUMERIC with a FLOAT64 literal is NUMERIC in BigQuery and FLOAT64 in DuckDB: write the literal as "
        "NUMERIC '...' or cast the operand"))], default=exp.Paren(this=node))


def like(node: exp.Like) -> exp.Expr:
    """BigQuery's LIKE escapes with a backslash ('a\\_b'); DuckDB's has no escape character unless told."""
    if isinstance(node.parent, exp.Escape):
        return node
    return exp.Escape(this=node, expression=exp.Literal.string("\\"))


def _is_nan(value: exp.Expr) -> exp.Expr:
    return call("isnan", exp.Cast(this=value.copy(), to=exp.DataType.build("DOUBLE")))


def nan_comparison(node: exp.Binary, static_type: Callable[[exp.Expr], object]) -> exp.Expr:
    """A comparison with NaN is FALSE in BigQuery (!= TRUE); DuckDB orders NaN above every number and equal
    to itself. Rewritten when an operand is known to be FLOAT64 when translating."""
    operands = [node.this, node.expression]
    if exp.DataType.Type.DOUBLE not in [static_type(o) for o in operands]:
        return node
    nan = exp.or_(*[_is_nan(o) for o in operands])
    unknown = exp.or_(*[exp.Is(this=o.copy(), expression=exp.Null()) for o in operands])
    return exp.Case(ifs=[exp.If(this=unknown, true=exp.cast(exp.Null(), "BOOLEAN")),
                         exp.If(this=nan, true=exp.Boolean(this=isinstance(node, exp.NEQ)))],
                    default=exp.Paren(this=node))


def minimum(node: exp.Min, static_type: Callable[[exp.Expr], object]) -> exp.Expr:
    """MIN over FLOAT64 with a NaN is NaN in BigQuery (NaN orders first); DuckDB orders it last. MAX then is
    NaN in both, so a NaN maximum stands for "a NaN among the values"."""
    if isinstance(node.parent, exp.Window | exp.Filter | exp.IgnoreNulls | exp.RespectNulls) or node.expressions:
        return node
    if static_type(node.this) not in (None, exp.DataType.Type.DOUBLE):
        return node
    largest = exp.Max(this=node.this.copy())
    nan = exp.And(this=_is_double(largest), expression=call("isnan", exp.TryCast(
        this=largest.copy(), to=exp.DataType.build("DOUBLE"))))
    return exp.Case(ifs=[exp.If(this=nan, true=largest.copy())], default=node)


_NULL_FOLDING_PARENTS = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.DPipe, exp.EQ, exp.NEQ, exp.GT,
                         exp.GTE, exp.LT, exp.LTE)
_CONDITIONAL = (exp.Cast, exp.TryCast, exp.If, exp.Case, exp.Coalesce, exp.Nullif, exp.Array, exp.Struct)


def null_operand(node: exp.Expr) -> exp.Expr:
    """A NULL literal operand: DuckDB's optimiser folds `overflow + NULL` or `f(NULL, bad)` to NULL without
    evaluating the other operand, where BigQuery raises its error. A scalar subquery is not folded."""
    value = node.this if isinstance(node, exp.Cast | exp.TryCast) else node
    if not isinstance(value, exp.Null):
        return node
    parent = node.parent
    folding = isinstance(parent, _NULL_FOLDING_PARENTS) or (
        isinstance(parent, exp.Func) and not isinstance(parent, _CONDITIONAL))
    if not folding or isinstance(node, exp.Null) and not isinstance(parent, _NULL_FOLDING_PARENTS):
        return node
    if node.find_ancestor(exp.SafeFunc) is not None:  # DuckDB's TRY() refuses a scalar subquery
        return node
    return exp.Subquery(this=exp.select(node.copy()))
