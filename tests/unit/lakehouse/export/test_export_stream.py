"""The export against real engines: the Firestore emulator, and fake-gcs-server for gs://.

Transient errors are injected where the client meets the server (a query's stream, a GCS
copy): what is under test is that our code resumes from its cursor and retries, and that
the rows that land are exactly the documents, each once.
"""

import datetime as dt
import logging

import pyarrow.parquet as pq
import pytest
from fake_gcs import fake_gcs_server
from gcsfs.retry import HttpError
from google.api_core import exceptions as api
from google.cloud.firestore_v1.query import Query
from sales_documents import COLLECTION, load, sale

from lakehouse.documents import stream_documents
from lakehouse.export.sales import export_sales
from lakehouse.export.watermark import Window
from lakehouse.retry import Backoff
from lakehouse.storage import ObjectStore

pytestmark = pytest.mark.firestore
DAY = dt.date(2026, 3, 1)
FAST = Backoff(initial_s=0.001, cap_s=0.01)
def bronze_ids(store: ObjectStore, day: dt.date) -> list[str]:
    with store.fs.open(store.full_path(f"sales/dt={day}/part-00000.parquet"), "rb") as handle:
        return sorted(pq.read_table(handle).column("sale_id").to_pylist())


def test_pages_yield_every_document_once_in_name_order_with_its_data(firestore):
    written = dict(sale(k, DAY) for k in range(50))
    ids = load(firestore, list(written.items()))
    streamed = list(stream_documents(firestore, COLLECTION, page_size=7, backoff=FAST))
    assert [doc_id for doc_id, _ in streamed] == ids
    assert all(data == written[doc_id] for doc_id, data in streamed)  # every field, as written


@pytest.fixture
def flaky_stream(monkeypatch):
    """Query.stream fails as a server does: the 2nd query after 3 documents, the 4th before any."""
    real, calls = Query.stream, []

    def stream(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 4:
            raise api.DeadlineExceeded("DEADLINE_EXCEEDED: injected")
        for n, snapshot in enumerate(real(self, *args, **kwargs)):
            if len(calls) == 2 and n == 3:
                raise api.ServiceUnavailable("UNAVAILABLE: injected")
            yield snapshot

    monkeypatch.setattr(Query, "stream", stream)
    return calls


def test_transient_errors_resume_after_the_cursor_with_exactly_the_right_rows(firestore, flaky_stream, tmp_path,
                                                                              caplog):
    ids = load(firestore, [sale(k, DAY) for k in range(45)])
    bronze, quarantine = ObjectStore(str(tmp_path / "b")), ObjectStore(str(tmp_path / "q"))
    documents = stream_documents(firestore, COLLECTION, page_size=10, backoff=FAST)
    with caplog.at_level(logging.WARNING):
        result = export_sales(documents, Window.day(DAY), bronze, quarantine, 0.05)
    assert result.exported == 45
    assert bronze_ids(bronze, DAY) == ids  # none twice, none missing
    retries = [r for r in caplog.records if getattr(r, "event", None) == "retry"]
    assert [r.error.split(":")[0] for r in retries] == ["ServiceUnavailable", "DeadlineExceeded"]
    assert {r.operation for r in retries} == {f"read {COLLECTION}"}
    assert len(flaky_stream) == 7  # pages of 10 after the cursor: 4 good, 2 broken, the empty last one


def test_a_permanent_error_fails_the_export_at_once_and_publishes_nothing(firestore, monkeypatch, tmp_path):
    load(firestore, [sale(k, DAY) for k in range(5)])

    def denied(self, *args, **kwargs):
        raise api.PermissionDenied("PERMISSION_DENIED: injected")
        yield  # a generator, as the real one

    monkeypatch.setattr(Query, "stream", denied)
    bronze = ObjectStore(str(tmp_path / "b"))
    with pytest.raises(api.PermissionDenied):
        export_sales(stream_documents(firestore, COLLECTION, backoff=FAST), Window.day(DAY), bronze,
                     ObjectStore(str(tmp_path / "q")), 0.05)
    assert bronze.list("") == []


def test_the_gcs_path_publishes_whole_partitions_and_retries_transient_errors(firestore, monkeypatch, caplog):
    before = DAY - dt.timedelta(days=1)
    ids = load(firestore, [sale(k, DAY) for k in range(30)] + [sale(k, before) for k in range(20)]
               + [sale(99, DAY, quantity=-1)])
    with fake_gcs_server("bronze", "quarantine") as endpoint:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
        bronze, quarantine = ObjectStore("gs://bronze", backoff=FAST), ObjectStore("gs://quarantine", backoff=FAST)
        real_copy, copies = bronze.fs.copy, []

        def copy(*args, **kwargs):  # the first publish meets a 503, as GCS answers under load
            copies.append(args)
            if len(copies) == 1:
                raise HttpError({"code": 503, "message": "Service Unavailable (injected)"})
            return real_copy(*args, **kwargs)

        monkeypatch.setattr(bronze.fs, "copy", copy)
        documents = stream_documents(firestore, COLLECTION, page_size=16, backoff=FAST)
        with caplog.at_level(logging.WARNING):
            result = export_sales(documents, Window(DAY, None), bronze, quarantine, 0.05, row_group_rows=8)
        assert (result.exported, result.rejected) == (50, 1)
        assert bronze.list("") == [f"sales/dt={before}/part-00000.parquet", f"sales/dt={DAY}/part-00000.parquet"]
        assert bronze_ids(bronze, before) + bronze_ids(bronze, DAY) == [i for i in ids if not i.endswith("99")]
        assert quarantine.list("") == [f"sales/dt={DAY}/rejects.jsonl"]
        assert any(getattr(r, "event", None) == "retry" and "publish" in r.operation for r in caplog.records)
