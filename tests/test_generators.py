import datetime as dt
import hashlib

import pytest

from generators.catalog import Catalog
from generators.clickstream import click_events
from generators.jobs import Shard, Volumes, generate_clickstream, generate_startups
from generators.population import Population
from generators.sales import sale_records
from generators.startups import startup_records
from lakehouse.contracts import SCHEMA_VERSION
from orchestrator.export import to_row

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 11, tzinfo=dt.UTC)


def _day_state(seed=7, customers=200, day=DAY):
    population = Population(seed, customers)
    return next(population.days(day, day)), population


def test_population_state_of_a_day_does_not_depend_on_what_was_generated_before():
    direct, _ = _day_state()
    population = Population(7, 200)
    states = list(population.days(DAY - dt.timedelta(days=5), DAY))
    assert states[-1].customer_ids.tolist() == direct.customer_ids.tolist()
    assert states[-1].purchases.tolist() == direct.purchases.tolist()


def test_sales_records_follow_the_contract():
    state, _ = _day_state()
    records = list(sale_records(state, 7, Catalog(7), "key"))
    assert records, "a day of 200 customers should have sales"
    for record in records:
        row = to_row(record["sale_id"], record, NOW)  # raises Rejected on any contract breach
        assert row["schema_version"] == SCHEMA_VERSION
        assert "@" not in (record["contact_email_hashed"] or "")
    formats = {type(r["sale_timestamp"]).__name__ for r in records}
    assert formats == {"str", "int"} or formats == {"str"}


def test_same_seed_and_date_give_identical_records_and_another_seed_does_not():
    state_a, _ = _day_state(seed=7)
    state_b, _ = _day_state(seed=8)
    catalog = Catalog(7)
    assert list(sale_records(state_a, 7, catalog, "k")) == list(sale_records(_day_state(seed=7)[0], 7, catalog, "k"))
    assert list(click_events(state_a, 7, 300)) != list(click_events(state_b, 8, 300))


def test_clickstream_files_are_byte_identical_on_rerun(settings):
    volumes = Volumes(customers=50, events_per_day=200)
    generate_clickstream(settings, DAY, DAY, volumes, Shard())
    path = next((settings.home / "bronze" / "clickstream").rglob("*.jsonl"))
    first = hashlib.sha256(path.read_bytes()).hexdigest()
    generate_clickstream(settings, DAY, DAY, volumes, Shard())
    assert [p for p in (settings.home / "bronze" / "clickstream").rglob("*.jsonl")] == [path]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first


def test_four_shards_union_equals_one_task_and_replace_an_older_layout(settings):
    volumes = Volumes(customers=50, events_per_day=200)
    generate_clickstream(settings, DAY, DAY, volumes, Shard(0, 1))
    whole = sorted(next((settings.home / "bronze" / "clickstream").rglob("*.jsonl")).read_text().splitlines())
    for index in range(4):
        generate_clickstream(settings, DAY, DAY, volumes, Shard(index, 4))
    files = sorted((settings.home / "bronze" / "clickstream").rglob("*.jsonl"))
    assert [f.name for f in files] == [f"part-0000{i}-of-00004.jsonl" for i in range(4)]
    union = sorted(line for f in files for line in f.read_text().splitlines())
    assert union == whole


def test_startups_first_load_is_full_then_weekly_deltas(settings):
    volumes = Volumes(startups=40)
    full = generate_startups(settings, DAY, volumes, Shard())
    delta = generate_startups(settings, DAY + dt.timedelta(days=7), volumes, Shard())
    assert full >= 40
    assert 0 < delta < full
    ids = [r["startup_id"] for r in startup_records(7, DAY, True, "k", 40)]
    assert len(ids) == len(set(ids))


def test_shard_bounds_are_checked():
    with pytest.raises(ValueError, match="outside"):
        Shard(4, 4)


def test_oracle_probabilities_are_probabilities():
    state, population = _day_state()
    p = population.churn_probability(state, simulations=50)
    assert p.shape == (200,) and (p >= 0).all() and (p <= 1).all()
    assert (p[~state.alive] == 1).all()
