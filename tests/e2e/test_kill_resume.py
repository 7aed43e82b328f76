"""SIGKILL the server during each step, restart it, trigger again: the run completes as if never killed.

One generated history serves two homes. Home A runs the date once, uninterrupted, in a thread of
this process (the baseline, alongside the rest). Home B runs it through `winterdays serve`, whose
whole process group (gunicorn, its worker, the Dataform CLI, the kfp.local component processes) is
SIGKILLed once in each step, in order; after each kill the server restarts and the same POST /runs
resumes the same run.
Gold in B must equal gold in A (checksums over every row), bronze and quarantine must hold the
same files, and the ledger one run.

Columns that legitimately differ between two runs of the same data are left out of the
checksums: fct_predictions_churn.scored_at and fct_model_metrics_churn.registered_at (wall-clock
times of scoring and registering) and both tables' pipeline_run_id (the run's own id). No other
gold column carries a wall-clock time (bronze's exported_at stops at silver).
"""

import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from generators.jobs import Shard, Volumes, generate
from lakehouse.emulator import free_port
from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from lakehouse.warehouse import connect
from orchestrator import engine
from orchestrator.resources import Resources, document_source
from orchestrator.steps import RunOptions

pytestmark = [pytest.mark.e2e, pytest.mark.firestore, pytest.mark.dataform]
FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 3, 17)  # as test_e2e: 76 days, enough for the purged split
GOLD = ("fct_sales", "dim_customer", "fct_click_features", "dim_startup", "customer_churn_features",
        "fct_predictions_churn", "fct_model_metrics_churn")
WALL_CLOCK_COLUMNS = {"fct_predictions_churn": {"scored_at", "pipeline_run_id"},
                      "fct_model_metrics_churn": {"registered_at", "pipeline_run_id"}}
LEASE_TTL_S = 2
# Where to kill, in step order: the server's log line to act on, and how.
#   "at": SIGKILL on that line (after a delay), for steps that last seconds;
#   "into": the worker SIGSTOPs itself as the step starts (tests/support/stop_at_step.py), then
#           SIGKILL: for steps that take milliseconds locally (export of a small day, and wait,
#           which only reads the invocation that invoke ran), which a kill timed from outside misses.
KILL_POINTS = [
    ("export", "into", None),
    ("compile", "at", lambda e: e.get("event") == "step_started" and e.get("step") == "compile"),
    ("invoke", "at", lambda e: e.get("message") == "dataform action succeeded" and e.get("nth", 0) == 3),
    ("wait", "into", None),
    ("churn", "at", lambda e: "Executing task" in e.get("text", "") and "train-model" in e.get("text", "")),
]
DELAY_S = {"compile": 0.5}  # the Dataform CLI runs ~2 s: land inside it, not before it starts
STOP_AT_STEP = Path(__file__).resolve().parents[1] / "support" / "stop_at_step.py"


class Server:
    """`winterdays serve` in its own process group, its stderr read line by line."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_until_up()

    def _read(self):
        actions = 0
        for line in self.process.stderr:
            entry = {"text": line}
            if line.startswith("{"):
                try:
                    entry.update(json.loads(line))
                except ValueError:
                    pass
            if entry.get("message") == "dataform action succeeded":
                actions += 1
                entry["nth"] = actions
            self.lines.put(entry)

    def _wait_until_up(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server exited while starting"
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - the local server
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def wait_for(self, predicate, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server died on its own"
            try:
                entry = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if predicate(entry):
                return
        raise AssertionError("the kill point never came")

    def wait_until_stopped(self, timeout=120):
        """Until a process of the server's group is stopped (the worker, by stop_at_step.py)."""
        deadline = time.monotonic() + timeout
        while not any(state == "T" for state in group_states(self.process.pid)):
            assert self.process.poll() is None, "the server died on its own"
            assert time.monotonic() < deadline, "the worker never stopped at its step"
            time.sleep(0.1)

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)  # the whole group, as when an instance dies
        self.process.wait(30)


def group_states(pgid: int) -> list[str]:
    """The state letters (`ps`'s STAT) of the processes in a process group, from /proc."""
    states = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command, which may hold spaces
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:
            states.append(fields[0])
    return states


def trigger(server, run_id=None, timeout=60):
    """POST /runs until the dead holder's lease expires and the run resumes (409 until then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = server.request("POST", "/runs", {"date": LAST.isoformat(), "full_export": True, "wait": False})
        if status == 409:
            assert run_id is None or body["run_id"] == run_id
            time.sleep(0.3)
            continue
        assert status == 202, body
        return body
    raise AssertionError("the lease never expired")


def checksums(settings: Settings) -> dict:
    warehouse = connect(settings.warehouse.uri)
    try:
        sums = {}
        for table in GOLD:
            columns = [c for c in warehouse.columns(settings.warehouse.dataset, table)
                       if c not in WALL_CLOCK_COLUMNS.get(table, set())]
            rows = warehouse.query(f"SELECT {', '.join(f'`{c}`' for c in columns)} "
                                   f"FROM `{settings.warehouse.dataset}.{table}`")
            lines = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
            sums[table] = (len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())
        return sums
    finally:
        warehouse.close()


def files(settings: Settings) -> dict:
    return {name: ObjectStore(uri).list("") for name, uri in
            (("bronze", settings.storage.bronze_uri), ("quarantine", settings.storage.quarantine_uri))}


def home_settings(settings, tmp_path, name, source_home) -> Settings:
    home = tmp_path / name
    shutil.copytree(source_home / "bronze", home / "bronze")
    return settings.with_overrides(storage={"home": home},  # bronze, quarantine, warehouse follow
                                   firestore={"runs_collection": f"runs_{name}", "leases_collection": f"leases_{name}"})


@pytest.fixture
def servers():
    """Every server the test starts, killed at teardown whatever happened: a server left SIGSTOPped inside a
    Firestore transaction holds the emulator's locks, and every later test's wipe times out on them."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.kill()


def test_sigkill_during_each_step_then_resume_gives_the_uninterrupted_gold(settings, firestore, dataform_dir,
                                                                           tmp_path, servers):
    generate(settings, document_source(settings), ("sales", "clickstream", "startups"), FIRST, LAST,
             Volumes(customers=80, events_per_day=150, startups=30, bad_ratio=0.0, oracle=False), Shard())

    # the uninterrupted baseline runs in this process, alongside the killed server (own home and ledger)
    baseline = home_settings(settings, tmp_path, "baseline", settings.storage.home)
    uninterrupted = concurrent.futures.ThreadPoolExecutor(1).submit(
        engine.execute, Resources.from_settings(baseline), RunOptions(LAST, full_export=True), "test")

    killed = home_settings(settings, tmp_path, "killed", settings.storage.home)
    env = {**os.environ, "WINTERDAYS_HOME": str(killed.storage.home),
           "WINTERDAYS_RUNS_COLLECTION": killed.firestore.runs_collection,
           "WINTERDAYS_LEASES_COLLECTION": killed.firestore.leases_collection,
           "WINTERDAYS_LEASE_TTL_S": str(LEASE_TTL_S)}
    ledger = Resources.from_settings(killed).ledger
    run_id = None
    for step, how, predicate in KILL_POINTS:
        stop_at = {"GUNICORN_CMD_ARGS": f"--config {STOP_AT_STEP}", "KILL_TEST_STOP_AT": step} if how == "into" else {}
        server = Server({**env, **stop_at})
        servers.append(server)
        accepted = trigger(server, run_id)
        assert accepted["outcome"] == ("new" if run_id is None else "resumed")
        run_id = accepted["run_id"]
        if how == "into":
            server.wait_until_stopped()
        else:
            server.wait_for(predicate)
            time.sleep(DELAY_S.get(step, 0.0))
        server.kill()
        run = ledger.get(run_id)
        assert run["steps"][step]["state"] == "RUNNING", f"the kill missed {step}: {run['steps']}"

    server = Server(env)
    servers.append(server)
    assert trigger(server, run_id)["run_id"] == run_id
    deadline = time.monotonic() + 600
    while (run := ledger.get(run_id))["state"] in ("PENDING", "RUNNING") and time.monotonic() < deadline:
        time.sleep(0.5)
    server.kill()

    assert uninterrupted.result(timeout=600)["state"] == "SUCCEEDED"
    assert run["state"] == "SUCCEEDED", run.get("error")
    assert run["attempt"] == len(KILL_POINTS) + 1
    assert [r["run_id"] for r in ledger.for_date(LAST.isoformat())] == [run_id]
    assert checksums(killed) == checksums(baseline)
    assert files(killed) == files(baseline)
