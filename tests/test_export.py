import datetime as dt
import json

import pyarrow.parquet as pq
import pytest

from lakehouse.contracts import SALES
from lakehouse.storage import ObjectStore
from orchestrator.export import Rejected, RejectThresholdExceeded, export_sales, to_row

NOW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 1)


def sale(**changes):
    record = {
        "sale_id": "S1", "customer_id": "C1", "product_id": "P1", "product_category": "home",
        "quantity": 2, "unit_price": 9.99, "amount": 19.98, "currency": "EUR", "status": "completed",
        "payment_method": "visa", "payment_method_category": "card", "contact_email_hashed": "ab",
        "credit_card_last4": "1234", "region": "north", "channel": "web",
        "sale_timestamp": "2026-03-01T10:00:00Z", "schema_version": "2.0.0",
        "updated_at": dt.datetime(2026, 3, 1, 10, 0, 30, tzinfo=dt.UTC),
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"customer_id": None}, "missing_field"),
        ({"quantity": "2"}, "wrong_type"),
        ({"quantity": True}, "wrong_type"),
        ({"quantity": -1}, "non_positive_quantity"),
        ({"unit_price": "abc"}, "wrong_type"),
        ({"amount": -5}, "negative_amount"),
        ({"sale_timestamp": "2026-03-01 10:00:00"}, "bad_timestamp"),
        ({"schema_version": "3.0.0"}, "unknown_schema_version"),
        ({"status": "shipped"}, "unknown_status"),
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"region": "x" * 5000}, "oversized_string"),
        ({"sale_id": "S2"}, "id_mismatch"),
    ],
)
def test_each_contract_breach_has_its_reason(changes, reason):
    with pytest.raises(Rejected) as caught:
        to_row("S1", sale(**changes), NOW)
    assert caught.value.reason == reason


def test_money_is_exact_decimal():
    row = to_row("S1", sale(unit_price=0.1, amount=0.3, quantity=3), NOW)
    assert str(row["amount"]) == "0.30"


def test_export_writes_typed_parquet_and_quarantines_with_reason(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    docs = [(f"S{i}", sale(sale_id=f"S{i}")) for i in range(30)] + [("S99", sale(sale_id="S99", quantity=0))]
    result = export_sales(docs, DAY, bronze, quarantine, reject_threshold=0.05)
    assert (result.exported, result.rejected) == (30, 1)
    table = pq.read_table(tmp_path / "b" / "sales" / f"dt={DAY}" / "part-00000.parquet")
    assert table.schema.equals(SALES, check_metadata=False)
    assert table.num_rows == 30
    lines = (tmp_path / "q" / "sales" / f"dt={DAY}" / "rejects.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["reason"] == "non_positive_quantity"
    assert json.loads(lines[0])["document"]["quantity"] == 0


def test_rerun_replaces_the_partition_and_clears_stale_rejects(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    export_sales([("S1", sale()), ("S2", sale(sale_id="S2", quantity=0))], DAY, bronze, quarantine, 0.9)
    export_sales([("S1", sale())], DAY, bronze, quarantine, 0.9)
    assert pq.read_table(tmp_path / "b" / "sales" / f"dt={DAY}").num_rows == 1
    assert quarantine.list("sales") == []


def test_threshold_fails_the_step_and_publishes_nothing(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    docs = [("S1", sale()), ("S2", sale(sale_id="S2", status="??"))]
    with pytest.raises(RejectThresholdExceeded, match="50.0%.*threshold of 5.0%"):
        export_sales(docs, DAY, bronze, quarantine, reject_threshold=0.05)
    assert bronze.list("sales") == []
    assert len(quarantine.list("sales")) == 1
