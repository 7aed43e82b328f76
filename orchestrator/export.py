"""Step 1: export Firestore sales documents to Parquet in bronze, enforcing the contract.

A document that breaks the v2.0.0 contract is quarantined with its reason and the raw
document; it never reaches bronze and it is never lost. The step fails only when the
share of rejects passes the configured threshold.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse import bronze
from lakehouse.contracts import CURRENCIES, SALE_STATUSES, SALES, SCHEMA_VERSION, required_fields
from lakehouse.storage import ObjectStore
from lakehouse.timestamps import BadTimestamp, parse_timestamp

log = logging.getLogger(__name__)
MAX_STRING = 1024
ROW_GROUP = 50_000
_CENT = Decimal("0.01")


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


class RejectThresholdExceeded(RuntimeError):
    pass


@dataclass
class ExportResult:
    day: dt.date
    exported: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)

    @property
    def reject_ratio(self) -> float:
        total = self.exported + self.rejected
        return self.rejected / total if total else 0.0


def to_row(doc_id: str, data: dict[str, Any], exported_at: dt.datetime) -> dict[str, Any]:
    """One contract-conforming bronze row, or Rejected with the first broken rule."""
    for name in required_fields(SALES):
        if name != "exported_at" and data.get(name) in (None, ""):
            raise Rejected("missing_field", name)
    version = data["schema_version"]
    if not isinstance(version, str) or version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise Rejected("unknown_schema_version", repr(version)[:40])
    row: dict[str, Any] = {}
    for f in SALES:
        value = data.get(f.name)
        if f.name == "exported_at":
            row[f.name] = exported_at
        elif pa.types.is_string(f.type):
            if value is not None and not isinstance(value, str):
                raise Rejected("wrong_type", f"{f.name} is {type(value).__name__}, expected string")
            if value is not None and len(value) > MAX_STRING:
                raise Rejected("oversized_string", f"{f.name} has {len(value)} characters")
            row[f.name] = value
        elif pa.types.is_integer(f.type):
            if isinstance(value, bool) or not isinstance(value, int):
                raise Rejected("wrong_type", f"{f.name} is {type(value).__name__}, expected integer")
            row[f.name] = value
        elif pa.types.is_decimal(f.type):
            row[f.name] = _money(f.name, value)
        elif pa.types.is_timestamp(f.type):
            try:
                row[f.name] = parse_timestamp(value)
            except BadTimestamp as error:
                raise Rejected("bad_timestamp", f"{f.name}: {error}") from None
    if row["quantity"] <= 0:
        raise Rejected("non_positive_quantity", str(row["quantity"]))
    if row["status"] not in SALE_STATUSES:
        raise Rejected("unknown_status", row["status"][:40])
    if row["currency"] not in CURRENCIES:
        raise Rejected("unknown_currency", row["currency"][:40])
    if row["sale_id"] != doc_id:
        raise Rejected("id_mismatch", f"document {doc_id} holds sale_id {row['sale_id'][:40]}")
    return row


def _money(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Rejected("wrong_type", f"{name} is {type(value).__name__}, expected a number")
    try:
        amount = Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        raise Rejected("wrong_type", f"{name} is not a number: {str(value)[:40]!r}") from None
    if amount < 0 or not amount.is_finite():
        raise Rejected("negative_amount", f"{name} = {value}")
    return amount


def export_sales(
    documents: Iterable[tuple[str, dict[str, Any]]],
    day: dt.date,
    bronze_store: ObjectStore,
    quarantine_store: ObjectStore,
    reject_threshold: float,
    by_change_date: bool = False,
) -> ExportResult:
    """Write `documents` (id, data) to bronze: to `dt=day`, or by each document's change date."""
    exported_at = dt.datetime.now(dt.UTC)
    result = ExportResult(day=day)
    rows: dict[dt.date, list[dict]] = defaultdict(list)
    rejects: dict[dt.date, list[dict]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    for doc_id, data in documents:
        try:
            row = to_row(doc_id, data, exported_at)
        except Rejected as rejection:
            reasons[rejection.reason] += 1
            rejects[day].append({"document_id": doc_id, "reason": rejection.reason,
                                 "detail": rejection.detail, "document": data})
            continue
        rows[row["updated_at"].date() if by_change_date else day].append(row)
    result.exported = sum(len(r) for r in rows.values())
    result.rejected = sum(reasons.values())
    result.reasons = dict(reasons)
    _quarantine(quarantine_store, rejects, day)
    if result.reject_ratio > reject_threshold:
        raise RejectThresholdExceeded(
            f"export of {day}: {result.rejected} of {result.exported + result.rejected} sales documents "
            f"({result.reject_ratio:.1%}) broke the contract, above the threshold of {reject_threshold:.1%} "
            f"(WINTERDAYS_REJECT_THRESHOLD); reasons {dict(reasons)}; see {quarantine_store.uri('sales')}. "
            "Nothing was published to bronze."
        )
    for partition_day, partition_rows in sorted(rows.items()):
        partition = bronze.partition("sales", partition_day)
        bronze_store.replace_partition(partition, {"part-00000.parquet": _parquet(partition_rows)})
        result.partitions.append(partition)
    if not rows and not by_change_date:  # an empty day still replaces what was there
        bronze_store.replace_partition(bronze.partition("sales", day), {"part-00000.parquet": _parquet([])})
        result.partitions.append(bronze.partition("sales", day))
    log.info("sales exported", extra={"day": day.isoformat(), "exported": result.exported,
                                      "rejected": result.rejected, "reasons": result.reasons})
    return result


def _parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    table = pa.Table.from_pylist(rows, schema=SALES)
    pq.write_table(table, buffer, row_group_size=ROW_GROUP, compression="zstd")
    return buffer.getvalue()


def _quarantine(store: ObjectStore, rejects: dict[dt.date, list[dict]], day: dt.date) -> None:
    """Replace the day's quarantine partition, so a clean re-run clears stale rejects."""
    for partition_day in set(rejects) | {day}:
        records = rejects.get(partition_day, [])
        body = "".join(json.dumps(r, default=str, sort_keys=True) + "\n" for r in records).encode()
        files = {"rejects.jsonl": body} if records else {}
        store.replace_partition(bronze.partition("sales", partition_day), files)
