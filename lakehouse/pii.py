"""Pseudonymisation: a keyed hash, the same in Python and in the warehouse.

keyed_hash(k, v) == TO_HEX(SHA256(CONCAT(k, v))) in BigQuery, so a value hashed by a
source application and one hashed in silver can be compared when they share a key.

The warehouse reads the key from a one-row table, `winter_days_secrets.pii_key`, which the
transform runner writes before each invocation (a load of one row: the key is in no SQL text).
The SQL that hashes refers to the table (includes/lake.js), so no view definition, compiled
Dataform result or job's query text holds the key; in gcp only the transform can read the dataset.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, overload

from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.warehouse import Warehouse

KEY_DATASET = "winter_days_secrets"
KEY_TABLE = "pii_key"
KEY_COLUMN = "pseudonymisation_key"
PLACEHOLDER = "replace-me"  # the public example value: hashing with it would be reversible


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


def install_key(warehouse: Warehouse, key: str) -> None:
    """Write the key table the hashing SQL reads; fails closed without a real key."""
    import pyarrow as pa

    if not key or key == PLACEHOLDER:
        raise MissingKey("no pseudonymisation key: set WINTERDAYS_PII_KEY (in gcp, from Secret Manager); "
                         "the placeholder key is refused")
    warehouse.write_arrow(pa.table({KEY_COLUMN: [key]}), KEY_DATASET, KEY_TABLE)
