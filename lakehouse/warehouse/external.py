"""CREATE EXTERNAL TABLE (BigQuery DDL that sqlglot keeps as an opaque command) -> a DuckDB view.

The view reads the same files with the same columns: Parquet with its own schema, CSV
(how the project reads JSONL lines raw) with the declared columns, hive partition columns
with their declared types.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import sqlglot
from sqlglot import exp

from lakehouse.warehouse import UnsupportedSQL
from lakehouse.warehouse.query import Query

_EXTERNAL = re.compile(
    r"^CREATE\s+(OR\s+REPLACE\s+)?EXTERNAL\s+TABLE\s+(?P<name>[`\w.\-]+)\s*"
    r"(?:\((?P<columns>[^()]*)\))?\s*"
    r"(?:WITH\s+PARTITION\s+COLUMNS\s*(?:\((?P<partitions>[^()]*)\))?)?\s*"
    r"OPTIONS\s*\((?P<options>.*)\)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_READERS = {"PARQUET": "read_parquet", "CSV": "read_csv", "NEWLINE_DELIMITED_JSON": "read_json"}
CSV_MAX_ROW_BYTES = 100 * 1024 * 1024  # BigQuery's limit on a CSV row; DuckDB's default, 2 MB, failed the read
_KNOWN_OPTIONS = {"format", "uris", "hive_partition_uri_prefix", "field_delimiter", "quote",
                  "skip_leading_rows", "require_hive_partition_filter", "description",
                  "ignore_unknown_values"}


def command_to_duckdb(tree: exp.Command) -> str:
    text = f"{tree.this} {tree.expression.sql() if isinstance(tree.expression, exp.Expression) else tree.expression}"
    match = _EXTERNAL.match(text.strip())
    if not match:
        raise UnsupportedSQL(f"statement not supported on the local engine: {text.strip()[:120]}")
    return _external_table_view(match)


def _external_table_view(match: re.Match[str]) -> str:
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
            f"max_line_size = {CSV_MAX_ROW_BYTES}",
        ]
        if options.get("ignore_unknown_values") is True:
            # BigQuery then drops a line's extra values; DuckDB's lenient mode does the same (and
            # takes a file whose line endings mix \n and \r\n, as BigQuery does).
            args.append("strict_mode = false")
    elif columns:
        args += ["format = 'newline_delimited'", "columns = " + _struct(columns)]
    body = f"SELECT * FROM {_READERS[fmt]}({', '.join(args)})"
    return Query.of(f"CREATE OR REPLACE VIEW {name} AS {body}", body)


def _table_name(raw: str) -> str:
    parts = raw.replace("`", "").split(".")
    return ".".join(f'"{p}"' for p in parts[-2:])


def _glob(uri: str) -> str:
    """BigQuery's `*` matches across `/`; DuckDB's `**` does."""
    return re.sub(r"(?<!\*)\*$", "**", uri)


def _options(text: str) -> dict[str, Any]:
    try:
        select = sqlglot.parse_one(f"SELECT {text}", read="bigquery")
    except sqlglot.errors.ParseError as error:
        raise UnsupportedSQL(f"cannot read external table OPTIONS: {error}") from None
    found = {}
    for item in select.expressions:
        if not isinstance(item, exp.EQ):
            raise UnsupportedSQL(f"unexpected OPTIONS entry {item.sql()}")
        found[item.this.name.lower()] = _literal(item.expression)
    return found


def _literal(node: exp.Expr) -> Any:
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


def _sql_string(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"
