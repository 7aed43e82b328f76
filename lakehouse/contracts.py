"""Record contracts v2.0.0 of the three sources, defined once as pyarrow schemas.

Generators write records that follow them, the export enforces the sales contract
when it turns Firestore documents into Parquet, and the Dataform sources read the
same column names. Enumerations are listed here so that every layer agrees on them.
"""

from __future__ import annotations

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


def required_fields(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if not f.nullable]
