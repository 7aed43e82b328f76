"""The pseudonymisation key is read by reference from its key table: no view definition, compiled result,
log line, ledger entry or run error holds it (issue 19, point 1), and the pseudonyms are unchanged."""

import json

import duckdb
import pytest

from lakehouse.pii import MissingKey, install_key, keyed_hash
from lakehouse.warehouse import connect


@pytest.mark.parametrize("key", ["", "replace-me"])
def test_a_missing_or_placeholder_key_fails_closed(tmp_path, key):
    warehouse = connect(f"duckdb:///{tmp_path / 'w.duckdb'}")
    try:
        with pytest.raises(MissingKey, match="WINTERDAYS_PII_KEY"):
            install_key(warehouse, key)
    finally:
        warehouse.close()


def test_the_dataform_api_runner_installs_the_key_before_it_invokes():
    from google.cloud import dataform_v1

    from lakehouse.transform.actions import Selection
    from lakehouse.transform.dataform_api import DataformTransformRunner

    calls = []

    class Client:
        def create_workflow_invocation(self, **request):
            calls.append("invoke")
            return dataform_v1.WorkflowInvocation(name="workflowInvocations/1")

    runner = DataformTransformRunner(Client(), "projects/p/locations/l/repositories/r",
                                     install_key=lambda: calls.append("key"))
    runner.invoke("compilationResults/1", Selection())
    assert calls == ["key", "invoke"]


@pytest.mark.e2e
def test_after_a_demo_the_key_is_nowhere_but_its_table(demo):
    settings = demo.settings
    key = settings.pii_key
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("SELECT view_name FROM duckdb_views() WHERE sql LIKE ?", [f"%{key}%"]).fetchall() == []
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE sql LIKE '%winter_days_secrets%pii_key%'"
                           ).fetchone()[0] == 2  # the two _checked views refer to the table
        pairs = con.execute("SELECT DISTINCT s.contact_email_hashed, c.contact_key "
                            "FROM winter_days_staging.src_sales s JOIN winter_days_staging.stg_sales_checked c "
                            "ON s.sale_id = c.sale_id AND s.updated_at = c.updated_at "
                            "WHERE s.contact_email_hashed IS NOT NULL LIMIT 50").fetchall()
    finally:
        con.close()
    assert pairs and all(pseudonym == keyed_hash(key, value) for value, pseudonym in pairs)
    stored = [p for p in (settings.home / "dataform").rglob("*.json")]
    assert stored and not [p for p in stored if key in p.read_text()]
    assert not [p for p in (settings.home / "logs").rglob("*") if p.is_file() and key in p.read_text()]
    assert all(key not in log for log in demo.logs) and any("run succeeded" in log for log in demo.logs)
    assert key not in json.dumps(demo.ledger, default=str) + json.dumps(demo.second) + json.dumps(demo.first)
