"""The local warehouse: one DuckDB file, one schema per BigQuery dataset."""

from __future__ import annotations

import os
import threading
from typing import Any

import duckdb
import pyarrow as pa

from lakehouse.warehouse import WarehouseError
from lakehouse.warehouse.dialect import condition_to_duckdb, to_duckdb


class DuckDBWarehouse:
    dialect = "duckdb"

    def __init__(self, path: str):
        self.path = path
        if path not in ("", ":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            self.con = duckdb.connect(path or ":memory:")
        except duckdb.IOException as error:
            raise WarehouseError(
                f"cannot open the DuckDB warehouse {path}: {error}. "
                "Another process (a running `winterdays serve`?) holds it; stop it or wait."
            ) from None
        # BigQuery evaluates timestamps in UTC; DuckDB would use the machine's zone.
        self.con.execute("SET TimeZone='UTC'")
        self._lock = threading.Lock()
        self._gcs_registered = False

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.path!r})"

    # -- native (already DuckDB) --------------------------------------------
    def run_native(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        if "gs://" in sql and not self._gcs_registered:
            self._register_gcs()
        with self._lock:
            try:
                return self.con.execute(sql, params or [])
            except duckdb.Error as error:
                raise WarehouseError(f"{error}\n-- statement:\n{sql}") from None

    def _register_gcs(self) -> None:
        """DuckDB's httpfs cannot be installed offline: read gs:// through gcsfs instead."""
        from lakehouse.storage import filesystem_for

        self.con.register_filesystem(filesystem_for("gs://"))
        self._gcs_registered = True

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one worker thread (DuckDB connections are not thread-safe)."""
        cur = self.con.cursor()
        cur.execute("SET TimeZone='UTC'")
        return cur

    # -- the port --------------------------------------------------------------
    def execute(self, sql: str) -> int:
        affected = -1
        for statement in to_duckdb(sql):
            result = self.run_native(statement)
            affected = _rows_affected(result)
        return affected

    def query(self, sql: str) -> list[dict[str, Any]]:
        table = self.query_arrow(sql)
        return table.to_pylist()

    def query_arrow(self, sql: str) -> pa.Table:
        statements = to_duckdb(sql)
        for statement in statements[:-1]:
            self.run_native(statement)
        with self._lock:
            try:
                return self.con.sql(statements[-1]).to_arrow_table()
            except duckdb.Error as error:
                raise WarehouseError(f"{error}\n-- statement:\n{statements[-1]}") from None

    def table_exists(self, dataset: str, table: str) -> bool:
        row = self.run_native(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [dataset, table],
        ).fetchone()
        return bool(row and row[0])

    def tables(self, dataset: str) -> list[str]:
        rows = self.run_native(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [dataset]
        ).fetchall()
        return [r[0] for r in rows]

    def columns(self, dataset: str, table: str) -> list[str]:
        rows = self.run_native(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [dataset, table],
        ).fetchall()
        return [r[0] for r in rows]

    def write_arrow(self, data: pa.Table, dataset: str, table: str, *, replace_where: str | None = None) -> int:
        target = f'"{dataset}"."{table}"'
        with self._lock:
            con = self.con
            con.register("_incoming", data)
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
                if replace_where is None:
                    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM _incoming")
                else:
                    con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM _incoming LIMIT 0")
                    con.execute(f"DELETE FROM {target} WHERE {condition_to_duckdb(replace_where)}")
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _incoming")
                con.execute("COMMIT")
            except duckdb.Error as error:
                con.execute("ROLLBACK")
                raise WarehouseError(f"writing {dataset}.{table} failed: {error}") from None
            finally:
                con.unregister("_incoming")
        return data.num_rows

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _rows_affected(result: duckdb.DuckDBPyConnection) -> int:
    """DuckDB reports DML row counts as a one-row `Count` result."""
    try:
        description = result.description
        if description and len(description) == 1 and description[0][0] == "Count":
            row = result.fetchone()
            return int(row[0]) if row else 0
    except duckdb.Error:
        pass
    return -1
