"""Run compiled Dataform actions on the DuckDB warehouse, writing the DDL/DML Dataform writes.

The compiled graph holds only SELECTs (and operations' own statements); like Dataform
at run time, we wrap them: CREATE OR REPLACE TABLE/VIEW, MERGE on the uniqueKey (or
INSERT) for incremental tables, pre/post operations, and assertions that fail their
action when they return rows. Each action runs as one BigQuery script (its pre-operations'
DECLAREs reach the main statement), transpiled whole before any of it runs. An action that
fails names its SQLX file, and its dependents are skipped while independent branches go
on, as in Dataform. Independent actions run concurrently, each worker on its own DuckDB
connection.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.transform import ActionState
from lakehouse.transform.actions import Action
from lakehouse.warehouse import ScriptWarehouse, UnsupportedSQL, Warehouse, WarehouseError

log = logging.getLogger(__name__)
ASSERTION_SAMPLE = 5


@dataclass
class ActionResult:
    target: str
    kind: str
    file: str
    state: ActionState
    duration_s: float = 0.0
    rows: int | None = None
    error: str | None = None
    sample: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Results(dict[str, ActionResult]):
    """Results by target; each one set is reported, numbered in the order the actions end."""

    def __init__(self, total: int, on_result: Callable[[ActionResult, int, int], None] | None):
        super().__init__()
        self.total, self.on_result = total, on_result

    def __setitem__(self, key: str, result: ActionResult) -> None:
        super().__setitem__(key, result)
        if self.on_result:
            self.on_result(result, len(self), self.total)


def _quote(key: str) -> str:
    return "`" + "`.`".join(key.split(".")) + "`"


def _body(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def default_workers() -> int:
    """DuckDB already spreads one statement over every core; running actions side by side only
    pays when there are cores to spare (bench/transform.py measured no gain on 2 cores)."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class Executor:
    def __init__(self, warehouse: ScriptWarehouse, workers: int | None = None):
        self.warehouse = warehouse
        self.workers = workers or default_workers()

    def run(self, actions: dict[str, Action], keys: list[str], full_refresh: bool = False,
            on_result: Callable[[ActionResult, int, int], None] | None = None) -> list[ActionResult]:
        """Run `keys` (in dependency order); one result per non-declaration action, in that order.
        `on_result(result, n, total)` hears of each action as it ends, the nth to end of `total`."""
        runnable = [k for k in keys if actions[k].kind != "declaration"]
        for dataset in sorted({actions[k].dataset for k in runnable}):
            self.warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS `{dataset}`")
        results = _Results(len(runnable), on_result)
        if self.workers == 1:
            for key in runnable:
                results[key] = self._settle(actions[key], results, full_refresh, self.warehouse)
        else:
            self._run_concurrently(actions, runnable, full_refresh, results)
        return [results[k] for k in runnable]

    def _run_concurrently(self, actions: dict[str, Action], runnable: list[str], full_refresh: bool,
                          results: _Results) -> None:
        selected = set(runnable)
        waiting = {k: {d for d in actions[k].dependencies if d in selected} for k in runnable}
        connections = [self.warehouse.worker() for _ in range(self.workers)]
        free = list(connections)
        running: dict[Future[ActionResult], tuple[str, ScriptWarehouse]] = {}
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="dataform") as pool:
                while waiting or running:
                    ready = [k for k in runnable if k in waiting and not (waiting[k] - results.keys())]
                    for key in ready:
                        if not free:
                            break
                        del waiting[key]
                        connection = free.pop()
                        future = pool.submit(self._settle, actions[key], results, full_refresh, connection)
                        running[future] = (key, connection)
                    if not running:  # nothing can start: a dependency outside the plan never finishes
                        raise RuntimeError(f"actions {sorted(waiting)} wait on dependencies that never ran")
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        key, connection = running.pop(future)
                        results[key] = future.result()
                        free.append(connection)
        finally:
            for connection in connections:
                connection.close()

    def _settle(self, action: Action, results: dict[str, ActionResult], full_refresh: bool,
                warehouse: ScriptWarehouse) -> ActionResult:
        """Run one action unless a dependency did not succeed (then it is skipped)."""
        blocked = [d for d in action.dependencies
                   if d in results and results[d].state not in (ActionState.SUCCEEDED, ActionState.DISABLED)]
        if blocked:
            return ActionResult(action.key, action.kind, action.file, ActionState.SKIPPED,
                                error=f"dependency {blocked[0]} did not succeed")
        if action.disabled:
            return ActionResult(action.key, action.kind, action.file, ActionState.DISABLED)
        result = self._run_one(action, full_refresh, warehouse)
        log.info("dataform action %s", result.state.lower(),
                 extra={"target": action.key, "duration_s": round(result.duration_s, 3), "rows": result.rows})
        return result

    def _run_one(self, action: Action, full_refresh: bool, warehouse: ScriptWarehouse) -> ActionResult:
        started = time.perf_counter()
        result = ActionResult(action.key, action.kind, action.file, ActionState.SUCCEEDED)
        try:
            if action.kind == "assertion":
                self._assert(action, result, warehouse)
            else:
                result.rows = self._materialise(action, full_refresh, warehouse)
        except (WarehouseError, UnsupportedSQL, ValueError) as error:
            result.state = ActionState.FAILED
            result.error = f"{action.file}: {error}"
        result.duration_s = time.perf_counter() - started
        return result

    def _materialise(self, action: Action, full_refresh: bool, wh: ScriptWarehouse) -> int | None:
        """Run the action's script; rows affected by its main statement."""
        statements, main = self.script(action, full_refresh, wh)
        counts = wh.run_script(statements)
        count = counts[-1] if action.kind == "operations" and counts else counts[main] if counts else -1
        return None if action.kind == "view" or count < 0 else count  # DuckDB says -1 for "no count"

    def script(self, action: Action, full_refresh: bool, wh: Warehouse) -> tuple[list[str], int]:
        """The BigQuery statements Dataform runs for a table, view, incremental or operations action,
        and the index of the main one. `wh` tells whether an incremental table exists yet."""
        target = _quote(action.key)
        if action.kind == "operations":
            queries = [q for q in action.queries if q.strip()]
            return queries, len(queries) - 1
        pre, post = action.pre_ops, action.post_ops
        if action.kind == "view":
            main = f"CREATE OR REPLACE VIEW {target} AS\n{_body(action.query)}"
        elif action.kind == "incremental" and wh.table_exists(action.dataset, action.name) and (
                not full_refresh or action.protected):
            pre, post = action.incremental_pre_ops, action.incremental_post_ops
            main = self._incremental_statement(action, wh.columns(action.dataset, action.name))
        elif action.kind in ("table", "incremental"):
            main = f"CREATE OR REPLACE TABLE {target} AS\n{_body(action.query)}"
        else:
            raise ValueError(f"unsupported action type {action.kind!r}")
        before = [s for s in pre if s.strip()]
        return before + [main] + [s for s in post if s.strip()], len(before)

    @staticmethod
    def _incremental_statement(action: Action, columns: list[str]) -> str:
        """What Dataform writes for an incremental run: MERGE on the uniqueKey, else INSERT."""
        names = ", ".join(f"`{c}`" for c in columns)
        source = _body(action.incremental_query)
        if not action.unique_key:
            return f"INSERT INTO {_quote(action.key)} ({names})\nSELECT {names} FROM (\n{source}\n)"
        on = " AND ".join(f"T.`{k}` = S.`{k}`" for k in action.unique_key)
        updates = ", ".join(f"`{c}` = S.`{c}`" for c in columns)
        values = ", ".join(f"S.`{c}`" for c in columns)
        return (
            f"MERGE {_quote(action.key)} T\nUSING (\n{source}\n) S\nON {on}\n"
            f"WHEN MATCHED THEN UPDATE SET {updates}\n"
            f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
        )

    @staticmethod
    def assertion_script(action: Action) -> list[str]:
        """As Dataform does: the assertion query becomes a view, then its rows are counted."""
        view = _quote(action.key)
        return [*[s for s in action.pre_ops if s.strip()], f"CREATE OR REPLACE VIEW {view} AS\n{_body(action.query)}",
                f"SELECT COUNT(*) AS n FROM {view}"]

    def _assert(self, action: Action, result: ActionResult, wh: ScriptWarehouse) -> None:
        """Any row in the assertion's view fails the action, with a sample of the rows."""
        *setup, count_rows = self.assertion_script(action)
        view = _quote(action.key)
        wh.run_script(setup)
        (count,) = wh.query(count_rows)
        result.rows = int(count["n"])
        if result.rows:
            result.sample = wh.query(f"SELECT * FROM {view} LIMIT {ASSERTION_SAMPLE}")
            result.state = ActionState.FAILED
            result.error = (
                f"{action.file}: assertion {action.key} failed: {result.rows} offending row(s); "
                f"sample: {json.dumps(result.sample, default=str)}"
            )
