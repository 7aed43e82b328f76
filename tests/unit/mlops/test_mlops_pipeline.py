"""The compiled spec's wiring: what runs when the gate passes and when it fails.

kfp.local runs the pipeline twice in the suite (tests/e2e/test_e2e.py: gate passed, then gate
failed); this checks the compiled graph itself, which is what Vertex AI runs.
"""

import json

import pytest
import yaml

from mlops.pipeline import compile_spec


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return yaml.safe_load(compile_spec(tmp_path_factory.mktemp("spec") / "churn.yaml", "winter-days:test").read_text())


def branches(spec):
    """{branch display name: (condition, {task: task spec})} of the gate's If/Else."""
    conditions = spec["components"]["comp-condition-branches-1"]["dag"]["tasks"]
    return {task["taskInfo"]["name"]: (task["triggerPolicy"]["condition"],
                                       spec["components"][task["componentRef"]["name"]]["dag"]["tasks"])
            for task in conditions.values()}


def test_only_a_model_that_passes_the_gate_is_registered_and_scores(spec):
    passed_condition, passed = branches(spec)["gate-passed"]
    assert passed_condition == "inputs.parameter_values['pipelinechannel--gate-model-passed'] == true"
    assert set(passed) == {"register-model", "score-customers"}
    assert passed["score-customers"]["dependentTasks"] == ["register-model"]
    version = passed["score-customers"]["inputs"]["parameters"]["model_version"]["taskOutputParameter"]
    assert version == {"producerTask": "register-model", "outputParameterKey": "Output"}


def test_a_failed_gate_scores_with_the_champion_and_registers_nothing(spec):
    failed_condition, failed = branches(spec)["gate-failed"]
    assert failed_condition == "!(inputs.parameter_values['pipelinechannel--gate-model-passed'] == true)"
    assert set(failed) == {"score-customers-2"}
    version = failed["score-customers-2"]["inputs"]["parameters"]["model_version"]["componentInputParameter"]
    assert version == "pipelinechannel--gate-model-champion_version"


def test_nothing_outside_the_branches_registers_or_writes_predictions(spec):
    assert set(spec["root"]["dag"]["tasks"]) == {"extract-features", "train-model", "evaluate-model", "gate-model",
                                                  "condition-branches-1"}
    outputs = spec["root"]["dag"]["outputs"]["parameters"]
    assert outputs["gate_reason"]["valueFromParameter"] == {"outputParameterKey": "reason",
                                                            "producerSubtask": "gate-model"}
    assert outputs["scored_version"]["valueFromParameter"]["producerSubtask"] == "condition-branches-1"


def images(spec: dict) -> set[str]:
    return {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}


def test_mlops_commands_compile_into_bronze_and_show_the_champion(settings, capsys, monkeypatch):
    from orchestrator.cli import main

    assert main(["mlops", "champion"]) == 0
    assert capsys.readouterr().out.strip() == "null"
    monkeypatch.setenv("WINTERDAYS_IMAGE", "registry.example/winter-days:7")
    assert main(["mlops", "compile"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["spec"] == str(settings.storage.home / "bronze" / "mlops" / "churn_pipeline.yaml")
    spec = yaml.safe_load(open(printed["spec"]).read())
    assert spec["pipelineInfo"]["name"] == "winter-days-churn"
    assert printed["image"] == "registry.example/winter-days:7" and images(spec) == {printed["image"]}


def test_one_process_compiles_for_any_image_and_leaves_the_environment_alone(settings, capsys):
    """The image is an argument of the build, not read from os.environ when the components are imported."""
    import os

    from orchestrator.cli import main

    for image in ("first.example/wd:1", "second.example/wd:2"):
        assert main(["mlops", "compile", "--image", image]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert images(yaml.safe_load(open(printed["spec"]).read())) == {image}
    assert "WINTERDAYS_IMAGE" not in os.environ


def test_the_local_runner_reports_why_a_component_failed(capfd):
    import collections
    import subprocess
    import sys

    from mlops.runners.local import _failure, _stdout_to_stderr

    lines = collections.deque(maxlen=10)
    with _stdout_to_stderr(lines):  # a component's subprocess, printing its traceback as kfp.local's do
        subprocess.run([sys.executable, "-c", "print('Traceback ...'); print('    ValueError: need 43 days')"],
                       check=True)
    captured = capfd.readouterr()
    assert captured.out == "" and "ValueError: need 43 days" in captured.err
    kfp_error = RuntimeError("Pipeline \x1b[95m'winter-days-churn'\x1b[0m finished with status FAILURE. "
                             "Inner task failed: \x1b[96m'train-model'\x1b[0m.")
    assert _failure(kfp_error, lines) == ("ValueError: need 43 days (Pipeline 'winter-days-churn' finished with "
                                          "status FAILURE. Inner task failed: 'train-model'.)")


def test_the_gate_and_the_registry_come_from_settings(tmp_path):
    from lakehouse.settings import Settings, SettingsError

    s = Settings.from_env({"WINTERDAYS_HOME": str(tmp_path), "WINTERDAYS_CHURN_MIN_AUC": "0.8",
                           "WINTERDAYS_CHURN_MAX_AUC_DROP": "0.05"})
    assert (s.churn.min_auc, s.churn.max_auc_drop) == (0.8, 0.05)
    assert s.churn.registry_uri == str(tmp_path / "models")
    with pytest.raises(SettingsError, match="WINTERDAYS_CHURN_MIN_AUC must be a number"):
        Settings.from_env({"WINTERDAYS_CHURN_MIN_AUC": "high"})
