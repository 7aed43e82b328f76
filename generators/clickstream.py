"""Clickstream: web and app events as JSONL in bronze, contract v2.0.0.

Sessions belong to known customers in proportion to their (health-driven) engagement,
or to anonymous visitors (customer_id null). Engaged customers browse deeper into the
funnel; a one-event session is a bounce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np

from generators.population import DayState, day_rng
from lakehouse.contracts import DEVICE_CATEGORIES, SCHEMA_VERSION

STREAM_CLICKS = 20
ANONYMOUS_SHARE = 0.3
FUNNEL = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
REFERRERS = (None, "google.com", "bing.com", "facebook.com", "instagram.com", "newsletter.example.com")
PAGES = ("/", "/category/electronics", "/category/home", "/category/fashion", "/deals", "/account", "/help")


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def click_events(state: DayState, seed: int, total: int = 1000) -> Iterator[dict]:
    rng = day_rng(seed, state.day, STREAM_CLICKS)
    weights = state.engagement
    known = weights.sum() > 0
    midnight = dt.datetime.combine(state.day, dt.time(), dt.UTC)
    produced, session = 0, 0
    while produced < total:
        anonymous = not known or rng.random() < ANONYMOUS_SHARE
        slot = None if anonymous else int(rng.choice(len(weights), p=weights / weights.sum()))
        depth = 1.0 if slot is None else float(np.clip(weights[slot], 0.2, 4.0))
        length = int(min(total - produced, 1 + rng.geometric(1 / (1 + 2 * depth)) - 1))
        start = midnight + dt.timedelta(seconds=int(rng.integers(0, 86_000)))
        device = DEVICE_CATEGORIES[int(rng.choice(3, p=(0.45, 0.45, 0.10)))]
        referrer = REFERRERS[int(rng.integers(0, len(REFERRERS)))]
        customer_id = None if slot is None else str(state.customer_ids[slot])
        moment = start
        for position in range(length):
            event_type = _event_type(rng, position, depth)
            yield {
                "event_id": f"E{state.day:%Y%m%d}-{produced:07d}",
                "session_id": f"W{state.day:%Y%m%d}-{session:06d}",
                "customer_id": customer_id,
                "event_type": event_type,
                "page_url": "https://shop.example.com" + PAGES[int(rng.integers(0, len(PAGES)))],
                "referrer_domain": referrer,
                "device_type_category": device,
                "is_bounce": length == 1,
                "event_timestamp": _iso(moment),
                "load_timestamp": _iso(moment.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)),
                "schema_version": SCHEMA_VERSION,
            }
            produced += 1
            moment += dt.timedelta(seconds=int(rng.integers(5, 240)), milliseconds=int(rng.integers(0, 1000)))
        session += 1


def _event_type(rng: np.random.Generator, position: int, depth: float) -> str:
    if position == 0:
        return "page_view"
    if rng.random() < 0.15:
        return "search"
    step = min(len(FUNNEL) - 1, int(rng.integers(0, 2 + int(depth))))
    return FUNNEL[step]
