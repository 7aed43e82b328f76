"""The components against BigQuery: bigquery://project/dataset through a patched client.

BigQuery has no emulator here; the fake records every job the adapter starts and answers
queries with Arrow tables, so the assertions are on what would reach BigQuery.
"""

import datetime as dt
import io
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from churn_data import START, features
from kfp.dsl import Dataset

from mlops import churn
from mlops.components import extract_features, score_customers
from mlops.registry import open_registry

URI, DATASET = "bigquery://acme/winter_days_warehouse", "winter_days_warehouse"
TODAY = START + dt.timedelta(days=80)


class FakeBigQuery:
    """google.cloud.bigquery.Client's surface that BigQueryWarehouse uses."""

    def __init__(self, answers):
        self.answers, self.queries, self.loads, self.deleted, self.closed = answers, [], [], [], False

    def __call__(self, project=None, **kwargs):  # stands in for the Client class
        self.project = project
        return self

    def query(self, sql):
        self.queries.append(sql)
        table = next((t for marker, t in self.answers.items() if marker in sql), pa.table({}))
        rows = SimpleNamespace(to_arrow=lambda create_bqstorage_client: table)
        return SimpleNamespace(result=lambda: rows, num_dml_affected_rows=None)

    def load_table_from_file(self, buffer, target, job_config):
        self.loads.append((target, pq.read_table(io.BytesIO(buffer.read())), job_config))
        return SimpleNamespace(result=lambda: None)

    def delete_table(self, name, not_found_ok=False):
        self.deleted.append(name)

    def close(self):
        self.closed = True


@pytest.fixture
def bigquery(monkeypatch):
    labelled = features(50, customers=30)
    today = features(1, customers=20, seed=1, start=TODAY, labelled=False).cast(labelled.schema)
    fake = FakeBigQuery({"WHERE label_complete": labelled, f"snapshot_date = DATE '{TODAY}'": today})
    monkeypatch.setattr("google.cloud.bigquery.Client", fake)
    return fake


def test_extract_queries_the_dataset_of_the_uri(bigquery, tmp_path):
    training, scoring = Dataset(uri=str(tmp_path / "training")), Dataset(uri=str(tmp_path / "scoring"))
    counts = extract_features(warehouse_uri=URI, warehouse_dataset=DATASET,
                                          snapshot_date=TODAY.isoformat(), training=training, scoring=scoring)
    assert (counts.training_rows, counts.scoring_rows) == (50 * 30, 20)
    assert bigquery.project == "acme"
    assert bigquery.queries == [
        f"SELECT * FROM `{DATASET}.customer_churn_features` WHERE label_complete AND snapshot_date <= DATE '{TODAY}' "
        "ORDER BY snapshot_date, customer_id",
        f"SELECT * FROM `{DATASET}.customer_churn_features` WHERE snapshot_date = DATE '{TODAY}' "
        "ORDER BY snapshot_date, customer_id",
    ]
    assert bigquery.closed


def test_score_loads_a_scratch_table_and_swaps_the_snapshot_in_one_transaction(bigquery, tmp_path):
    scoring = Dataset(uri=str(tmp_path / "scoring"))
    pq.write_table(features(1, customers=20, seed=1, start=TODAY, labelled=False), scoring.path)
    registry = open_registry(str(tmp_path / "models"))
    train, _ = churn.split_by_time(features(50, customers=30))
    blob = churn.dump(churn.train(train))
    registry.promote(churn.version_of(blob), blob, {"roc_auc": 0.9}, {})

    scored = score_customers(
        warehouse_uri=URI, warehouse_dataset=DATASET, registry_uri=str(tmp_path / "models"),
        model_version=churn.version_of(blob), snapshot_date=TODAY.isoformat(), pipeline_run_id="run-9",
        scoring=scoring)

    assert scored.rows == 20
    ((scratch, loaded, config),) = bigquery.loads
    assert scratch.startswith(f"acme.{DATASET}._incoming_fct_predictions_churn_")
    assert config.source_format == "PARQUET" and config.write_disposition == "WRITE_TRUNCATE"
    assert loaded.column_names == ["customer_id", "snapshot_date", "churn_probability", "risk_band",
                                   "model_version", "pipeline_run_id", "scored_at"]
    assert set(loaded.column("pipeline_run_id").to_pylist()) == {"run-9"}
    create, swap = bigquery.queries
    assert create == f"CREATE TABLE IF NOT EXISTS `acme.{DATASET}.fct_predictions_churn` LIKE `{scratch}`"
    assert swap == ("BEGIN TRANSACTION;\n"
                    f"DELETE FROM `acme.{DATASET}.fct_predictions_churn` WHERE snapshot_date = DATE '{TODAY}';\n"
                    f"INSERT INTO `acme.{DATASET}.fct_predictions_churn` SELECT * FROM `{scratch}`;\n"
                    "COMMIT TRANSACTION;")
    assert bigquery.deleted == [scratch]
