"""A gunicorn config file for the kill test: the worker SIGSTOPs itself as a chosen step starts.

Passed as `GUNICORN_CMD_ARGS="--config <this file>"`, with the step in `KILL_TEST_STOP_AT`.
The engine logs `step_started` right after the ledger records the step RUNNING and before the
step's body runs, so a worker stopped there is frozen inside the step, whatever the machine's load:
a kill from outside, timed on the log line, lost the race to steps that take milliseconds.
"""

import logging
import os
import signal

STEP = os.environ.get("KILL_TEST_STOP_AT", "")


class StopAtStep(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "event", None) == "step_started" and getattr(record, "step", None) == STEP:
            os.kill(os.getpid(), signal.SIGSTOP)
        return True


def post_fork(server, worker):  # a gunicorn server hook: runs in the worker, before the app loads
    logging.getLogger("orchestrator.engine").addFilter(StopAtStep())
