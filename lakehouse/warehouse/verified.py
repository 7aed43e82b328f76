"""The BigQuery functions whose translation is verified against GoogleSQL's reference implementation:
the seeded expression generator (tests/support/generated_expressions.py) or the semantic battery
(tests/unit/lakehouse/warehouse/test_semantics.py) covers each. Any other function is refused when
translating (UnsupportedSQL naming it), never answered by a DuckDB namesake that may differ.
tests/unit/lakehouse/warehouse/test_verified_functions.py keeps this list and those checks in step."""

from __future__ import annotations

from sqlglot import exp

from lakehouse.warehouse import UnsupportedSQL

# sqlglot's expression classes (what BigQuery's function names parse to)
VERIFIED = frozenset({
    "Abs", "And", "AnyValue", "ArgMax", "ArgMin", "Array", "ArrayAgg", "ArrayConcat", "ArraySize",
    "ArrayToString", "Avg", "ByteLength", "Case", "Cast", "Coalesce", "Concat", "Count", "CountIf", "Date",
    "DateAdd", "DateDiff", "DateFromParts", "DateSub", "DateTrunc", "Datetime", "Extract", "FarmFingerprint",
    "Floor", "Format", "GenerateDateArray", "Greatest", "GroupConcat", "If", "Initcap", "JSONExtractScalar",
    "JSONFormat", "LastDay", "Lead", "Least", "Length", "Ln", "LogicalOr", "Lower", "LowerHex", "Max", "Min",
    "Nullif", "Or", "Pad", "ParseJSON", "PercentRank", "PercentileCont", "Pow", "RegexpExtract", "RegexpLike",
    "RegexpReplace", "Repeat", "Replace", "Round", "RowNumber", "SHA2Digest", "SafeDivide", "SafeFunc", "Sign",
    "Split", "Sqrt", "StartsWith", "StrPosition", "StrToDate", "StrToTime", "Struct", "Substring", "Sum",
    "TimeToStr", "Timestamp", "TimestampAdd", "TimestampDiff", "TimestampSub", "TimestampTrunc", "Trim",
    "TryCast", "TsOrDsToDate", "TsOrDsToTimestamp", "UnixMillis", "UnixSeconds", "UnixToTime", "Unnest", "Upper",
    "WeekStart",
})
# functions sqlglot does not know, passed to DuckDB by name
VERIFIED_BY_NAME = frozenset({"IEEE_DIVIDE"})
# Used by the platform's own SQL (not the SQLX) and checked by its tests, not yet by the generator.
PLATFORM = frozenset({
    "GETVARIABLE",  # dialect.py's translation of a DECLAREd variable
    "Typeof",  # DuckDB's typeof, which the parity harness asks (tests/support/generated_expressions.py)
})


def name(node: exp.Func) -> str:
    """The key of a function in the lists: sqlglot's class, qualified where one class stands for several
    BigQuery functions (TIMESTAMP_SECONDS/MILLIS/MICROS are one class with a scale)."""
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is not None:
        return f"UnixToTime/{node.args['scale'].name}"
    return type(node).__name__


def check(node: exp.Expr) -> None:
    """Refuse a function whose translation is not verified (call it on the BigQuery tree, before rewriting)."""
    if not isinstance(node, exp.Func):
        return
    if name(node) in VERIFIED | VERIFIED_BY_NAME | PLATFORM:
        return
    raise UnsupportedSQL(f"{node.sql('bigquery')[:80]}: this function's translation is not verified against "
                         "GoogleSQL's reference implementation (lakehouse/warehouse/verified.py)")
