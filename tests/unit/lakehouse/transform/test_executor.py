import pytest

from lakehouse.transform.actions import Selection, actions_from_graph, select
from lakehouse.transform.executor import Executor
from lakehouse.warehouse.duckdb import DuckDBWarehouse


def target(schema, name):
    return {"schema": schema, "name": name, "database": "proj"}


def graph(source_rows="SELECT 1 AS id, 'a' AS v UNION ALL SELECT 2, 'b'"):
    return {
        "tables": [
            {"type": "table", "target": target("stg", "src"), "query": source_rows, "fileName": "definitions/src.sqlx",
             "tags": ["silver"]},
            {"type": "incremental", "target": target("gold", "fct"), "fileName": "definitions/fct.sqlx",
             "query": "SELECT * FROM `proj.stg.src`", "incrementalQuery": "SELECT * FROM `proj.stg.src`",
             "uniqueKey": ["id"], "dependencyTargets": [target("stg", "src")], "tags": ["gold"]},
            {"type": "view", "target": target("gold", "v_fct"), "fileName": "definitions/v.sqlx",
             "query": "SELECT COUNT(*) AS n FROM `proj.gold.fct`", "dependencyTargets": [target("gold", "fct")],
             "tags": ["gold"]},
        ],
        "assertions": [
            {"target": target("asserts", "fct_positive"), "fileName": "definitions/a.sqlx", "tags": ["gold"],
             "query": "SELECT * FROM `proj.gold.fct` WHERE id <= 0", "dependencyTargets": [target("gold", "fct")]},
        ],
        "declarations": [{"target": target("gold", "declared"), "fileName": "definitions/d.sqlx"}],
    }


@pytest.fixture
def wh():
    warehouse = DuckDBWarehouse(":memory:")
    yield warehouse
    warehouse.close()


def run(wh, g, selection=None):
    selection = Selection() if selection is None else selection
    actions = actions_from_graph(g)
    return {r.target: r for r in Executor(wh).run(actions, select(actions, selection), selection.full_refresh)}


def test_builds_in_dependency_order_and_merges_incrementals_without_duplicates(wh):
    first = run(wh, graph())
    assert all(r.state == "SUCCEEDED" for r in first.values())
    assert first["gold.fct"].rows == 2
    second = run(wh, graph("SELECT 2 AS id, 'B' AS v UNION ALL SELECT 3, 'c'"))
    assert second["gold.fct"].state == "SUCCEEDED"
    assert wh.query("SELECT id, v FROM gold.fct ORDER BY id") == [
        {"id": 1, "v": "a"}, {"id": 2, "v": "B"}, {"id": 3, "v": "c"}]
    refreshed = run(wh, graph("SELECT 2 AS id, 'B' AS v UNION ALL SELECT 3, 'c'"), Selection(full_refresh=True))
    assert refreshed["gold.fct"].rows == 2
    assert wh.query("SELECT COUNT(*) AS n FROM gold.fct") == [{"n": 2}]


def test_failing_assertion_fails_with_its_name_and_sample(wh):
    results = run(wh, graph("SELECT -7 AS id, 'bad' AS v"))
    failed = results["asserts.fct_positive"]
    assert failed.state == "FAILED"
    assert "asserts.fct_positive" in failed.error and "definitions/a.sqlx" in failed.error
    assert failed.sample == [{"id": -7, "v": "bad"}]


def test_a_failed_action_skips_its_dependents_and_names_the_file(wh):
    results = run(wh, graph("SELECT id FROM no_such_table"))
    assert results["stg.src"].state == "FAILED"
    assert results["stg.src"].error.startswith("definitions/src.sqlx")
    assert results["gold.fct"].state == "SKIPPED"
    assert results["gold.v_fct"].state == "SKIPPED"


def test_selection_by_tag_with_and_without_dependencies():
    actions = actions_from_graph(graph())
    gold = select(actions, Selection(tags=("gold",)))
    assert set(gold) == {"gold.fct", "asserts.fct_positive", "gold.v_fct"}  # no dependencies pulled in
    assert gold.index("gold.fct") < gold.index("gold.v_fct")
    with_deps = select(actions, Selection(targets=("v_fct",), include_dependencies=True))
    assert with_deps.index("stg.src") < with_deps.index("gold.fct") < with_deps.index("gold.v_fct")
    with pytest.raises(ValueError, match="unknown target"):
        select(actions, Selection(targets=("nope",)))


def test_pre_operation_declare_reaches_the_main_query_and_post_operations_run_after(wh):
    g = {"tables": [
        {"type": "table", "target": target("stg", "src"), "fileName": "definitions/src.sqlx",
         "query": "SELECT 1 AS id UNION ALL SELECT 5"},
        {"type": "incremental", "target": target("gold", "big"), "fileName": "definitions/big.sqlx",
         "query": "SELECT id FROM `proj.stg.src` WHERE id > cutoff", "dependencyTargets": [target("stg", "src")],
         "preOps": ["DECLARE cutoff INT64 DEFAULT (SELECT MIN(id) FROM `proj.stg.src`)"],
         "postOps": ["CREATE OR REPLACE TABLE `proj.gold.audit` AS SELECT COUNT(*) AS n FROM `proj.gold.big`"]},
    ]}
    results = run(wh, g)
    assert results["gold.big"].state == "SUCCEEDED" and results["gold.big"].rows == 1
    assert wh.query("SELECT id FROM gold.big") == [{"id": 5}]
    assert wh.query("SELECT n FROM gold.audit") == [{"n": 1}]


def test_unsupported_construct_fails_its_action_naming_the_file_and_changes_nothing(wh):
    g = {"tables": [{"type": "table", "target": target("stg", "fp"), "fileName": "definitions/fp.sqlx",
                     "preOps": ["CREATE OR REPLACE TABLE `proj.stg.side_effect` AS SELECT 1 AS x"],
                     "query": "SELECT FARM_FINGERPRINT('a') AS f"}]}
    failed = run(wh, g)["stg.fp"]
    assert failed.state == "FAILED"
    assert failed.error.startswith("definitions/fp.sqlx: ") and "FARM_FINGERPRINT" in failed.error
    assert not wh.table_exists("stg", "side_effect")  # the script was refused whole, before it ran


@pytest.mark.parametrize("selection, message", [
    (Selection(tags=("glod",)), r"unknown tag\(s\) \['glod'\]; the project's tags are \['gold', 'silver'\]"),
    (Selection(targets=("nope",)), "unknown target 'nope'"),
])
def test_an_unknown_tag_or_target_is_refused_not_an_empty_success(selection, message):
    from lakehouse.transform.actions import UnknownSelection

    with pytest.raises(UnknownSelection, match=message):
        select(actions_from_graph(graph()), selection)
