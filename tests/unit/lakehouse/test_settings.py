import datetime as dt
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest

from lakehouse.settings import Settings, SettingsError, describe, table

ROOT = Path(__file__).resolve().parents[3]


def test_local_defaults_put_everything_under_home(tmp_path):
    s = Settings.from_env({"WINTERDAYS_HOME": str(tmp_path)})
    assert s.mode == "local"
    assert Path(s.storage.bronze_uri) == tmp_path / "bronze"
    assert Path(s.storage.quarantine_uri) == tmp_path / "quarantine"
    assert s.storage.oracle_uri == str(tmp_path / "oracle")
    assert s.warehouse.path == tmp_path / "warehouse.duckdb"
    assert s.warehouse.uri == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    assert s.churn.registry_uri == str(tmp_path / "models")
    assert s.churn.pipeline_root == str(tmp_path / "pipeline_root")
    assert s.churn.spec_uri == str(tmp_path / "bronze" / "mlops" / "churn_pipeline.yaml")
    assert (s.gcp.project, s.service.host) == ("winter-days-local", "127.0.0.1")


def test_gcp_mode_needs_a_project():
    with pytest.raises(SettingsError, match="gcp mode needs GOOGLE_CLOUD_PROJECT"):
        Settings.from_env({"WINTERDAYS_MODE": "gcp"})


def test_gcp_mode_derives_bucket_bigquery_and_vertex_uris():
    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme", "WINTERDAYS_REGION": "us-east1"})
    assert s.storage.bronze_uri == "gs://acme-bronze"
    assert s.storage.quarantine_uri == "gs://acme-bronze/_quarantine"
    assert s.storage.oracle_uri == "gs://acme-bronze-oracle"
    assert s.warehouse.uri == "bigquery://acme/winter_days_warehouse"
    # the pipelines in a bucket of their own: Vertex checks the pipeline account's access to the whole bucket
    assert s.churn.registry_uri == "vertex://acme/us-east1/winter-days-churn?artifacts=gs://acme-bronze-mlops/models"
    assert s.churn.pipeline_root == "gs://acme-bronze-mlops/pipeline_root"
    assert s.service.host == "0.0.0.0"  # noqa: S104 - Cloud Run needs it


def test_a_set_location_is_what_the_derived_ones_follow():
    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme",
                           "WINTERDAYS_BRONZE_URI": "gs://lake/", "WINTERDAYS_WAREHOUSE_DATASET": "gold"})
    assert s.storage.bronze_uri == "gs://lake"  # a trailing slash would double in the paths below it
    assert s.storage.quarantine_uri == "gs://lake/_quarantine"
    assert s.churn.spec_uri == "gs://lake-mlops/churn_pipeline.yaml"
    assert s.warehouse.uri == "bigquery://acme/gold"


def test_gcp_pipelines_live_in_a_bucket_of_their_own_and_local_under_bronze(tmp_path):
    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"})
    assert s.churn.pipeline_root == "gs://acme-bronze-mlops/pipeline_root"
    assert s.churn.spec_uri == "gs://acme-bronze-mlops/churn_pipeline.yaml"
    assert s.churn.registry_uri.endswith("?artifacts=gs://acme-bronze-mlops/models")
    local = Settings.from_env({"WINTERDAYS_HOME": str(tmp_path)})
    assert local.churn.spec_uri == f"{tmp_path}/bronze/mlops/churn_pipeline.yaml"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WINTERDAYS_MODE": "cloud"}, "WINTERDAYS_MODE"),
        ({"WINTERDAYS_SEED": "x"}, "WINTERDAYS_SEED must be an integer"),
        ({"WINTERDAYS_REJECT_THRESHOLD": "2"}, "WINTERDAYS_REJECT_THRESHOLD must be between 0 and 1"),
        ({"WINTERDAYS_EXPORT_PAGE_SIZE": "0"}, "WINTERDAYS_EXPORT_PAGE_SIZE must be at least 1"),
        ({"WINTERDAYS_RUN_MODE": "later"}, "WINTERDAYS_RUN_MODE"),
        ({"WINTERDAYS_LEASE_TTL_S": "0"}, "WINTERDAYS_LEASE_TTL_S must be positive"),
        ({"WINTERDAYS_REQUEST_DEADLINE_S": "soon"}, "WINTERDAYS_REQUEST_DEADLINE_S must be a number"),
        ({"WINTERDAYS_ALLOWED_INVOKERS": "a@b.com"}, "needs WINTERDAYS_OIDC_AUDIENCE"),
        ({"WINTERDAYS_OIDC_VERIFY": "trust"}, "WINTERDAYS_OIDC_VERIFY"),
        ({"WINTERDAYS_TIMEZONE": "Mars/Olympus"}, "WINTERDAYS_TIMEZONE must be an IANA time zone"),
        ({"WINTERDAYS_DATE": "yesterday"}, "WINTERDAYS_DATE must be a date YYYY-MM-DD"),
        ({"WINTERDAYS_LOG_LEVEL": "loud"}, "WINTERDAYS_LOG_LEVEL must be one of"),
        ({"WINTERDAYS_CHURN_MIN_AUC": "high"}, "WINTERDAYS_CHURN_MIN_AUC must be a number"),
        ({"WINTERDAYS_LOOKBACK_DAYS": "-1"}, "WINTERDAYS_LOOKBACK_DAYS must be from 0 to 366 days"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_values_are_parsed_and_an_empty_variable_means_the_default():
    s = Settings.from_env({"WINTERDAYS_RUN_MODE": "ASYNC", "WINTERDAYS_LEASE_TTL_S": "5",
                           "WINTERDAYS_LOG_LEVEL": "debug", "WINTERDAYS_DATE": "2026-03-01", "WINTERDAYS_SEED": " 7 ",
                           "WINTERDAYS_CUSTOMERS": "",
                           "WINTERDAYS_OIDC_AUDIENCE": "https://orchestrator.example.run.app",
                           "WINTERDAYS_ALLOWED_INVOKERS": " Scheduler@p.iam.gserviceaccount.com ,"
                                                          "ops@p.iam.gserviceaccount.com"})
    assert (s.service.run_mode, s.service.lease_ttl_s, s.service.request_deadline_s) == ("async", 5.0, 1500.0)
    assert s.service.allowed_invokers == ("scheduler@p.iam.gserviceaccount.com", "ops@p.iam.gserviceaccount.com")
    assert (s.general.log_level, s.general.seed, s.generators.customers) == ("DEBUG", 7, 300)
    assert s.generators.date == dt.date(2026, 3, 1)
    assert Settings.from_env({}).generators.date is None


def test_gcp_mode_has_no_default_pseudonymisation_key_and_hashing_fails_closed():
    from lakehouse.pii import MissingKey, keyed_hash

    s = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"})
    assert s.general.pii_key == ""
    with pytest.raises(MissingKey, match="WINTERDAYS_PII_KEY"):
        keyed_hash(s.general.pii_key, "someone@example.com")
    assert Settings.from_env({}).general.pii_key  # local mode keeps its development key


def test_overrides_replace_values_and_the_defaults_that_name_them_follow(tmp_path):
    s = Settings.from_env({"WINTERDAYS_HOME": str(tmp_path / "a"), "WINTERDAYS_QUARANTINE_URI": "/q"})
    moved = s.with_overrides(storage={"home": tmp_path / "b"}, transform={"workers": 2})
    assert moved.transform.workers == 2 and s.transform.workers == 0  # s is unchanged
    assert moved.storage.bronze_uri == str(tmp_path / "b" / "bronze")
    assert moved.warehouse.uri == f"duckdb:///{tmp_path / 'b' / 'warehouse.duckdb'}"
    assert moved.storage.quarantine_uri == "/q"  # set by its variable: stays
    again = moved.with_overrides(service={"lease_ttl_s": 0.5})
    assert (again.storage.home, again.transform.workers, again.service.lease_ttl_s) == (tmp_path / "b", 2, 0.5)
    gcp = s.with_overrides(mode="gcp", gcp={"project": "acme"})
    assert gcp.warehouse.uri == "bigquery://acme/winter_days_warehouse"
    with pytest.raises(TypeError, match="no such setting in transform: \\['worker'\\]"):
        s.with_overrides(transform={"worker": 2})
    with pytest.raises(TypeError, match="no such setting in Settings: \\['seed'\\]"):
        s.with_overrides(seed=1)


def test_the_table_has_one_row_per_field_and_one_field_per_variable():
    rows = table()
    settings = Settings.from_env({})
    sections = {f.name for f in fields(Settings)} - {"mode", "origin"}
    assert {(r.section, r.field) for r in rows} == {("", "mode")} | {
        (name, f.name) for name in sections for f in fields(getattr(settings, name))}
    variables = Counter(r.variable for r in rows if r.variable)
    assert [v for v, n in variables.items() if n > 1] == []
    assert all(v == "GOOGLE_CLOUD_PROJECT" or v.startswith("WINTERDAYS_") for v in variables)
    assert describe("generators", "customers") == "WINTERDAYS_CUSTOMERS, default 300"


def _rendered(default) -> str:
    """A default as docs/configuration.md writes it."""
    if isinstance(default, str):
        return f"`{default}`" if default else "—"
    gcp = "required" if default.gcp is None else _rendered(default.gcp)
    return f"local {_rendered(default.local)}, gcp {gcp}"


def _documented() -> dict[str, tuple[str, str]]:
    """{setting: (variable, default)} of the tables in docs/configuration.md."""
    rows = {}
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[0] != "variable":
            assert cells[1] not in rows, f"{cells[1]} is documented twice"
            rows[cells[1]] = (cells[0], cells[2])
    return rows


def test_the_configuration_doc_matches_the_table_both_ways():
    expected = {f"`{row.section + '.' if row.section else ''}{row.field}`":
                (f"`{row.variable}`" if row.variable else "— (derived)", _rendered(row.default)) for row in table()}
    documented = _documented()
    assert sorted(set(expected) - set(documented)) == [], "settings missing from docs/configuration.md"
    assert sorted(set(documented) - set(expected)) == [], "docs/configuration.md lists settings the table lacks"
    assert {k: v for k, v in documented.items() if expected[k] != v} == {}, "variables or defaults differ"


def test_the_cli_logs_at_the_configured_level(settings, monkeypatch, capsys):
    import logging

    from orchestrator.cli import main

    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)  # put back after the test
    monkeypatch.setenv("WINTERDAYS_LOG_LEVEL", "warning")
    assert main(["mlops", "champion"]) == 0
    assert root.level == logging.WARNING
    monkeypatch.setenv("WINTERDAYS_LOG_LEVEL", "chatty")
    assert main(["mlops", "champion"]) == 2
    assert "WINTERDAYS_LOG_LEVEL must be one of" in capsys.readouterr().err
