"""JSONPath literals as GoogleSQL reads them, checked while parsing (sqlglot keeps no path text).

sqlglot turns a path literal into parts and forgives what GoogleSQL refuses: `a` and `$a` read as
`$.a`, `$["a"]` as `$.a`, `$..a` as a recursive descent DuckDB cannot write. GoogleSQL raises on
those at run time, so the translation refuses them; and DuckDB reads a negative subscript from
the end where GoogleSQL finds nothing, so that is refused too (tests/unit/lakehouse/warehouse/
test_semantics.py, checked against GoogleSQL's reference implementation).
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery

from lakehouse.warehouse import UnsupportedSQL

# `$`, then `.key` (no `.`, `[`, `]`, `"` or `$`), `."quoted key"` or `[index]`
_STEP = r'(?:\.[^.\[\]"$]+|\."[^"]*"|\[\s*-?[0-9]+\s*\])'
_PATH = re.compile(rf"\$(?:{_STEP})*")
_NEGATIVE = re.compile(r"\[\s*-")


def check(text: str) -> None:
    """Refuse a path GoogleSQL refuses, or reads otherwise than DuckDB."""
    if not _PATH.fullmatch(text):
        raise UnsupportedSQL(f"JSONPath {text!r} is not valid in GoogleSQL (it must start with '$', then "
                             "`.key`, `.\"quoted key\"` or `[index]`)")
    if _NEGATIVE.search(text):
        raise UnsupportedSQL(f"JSONPath {text!r}: a negative index finds nothing in GoogleSQL; DuckDB counts "
                             "it from the end")
    if re.search(r"\.\s|\s(?=\.|\[|$)", text.replace('"', "")):
        raise UnsupportedSQL(f"JSONPath {text!r}: a key with spaces around it is not translated; quote it")


class GoogleSQLPaths(BigQuery):
    """BigQuery as sqlglot reads it, with JSONPath literals checked as GoogleSQL reads them."""

    def to_json_path(self, path: exp.Expr | None) -> exp.Expr | None:
        if isinstance(path, exp.Literal) and path.is_string:
            check(path.name)
        return super().to_json_path(path)
