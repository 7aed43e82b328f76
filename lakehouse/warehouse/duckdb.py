"""The local warehouse: one DuckDB file, one schema per BigQuery dataset."""

from __future__ import annotations

import os
import re
import threading
from typing import Any, TypedDict

import duckdb
import pyarrow as pa

from lakehouse.warehouse import WarehouseBusy, WarehouseCorrupt, WarehouseError, WarehouseMissing
from lakehouse.warehouse.dialect import Script, condition_to_duckdb, to_duckdb
from lakehouse.warehouse.query import Query

# DuckDB types with no BigQuery twin, and the DuckDB type of BigQuery's: every integer is INT64,
# FLOAT32 is FLOAT64, every decimal of a result is NUMERIC (DECIMAL(38, 9)).
_NOT_BIGQUERY = re.compile(r"\b(HUGEINT|UHUGEINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT"
                           r"|FLOAT|DECIMAL\(\d+,\s*\d+\))(?![\w\"])")
_BIGQUERY_TWIN = {"FLOAT": "DOUBLE"}


class _Shared(TypedDict):
    """What a warehouse shares with its workers: whether gs:// is registered, and the lock that registers it."""

    gcs: bool
    lock: threading.Lock

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
DUCKDB_MAGIC_END = 12


class DuckDBWarehouse:
    dialect = "duckdb"

    def __init__(self, path: str, *, connection: duckdb.DuckDBPyConnection | None = None,
                 shared: _Shared | None = None, read_only: bool = False):
        self.path = path
        self._owner = connection is None
        self.con = connection or _open(path, read_only)
        _configure(self.con)
        self._lock = threading.Lock()
        self._shared: _Shared = shared if shared is not None else {"gcs": False, "lock": threading.Lock()}

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.path!r})"

    def worker(self) -> DuckDBWarehouse:
        """The same database through a connection of its own, for one worker thread.

        DuckDB runs statements of different connections concurrently (its own MVCC);
        one connection must not be shared between threads.
        """
        return DuckDBWarehouse(self.path, connection=self.con.cursor(), shared=self._shared)

    # -- native (already DuckDB) --------------------------------------------
    def run_native(self, sql: str, params: list[object] | None = None) -> duckdb.DuckDBPyConnection:
        if "gs://" in sql:
            self._register_gcs()
        with self._lock:
            try:
                return self.con.execute(sql, params or [])
            except duckdb.Error as error:
                raise WarehouseError(f"{error}\n-- statement:\n{sql}") from None

    def _register_gcs(self) -> None:
        """DuckDB's httpfs cannot be installed offline: read gs:// through gcsfs instead."""
        with self._shared["lock"]:
            if self._shared["gcs"]:
                return
            self.con.register_filesystem(_gcs_files_only())
            self._shared["gcs"] = True

    # -- the port --------------------------------------------------------------
    def execute(self, sql: str) -> int:
        return self.run_script([sql])[-1]

    def run_script(self, statements: list[str]) -> list[int]:
        """Run BigQuery statements as one script (DECLAREd variables carry over); rows affected by each.

        Everything is translated before anything runs, so an unsupported construct
        anywhere in the script changes nothing.
        """
        script = Script(columns_of=self.columns)
        translated = [script.translate(sql) for sql in statements]
        counts = []
        try:
            for parts in translated:
                affected = -1
                for statement in parts:  # a statement may become several: the count is the last one's
                    rows = _rows_affected(self.run_native(self.bigquery_typed(statement)))
                    affected = rows if rows >= 0 else affected
                counts.append(affected)
        except WarehouseError:
            self._rollback()  # a translation that opened a transaction (merge.py) leaves nothing half done
            raise
        return counts

    def _rollback(self) -> None:
        with self._lock:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # no transaction was open

    def query(self, sql: str) -> list[dict[str, Any]]:
        table = self.query_arrow(sql)
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    def query_arrow(self, sql: str) -> pa.Table:
        statements = to_duckdb(sql)
        for statement in statements[:-1]:
            _rows_affected(self.run_native(self.bigquery_typed(statement)))
        last = self.bigquery_typed(statements[-1])
        with self._lock:
            try:
                return self.con.sql(last).to_arrow_table()
            except duckdb.Error as error:
                raise WarehouseError(f"{error}\n-- statement:\n{statements[-1]}") from None

    def bigquery_typed(self, statement: str) -> str:
        """The statement with its result columns cast to BigQuery's types where DuckDB's differ (a SUM of
        INT64 is HUGEINT in DuckDB: cast back, it raises on INT64 overflow as BigQuery does)."""
        if not isinstance(statement, Query):
            return statement
        try:
            described = self.run_native(f"DESCRIBE {statement.body}").fetchall()
        except WarehouseError:
            return statement  # it fails the same way when it runs, with the engine's message
        casts = []
        for name, kind, *_ in described:
            twin = _NOT_BIGQUERY.sub(lambda m: _BIGQUERY_TWIN.get(m[1], "DECIMAL(38, 9)" if m[1].startswith(
                "DECIMAL") else "BIGINT"), kind)
            if twin != kind:
                quoted = '"' + name.replace('"', '""') + '"'
                casts.append(f"CAST({quoted} AS {twin}) AS {quoted}")
        if not casts:
            return statement
        return f"{statement.head}SELECT * REPLACE ({', '.join(casts)}) FROM ({statement.body}) AS _bigquery_typed"

    def table_exists(self, dataset: str, table: str) -> bool:
        # fetchall, not fetchone: DuckDB 2 refuses the connection's next statement while a result is unfinished
        rows = self.run_native(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [dataset, table],
        ).fetchall()
        return bool(rows and rows[0][0])

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
        return int(data.num_rows)

    def close(self) -> None:
        self.con.close()  # a worker closes only its own connection

    def __enter__(self) -> DuckDBWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    in_memory = path in ("", ":memory:")
    if read_only and not in_memory and not os.path.exists(path):
        raise WarehouseMissing(f"there is no DuckDB warehouse at {path} yet: a run creates it")
    if not in_memory:
        _refuse_foreign_file(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        return duckdb.connect(path or ":memory:", read_only=read_only and not in_memory)
    except duckdb.IOException as error:  # another process holds the file's lock
        raise WarehouseBusy(
            f"cannot open the DuckDB warehouse {path}: {error}. "
            "Another process (a running `winterdays serve`?) holds it; stop it or wait."
        ) from None
    except duckdb.ConnectionException as error:  # this process has it open in the other mode
        raise WarehouseBusy(f"cannot open the DuckDB warehouse {path} {'read-only' if read_only else 'to write'}: "
                            f"{error}. A run of this process is using it; wait for it to end.") from None


def _refuse_foreign_file(path: str) -> None:
    """A file that is not DuckDB's is reported as such, not as "busy" (DuckDB says IOException for both)."""
    try:
        with open(path, "rb") as file:
            header = file.read(DUCKDB_MAGIC_END)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return  # nothing there yet (a run creates it), or a path error DuckDB reports itself
    if header and header[DUCKDB_MAGIC_END - len(DUCKDB_MAGIC):] != DUCKDB_MAGIC:
        raise WarehouseCorrupt(f"{path} is not a DuckDB database file (left untouched): move it away and a run "
                               "builds a new warehouse, or restore it from a copy")


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    # BigQuery evaluates timestamps in UTC; DuckDB would use the machine's zone.
    con.execute("SET TimeZone='UTC'")
    # BigQuery sorts NULLs first ascending and last descending, in ORDER BY and in windows.
    con.execute("SET default_null_order='nulls_first_on_asc_last_on_desc'")


def _rows_affected(result: duckdb.DuckDBPyConnection) -> int:
    """DuckDB reports DML row counts as a one-row `Count` result; the result is consumed either way,
    since an unfinished result blocks the connection's next statement."""
    try:
        description = result.description
        rows = result.fetchall() if description else []
    except duckdb.Error:
        return -1
    if description and len(description) == 1 and description[0][0] == "Count" and rows:
        return int(rows[0][0])
    return -1


def _gcs_files_only() -> Any:
    """gcsfs for DuckDB, whose globs must name files: fsspec's `prefix/**` also yields `prefix` itself
    and its folders, which DuckDB would read as files (BigQuery's `prefix/*` matches objects only)."""
    from lakehouse.storage import filesystem_for

    base = filesystem_for("gs://")

    class FilesOnly(type(base)):  # type: ignore[misc]  # gcsfs's class, whichever version is installed
        def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
            if kwargs.get("detail"):
                return super().glob(path, maxdepth=maxdepth, **kwargs)
            found = super().glob(path, maxdepth=maxdepth, detail=True, **kwargs)
            return [name for name, info in found.items() if info.get("type") != "directory"]

    return FilesOnly(**base.storage_options, skip_instance_cache=True)
