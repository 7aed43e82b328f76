"""KFP v2 lightweight components of the churn pipeline.

Self-contained as KFP requires: every import is inside the function, no globals. The
base image is our own image, which carries the `mlops` and `lakehouse` packages, so
the components share the tested logic in mlops.churn instead of copying it.
Warehouse access goes through one URI: bigquery://project/dataset or duckdb:///path.
(No `from __future__ import annotations` here: KFP reads the annotations as types.)
"""


import os
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

# Vertex pulls this image; `winterdays mlops compile` sets it to the Artifact Registry one.
BASE_IMAGE = os.environ.get("WINTERDAYS_IMAGE", "winter-days:local")


@dsl.component(base_image=BASE_IMAGE)
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


@dsl.component(base_image=BASE_IMAGE)
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


@dsl.component(base_image=BASE_IMAGE)
def evaluate_model(training: Input[Dataset], model: Input[Model], metrics: Output[Metrics]) -> float:
    """Metrics on the held-out latest snapshots; returns ROC AUC (0 when undefined)."""
    import pyarrow.parquet as pq

    from mlops import churn

    _, holdout = churn.split_by_time(pq.read_table(training.path))
    with open(model.path, "rb") as handle:
        fitted = churn.load(handle.read())
    results = churn.evaluate(fitted, holdout)
    for name, value in results.items():
        metrics.log_metric(name, value)
    return results.get("roc_auc", 0.0)


@dsl.component(base_image=BASE_IMAGE)
def score_customers(
    warehouse_uri: str, warehouse_dataset: str, snapshot_date: str, pipeline_run_id: str, model_version: str,
    scoring: Input[Dataset], model: Input[Model],
) -> int:
    """Score the snapshot's customers and replace that snapshot's rows in fact_predictions_churn."""
    import datetime as dt

    import pyarrow.parquet as pq

    from lakehouse.warehouse import connect
    from mlops import churn

    day = dt.date.fromisoformat(snapshot_date)
    with open(model.path, "rb") as handle:
        fitted = churn.load(handle.read())
    rows = churn.predictions(fitted, pq.read_table(scoring.path), day, model_version, pipeline_run_id)
    warehouse = connect(warehouse_uri)
    try:
        warehouse.write_arrow(rows, warehouse_dataset, "fact_predictions_churn",
                              replace_where=f"snapshot_date = DATE '{day.isoformat()}'")
    finally:
        warehouse.close()
    return rows.num_rows
