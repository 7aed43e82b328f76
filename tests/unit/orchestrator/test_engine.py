"""The run engine's contract, on the real Firestore emulator.

The step bodies are replaced by small recording functions here: what is under test is how
the engine claims, resumes, redoes and records steps, not what the steps compute (the
end-to-end and kill/resume tests run the real ones).
"""

import datetime as dt
import logging
import time

import pytest

from lakehouse.transform import InvocationResult, TransformFailed
from mlops.runners import PipelineResult
from orchestrator import engine, steps
from orchestrator.app import create_app
from orchestrator.resources import Resources
from orchestrator.steps import STEPS, RunOptions, StepFailed

pytestmark = pytest.mark.firestore
DAY = dt.date(2026, 3, 1)


@pytest.fixture
def resources(settings, firestore):
    return Resources.from_settings(settings.with_overrides(service={"lease_ttl_s": 1.0}))


@pytest.fixture
def calls(monkeypatch):
    """Every step records its call and returns its name's outputs; `fail[name]` makes it raise once."""
    made = {"log": [], "fail": {}, "seen": {}}

    def fake(name):
        def step(ctx):
            made["log"].append(name)
            made["seen"][name] = {"outputs": dict(ctx.outputs), "checkpoint": dict(ctx.checkpoint)}
            failure = made["fail"].pop(name, None)
            if failure is not None:
                raise failure
            return {"by": name, "rows": 1}
        return step

    for name in STEPS:
        monkeypatch.setitem(STEPS, name, fake(name))
    return made


def test_a_date_that_succeeded_returns_the_existing_run_unless_forced(resources, calls):
    first = engine.execute(resources, RunOptions(DAY), "test")
    assert first["state"] == "SUCCEEDED" and calls["log"] == list(STEPS)

    again = engine.claim(resources, RunOptions(DAY), "test")
    assert again.outcome == "existing" and again.lease is None and again.run_id == first["run_id"]

    other_options = engine.claim(resources, RunOptions(DAY, steps=("export",)), "test")
    assert other_options.outcome == "new"  # a different request is not the same run
    engine.run_claimed(resources, other_options)

    forced = engine.execute(resources, RunOptions(DAY), "test", force=True)
    assert forced["run_id"] != first["run_id"] and forced["attempt"] == 1
    assert calls["log"].count("export") == 3


def test_a_failed_run_resumes_from_the_failed_step_keeping_earlier_outputs(resources, calls):
    calls["fail"]["invoke"] = RuntimeError("warehouse unreachable")
    with pytest.raises(engine.RunFailed) as failed:
        engine.execute(resources, RunOptions(DAY), "test")
    run = resources.ledger.get(failed.value.run["run_id"])
    assert run["state"] == "FAILED" and run["failed_step"] == "invoke"
    assert run["steps"]["invoke"]["error"] == "warehouse unreachable"
    assert run["steps"]["compile"]["state"] == "SUCCEEDED" and run["steps"]["wait"]["state"] == "PENDING"

    calls["log"].clear()
    resumed = engine.execute(resources, RunOptions(DAY), "scheduler-retry")
    assert resumed["run_id"] == run["run_id"] and resumed["attempt"] == 2 and resumed["state"] == "SUCCEEDED"
    assert calls["log"] == ["invoke", "wait", "churn"]
    assert calls["seen"]["invoke"]["outputs"]["compile"] == {"by": "compile", "rows": 1}
    stored = resources.ledger.get(run["run_id"])
    assert "error" not in stored and "failed_step" not in stored
    assert all(s["state"] == "SUCCEEDED" and "duration_s" in s for s in stored["steps"].values())


def test_a_wait_on_an_ended_invocation_is_redone_from_invoke(resources, calls):
    calls["fail"]["wait"] = StepFailed("invocation ended FAILED", redo_from="invoke")
    with pytest.raises(engine.RunFailed):
        engine.execute(resources, RunOptions(DAY), "test")
    calls["log"].clear()
    engine.execute(resources, RunOptions(DAY), "test")
    assert calls["log"] == ["invoke", "wait", "churn"]


def test_a_checkpoint_survives_into_the_next_attempt(resources, calls, monkeypatch):
    def submit_then_die(ctx):
        calls["seen"]["churn-attempt"] = dict(ctx.checkpoint)
        if not ctx.checkpoint:
            ctx.save_checkpoint(job="pipelineJobs/one")
            raise ConnectionError("lost the connection while waiting")
        return {"job": ctx.checkpoint["job"]}

    monkeypatch.setitem(STEPS, "churn", submit_then_die)
    with pytest.raises(engine.RunFailed) as failed:
        engine.execute(resources, RunOptions(DAY), "test")
    stored = resources.ledger.get(failed.value.run["run_id"])
    assert stored["steps"]["churn"]["checkpoint"] == {"job": "pipelineJobs/one"}
    run = engine.execute(resources, RunOptions(DAY), "test")
    assert calls["seen"]["churn-attempt"] == {"job": "pipelineJobs/one"}
    assert run["steps"]["churn"]["outputs"] == {"job": "pipelineJobs/one"} and "checkpoint" not in run["steps"]["churn"]


def test_a_live_run_blocks_a_second_trigger_and_a_dead_one_is_taken_over(resources, calls):
    held = engine.claim(resources, RunOptions(DAY), "test")  # claimed, then its process "dies": no heartbeat
    with pytest.raises(engine.RunInProgress) as busy:
        engine.claim(resources, RunOptions(DAY), "test")
    assert busy.value.run_id == held.run_id

    time.sleep(1.2)
    seen = create_app(resources.settings, resources).test_client().get(f"/runs/{held.run_id}").get_json()
    assert seen["state"] == "PENDING" and seen["interrupted"] is True  # its lease expired: nobody runs it
    taken = engine.claim(resources, RunOptions(DAY), "test")
    assert taken.outcome == "resumed" and taken.run_id == held.run_id and taken.took_over_from == held.run_id
    engine.run_claimed(resources, taken)
    assert len(resources.ledger.for_date(DAY.isoformat())) == 1
    assert not resources.leases.ref(resources.lease_key(DAY.isoformat())).get().exists  # released


def test_a_forced_run_marks_an_interrupted_one_failed(resources, calls):
    held = engine.claim(resources, RunOptions(DAY), "test")
    time.sleep(1.2)
    engine.execute(resources, RunOptions(DAY), "test", force=True)
    stale = resources.ledger.get(held.run_id)
    assert stale["state"] == "FAILED" and stale["error"].startswith("interrupted")


def test_retry_by_id(resources, calls):
    calls["fail"]["export"] = RuntimeError("boom")
    with pytest.raises(engine.RunFailed) as failed:
        engine.execute(resources, RunOptions(DAY, steps=("export",)), "test")
    run_id = failed.value.run["run_id"]
    assert engine.run_claimed(resources, engine.claim_retry(resources, run_id, "test"))["state"] == "SUCCEEDED"
    with pytest.raises(engine.NotRetryable):
        engine.claim_retry(resources, run_id, "test")
    with pytest.raises(LookupError):
        engine.claim_retry(resources, "20260301-00000000", "test")


def test_a_failed_run_logs_the_run_failed_event(resources, calls, caplog):
    calls["fail"]["compile"] = RuntimeError("dataform CLI missing")
    with caplog.at_level(logging.INFO), pytest.raises(engine.RunFailed):
        engine.execute(resources, RunOptions(DAY), "test")
    (failed,) = [r for r in caplog.records if getattr(r, "event", None) == "run_failed"]
    assert failed.levelname == "ERROR" and failed.step == "compile" and failed.logical_date == "2026-03-01"
    assert failed.run_id.startswith("20260301-") and "dataform CLI missing" in failed.error
    succeeded = [r for r in caplog.records if getattr(r, "event", None) == "step_succeeded"]
    assert succeeded[0].step == "export" and succeeded[0].counts == {"rows": 1}


class RecordingPipelines:
    """The pipeline port, recording calls; its first wait loses the connection (as a killed poller would)."""

    def __init__(self, final_state="SUCCEEDED"):
        self.submitted, self.waited, self.final_state = [], [], final_state

    def submit(self, parameters, run_id):
        self.submitted.append(run_id)
        return f"pipelineJobs/{run_id}-{len(self.submitted)}"

    def wait(self, job, timeout_s):
        self.waited.append(job)
        if len(self.waited) == 1:
            raise ConnectionError("connection reset while polling")
        return PipelineResult(job, self.final_state, {"roc_auc": 0.8}, error="diverged")


def test_churn_waits_for_the_job_an_interrupted_attempt_submitted(resources, monkeypatch):
    pipelines = RecordingPipelines()
    monkeypatch.setattr(resources, "pipelines", pipelines)
    options = RunOptions(DAY, steps=("churn",))
    with pytest.raises(engine.RunFailed):
        engine.execute(resources, options, "test")
    run = engine.execute(resources, options, "test")
    assert len(pipelines.submitted) == 1 and pipelines.waited == [f"pipelineJobs/{run['run_id']}-1"] * 2
    assert run["steps"]["churn"]["outputs"]["roc_auc"] == 0.8


def test_a_churn_job_that_failed_is_submitted_anew(resources, monkeypatch):
    pipelines = RecordingPipelines(final_state="FAILED")
    pipelines.waited.append("(no connection loss in this test)")
    monkeypatch.setattr(resources, "pipelines", pipelines)
    options = RunOptions(DAY, steps=("churn",))
    with pytest.raises(engine.RunFailed, match="diverged"):
        engine.execute(resources, options, "test")
    with pytest.raises(engine.RunFailed):
        engine.execute(resources, options, "test")
    assert len(pipelines.submitted) == 2


class FixedTransform:
    def __init__(self, state):
        self.state = state

    def wait(self, invocation, timeout_s, on_action=None):
        if self.state == "TIMEOUT":  # as the Dataform API runner does: cancel it, then say so
            raise TransformFailed(f"Dataform invocation {invocation} was still RUNNING; it has been cancelled")
        return InvocationResult(invocation, self.state, [{"target": "x.y", "state": "FAILED", "error": "bad"}])


@pytest.mark.parametrize("state, redo", [("FAILED", "invoke"), ("CANCELLED", "invoke"), ("TIMEOUT", "invoke"),
                                         ("RUNNING", None)])
def test_wait_asks_to_redo_invoke_only_when_the_invocation_ended(resources, monkeypatch, state, redo):
    monkeypatch.setattr(resources, "transform", FixedTransform(state))
    ctx = steps.StepContext(resources, "20260301-aaaaaaaa", RunOptions(DAY),
                            outputs={"invoke": {"invocation": "workflowInvocations/1"}})
    with pytest.raises(StepFailed) as failed:
        steps.wait(ctx)
    assert failed.value.redo_from == redo


def test_a_success_stands_even_while_another_run_holds_the_warehouse(resources, calls):
    done = engine.execute(resources, RunOptions(DAY), "test")
    other = engine.claim(resources, RunOptions(DAY + dt.timedelta(days=1)), "test")  # locally: one lease for all
    assert engine.claim(resources, RunOptions(DAY), "test").run_id == done["run_id"]
    with pytest.raises(engine.RunInProgress) as busy:
        engine.claim(resources, RunOptions(DAY + dt.timedelta(days=2)), "test")
    assert busy.value.run_id == other.run_id
    engine.run_claimed(resources, other)
