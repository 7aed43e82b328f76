"""The contract registry: record contracts of the three sources, defined once as pyarrow schemas.

Generators write records that follow them, the export enforces the sales contract
when it turns Firestore documents into Parquet, the stream subscriber checks every
clickstream event against CLICKSTREAM_VERSIONS, and the Dataform SQLX reads the
allowed versions, event types and optional columns from `dataform/includes/contracts.js`,
generated from this module (`python -m lakehouse.contracts`; a test keeps it in sync).
Enumerations are listed here so that every layer agrees on them.

Schema evolution of the clickstream: a new minor version may only add optional fields
(declare it in CLICKSTREAM_VERSIONS: silver then exposes the field as a nullable column,
older partitions read it as NULL); a new major version, or an existing field of another
type, is refused (dead-lettered by the subscriber, rejected by silver).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa

SCHEMA_VERSION = "2.0.0"
MONEY = pa.decimal128(18, 2)
UTC_TS = pa.timestamp("us", tz="UTC")

SALE_STATUSES = ("completed", "refunded", "cancelled", "pending")
PAYMENT_METHODS = {
    "visa": "card",
    "mastercard": "card",
    "amex": "card",
    "paypal": "wallet",
    "apple_pay": "wallet",
    "google_pay": "wallet",
    "bank_transfer": "bank",
    "sepa_debit": "bank",
}
CURRENCIES = ("EUR", "USD", "GBP")
REGIONS = ("north", "south", "east", "west", "central")
CHANNELS = ("web", "mobile_app", "store", "partner")
PRODUCT_CATEGORIES = ("electronics", "home", "fashion", "sports", "books", "beauty")

EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout", "purchase", "search")
DEVICE_CATEGORIES = ("desktop", "mobile", "tablet")

FUNDING_STAGES = {  # stage -> score, the order of maturity
    "pre_seed": 1,
    "seed": 2,
    "series_a": 3,
    "series_b": 4,
    "series_c": 5,
    "growth": 6,
}
VALUATION_BUCKETS = ("<1M", "1M-10M", "10M-100M", "100M-1B", ">1B")
SECTORS = ("fintech", "healthtech", "climate", "saas", "ecommerce", "edtech", "ai")

SALES = pa.schema(
    [
        pa.field("sale_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("product_id", pa.string(), nullable=False),
        pa.field("product_category", pa.string()),
        pa.field("quantity", pa.int64(), nullable=False),
        pa.field("unit_price", MONEY, nullable=False),
        pa.field("amount", MONEY, nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("payment_method", pa.string()),
        pa.field("payment_method_category", pa.string()),
        pa.field("contact_email_hashed", pa.string()),
        pa.field("credit_card_last4", pa.string()),
        pa.field("region", pa.string()),
        pa.field("channel", pa.string()),
        pa.field("sale_timestamp", UTC_TS, nullable=False),
        pa.field("schema_version", pa.string(), nullable=False),
        # when the source document last changed: the export's watermark
        pa.field("updated_at", UTC_TS, nullable=False),
        # lineage added by the export, not by the source
        pa.field("exported_at", UTC_TS, nullable=False),
    ],
    metadata={"schema_version": SCHEMA_VERSION, "source": "firestore:winter_sales"},
)

CLICKSTREAM = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string()),  # null for anonymous visitors
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("page_url", pa.string()),
        pa.field("referrer_domain", pa.string()),
        pa.field("device_type_category", pa.string()),
        pa.field("is_bounce", pa.bool_()),
        pa.field("event_timestamp", UTC_TS, nullable=False),
        pa.field("load_timestamp", UTC_TS),
        pa.field("schema_version", pa.string(), nullable=False),
    ],
    metadata={"schema_version": SCHEMA_VERSION, "source": "bronze:clickstream"},
)

STARTUPS = pa.schema(
    [
        pa.field("startup_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("sector", pa.string()),
        pa.field("country", pa.string()),
        pa.field("funding_stage", pa.string()),
        pa.field("funding_stage_score", pa.int64()),
        pa.field("valuation_bucket", pa.string()),
        pa.field("contact_email_cleaned", pa.string()),
        pa.field("is_active", pa.bool_()),
        pa.field("founded_date", pa.date32()),
        pa.field("updated_at", UTC_TS, nullable=False),
        pa.field("schema_version", pa.string(), nullable=False),
    ],
    metadata={"schema_version": SCHEMA_VERSION, "source": "bronze:startups"},
)

CONTRACTS = {"sales": SALES, "clickstream": CLICKSTREAM, "startups": STARTUPS}

# Each minor version of the clickstream adds optional fields to the one before it.
CLICKSTREAM_VERSIONS: dict[str, pa.Schema] = {
    "2.0.0": CLICKSTREAM,
    "2.1.0": CLICKSTREAM.append(pa.field("campaign_id", pa.string())),  # the marketing campaign, if any
}
CLICKSTREAM_LATEST = max(CLICKSTREAM_VERSIONS, key=lambda v: tuple(map(int, v.split("."))))
DATAFORM_INCLUDE = Path(__file__).resolve().parent.parent / "dataform" / "includes" / "contracts.js"
_SQL_TYPES = {pa.string(): "STRING", pa.bool_(): "BOOL", pa.int64(): "INT64", UTC_TS: "TIMESTAMP",
              pa.float64(): "FLOAT64", pa.date32(): "DATE"}


def major(version: str) -> str:
    return version.split(".", 1)[0]


def clickstream_fields(version_major: str) -> pa.Schema | None:
    """Every field a version of this major may carry (the latest minor's schema), or None if unknown."""
    known = [v for v in CLICKSTREAM_VERSIONS if major(v) == version_major]
    if not known:
        return None
    return CLICKSTREAM_VERSIONS[max(known, key=lambda v: tuple(map(int, v.split("."))))]


def added_fields(versions: dict[str, pa.Schema], base: pa.Schema) -> list[pa.Field]:
    """The optional fields later minor versions declared on top of `base`, in order of declaration."""
    seen, added = set(base.names), []
    for schema in versions.values():
        for field in schema:
            if field.name not in seen:
                seen.add(field.name)
                added.append(field)
    return added


def dataform_include() -> str:
    """The registry as Dataform sees it: dataform/includes/contracts.js."""
    clickstream = {
        "majors": sorted({major(v) for v in CLICKSTREAM_VERSIONS}),
        "eventTypes": list(EVENT_TYPES),
        "optional": [{"name": f.name, "type": _SQL_TYPES[f.type]}
                     for f in added_fields(CLICKSTREAM_VERSIONS, CLICKSTREAM)],
    }
    return ("// Generated from lakehouse/contracts.py by `python -m lakehouse.contracts`: do not edit.\n"
            f"module.exports = {{ clickstream: {json.dumps(clickstream)} }};\n")


def required_fields(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if not f.nullable]


if __name__ == "__main__":  # regenerate the Dataform include after changing the registry
    DATAFORM_INCLUDE.write_text(dataform_include())
    sys.exit(0)
