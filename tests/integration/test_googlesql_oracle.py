"""The oracle itself: GoogleSQL's reference implementation answers as BigQuery documents, and values
travel both ways (table contents in, results out) unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from googlesql_service import GoogleSQLError

pytestmark = pytest.mark.googlesql


def test_reference_answers_as_bigquery_documents(googlesql):
    assert googlesql.evaluate("EXTRACT(DAYOFWEEK FROM DATE '2026-03-01')") == (1, "INT64")
    assert googlesql.evaluate("CAST(DATE_TRUNC(DATE '2026-03-18', MONTH) AS STRING)") == ("2026-03-01", "STRING")
    assert googlesql.evaluate("ROUND(-2.5)") == (-3.0, "FLOAT64")
    assert googlesql.evaluate("CAST('1.5' AS NUMERIC) / 4") == (Decimal("0.375"), "NUMERIC")


def test_runtime_errors_are_errors(googlesql):
    with pytest.raises(GoogleSQLError, match="division by zero"):
        googlesql.evaluate("1 / 0")


def test_bigquery_product_mode_has_no_int32(googlesql):
    with pytest.raises(GoogleSQLError, match="INT32"):
        googlesql.evaluate("CAST(1 AS INT32)")


def test_table_contents_round_trip(googlesql):
    columns = [("d", "DATE"), ("t", "TIMESTAMP"), ("n", "NUMERIC"), ("s", "STRING"), ("a", "ARRAY<INT64>"),
               ("x", "DATETIME"), ("f", "FLOAT64"), ("b", "BOOL")]
    row = {"d": dt.date(2026, 3, 1), "t": dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC),
           "n": Decimal("-12.345000000"), "s": "é", "a": [1, None], "x": dt.datetime(1999, 12, 31, 23, 59, 59),
           "f": -0.5, "b": False}
    tables = {"p.ds.t": (columns, [row, dict.fromkeys(row)])}
    got_columns, rows = googlesql.query("SELECT * FROM `p.ds.t` ORDER BY d", tables)
    assert got_columns == columns
    assert rows == [dict.fromkeys(row), row]


def test_analyze_names_the_output_types(googlesql):
    tables = {"p.ds.t": [("a", "INT64"), ("b", "STRING"), ("m", "NUMERIC")]}
    sql = "SELECT a, COUNT(*) AS n, SUM(m) AS total, MAX_BY(b, a) AS last_b FROM `p.ds.t` GROUP BY a"
    assert googlesql.analyze(sql, tables) == [("a", "INT64"), ("n", "INT64"), ("total", "NUMERIC"),
                                             ("last_b", "STRING")]
