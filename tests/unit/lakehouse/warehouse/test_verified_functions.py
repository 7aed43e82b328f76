"""Only functions verified against GoogleSQL's reference implementation translate (lakehouse/warehouse/verified.py):
each listed one is covered by the expression generator or the semantic battery; any other is refused."""

from __future__ import annotations

import pytest
import sqlglot
from generated_expressions import SQLX, VALUES, WIDER, generate
from sqlglot import exp
from test_semantics import _COVERED_SQL, REFUSED, RUNTIME_ERRORS

from lakehouse.warehouse import UnsupportedSQL
from lakehouse.warehouse.dialect import to_duckdb
from lakehouse.warehouse.verified import VERIFIED, VERIFIED_BY_NAME, name


def _functions(sql: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read="bigquery")
    if isinstance(tree, exp.Command):  # a bare REPEAT(...) reads as BigQuery's REPEAT loop
        tree = sqlglot.parse_one(f"SELECT {sql}", read="bigquery")
    return {name(n) for n in tree.dfs() if isinstance(n, exp.Func)}


def _covered() -> set[str]:
    generated = generate(SQLX + WIDER, 2000, seed=18)
    generated += [value for values in VALUES.values() for value in values]
    battery = _COVERED_SQL + list(REFUSED) + [sql for sql, *_ in RUNTIME_ERRORS]
    return set().union(*map(_functions, generated + battery))


def test_every_verified_function_is_covered_by_the_generator_or_the_battery():
    assert (VERIFIED | VERIFIED_BY_NAME) - _covered() == set()


@pytest.mark.parametrize("expression", [
    "EXP(1000)",  # inf on DuckDB, an error in BigQuery
    "TIMESTAMP_MICROS(1)",  # a DuckDB TIMESTAMP without a zone
    "DATE_FROM_UNIX_DATE(1)",
    "JSON_EXTRACT('{\"a\": 1}', '$.a')",  # JSON on DuckDB, STRING in BigQuery
    "NORMALIZE('é')",
    "PARSE_DATETIME('%Y', '2026')",
])
def test_a_function_not_verified_is_refused_naming_it(expression):
    with pytest.raises(UnsupportedSQL, match=r"not verified against GoogleSQL") as refused:
        to_duckdb(f"SELECT {expression} FROM t")
    assert expression.split("(")[0] in str(refused.value)
