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
#     dataform.editor on its repository only, and a custom role that submits and polls pipeline
#     jobs instead of aiplatform.user; no BigQuery role (Dataform and Vertex query as their own);
#   dataform: reads the three sources' prefixes of bronze, not the quarantine;
#   pipeline: bigquery.jobUser (to run any query) and aiplatform.user (its ML Metadata); objectAdmin
#     on the pipelines' own bucket without a condition (Vertex checks the bucket);
#   build: Cloud Build runs as it (deploy.sh): pushes the image, reads its source and writes its logs.
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
    },
    "startups": {
        ("bucket_prefix:startups", "roles/storage.objectUser"),
        ("secret:pii_key", "roles/secretmanager.secretAccessor"),
    },
    "orchestrator": {
        ("project:this", "roles/datastore.user"),
        ("project:this", "projects/${var.project_id}/roles/${local.pipeline_submitter_role_id}"),
        ("project:this", "roles/bigquery.jobUser"),
        ("dataform_repository:transform", "roles/dataform.editor"),
        ("dataset:secrets", "roles/bigquery.dataEditor"),
        ("bucket:bronze", "roles/storage.objectUser"),
        ("bucket:mlops", "roles/storage.objectViewer"),
        ("bucket:mlops", "roles/storage.legacyBucketReader"),
        ("service_account:dataform", "roles/iam.serviceAccountUser"),
        ("service_account:pipeline", "roles/iam.serviceAccountUser"),
        ("secret:pii_key", "roles/secretmanager.secretAccessor"),
    },
    "dataform": {
        ("project:this", "roles/bigquery.jobUser"),
        ("dataset:staging", "roles/bigquery.dataEditor"),
        ("dataset:warehouse", "roles/bigquery.dataEditor"),
        ("dataset:assertions", "roles/bigquery.dataEditor"),
        ("dataset:secrets", "roles/bigquery.dataViewer"),
        ("bucket_prefix:sales", "roles/storage.objectViewer"),
        ("bucket_prefix:clickstream", "roles/storage.objectViewer"),
        ("bucket_prefix:startups", "roles/storage.objectViewer"),
    },
    "pipeline": {
        ("project:this", "roles/bigquery.jobUser"),
        ("project:this", "roles/aiplatform.user"),
        ("dataset:warehouse", "roles/bigquery.dataEditor"),
        ("bucket:mlops", "roles/storage.objectAdmin"),
    },
    "build": {
        ("artifact_registry:images", "roles/artifactregistry.writer"),
        ("bucket:build", "roles/storage.objectUser"),
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
    edit(config / "locals.tf", '["roles/datastore.user",', '["roles/datastore.user", "roles/editor",')
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


# -- what a first deployment needs (issue 17) ------------------------------------------------
def test_a_pipeline_root_under_a_prefix_grant_of_bronze_is_caught(config):
    edit(config / "locals.tf", 'pipeline_root = "gs://${google_storage_bucket.mlops.name}/pipeline_root"',
         'pipeline_root = "gs://${local.bronze_bucket}/mlops/pipeline_root"')
    found = violations(config, EXPECTED_MATRIX)
    assert any("pipeline_root" in v and "bucket-wide grant" in v for v in found), found


def test_a_pipeline_account_without_an_object_role_on_the_root_bucket_is_caught(config):
    edit(config / "locals.tf", '"bucket:mlops" = ["roles/storage.objectAdmin"]',
         '"bucket:mlops" = ["roles/storage.objectViewer"]')
    found = violations(config, EXPECTED_MATRIX)
    assert any("the pipeline account needs storage.objectAdmin on bucket:mlops" in v for v in found), found


def test_an_alert_on_a_metric_of_the_same_apply_is_caught(config):
    edit(config / "monitoring.tf", 'condition_matched_log {\n      filter = "${local.log_filter} AND '
         'jsonPayload.event=\\"${each.key}\\""\n    }',
         'condition_threshold {\n      filter = "metric.type=\\"logging.googleapis.com/user/'
         '${google_logging_metric.events[each.key].name}\\""\n      comparison = "COMPARISON_GT"\n'
         '      duration = "0s"\n    }')
    found = violations(config, EXPECTED_MATRIX)
    assert any("reads google_logging_metric.events, created in the same apply" in v for v in found), found


def test_a_build_as_the_default_compute_account_is_caught(config):
    edit(config / "deploy.sh", '    --service-account "projects/$PROJECT/serviceAccounts/$BUILD_ACCOUNT" \\\n', "")
    found = violations(config, EXPECTED_MATRIX)
    assert found == ["deploy.sh: `gcloud builds submit` runs without --service-account, so as the Compute Engine "
                     "default account, which new projects do not let build"], found


def test_the_build_account_must_push_to_the_image_repository(config):
    edit(config / "locals.tf", '"artifact_registry:images" = ["roles/artifactregistry.writer"]',
         '"artifact_registry:images" = ["roles/artifactregistry.reader"]')
    found = violations(config, EXPECTED_MATRIX)
    assert "locals.tf: the build account needs roles/artifactregistry.writer on artifact_registry:images" in found


def test_a_release_config_on_a_repository_without_a_remote_is_caught(config):
    (config / "extra.tf").write_text(
        'resource "google_dataform_repository_release_config" "main" {\n'
        '  provider      = google-beta\n'
        '  repository    = google_dataform_repository.transform.name\n'
        '  name          = "main"\n'
        '  git_commitish = "default"\n'
        '}\n')
    found = violations(config, EXPECTED_MATRIX)
    assert any("google_dataform_repository_release_config.main compiles a commitish of a repository with no "
               "git_remote_settings" in v for v in found), found


def test_a_service_identity_before_its_api_is_caught(config):
    edit(config / "iam.tf", "depends_on = [google_project_service.enabled] # the identity exists once the API",
         "# no depends_on #")
    found = violations(config, EXPECTED_MATRIX)
    assert any("google_project_service_identity.dataform must depend on google_project_service.enabled" in v
               for v in found), found


def test_service_account_ids_past_30_characters_are_caught(config):
    text = (config / "variables.tf").read_text()
    start = text.index("  # Service account ids are")
    end = text.index("  }\n", text.index("validation {", start)) + 4
    (config / "variables.tf").write_text(text[:start] + text[end:])
    found = violations(config, EXPECTED_MATRIX)
    assert found == ["variables.tf: the service account id <name_prefix>-<environment>-orchestrator can reach 31 "
                     "characters with allowed values; ids have at most 30: validate the whole id"], found


def test_the_dataform_account_reading_the_quarantine_is_caught(config):
    edit(config / "locals.tf", '"bucket_prefix:sales"       = ["roles/storage.objectViewer"]',
         '"bucket:bronze" = ["roles/storage.objectViewer"]')
    found = violations(config, EXPECTED_MATRIX)
    assert "locals.tf: dataform is granted roles/storage.objectViewer on bucket:bronze, which the least-privilege " \
           "matrix does not allow" in found, found
