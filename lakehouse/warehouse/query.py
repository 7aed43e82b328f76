"""A translated statement that yields a query's columns, which the warehouse types as BigQuery would."""

from __future__ import annotations


class Query(str):
    """A translated statement whose result is a query's columns: `head` (e.g. `CREATE TABLE t AS `, or
    nothing for a bare query) followed by `body`, the query. The warehouse casts the body's columns to
    BigQuery's types when it runs it (DuckDB types SUM of INT64 as HUGEINT, a literal as INTEGER,
    a Parquet decimal as DECIMAL(18, 2)); see duckdb.bigquery_typed."""

    head: str
    body: str

    @classmethod
    def of(cls, sql: str, body: str) -> str:
        if not sql.endswith(body):
            return sql
        query = cls(sql)
        query.head, query.body = sql[:len(sql) - len(body)], body
        return query
