"""The warehouse port: silver and gold live in BigQuery (gcp) or one DuckDB file (local).

Callers write BigQuery SQL; the DuckDB adapter transpiles it (see dialect.py), so the
same statement runs in both modes. A URI names the warehouse everywhere, including
inside KFP components: `duckdb:///abs/path/warehouse.duckdb` or `bigquery://project/dataset`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from lakehouse.errors import LakehouseError


class WarehouseError(LakehouseError, RuntimeError):
    """A statement failed; the message carries the engine's error and the statement."""


class WarehouseBusy(WarehouseError):
    """The local warehouse is held by a writer (DuckDB allows one writer process); retry shortly."""


class WarehouseMissing(WarehouseError):
    """A read-only open of a local warehouse that no run has created yet."""


class WarehouseCorrupt(WarehouseError):
    """The local warehouse file is not a DuckDB database; it is left untouched for its owner to inspect."""


class UnsupportedSQL(LakehouseError, ValueError):
    """BigQuery SQL that the local engine cannot run with the same meaning (see dialect.py)."""


class Warehouse(Protocol):
    dialect: str

    def execute(self, sql: str) -> int:
        """Run one BigQuery-dialect statement; returns rows affected (or -1 when unknown)."""

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a BigQuery-dialect query and return its rows as dicts."""

    def query_arrow(self, sql: str) -> pa.Table: ...

    def table_exists(self, dataset: str, table: str) -> bool: ...

    def tables(self, dataset: str) -> list[str]:
        """Names of the tables and views in a dataset, sorted."""

    def columns(self, dataset: str, table: str) -> list[str]:
        """Column names in table order; empty when the table does not exist."""

    def write_arrow(self, data: pa.Table, dataset: str, table: str, *, replace_where: str | None = None) -> int:
        """Write rows into dataset.table, creating it if needed.

        With `replace_where` (a BigQuery boolean expression), rows matching it are deleted
        first in the same transaction, so re-writing a snapshot never duplicates it.
        Without it, the table is replaced whole.
        """

    def close(self) -> None: ...


@runtime_checkable
class ScriptWarehouse(Warehouse, Protocol):
    """A warehouse that runs Dataform's scripts statement by statement, from several threads: the
    local DuckDB adapter, which the transform executor drives (in gcp the Dataform service runs them)."""

    def run_script(self, statements: list[str]) -> list[int]:
        """Run BigQuery statements as one script (DECLAREd variables carry over); rows affected by each."""

    def worker(self) -> ScriptWarehouse:
        """The same warehouse through a connection of its own, for one worker thread."""


def connect(uri: str, *, read_only: bool = False) -> Warehouse:
    """read_only: locally, open the DuckDB file without taking the writer's place (readers such as the
    dashboard); BigQuery readers need no such care."""
    if uri.startswith("duckdb://"):
        from lakehouse.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(uri.removeprefix("duckdb://"), read_only=read_only)
    if uri.startswith("bigquery://"):
        from lakehouse.warehouse.bigquery import BigQueryWarehouse

        project, _, dataset = uri.removeprefix("bigquery://").partition("/")
        return BigQueryWarehouse(project, dataset or None)
    raise ValueError(f"unsupported warehouse URI {uri!r}: use duckdb:///path or bigquery://project/dataset")
