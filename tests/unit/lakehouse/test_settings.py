from pathlib import Path

import pytest

from lakehouse.settings import Settings, SettingsError


def test_local_defaults_put_everything_under_home(tmp_path):
    s = Settings.from_env({"WINTERDAYS_HOME": str(tmp_path)})
    assert s.mode == "local"
    assert Path(s.bronze_uri) == tmp_path / "bronze"
    assert Path(s.quarantine_uri) == tmp_path / "quarantine"
    assert s.warehouse_uri == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    assert s.oracle_uri == str(tmp_path / "oracle")


def test_gcp_mode_needs_a_project():
    with pytest.raises(SettingsError, match="GOOGLE_CLOUD_PROJECT"):
        Settings.from_env({"WINTERDAYS_MODE": "gcp"})


def test_gcp_mode_derives_bucket_and_bigquery_uri():
    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"})
    assert s.bronze_uri == "gs://acme-bronze"
    assert s.warehouse_uri == "bigquery://acme/winter_days_warehouse"


def test_gcp_pipelines_live_in_a_bucket_of_their_own_and_local_under_bronze(tmp_path):
    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"})
    assert s.effective_pipeline_root == "gs://acme-bronze-mlops/pipeline_root"
    assert s.pipeline_spec_uri == "gs://acme-bronze-mlops/churn_pipeline.yaml"
    assert s.model_registry_uri.endswith("?artifacts=gs://acme-bronze-mlops/models")
    local = Settings.from_env({"WINTERDAYS_HOME": str(tmp_path)})
    assert local.pipeline_spec_uri == f"{tmp_path}/bronze/mlops/churn_pipeline.yaml"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WINTERDAYS_MODE": "cloud"}, "WINTERDAYS_MODE"),
        ({"WINTERDAYS_SEED": "x"}, "WINTERDAYS_SEED"),
        ({"WINTERDAYS_REJECT_THRESHOLD": "2"}, "between 0 and 1"),
        ({"WINTERDAYS_RUN_MODE": "later"}, "WINTERDAYS_RUN_MODE"),
        ({"WINTERDAYS_LEASE_TTL_S": "0"}, "WINTERDAYS_LEASE_TTL_S must be positive"),
        ({"WINTERDAYS_REQUEST_DEADLINE_S": "soon"}, "WINTERDAYS_REQUEST_DEADLINE_S must be a number"),
        ({"WINTERDAYS_ALLOWED_INVOKERS": "a@b.com"}, "needs WINTERDAYS_OIDC_AUDIENCE"),
        ({"WINTERDAYS_TIMEZONE": "Mars/Olympus"}, "IANA time zone"),
        ({"WINTERDAYS_OIDC_VERIFY": "trust"}, "WINTERDAYS_OIDC_VERIFY"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_gcp_mode_has_no_default_pseudonymisation_key_and_hashing_fails_closed():
    from lakehouse.pii import MissingKey, keyed_hash

    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"})
    assert s.pii_key == ""
    with pytest.raises(MissingKey, match="WINTERDAYS_PII_KEY"):
        keyed_hash(s.pii_key, "someone@example.com")
    assert Settings.from_env({}).pii_key  # local mode keeps its development key


def test_orchestrator_settings():
    s = Settings.from_env({"WINTERDAYS_RUN_MODE": "ASYNC", "WINTERDAYS_LEASE_TTL_S": "5",
                           "WINTERDAYS_OIDC_AUDIENCE": "https://orchestrator.example.run.app",
                           "WINTERDAYS_ALLOWED_INVOKERS": " Scheduler@p.iam.gserviceaccount.com ,"
                                                          "ops@p.iam.gserviceaccount.com"})
    assert (s.run_mode, s.lease_ttl_s, s.request_deadline_s) == ("async", 5.0, 1500.0)
    assert s.allowed_invokers == ("scheduler@p.iam.gserviceaccount.com", "ops@p.iam.gserviceaccount.com")
