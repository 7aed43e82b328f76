"""Every bad record the generators make is caught where EXPECTED says, by the real checks:
the export's contract check (sales, into quarantine) and the silver SQL run by the
Dataform CLI on DuckDB (JSONL, into *_rejects). Nothing else is rejected, and nothing is lost.
"""

import datetime as dt
import json

import pytest

from generators.catalog import Catalog
from generators.clickstream import click_blocks
from generators.defects import EXPECTED, Defects
from generators.jobs import Shard, Volumes, generate_clickstream, generate_sales, generate_startups
from generators.population import Population
from generators.sales import LATE_REFUND_MAX_DAYS, daily_sales
from generators.startups import startup_records
from lakehouse.warehouse import connect
from orchestrator.engine import execute
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

pytestmark = [pytest.mark.firestore, pytest.mark.dataform]
START, END = dt.date(2026, 3, 8), dt.date(2026, 3, 9)
VOLUMES = Volumes(customers=300, events_per_day=1500, startups=80, bad_ratio=0.15, oracle=False)
CAUGHT_LATER = {"deduplicated", "accepted"}  # kinds that no check rejects


def _expected_sales(settings):
    """The kind of defect of each document as it stands after the last write (None: good)."""
    final = {}
    population = Population(settings.general.seed, VOLUMES.customers)
    states = population.days(START - dt.timedelta(days=LATE_REFUND_MAX_DAYS), END)
    seed = settings.general.seed
    for sales in daily_sales(states, START, seed, Catalog(seed), settings.general.pii_key):
        defects = Defects("sales", settings.general.seed, sales.state.day, VOLUMES.bad_ratio)
        for k in range(len(sales)):
            kind = defects.kind(k)
            for doc_id, data in defects.documents(k, sales.record(k)):
                final[doc_id] = None if kind == "duplicate" and data.get("sale_id") == doc_id else kind
    return {doc_id: kind for doc_id, kind in final.items() if kind}


def _expected_lines(source, settings, records_by_day):
    """{raw line: kind} of the JSONL defects that silver must reject."""
    rejected = {}
    for day, records in records_by_day:
        defects = Defects(source, settings.general.seed, day, VOLUMES.bad_ratio)
        for k, kind in defects.among(0, len(records)).items():
            if not EXPECTED[source][kind] & CAUGHT_LATER:
                rejected[defects.lines(k, records[k])[0]] = kind
    return rejected


def _click_records(settings):
    population = Population(settings.general.seed, VOLUMES.customers)
    for state in population.days(START, END):
        yield state.day, [b.record(i) for b in click_blocks(state, settings.general.seed, VOLUMES.events_per_day)
                          for i in range(len(b))]


def _check(rows, expected, source):
    assert rows, f"no {source} rejects"
    for row in rows:
        kind = expected.pop(row["raw"], None)
        assert kind is not None, f"{source}: a line was rejected that is no defect: {row}"
        assert row["reject_reason"] in EXPECTED[source][kind], (kind, row)
    assert not expected, f"{source}: defects silver let through: {list(expected.values())}"


def test_defects_are_rejected_with_the_expected_reasons_and_nothing_else(settings, firestore, dataform_dir):
    settings = settings.with_overrides(export={"reject_threshold": 1.0})
    generate_sales(settings, START, END, VOLUMES, Shard(), firestore)
    generate_clickstream(settings, START, END, VOLUMES, Shard())
    generate_startups(settings, START, VOLUMES, Shard(), full=True)
    options = RunOptions(END, full_export=True, tags=("silver",), steps=("export", "compile", "invoke", "wait"))
    run = execute(Resources.from_settings(settings), options)
    assert run["state"] == "SUCCEEDED"

    quarantined = [json.loads(line) for path in sorted((settings.storage.home / "quarantine").rglob("rejects.jsonl"))
                   for line in path.read_text().splitlines()]
    expected_sales = _expected_sales(settings)
    assert {q["document_id"] for q in quarantined} == set(expected_sales)
    for q in quarantined:
        assert q["reason"] in EXPECTED["sales"][expected_sales[q["document_id"]]], q
    assert {expected_sales[q["document_id"]] for q in quarantined} == set(EXPECTED["sales"])

    clicks = list(_click_records(settings))
    general = settings.general
    startups = [(START, list(startup_records(general.seed, START, True, general.pii_key, VOLUMES.startups)))]
    expected_clicks = _expected_lines("clickstream", settings, clicks)
    expected_startups = _expected_lines("startups", settings, startups)
    warehouse = connect(settings.warehouse.uri)
    try:
        staging = settings.warehouse.staging_dataset
        _check(warehouse.query(f"SELECT reject_reason, raw FROM `{staging}.stg_click_rejects`"),
               dict(expected_clicks), "clickstream")
        _check(warehouse.query(f"SELECT reject_reason, raw FROM `{staging}.stg_startups_rejects`"),
               dict(expected_startups), "startups")
        # duplicates collapse, oversized strings pass: every other event reaches silver exactly once
        events = sum(len(records) for _, records in clicks)
        assert warehouse.query(f"SELECT COUNT(*) AS n FROM `{staging}.stg_click`")[0]["n"] == \
               events - len(expected_clicks)
        assert warehouse.query(f"SELECT COUNT(*) AS n FROM `{staging}.stg_startups`")[0]["n"] == \
               len(startups[0][1]) - len(expected_startups)
    finally:
        warehouse.close()
