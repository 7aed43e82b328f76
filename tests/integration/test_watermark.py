"""Incremental exports by watermark, through the engine and its ledger on the Firestore emulator."""

import datetime as dt

import pyarrow.parquet as pq
import pytest
from sales_documents import COLLECTION, load, sale

from orchestrator import engine
from orchestrator.engine import RunFailed
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

pytestmark = pytest.mark.firestore
D = dt.date(2026, 3, 10)
DAYS = [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D]


@pytest.fixture
def resources(settings, firestore):
    return Resources.from_settings(settings)


def export(resources, day, force=False) -> dict:
    run = engine.execute(resources, RunOptions(day, steps=("export",)), "test", force=force)
    return run["steps"]["export"]["outputs"]


def bronze(settings) -> dict[str, list[tuple]]:
    """Every partition's rows (without exported_at, the time of the export)."""
    found = {}
    for path in sorted((settings.storage.home / "bronze" / "sales").glob("dt=*/*.parquet")):
        table = pq.read_table(path).drop(["exported_at"])
        found[path.parent.name] = sorted(tuple(r.values()) for r in table.to_pylist())
    return found


def ids(settings, day) -> list[str]:
    return sorted(pq.read_table(settings.storage.home / "bronze" / "sales" / f"dt={day}").column("sale_id").to_pylist())


def test_days_without_a_successful_export_are_read_by_the_next_one_and_reruns_give_the_same_bronze(
        resources, firestore, settings):
    expected = {day: load(firestore, [sale(k, day) for k in range(10 + n)]) for n, day in enumerate(DAYS)}
    first = export(resources, DAYS[0])
    assert (first["window_from"], first["window_to"]) == (DAYS[0].isoformat(), DAYS[1].isoformat())
    assert dt.datetime.fromisoformat(first["watermark"]).date() == DAYS[0]

    # the trigger of D-1 never came: D's export reads from the day after the watermark
    outputs = export(resources, D)
    assert (outputs["window_from"], outputs["exported"], outputs["partitions"]) == (DAYS[1].isoformat(), 23, 2)
    assert {day: ids(settings, day) for day in DAYS} == expected
    caught_up = bronze(settings)

    # D-1 run late, then D again: each reads its own days again, and bronze does not change
    assert export(resources, DAYS[1])["window_from"] == DAYS[1].isoformat()
    assert export(resources, D, force=True)["window_from"] == D.isoformat()
    assert bronze(settings) == caught_up


def test_a_failed_export_does_not_move_the_watermark(resources, firestore, settings):
    load(firestore, [sale(k, DAYS[0]) for k in range(5)])
    load(firestore, [sale(k, DAYS[1]) for k in range(3)] + [sale(9, DAYS[1], currency="XYZ")])
    load(firestore, [sale(k, D) for k in range(40)])
    export(resources, DAYS[0])
    with pytest.raises(RunFailed, match="above the threshold"):
        export(resources, DAYS[1])  # 1 of 4 broke the contract
    outputs = export(resources, D)  # 1 of 44 now: below the threshold
    assert (outputs["window_from"], outputs["exported"], outputs["rejected"]) == (DAYS[1].isoformat(), 43, 1)


def test_an_export_that_found_nothing_still_covers_its_day(resources, firestore):
    load(firestore, [sale(k, DAYS[0]) for k in range(3)] + [sale(k, D) for k in range(3)])
    export(resources, DAYS[0])
    empty = export(resources, DAYS[1])
    assert (empty["exported"], empty["watermark"]) == (0, None)
    assert export(resources, D)["window_from"] == D.isoformat()


def test_a_late_refund_lands_in_its_own_day_and_the_first_version_stays(resources, firestore, settings):
    load(firestore, [sale(k, day) for day in DAYS[1:] for k in range(4)])
    export(resources, DAYS[1])
    export(resources, D)
    refunded_id, _ = sale(2, DAYS[1])
    refunded_at = dt.datetime.combine(D + dt.timedelta(days=1), dt.time(12), dt.UTC)
    firestore.collection(COLLECTION).document(refunded_id).update({"status": "refunded", "updated_at": refunded_at})

    assert export(resources, D + dt.timedelta(days=1))["exported"] == 1
    versions = [(path.parent.name, row["status"])
                for path in sorted((settings.storage.home / "bronze" / "sales").glob("dt=*/*.parquet"))
                for row in pq.read_table(path).to_pylist() if row["sale_id"] == refunded_id]
    assert versions == [(f"dt={DAYS[1]}", "completed"), (f"dt={D + dt.timedelta(days=1)}", "refunded")]
