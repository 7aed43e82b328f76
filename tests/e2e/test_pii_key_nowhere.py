"""After a demo the pseudonymisation key is in no view definition, compiled result, log line, ledger entry
or run error: the hashing SQL reads it by reference from its key table (issue 19, point 1), and the
pseudonyms are those of lakehouse/pii.py."""

import json

import duckdb
import pytest

from lakehouse.pii import keyed_hash


@pytest.mark.e2e
def test_after_a_demo_the_key_is_nowhere_but_its_table(demo):
    settings = demo.settings
    key = settings.general.pii_key
    con = duckdb.connect(str(settings.warehouse.path), read_only=True)
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
    stored = [p for p in (settings.storage.home / "dataform").rglob("*.json")]
    assert stored and not [p for p in stored if key in p.read_text()]
    assert not [p for p in (settings.storage.home / "logs").rglob("*") if p.is_file() and key in p.read_text()]
    assert any(log.strip() for log in demo.logs) and all(key not in log for log in demo.logs)
    assert key not in json.dumps(demo.ledger, default=str) + json.dumps(demo.second) + json.dumps(demo.first)
