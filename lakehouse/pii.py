"""Pseudonymisation: a keyed hash, the same in Python and in the warehouse.

keyed_hash(k, v) == TO_HEX(SHA256(CONCAT(k, v))) in BigQuery, so a value hashed by a
source application and one hashed in silver can be compared when they share a key.
"""

import hashlib
from typing import overload

from lakehouse.errors import LakehouseError


class MissingKey(LakehouseError, ValueError):
    pass


@overload
def keyed_hash(key: str, value: str) -> str: ...


@overload
def keyed_hash(key: str, value: None) -> None: ...


def keyed_hash(key: str, value: str | None) -> str | None:
    if not key:
        raise MissingKey("no pseudonymisation key: set WINTERDAYS_PII_KEY (in gcp, from Secret Manager)")
    if value is None:
        return None
    return hashlib.sha256((key + value).encode("utf-8")).hexdigest()
