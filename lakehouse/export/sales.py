"""Step 1: export Firestore sales documents to Parquet in bronze, enforcing the contract.

The documents stream in (lakehouse.documents.stream_documents) and their rows go to staged
Parquet files, one per partition, in row groups (export_files.py): memory stays bounded
whatever the number of documents. Which changes are read and which partitions replaced is
the export's window (watermark.py). A document that breaks the v2.0.0 contract is
quarantined with its reason and the raw document; it never reaches bronze and it is never
lost. The step fails only when the share of rejects passes the configured threshold, and
then publishes nothing to bronze.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from lakehouse import bronze
from lakehouse.contracts import CURRENCIES, MONEY, SALE_STATUSES, SALES, SCHEMA_VERSION, required_fields
from lakehouse.errors import LakehouseError
from lakehouse.export.files import ParquetPartitions, RejectPartitions
from lakehouse.export.watermark import Window
from lakehouse.storage import ObjectStore
from lakehouse.timestamps import BadTimestamp, parse_timestamp

log = logging.getLogger(__name__)
MAX_STRING = 1024
ROW_GROUP = 50_000
_CENT = Decimal("0.01")
_MONEY_LIMIT = Decimal(10) ** (MONEY.precision - MONEY.scale)
_MAJOR_VERSION = SCHEMA_VERSION.split(".")[0]
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _kind(data_type: pa.DataType) -> str:
    for kind, test in (("string", pa.types.is_string), ("integer", pa.types.is_integer),
                       ("money", pa.types.is_decimal), ("timestamp", pa.types.is_timestamp)):
        if test(data_type):
            return kind
    raise TypeError(f"the sales contract has a column of type {data_type} the export cannot check")


# Looked up once: to_row runs for every document.
_COLUMNS = tuple((f.name, _kind(f.type)) for f in SALES if f.name != "exported_at")
_REQUIRED = tuple(name for name in required_fields(SALES) if name != "exported_at")


class Rejected(LakehouseError, ValueError):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


class RejectThresholdExceeded(LakehouseError, RuntimeError):
    pass


@dataclass
class ExportResult:
    window: Window
    exported: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    watermark: dt.datetime | None = None  # the latest updated_at exported

    @property
    def reject_ratio(self) -> float:
        total = self.exported + self.rejected
        return self.rejected / total if total else 0.0


def to_row(doc_id: str, data: dict[str, Any], exported_at: dt.datetime) -> dict[str, Any]:
    """One contract-conforming bronze row, or Rejected with the first broken rule."""
    for name in _REQUIRED:
        if data.get(name) in (None, ""):
            raise Rejected("missing_field", name)
    version = data["schema_version"]
    if not isinstance(version, str) or version.split(".")[0] != _MAJOR_VERSION:
        raise Rejected("unknown_schema_version", repr(version)[:40])
    row: dict[str, Any] = {"exported_at": exported_at}
    for name, kind in _COLUMNS:
        value = data.get(name)
        if kind == "string":
            if value is not None and not isinstance(value, str):
                raise Rejected("wrong_type", f"{name} is {type(value).__name__}, expected string")
            if value is not None and len(value) > MAX_STRING:
                raise Rejected("oversized_string", f"{name} has {len(value)} characters")
            if value is not None and not value.isascii() and not _is_unicode_text(value):
                raise Rejected("invalid_text", f"{name} holds a lone surrogate, which UTF-8 cannot encode")
            row[name] = value
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise Rejected("wrong_type", f"{name} is {type(value).__name__}, expected integer")
            if not _INT64_MIN <= value <= _INT64_MAX:  # pyarrow would refuse the whole row group
                raise Rejected("integer_out_of_range", f"{name} = {str(value)[:40]}, past INT64")
            row[name] = value
        elif kind == "money":
            row[name] = _money(name, value)
        else:
            try:
                row[name] = parse_timestamp(value)
            except BadTimestamp as error:
                raise Rejected("bad_timestamp", f"{name}: {error}") from None
    if row["quantity"] <= 0:
        raise Rejected("non_positive_quantity", str(row["quantity"]))
    if row["status"] not in SALE_STATUSES:
        raise Rejected("unknown_status", row["status"][:40])
    if row["currency"] not in CURRENCIES:
        raise Rejected("unknown_currency", row["currency"][:40])
    if row["sale_id"] != doc_id:
        raise Rejected("id_mismatch", f"document {doc_id} holds sale_id {row['sale_id'][:40]}")
    return row


def _is_unicode_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _money(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Rejected("wrong_type", f"{name} is {type(value).__name__}, expected a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Rejected("wrong_type", f"{name} is not a number: {str(value)[:40]!r}") from None
    if not amount.is_finite():  # NaN and infinities; a NaN would also break the comparisons below
        raise Rejected("wrong_type", f"{name} is not a finite number: {str(value)[:40]!r}")
    if amount < 0:
        raise Rejected("negative_amount", f"{name} = {value}")
    # Checked before rounding too: quantize refuses numbers past the context's 28 digits.
    if amount >= _MONEY_LIMIT or (amount := amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)) >= _MONEY_LIMIT:
        # decimal128(18, 2) cannot hold it: pyarrow would refuse the whole row group, not this row
        raise Rejected("amount_out_of_range", f"{name} = {str(value)[:40]}, not under {_MONEY_LIMIT:,}")
    return amount


def export_sales(
    documents: Iterable[tuple[str, dict[str, Any]]],
    window: Window,
    bronze_store: ObjectStore,
    quarantine_store: ObjectStore,
    reject_threshold: float,
    row_group_rows: int = ROW_GROUP,
    progress: Callable[[int], None] = lambda documents: None,
) -> ExportResult:
    """Write `documents` (id, data) to bronze, each row to the partition of its change date;
    `progress` is told the number of documents read so far, after each one."""
    staging = f"sales/{window.logical_date.isoformat()}"
    for store in (bronze_store, quarantine_store):  # what a killed attempt of this date left
        store.clear_staging(staging)
    attempt = f"{staging}/{uuid.uuid4().hex[:12]}"
    rows = ParquetPartitions(bronze_store, attempt, row_group_rows)
    rejects = RejectPartitions(quarantine_store, attempt)
    try:
        result = _stream(documents, window, rows, rejects, progress)
        rows.finish(window.days())
        rejects.finish()
        _quarantine(window, rejects, quarantine_store)
        _check_threshold(result, reject_threshold, quarantine_store)
        result.partitions = rows.publish(window.days() | set(rows.writers))
    finally:
        rows.discard()
        rejects.discard()
    log.info("sales exported", extra={
        "logical_date": window.logical_date.isoformat(), "first_day": window.first and window.first.isoformat(),
        "exported": result.exported, "rejected": result.rejected, "reasons": result.reasons,
        "partitions": len(result.partitions), "watermark": result.watermark and result.watermark.isoformat()})
    return result


def _stream(documents: Iterable[tuple[str, dict[str, Any]]], window: Window, rows: ParquetPartitions,
            rejects: RejectPartitions, progress: Callable[[int], None]) -> ExportResult:
    exported_at = dt.datetime.now(dt.UTC)
    result = ExportResult(window=window)
    reasons: Counter[str] = Counter()
    for read, (doc_id, data) in enumerate(documents, 1):
        progress(read)
        try:
            row = to_row(doc_id, data, exported_at)
        except Rejected as rejection:
            reasons[rejection.reason] += 1
            rejects.add(_reject_day(data, window), {"document_id": doc_id, "reason": rejection.reason,
                                                   "detail": rejection.detail, "document": data})
            continue
        changed = row["updated_at"]
        rows.add(changed.date(), row)
        result.exported += 1
        if result.watermark is None or changed > result.watermark:
            result.watermark = changed
    result.rejected, result.reasons = sum(reasons.values()), dict(reasons)
    return result


def _reject_day(data: dict[str, Any], window: Window) -> dt.date:
    """A reject goes to the partition of its change date when it has one, else the logical date's."""
    try:
        return parse_timestamp(data.get("updated_at")).date()
    except BadTimestamp:
        return window.logical_date


def _quarantine(window: Window, rejects: RejectPartitions, store: ObjectStore) -> None:
    """Replace the quarantine partitions the export covers, so a clean re-run clears stale rejects.

    A full export covers every day: partitions of rejects that are gone are emptied too.
    """
    days = window.days() | set(rejects.handles) | {window.logical_date}
    if window.full:
        days |= {day for path in store.list("sales") if (day := bronze.partition_date(path)) is not None}
    rejects.publish(days)


def _check_threshold(result: ExportResult, threshold: float, quarantine_store: ObjectStore) -> None:
    if result.reject_ratio <= threshold:
        return
    log.error("reject ratio exceeded", extra={
        "event": "reject_ratio_exceeded", "rejected": result.rejected,
        "total": result.exported + result.rejected, "reject_ratio": round(result.reject_ratio, 6),
        "threshold": threshold, "reasons": result.reasons})
    raise RejectThresholdExceeded(
        f"export of {result.window.logical_date}: {result.rejected} of {result.exported + result.rejected} "
        f"sales documents ({result.reject_ratio:.1%}) broke the contract, above the threshold of {threshold:.1%} "
        f"(WINTERDAYS_REJECT_THRESHOLD); reasons {result.reasons}; see {quarantine_store.uri('sales')}. "
        "Nothing was published to bronze."
    )
