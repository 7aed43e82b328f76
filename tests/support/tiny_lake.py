"""A tiny lake for the BigQuery parity tests: four days of synthetic bronze (a few dozen customers, refunds
days later, late events) plus the odd records feeds send (invalid JSON, missing ids, bad timestamps, an
unknown event type), built once through the local runner."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

from lakehouse.transform.actions import Selection
from lakehouse.transform.local import LocalTransformRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic_bronze import write_bronze  # noqa: E402

RUN_DATE = dt.date(2026, 3, 4)
DAYS = 4


def clickstream_event(event_id: str, day: str, **changes) -> dict:
    """A valid clickstream record of that day, with changes."""
    record = {"event_id": event_id, "session_id": "s1", "customer_id": "C00001", "event_type": "page_view",
              "page_url": "/p/1", "referrer_domain": "google.com", "device_type_category": "mobile",
              "is_bounce": False, "event_timestamp": f"{day}T10:00:00Z", "load_timestamp": f"{day}T10:05:00Z",
              "schema_version": "2.0.0"}
    return record | changes


def _odd_lines(bronze: Path) -> None:
    day = RUN_DATE.isoformat()
    three_days_late = f"{RUN_DATE - dt.timedelta(days=3)}T23:59:59Z"
    lines = [json.dumps(clickstream_event("odd-late", day, event_timestamp=three_days_late)),
             json.dumps(clickstream_event("odd-type", day, event_type="teleport")),
             json.dumps(clickstream_event("odd-time", day, event_timestamp="yesterday")),
             json.dumps(clickstream_event("", day)), '{"event_id": "odd-cut"', "not json at all",
             json.dumps(clickstream_event("odd-null-bounce", day, is_bounce=None, page_url="/caf\u00e9"))]
    (bronze / "clickstream" / f"dt={day}" / "part-odd.jsonl").write_text("\n".join(lines) + "\n")
    startup = {"startup_id": "", "name": "Nameless", "schema_version": "2.0.0"}
    (bronze / "startups" / f"dt={day}").mkdir(parents=True, exist_ok=True)
    (bronze / "startups" / f"dt={day}" / "part-odd.jsonl").write_text(
        json.dumps(startup) + "\n{broken\n" + json.dumps({"startup_id": "odd-version", "name": "X",
                                                          "schema_version": "9.9.9"}) + "\n")


def build(home: Path, dataform_dir: Path) -> tuple[dict, str]:
    """(the compiled graph, the DuckDB warehouse URI) after one full run."""
    bronze = home / "bronze"
    write_bronze(bronze, start=RUN_DATE - dt.timedelta(days=DAYS - 1), days=DAYS, sales=120, events=500,
                 startups=12, customers=30, refund_share=0.25)
    _odd_lines(bronze)
    return _run(home, dataform_dir, RUN_DATE)


def next_day(home: Path, dataform_dir: Path) -> tuple[dict, str]:
    """The lake at `home` (a copy of one build made) receives a fifth day, whose sales reuse known sale ids
    (new versions of them) and add new ones, and runs again: its incremental tables MERGE."""
    day = RUN_DATE + dt.timedelta(days=1)
    write_bronze(home / "arriving", start=day, days=1, sales=150, events=100, startups=2, customers=30,
                 refund_share=0.25, seed=11)
    for source in (home / "arriving").iterdir():
        for partition in source.iterdir():
            shutil.copytree(partition, home / "bronze" / source.name / partition.name, dirs_exist_ok=True)
    shutil.rmtree(home / "arriving")
    return _run(home, dataform_dir, day)


def _run(home: Path, dataform_dir: Path, run_date: dt.date) -> tuple[dict, str]:
    runner = LocalTransformRunner(dataform_dir, f"duckdb:///{home / 'warehouse.duckdb'}", home / "dataform",
                                  pii_key="tiny-lake-key")  # the runner writes its key table (issue 19)
    compilation = runner.compile({"bronze_uri": str(home / "bronze"), "pii_key": "k",
                                  "run_date": run_date.isoformat(), "snapshot_days": "3"})
    result = runner.wait(runner.invoke(compilation, Selection()))
    failed = [a for a in result.actions if a["state"] != "SUCCEEDED" and a["kind"] != "assertion"]
    assert not failed, failed
    return runner.graph(compilation), runner.warehouse_uri
