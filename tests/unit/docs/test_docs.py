"""The README and docs/ name every command of `winterdays` and every WINTERDAYS_* variable the code reads."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from orchestrator.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
CODE = ("lakehouse", "orchestrator", "generators", "mlops")


def _docs() -> str:
    return "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _commands(parser: argparse.ArgumentParser, prefix: str = "winterdays") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(_commands(sub, f"{prefix} {name}"))
    return found


def test_every_command_is_documented():
    docs = _docs()
    commands = _commands(build_parser())
    assert len(commands) > 10
    missing = [c for c in commands if c not in docs and c.rsplit(" ", 1)[0] + " " not in docs
               and not re.search(re.escape(c.rsplit(" ", 1)[0]) + r" [\w /`-]*\b" + re.escape(c.rsplit(" ", 1)[1])
                                 + r"\b", docs)]
    assert not missing, f"commands missing from README.md and docs/: {missing}"


def test_every_environment_variable_is_documented():
    docs = _docs()
    names = set()
    for package in CODE:
        for path in (ROOT / package).rglob("*.py"):
            names.update(re.findall(r"\bWINTERDAYS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert len(names) > 20
    missing = sorted(n for n in names if n not in docs and not _documented_as_suffix(n, docs))
    assert not missing, f"variables missing from README.md and docs/: {missing}"


def _documented_as_suffix(name: str, docs: str) -> bool:
    """`WINTERDAYS_PIPELINE_ROOT` / `_SERVICE_ACCOUNT`: the tables abbreviate a shared prefix."""
    parts = name.split("_")
    return any(f"`{'_'.join(parts[:i])}" in docs and f"`_{'_'.join(parts[i:])}`" in docs for i in range(2, len(parts)))


def test_the_readme_stays_a_readme():
    """What it is, the two commands, a first day, the command table and links; the reference lives in docs/."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert readme.index("make demo") < readme.index("make test") < readme.index("## ")
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)", readme))
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert linked == pages, "every docs/ page is linked from the README"
