"""Run compiled Dataform actions on the DuckDB warehouse, writing the DDL/DML Dataform writes.

The compiled graph holds only SELECTs (and operations' own statements); like Dataform
at run time, we wrap them: CREATE OR REPLACE TABLE/VIEW, MERGE on the uniqueKey (or
INSERT) for incremental tables, pre/post operations, and assertions that fail their
action when they return rows. Every statement is BigQuery SQL transpiled by the
warehouse adapter; an action that fails names its SQLX file, and its dependents are
skipped while independent branches go on, as in Dataform.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from lakehouse.warehouse import WarehouseError
from lakehouse.warehouse.dialect import UnsupportedSQL
from orchestrator.transform.actions import Action

log = logging.getLogger(__name__)
ASSERTION_SAMPLE = 5


@dataclass
class ActionResult:
    target: str
    kind: str
    file: str
    state: str  # SUCCEEDED | FAILED | SKIPPED | DISABLED
    duration_s: float = 0.0
    rows: int | None = None
    error: str | None = None
    sample: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _quote(key: str) -> str:
    return "`" + "`.`".join(key.split(".")) + "`"


def _body(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


class Executor:
    def __init__(self, warehouse):
        self.warehouse = warehouse

    def run(self, actions: dict[str, Action], keys: list[str], full_refresh: bool = False) -> list[ActionResult]:
        results: list[ActionResult] = []
        broken: dict[str, str] = {}  # key -> why it did not succeed
        for key in keys:
            action = actions[key]
            if action.kind == "declaration":
                continue
            blocked = [d for d in action.dependencies if d in broken]
            if blocked:
                results.append(ActionResult(key, action.kind, action.file, "SKIPPED",
                                            error=f"dependency {blocked[0]} did not succeed"))
                broken[key] = "skipped"
                continue
            if action.disabled:
                results.append(ActionResult(key, action.kind, action.file, "DISABLED"))
                continue
            result = self._run_one(action, full_refresh)
            results.append(result)
            if result.state != "SUCCEEDED":
                broken[key] = result.state
            log.info("dataform action %s", result.state.lower(),
                     extra={"target": key, "duration_s": round(result.duration_s, 3), "rows": result.rows})
        return results

    def _run_one(self, action: Action, full_refresh: bool) -> ActionResult:
        started = time.perf_counter()
        result = ActionResult(action.key, action.kind, action.file, "SUCCEEDED")
        try:
            self.warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS `{action.dataset}`")
            if action.kind == "assertion":
                self._assert(action, result)
            else:
                result.rows = self._materialise(action, full_refresh)
        except (WarehouseError, UnsupportedSQL, ValueError) as error:
            result.state = "FAILED"
            result.error = f"{action.file}: {error}"
        result.duration_s = time.perf_counter() - started
        return result

    def _materialise(self, action: Action, full_refresh: bool) -> int | None:
        wh, target = self.warehouse, _quote(action.key)
        if action.kind == "operations":
            rows = None
            for statement in action.queries:
                if statement.strip():
                    rows = wh.execute(statement)
            return rows
        if action.kind == "view":
            self._each(action.pre_ops)
            wh.execute(f"CREATE OR REPLACE VIEW {target} AS\n{_body(action.query)}")
            self._each(action.post_ops)
            return None
        if action.kind == "incremental" and not full_refresh and wh.table_exists(action.dataset, action.name):
            self._each(action.incremental_pre_ops)
            rows = wh.execute(self._incremental_statement(action))
            self._each(action.incremental_post_ops)
            return rows
        if action.kind not in ("table", "incremental"):
            raise ValueError(f"unsupported action type {action.kind!r}")
        self._each(action.pre_ops)
        rows = wh.execute(f"CREATE OR REPLACE TABLE {target} AS\n{_body(action.query)}")
        self._each(action.post_ops)
        return rows

    def _incremental_statement(self, action: Action) -> str:
        columns = self._columns(action)
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

    def _columns(self, action: Action) -> list[str]:
        return self.warehouse.columns(action.dataset, action.name)

    def _assert(self, action: Action, result: ActionResult) -> None:
        view = _quote(action.key)
        self.warehouse.execute(f"CREATE OR REPLACE VIEW {view} AS\n{_body(action.query)}")
        (count,) = self.warehouse.query(f"SELECT COUNT(*) AS n FROM {view}")
        result.rows = int(count["n"])
        if result.rows:
            result.sample = self.warehouse.query(f"SELECT * FROM {view} LIMIT {ASSERTION_SAMPLE}")
            result.state = "FAILED"
            result.error = (
                f"{action.file}: assertion {action.key} failed: {result.rows} offending row(s); "
                f"sample: {result.sample}"
            )

    def _each(self, statements: tuple[str, ...]) -> None:
        for statement in statements:
            if statement.strip():
                self.warehouse.execute(statement)
