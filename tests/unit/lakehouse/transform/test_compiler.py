import pytest

from lakehouse.transform.actions import actions_from_graph, execution_order
from lakehouse.transform.compiler import CompilationError, compile_project

pytestmark = pytest.mark.dataform
VARS = {"bronze_uri": "/data/bronze", "run_date": "2026-03-31"}


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
    # the CLI's --vars would cut this value at the first "=" or ","
    uri = "/data/a+b=c,d"
    graph = compile_project(dataform_dir, {**VARS, "bronze_uri": uri})
    assert graph["projectConfig"]["vars"]["bronze_uri"] == uri
    src = next(o for o in graph["operations"] if o["target"]["name"] == "src_sales")
    assert f"{uri}/sales" in src["queries"][0]


def test_bad_var_fails_compilation_with_the_reason(dataform_dir):
    with pytest.raises(CompilationError, match="run_date must be YYYY-MM-DD"):
        compile_project(dataform_dir, {**VARS, "run_date": "31/03/2026"})


def test_the_pseudonymisation_key_is_read_from_its_table_not_written_into_sql(graph):
    for name in ("stg_sales_checked", "stg_startups_checked"):
        table = next(t for t in graph["tables"] if t["target"]["name"] == name)
        assert "(SELECT pseudonymisation_key FROM `winter-days-local.winter_days_secrets.pii_key`)" in table["query"]
        assert {"schema": "winter_days_secrets", "name": "pii_key"}.items() <= next(
            d for d in table["dependencyTargets"] if d["name"] == "pii_key").items()
    assert "pii_key" not in graph["projectConfig"].get("vars", {})


def test_schema_suffix_is_passed_through(dataform_dir):
    graph = compile_project(dataform_dir, VARS, schema_suffix="dev")
    assert {t["target"]["schema"] for t in graph["tables"]} == {"winter_days_staging_dev", "winter_days_warehouse_dev"}
