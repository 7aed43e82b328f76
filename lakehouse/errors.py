"""The root of every error lakehouse raises on purpose: `except LakehouseError` catches all of ours.

Each error also keeps the builtin base its callers catch (ValueError for bad input, RuntimeError for
a failure of the world); orchestrator/app.py and orchestrator/cli/ map the roots to answers.
"""


class LakehouseError(Exception):
    """A failure lakehouse names: bad settings or records, the warehouse, the transform, the export."""


class SettingsError(LakehouseError, ValueError):
    """A setting is missing or malformed; the message names the variable."""
