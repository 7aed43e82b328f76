"""The pseudonymisation key table (issue 19, point 1): fails closed, and is written before an invocation."""

import pytest

from lakehouse.pii import MissingKey, install_key
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
