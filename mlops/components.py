"""KFP v2 lightweight components of the churn pipeline.

Self-contained as KFP requires: every import is inside the function, no globals. The
base image is our own image, which carries the `mlops` and `lakehouse` packages, so
the components share the tested logic in mlops.churn instead of copying it.
Two URIs name what they touch: the warehouse (bigquery://project/dataset or
duckdb:///path) and the model registry (a folder, or vertex://...; see mlops/registry/).
The functions are plain here; `build(image)` makes them components of that base image
(WINTERDAYS_IMAGE: Vertex pulls it), so the image is an argument, not an import-time global.
(No `from __future__ import annotations` here: KFP reads the annotations as types.)
"""


from typing import NamedTuple

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output
from kfp.dsl.base_component import BaseComponent


def extract_features(
    warehouse_uri: str, warehouse_dataset: str, snapshot_date: str,
    training: Output[Dataset], scoring: Output[Dataset],
) -> NamedTuple("Counts", [("training_rows", int), ("scoring_rows", int)]):
    """Labelled snapshots up to the date (training) and the date's active customers (scoring)."""
    import datetime as dt
    from collections import namedtuple

    import pyarrow.parquet as pq

    from lakehouse.warehouse import connect
    from mlops import churn

    day = dt.date.fromisoformat(snapshot_date)
    warehouse = connect(warehouse_uri)
    try:
        train_table = warehouse.query_arrow(churn.features_query(warehouse_dataset, day, training=True))
        score_table = warehouse.query_arrow(churn.features_query(warehouse_dataset, day, training=False))
    finally:
        warehouse.close()
    pq.write_table(train_table, training.path)
    pq.write_table(score_table, scoring.path)
    return namedtuple("Counts", ["training_rows", "scoring_rows"])(train_table.num_rows, score_table.num_rows)


def train_model(training: Input[Dataset], seed: int, model: Output[Model]) -> str:
    """Gradient boosting with calibrated probabilities, fitted on the older labelled snapshots."""
    import pyarrow.parquet as pq

    from mlops import churn

    train_part, _ = churn.split_by_time(pq.read_table(training.path))
    blob = churn.dump(churn.train(train_part, seed=seed))
    with open(model.path, "wb") as handle:
        handle.write(blob)
    version = churn.version_of(blob)
    model.metadata["version"] = version
    return version


def evaluate_model(
    training: Input[Dataset], model: Input[Model],
    metrics: Output[Metrics], classification: Output[ClassificationMetrics],
) -> NamedTuple("Evaluation", [("roc_auc", float), ("metrics_json", str)]):
    """Metrics on the held-out latest snapshots: scalars, the ROC curve and a confusion matrix."""
    import json
    from collections import namedtuple

    import pyarrow.parquet as pq

    from mlops import churn

    _, holdout = churn.split_by_time(pq.read_table(training.path))
    with open(model.path, "rb") as handle:
        fitted = churn.load(handle.read())
    results = churn.evaluate(fitted, holdout)
    for name, value in results.items():
        metrics.log_metric(name, value)
    if "roc_auc" in results:
        y, p = churn.labels(holdout), churn.probabilities(fitted, holdout)
        classification.log_roc_curve(*churn.roc_points(y, p))
        classification.log_confusion_matrix(["stays", "churns"], churn.confusion(y, p))
    return namedtuple("Evaluation", ["roc_auc", "metrics_json"])(
        results.get("roc_auc", 0.0), json.dumps(results, sort_keys=True))


def gate_model(
    registry_uri: str, metrics_json: str, min_auc: float, max_auc_drop: float, snapshot_date: str,
) -> NamedTuple("Gate", [("passed", bool), ("reason", str), ("champion_version", str)]):
    """Compare the candidate with the threshold and with the registry's champion (a back-dated run never wins)."""
    import datetime as dt
    import json
    import logging
    from collections import namedtuple

    from mlops import churn
    from mlops.registry import open_registry

    champion = open_registry(registry_uri).champion()
    passed, reason = churn.gate(json.loads(metrics_json), champion, min_auc, max_auc_drop,
                                snapshot_date=dt.date.fromisoformat(snapshot_date))
    logging.getLogger("churn.gate").info("gate %s: %s", "passed" if passed else "failed", reason)
    return namedtuple("Gate", ["passed", "reason", "champion_version"])(
        passed, reason, champion["version"] if champion else "")


def register_model(
    registry_uri: str, warehouse_uri: str, warehouse_dataset: str, model: Input[Model], model_version: str,
    metrics_json: str, snapshot_date: str, pipeline_run_id: str,
) -> str:
    """Add the version to the registry and make it champion; record its metrics in gold
    (fct_model_metrics_churn, where the reports read them); returns the version."""
    import datetime as dt
    import json

    from lakehouse.warehouse import connect
    from mlops import churn
    from mlops.registry import open_registry

    with open(model.path, "rb") as handle:
        blob = handle.read()
    if churn.version_of(blob) != model_version:  # so the version is our own hash, safe to quote below
        raise ValueError(f"the model artifact is not version {model_version}")
    metrics = json.loads(metrics_json)
    info = {"snapshot_date": snapshot_date, "pipeline_run_id": pipeline_run_id}
    open_registry(registry_uri).promote(model_version, blob, metrics, info)
    row = churn.metrics_row(model_version, metrics, dt.date.fromisoformat(snapshot_date), pipeline_run_id)
    warehouse = connect(warehouse_uri)
    try:  # one row per version: registering it again replaces its row
        warehouse.write_arrow(row, warehouse_dataset, "fct_model_metrics_churn",
                              replace_where=f"model_version = '{model_version}'")
    finally:
        warehouse.close()
    return model_version


def score_customers(
    warehouse_uri: str, warehouse_dataset: str, registry_uri: str, model_version: str,
    snapshot_date: str, pipeline_run_id: str, scoring: Input[Dataset],
) -> NamedTuple("Scored", [("rows", int), ("model_version", str)]):
    """Score the snapshot's customers with a registered model; replace that snapshot's rows.

    An empty model_version (the gate failed and there is no champion yet) scores nothing
    and leaves fct_predictions_churn as it is.
    """
    import datetime as dt
    import logging
    from collections import namedtuple

    import pyarrow.parquet as pq

    from lakehouse.warehouse import connect
    from mlops import churn
    from mlops.registry import open_registry

    scored = namedtuple("Scored", ["rows", "model_version"])
    if not model_version:
        logging.getLogger("churn.score").warning("no registered model to score with; predictions left as they are")
        return scored(0, "")
    day = dt.date.fromisoformat(snapshot_date)
    fitted = churn.load(open_registry(registry_uri).load(model_version))
    rows = churn.predictions(fitted, pq.read_table(scoring.path), day, model_version, pipeline_run_id)
    warehouse = connect(warehouse_uri)
    try:
        warehouse.write_arrow(rows, warehouse_dataset, "fct_predictions_churn",
                              replace_where=f"snapshot_date = DATE '{day.isoformat()}'")
    finally:
        warehouse.close()
    return scored(rows.num_rows, model_version)


class Components(NamedTuple):
    extract_features: BaseComponent
    train_model: BaseComponent
    evaluate_model: BaseComponent
    gate_model: BaseComponent
    register_model: BaseComponent
    score_customers: BaseComponent


def build(image: str) -> Components:
    """The pipeline's components, each running in `image`."""
    functions = (extract_features, train_model, evaluate_model, gate_model, register_model, score_customers)
    return Components(*(dsl.component(function, base_image=image) for function in functions))
