"""FLOAT64 arithmetic as GoogleSQL does it, where DuckDB's namesake answers otherwise: ROUND rounds the
double's exact binary value, and POW's NaN or infinite results from finite numbers are errors.
Part of the node rewrites of rewrites.py, which merges HANDLERS into its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from lakehouse.warehouse.functions import static_type
from lakehouse.warehouse.nodes import call, when


def _round(node: exp.Round) -> exp.Expr:
    """ROUND(FLOAT64, n) rounds the double's exact binary value half away from zero in GoogleSQL, so
    ROUND(2.675, 2) is 2.67 (2.675 is 2.67499... in binary) and ROUND(8.345, 2) 8.35 (8.34500...06); DuckDB
    rounds its decimal text (2.68). The scaled value x * 10^n (x / 10^-n) is rounded in doubles, which
    decides like the exact value except where it lands on a half exactly: there the sign of its exact
    error (Dekker's product, in doubles) decides. Of a NUMERIC both round exactly; a digit count that is
    not a literal keeps DuckDB's ROUND."""
    digits = node.args.get("decimals")
    if digits is None or not (isinstance(digits, exp.Literal) and re.fullmatch(r"-?[0-9]+", digits.name)) or \
            static_type(node.this) not in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        return node
    n = int(digits.name)
    if abs(n) > 22:  # 10^n is exact only up to 22
        return node
    x, c = exp.Paren(this=node.this.copy()), _double(f"1e{abs(n)}")
    scaled = exp.Paren(this=exp.Mul(this=x.copy(), expression=c.copy()) if n >= 0 else
                       exp.Div(this=x.copy(), expression=c.copy()))
    # the sign of (exact scaled value - scaled): x*c - scaled, or x - scaled*c for a division
    if n >= 0:
        residual = _two_product_error(x, c, scaled)
    else:
        product = exp.Paren(this=exp.Mul(this=scaled.copy(), expression=c.copy()))
        residual = exp.Sub(this=exp.Paren(this=exp.Sub(this=x.copy(), expression=product)),
                        expression=_two_product_error(scaled, c, product))
    magnitude = call("abs", scaled)
    fraction = exp.Sub(this=magnitude, expression=call("floor", magnitude))
    half = exp.EQ(this=fraction, expression=exp.Literal.number("0.5"))
    below = exp.LT(this=exp.Mul(this=exp.Paren(this=residual), expression=call("sign", scaled)),
                   expression=exp.Literal.number(0))
    toward_zero = exp.Mul(this=call("sign", scaled), expression=call("floor", magnitude))
    whole = exp.Case(ifs=[exp.If(this=exp.And(this=half, expression=below), true=toward_zero)],
                     default=call("round", scaled))
    back = exp.Div(this=whole, expression=c.copy()) if n >= 0 else exp.Mul(this=whole, expression=c.copy())
    return exp.Case(ifs=[exp.If(this=call("isfinite", scaled), true=back)], default=x.copy())


def _double(number: str) -> exp.Expr:
    return exp.Cast(this=exp.Literal.number(number), to=exp.DataType.build("DOUBLE"))


def _two_product_error(a: exp.Expr, b: exp.Expr, product: exp.Expr) -> exp.Expr:
    """a*b - fl(a*b), exactly, in doubles (Dekker: Veltkamp's split of each factor into 26-bit halves)."""
    def split(v: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        t = exp.Paren(this=exp.Mul(this=_double("134217729"), expression=v.copy()))  # 2^27 + 1
        high = exp.Paren(this=exp.Sub(this=t, expression=exp.Paren(this=exp.Sub(this=t.copy(), expression=v.copy()))))
        return high, exp.Paren(this=exp.Sub(this=v.copy(), expression=high.copy()))
    (ah, al), (bh, bl) = split(a), split(b)

    def mul(p: exp.Expr, q: exp.Expr) -> exp.Expr:
        return exp.Mul(this=p.copy(), expression=q.copy())

    first = exp.Paren(this=exp.Sub(this=mul(ah, bh), expression=product.copy()))
    return exp.Add(this=exp.Paren(this=exp.Add(this=exp.Add(this=first, expression=mul(ah, bl)),
                                               expression=mul(al, bh))), expression=mul(al, bl))


def _pow(node: exp.Pow) -> exp.Expr:
    """POW of finite numbers whose result is NaN or infinite (POW(-8, 1/3), POW(0, -1), an overflow) is an
    error in BigQuery; DuckDB answers nan or inf."""
    operands = [exp.Cast(this=x.copy(), to=exp.DataType.build("DOUBLE")) for x in (node.this, node.expression)]
    finite = exp.and_(*[call("isfinite", x) for x in operands])
    result = exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    overflow = exp.And(this=finite, expression=exp.Not(this=call("isfinite", result)))
    return when(overflow, "Floating point error in function: POW", node)


HANDLERS: dict[type[exp.Expr], Callable[[Any], exp.Expr]] = {
    exp.Round: _round,
    exp.Pow: _pow,
}
