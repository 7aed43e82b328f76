"""The root of every error the orchestrator raises on purpose; orchestrator/app.py maps them to HTTP
statuses and orchestrator/cli/__init__.py to exit codes, each in one table."""


class OrchestratorError(Exception):
    """A failure the orchestrator names: a request refused, a run failed, busy or lost."""


class Busy(OrchestratorError):
    """Another trigger holds the work right now: try again shortly (CLI exit code 3)."""
