"""A MERGE that replaces whole rows, run on DuckDB as a DELETE and an INSERT in one transaction.

DuckDB's MERGE updates matched rows column by column: on a table of a million rows, merging
twelve thousand took 1.6 s against 0.2 s to delete them and insert them anew (bench/growth.py's
daily run grew with history because of it). When every matched row gets every column from the
source and every unmatched source row is inserted whole, as Dataform writes for an incremental
table with a uniqueKey, the result is the same: delete the target rows a source row matches,
insert every source row. One difference: BigQuery refuses a target row that two source rows
match; here both are inserted, and the table's uniqueKey assertion fails instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

STAGED = "_winterdays_merge_source"  # a temporary table: one per connection


@dataclass
class RowMerge:
    target: exp.Expr  # the table, without its alias
    source: exp.Expr  # the USING query
    keys: list[tuple[str, str]]  # (target column, source column) pairs of the ON clause
    columns: list[str]  # the target columns the INSERT names
    values: list[exp.Expr]  # what it inserts, reading the source as S


def row_merge(tree: exp.Merge) -> RowMerge | None:
    """The parts of a whole-row MERGE, or None when the MERGE does anything else."""
    target, using = tree.this, tree.args.get("using")
    if not isinstance(target, exp.Table) or not isinstance(using, exp.Subquery):
        return None
    t_alias, s_alias = target.alias_or_name, using.alias
    whens = tree.args.get("whens")
    whens = whens.expressions if whens is not None else []
    if len(whens) != 2 or not s_alias:
        return None
    update = next((w.args["then"] for w in whens if w.args.get("matched") and not w.args.get("source")), None)
    insert = next((w.args["then"] for w in whens if not w.args.get("matched") and not w.args.get("source")), None)
    if not isinstance(update, exp.Update) or not isinstance(insert, exp.Insert) or any(
            w.args.get("condition") for w in whens):
        return None
    columns = [c.name for c in insert.this.expressions]
    values = list(insert.expression.expressions)
    if not all(_reads(v, s_alias) for v in values):
        return None
    updated = {a.this.name: a.expression for a in update.expressions if isinstance(a, exp.EQ)}
    if set(updated) != set(columns) or any(
            not _reads(updated[c], s_alias) or updated[c].name != v.name for c, v in zip(columns, values, strict=True)):
        return None
    keys = _equalities(tree.args.get("on"), t_alias, s_alias)
    if not keys:
        return None
    plain = target.copy()
    plain.set("alias", None)
    return RowMerge(plain, using.this, keys, columns, values)


def delete_insert(merge: RowMerge, generate: Callable[[exp.Expr], str]) -> list[str]:
    """The DuckDB statements; the INSERT's count is the MERGE's (every source row)."""
    target = generate(merge.target)
    keys = " AND ".join(f'{target}."{t}" = S."{s}"' for t, s in merge.keys)
    names = ", ".join(f'"{c}"' for c in merge.columns)
    values = ", ".join(generate(v) for v in merge.values)
    return [
        "BEGIN TRANSACTION",
        f"CREATE OR REPLACE TEMP TABLE {STAGED} AS {generate(merge.source)}",
        f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {STAGED} AS S WHERE {keys})",
        f"INSERT INTO {target} ({names}) SELECT {values} FROM {STAGED} AS S",
        "COMMIT",
    ]


def _reads(node: exp.Expr | None, alias: str) -> bool:
    return isinstance(node, exp.Column) and node.table == alias


def _equalities(on: exp.Expr | None, t_alias: str, s_alias: str) -> list[tuple[str, str]]:
    """T.a = S.b AND ... as [(a, b), ...]; [] if the condition is anything else."""
    parts = list(on.flatten()) if isinstance(on, exp.And) else [on]
    keys = []
    for part in parts:
        if not isinstance(part, exp.EQ):
            return []
        left, right = part.this, part.expression
        if _reads(left, s_alias) and _reads(right, t_alias):
            left, right = right, left
        if not (_reads(left, t_alias) and _reads(right, s_alias)):
            return []
        keys.append((left.name, right.name))
    return keys
