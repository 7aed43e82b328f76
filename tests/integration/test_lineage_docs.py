"""Lineage and docs of the real Dataform project: `dataform compile --json`, `dataform ls`, GET /docs
and `winterdays docs --out`, before anything is built (the browser test looks at them after a demo run)."""

from __future__ import annotations

import json
import sys

import pytest

from orchestrator.app import create_app
from orchestrator.cli import main
from orchestrator.resources import Resources

pytestmark = pytest.mark.dataform
FCT = "winter_days_warehouse.fct_sales"


def test_compile_json_is_the_graph_with_descriptions_columns_and_assertions(settings, capsys):
    assert main(["dataform", "compile", "--json"]) == 0
    graph = json.loads(capsys.readouterr().out)
    actions = {a["key"]: a for a in graph["actions"]}
    assert graph["count"] == len(actions) > 20
    position = {key: n for n, key in enumerate(actions)}
    assert all(position[source] < position[target] for source, target in graph["edges"])  # dependencies first
    fct = actions[FCT]
    assert fct["dependencies"] == ["winter_days_staging.stg_sales"] and fct["kind"] == "incremental"
    assert "MERGE" in fct["description"] and "quantity x unit_price" in fct["columns"]["amount"]
    checks = {a["key"].split(".")[1]: a["rule"] for a in fct["assertions"]}
    assert checks["assert_fct_sales_customer_fk"] == "custom"
    assert checks["winter_days_warehouse_fct_sales_assertions_uniqueKey_0"].startswith("uniqueKey")
    assert all(a["description"] for a in graph["actions"])  # every action says what it is


def test_ls_lists_what_a_selection_would_run_in_order_and_runs_nothing(settings, capsys):
    assert main(["dataform", "ls", "--actions", "fct_sales"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines[:-1]] == [
        "winter_days_staging.src_sales", "winter_days_staging.stg_sales_checked",
        "winter_days_staging.stg_sales_versions", "winter_days_staging.stg_sales", FCT]
    assert lines[-1].startswith("5 of ") and lines[-1].endswith("actions would run; nothing ran")
    assert not settings.warehouse.path.exists()
    assert main(["dataform", "ls", "--actions", "fct_sales", "--no-dependencies", "--dependents"]) == 0
    listed = [line.split()[-1] for line in capsys.readouterr().out.splitlines()[:-1]]
    assert listed[0] == FCT and "winter_days_warehouse.rpt_revenue_daily" in listed
    assert main(["dataform", "ls", "--actions", "no_such_table"]) == 1
    assert "unknown target 'no_such_table'" in capsys.readouterr().err


@pytest.mark.firestore
def test_docs_page_before_any_run_and_its_static_copy(settings, firestore, tmp_path, capsys):
    client = create_app(settings, Resources.from_settings(settings)).test_client()
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    html = response.get_data(as_text=True)
    assert "<script" not in html and "no warehouse yet" in html
    assert html.count('<g class="node"') == html.count('<article class="action"') > 20
    assert f'id="{FCT}"' in html and "One row per sale. Incremental" in html

    assert main(["docs", "--out", str(tmp_path / "site")]) == 0
    static = (tmp_path / "site" / "index.html").read_text()
    assert static.count('<g class="node"') == html.count('<g class="node"') and "wrote" in capsys.readouterr().out


def test_dataform_run_prints_a_line_an_action_and_keeps_the_detail_in_a_log(settings, monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["dataform", "run", "--actions", "fct_predictions_churn", "--no-dependencies"]) == 0
    *actions, summary = capsys.readouterr().out.splitlines()
    assert len(actions) == 1 and actions[0].startswith("  1 of 1 OK operations winter_days_warehouse.fct_predictions")
    result = json.loads(summary)
    assert result["state"] == "SUCCEEDED" and '"event": "action_ended"' in open(result["log"]).read()
