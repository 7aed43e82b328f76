"""Reference data the generators draw from: products, names, email addresses.

Built once per seed with Faker, then indexed by cheap stable hashes, so a million
records do not make a million Faker calls.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from faker import Faker

from lakehouse.contracts import PRODUCT_CATEGORIES


@dataclass(frozen=True)
class Product:
    product_id: str
    category: str
    price: Decimal


class Catalog:
    def __init__(self, seed: int, size: int = 200):
        rng = np.random.default_rng([seed, 7])
        categories = rng.integers(0, len(PRODUCT_CATEGORIES), size)
        prices = np.round(rng.lognormal(3.2, 0.8, size), 2).clip(1.0, 2000.0)
        self.products = [
            Product(f"P{i:05d}", PRODUCT_CATEGORIES[c], Decimal(f"{p:.2f}"))
            for i, (c, p) in enumerate(zip(categories, prices, strict=True))
        ]
        self._log_prices = np.log(prices)
        self._order = np.argsort(prices)

    def pick(self, rng: np.random.Generator, spend_levels: np.ndarray) -> np.ndarray:
        """Product indexes near each customer's spend level (richer customers buy dearer)."""
        targets = np.log(np.maximum(spend_levels, 1.0)) + rng.normal(0, 0.6, len(spend_levels))
        ranks = np.searchsorted(self._log_prices[self._order], targets).clip(0, len(self.products) - 1)
        return self._order[ranks]


@functools.lru_cache(maxsize=8)
def name_pool(seed: int, size: int = 512) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    fake = Faker()
    fake.seed_instance(seed)
    firsts = tuple(fake.first_name().lower() for _ in range(size))
    lasts = tuple(fake.last_name().lower().replace(" ", "") for _ in range(size))
    domains = tuple(fake.free_email_domain() for _ in range(32))
    return firsts, lasts, domains


def stable_index(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def customer_email(seed: int, customer_id: str) -> str:
    firsts, lasts, domains = name_pool(seed)
    h = stable_index(seed, customer_id)
    return f"{firsts[h % len(firsts)]}.{lasts[(h >> 16) % len(lasts)]}{h % 97}@{domains[(h >> 32) % len(domains)]}"
