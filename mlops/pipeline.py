"""The KFP v2 churn pipeline: features -> train -> evaluate -> score, compiled to YAML.

The same spec runs on Vertex AI Pipelines (gcp) and with kfp.local (local).
"""


from pathlib import Path

from kfp import compiler, dsl

from mlops.components import evaluate_model, extract_features, score_customers, train_model

PIPELINE_NAME = "winter-days-churn"
SPEC_FILE = "churn_pipeline.yaml"


@dsl.pipeline(name=PIPELINE_NAME, description="Train, evaluate and score the churn model; write predictions to gold.")
def churn_pipeline(
    warehouse_uri: str,
    snapshot_date: str,
    pipeline_run_id: str,
    warehouse_dataset: str = "winter_days_warehouse",
    seed: int = 42,
) -> float:
    features = extract_features(
        warehouse_uri=warehouse_uri, warehouse_dataset=warehouse_dataset, snapshot_date=snapshot_date
    ).set_display_name("features")
    trained = train_model(training=features.outputs["training"], seed=seed).set_display_name("train")
    evaluated = evaluate_model(
        training=features.outputs["training"], model=trained.outputs["model"]
    ).set_display_name("evaluate")
    score_customers(
        warehouse_uri=warehouse_uri,
        warehouse_dataset=warehouse_dataset,
        snapshot_date=snapshot_date,
        pipeline_run_id=pipeline_run_id,
        model_version=trained.outputs["Output"],
        scoring=features.outputs["scoring"],
        model=trained.outputs["model"],
    ).set_display_name("score").after(evaluated)
    return evaluated.outputs["Output"]


def compile_spec(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(churn_pipeline, str(path))
    return path
