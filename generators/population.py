"""The customer population and its latent churn process.

A fixed number of customer *slots*; each holds one customer at a time. A customer has
a latent "health" that drifts day by day and drops after a refund. Health drives what
the data shows (purchase frequency and spend, refunds, clickstream engagement) and the
daily churn hazard, together with region and channel. A churned customer stops buying
and browsing; after a while a new customer (a new id) takes the slot.

Everything is a pure function of (seed, day): each day draws from its own random
stream, so the state on day D is the same whichever range was generated before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from generators.errors import GeneratorInputError
from lakehouse.contracts import CHANNELS, REGIONS

EPOCH = dt.date(2026, 1, 1)  # the business opens; simulation always starts here
HORIZON_DAYS = 30  # the churn label: no completed purchase in the next 30 days

# Effects on the churn hazard's log-odds, visible to a model through region/channel.
REGION_EFFECT = np.array([0.0, 0.35, -0.2, 0.15, -0.3])
CHANNEL_EFFECT = np.array([0.0, -0.25, 0.4, 0.2])
BASE_LOG_ODDS = -5.2
HEALTH_ON_HAZARD = -1.4
HEALTH_ON_RATE = 0.9
NON_COMPLETED = {"cancelled": 0.03, "pending": 0.02}  # besides refunds

# Random streams: one per purpose, so adding a detail never shifts another stream.
STREAM_STATIC, STREAM_DAY, STREAM_ORACLE = 1, 2, 3
ORACLE_CHUNK = 4096


def day_rng(seed: int, day: dt.date, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, day.toordinal(), stream])


@dataclass
class DayState:
    """What happened on one day, per slot (arrays of length `size`)."""

    day: dt.date
    generation: np.ndarray  # int; how many customers held the slot before the current one
    alive: np.ndarray  # bool; customer active (not churned) at the end of the day
    purchases: np.ndarray  # int; sales made today
    refunds: np.ndarray  # int; of which refunded
    engagement: np.ndarray  # float; expected clickstream activity weight
    health: np.ndarray
    region: np.ndarray
    channel: np.ndarray
    spend: np.ndarray  # typical unit price level
    refund_propensity: np.ndarray
    base_rate: np.ndarray

    def customer_id(self, slot: int) -> str:
        return customer_id(slot, int(self.generation[slot]))

    def customer_ids(self) -> list[str]:
        """Every slot's customer id (a plain loop: numpy string ops cost more at a million slots)."""
        return [customer_id(slot, generation) for slot, generation in enumerate(self.generation.tolist())]


def customer_id(slot: int, generation: int) -> str:
    return f"C{slot:06d}-{generation:02d}"


class Population:
    def __init__(self, seed: int, size: int, epoch: dt.date = EPOCH):
        if size <= 0:
            raise GeneratorInputError("the population needs at least one customer")
        self.seed, self.size, self.epoch = seed, size, epoch
        rng = np.random.default_rng([seed, STREAM_STATIC])
        self.generation = np.zeros(size, dtype=np.int64)
        self.alive = np.ones(size, dtype=bool)
        self.reborn_on = np.full(size, -1, dtype=np.int64)
        self.region = np.zeros(size, dtype=np.int64)
        self.channel = np.zeros(size, dtype=np.int64)
        self.base_rate = np.zeros(size)
        self.spend = np.zeros(size)
        self.engagement_level = np.zeros(size)
        self.refund_propensity = np.zeros(size)
        self.health = np.zeros(size)
        self._draw_customers(rng, np.arange(size))
        self._today = epoch

    # -- customers ---------------------------------------------------------------
    def _draw_customers(self, rng: np.random.Generator, slots: np.ndarray) -> None:
        n = len(slots)
        self.region[slots] = rng.integers(0, len(REGIONS), n)
        self.channel[slots] = rng.integers(0, len(CHANNELS), n)
        self.base_rate[slots] = rng.gamma(2.0, 0.07, n)  # ~0.14 purchases a day
        self.spend[slots] = rng.lognormal(3.4, 0.6, n)
        self.engagement_level[slots] = rng.lognormal(0.0, 0.5, n)
        self.refund_propensity[slots] = rng.beta(1.5, 25.0, n)
        self.health[slots] = rng.normal(0.6, 0.7, n)
        self.alive[slots] = True

    # -- dynamics ----------------------------------------------------------------
    def hazard(self, health: np.ndarray | None = None, part: slice = slice(None)) -> np.ndarray:
        h = self.health[part] if health is None else health
        log_odds = (BASE_LOG_ODDS + HEALTH_ON_HAZARD * h
                    + REGION_EFFECT[self.region[part]] + CHANNEL_EFFECT[self.channel[part]])
        return 1.0 / (1.0 + np.exp(-log_odds))

    def purchase_rate(self, health: np.ndarray | None = None, part: slice = slice(None)) -> np.ndarray:
        h = self.health[part] if health is None else health
        return self.base_rate[part] * np.exp(HEALTH_ON_RATE * np.clip(h, -3, 3))

    def refund_probability(self, health: np.ndarray | None = None, part: slice = slice(None)) -> np.ndarray:
        h = self.health[part] if health is None else health
        return np.clip(self.refund_propensity[part] * (1 + np.maximum(0, -h)), 0, 0.9)

    def step(self) -> DayState:
        """Advance one day and report it."""
        day = self._today
        rng = day_rng(self.seed, day, STREAM_DAY)
        ordinal = day.toordinal()

        reborn = (~self.alive) & (self.reborn_on == ordinal)
        if reborn.any():
            self.generation[reborn] += 1
            self._draw_customers(rng, np.flatnonzero(reborn))

        churn = self.alive & (rng.random(self.size) < self.hazard())
        self.alive &= ~churn
        self.reborn_on[churn] = ordinal + 1 + rng.geometric(1 / 20, churn.sum())

        purchases = rng.poisson(self.purchase_rate() * self.alive)
        refunds = rng.binomial(purchases, self.refund_probability())
        engagement = self.engagement_level * np.exp(0.7 * np.clip(self.health, -3, 3)) * self.alive

        state = DayState(
            day=day,
            generation=self.generation.copy(),
            alive=self.alive.copy(),
            purchases=purchases,
            refunds=refunds,
            engagement=engagement,
            health=self.health.copy(),
            region=self.region.copy(),
            channel=self.channel.copy(),
            spend=self.spend.copy(),
            refund_propensity=self.refund_propensity.copy(),
            base_rate=self.base_rate.copy(),
        )
        self.health = 0.97 * self.health + 0.03 * 0.4 + rng.normal(0, 0.12, self.size) - 0.45 * refunds
        self._today = day + dt.timedelta(days=1)
        return state

    def days(self, start: dt.date, end: dt.date) -> Iterator[DayState]:
        """The states of start..end inclusive (simulating from the epoch, unreported before start)."""
        if start < self.epoch:
            raise GeneratorInputError(f"dates before the business opened ({self.epoch}) have no data: {start}")
        if self._today > start:
            raise GeneratorInputError("a Population only moves forward; create a new one to go back")
        while self._today <= end:
            state = self.step()
            if state.day >= start:
                yield state

    # -- ground truth --------------------------------------------------------------
    def churn_probability(self, state: DayState, simulations: int = 200) -> np.ndarray:
        """P(no completed purchase in the next HORIZON_DAYS | latent state at the end of the day).

        Monte Carlo over the same dynamics the generator uses; the best any model of the
        observable data could do. Customers already churned have probability 1. Call it
        before the population moves on (it reads today's latent state). Customers are
        simulated ORACLE_CHUNK at a time, so memory stays bounded at any population size.
        """
        probability = np.empty(self.size)
        for first in range(0, self.size, ORACLE_CHUNK):
            part = slice(first, min(first + ORACLE_CHUNK, self.size))
            rng = np.random.default_rng([self.seed, state.day.toordinal(), STREAM_ORACLE, first])
            probability[part] = self._no_purchase_share(rng, state.alive[part], part, simulations)
        return probability

    def _no_purchase_share(self, rng, alive_today: np.ndarray, part: slice, simulations: int) -> np.ndarray:
        shape = (simulations, len(alive_today))
        alive = np.broadcast_to(alive_today, shape).copy()
        health = np.broadcast_to(self.health[part], shape).copy()
        bought = np.zeros(shape, dtype=bool)
        completed_share = 1 - sum(NON_COMPLETED.values())
        for _ in range(HORIZON_DAYS):
            alive &= rng.random(shape) >= self.hazard(health, part)
            rate = self.purchase_rate(health, part) * alive
            expected = rate * completed_share * (1 - self.refund_probability(health, part))
            bought |= rng.random(shape) < -np.expm1(-expected)  # P(Poisson(expected) > 0), drawn cheaper
            health = 0.97 * health + 0.03 * 0.4 + rng.normal(0, 0.12, shape)
        return 1.0 - bought.mean(axis=0)
