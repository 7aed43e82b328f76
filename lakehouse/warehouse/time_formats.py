"""Time as text: format strings (FORMAT_DATE/TIMESTAMP/DATETIME, PARSE_DATE/TIMESTAMP and FORMAT,
element by element) and the canonical text CAST reads as a TIMESTAMP.

A BigQuery format element becomes DuckDB's only where both write (or read) the same text; any
other element is refused (UnsupportedSQL), never translated to a near miss. Part of the node
rewrites of rewrites.py, which merges HANDLERS into its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from lakehouse.warehouse import UnsupportedSQL
from lakehouse.warehouse.fidelity import unpadded_years

# BigQuery format elements with the same meaning in DuckDB's strftime/strptime.
FORMAT_ELEMENTS = {
    "%Y": "%Y", "%m": "%m", "%d": "%d", "%H": "%H", "%M": "%M", "%S": "%S", "%j": "%j",
    "%A": "%A", "%a": "%a", "%B": "%B", "%b": "%b", "%h": "%b", "%p": "%p", "%I": "%I",
    "%y": "%y", "%w": "%w", "%U": "%U", "%W": "%W", "%F": "%Y-%m-%d", "%T": "%H:%M:%S",
    "%D": "%m/%d/%y", "%R": "%H:%M", "%%": "%%", "%E3S": "%S.%g", "%E6S": "%S.%f",
}
# Parsing only: %e (sqlglot hands it over as %-d) reads like %d; %z reads +HHMM. Formatting them
# differs (%e pads with a space), so FORMAT_* refuses them. sqlglot has already expanded %F, %T,
# %D, %x, %c and %E6S into the elements above.
PARSE_ONLY_ELEMENTS = {"%e": "%d", "%-d": "%d", "%z": "%z"}
_TIME_ELEMENT = re.compile(r"%[HMSIp]")  # after sqlglot's expansion of %T, %R and %E*S
_ELEMENT = re.compile(r"%(?:E\d|E\*|E|-)?.")

def _format_time(node: exp.TimeToStr) -> exp.Expr:
    """FORMAT_DATE/FORMAT_TIMESTAMP/FORMAT_DATETIME -> strftime, element by element. A DATE has no time:
    GoogleSQL writes a time element of FORMAT_DATE as it stands ('%H'), strftime writes midnight."""
    fmt = _duckdb_format(node.args["format"], FORMAT_ELEMENTS)
    if isinstance(node.this, exp.TsOrDsToDate) and _TIME_ELEMENT.search(fmt):
        raise UnsupportedSQL(f"FORMAT_DATE with a time element ({node.args['format'].name!r}): GoogleSQL writes it "
                             "as it stands, DuckDB writes midnight")
    value = node.this
    zone = node.args.get("zone")
    if zone is not None:  # the instant's wall clock in that zone
        if isinstance(value, exp.TsOrDsToTimestamp):
            value = value.this
        instant = exp.Cast(this=value, to=exp.DataType.build("TIMESTAMPTZ"))
        value = exp.Anonymous(this="timezone", expressions=[zone, instant])
    return unpadded_years(value, fmt)


def _parse_time(node: exp.Expr) -> exp.Expr:
    """PARSE_TIMESTAMP/PARSE_DATE: strptime, with BigQuery's default zone (UTC) or the given one."""
    raw = node.args["format"]
    fmt = _duckdb_format(raw, {**FORMAT_ELEMENTS, **PARSE_ONLY_ELEMENTS})
    if not re.search(r"%[YyFD]", raw.name):
        raise UnsupportedSQL(f"parse format {raw.name!r} has no year; BigQuery's default (1970) is not DuckDB's")
    parsed = exp.Anonymous(this="strptime", expressions=[node.this, exp.Literal.string(fmt)])
    if isinstance(node, exp.StrToDate):
        return exp.Cast(this=parsed, to=exp.DataType.build("DATE"))
    if "%z" in fmt:  # the offset in the text wins over any zone argument
        return parsed
    zone = node.args.get("zone") or exp.Literal.string("UTC")
    return exp.Anonymous(this="timezone", expressions=[zone, parsed])


def _duckdb_format(literal: exp.Expr, elements: dict[str, str]) -> str:
    if not isinstance(literal, exp.Literal) or not literal.is_string:
        raise UnsupportedSQL("a format string must be a literal to be translated element by element")
    out, text = [], literal.name
    pos = 0
    for match in _ELEMENT.finditer(text):
        out.append(text[pos:match.start()])
        element = match.group(0)
        if element not in elements:
            raise UnsupportedSQL(f"format element {element} has no DuckDB equivalent with the same output")
        out.append(elements[element])
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _format(node: exp.Format) -> exp.Expr:
    """FORMAT('%d %s', ...) -> printf for the elements whose output is the same."""
    fmt = node.this
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        raise UnsupportedSQL("FORMAT needs a literal format string")
    for element in re.findall(r"%[^a-zA-Z%]*[a-zA-Z%]", fmt.name):
        if not re.fullmatch(r"%(%|0?\d*[di]|s|(\.\d+)?f)", element):
            raise UnsupportedSQL(f"FORMAT element {element} is not translated (supported: %d %i %0Nd %s %f %.Nf %%)")
    return exp.Anonymous(this="printf", expressions=[fmt, *node.expressions])


# The canonical timestamp text GoogleSQL's CAST reads (checked against its reference implementation):
# a 4-digit year, an optional time with seconds (a leap second 60 is the next minute) after one T or
# space, and an optional zone right after it (Z, an offset up to 14:00 whose hour may be one digit) or
# after one space (UTC, a region/city name). No space anywhere else; DuckDB is laxer on each point.
_LEAP_SECOND = r":60(\.[0-9]+)?"  # seconds 60, read as :59 plus one second
_OFFSET = r"[+-](?:0?[0-9]|1[0-3])(?::?[0-5][0-9])?|[+-]14(?::?00)?"
_ZONE_NAME = rf" (?:UTC(?:{_OFFSET})?|[A-Za-z_]+(?:/[A-Za-z_\-]+)+)"
TIMESTAMP_TEXT = (r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                  r"(?:[Tt ](?:[01]?[0-9]|2[0-3]):[0-5]?[0-9]:(?:[0-5]?[0-9]|60)(?:\.[0-9]+)?)?"
                  rf"(?:[Zz]|{_OFFSET}|{_ZONE_NAME})?")


def timestamp_from_text(text: exp.Expr, cast: type[exp.Cast]) -> exp.Expr:
    """Canonical timestamp text (TIMESTAMP_TEXT) as DuckDB reads it the same: a space for the T, +00 for
    Z, an offset for UTC+H, a two-digit offset hour, at most 6 fraction digits (GoogleSQL drops the
    rest), and a leap second read as :59 plus one second."""
    normal = text
    for pattern, replacement in ((r"^([0-9-]+)[Tt]", r"\1 "), (r"([0-9])[Zz]$", r"\1+00"), (r" UTC([+-])", r"\1"),
                                 (r"([+-])([0-9])(:[0-9]{2})?$", r"\10\2\3"), (r"(\.[0-9]{6})[0-9]+", r"\1"),
                                 (_LEAP_SECOND, r":59\1")):
        normal = exp.Anonymous(this="regexp_replace", expressions=[normal, exp.Literal.string(pattern),
                                                                    exp.Literal.string(replacement)])
    instant = cast(this=normal, to=exp.DataType.build("TIMESTAMPTZ"))
    leap_second = exp.Literal.string(_LEAP_SECOND + "([^0-9]|$)")
    leap = exp.Anonymous(this="regexp_matches", expressions=[text.copy(), leap_second])
    one_second = exp.Interval(this=exp.Literal.string("1"), unit=exp.Var(this="SECOND"))
    return exp.Case(ifs=[exp.If(this=leap, true=exp.Add(this=instant.copy(), expression=one_second))], default=instant)


HANDLERS: dict[type[exp.Expr], Callable[[Any], exp.Expr]] = {
    exp.TimeToStr: _format_time,
    exp.StrToTime: _parse_time,
    exp.StrToDate: _parse_time,
    exp.Format: _format,
}
