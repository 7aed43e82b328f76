"""BigQuery SQL to DuckDB SQL: sqlglot plus the rewrites sqlglot does not do for us.

Every rewrite here exists because DuckDB would otherwise return a different answer or
reject the statement. Constructs we cannot translate faithfully raise UnsupportedSQL,
never a silently different result.
"""

from __future__ import annotations

import codecs
import re

import sqlglot
from sqlglot import exp


class UnsupportedSQL(ValueError):
    """BigQuery SQL that the DuckDB engine cannot run with the same meaning."""


def to_duckdb(sql: str) -> list[str]:
    """Transpile a BigQuery script (one or more statements) to DuckDB statements."""
    try:
        trees = sqlglot.parse(sql, read="bigquery")
    except sqlglot.errors.ParseError as error:
        raise UnsupportedSQL(f"cannot parse as BigQuery SQL: {error}") from None
    out = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, exp.Command):
            out.append(_command(tree))
        else:
            out.append(_generate(_rewrite(tree)))
    return out


def _generate(tree: exp.Expression) -> str:
    """DuckDB SQL, refusing what sqlglot would otherwise drop or approximate silently."""
    try:
        return tree.sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as error:
        raise UnsupportedSQL(
            f"no faithful DuckDB translation: {error} in: {tree.sql(dialect='bigquery')[:160]}") from None


def condition_to_duckdb(condition: str) -> str:
    """Transpile one BigQuery boolean expression (a WHERE clause body)."""
    try:
        tree = sqlglot.parse_one(condition, read="bigquery")
    except sqlglot.errors.ParseError as error:
        raise UnsupportedSQL(f"cannot parse condition {condition!r}: {error}") from None
    return _generate(_rewrite(tree))


def _rewrite(tree: exp.Expression) -> exp.Expression:
    return tree.transform(_node)


def _node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and node.args.get("catalog") is not None:
        # `project.dataset.table` -> `dataset.table`: datasets are schemas of one DuckDB file
        node = node.copy()
        node.set("catalog", None)
        return node
    if isinstance(node, exp.SafeFunc):
        # SAFE.f(x) returns NULL where f(x) raises: DuckDB's TRY() has that meaning
        return exp.Anonymous(this="TRY", expressions=[node.this])
    if isinstance(node, (exp.DateAdd, exp.DateSub)) and not isinstance(node.parent, exp.Cast):
        # BigQuery DATE_ADD/DATE_SUB return DATE; DuckDB's date +/- interval is a TIMESTAMP
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DATE"))
    return node


# -- BigQuery DDL that sqlglot keeps as an opaque command ------------------------------

_EXTERNAL = re.compile(
    r"^CREATE\s+(OR\s+REPLACE\s+)?EXTERNAL\s+TABLE\s+(?P<name>[`\w.\-]+)\s*"
    r"(?:\((?P<columns>[^()]*)\))?\s*"
    r"(?:WITH\s+PARTITION\s+COLUMNS\s*(?:\((?P<partitions>[^()]*)\))?)?\s*"
    r"OPTIONS\s*\((?P<options>.*)\)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_READERS = {"PARQUET": "read_parquet", "CSV": "read_csv", "NEWLINE_DELIMITED_JSON": "read_json"}
_KNOWN_OPTIONS = {"format", "uris", "hive_partition_uri_prefix", "field_delimiter", "quote",
                  "skip_leading_rows", "require_hive_partition_filter", "description"}


def _command(tree: exp.Command) -> str:
    text = f"{tree.this} {tree.expression.sql() if isinstance(tree.expression, exp.Expression) else tree.expression}"
    match = _EXTERNAL.match(text.strip())
    if not match:
        raise UnsupportedSQL(f"statement not supported on the local engine: {text.strip()[:120]}")
    return _external_table_view(match)


def _external_table_view(match: re.Match) -> str:
    """CREATE EXTERNAL TABLE -> a view over DuckDB's file readers, same columns, same files."""
    name = _table_name(match.group("name"))
    options = _options(match.group("options"))
    unknown = set(options) - _KNOWN_OPTIONS
    if unknown:
        raise UnsupportedSQL(f"external table {name}: option(s) {sorted(unknown)} not supported locally")
    fmt = str(options.get("format", "")).upper()
    if fmt not in _READERS:
        raise UnsupportedSQL(f"external table {name}: format {fmt or '(none)'} not supported locally")
    uris = options.get("uris") or []
    if not isinstance(uris, list) or not uris:
        raise UnsupportedSQL(f"external table {name}: OPTIONS(uris=[...]) is required")
    columns = _column_types(match.group("columns"))
    partitions = _column_types(match.group("partitions"))
    files = "[" + ", ".join(_sql_string(_glob(u)) for u in uris) + "]"
    args = [files]
    if partitions or "hive_partition_uri_prefix" in options:
        args.append("hive_partitioning = true")
        if partitions:
            args.append("hive_types = " + _struct(partitions))
    if fmt == "PARQUET":
        args.append("union_by_name = true")
    elif fmt == "CSV":
        if not columns:
            raise UnsupportedSQL(f"external table {name}: a CSV source needs its column list locally")
        args += [
            "columns = " + _struct(columns),
            "delim = " + _sql_string(options.get("field_delimiter", ",")),
            "quote = " + _sql_string(options.get("quote", '"')),
            "escape = " + _sql_string(options.get("quote", '"')),
            f"header = {'true' if int(options.get('skip_leading_rows', 0)) else 'false'}",
            "auto_detect = false",
        ]
    elif columns:
        args += ["format = 'newline_delimited'", "columns = " + _struct(columns)]
    return f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {_READERS[fmt]}({', '.join(args)})"


def _table_name(raw: str) -> str:
    parts = raw.replace("`", "").split(".")
    return ".".join(f'"{p}"' for p in parts[-2:])


def _glob(uri: str) -> str:
    """BigQuery's `*` matches across `/`; DuckDB's `**` does."""
    return re.sub(r"(?<!\*)\*$", "**", uri)


def _options(text: str) -> dict:
    try:
        select = sqlglot.parse_one(f"SELECT {text}", read="bigquery")
    except sqlglot.errors.ParseError as error:
        raise UnsupportedSQL(f"cannot read external table OPTIONS: {error}") from None
    found = {}
    for item in select.expressions:
        if not isinstance(item, exp.EQ):
            raise UnsupportedSQL(f"unexpected OPTIONS entry {item.sql()}")
        key = item.this.name.lower()
        found[key] = _literal(item.expression)
    return found


def _literal(node: exp.Expression):
    if isinstance(node, exp.Array):
        return [_literal(e) for e in node.expressions]
    if isinstance(node, exp.Literal):
        if node.is_string:
            return codecs.decode(node.this, "unicode_escape") if "\\" in node.this else node.this
        return node.this
    if isinstance(node, exp.Boolean):
        return node.this
    raise UnsupportedSQL(f"unsupported OPTIONS value {node.sql()}")


def _column_types(text: str | None) -> dict[str, str]:
    if not text or not text.strip():
        return {}
    ddl = sqlglot.parse_one(f"CREATE TABLE t ({text})", read="bigquery")
    return {
        col.name: col.args["kind"].sql(dialect="duckdb")
        for col in ddl.this.expressions
        if isinstance(col, exp.ColumnDef)
    }


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_string(k)}: {_sql_string(v)}" for k, v in columns.items()) + "}"


def _sql_string(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"
