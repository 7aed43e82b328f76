"""Startups: a partner feed of companies as JSONL in bronze, contract v2.0.0.

The universe evolves once a week from the epoch: new companies appear, some raise a
round (stage and valuation move up), some shut down. The first load is a full snapshot;
later weekly files are deltas of the companies that were new or changed that week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from generators.catalog import name_pool, stable_index
from generators.population import EPOCH, day_rng
from lakehouse.contracts import FUNDING_STAGES, SCHEMA_VERSION, SECTORS, VALUATION_BUCKETS
from lakehouse.pii import keyed_hash

STREAM_STARTUPS = 30
COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "SE", "GB", "US", "PL", "PT")
_STAGES = list(FUNDING_STAGES)
_VALUATION_BY_STAGE = (0, 0, 1, 2, 3, 4)  # index into VALUATION_BUCKETS per stage


@dataclass
class Universe:
    ids: list[str]
    stage: np.ndarray
    active: np.ndarray
    changed_on: np.ndarray  # ordinal of the last change


def weekly_steps(until: dt.date) -> Iterator[dt.date]:
    day = EPOCH
    while day <= until:
        yield day
        day += dt.timedelta(days=7)


def simulate(seed: int, until: dt.date, initial: int = 100, new_per_week: int = 3) -> Universe:
    rng = np.random.default_rng([seed, STREAM_STARTUPS])
    universe = Universe(
        ids=[f"ST{i:06d}" for i in range(initial)],
        stage=rng.integers(0, 3, initial),
        active=np.ones(initial, dtype=bool),
        changed_on=np.full(initial, EPOCH.toordinal()),
    )
    for week in list(weekly_steps(until))[1:]:
        wr = day_rng(seed, week, STREAM_STARTUPS)
        n = len(universe.ids)
        raised = universe.active & (wr.random(n) < 0.06) & (universe.stage < len(_STAGES) - 1)
        closed = universe.active & (wr.random(n) < 0.01)
        universe.stage = universe.stage + raised
        universe.active = universe.active & ~closed
        universe.changed_on[raised | closed] = week.toordinal()
        fresh = int(wr.poisson(new_per_week))
        universe.ids += [f"ST{n + i:06d}" for i in range(fresh)]
        universe.stage = np.concatenate([universe.stage, np.zeros(fresh, dtype=universe.stage.dtype)])
        universe.active = np.concatenate([universe.active, np.ones(fresh, dtype=bool)])
        universe.changed_on = np.concatenate([universe.changed_on, np.full(fresh, week.toordinal())])
    return universe


def startup_records(seed: int, day: dt.date, full: bool, pii_key: str, initial: int = 100) -> Iterator[dict]:
    """Full snapshot as of `day`, or the delta of the seven days ending on `day`."""
    universe = simulate(seed, day, initial=initial)
    since = (day - dt.timedelta(days=6)).toordinal()
    firsts, lasts, domains = name_pool(seed)
    for i, startup_id in enumerate(universe.ids):
        if not full and universe.changed_on[i] < since:
            continue
        h = stable_index(seed, startup_id)
        stage = _STAGES[int(universe.stage[i])]
        name = f"{lasts[h % len(lasts)].title()} {('Labs', 'AI', 'Systems', 'Health', 'Pay', 'Energy')[h % 6]}"
        changed = dt.date.fromordinal(int(universe.changed_on[i]))
        yield {
            "startup_id": startup_id,
            "name": name,
            "sector": SECTORS[h % len(SECTORS)],
            "country": COUNTRIES[(h >> 8) % len(COUNTRIES)],
            "funding_stage": stage,
            "funding_stage_score": FUNDING_STAGES[stage],
            "valuation_bucket": VALUATION_BUCKETS[_VALUATION_BY_STAGE[int(universe.stage[i])]],
            "contact_email_cleaned": keyed_hash(pii_key, f"founders@{name.split()[0].lower()}.example.com"),
            "is_active": bool(universe.active[i]),
            "founded_date": (EPOCH - dt.timedelta(days=int(h % 3000))).isoformat(),
            "updated_at": dt.datetime.combine(changed, dt.time(9, 0), dt.UTC).isoformat().replace("+00:00", "Z"),
            "schema_version": SCHEMA_VERSION,
        }
