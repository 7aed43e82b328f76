"""Expression parity with GoogleSQL's reference implementation on seeded generated expressions
(tests/support/generated_expressions.py; bench/expression_parity.py runs thousands and records the figures)."""

from __future__ import annotations

import pytest
from generated_expressions import SQLX, WIDER, generate, run

from lakehouse.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.googlesql
SEED = 18
WIDER_EXACT_FLOOR = 0.97  # the acceptance; bench/RESULTS.md measures the share over thousands


@pytest.fixture(scope="module")
def warehouse():
    with DuckDBWarehouse(":memory:") as wh:
        yield wh


def _listing(outcomes) -> str:
    return "\n".join(f"{o.kind}: {o.expression} -- {o.detail}" for o in outcomes)


def test_the_functions_our_sqlx_uses_answer_as_googlesql_or_refuse(googlesql, warehouse):
    report = run(googlesql, warehouse, generate(SQLX, 300, SEED))
    assert len(report.valid()) > 250, report.counts()
    assert not report.wrong(), f"{len(report.wrong())} wrong:\n{_listing(report.wrong())}"


def test_the_wider_set_is_exact_or_refuses_loudly(googlesql, warehouse):
    report = run(googlesql, warehouse, generate(WIDER, 300, SEED))
    share = report.share("exact", "both_raise")
    assert share >= WIDER_EXACT_FLOOR, f"{share:.1%} exact; {report.counts()}\n{_listing(report.wrong())}"
    assert not report.wrong(), f"{len(report.wrong())} wrong:\n{_listing(report.wrong())}"
