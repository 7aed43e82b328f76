"""Model parity: every action of the project, run on GoogleSQL's reference engine and on DuckDB through our
executor, gives the same table. This is the closest this machine comes to running the SQLX on BigQuery.

The tiny lake (tests/support/tiny_lake.py) is built once through the local runner. Then, in dependency order,
each table, view, incremental table and assertion query is evaluated by the ZetaSQL local service
(EvaluateQuery) over its upstream tables' contents, the ones the reference engine itself produced for
the actions before it; the external source tables (BigQuery's reading of the bronze files, which the
reference engine cannot do) and the tables the ML pipeline writes take their DuckDB contents. Every
table must hold the same rows (as a multiset: neither engine promises an order) as DuckDB's.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
import sqlglot
from googlesql_values import bigquery_name_of_duckdb, same
from sqlglot import exp
from tiny_lake import next_day

from lakehouse.transform.actions import actions_from_graph, execution_order
from lakehouse.warehouse import connect

pytestmark = [pytest.mark.dataform, pytest.mark.googlesql]
# ZetaSQL has no MAX_BY/MIN_BY; BigQuery defines MAX_BY(x, y) as ANY_VALUE(x HAVING MAX y)
_BY = re.compile(r"\b(MAX|MIN)_BY\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)", re.IGNORECASE)


def for_reference(sql: str) -> str:
    return _BY.sub(lambda m: f"ANY_VALUE({m[2]} HAVING {m[1].upper()} {m[3]})", sql)


def _full_name(target: dict) -> str:
    return f"{target['database']}.{target['schema']}.{target['name']}"


def _key(row: dict) -> str:
    def canonical(value):
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.9g}"
        if isinstance(value, list):
            return [canonical(v) for v in value]
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in value.items()}
        return value
    return repr({k: canonical(v) for k, v in row.items()})


def differences(mine: list[dict], theirs: list[dict], sample: int = 3) -> list[str]:
    """Rows of one side with no equal row on the other, after sorting both the same way."""
    if len(mine) != len(theirs):
        return [f"{len(mine)} rows on DuckDB, {len(theirs)} in GoogleSQL"]
    left, right = sorted(mine, key=_key), sorted(theirs, key=_key)
    found = [f"DuckDB {a} / GoogleSQL {b}" for a, b in zip(left, right, strict=True)
             if a.keys() != b.keys() or not all(same(a[k], b[k]) for k in a)]
    return found[:sample] + ([f"... {len(found) - sample} more"] if len(found) > sample else [])


def read_tables(uri: str) -> dict[str, tuple]:
    """Every table and view of a DuckDB lake: name -> (BigQuery columns, rows)."""
    warehouse = connect(uri, read_only=True)
    try:
        types = warehouse.run_native("SELECT table_schema || '.' || table_name, column_name, data_type "
                                     "FROM information_schema.columns ORDER BY ordinal_position").fetchall()
        columns: dict[str, list] = {}
        for table, column, kind in types:
            columns.setdefault(table, []).append((column, bigquery_name_of_duckdb(kind)))
        return {t: (c, warehouse.query(f"SELECT * FROM `{t}`")) for t, c in columns.items()}
    finally:
        warehouse.close()


def merge(googlesql, target: str, before: tuple, fresh: tuple, unique_key: tuple[str, ...]) -> list[dict]:
    """What Dataform's MERGE on the unique key leaves (matched rows replaced, the others inserted), run on the
    reference engine as the DELETE and INSERT it amounts to (its evaluator has no MERGE). The DELETE needs the
    key declared to name the rows it removes; the INSERT must not declare it (the service then crashes
    serializing the old key of a new row)."""
    columns, source = before[0], "winter_days_merge.source"
    matched = " AND ".join(f"S.`{k}` = T.`{k}`" for k in unique_key)
    deleted = googlesql.modify(f"DELETE FROM `{target}` T WHERE EXISTS (SELECT 1 FROM `{source}` S WHERE {matched})",
                               target, {target: before, source: fresh}, unique_key)
    gone = {key for operation, _, key in deleted if operation == "DELETE"}
    assert len(gone) == len(deleted), deleted[:3]
    kept = [r for r in before[1] if tuple(r[k] for k in unique_key) not in gone]
    names = ", ".join(f"`{c}`" for c, _ in columns)
    inserted = googlesql.modify(f"INSERT INTO `{target}` ({names}) SELECT {names} FROM `{source}`",
                                target, {target: (columns, kept), source: fresh}, primary_key=())
    return kept + [row for operation, row, _ in inserted if operation == "INSERT"]


def incremental(googlesql, action, name: str, tables: dict) -> tuple:
    """An incremental run on the reference engine, as Dataform scripts it: the pre-operations (DECLAREd
    values, substituted as literals; a DELETE, as the rows it keeps), then a MERGE on the unique key, or
    an INSERT without one."""
    variables: dict[str, str] = {}

    def bound(sql: str) -> str:
        for variable, literal in variables.items():
            sql = re.sub(rf"\b{variable}\b", literal, sql)
        return sql

    for tree in (t for pre in action.incremental_pre_ops for t in sqlglot.parse(pre, read="bigquery") if t):
        if isinstance(tree, exp.Declare):
            for item in tree.expressions:
                (_, rows) = googlesql.query(bound(f"SELECT {item.args['default'].sql('bigquery')} AS v"), tables)
                for variable in item.this if isinstance(item.this, list) else [item.this]:
                    variables[variable.name] = f"DATE '{rows[0]['v'].isoformat()}'"
        elif isinstance(tree, exp.Delete):
            condition = bound(tree.args["where"].this.sql("bigquery"))
            tables[name] = googlesql.query(f"SELECT * FROM `{name}` WHERE NOT COALESCE({condition}, FALSE)", tables)
        elif isinstance(tree, exp.Alter):  # ADD COLUMN IF NOT EXISTS: a contract's new optional field
            columns, rows = tables[name]
            for column in tree.args["actions"]:
                assert isinstance(column, exp.ColumnDef), f"{action.key}: {tree.sql('bigquery')[:80]} not modelled"
                if column.name not in {c for c, _ in columns}:
                    columns = [*columns, (column.name, column.args["kind"].sql("bigquery"))]
                    rows = [{**row, column.name: None} for row in rows]
            tables[name] = (columns, rows)
        else:
            raise AssertionError(f"{action.key}: pre-operation {tree.sql('bigquery')[:80]} not modelled here")
    columns, fresh = googlesql.query(for_reference(bound(action.incremental_query)), tables)
    if action.unique_key:
        return columns, merge(googlesql, name, tables[name], (columns, fresh), action.unique_key)
    return columns, tables[name][1] + fresh


def reference_build(googlesql, graph: dict, local: dict, previous: dict | None = None):
    """Every action on the reference engine, in dependency order; (differences, actions compared, rows)."""
    compiled = {f"{t['target']['schema']}.{t['target']['name']}": t
                for kind in ("tables", "operations", "assertions") for t in graph.get(kind, [])}
    actions = actions_from_graph(graph)
    reference: dict[str, tuple] = {}
    for declared in graph.get("declarations", []):  # tables no action writes (the key table): given
        target = declared["target"]
        reference[_full_name(target)] = local[f"{target['schema']}.{target['name']}"]
    failures, compared, rows = [], 0, 0
    for key in execution_order(actions):
        action, node = actions[key], compiled.get(key)
        if node is None:
            continue
        name = _full_name(node["target"])
        if action.kind == "operations":  # bronze as BigQuery reads it, tables the ML pipeline writes: given
            reference[name] = local[key]
            continue
        inputs = {_full_name(t): reference[_full_name(t)] for t in node.get("dependencyTargets", [])}
        if action.kind == "incremental" and previous and key in previous:
            columns, result = incremental(googlesql, action, name, {**inputs, name: previous[key]})
        else:
            columns, result = googlesql.query(for_reference(action.query), inputs)
        reference[name] = (columns, result)
        compared, rows = compared + 1, rows + len(result)
        local_columns, local_rows = local.get(key, ([], []))
        if columns != local_columns:
            failures.append(f"{key}: columns {local_columns} on DuckDB, {columns} in GoogleSQL")
            continue
        failures += [f"{key}: {d}" for d in differences(local_rows, result)]
    return failures, compared, rows


def test_every_table_is_the_same_on_googlesql_and_on_duckdb(googlesql, tiny_lake):
    graph, uri = tiny_lake
    failures, compared, rows = reference_build(googlesql, graph, read_tables(uri))
    assert compared >= 30, f"only {compared} actions compared"
    assert rows > 300, f"only {rows} rows compared: the lake is too small to show anything"
    assert not failures, f"{len(failures)} difference(s) over {compared} actions:\n" + "\n".join(failures)


def test_the_incremental_run_is_the_same_on_googlesql_and_on_duckdb(googlesql, tiny_lake, tmp_path, dataform_dir):
    """A next day arrives (new sales, new versions of known sales): every incremental table (MERGE on its
    unique key, or its pre-operations' DELETE and an INSERT) gives the same rows on both engines."""
    _, uri = tiny_lake
    home = tmp_path / "lake"
    shutil.copytree(Path(uri.removeprefix("duckdb://")).parent, home)
    before = read_tables(f"duckdb:///{home / 'warehouse.duckdb'}")
    graph, after_uri = next_day(home, dataform_dir)
    after = read_tables(after_uri)
    assert len(after["winter_days_warehouse.fct_sales"][1]) > len(before["winter_days_warehouse.fct_sales"][1])
    failures, compared, _ = reference_build(googlesql, graph, after, previous=before)
    assert not failures, f"{len(failures)} difference(s) over {compared} actions:\n" + "\n".join(failures)
