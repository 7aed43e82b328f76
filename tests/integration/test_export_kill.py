"""SIGKILL `winterdays export` mid-way: no partial partition is visible, the next run completes exactly.

The export runs as the CLI does, in a process of its own against the emulator. Bronze first
holds a complete export; then the documents change and a second export is killed once its
log shows a row group written, while it still has most of its documents to read. Every
partition must then be whole: the old one (nothing is published before the stream ends)
and never a mix, a missing file or a stray one; what the killed export staged is left
where no reader's glob looks. The run is resumed by the next trigger and bronze then
holds exactly the documents.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow.parquet as pq
import pytest
from sales_documents import load, sale

from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore
DAYS = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(3)]
PER_DAY, ADDED = 600, 10
# The first row group is written after 100 documents of 1,800: the kill lands with a second
# or so of streaming left, long before anything could be published.
ROW_GROUP = 100


def export(env, *flags):
    command = [sys.executable, "-m", "orchestrator.cli", "export", "--date", DAYS[-1].isoformat(),
               "--full-export", *flags]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finished(process) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def kill_after_first_row_group(process) -> None:
    for line in process.stdout:  # off a terminal the CLI's log lines are JSON lines on stdout
        if line.startswith("{") and json.loads(line).get("event") == "row_group_written":
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
            process.stdout.close()
            process.stderr.close()
            return
    raise AssertionError(f"the export ended (code {process.wait()}) before writing a row group")


def partitions(bronze) -> dict[str, list[str]]:
    """Each file under sales/ with its sale ids; a partial Parquet file would not read, a stray one shows."""
    return {str(path.relative_to(bronze)): sorted(pq.read_table(path).column("sale_id").to_pylist())
            for path in sorted((bronze / "sales").rglob("*")) if path.is_file()}


def read_as_silver_does(bronze) -> list[tuple[str, str]]:
    """(dt, sale_id) through src_sales's glob, hive-partitioned, with DuckDB as the local warehouse reads it."""
    query = (f"SELECT CAST(dt AS VARCHAR), sale_id FROM read_parquet('{bronze}/sales/*/*.parquet', "
             "hive_partitioning = true) ORDER BY ALL")
    return duckdb.sql(query).fetchall()


def ids_by_partition(documents) -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    for sale_id, record in documents:
        expected.setdefault(f"sales/dt={record['updated_at'].date()}/part-00000.parquet", []).append(sale_id)
    return {name: sorted(ids) for name, ids in sorted(expected.items())}


def test_a_killed_export_leaves_whole_partitions_and_the_next_run_exports_exactly(settings, firestore):
    env = {**os.environ, "WINTERDAYS_HOME": str(settings.storage.home), "WINTERDAYS_EXPORT_ROW_GROUP": str(ROW_GROUP),
           "WINTERDAYS_LEASE_TTL_S": "1"}
    bronze = settings.storage.home / "bronze"
    first = [sale(k, day) for day in DAYS for k in range(PER_DAY)]
    load(firestore, first)
    finished(export(env))
    old, old_rows = partitions(bronze), read_as_silver_does(bronze)
    assert old == ids_by_partition(first)

    added = [sale(k, day) for day in DAYS for k in range(PER_DAY, PER_DAY + ADDED)]
    load(firestore, added)
    killed = export(env, "--force")
    kill_after_first_row_group(killed)

    assert partitions(bronze) == old  # nothing published, nothing removed, no file cut short
    assert read_as_silver_does(bronze) == old_rows  # the staged rows are not read
    staged = [p for p in (bronze / "_staging").rglob("*.parquet")]
    assert staged, "the kill came before any staged Parquet file: it did not land mid-way"
    run = Resources.from_settings(settings).ledger.for_date(DAYS[-1].isoformat())[0]
    assert run["steps"]["export"]["state"] == "RUNNING"  # killed inside the step

    time.sleep(1.5)  # the dead export's lease (WINTERDAYS_LEASE_TTL_S) expires; the next trigger resumes its run
    resumed = finished(export(env))
    assert (resumed["run_id"], resumed["outcome"], resumed["state"]) == (run["run_id"], "resumed", "SUCCEEDED")
    assert partitions(bronze) == ids_by_partition(first + added)
    assert len(read_as_silver_does(bronze)) == len(first) + len(added)  # each document once
    assert not [p for p in (bronze / "_staging").rglob("*") if p.is_file()]  # the leftovers were cleared
