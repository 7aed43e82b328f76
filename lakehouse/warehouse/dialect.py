"""BigQuery SQL to DuckDB SQL: sqlglot plus the rewrites sqlglot does not do for us.

Every rewrite (rewrites.py, functions.py, floats.py, time_formats.py, json_path.py, external.py) exists
because DuckDB would otherwise return a different answer or reject the statement. Constructs we cannot
translate faithfully raise UnsupportedSQL, never a silently different result.

A Script is one BigQuery script: its statements share the variables that DECLARE makes,
as Dataform's pre-operations, main statement and post-operations do in BigQuery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

import sqlglot
from sqlglot import exp

from lakehouse.warehouse import UnsupportedSQL, verified
from lakehouse.warehouse.external import command_to_duckdb
from lakehouse.warehouse.json_path import GoogleSQLPaths
from lakehouse.warehouse.merge import delete_insert, row_merge
from lakehouse.warehouse.query import Query
from lakehouse.warehouse.rewrites import rewrite

__all__ = ["Query", "Script", "UnsupportedSQL", "condition_to_duckdb", "to_duckdb"]
# sqlglot warns when it keeps a statement as an opaque Command; we handle those (external.py) or refuse them
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def _statement(tree: exp.Expr) -> str:
    sql = _generate(tree)
    if isinstance(tree, exp.Query):
        return Query.of(sql, sql)
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query) and \
            tree.args.get("kind", "").upper() in ("TABLE", "VIEW"):
        return Query.of(sql, _generate(tree.expression))
    return sql


class Script:
    """Translates the statements of one script, carrying its DECLAREd variables along.

    `columns_of(dataset, table)` lets the script refuse a variable that shares its name
    with a column of a table the statement reads (BigQuery would read the column).
    """

    def __init__(self, columns_of: Callable[[str, str], list[str]] | None = None):
        self.variables: set[str] = set()
        self.columns_of = columns_of

    def translate(self, sql: str) -> list[str]:
        try:
            trees = sqlglot.parse(sql, read=GoogleSQLPaths)
        except sqlglot.errors.ParseError as error:
            raise UnsupportedSQL(f"cannot parse as BigQuery SQL: {error}") from None
        out = []
        for tree in trees:
            if tree is None:
                continue
            if isinstance(tree, exp.Command):
                out.append(command_to_duckdb(tree))
            elif isinstance(tree, exp.Declare):
                out += self._declare(tree)
            elif isinstance(tree, exp.Set):
                out += self._set(tree)
            elif isinstance(tree, exp.Merge) and (whole_rows := row_merge(tree)):
                whole_rows.target = self._rewrite(whole_rows.target)
                whole_rows.source = self._rewrite(whole_rows.source)
                whole_rows.values = [self._rewrite(v) for v in whole_rows.values]
                out += delete_insert(whole_rows, _generate)
            else:
                out.append(_statement(self._rewrite(tree)))
        return out

    def _declare(self, tree: exp.Declare) -> list[str]:
        statements = []
        for item in tree.expressions:
            names = item.this if isinstance(item.this, list) else [item.this]
            kind = item.args.get("kind")
            default = item.args.get("default") or exp.Null()
            value = self._rewrite(default)
            if kind is not None:
                value = exp.Cast(this=value, to=rewrite(kind.copy()))
            for name in names:
                self.variables.add(name.name.lower())
                statements.append(f"SET VARIABLE {name.name.lower()} = {_generate(value)}")
        return statements

    def _set(self, tree: exp.Set) -> list[str]:
        statements = []
        for item in tree.expressions:
            assignment = item.this
            if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
                raise UnsupportedSQL(
                    f"SET {assignment.sql('bigquery')[:80]}: only SET variable = expression is supported")
            name = assignment.this.name.lower()
            if name not in self.variables:
                raise UnsupportedSQL(f"SET {name}: the variable was not DECLAREd in this script")
            statements.append(f"SET VARIABLE {name} = {_generate(self._rewrite(assignment.expression))}")
        return statements

    def _rewrite(self, tree: exp.Expr) -> exp.Expr:
        if self.variables:
            tree = self._bind_variables(tree)
        return rewrite_tree(tree)

    def _bind_variables(self, tree: exp.Expr) -> exp.Expr:
        used = {c.name.lower() for c in tree.find_all(exp.Column) if not c.table and c.name.lower() in self.variables}
        if not used:
            return tree
        shadowed = used & self._names_in_scope(tree)
        if shadowed:
            raise UnsupportedSQL(f"variable(s) {sorted(shadowed)} share a name with a column the statement reads; "
                                 "BigQuery would read the column: rename the variable")
        for column in list(tree.find_all(exp.Column)):
            if not column.table and column.name.lower() in used:
                column.replace(exp.Anonymous(this="getvariable", expressions=[exp.Literal.string(column.name.lower())]))
        return tree

    def _names_in_scope(self, tree: exp.Expr) -> set[str]:
        names = {a.alias.lower() for a in tree.find_all(exp.Alias)}
        names |= {c.name.lower() for alias in tree.find_all(exp.TableAlias) for c in alias.columns}
        if self.columns_of:
            for table in tree.find_all(exp.Table):
                if table.db:
                    names |= {c.lower() for c in self.columns_of(table.db, table.name)}
        return names


def to_duckdb(sql: str) -> list[str]:
    """Transpile a BigQuery script (one or more statements) to DuckDB statements."""
    return Script().translate(sql)


def condition_to_duckdb(condition: str) -> str:
    """Transpile one BigQuery boolean expression (a WHERE clause body)."""
    try:
        tree = sqlglot.parse_one(condition, read=GoogleSQLPaths)
    except sqlglot.errors.ParseError as error:
        raise UnsupportedSQL(f"cannot parse condition {condition!r}: {error}") from None
    return _generate(rewrite_tree(tree))


def rewrite_tree(tree: exp.Expr) -> exp.Expr:
    """Apply the rewrites children first, so each sees its already-translated arguments."""
    nodes = list(tree.dfs())
    root = tree
    for node in nodes:
        verified.check(node)
    for node in reversed(nodes):
        parent, key, index = node.parent, node.arg_key, node.index
        new = _safe(node) if isinstance(node, exp.SafeFunc) else rewrite(node)
        if new is node:
            continue
        if node is root:
            root = new
        else:  # the rewrite may have wrapped the node, so place it through the saved parent (a node
            # below the root has one, and a key in it)
            cast(exp.Expr, parent).set(cast(str, key), new, index)
    return root


def _safe(node: exp.SafeFunc) -> exp.Expr:
    # SAFE.f(x) returns NULL where f(x) raises: DuckDB's TRY() has that meaning, but refuses the volatile
    # error() of the rewrites' guards (SAFE.POW(2, 3) failed to bind), so under SAFE a guard answers NULL
    inner = node.this.transform(lambda n: exp.Null() if _raises(n) else n)
    return exp.Anonymous(this="TRY", expressions=[inner])


def _raises(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "error"


def _generate(tree: exp.Expr) -> str:
    """DuckDB SQL, refusing what sqlglot would otherwise drop or approximate silently."""
    try:
        return tree.sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as error:
        raise UnsupportedSQL(
            f"no faithful DuckDB translation: {error} in: {tree.sql(dialect='bigquery')[:160]}") from None
