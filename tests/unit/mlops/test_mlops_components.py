"""Each KFP component's function on a small DuckDB warehouse and a registry folder.

The chain is the pipeline's, step by step: extract -> train -> evaluate -> gate ->
register -> score (gate passed), or score with the champion (gate failed).
"""

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from churn_data import START, features
from kfp.dsl import ClassificationMetrics, Dataset, Metrics, Model

from lakehouse.warehouse import connect
from mlops import churn
from mlops.components import (
    evaluate_model,
    extract_features,
    gate_model,
    register_model,
    score_customers,
    train_model,
)
from mlops.registry import RegistryError, open_registry

DATASET = "winter_days_warehouse"
LABELLED_DAYS = 50
TODAY = START + dt.timedelta(days=LABELLED_DAYS + 30)  # the run date: labels complete up to 30 days before
GATE = {"min_auc": 0.7, "max_auc_drop": 0.02}


@pytest.fixture
def env(tmp_path):
    """A warehouse with labelled snapshots and today's unlabelled one; an empty registry."""
    uri = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    labelled = features(LABELLED_DAYS, customers=60)
    today = features(1, customers=40, seed=1, start=TODAY, labelled=False).cast(labelled.schema)
    rows = pa.concat_tables([labelled, today])
    warehouse = connect(uri)
    warehouse.write_arrow(rows, DATASET, "customer_churn_features")
    warehouse.close()
    return {"uri": uri, "registry": str(tmp_path / "models"), "dir": tmp_path}


def artifact(kind, env, name):
    return kind(uri=str(env["dir"] / name))


def extract(env):
    training, scoring = artifact(Dataset, env, "training"), artifact(Dataset, env, "scoring")
    counts = extract_features(warehouse_uri=env["uri"], warehouse_dataset=DATASET,
                                          snapshot_date=TODAY.isoformat(), training=training, scoring=scoring)
    return training, scoring, counts


def train(env, training, name="model", seed=42):
    model = artifact(Model, env, name)
    version = train_model(training=training, seed=seed, model=model)
    return model, version


def evaluate(env, training, model):
    metrics, curves = artifact(Metrics, env, "metrics"), artifact(ClassificationMetrics, env, "curves")
    result = evaluate_model(training=training, model=model, metrics=metrics, classification=curves)
    return result, metrics, curves


def gate(env, metrics_json, snapshot_date=TODAY):
    return gate_model(registry_uri=env["registry"], metrics_json=metrics_json,
                      snapshot_date=snapshot_date.isoformat(), **GATE)


def register(env, model, version, metrics_json, run_id="run-1"):
    return register_model(registry_uri=env["registry"], warehouse_uri=env["uri"],
                                      warehouse_dataset=DATASET, model=model, model_version=version,
                                      metrics_json=metrics_json, snapshot_date=TODAY.isoformat(),
                                      pipeline_run_id=run_id)


def score(env, scoring, version, run_id="run-1"):
    return score_customers(warehouse_uri=env["uri"], warehouse_dataset=DATASET,
                                       registry_uri=env["registry"], model_version=version,
                                       snapshot_date=TODAY.isoformat(), pipeline_run_id=run_id, scoring=scoring)


def predictions(env, table="fct_predictions_churn"):
    warehouse = connect(env["uri"])
    try:
        return warehouse.query(f"SELECT * FROM `{DATASET}.{table}` ORDER BY 1")
    finally:
        warehouse.close()


def promote_first_champion(env):
    training, scoring, _ = extract(env)
    model, version = train(env, training)
    evaluation, _, _ = evaluate(env, training, model)
    assert gate(env, evaluation.metrics_json).passed
    register(env, model, version, evaluation.metrics_json)
    score(env, scoring, version)
    return training, scoring, version


def test_extract_reads_only_complete_labels_for_training_and_the_days_customers_for_scoring(env):
    training, scoring, counts = extract(env)
    assert (counts.training_rows, counts.scoring_rows) == (LABELLED_DAYS * 60, 40)
    train_table = pq.read_table(training.path)
    assert all(train_table.column("label_complete").to_pylist())
    assert set(pq.read_table(scoring.path).column("snapshot_date").to_pylist()) == {TODAY}


def test_train_and_evaluate_log_metrics_a_roc_curve_and_a_confusion_matrix(env):
    training, _, _ = extract(env)
    model, version = train(env, training)
    assert version == churn.version_of(open(model.path, "rb").read())
    assert model.metadata["version"] == version
    evaluation, metrics, curves = evaluate(env, training, model)
    logged = json.loads(evaluation.metrics_json)
    assert evaluation.roc_auc == logged["roc_auc"] == metrics.metadata["roc_auc"] > 0.8
    for name in ("pr_auc", "brier", "calibration_error", "top_decile_lift", "positive_rate"):
        assert metrics.metadata[name] == logged[name]
    assert curves.metadata["confusionMatrix"]["annotationSpecs"] == [{"displayName": "stays"},
                                                                      {"displayName": "churns"}]
    holdout_rows = sum(sum(row["row"]) for row in curves.metadata["confusionMatrix"]["rows"])
    assert holdout_rows == 7 * 60
    assert len(curves.metadata["confidenceMetrics"]) > 2


def test_a_passing_model_is_registered_as_champion_and_scores_every_active_customer(env):
    _, _, version = promote_first_champion(env)
    registry = open_registry(env["registry"])
    assert registry.champion()["version"] == version
    assert registry.champion()["metrics"]["roc_auc"] > 0.8
    assert sorted(p.name for p in (env["dir"] / "models" / version).iterdir()) == [
        "metrics.json", "model.pkl", "version.json"]
    assert json.loads((env["dir"] / "models" / version / "version.json").read_text())["pipeline_run_id"] == "run-1"
    rows = predictions(env)
    assert len(rows) == 40
    assert {r["model_version"] for r in rows} == {version}
    assert all(0 <= r["churn_probability"] <= 1 and r["risk_band"] in ("low", "medium", "high") for r in rows)
    (recorded,) = predictions(env, "fct_model_metrics_churn")  # the registry's metrics, where reports read them
    metrics = registry.champion()["metrics"]
    assert (recorded["model_version"], recorded["snapshot_date"], recorded["pipeline_run_id"]) == (
        version, TODAY, "run-1")
    assert recorded["holdout_rows"] == metrics["rows"] == 7 * 60
    assert {c: recorded[c] for c in churn.METRIC_COLUMNS if c != "holdout_rows"} == {
        c: metrics[m] for c, m in churn.METRIC_COLUMNS.items() if c != "holdout_rows"}


def test_scoring_and_registering_the_same_snapshot_twice_leaves_one_set(env):
    training, scoring, version = promote_first_champion(env)
    first, champion = predictions(env), open_registry(env["registry"]).champion()
    model = artifact(Model, env, "model")
    register(env, model, version, json.dumps(champion["metrics"]), run_id="run-2")
    assert score(env, scoring, version, run_id="run-2").rows == 40
    again = predictions(env)
    assert len(again) == 40
    assert {r["pipeline_run_id"] for r in again} == {"run-2"}
    assert [r["churn_probability"] for r in again] == [r["churn_probability"] for r in first]
    assert open_registry(env["registry"]).champion() == champion  # not promoted again
    assert open_registry(env["registry"]).versions() == [version]
    assert [r["pipeline_run_id"] for r in predictions(env, "fct_model_metrics_churn")] == ["run-2"]


def test_a_model_that_fails_the_gate_is_not_registered_and_the_champion_keeps_scoring(env):
    training, scoring, champion_version = promote_first_champion(env)
    before = predictions(env)
    # a worse candidate: the same rows with their labels shuffled
    table = pq.read_table(training.path)
    shuffled = np.random.default_rng(7).permutation(table.column("churned_30d").to_numpy(zero_copy_only=False))
    worse = artifact(Dataset, env, "worse")
    pq.write_table(table.set_column(table.column_names.index("churned_30d"), "churned_30d",
                                            pa.array(shuffled)), worse.path)
    model, candidate = train(env, worse, name="worse-model")
    evaluation, _, _ = evaluate(env, worse, model)

    verdict = gate(env, evaluation.metrics_json)
    assert not verdict.passed
    assert "below the threshold" in verdict.reason or f"below champion {champion_version}" in verdict.reason
    assert verdict.champion_version == champion_version
    # the Else branch of the pipeline: the champion scores the snapshot
    scored = score(env, scoring, verdict.champion_version, run_id="run-2")
    assert scored.model_version == champion_version
    after = predictions(env)
    assert [(r["customer_id"], r["churn_probability"], r["model_version"]) for r in after] == [
        (r["customer_id"], r["churn_probability"], r["model_version"]) for r in before]
    assert open_registry(env["registry"]).versions() == [champion_version]
    assert [r["model_version"] for r in predictions(env, "fct_model_metrics_churn")] == [champion_version]
    assert candidate != champion_version


def test_a_champion_better_by_more_than_the_margin_fails_the_gate(env):
    registry = open_registry(env["registry"])
    registry.promote("churn-best", b"not scored here", {"roc_auc": 0.99}, {})
    training, _, _ = extract(env)
    model, _ = train(env, training)
    evaluation, _, _ = evaluate(env, training, model)
    verdict = gate(env, evaluation.metrics_json)
    assert not verdict.passed
    assert "below champion churn-best (0.9900)" in verdict.reason


def test_a_back_dated_run_never_replaces_the_newer_champion(env):
    training, _, champion_version = promote_first_champion(env)
    assert open_registry(env["registry"]).champion()["snapshot_date"] == TODAY.isoformat()
    model, _ = train(env, training, name="same-data")
    evaluation, _, _ = evaluate(env, training, model)  # as good as the champion: it would pass on a later date
    verdict = gate(env, evaluation.metrics_json, snapshot_date=TODAY - dt.timedelta(days=7))
    assert not verdict.passed and verdict.champion_version == champion_version
    assert f"before champion {champion_version}'s snapshot {TODAY}" in verdict.reason
    assert gate(env, evaluation.metrics_json, snapshot_date=TODAY).passed


def test_no_champion_and_a_failed_gate_write_nothing(env):
    _, scoring, _ = extract(env)
    assert score(env, scoring, "") == (0, "")
    assert not connect(env["uri"]).table_exists(DATASET, "fct_predictions_churn")


def test_bad_inputs_are_named(env):
    training, scoring, _ = extract(env)
    model, _ = train(env, training)
    with pytest.raises(ValueError, match="not version churn-000000000000"):
        register(env, model, "churn-000000000000", "{}")
    with pytest.raises(RegistryError, match="churn-404 is not in the registry"):
        score(env, scoring, "churn-404")
    with pytest.raises(ValueError, match="unsupported registry URI"):
        open_registry("s3://bucket/models")
    with pytest.raises(ValueError, match="expected vertex://PROJECT/REGION/MODEL_ID"):
        open_registry("vertex://acme/europe-west1?artifacts=gs://b/models")
