"""Configuration stays in its two places: lakehouse/settings.py reads every variable, and only
orchestrator/resources.py (and the CLI's messages) look at the mode."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CODE = ("lakehouse", "orchestrator", "generators", "mlops")


def _environment_reads(tree: ast.AST):
    """String constants passed to os.environ.get/[...]/setdefault/pop or os.getenv."""
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            owner = ast.unparse(node.func.value)
            if owner == "os.environ" or ast.unparse(node.func) == "os.getenv":
                target = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            target = node.slice
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            yield target.value


def test_every_winterdays_variable_is_read_through_the_settings_table():
    old = 'os.environ.get("WINTERDAYS_IMAGE", "x"); os.environ["WINTERDAYS_DATE"]; ' \
          'os.getenv("WINTERDAYS_LOG_LEVEL")'
    assert list(_environment_reads(ast.parse(old))) == ["WINTERDAYS_IMAGE", "WINTERDAYS_DATE", "WINTERDAYS_LOG_LEVEL"]
    reads = [f"{path.relative_to(ROOT)}: {name}" for package in CODE for path in (ROOT / package).rglob("*.py")
             for name in _environment_reads(ast.parse(path.read_text()))
             if name.startswith("WINTERDAYS_") or name == "GOOGLE_CLOUD_PROJECT"]
    assert reads == [], "read these through lakehouse.settings (a row of its table)"


def test_only_resources_and_the_cli_look_at_the_mode():
    """The mode chooses adapters in orchestrator/resources.py; the CLI may mention it in messages."""
    allowed = {Path("orchestrator/resources.py"), *Path("orchestrator/cli").glob("*.py")}
    looking = set()
    for package in CODE:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr in ("mode", "is_local")
                        and ast.unparse(node.value).endswith("settings")):
                    looking.add(path.relative_to(ROOT))
    assert Path("orchestrator/resources.py") in looking  # the scan sees a mode test where there is one
    assert looking - allowed == set()
