import datetime as dt
import json
import logging

import pyarrow.parquet as pq
import pytest

from lakehouse.contracts import SALES
from lakehouse.export.files import CONVERT_EVERY, ParquetPartitions
from lakehouse.export.sales import Rejected, RejectThresholdExceeded, export_sales, to_row
from lakehouse.export.watermark import Window
from lakehouse.storage import ObjectStore

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
        ({"amount": float("nan")}, "wrong_type"),
        ({"amount": "NaN"}, "wrong_type"),
        ({"unit_price": float("inf")}, "wrong_type"),
        ({"amount": 1e16}, "amount_out_of_range"),
        ({"quantity": 2**63}, "integer_out_of_range"),  # not from Firestore (INT64), but from any source
        ({"region": "north\ud800"}, "invalid_text"),  # a lone surrogate: no UTF-8 for Parquet
        ({"amount": "1e400"}, "amount_out_of_range"),
        ({"unit_price": "9999999999999999.996"}, "amount_out_of_range"),  # rounds up to 10^16
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
    result = export_sales(docs, Window.day(DAY), bronze, quarantine, reject_threshold=0.05)
    assert (result.exported, result.rejected) == (30, 1)
    table = pq.read_table(tmp_path / "b" / "sales" / f"dt={DAY}" / "part-00000.parquet")
    assert table.schema.equals(SALES, check_metadata=False)
    assert table.num_rows == 30
    lines = (tmp_path / "q" / "sales" / f"dt={DAY}" / "rejects.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["reason"] == "non_positive_quantity"
    assert json.loads(lines[0])["document"]["quantity"] == 0


def test_progress_is_told_each_document_read_rejects_included(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    docs = [("S1", sale()), ("S2", sale(sale_id="S2", quantity=0)), ("S3", sale(sale_id="S3"))]
    told: list[int] = []
    export_sales(docs, Window.day(DAY), bronze, quarantine, reject_threshold=0.9, progress=told.append)
    assert told == [1, 2, 3]


def test_rerun_replaces_the_partition_and_clears_stale_rejects(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    export_sales([("S1", sale()), ("S2", sale(sale_id="S2", quantity=0))], Window.day(DAY), bronze, quarantine, 0.9)
    export_sales([("S1", sale())], Window.day(DAY), bronze, quarantine, 0.9)
    assert pq.read_table(tmp_path / "b" / "sales" / f"dt={DAY}").num_rows == 1
    assert quarantine.list("sales") == []


def test_threshold_fails_the_step_and_publishes_nothing(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    docs = [("S1", sale()), ("S2", sale(sale_id="S2", status="??"))]
    with pytest.raises(RejectThresholdExceeded, match="50.0%.*threshold of 5.0%"):
        export_sales(docs, Window.day(DAY), bronze, quarantine, reject_threshold=0.05)
    assert bronze.list("sales") == []
    assert len(quarantine.list("sales")) == 1


def changed_on(day: dt.date, k: int, **changes):
    """Sale k, last changed on `day`."""
    moment = dt.datetime.combine(day, dt.time(10), dt.UTC) + dt.timedelta(seconds=k)
    return f"S{k}", sale(sale_id=f"S{k}", updated_at=moment, **changes)


def partition_ids(root, day) -> list[str]:
    return sorted(pq.read_table(root / "sales" / f"dt={day}").column("sale_id").to_pylist())


def test_a_full_export_puts_each_row_in_the_partition_of_its_change_date_in_row_groups(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    days = [DAY + dt.timedelta(days=n) for n in range(3)]
    docs = [changed_on(days[k % 3], k) for k in range(90)]  # interleaved: every partition is open at once
    result = export_sales(docs, Window(days[-1], None), bronze, quarantine, 0.05, row_group_rows=8)
    assert result.exported == 90 and len(result.partitions) == 3
    assert result.watermark == max(d["updated_at"] for _, d in docs)
    for n, day in enumerate(days):
        assert partition_ids(tmp_path / "b", day) == sorted(f"S{k}" for k in range(n, 90, 3))
        metadata = pq.ParquetFile(tmp_path / "b" / "sales" / f"dt={day}" / "part-00000.parquet").metadata
        assert max(metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)) <= 8
    assert bronze.list("") == [f"sales/dt={day}/part-00000.parquet" for day in days]  # no staging left


def test_rows_wait_in_bounded_buffers_whatever_the_number_of_partitions(tmp_path):
    store = ObjectStore(str(tmp_path))
    partitions = ParquetPartitions(store, "sales/test", row_group_rows=100)
    days = [DAY + dt.timedelta(days=n) for n in range(40)]
    for k in range(40 * 300):
        partitions.add(days[k % 40], to_row(f"S{k}", sale(sale_id=f"S{k}"), NOW))
        waiting = partitions.pending_rows + sum(partitions.buffered.values())
        assert waiting <= 2 * 100 + CONVERT_EVERY
    partitions.finish(set())
    assert set(partitions.writers) == set(days)
    for day in days:
        table = pq.read_table(store.full_path(f"_staging/sales/test/dt={day}/part-00000.parquet"))
        assert table.num_rows == 300


def test_an_incremental_window_replaces_every_day_it_covers_even_the_empty_ones(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    before = DAY - dt.timedelta(days=1)
    export_sales([changed_on(before, 1), changed_on(DAY, 2)], Window(DAY, before), bronze, quarantine, 0.05)
    result = export_sales([changed_on(DAY, 3)], Window(DAY, before), bronze, quarantine, 0.05)
    assert result.partitions == [f"sales/dt={before}", f"sales/dt={DAY}"]
    assert partition_ids(tmp_path / "b", before) == []  # its change moved away: replaced by an empty file
    assert partition_ids(tmp_path / "b", DAY) == ["S3"]


def test_an_export_that_fails_midway_publishes_nothing_and_leaves_no_staged_file(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    export_sales([changed_on(DAY, 1)], Window.day(DAY), bronze, quarantine, 0.05)
    old = (tmp_path / "b" / "sales" / f"dt={DAY}" / "part-00000.parquet").read_bytes()

    def broken():
        for k in range(2, 50):
            yield changed_on(DAY, k)
        raise RuntimeError("the stream broke")

    with pytest.raises(RuntimeError, match="the stream broke"):
        export_sales(broken(), Window.day(DAY), bronze, quarantine, 0.05, row_group_rows=5)
    assert (tmp_path / "b" / "sales" / f"dt={DAY}" / "part-00000.parquet").read_bytes() == old
    assert bronze.list("") == [f"sales/dt={DAY}/part-00000.parquet"]


def test_rejects_go_to_their_change_date_or_else_the_logical_date_and_a_full_export_clears_stale_ones(tmp_path):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    earlier = DAY - dt.timedelta(days=3)
    docs = [changed_on(earlier, 1, quantity=0), ("S2", sale(sale_id="S2", updated_at="whenever"))]
    docs += [changed_on(DAY, k) for k in range(3, 60)]
    result = export_sales(docs, Window(DAY, None), bronze, quarantine, 0.05)
    assert result.reasons == {"non_positive_quantity": 1, "bad_timestamp": 1}
    assert quarantine.list("sales") == [f"sales/dt={earlier}/rejects.jsonl", f"sales/dt={DAY}/rejects.jsonl"]
    export_sales(docs[2:], Window(DAY, None), bronze, quarantine, 0.05)  # the bad documents were fixed
    assert quarantine.list("sales") == []


def test_the_threshold_is_logged_as_an_alert(tmp_path, caplog):
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    docs = [changed_on(DAY, 1), changed_on(DAY, 2, currency="XYZ")]
    with caplog.at_level(logging.ERROR), pytest.raises(RejectThresholdExceeded, match="WINTERDAYS_REJECT_THRESHOLD"):
        export_sales(docs, Window.day(DAY), bronze, quarantine, reject_threshold=0.4)
    alert = next(r for r in caplog.records if getattr(r, "event", None) == "reject_ratio_exceeded")
    assert (alert.rejected, alert.total, alert.threshold) == (1, 2, 0.4)
    assert export_sales(docs, Window.day(DAY), bronze, quarantine, reject_threshold=0.5).rejected == 1  # at it: passes
