import datetime as dt
import json

import pytest

from lakehouse.warehouse import WarehouseError
from lakehouse.warehouse.dialect import to_duckdb
from lakehouse.warehouse.duckdb import DuckDBWarehouse


@pytest.fixture
def wh():
    warehouse = DuckDBWarehouse(":memory:")
    yield warehouse
    warehouse.close()


def scalar(wh, expression):
    return wh.query(f"SELECT {expression} AS v")[0]["v"]


def test_project_is_dropped_from_table_names():
    (sql,) = to_duckdb("SELECT * FROM `my-proj.ds.t`")
    assert '"ds"."t"' in sql and "my-proj" not in sql


def test_create_table_like_copies_the_columns_and_no_rows(wh):
    """BigQuery's CREATE TABLE ... LIKE (BigQueryWarehouse.write_arrow's first write of a snapshot)."""
    wh.execute("CREATE SCHEMA IF NOT EXISTS ds")
    wh.execute("CREATE TABLE `p.ds.src` AS SELECT 1 AS id, DATE '2026-03-01' AS day")
    wh.execute("CREATE TABLE IF NOT EXISTS `p.ds.copy` LIKE `p.ds.src`")
    assert wh.columns("ds", "copy") == ["id", "day"] and wh.query("SELECT count(*) AS n FROM ds.copy") == [{"n": 0}]


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("DATE_SUB(DATE '2026-03-01', INTERVAL 1 DAY)", dt.date(2026, 2, 28)),  # a DATE, not a TIMESTAMP
        ("DATE_ADD(DATE '2026-01-31', INTERVAL 1 MONTH)", dt.date(2026, 2, 28)),
        ("SAFE.PARSE_JSON('not json')", None),
        ("SAFE_CAST('x' AS INT64)", None),
        ("TO_HEX(SHA256(CONCAT('k', 'v')))", "ef0d2a06e0d8b7cbbb2553b6f2bbcc4a8e4f7a1d6b0abdc6c55a5b9c2d7f6bd6"),
        ("DATE_DIFF(DATE '2026-03-01', DATE '2026-02-01', DAY)", 28),
        ("SAFE_CAST('2026-03-01T10:00:00.5Z' AS TIMESTAMP)", dt.datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=dt.UTC)),
    ],
)
def test_bigquery_expressions_keep_their_bigquery_results(wh, expression, expected):
    if expression.startswith("TO_HEX"):
        import hashlib

        expected = hashlib.sha256(b"kv").hexdigest()
    assert scalar(wh, expression) == expected


def test_external_table_becomes_a_view_over_the_same_files(tmp_path, wh):
    part = tmp_path / "clickstream" / "dt=2026-03-01"
    part.mkdir(parents=True)
    lines = [json.dumps({"a": 1, "s": 'x, "y"'}), "not json", ""]
    (part / "part-00000-of-00001.jsonl").write_text("\n".join(lines) + "\n")
    wh.execute("CREATE SCHEMA IF NOT EXISTS s")
    wh.execute(
        f"CREATE OR REPLACE EXTERNAL TABLE `p.s.src` (raw STRING) WITH PARTITION COLUMNS (dt DATE) "
        f"OPTIONS (format = 'CSV', field_delimiter = '\\x1f', quote = '', uris = ['{tmp_path}/clickstream/*'], "
        f"hive_partition_uri_prefix = '{tmp_path}/clickstream')"
    )
    rows = wh.query("SELECT raw, dt FROM `p.s.src`")
    # every line arrives whole (quotes and commas intact); the empty line arrives as NULL
    assert sorted(rows, key=lambda r: str(r["raw"])) == [
        {"raw": None, "dt": dt.date(2026, 3, 1)},
        {"raw": "not json", "dt": dt.date(2026, 3, 1)},
        {"raw": lines[0], "dt": dt.date(2026, 3, 1)},
    ]


def test_catalog_lookups_leave_the_connection_free_for_the_next_query(wh):
    # DuckDB 2 refuses a statement while an earlier result is unfinished (the demo's summary did this)
    wh.execute("CREATE SCHEMA IF NOT EXISTS s")
    wh.execute("CREATE TABLE s.t AS SELECT 1 AS a")
    assert wh.table_exists("s", "t")
    assert wh.query("SELECT a FROM `s.t`") == [{"a": 1}]
    assert wh.tables("s") == ["t"] and wh.columns("s", "t") == ["a"]
    assert wh.query_arrow("DECLARE x INT64 DEFAULT 2; SELECT x AS v").to_pylist() == [{"v": 2}]


WHOLE_ROW_MERGE = """MERGE `p`.`gold`.`t` T
USING (
{source}
) S
ON T.`id` = S.`id`
WHEN MATCHED THEN UPDATE SET `id` = S.`id`, `v` = S.`v`
WHEN NOT MATCHED THEN INSERT (`id`, `v`) VALUES (S.`id`, S.`v`)"""


@pytest.fixture
def table(wh):
    wh.execute("CREATE SCHEMA IF NOT EXISTS gold")
    wh.execute("CREATE OR REPLACE TABLE gold.t AS SELECT 1 AS id, 10 AS v UNION ALL SELECT 2, 20")
    return wh


def test_a_whole_row_merge_replaces_matched_rows_and_inserts_the_rest_as_a_merge_does(table):
    statements = to_duckdb(WHOLE_ROW_MERGE.format(source="SELECT 2 AS id, 21 AS v UNION ALL SELECT 3, 30"))
    assert not any(s.startswith("MERGE") for s in statements)  # DuckDB's MERGE rewrites rows column by column
    (count,) = table.run_script([WHOLE_ROW_MERGE.format(source="SELECT 2 AS id, 21 AS v UNION ALL SELECT 3, 30")])
    assert count == 2  # as a MERGE reports: one row updated, one inserted
    assert table.query("SELECT id, v FROM gold.t ORDER BY id") == [
        {"id": 1, "v": 10}, {"id": 2, "v": 21}, {"id": 3, "v": 30}]


def test_a_whole_row_merge_that_fails_half_way_changes_nothing(table):
    failing = WHOLE_ROW_MERGE.format(source="SELECT 2 AS id, 'not a number' AS v")  # the INSERT fails, after the DELETE
    with pytest.raises(WarehouseError):
        table.run_script([failing])
    assert table.query("SELECT id, v FROM gold.t ORDER BY id") == [{"id": 1, "v": 10}, {"id": 2, "v": 20}]
    table.execute("SELECT 1")  # the connection is usable: no transaction was left open


def test_a_merge_that_does_more_than_replace_rows_stays_a_merge():
    conditional = WHOLE_ROW_MERGE.format(source="SELECT 2 AS id, 21 AS v").replace(
        "WHEN MATCHED THEN", "WHEN MATCHED AND S.`v` > T.`v` THEN")
    assert [s.split()[0] for s in to_duckdb(conditional)] == ["MERGE"]
