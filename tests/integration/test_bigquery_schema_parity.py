"""Schema parity: every compiled table, view, incremental table and assertion has, on DuckDB, the column
types GoogleSQL (BigQuery's SQL front end) infers for the same SQL.

The project runs on the tiny lake (tests/support/tiny_lake.py) through the local runner; then each action's query
is analyzed by GoogleSQL's reference implementation with a catalog of its upstream schemas (the
types GoogleSQL inferred for the upstream actions; for the external source tables and the tables
the ML pipeline writes, their DuckDB types, which are given, not inferred), and the inferred types
must equal the DuckDB table's types as BigQuery names them (googlesql_values.bigquery_name_of_duckdb).
"""

from __future__ import annotations

import pytest
from googlesql_values import bigquery_name_of_duckdb, bigquery_name_of_loaded

from lakehouse.transform.actions import actions_from_graph, execution_order
from lakehouse.warehouse import connect

pytestmark = [pytest.mark.dataform, pytest.mark.googlesql]
@pytest.fixture(scope="module")
def built(tiny_lake):
    """The compiled graph and the DuckDB column types by table."""
    graph, uri = tiny_lake
    warehouse = connect(uri, read_only=True)
    try:
        rows = warehouse.run_native("SELECT table_schema, table_name, column_name, data_type "
                                    "FROM information_schema.columns ORDER BY ordinal_position").fetchall()
    finally:
        warehouse.close()
    duckdb_types: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, kind in rows:
        duckdb_types.setdefault(f"{schema}.{table}", []).append((column, kind))
    return graph, duckdb_types


def _full_name(target: dict) -> str:
    return f"{target['database']}.{target['schema']}.{target['name']}"


def test_every_action_has_the_column_types_googlesql_infers(googlesql, built):
    graph, duckdb_types = built
    targets = {f"{t['target']['schema']}.{t['target']['name']}": t
               for kind in ("tables", "operations", "assertions") for t in graph.get(kind, [])}
    actions = actions_from_graph(graph)
    catalog: dict[str, list[tuple[str, str]]] = {}
    mismatches, compared = [], 0
    for declared in graph.get("declarations", []):  # tables written outside Dataform (the PII key table)
        name = f"{declared['target']['schema']}.{declared['target']['name']}"
        if name in duckdb_types:
            catalog[_full_name(declared["target"])] = [(c, bigquery_name_of_loaded(t)) for c, t in duckdb_types[name]]
    for key in execution_order(actions):
        action, compiled = actions[key], targets.get(key)
        if compiled is None:
            continue
        duck = duckdb_types.get(key, [])
        if action.kind == "operations":  # external tables over bronze, tables the ML pipeline writes: given
            catalog[_full_name(compiled["target"])] = [(c, bigquery_name_of_loaded(t)) for c, t in duck]
            continue
        local = [(c, bigquery_name_of_duckdb(t)) for c, t in duck]
        inferred = googlesql.analyze(action.query, catalog)
        catalog[_full_name(compiled["target"])] = inferred
        compared += len(inferred)
        if [name for name, _ in inferred] != [name for name, _ in local]:
            mismatches.append(f"{key}: columns {[n for n, _ in local]} on DuckDB, {[n for n, _ in inferred]} "
                              "in GoogleSQL")
            continue
        mismatches += [f"{key}.{name}: DuckDB {mine}, GoogleSQL {theirs}"
                       for (name, theirs), (_, mine) in zip(inferred, local, strict=True) if mine != theirs]
    assert compared > 250, f"only {compared} columns compared"
    assert not mismatches, f"{len(mismatches)} of {compared} column types differ:\n" + "\n".join(mismatches)
