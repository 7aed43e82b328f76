"""The small DuckDB expressions every rewrite builds: a function call, a runtime error, a guarded value.

`error()` is the one way a rewrite raises at run time; dialect.py's SAFE. turns each into NULL.
"""

from __future__ import annotations

from sqlglot import exp


def call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=[a.copy() for a in args])


def error(message: str) -> exp.Expr:
    return exp.Anonymous(this="error", expressions=[exp.Literal.string(message)])


def when(condition: exp.Expr, message: str, value: exp.Expr) -> exp.Expr:
    """value, or BigQuery's runtime error where the condition holds."""
    return exp.Case(ifs=[exp.If(this=condition, true=error(message))], default=value)
