"""Clickstream: web and app events as JSONL in bronze, contract v2.0.0.

Sessions belong to known customers in proportion to their (health-driven) engagement,
or to anonymous visitors (customer_id null). Engaged customers browse deeper into the
funnel; a one-event session is a bounce.

Ten million events a day must fit in bounded memory, so a day is drawn in blocks of
sessions with vectorised draws, and each event becomes one JSON line only when it is
written (and only by the task that owns it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator

import numpy as np

from generators.population import DayState, day_rng
from lakehouse.contracts import DEVICE_CATEGORIES, EVENT_TYPES, SCHEMA_VERSION

STREAM_CLICKS = 20
BLOCK_SESSIONS = 2048
ANONYMOUS_SHARE = 0.3
FUNNEL = EVENT_TYPES[:5]  # page_view .. purchase, in the registry's order; the sixth is search
REFERRERS = (None, "google.com", "bing.com", "facebook.com", "instagram.com", "newsletter.example.com")
SITE = "https://shop.example.com"
PAGES = ("/", "/category/electronics", "/category/home", "/category/fashion", "/deals", "/account", "/help")
DEVICE_WEIGHTS = (0.45, 0.45, 0.10)
SEARCH_SHARE = 0.15
_REFERRER_JSON = [json.dumps(r) for r in REFERRERS]
_CLOCK = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]  # HH:MM:SS by second
_MILLIS = [f"{m:03d}" for m in range(1000)]


class ClickBlock:
    """The events of a block of sessions; event i of the block is event `first + i` of the day."""

    def __init__(self, state: DayState, rng: np.random.Generator, cdf: np.ndarray, first: int,
                 first_session: int, remaining: int):
        self.day, self.first = state.day, first
        n = BLOCK_SESSIONS
        anonymous = rng.random(n) < ANONYMOUS_SHARE if cdf[-1] > 0 else np.ones(n, dtype=bool)
        slots = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)
        depth = np.where(anonymous, 1.0, np.clip(state.engagement[slots], 0.2, 4.0))
        lengths = rng.geometric(1 / (1 + 2 * depth))
        starts = rng.integers(0, 86_000, n)
        devices = rng.choice(len(DEVICE_CATEGORIES), n, p=DEVICE_WEIGHTS)
        referrers = rng.integers(0, len(REFERRERS), n)
        # the day ends after `remaining` events: cut the session that crosses it, drop the rest
        ends = np.cumsum(lengths)
        sessions = int(np.searchsorted(ends, remaining)) + 1 if ends[-1] >= remaining else n
        lengths = lengths[:sessions]
        lengths[-1] -= max(0, int(ends[sessions - 1]) - remaining)
        # the parts of a line that are the same for every event of a session, as JSON
        ymd = f"{self.day:%Y%m%d}"
        self.event_prefix = f'{{"event_id":"E{ymd}-'
        self.session_head, self.session_tail = [], []
        for s in range(sessions):
            customer = "null" if anonymous[s] else '"' + state.customer_id(int(slots[s])) + '"'
            self.session_head.append(f'","session_id":"W{ymd}-{first_session + s:06d}",'
                                     f'"customer_id":{customer},"event_type":"')
            self.session_tail.append(f'","referrer_domain":{_REFERRER_JSON[referrers[s]]},'
                                     f'"device_type_category":"{DEVICE_CATEGORIES[devices[s]]}",'
                                     f'"is_bounce":{"true" if lengths[s] == 1 else "false"},"event_timestamp":"')
        events = int(lengths.sum())
        self.session_of = np.repeat(np.arange(sessions), lengths).tolist()
        session_first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        position = np.arange(events) - session_first
        funnel_step = np.minimum((rng.random(events) * (2 + depth[:sessions].astype(int).repeat(lengths))).astype(int),
                                 len(FUNNEL) - 1)
        types = np.where(rng.random(events) < SEARCH_SHARE, len(FUNNEL), funnel_step)
        self.types = [EVENT_TYPES[t] for t in np.where(position == 0, 0, types).tolist()]
        self.pages = [SITE + PAGES[p] for p in rng.integers(0, len(PAGES), events).tolist()]
        gaps_ms = rng.integers(5, 240, events) * 1000 + rng.integers(0, 1000, events)
        elapsed = np.cumsum(gaps_ms) - gaps_ms  # time since the block's first event, by event
        offset_ms = starts[:sessions].repeat(lengths) * 1000 + elapsed - elapsed[session_first]
        # timestamps as indexes into tables of their text (formatting each costs more)
        seconds = offset_ms // 1000
        self.millis = (offset_ms % 1000).tolist()
        self.second_of_day = (seconds % 86_400).tolist()
        self.days_ahead = (seconds // 86_400).tolist()  # a late session runs past midnight
        load_hours = seconds // 3600 + 1  # loaded at the top of the next hour
        self.load_hour = (load_hours - load_hours.min()).tolist()
        self.dates = [(self.day + dt.timedelta(days=d)).isoformat() for d in range(max(self.days_ahead) + 1)]
        self.load_texts = [f"{(self.day + dt.timedelta(hours=int(h))).isoformat()}T{h % 24:02d}:00:00.000"
                           for h in range(int(load_hours.min()), int(load_hours.max()) + 1)]
        self.sessions = sessions

    def __len__(self) -> int:
        return len(self.types)

    def record(self, i: int) -> dict:
        return json.loads(self.lines([i])[0])

    def lines(self, offsets: Iterable[int]) -> list[str]:
        """The events at these offsets as compact JSON lines, the same as json.dumps of each
        record but assembled from pre-encoded parts: json.dumps costs several times more."""
        first, prefix, head, tail = self.first, self.event_prefix, self.session_head, self.session_tail
        session, types, pages = self.session_of, self.types, self.pages
        dates, ahead, clock, second, millis = self.dates, self.days_ahead, _CLOCK, self.second_of_day, self.millis
        loads, load_hour = self.load_texts, self.load_hour
        return [
            f'{prefix}{first + i:07d}{head[session[i]]}{types[i]}","page_url":"{pages[i]}{tail[session[i]]}'
            f'{dates[ahead[i]]}T{clock[second[i]]}.{_MILLIS[millis[i]]}Z",'
            f'"load_timestamp":"{loads[load_hour[i]]}Z","schema_version":"{SCHEMA_VERSION}"}}'
            for i in offsets
        ]


def click_blocks(state: DayState, seed: int, total: int = 1000) -> Iterator[ClickBlock]:
    """The day's `total` events, block by block, in a stable order."""
    rng = day_rng(seed, state.day, STREAM_CLICKS)
    cdf = np.cumsum(state.engagement)
    produced = sessions = 0
    while produced < total:
        block = ClickBlock(state, rng, cdf, produced, sessions, total - produced)
        produced += len(block)
        sessions += block.sessions
        yield block


def click_events(state: DayState, seed: int, total: int = 1000) -> Iterator[dict]:
    """The day's events as records (for tests and small volumes; the job writes lines)."""
    for block in click_blocks(state, seed, total):
        yield from map(json.loads, block.lines(range(len(block))))
