"""The KFP v2 churn pipeline, compiled to YAML; the same spec runs on Vertex AI and with kfp.local.

  features -> train -> evaluate -> gate -+- passed: register (champion, metrics to gold) -> score with it
                                         +- failed: score with the champion (none yet: score nothing)

A model that fails the gate is never registered and never scores: the snapshot is scored
by the champion, so fct_predictions_churn only ever holds a champion's predictions.
"""


import functools
from pathlib import Path
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl.graph_component import GraphComponent

from mlops.components import build

PIPELINE_NAME = "winter-days-churn"
SPEC_FILE = "churn_pipeline.yaml"


class Outcome(NamedTuple):
    roc_auc: float  # the candidate's, on the holdout
    metrics_json: str  # all its holdout metrics
    candidate_version: str
    gate_passed: bool
    gate_reason: str
    scored_version: str  # the model that wrote the predictions: the candidate, the champion, or "" (none)
    scored_rows: int


@functools.cache
def churn_pipeline(image: str) -> GraphComponent:
    """The pipeline whose components run in `image`; every parameter comes from the churn step."""
    c = build(image)

    @dsl.pipeline(name=PIPELINE_NAME,
                  description="Train, evaluate and gate the churn model; write predictions to gold.")
    def pipeline(warehouse_uri: str, registry_uri: str, snapshot_date: str, pipeline_run_id: str,
                 warehouse_dataset: str, seed: int, min_auc: float, max_auc_drop: float) -> Outcome:
        features = c.extract_features(
            warehouse_uri=warehouse_uri, warehouse_dataset=warehouse_dataset, snapshot_date=snapshot_date
        ).set_display_name("features")
        trained = c.train_model(training=features.outputs["training"], seed=seed).set_display_name("train")
        evaluated = c.evaluate_model(
            training=features.outputs["training"], model=trained.outputs["model"]
        ).set_display_name("evaluate")
        gate = c.gate_model(
            registry_uri=registry_uri, metrics_json=evaluated.outputs["metrics_json"],
            min_auc=min_auc, max_auc_drop=max_auc_drop, snapshot_date=snapshot_date,
        ).set_display_name("gate")
        scoring = {"warehouse_uri": warehouse_uri, "warehouse_dataset": warehouse_dataset,
                   "registry_uri": registry_uri, "snapshot_date": snapshot_date, "pipeline_run_id": pipeline_run_id,
                   "scoring": features.outputs["scoring"]}
        with dsl.If(gate.outputs["passed"] == True, name="gate-passed"):  # noqa: E712 - KFP builds the condition
            registered = c.register_model(
                registry_uri=registry_uri, warehouse_uri=warehouse_uri, warehouse_dataset=warehouse_dataset,
                model=trained.outputs["model"], model_version=trained.outputs["Output"],
                metrics_json=evaluated.outputs["metrics_json"], snapshot_date=snapshot_date,
                pipeline_run_id=pipeline_run_id,
            ).set_display_name("register")
            by_new = c.score_customers(model_version=registered.output, **scoring).set_display_name("score")
        with dsl.Else(name="gate-failed"):
            by_champion = c.score_customers(
                model_version=gate.outputs["champion_version"], **scoring
            ).set_display_name("score with champion")
        return Outcome(
            roc_auc=evaluated.outputs["roc_auc"],
            metrics_json=evaluated.outputs["metrics_json"],
            candidate_version=trained.outputs["Output"],
            gate_passed=gate.outputs["passed"],
            gate_reason=gate.outputs["reason"],
            scored_version=dsl.OneOf(by_new.outputs["model_version"], by_champion.outputs["model_version"]),
            scored_rows=dsl.OneOf(by_new.outputs["rows"], by_champion.outputs["rows"]),
        )

    return pipeline


def compile_spec(path: Path, image: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(churn_pipeline(image), str(path))
    return path
