"""What the API and the CLI accept: every field of every request is checked here, with a 400 (CLI: exit 2)
that says what is wrong.

Nothing from a request reaches SQL, a path or the ledger except through these parsers:
dates become `datetime.date`, steps must be known step names, tags match a strict pattern,
run ids match the ledger's id format.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.records import RunState
from orchestrator.steps import STEPS, RunOptions

EARLIEST_DATE = dt.date(2000, 1, 1)
RUN_ID = re.compile(r"[0-9]{8}-[0-9a-f]{8}")  # [0-9], not \d: \d takes any Unicode digit
TAG = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TAGS = 20
RUN_FIELDS = {"date", "steps", "tags", "full_refresh", "full_export", "force", "wait"}
LIST_PARAMETERS = {"date", "state", "limit"}
EXAMPLE = '{"date": "2026-01-31"}'


class BadRequest(OrchestratorError, ValueError):
    pass


def json_document(raw: bytes) -> object:
    """A request body as JSON; a 400 for anything else (bad UTF-8, bad JSON, nesting too deep to parse)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(f"the body is not valid JSON; send an object like {EXAMPLE}") from None


def no_query(args: dict[str, str]) -> None:
    """POST endpoints take their options in the body: a query parameter would be silently ignored."""
    _known_fields(args, set(), what="query parameter")


@dataclass
class RunRequest:
    options: RunOptions
    force: bool = False
    wait: bool | None = None  # None: the service's WINTERDAYS_RUN_MODE decides


def run_request(body: object, today: dt.date, known_tags: frozenset[str] | None = None) -> RunRequest:
    """POST /runs: {"date"?, "steps"?, "tags"?, "full_refresh"?, "full_export"?, "force"?, "wait"?}."""
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object like {EXAMPLE}")
    _known_fields(body, RUN_FIELDS)
    day = parse_date(body["date"], today) if "date" in body else today - dt.timedelta(days=1)
    options = RunOptions(
        logical_date=day,
        full_export=_flag(body, "full_export"),
        full_refresh=_flag(body, "full_refresh"),
        tags=tags(body.get("tags", []), known_tags),
        steps=_steps(body.get("steps", [])),
    )
    try:
        options.selected_steps()
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return RunRequest(options, force=_flag(body, "force"), wait=_optional_flag(body, "wait"))


def retry_request(body: object) -> tuple[bool | None, str | None]:
    """POST /runs/<id>/retry: an empty body, or {"wait": bool, "from": step}; returns (wait, from step)."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be empty or a JSON object like {"from": "export", "wait": false}')
    _known_fields(body, {"wait", "from"})
    step = body.get("from")
    if step is not None and (not isinstance(step, str) or step not in STEPS):
        raise BadRequest(f'"from" must be a step name from {list(STEPS)}, got {str(step)[:40]!r}')
    return _optional_flag(body, "wait"), step


def list_query(args: dict[str, str], today: dt.date) -> tuple[str | None, str | None, int]:
    """GET /runs?date=YYYY-MM-DD&state=FAILED&limit=20."""
    _known_fields(args, LIST_PARAMETERS, what="query parameter")
    day = parse_date(args["date"], today).isoformat() if "date" in args else None
    state = args.get("state")
    if state is not None and state.upper() not in list(RunState):
        raise BadRequest(f'"state" must be one of {[s.value for s in RunState]}, got {state[:20]!r}')
    raw_limit = args.get("limit", "20")
    if not re.fullmatch(r"[0-9]{1,3}", raw_limit) or not 1 <= int(raw_limit) <= 100:
        raise BadRequest(f'"limit" must be a whole number from 1 to 100, got {raw_limit[:20]!r}')
    return day, state.upper() if state else None, int(raw_limit)


def parse_date(value: object, today: dt.date, name: str = '"date"') -> dt.date:
    """The one date rule of the API and the CLI: a real YYYY-MM-DD day from 2000-01-01 to `today`."""
    if not isinstance(value, str):
        raise BadRequest(f'{name} must be a string YYYY-MM-DD, like {EXAMPLE}')
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise BadRequest(f'{name} must be a date YYYY-MM-DD, got {value[:40]!r}')
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f'{name} must be a real date YYYY-MM-DD, got {value!r}') from None
    if not EARLIEST_DATE <= day <= today:
        raise BadRequest(f'{name} must lie between {EARLIEST_DATE} and today ({today}), got {value}')
    return day


def run_id(value: str) -> str:
    if not RUN_ID.fullmatch(value):
        raise BadRequest(f"malformed run id {value[:40]!r}: run ids look like 20260131-1a2b3c4d")
    return value


def _known_fields(body: dict[str, Any], allowed: set[str], what: str = "field") -> None:
    unknown = sorted(str(k)[:40] for k in body if k not in allowed)
    if unknown:
        raise BadRequest(f"unknown {what}(s) {unknown}; allowed: {sorted(allowed)}")


def _flag(body: dict[str, Any], name: str) -> bool:
    return bool(_optional_flag(body, name))


def _optional_flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f'"{name}" must be true or false')
    return value


def _steps(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise BadRequest(f'"steps" must be a list of step names from {list(STEPS)}')
    unknown = [s[:40] for s in value if s not in STEPS]
    if unknown:
        raise BadRequest(f"unknown step(s) {unknown}; steps are {list(STEPS)}")
    if len(set(value)) != len(value):
        raise BadRequest('"steps" lists a step twice')
    return tuple(value)


def tags(value: object, known: frozenset[str] | None = None) -> tuple[str, ...]:
    """Dataform tags; with `known` (the project's), an unknown one is refused: it would select nothing."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadRequest('"tags" must be a list of Dataform tags like ["gold", "daily"]')
    if len(value) > MAX_TAGS:
        raise BadRequest(f'"tags" may hold at most {MAX_TAGS} tags')
    bad = [t[:40] for t in value if not TAG.fullmatch(t)]
    if bad:
        raise BadRequest(f"malformed tag(s) {bad}: letters, digits, _ and - only, at most 64")
    unknown = [t for t in value if known is not None and t not in known]
    if unknown:
        raise BadRequest(f"unknown tag(s) {unknown}; the Dataform project's tags are {sorted(known or ())}")
    return tuple(value)


@functools.cache
def known_tags(dataform_dir: Path) -> frozenset[str] | None:
    """The tags the project's SQLX files declare (None without the project: the transform then decides)."""
    files = list(Path(dataform_dir).glob("definitions/**/*.sqlx"))
    if not files:
        return None
    found: set[str] = set()
    for file in files:
        for listed in re.findall(r"\btags\s*:\s*\[([^\]]*)\]", file.read_text(encoding="utf-8")):
            found.update(re.findall(r"[\"']([^\"']+)[\"']", listed))
    return frozenset(found)
