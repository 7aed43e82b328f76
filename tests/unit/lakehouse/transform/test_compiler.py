import pytest

from lakehouse.transform.actions import actions_from_graph, execution_order
from lakehouse.transform.compiler import CompilationError, compile_project

pytestmark = pytest.mark.dataform
VARS = {"bronze_uri": "/data/bronze", "pii_key": "k", "run_date": "2026-03-31"}


@pytest.fixture(scope="module")
def graph(dataform_dir):
    return compile_project(dataform_dir, VARS)


def test_project_compiles_into_the_medallion_layers(graph):
    actions = actions_from_graph(graph)
    for table in ("stg_sales", "stg_click", "stg_startups", "fct_sales", "dim_customer",
                  "fct_click_features", "dim_startup", "customer_churn_features"):
        assert any(key.endswith("." + table) for key in actions), table
    for written_by_the_pipeline in ("fct_predictions_churn", "fct_model_metrics_churn"):  # created empty if missing
        assert actions[f"winter_days_warehouse.{written_by_the_pipeline}"].kind == "operations"
    assert actions["winter_days_warehouse.fct_sales"].unique_key == ("sale_id",)
    assert any(a.kind == "assertion" for a in actions.values())
    order = execution_order(actions)
    assert order.index("winter_days_staging.src_sales") < order.index("winter_days_warehouse.fct_sales")


def test_vars_with_equals_and_commas_survive(dataform_dir):
    # the CLI's --vars would cut this key at the first "=" or ","
    key = "a+b/c==,d"
    graph = compile_project(dataform_dir, {**VARS, "pii_key": key})
    assert graph["projectConfig"]["vars"]["pii_key"] == key
    stg = next(t for t in graph["tables"] if t["target"]["name"] == "stg_sales_checked")
    assert "a+b/c==,d" in stg["query"]


def test_bad_var_fails_compilation_with_the_reason(dataform_dir):
    with pytest.raises(CompilationError, match="run_date must be YYYY-MM-DD"):
        compile_project(dataform_dir, {**VARS, "run_date": "31/03/2026"})


@pytest.mark.parametrize("key", ["", "replace-me"])
def test_missing_or_placeholder_pii_key_fails_closed(dataform_dir, key):
    with pytest.raises(CompilationError, match="var pii_key is not set"):
        compile_project(dataform_dir, {**VARS, "pii_key": key})


def test_schema_suffix_is_passed_through(dataform_dir):
    graph = compile_project(dataform_dir, VARS, schema_suffix="dev")
    assert {t["target"]["schema"] for t in graph["tables"]} == {"winter_days_staging_dev", "winter_days_warehouse_dev"}
