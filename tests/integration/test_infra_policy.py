"""Policy tests on terraform/ (offline, python-hcl2), and proof that each policy catches its violation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from infra_policy import violations

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"

# The least-privilege matrix: each service account's roles, and where ("kind:target").
# Beyond the matrix, each addition is what the code needs to work:
#   clickstream/startups: objectUser (not objectCreator) limited to their own prefix, because a
#     re-run replaces its partition (overwrite and stale-shard delete need delete and list);
#   sales: the oracle bucket (generators/jobs.py writes ground truth beside bronze);
#   sales/startups/orchestrator: the pseudonymisation key (they hash PII with it);
#   orchestrator: actAs also on the pipeline account (Vertex requires it to run a pipeline as
#     it) and legacyBucketReader (the Vertex SDK checks the pipeline root's bucket exists);
#   pipeline: bigquery.jobUser (to run any query) and aiplatform.user (its ML Metadata).
EXPECTED_MATRIX = {
    "scheduler": {
        ("run_job:sales", "roles/run.invoker"),
        ("run_job:clickstream", "roles/run.invoker"),
        ("run_job:startups", "roles/run.invoker"),
        ("run_service:orchestrator", "roles/run.invoker"),
    },
    "sales": {
        ("project:this", "roles/datastore.user"),
        ("bucket:oracle", "roles/storage.objectUser"),
        ("secret:pii_key", "roles/secretmanager.secretAccessor"),
    },
    "clickstream": {
        ("bucket_prefix:clickstream", "roles/storage.objectUser"),
        ("topic:clickstream", "roles/pubsub.publisher"),
    },
    "startups": {
        ("bucket_prefix:startups", "roles/storage.objectUser"),
        ("secret:pii_key", "roles/secretmanager.secretAccessor"),
    },
    "orchestrator": {
        ("project:this", "roles/datastore.user"),
        ("project:this", "roles/dataform.editor"),
        ("project:this", "roles/aiplatform.user"),
        ("project:this", "roles/bigquery.jobUser"),
        ("dataset:secrets", "roles/bigquery.dataEditor"),
        ("bucket:bronze", "roles/storage.objectUser"),
        ("bucket:bronze", "roles/storage.legacyBucketReader"),
        ("service_account:dataform", "roles/iam.serviceAccountUser"),
        ("service_account:pipeline", "roles/iam.serviceAccountUser"),
        ("secret:pii_key", "roles/secretmanager.secretAccessor"),
        ("topic:clickstream_dead_letter", "roles/pubsub.publisher"),
    },
    "dataform": {
        ("project:this", "roles/bigquery.jobUser"),
        ("dataset:staging", "roles/bigquery.dataEditor"),
        ("dataset:warehouse", "roles/bigquery.dataEditor"),
        ("dataset:assertions", "roles/bigquery.dataEditor"),
        ("dataset:secrets", "roles/bigquery.dataViewer"),
        ("bucket:bronze", "roles/storage.objectViewer"),
    },
    "pipeline": {
        ("project:this", "roles/bigquery.jobUser"),
        ("project:this", "roles/aiplatform.user"),
        ("dataset:warehouse", "roles/bigquery.dataEditor"),
        ("bucket_prefix:mlops", "roles/storage.objectAdmin"),
    },
    "pusher": {
        ("run_service:orchestrator", "roles/run.invoker"),
    },
}


def test_terraform_meets_every_policy():
    assert violations(TERRAFORM, EXPECTED_MATRIX) == []


@pytest.fixture
def config(tmp_path) -> Path:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"the test's anchor {old!r} is gone from {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_a_primitive_role_outside_the_matrix_is_caught(config):
    (config / "extra.tf").write_text(
        'resource "google_project_iam_member" "shortcut" {\n'
        '  project = var.project_id\n'
        '  role    = "roles/editor"\n'
        '  member  = "serviceAccount:${google_service_account.this["orchestrator"].email}"\n'
        '}\n')
    found = violations(config, EXPECTED_MATRIX)
    assert any("grants roles/editor: primitive roles" in v for v in found), found
    assert any("google_project_iam_member.shortcut grants roles/editor outside the IAM matrix" in v
               for v in found), found


def test_a_primitive_role_in_the_matrix_is_caught(config):
    edit(config / "locals.tf", '"roles/dataform.editor",', '"roles/dataform.editor", "roles/editor",')
    found = violations(config, EXPECTED_MATRIX)
    assert "locals.tf: orchestrator is granted roles/editor on project:this, which the least-privilege " \
           "matrix does not allow" in found
    assert any("primitive roles" in v for v in found), found


def test_a_missing_grant_is_caught(config):
    edit(config / "locals.tf", '"dataset:assertions" = ["roles/bigquery.dataEditor"]', "")
    assert violations(config, EXPECTED_MATRIX) == [
        "locals.tf: dataform lacks roles/bigquery.dataEditor on dataset:assertions, which the "
        "least-privilege matrix requires"]


def test_an_authoritative_binding_is_caught(config):
    (config / "extra.tf").write_text(
        'resource "google_project_iam_binding" "owners" {\n'
        '  project = var.project_id\n'
        '  role    = "roles/run.admin"\n'
        '  members = []\n'
        '}\n')
    assert violations(config, EXPECTED_MATRIX) == [
        "extra.tf: google_project_iam_binding.owners is authoritative (it replaces bindings made elsewhere): "
        "use *_iam_member"]


def test_an_undeclared_variable_is_caught(config):
    edit(config / "storage.tf", "location                    = var.region",
         "location                    = var.bucket_region")
    found = violations(config, EXPECTED_MATRIX)
    assert "storage.tf: resource.google_storage_bucket.bronze.location refers to var.bucket_region, " \
           "which is not declared" in found, found


def test_an_undeclared_resource_is_caught(config):
    edit(config / "cloud_run.tf", "google_secret_manager_secret.pii_key.secret_id",
         "google_secret_manager_secret.pii.secret_id")
    found = violations(config, EXPECTED_MATRIX)
    assert any("refers to resource google_secret_manager_secret.pii, which is not declared" in v
               for v in found), found


def test_undeclared_locals_and_data_sources_are_caught(config):
    edit(config / "locals.tf", "data.google_project.this.number", "data.google_project.other.number")
    edit(config / "outputs.tf", "local.pipeline_root", "local.pipeline_rot")
    found = violations(config, EXPECTED_MATRIX)
    assert any("refers to data.google_project.other, which is not declared" in v for v in found), found
    assert any("refers to local.pipeline_rot, which is not declared" in v for v in found), found


def test_an_image_from_outside_artifact_registry_is_caught(config):
    edit(config / "cloud_run.tf", "image   = local.image", 'image   = "docker.io/library/python:3.11"')
    found = violations(config, EXPECTED_MATRIX)
    assert len(found) == 1 and "google_cloud_run_v2_job.generator runs image 'docker.io/library/python:3.11'" \
           in found[0] and "images come only from this deployment's Artifact Registry" in found[0], found


def test_an_image_local_pointing_elsewhere_is_caught(config):
    edit(config / "locals.tf", '"${var.region}-docker.pkg.dev/${var.project_id}/', '"gcr.io/${var.project_id}/')
    found = violations(config, EXPECTED_MATRIX)
    assert len(found) == 2 and all("gcr.io/" in v for v in found), found  # the service and the jobs


def test_a_scheduler_call_without_oidc_is_caught(config):
    text = (config / "scheduler.tf").read_text()
    start = text.index("    oidc_token {")
    end = text.index("}\n", text.index("audience", start)) + 2
    (config / "scheduler.tf").write_text(text[:start] + text[end:])
    found = violations(config, EXPECTED_MATRIX)
    assert len(found) == 1 and "google_cloud_scheduler_job.orchestrator calls ${local.service_url}/runs without " \
           "an OIDC token" in found[0], found


def test_bronze_lifecycle_is_enforced(config):
    edit(config / "storage.tf", "age = 90", "age = 30")
    assert violations(config, EXPECTED_MATRIX) == [
        "storage.tf: google_storage_bucket.bronze must move objects to COLDLINE after 90 days"]


def test_a_setting_the_table_lacks_is_caught(config):
    edit(config / "cloud_run.tf", "WINTERDAYS_BAD_RATIO =", "WINTERDAYS_BAD_RATE =")
    assert violations(config, EXPECTED_MATRIX) == [
        "cloud_run.tf sets WINTERDAYS_BAD_RATE, which is not in the settings table (lakehouse/settings.py)"]


@pytest.mark.parametrize("old, new, message", [
    ("    oidc_token {\n      service_account_email = google_service_account.this[\"pusher\"].email\n"
     "      audience              = local.service_url\n    }\n", "", "pushes without an OIDC token"),
    ("      audience              = local.service_url\n    }\n  }\n\n  dead_letter_policy", "    }\n  }\n\n"
     "  dead_letter_policy", "without an audience"),
    ("    max_delivery_attempts = 10\n", "", "no dead_letter_policy"),
    ("    minimum_backoff = \"10s\"\n", "", "no retry_policy"),
])
def test_a_push_subscription_without_oidc_retries_or_dead_letters_is_caught(config, old, new, message):
    edit(config / "pubsub.tf", old, new)
    assert any(message in v for v in violations(config, EXPECTED_MATRIX))
