"""The gcp transform runner and `winterdays dataform push`, against an in-process gRPC fake of Dataform v1."""

from __future__ import annotations

import datetime as dt

import pytest
from dataform_fake import FakeDataform, FakeServer, State, seed_workspace
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud.dataform_v1.types import dataform as t

from lakehouse.transform import TransformFailed
from lakehouse.transform.actions import Selection
from lakehouse.transform.compiler import CompilationError
from lakehouse.transform.dataform_api import DataformTransformRunner
from lakehouse.transform.workspace import push_project

REPO = "projects/p/locations/europe-west1/repositories/winter-days"
ActionState = t.WorkflowInvocationAction.State


@pytest.fixture
def fake():
    fake = FakeDataform()
    with FakeServer(fake) as server:
        fake.client = server.client()
        yield fake


def runner(fake, **kwargs) -> DataformTransformRunner:
    if f"{REPO}/workspaces/default" not in fake.workspaces:
        seed_workspace(fake, f"{REPO}/workspaces/default")
    fast = api_retry.Retry(predicate=api_retry.if_exception_type(api_exceptions.ServiceUnavailable),
                           initial=0.01, maximum=0.05, timeout=5)
    return DataformTransformRunner(fake.client, REPO, service_account="dataform@p.iam.gserviceaccount.com",
                             default_database="p", poll_initial_s=0.01, poll_max_s=0.02, retry=fast, **kwargs)


def action(schema, name, state, reason="", seconds=3):
    start = dt.datetime(2026, 3, 31, 6, 0, tzinfo=dt.UTC)
    return t.WorkflowInvocationAction(
        target=t.Target(database="p", schema=schema, name=name), state=state, failure_reason=reason,
        invocation_timing={"start_time": start, "end_time": start + dt.timedelta(seconds=seconds)})


def compiled(schema, name, file, kind="relation"):
    return t.CompilationResultAction(target=t.Target(database="p", schema=schema, name=name), file_path=file,
                                     **{kind: {}})


def test_success_runs_compile_invoke_wait_with_the_run_settings(fake):
    fake.states = [State.RUNNING, State.RUNNING, State.SUCCEEDED]
    fake.actions = [action("stg", "stg_sales", ActionState.SUCCEEDED),
                    action("gold", "fct_sales", ActionState.SUCCEEDED), action("asserts", "fk", ActionState.SUCCEEDED)]
    fake.compiled = [compiled("stg", "stg_sales", "definitions/staging/stg_sales.sqlx"),
                     compiled("gold", "fct_sales", "definitions/warehouse/fct_sales.sqlx"),
                     compiled("asserts", "fk", "definitions/assertions/fk.sqlx", kind="assertion")]
    run = runner(fake)
    compilation = run.compile({"run_date": "2026-03-31", "pii_key": "k=,v"})
    invocation = run.invoke(compilation, Selection(tags=("gold",), targets=("gold.fct_sales",),
                                                   include_dependencies=True, full_refresh=True))
    result = run.wait(invocation, timeout_s=10)

    (compile_request,) = fake.called("CreateCompilationResult")
    assert compile_request.parent == REPO
    assert compile_request.compilation_result.workspace == f"{REPO}/workspaces/default"
    config = compile_request.compilation_result.code_compilation_config
    assert dict(config.vars) == {"run_date": "2026-03-31", "pii_key": "k=,v"} and config.default_database == "p"
    (invoke_request,) = fake.called("CreateWorkflowInvocation")
    invocation_config = invoke_request.workflow_invocation.invocation_config
    assert invoke_request.workflow_invocation.compilation_result == compilation
    assert list(invocation_config.included_tags) == ["gold"]
    assert [(x.schema, x.name) for x in invocation_config.included_targets] == [("gold", "fct_sales")]
    assert invocation_config.transitive_dependencies_included and not invocation_config.transitive_dependents_included
    assert invocation_config.fully_refresh_incremental_tables_enabled
    assert invocation_config.service_account == "dataform@p.iam.gserviceaccount.com"
    assert len(fake.called("GetWorkflowInvocation")) == 3  # polled until it ended
    assert result.state == "SUCCEEDED" and len(result.actions) == 3  # two pages of actions
    assert result.actions[0] == {"target": "stg.stg_sales", "kind": "relation",
                                 "file": "definitions/staging/stg_sales.sqlx", "state": "SUCCEEDED",
                                 "duration_s": 3.0, "rows": None, "error": None}
    assert result.summary()["assertions_passed"] == 1
    result.raise_for_state()


def test_failed_action_names_the_action_its_file_and_its_error(fake):
    fake.states = [State.FAILED]
    fake.actions = [action("stg", "stg_sales", ActionState.SUCCEEDED),
                    action("asserts", "fk", ActionState.FAILED, "Assertion failed: query returned 3 row(s)"),
                    action("gold", "dim", ActionState.SKIPPED)]
    fake.compiled = [compiled("asserts", "fk", "definitions/assertions/fk.sqlx", kind="assertion")]
    run = runner(fake)
    result = run.wait(run.invoke(run.compile({}), Selection()))
    assert result.state == "FAILED"
    assert [a["target"] for a in result.failures] == ["asserts.fk"]
    with pytest.raises(TransformFailed, match=r"asserts.fk: definitions/assertions/fk.sqlx: Assertion failed"):
        result.raise_for_state()


def test_cancelled_invocation_is_reported_as_cancelled(fake):
    fake.states = [State.RUNNING, State.CANCELING, State.CANCELLED]
    fake.actions = [action("stg", "stg_sales", ActionState.CANCELLED)]
    run = runner(fake)
    result = run.wait(run.invoke(run.compile({}), Selection()))
    assert result.state == "CANCELLED"
    with pytest.raises(TransformFailed, match="ended CANCELLED"):
        result.raise_for_state()


def test_compilation_error_stops_before_any_invocation(fake):
    fake.compilation_errors = [t.CompilationResult.CompilationError(
        message="var run_date must be YYYY-MM-DD", path="includes/lake.js")]
    with pytest.raises(CompilationError, match="includes/lake.js: var run_date must be YYYY-MM-DD"):
        runner(fake).compile({"run_date": "31/03/2026"})
    assert fake.called("CreateWorkflowInvocation") == []


def test_transient_unavailable_is_retried(fake):
    fake.unavailable = {"CreateCompilationResult": 1, "GetWorkflowInvocation": 2, "QueryWorkflowInvocationActions": 1}
    fake.actions = [action("stg", "stg_sales", ActionState.SUCCEEDED)]
    run = runner(fake)
    result = run.wait(run.invoke(run.compile({}), Selection()))
    assert result.state == "SUCCEEDED" and len(result.actions) == 1
    assert len(fake.called("CreateCompilationResult")) == 2
    assert len(fake.called("GetWorkflowInvocation")) == 3


def test_an_invocation_past_its_timeout_is_cancelled(fake):
    fake.states = [State.RUNNING]
    run = runner(fake)
    with pytest.raises(TransformFailed, match="still RUNNING .* cancelled"):
        run.wait(run.invoke(run.compile({}), Selection()), timeout_s=0.05)
    assert len(fake.called("CancelWorkflowInvocation")) == 1


def test_release_config_or_commitish_replaces_the_workspace(fake):
    runner(fake, release_config="daily").compile({})
    runner(fake, git_commitish="main").compile({})
    first, second = fake.called("CreateCompilationResult")
    assert first.compilation_result.release_config == f"{REPO}/releaseConfigs/daily"
    assert second.compilation_result.git_commitish == "main" and not second.compilation_result.workspace


def test_a_bare_action_name_is_resolved_against_the_compiled_graph(fake):
    fake.compiled = [compiled("winter_days_staging", "stg_sales", "definitions/staging/stg_sales.sqlx"),
                     compiled("winter_days_warehouse", "fct_sales", "definitions/warehouse/fct_sales.sqlx")]
    run = runner(fake)
    run.invoke(run.compile({}), Selection(targets=("fct_sales", "winter_days_staging.stg_sales")))
    (request,) = fake.called("CreateWorkflowInvocation")
    targets = request.workflow_invocation.invocation_config.included_targets
    assert [(x.database, x.schema, x.name) for x in targets] == [
        ("p", "winter_days_warehouse", "fct_sales"), ("p", "winter_days_staging", "stg_sales")]


def test_an_unknown_action_name_fails_before_any_invocation(fake):
    fake.compiled = [compiled("winter_days_warehouse", "fct_sales", "definitions/warehouse/fct_sales.sqlx")]
    run = runner(fake)
    with pytest.raises(ValueError, match=r"unknown target 'fct_sale'; known: winter_days_warehouse.fct_sales"):
        run.invoke(run.compile({}), Selection(targets=("fct_sale",)))
    assert fake.called("CreateWorkflowInvocation") == []


def test_the_fake_refuses_a_target_the_compilation_does_not_have(fake):
    fake.compiled = [compiled("winter_days_warehouse", "fct_sales", "definitions/warehouse/fct_sales.sqlx")]
    config = t.InvocationConfig(included_targets=[t.Target(database="p", schema="", name="fct_sales")])
    with pytest.raises(api_exceptions.InvalidArgument, match="not an action of the compilation result"):
        fake.client.create_workflow_invocation(parent=REPO, workflow_invocation=t.WorkflowInvocation(
            compilation_result=f"{REPO}/compilationResults/c1", invocation_config=config))


def test_the_compilation_gets_the_bigquery_location_of_the_settings(fake, settings):
    gcp = settings.with_overrides(transform={"repository": REPO, "bigquery_location": "europe-west1"},
                                  gcp={"project": "p"})
    seed_workspace(fake, f"{REPO}/workspaces/default")
    DataformTransformRunner.from_settings(gcp, client=fake.client).compile({})
    (request,) = fake.called("CreateCompilationResult")
    config = request.compilation_result.code_compilation_config
    assert (config.default_database, config.default_location) == ("p", "europe-west1")


def test_from_settings_refuses_a_bare_repository_name(settings):
    with pytest.raises(ValueError, match="projects/P/locations/R/repositories/NAME"):
        DataformTransformRunner.from_settings(settings.with_overrides(transform={"repository": "winter-days"}),
                                              client=object())


# -- winterdays dataform push ----------------------------------------------------------------

def _project(tmp_path):
    root = tmp_path / "dataform"
    (root / "definitions" / "staging").mkdir(parents=True)
    (root / "includes").mkdir()
    (root / "definitions" / "staging" / "a.sqlx").write_text("config { type: 'view' }\nSELECT 1")
    (root / "includes" / "lake.js").write_text("module.exports = {};")
    (root / "workflow_settings.yaml").write_text("defaultProject: p\n")
    (root / "package.json").write_text('{"dependencies": {"@dataform/cli": "3.0.69", "@dataform/core": "3.0.62"}}')
    return root


def test_push_creates_the_workspace_writes_files_removes_stale_ones_and_commits(fake, tmp_path):
    root = _project(tmp_path)
    workspace = f"{REPO}/workspaces/default"
    first = push_project(fake.client, REPO, "default", root, message="push 1", author_name="ci", author_email="ci@x")
    assert first.created and first.committed
    assert sorted(fake.files[workspace]) == ["definitions/staging/a.sqlx", "includes/lake.js",
                                             "workflow_settings.yaml"]
    assert fake.commits[0].commit_message == "push 1" and fake.commits[0].author.email_address == "ci@x"

    fake.files[workspace]["definitions/old/gone.sqlx"] = b"SELECT 2"  # left over from an earlier layout
    fake.files[workspace]["README.md"] = b"not managed"
    (root / "definitions" / "staging" / "a.sqlx").write_text("config { type: 'view' }\nSELECT 3")
    second = push_project(fake.client, REPO, "default", root, message="push 2", author_name="ci", author_email="ci@x")
    assert not second.created and second.removed == ["definitions/old/gone.sqlx"]
    assert fake.files[workspace]["definitions/staging/a.sqlx"].endswith(b"SELECT 3")
    assert "README.md" in fake.files[workspace]

    fake.files[workspace].pop("README.md")
    fake.committed[workspace] = dict(fake.files[workspace])
    third = push_project(fake.client, REPO, "default", root, message="push 3", author_name="ci", author_email="ci@x")
    assert not third.committed and len(fake.commits) == 2  # nothing changed, nothing committed


def test_a_pushed_workspace_compiles_with_the_pinned_core_and_no_package_json(fake, tmp_path):
    root = _project(tmp_path)
    workspace = f"{REPO}/workspaces/default"
    fake.workspaces.add(workspace)
    fake.files[workspace] = {"package.json": b"{}", "package-lock.json": b"{}"}  # left by an older push
    result = push_project(fake.client, REPO, "default", root, message="m", author_name="ci", author_email="ci@x")
    assert sorted(result.removed) == ["package-lock.json", "package.json"]
    assert fake.files[workspace]["workflow_settings.yaml"].decode().endswith("dataformCoreVersion: 3.0.62\n")
    assert "dataformCoreVersion" not in (root / "workflow_settings.yaml").read_text()  # the local CLI uses package.json
    runner(fake).compile({})  # the service finds its core: no compilation error


def test_the_fake_refuses_what_the_service_refuses_about_the_core_package(fake):
    workspace = f"{REPO}/workspaces/default"
    fake.workspaces.add(workspace)
    fake.files[workspace] = {"workflow_settings.yaml": b"defaultProject: p\n", "package.json": b"{}"}
    with pytest.raises(CompilationError, match="Have you run 'dataform install'"):  # what pushing package.json gave
        runner(fake).compile({})
    fake.client.install_npm_packages(request={"workspace": workspace})
    runner(fake).compile({})
    fake.files[workspace]["workflow_settings.yaml"] = b"dataformCoreVersion: 3.0.62\n"
    with pytest.raises(CompilationError, match="'package.json' unexpected; remove it and try again"):
        runner(fake).compile({})
    del fake.files[workspace]["package.json"]
    fake.files[workspace]["workflow_settings.yaml"] = b"defaultProject: p\n"
    with pytest.raises(CompilationError, match="dataformCoreVersion must be specified either in workflow_settings"):
        runner(fake).compile({})


def test_push_command_uses_the_settings_repository(fake, tmp_path, monkeypatch, capsys):
    from orchestrator import cli
    from orchestrator.cli import dataform as command

    root = _project(tmp_path)
    monkeypatch.setenv("WINTERDAYS_DATAFORM_REPOSITORY", REPO)
    monkeypatch.setenv("WINTERDAYS_DATAFORM_DIR", str(root))
    monkeypatch.setattr(command, "dataform_client", lambda: fake.client)
    assert cli.main(["dataform", "push", "--message", "deploy"]) == 0
    assert '"committed": true' in capsys.readouterr().out
    assert fake.commits[0].commit_message == "deploy"


def test_push_command_without_a_repository_says_which_variable(monkeypatch, capsys):
    from orchestrator import cli

    monkeypatch.delenv("WINTERDAYS_DATAFORM_REPOSITORY", raising=False)
    assert cli.main(["dataform", "push"]) == 2
    assert "WINTERDAYS_DATAFORM_REPOSITORY" in capsys.readouterr().err


def test_wait_reports_each_action_as_a_poll_sees_it_end(fake):
    from lakehouse.transform import ActionReport

    running = ActionState.RUNNING
    fake.states = [State.RUNNING, State.RUNNING, State.FAILED]
    fake.actions_by_poll = [
        [action("stg", "stg_sales", running), action("gold", "fct_sales", running), action("asserts", "fk", running)],
        [action("stg", "stg_sales", ActionState.SUCCEEDED), action("gold", "fct_sales", running),
         action("asserts", "fk", running)],
        [action("stg", "stg_sales", ActionState.SUCCEEDED), action("gold", "fct_sales", ActionState.SUCCEEDED),
         action("asserts", "fk", ActionState.FAILED, "Assertion failed: 2 row(s)")],
    ]
    fake.compiled = [compiled("asserts", "fk", "definitions/assertions/fk.sqlx", kind="assertion")]
    run = runner(fake)
    heard: list[ActionReport] = []
    result = run.wait(run.invoke(run.compile({}), Selection()), on_action=heard.append)

    assert [(r.n, r.total, r.target, r.state) for r in heard] == [
        (1, 3, "stg.stg_sales", "SUCCEEDED"), (2, 3, "gold.fct_sales", "SUCCEEDED"), (3, 3, "asserts.fk", "FAILED")]
    assert heard[2].kind == "assertion" and heard[2].duration_s == 3.0
    assert "Assertion failed" in heard[2].error and result.state == "FAILED"
    assert len(fake.called("QueryCompilationResultActions")) == 1  # the compiled actions are read once
