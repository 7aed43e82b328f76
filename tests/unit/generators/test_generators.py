"""The generators as pure functions of (seed, day): contracts, realism, determinism, defects."""

import datetime as dt
import json
from collections import Counter

import numpy as np
import pytest

from generators.catalog import Catalog
from generators.clickstream import click_blocks, click_events
from generators.defects import EXPECTED, Defects, to_json
from generators.jobs import Shard, Volumes, date_range
from generators.population import ORACLE_CHUNK, Population
from generators.sales import LATE_REFUND_MAX_DAYS, daily_sales
from generators.startups import startup_records
from lakehouse.contracts import DEVICE_CATEGORIES, EVENT_TYPES, SCHEMA_VERSION
from lakehouse.export.sales import Rejected, to_row
from lakehouse.timestamps import parse_timestamp

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 11, tzinfo=dt.UTC)


def _day_state(seed=7, customers=200, day=DAY):
    population = Population(seed, customers)
    return next(population.days(day, day)), population


def _sales(seed=7, customers=200, start=DAY, end=DAY, lookback=LATE_REFUND_MAX_DAYS):
    population = Population(seed, customers)
    states = population.days(max(population.epoch, start - dt.timedelta(days=lookback)), end)
    return list(daily_sales(states, start, seed, Catalog(seed), "key"))


def _records(day_sales):
    return [day_sales.record(k) for k in range(len(day_sales))]


def test_population_state_of_a_day_does_not_depend_on_what_was_generated_before():
    direct, _ = _day_state()
    population = Population(7, 200)
    states = list(population.days(DAY - dt.timedelta(days=5), DAY))
    assert states[-1].customer_ids() == direct.customer_ids()
    assert states[-1].purchases.tolist() == direct.purchases.tolist()


def test_sales_records_follow_the_contract_in_the_mix_of_timestamp_formats():
    records = [r for day in _sales(start=DAY - dt.timedelta(days=6)) for r in _records(day)]
    assert len(records) > 200
    for record in records:
        row = to_row(record["sale_id"], record, NOW)  # raises Rejected on any contract breach
        assert row["schema_version"] == SCHEMA_VERSION
        assert len(record["contact_email_hashed"]) == 64 and "@" not in record["contact_email_hashed"]
        assert row["sale_timestamp"] < row["updated_at"]
    texts = [r["sale_timestamp"] for r in records if isinstance(r["sale_timestamp"], str)]
    assert any(isinstance(r["sale_timestamp"], int) for r in records)  # epoch milliseconds
    assert any(t.endswith("Z") and "." in t for t in texts) and any(t.endswith("Z") and "." not in t for t in texts)
    assert any(t.endswith("+01:00") for t in texts) and any(" " in t for t in texts)
    assert {r["status"] for r in records} == {"completed", "refunded", "cancelled", "pending"}


def test_late_refunds_rewrite_a_completed_sale_days_later():
    days = _sales(start=DAY - dt.timedelta(days=20), end=DAY)
    first = {r["sale_id"]: r for day in days for r in _records(day)[: day.new]}
    updates = [r for day in days for _, r in day.due]
    assert len(updates) >= 5
    for update in updates:
        original = first.get(update["sale_id"])
        if original is None:  # sold before the range asked for
            continue
        assert original["status"] == "completed" and update["status"] == "refunded"
        assert {k: v for k, v in update.items() if k not in ("status", "updated_at")} == \
               {k: v for k, v in original.items() if k not in ("status", "updated_at")}
        delay = update["updated_at"].date() - original["updated_at"].date()
        assert dt.timedelta(days=1) <= delay <= dt.timedelta(days=LATE_REFUND_MAX_DAYS)
    # most refunds come late; a small share of all sales changes status afterwards
    refunds_now = sum(r["status"] == "refunded" for r in first.values())
    assert len(updates) > refunds_now * 0.8
    assert len(updates) < 0.1 * len(first)


def test_a_days_sales_do_not_depend_on_the_range_asked_for():
    alone = _sales(customers=600)[0]
    in_a_range = _sales(customers=600, start=DAY - dt.timedelta(days=9))[-1]
    assert alone.due and _records(alone) == _records(in_a_range)


def test_same_seed_and_date_give_identical_records_and_another_seed_does_not():
    state_a, _ = _day_state(seed=7)
    state_b, _ = _day_state(seed=8)
    assert _records(_sales(seed=7)[0]) == _records(_sales(seed=7)[0])
    assert _records(_sales(seed=7)[0]) != _records(_sales(seed=8)[0])
    assert list(click_events(state_a, 7, 300)) != list(click_events(state_b, 8, 300))


def test_click_lines_are_the_compact_json_of_contract_records():
    state, _ = _day_state(customers=300)
    known = set(state.customer_ids())
    sessions: dict[str, list[dict]] = {}
    count = 0
    for block in click_blocks(state, 7, 5000):
        for line in block.lines(range(len(block))):
            record = json.loads(line)
            assert line == to_json(record)
            assert record["event_type"] in EVENT_TYPES and record["device_type_category"] in DEVICE_CATEGORIES
            assert record["customer_id"] is None or record["customer_id"] in known
            loaded, happened = parse_timestamp(record["load_timestamp"]), parse_timestamp(record["event_timestamp"])
            assert loaded.minute == 0 and dt.timedelta(0) < loaded - happened <= dt.timedelta(hours=1)
            sessions.setdefault(record["session_id"], []).append(record)
            count += 1
    assert count == 5000
    assert [e["event_id"] for s in sessions.values() for e in s][:3] == [f"E{DAY:%Y%m%d}-{k:07d}" for k in range(3)]
    for events in sessions.values():
        assert events[0]["event_type"] == "page_view"
        moments = [parse_timestamp(e["event_timestamp"]) for e in events]
        assert moments == sorted(moments)
        assert all(e["is_bounce"] == (len(events) == 1) for e in events)
        assert len({(e["customer_id"], e["device_type_category"]) for e in events}) == 1
    anonymous = sum(s[0]["customer_id"] is None for s in sessions.values()) / len(sessions)
    assert 0.2 < anonymous < 0.4


def test_engaged_customers_browse_more():
    state, _ = _day_state(customers=300)
    events = Counter(e["customer_id"] for e in click_events(state, 7, 20_000) if e["customer_id"])
    alive = np.flatnonzero(state.alive)
    top = alive[np.argsort(state.engagement[alive])][-30:]
    bottom = alive[np.argsort(state.engagement[alive])][:30]
    assert sum(events[state.customer_id(s)] for s in top) > 3 * sum(events[state.customer_id(s)] for s in bottom)
    assert not any(events[state.customer_id(s)] for s in np.flatnonzero(~state.alive))


def test_startups_records_are_unique_and_deltas_are_smaller():
    full = list(startup_records(7, DAY, True, "k", 40))
    delta = list(startup_records(7, DAY, False, "k", 40))
    assert len({r["startup_id"] for r in full}) == len(full) >= 40
    assert 0 < len(delta) < len(full)


def test_shards_partition_the_records_and_bad_arguments_are_refused():
    owned = [set(Shard(i, 4).positions(23, first=5)) for i in range(4)]
    assert set().union(*owned) == set(range(23)) and sum(map(len, owned)) == 23
    assert all((5 + i) % 4 == task for task, offsets in enumerate(owned) for i in offsets)
    with pytest.raises(ValueError, match="outside"):
        Shard(4, 4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Volumes(customers=300, events_per_day=1000, startups=100, bad_ratio=1.5)
    with pytest.raises(ValueError, match="customers must be at least 1"):
        Volumes(customers=0, events_per_day=1000, startups=100, bad_ratio=0.0)
    with pytest.raises(ValueError, match="business opened"):
        date_range(dt.date(2025, 12, 1), DAY)


def test_oracle_probabilities_are_probabilities_in_bounded_chunks():
    population = Population(7, ORACLE_CHUNK + 300)
    state = next(population.days(DAY, DAY))
    p = population.churn_probability(state, simulations=20)
    assert p.shape == (ORACLE_CHUNK + 300,) and (p >= 0).all() and (p <= 1).all()
    assert (p[~state.alive] == 1).all()
    assert p[state.alive].mean() < 0.9  # the living mostly buy again within 30 days


# -- defects ----------------------------------------------------------------------


def _sales_documents(ratio, seed=7, customers=600):
    day = _sales(seed=seed, customers=customers)[0]
    defects = Defects("sales", seed, DAY, ratio)
    return [(defects.kind(k), doc) for k in range(len(day)) for doc in defects.documents(k, day.record(k))]


def test_every_sales_defect_is_rejected_by_the_export_with_the_expected_reason():
    documents = _sales_documents(ratio=0.5, customers=1500)
    reasons: dict[str, set] = {}
    for kind, (doc_id, data) in documents:
        try:
            to_row(doc_id, data, NOW)
        except Rejected as rejection:
            reasons.setdefault(kind, set()).add(rejection.reason)
            continue
        assert kind is None or (kind == "duplicate" and doc_id == data["sale_id"]), (kind, data)
    assert set(reasons) == set(EXPECTED["sales"])  # every kind occurred, and was caught
    for kind, seen in reasons.items():
        assert seen <= EXPECTED["sales"][kind], kind
    assert reasons["negative_quantity"] == {"non_positive_quantity", "negative_amount"}


def test_defects_are_reproducible_and_absent_at_ratio_zero():
    assert _sales_documents(0.2) == _sales_documents(0.2)
    clean = _sales_documents(0.0)
    assert all(kind is None for kind, _ in clean)
    assert [doc for _, doc in clean] == [(r["sale_id"], r) for r in _records(_sales(customers=600)[0])]
    share = sum(kind is not None for kind, _ in _sales_documents(0.1)) / len(clean)
    assert 0.03 < share < 0.2


def test_defect_draws_agree_record_by_record_and_block_by_block():
    defects = Defects("clickstream", 7, DAY, 0.05)
    among = Defects("clickstream", 7, DAY, 0.05).among(3000, 6000)
    assert among == {k - 3000: defects.kind(k) for k in range(3000, 9000) if defects.kind(k)}


def test_jsonl_defects_make_the_broken_lines_real_feeds_send():
    state, _ = _day_state()
    records = list(click_events(state, 7, 2000))
    defects = Defects("clickstream", 7, DAY, 0.3)
    seen = Counter()
    for k, record in enumerate(records):
        kind = defects.kind(k)
        lines = defects.lines(k, dict(record))
        seen[kind] += 1
        if kind == "duplicate":
            assert lines == [to_json(record)] * 2
        elif kind == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(lines[0])
        elif kind is not None:
            broken = json.loads(lines[0])
            assert broken != record and broken.get("event_id") in (None, record["event_id"])
        else:
            assert lines == [to_json(record)]
    assert set(seen) - {None} == set(EXPECTED["clickstream"])
